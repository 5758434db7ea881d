#include "pktgen/engine_dpdk.h"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pktgen/frame.h"
#include "glog/logging.h"

namespace xlb::pktgen {

namespace {

constexpr unsigned kMbufs = 8191;  // a power of two minus one suits the mempool
constexpr unsigned kMbufCache = 256;
constexpr uint16_t kTxDescriptors = 1024, kRxDescriptors = 256;
constexpr uint16_t kMaxBurst = 512;
// Stop signals are looked at about this often (a syscall each time).
constexpr double kSignalCheckS = 0.001;

absl::Status DpdkError(const std::string& what, int rc) {
  return absl::InternalError(absl::StrCat(what, ": ", rte_strerror(rc < 0 ? -rc : rte_errno)));
}

}  // namespace

absl::StatusOr<SendResult> SendWithDpdk(Traffic traffic, const SendBounds& bounds,
                                        const DpdkEngineOptions& options, StopSignals& stop) {
  if (options.burst < 1 || options.burst > kMaxBurst)
    return absl::InvalidArgumentError(
        absl::StrCat("--burst ", options.burst, ": must be 1..", kMaxBurst));
  std::vector<std::string> args = {"xlb-pktgen"};
  args.insert(args.end(), options.eal_args.begin(), options.eal_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(args.size()), argv.data()) < 0)
    return absl::InvalidArgumentError(absl::StrCat(
        "DPDK EAL did not start (", rte_strerror(rte_errno), ") with the arguments after --: ",
        absl::StrJoin(options.eal_args, " ")));
  absl::Cleanup eal_cleanup = [] { rte_eal_cleanup(); };

  const uint16_t port = options.port;
  if (!rte_eth_dev_is_valid_port(port))
    return absl::NotFoundError(absl::StrCat(
        "--port ", port, ": DPDK has no such port (it found ", rte_eth_dev_count_avail(),
        "; give a NIC to a DPDK driver, or a vdev such as --vdev net_af_packet0,iface=IF)"));
  int socket = rte_eth_dev_socket_id(port);
  if (socket < 0) socket = SOCKET_ID_ANY;
  rte_mempool* pool = rte_pktmbuf_pool_create("xlb_pktgen", kMbufs, kMbufCache, 0,
                                              RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (!pool) return DpdkError("create the mbuf pool", 0);
  absl::Cleanup free_pool = [pool] { rte_mempool_free(pool); };

  rte_eth_conf conf = {};
  if (int rc = rte_eth_dev_configure(port, 1, 1, &conf); rc != 0)
    return DpdkError(absl::StrCat("configure port ", port), rc);
  if (int rc = rte_eth_rx_queue_setup(port, 0, kRxDescriptors, socket, nullptr, pool); rc != 0)
    return DpdkError(absl::StrCat("set up the RX queue of port ", port), rc);
  if (int rc = rte_eth_tx_queue_setup(port, 0, kTxDescriptors, socket, nullptr); rc != 0)
    return DpdkError(absl::StrCat("set up the TX queue of port ", port), rc);
  if (int rc = rte_eth_dev_start(port); rc != 0)
    return DpdkError(absl::StrCat("start port ", port), rc);
  absl::Cleanup close_port = [port] {
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
  };
  if (options.src_mac_from_port) {
    rte_ether_addr mac;
    if (int rc = rte_eth_macaddr_get(port, &mac); rc != 0)
      return DpdkError(absl::StrCat("MAC address of port ", port), rc);
    std::memcpy(traffic.src_mac.data(), mac.addr_bytes, 6);
  }
  const uint32_t size = FrameSize(traffic);
  if (size + RTE_PKTMBUF_HEADROOM > rte_pktmbuf_data_room_size(pool))
    return absl::InvalidArgumentError(absl::StrCat("frame size ", size, ": too big for an mbuf"));
  LOG(INFO) << "dpdk: port " << port << ", " << Describe(traffic);

  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t start = rte_rdtsc();
  const uint64_t end = start + static_cast<uint64_t>(bounds.duration_s * hz);
  const uint64_t signal_period = std::max<uint64_t>(1, static_cast<uint64_t>(kSignalCheckS * hz));
  uint64_t next_signal_check = start;
  uint64_t flow = 0;
  rte_mbuf* mbufs[kMaxBurst];
  SendResult result;
  while (result.sent < bounds.count) {
    const uint64_t now = rte_rdtsc();
    if (now >= end) break;
    if (now >= next_signal_check) {
      if (stop.Requested()) {
        result.interrupted = true;
        break;
      }
      next_signal_check = now + signal_period;
    }
    uint64_t n = std::min<uint64_t>(options.burst, bounds.count - result.sent);
    if (bounds.rate_pps != 0) {
      const uint64_t allowed =
          PacedAllowance(bounds.rate_pps, static_cast<double>(now - start) / hz);
      if (allowed <= result.sent) {
        rte_pause();
        continue;
      }
      n = std::min(n, allowed - result.sent);
    }
    if (rte_pktmbuf_alloc_bulk(pool, mbufs, static_cast<unsigned>(n)) != 0) {
      rte_pause();  // the driver still holds the mbufs it sent; it frees them as it goes
      continue;
    }
    for (uint64_t i = 0; i < n; ++i) {
      WriteFrame(traffic, flow + i, rte_pktmbuf_mtod(mbufs[i], uint8_t*));
      mbufs[i]->data_len = static_cast<uint16_t>(size);
      mbufs[i]->pkt_len = size;
    }
    const uint16_t sent = rte_eth_tx_burst(port, 0, mbufs, static_cast<uint16_t>(n));
    if (sent < n) rte_pktmbuf_free_bulk(mbufs + sent, static_cast<unsigned>(n - sent));
    flow += sent;  // the flows not sent go out in the next burst
    result.sent += sent;
  }
  result.seconds = static_cast<double>(rte_rdtsc() - start) / hz;
  rte_eth_stats stats;
  if (rte_eth_stats_get(port, &stats) == 0)
    LOG(INFO) << "dpdk: port " << port << " opackets " << stats.opackets << " oerrors "
              << stats.oerrors;
  return result;
}

}  // namespace xlb::pktgen
