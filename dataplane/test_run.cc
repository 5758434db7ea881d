#include "dataplane/test_run.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>

namespace xlb::dataplane {

absl::StatusOr<TestRunResult> TestRun(int prog_fd, const std::string& packet,
                                      uint32_t ingress_ifindex, uint32_t repeat,
                                      const std::string& meta) {
  // The kernel takes the metadata from the start of data_in, its length
  // from ctx.data, and hands both back the same way (data_out from
  // data_meta on, ctx_out.data its length).
  const std::string in = meta + packet;
  // Room for programs that grow the frame (encapsulation) as well.
  std::string out(in.size() + 256, '\0');
  xdp_md ctx = {};
  ctx.data = meta.size();
  ctx.data_end = in.size();
  ctx.ingress_ifindex = ingress_ifindex;
  xdp_md ctx_out = {};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = out.data(),
              .data_size_in = static_cast<uint32_t>(in.size()),
              .data_size_out = static_cast<uint32_t>(out.size()), .repeat = static_cast<int>(repeat));
  if (ingress_ifindex || !meta.empty()) {
    opts.ctx_in = &ctx;
    opts.ctx_size_in = sizeof(ctx);
    opts.ctx_out = &ctx_out;
    opts.ctx_size_out = sizeof(ctx_out);
  }
  if (bpf_prog_test_run_opts(prog_fd, &opts) != 0)
    return absl::ErrnoToStatus(errno, "BPF_PROG_TEST_RUN");
  TestRunResult r;
  r.verdict = opts.retval;
  out.resize(opts.data_size_out);
  const size_t meta_out = opts.ctx_out ? std::min<size_t>(ctx_out.data, out.size()) : 0;
  r.meta = out.substr(0, meta_out);
  r.packet = out.substr(meta_out);
  r.duration_ns = opts.duration;
  return r;
}

const char* XdpVerdictName(uint32_t verdict) {
  switch (verdict) {
    case XDP_ABORTED: return "XDP_ABORTED";
    case XDP_DROP: return "XDP_DROP";
    case XDP_PASS: return "XDP_PASS";
    case XDP_TX: return "XDP_TX";
    case XDP_REDIRECT: return "XDP_REDIRECT";
  }
  return "XDP_?";
}

}  // namespace xlb::dataplane
