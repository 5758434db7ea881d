// Where to send a real's frames: egress interface and MAC addresses, taken
// from the kernel's routing and neighbour tables (never typed by a user).
#ifndef XLB_DATAPLANE_NEXTHOP_H_
#define XLB_DATAPLANE_NEXTHOP_H_

#include <array>
#include <chrono>
#include <map>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "model/address.h"
#include "netlink/routes.h"

namespace xlb::dataplane {

struct Nexthop {
  uint32_t ifindex = 0;
  std::array<uint8_t, 6> dmac{};  // the next hop's MAC
  std::array<uint8_t, 6> smac{};  // the egress interface's MAC

  bool operator==(const Nexthop&) const = default;
};

// How encapsulated packets toward a routed real leave: the director's own
// address toward it (the default outer source) and the egress link's MTU.
struct TunnelPath {
  model::IpAddress source;
  uint32_t mtu = 0;

  bool operator==(const TunnelPath&) const = default;
};

class NexthopResolver {
 public:
  virtual ~NexthopResolver() = default;
  // The next hop toward `address`, or nullopt while the kernel has no
  // neighbour entry for it yet (resolution is then started, and the packet
  // path falls back to bpf_fib_lookup). An error only for a failure to ask.
  virtual absl::StatusOr<std::optional<Nexthop>> Resolve(const model::IpAddress& address) = 0;
  // The interface the kernel routes `address` out of; 0 when it has no route.
  virtual absl::StatusOr<uint32_t> EgressInterface(const model::IpAddress& address) = 0;
  // The path of a tunnel toward `address`; nullopt when there is no route
  // (or the resolver does not know: the default).
  virtual absl::StatusOr<std::optional<TunnelPath>> TunnelPathTowards(const model::IpAddress&) {
    return std::nullopt;
  }
};

// The protocol (originator) of the neighbour entries xlb makes: `ip neigh
// show proto 177` lists them.
inline constexpr uint8_t kNeighbourProtocol = 177;

// Asks the kernel over rtnetlink, in the calling thread's network namespace.
// Answers are kept for a second: a real behind many services (or a refresh
// of them all) is asked about once, not once per service.
class NetlinkNexthopResolver : public NexthopResolver {
 public:
  absl::StatusOr<std::optional<Nexthop>> Resolve(const model::IpAddress& address) override;
  absl::StatusOr<uint32_t> EgressInterface(const model::IpAddress& address) override;
  absl::StatusOr<std::optional<TunnelPath>> TunnelPathTowards(
      const model::IpAddress& address) override;

  // Has the kernel resolve the next hop of each of `reals` (the real, or its
  // gateway, on its egress interface) and keep it resolved: a managed
  // neighbour entry (NTF_EXT_MANAGED, kernel 5.16+; `ip neigh ... managed`)
  // marked as xlb's (kNeighbourProtocol). The kernel probes it like a used
  // entry, so it stays REACHABLE without traffic through the stack. Removes
  // the entries xlb made that no real needs any more; leaves static entries
  // and those of other programs alone. Returns how many entries it made.
  // `gateways` (routers toward NAT clients) are kept resolved the same way,
  // as they are: on their interface, without a route lookup.
  absl::StatusOr<size_t> KeepResolved(const std::vector<model::IpAddress>& reals,
                                      const std::vector<netlink::Gateway>& gateways = {});

 private:
  absl::StatusOr<std::optional<Nexthop>> Ask(const model::IpAddress& address);
  struct Cached {
    std::chrono::steady_clock::time_point at;
    std::optional<Nexthop> nexthop;
  };
  std::map<model::IpAddress, Cached> cache_;
};

}  // namespace xlb::dataplane

#endif  // XLB_DATAPLANE_NEXTHOP_H_
