// The through-tunnel probe of `health: {through_tunnel: true}`
// (docs/tunnel-design.md, "Health through the tunnel"): an ICMP echo to the
// VIP, encapsulated by the kernel as the data path encapsulates the
// service's packets, sent to the real. Only a real whose decapsulator works
// and which holds the VIP answers; its own address answering (the
// configured check) proves neither.
//
// Sending: per probe, IPIP (4in4) with socket(AF_INET, SOCK_RAW,
// IPPROTO_IPIP), 6in6 with socket(AF_INET6, SOCK_RAW, IPPROTO_IPV6) -- the
// kernel writes the outer header -- or, for GUE, a UDP datagram to
// real:gue_port whose payload is the inner packet (GUE variant 1).
// Receiving: the reply comes from the VIP, unencapsulated. An IPv4 VIP is
// local on a VRRP master, so the kernel drops the reply as a martian before
// any IP socket sees it; hence one packet socket (AF_PACKET, all
// interfaces) with a classic BPF filter for echo replies with our id
// (tunnel_echo.h), opened with the first probe and kept while a
// through-tunnel real is checked. No sysctl is changed.
//
// Needs CAP_NET_RAW: without it (or if a socket cannot be made) the probe
// fails with the reason, as an unreachable real would; xlbd goes on.
#ifndef XLB_CONTROLPLANE_HEALTH_TUNNEL_PROBE_H_
#define XLB_CONTROLPLANE_HEALTH_TUNNEL_PROBE_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "asio/io_context.hpp"
#include "asio/posix/stream_descriptor.hpp"
#include "asio/steady_timer.hpp"
#include "controlplane/health/checker.h"
#include "controlplane/health/tunnel_echo.h"
#include "model/address.h"
#include "model/service.h"

namespace xlb::health {

// Where the probe goes in: the service's VIP and its encapsulation.
struct TunnelTarget {
  model::IpAddress vip;
  model::Encap encap = model::Encap::kIpip;
  uint16_t gue_port = model::kDefaultGuePort;

  bool operator==(const TunnelTarget&) const = default;
};

// "ipip", "gue:6080": how a detail names the tunnel.
std::string TunnelName(const TunnelTarget& target);

class TunnelProber : public std::enable_shared_from_this<TunnelProber> {
 public:
  static std::shared_ptr<TunnelProber> Create(asio::io_context& io);
  ~TunnelProber();
  TunnelProber(const TunnelProber&) = delete;
  TunnelProber& operator=(const TunnelProber&) = delete;

  // Sends one echo from `source` (nullopt: the kernel's choice toward the
  // real) to target.vip, through the tunnel to `real`. The handler is called
  // once, never from inside the call: ok on the reply (from the VIP, to
  // the source, our id, sequence and payload; anything else is ignored),
  // failed at `timeout`, or as soon as a socket cannot be made or the send
  // fails (a local_error for the causes IsLocalError names). Not called if
  // the prober is destroyed first.
  void Probe(const TunnelTarget& target, const model::IpAddress& real, const ProbeSource& source,
             Duration timeout, ProbeHandler handler);

  // For tests and the log: replies read that matched no probe in flight.
  uint64_t ignored() const { return ignored_; }

 private:
  explicit TunnelProber(asio::io_context& io);
  // "" or why the packet socket cannot be had.
  std::string OpenReceiver();
  void WaitForReplies();
  void OnReadable();
  void OnReply(std::string_view packet);
  void Finish(uint16_t sequence, ProbeResult result);

  struct Pending {
    EchoPacket reply;    // the one that answers it (ReplyTo)
    std::string tunnel;  // TunnelName
    std::chrono::steady_clock::time_point sent;
    Duration timeout{};
    ProbeHandler handler;
    std::unique_ptr<asio::steady_timer> deadline;
  };

  asio::io_context& io_;
  std::optional<asio::posix::stream_descriptor> receiver_;
  const uint16_t id_;
  std::string cookie_;  // in every payload: 8 random bytes of this prober's
  uint16_t next_sequence_ = 0;
  std::map<uint16_t, Pending> pending_;
  uint64_t ignored_ = 0;
};

}  // namespace xlb::health

#endif  // XLB_CONTROLPLANE_HEALTH_TUNNEL_PROBE_H_
