#include "pktgen/engine_xdp.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "dataplane/maps.h"
#include "pktgen/frame.h"
#include "pktgen/pktgen.skel.h"
#include "dataplane/test_run.h"

namespace xlb::pktgen {

namespace {

using Clock = std::chrono::steady_clock;

// Each BPF_PROG_RUN call costs milliseconds of its own (the kernel sets up
// a page pool and swaps the program into the XDP dispatcher), so calls are
// sized to last about kCallS at the rate the last one reached: long enough
// to hide that cost, short enough to notice a stop signal soon. The last
// call is sized to end at the time bound.
constexpr double kCallS = 0.1;
constexpr uint64_t kFirstChunk = 65536, kMinChunk = 1024, kMaxChunk = 1 << 24;
constexpr uint32_t kMaxBatch = 256;  // the kernel's limit for live frames
constexpr uint64_t kSelfCheckFlows = 8;

struct SkelDeleter {
  void operator()(xlb_pktgen_bpf* s) const { xlb_pktgen_bpf__destroy(s); }
};
using Skel = std::unique_ptr<xlb_pktgen_bpf, SkelDeleter>;

// Sets the flow index of the next run on every CPU.
absl::Status SetSequence(const Skel& skel, uint64_t next) {
  std::vector<uint64_t> values(dataplane::PossibleCpus(), next);
  uint32_t key = 0;
  if (bpf_map_update_elem(bpf_map__fd(skel->maps.pktgen_seq), &key, values.data(), BPF_ANY) != 0)
    return absl::ErrnoToStatus(errno, "set the pktgen sequence map");
  return absl::OkStatus();
}

// The program must turn any frame of the run into the next flow's, byte
// for byte as BuildFrame makes it, whatever a recycled page holds: another
// flow's frame, with headers a receiver rewrote (here: every header byte
// flipped). Checked with ordinary test runs before sending.
absl::Status SelfCheck(const Skel& skel, const Traffic& t) {
  const int fd = bpf_program__fd(skel->progs.xlb_pktgen_tx);
  const uint64_t flows = FlowCount(t);
  const size_t header_len = BpfFlows(t).header_len;
  for (uint64_t k = 0; k < kSelfCheckFlows; ++k) {
    const uint64_t index = k * 104729 % flows;  // spread over the flows
    if (auto st = SetSequence(skel, index); !st.ok()) return st;
    std::string recycled = BuildFrame(t, (index + 7 * k + 3) % flows);
    for (size_t b = 0; b < header_len; ++b) recycled[b] = static_cast<char>(~recycled[b]);
    auto r = dataplane::TestRun(fd, recycled);
    if (!r.ok()) return r.status();
    if (r->verdict != XDP_TX || r->packet != BuildFrame(t, index))
      return absl::InternalError(absl::StrCat(
          "self-check: the XDP program made flow ", index, " wrong (verdict ",
          dataplane::XdpVerdictName(r->verdict), ")"));
  }
  return SetSequence(skel, 0);
}

}  // namespace

absl::StatusOr<SendResult> SendWithXdp(const Traffic& traffic, const SendBounds& bounds,
                                       const XdpEngineOptions& options, StopSignals& stop) {
  const unsigned ifindex = if_nametoindex(options.interface.c_str());
  if (ifindex == 0)
    return absl::NotFoundError(absl::StrCat("--interface: no interface named '",
                                            options.interface, "'"));
  if (options.batch_size < 1 || options.batch_size > kMaxBatch)
    return absl::InvalidArgumentError(
        absl::StrCat("--batch ", options.batch_size, ": must be 1..", kMaxBatch));

  Skel skel(xlb_pktgen_bpf__open());
  if (!skel) return absl::ErrnoToStatus(errno, "open the pktgen XDP program");
  // const volatile in the program: writable here, before load.
  const xlb_pktgen_flows flows = BpfFlows(traffic);
  const std::string frame = BuildFrame(traffic, 0);
  static_assert(sizeof(skel->rodata->header) == XLB_PKTGEN_HEADER_MAX);
  if (flows.header_len > XLB_PKTGEN_HEADER_MAX || flows.header_len > frame.size())
    return absl::InternalError("the frame's headers do not fit the program's template");
  const_cast<xlb_pktgen_flows&>(skel->rodata->flows) = flows;
  std::memcpy(const_cast<uint8_t*>(skel->rodata->header), frame.data(), flows.header_len);
  if (int err = xlb_pktgen_bpf__load(skel.get()); err != 0)
    return absl::ErrnoToStatus(-err, "load the pktgen XDP program");
  if (auto st = SelfCheck(skel, traffic); !st.ok()) return st;

  xdp_md ctx = {};
  ctx.data_end = static_cast<uint32_t>(frame.size());
  ctx.ingress_ifindex = ifindex;
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  opts.data_in = frame.data();
  opts.data_size_in = static_cast<uint32_t>(frame.size());
  opts.ctx_in = &ctx;
  opts.ctx_size_in = sizeof(ctx);
  opts.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
  opts.batch_size = options.batch_size;
  const int fd = bpf_program__fd(skel->progs.xlb_pktgen_tx);

  SendResult result;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end =
      start + std::chrono::duration_cast<Clock::duration>(
                  std::chrono::duration<double>(bounds.duration_s));
  uint64_t chunk_target = kFirstChunk;
  double rate_estimate = 0;  // frames per second of the last call
  while (result.sent < bounds.count) {
    const Clock::time_point now = Clock::now();
    if (now >= end) break;
    if (stop.Requested()) {
      result.interrupted = true;
      break;
    }
    uint64_t chunk = std::min(chunk_target, bounds.count - result.sent);
    if (bounds.rate_pps != 0) {
      // Kept on average: each call leaves as one burst.
      const double elapsed = std::chrono::duration<double>(now - start).count();
      const uint64_t allowed = PacedAllowance(bounds.rate_pps, elapsed);
      if (allowed <= result.sent) {
        const auto next = start + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(
                                          static_cast<double>(result.sent + 1) / bounds.rate_pps));
        if (stop.WaitFor(std::min(next, end) - now)) {
          result.interrupted = true;
          break;
        }
        continue;
      }
      chunk = std::min(chunk, allowed - result.sent);
    } else if (rate_estimate > 0) {
      const double left_s = std::chrono::duration<double>(end - now).count();
      chunk = std::min(chunk, std::max<uint64_t>(1, static_cast<uint64_t>(rate_estimate * left_s)));
    }
    opts.repeat = static_cast<int>(chunk);
    if (bpf_prog_test_run_opts(fd, &opts) != 0)
      return absl::ErrnoToStatus(errno, absl::StrCat("BPF_PROG_RUN (live frames) on ",
                                                     options.interface));
    result.sent += chunk;
    const double call_s = std::chrono::duration<double>(Clock::now() - now).count();
    if (call_s > 0 && chunk >= kMinChunk) {
      rate_estimate = chunk / call_s;
      chunk_target = std::clamp<uint64_t>(static_cast<uint64_t>(rate_estimate * kCallS),
                                          kMinChunk, kMaxChunk);
    }
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace xlb::pktgen
