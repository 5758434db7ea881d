// The DPDK engine, the one for real hardware: EAL arguments from the user
// (after `--`), one port (a NIC's PMD, or a net_af_xdp / net_af_packet vdev
// on a Linux interface), a TX burst loop paced by the TSC.
#ifndef XLB_PKTGEN_ENGINE_DPDK_H_
#define XLB_PKTGEN_ENGINE_DPDK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pktgen/engine.h"
#include "pktgen/stop_signals.h"
#include "pktgen/traffic.h"

namespace xlb::pktgen {

struct DpdkEngineOptions {
  std::vector<std::string> eal_args;  // e.g. --no-huge -m 512 --vdev net_af_packet0,iface=eth0
  uint16_t port = 0;
  uint16_t burst = 32;       // frames per rte_eth_tx_burst (1..512)
  bool src_mac_from_port = true;  // the source MAC is the port's
};

// Starts the EAL, sends `traffic` out of the port within `bounds`, and
// stops the port and the EAL. Built without libdpdk: an error that says so.
absl::StatusOr<SendResult> SendWithDpdk(Traffic traffic, const SendBounds& bounds,
                                        const DpdkEngineOptions& options, StopSignals& stop);

}  // namespace xlb::pktgen

#endif  // XLB_PKTGEN_ENGINE_DPDK_H_
