// The XDP engine: BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES runs
// pktgen.bpf.c on a frame in the kernel's own page pool, and each run's
// XDP_TX sends the frame out of the interface given as its ingress (from a
// veth, to its peer). The fastest generator here; works on any interface
// with native XDP.
#ifndef XLB_PKTGEN_ENGINE_XDP_H_
#define XLB_PKTGEN_ENGINE_XDP_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "pktgen/engine.h"
#include "pktgen/stop_signals.h"
#include "pktgen/traffic.h"

namespace xlb::pktgen {

struct XdpEngineOptions {
  std::string interface;
  uint32_t batch_size = 64;  // frames per kernel batch (1..256)
};

// Before sending, checks that the program turns frames into the flows
// BuildFrame makes (a few test runs); an error if not.
absl::StatusOr<SendResult> SendWithXdp(const Traffic& traffic, const SendBounds& bounds,
                                       const XdpEngineOptions& options, StopSignals& stop);

}  // namespace xlb::pktgen

#endif  // XLB_PKTGEN_ENGINE_XDP_H_
