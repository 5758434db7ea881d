// Built instead of engine_dpdk.cc when meson did not find libdpdk.
#include "pktgen/engine_dpdk.h"

namespace xlb::pktgen {

absl::StatusOr<SendResult> SendWithDpdk(Traffic, const SendBounds&, const DpdkEngineOptions&,
                                        StopSignals&) {
  return absl::UnimplementedError(
      "this xlb-pktgen was built without DPDK (libdpdk-dev was not installed); use --engine xdp, "
      "or install libdpdk-dev (scripts/setup.sh) and rebuild");
}

}  // namespace xlb::pktgen
