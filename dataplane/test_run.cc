#include "dataplane/test_run.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>

namespace xlb::dataplane {

absl::StatusOr<TestRunResult> TestRun(int prog_fd, const std::string& packet,
                                      uint32_t ingress_ifindex, uint32_t repeat) {
  // Room for programs that grow the frame (encapsulation) as well.
  std::string out(packet.size() + 256, '\0');
  xdp_md ctx = {};
  ctx.data_end = packet.size();
  ctx.ingress_ifindex = ingress_ifindex;
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(), .data_out = out.data(),
              .data_size_in = static_cast<uint32_t>(packet.size()),
              .data_size_out = static_cast<uint32_t>(out.size()), .repeat = static_cast<int>(repeat));
  if (ingress_ifindex) {
    opts.ctx_in = &ctx;
    opts.ctx_size_in = sizeof(ctx);
  }
  if (bpf_prog_test_run_opts(prog_fd, &opts) != 0)
    return absl::ErrnoToStatus(errno, "BPF_PROG_TEST_RUN");
  TestRunResult r;
  r.verdict = opts.retval;
  out.resize(opts.data_size_out);
  r.packet = std::move(out);
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
