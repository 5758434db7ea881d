// What a service and a real are, in the library's terms, with validation and
// the "VIP:PORT/proto" text form shared by every tool.
#ifndef XLB_MODEL_SERVICE_H_
#define XLB_MODEL_SERVICE_H_

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/address.h"
#include "model/capacity.h"

namespace xlb::model {

enum class Protocol : uint8_t { kTcp = 6, kUdp = 17 };
enum class Scheduler : uint8_t { kMaglev, kSourceHash };
// Direct routing (IPVS -g): only the Ethernet addresses change, the real has
// the VIP on its loopback. NAT (IPVS -m): the destination becomes the real's
// address and port, and the real's replies come back through the director.
// Tunnel (IPVS -i): the packet is encapsulated to the real, which may sit
// anywhere in the routed network and answers the client directly.
enum class Forward : uint8_t { kDr, kNat, kTunnel };
// How a tunnel service encapsulates: IP in IP (4in4, 6in6), or GUE variant 1
// (UDP straight before the inner IP header), which NICs spread by UDP port.
enum class Encap : uint8_t { kIpip, kGue };

inline constexpr uint16_t kDefaultGuePort = 6080;  // Katran's
inline constexpr uint32_t kMaxTunnelMtu = 9216;

// An address prefix, "192.0.2.128/25" or "2001:db8:ff::/112".
struct IpPrefix {
  IpAddress address;  // host bits zero
  int length = 0;

  auto operator<=>(const IpPrefix&) const = default;
  std::string ToString() const;
};
// "ADDRESS/LENGTH" (a bare address: the whole address) with no host bits set.
absl::StatusOr<IpPrefix> ParseIpPrefix(absl::string_view text);

// The settings of a tunnel service (docs/tunnel-design.md); the defaults
// for any other service.
struct TunnelOptions {
  Encap encap = Encap::kIpip;
  uint16_t gue_port = kDefaultGuePort;  // outer UDP destination port, GUE only
  // Outer source: this prefix, its host bits from the flow's hash, so that a
  // real's NIC spreads flows over its queues. Unset: the director's own
  // address toward the reals (one source).
  std::optional<IpPrefix> source;
  uint16_t mtu = 0;  // largest outer packet; 0: the egress link's MTU toward the reals
  bool mss_clamp = true;  // a SYN's MSS lowered to fit the encapsulation

  bool operator==(const TunnelOptions&) const = default;
};

// Bytes the encapsulation adds: 20/40 (IPIP v4/v6), 28/48 (GUE).
uint8_t TunnelOverhead(Family family, Encap encap);
// The MSS that fits `mtu` once encapsulated (less IP and TCP headers).
uint16_t TunnelMss(Family family, Encap encap, uint16_t mtu);
// The smallest tunnel_mtu accepted: the family's minimum MTU plus overhead.
uint32_t MinTunnelMtu(Family family, Encap encap);

struct ServiceKey {
  IpAddress vip;
  uint16_t port = 0;  // 0 only for an all-ports service
  Protocol protocol = Protocol::kTcp;

  auto operator<=>(const ServiceKey&) const = default;
  // "198.51.100.10:80/tcp", "[2001:db8::10]:53/udp"; port 0 prints as "*".
  std::string ToString() const;
};

// "VIP:PORT[/tcp|udp]" or "[V6VIP]:PORT[/proto]"; PORT may be "*" or 0 for
// an all-ports service; the protocol defaults to tcp.
absl::StatusOr<ServiceKey> ParseServiceKey(absl::string_view text);

struct ServiceOptions {
  Forward forward = Forward::kDr;
  Scheduler scheduler = Scheduler::kMaglev;
  bool all_ports = false;  // forward every port of the VIP (the key's port is 0)
  uint32_t table_size = kMaglevDefaultSize;
  uint32_t persistence_timeout_s = 0;  // 0: no persistence (IPVS -p)
  int persistence_netmask = -1;        // prefix length (IPVS -M); -1: the whole address
  bool drop_fragments = false;         // IP fragments for the VIP are dropped, not passed up
  uint32_t tcp_timeout_s = 900;        // IPVS defaults
  uint32_t tcp_fin_timeout_s = 120;
  uint32_t udp_timeout_s = 300;
  TunnelOptions tunnel;  // forward tunnel only

  bool operator==(const ServiceOptions&) const = default;
};

struct Service {
  ServiceKey key;
  ServiceOptions options;

  bool operator==(const Service&) const = default;
};

struct RealSpec {
  IpAddress address;
  uint16_t port = 0;  // 0: the service's port
  uint32_t weight = 1;
  // Set only by the reconciler (with weight 0), never from a config: health
  // checks found the real down. Written to the maps (XLB_REAL_F_HEALTH_DOWN)
  // so that a restarted xlbd knows.
  bool health_down = false;

  bool operator==(const RealSpec&) const = default;
};

// "203.0.113.11", "203.0.113.11:8080", "2001:db8::11", "[2001:db8::11]:8080",
// each optionally followed by "@WEIGHT".
absl::StatusOr<RealSpec> ParseRealSpec(absl::string_view text);

// A host's "ADDR:PORT" / "[V6ADDR]:PORT", port 1..65535 (a client's, in a
// trace); errors name it as `what`.
struct Endpoint {
  IpAddress address;
  uint16_t port = 0;
};
absl::StatusOr<Endpoint> ParseEndpoint(absl::string_view text, absl::string_view what);

// Checks a service on its own; errors name the service and the field.
absl::Status ValidateService(const Service& service);
// Checks a set of reals for `service`; errors name the real.
absl::Status ValidateReals(const Service& service, const std::vector<RealSpec>& reals);

// The port a real receives on (its own, else the service's).
inline uint16_t EffectivePort(const ServiceKey& key, const RealSpec& real) {
  return real.port ? real.port : key.port;
}

}  // namespace xlb::model

#endif  // XLB_MODEL_SERVICE_H_
