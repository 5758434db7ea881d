// How the kernel routes toward an address (RTM_GETROUTE).
#ifndef XLB_NETLINK_ROUTES_H_
#define XLB_NETLINK_ROUTES_H_

#include <linux/netlink.h>

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "model/address.h"

namespace xlb::netlink {

// Out of `ifindex` (0: no route), to `next_hop`: the gateway, or the address
// itself when it is on the link.
struct Route {
  uint32_t ifindex = 0;
  model::IpAddress next_hop;
  // The source the kernel would choose (RTA_PREFSRC): the director's own
  // address toward `address`.
  std::optional<model::IpAddress> source;

  bool operator==(const Route&) const = default;
};

// The kernel's route toward `address`; ifindex 0 when it has none
// (unreachable, or no route at all).
absl::StatusOr<Route> RouteTowards(const model::IpAddress& address);

// The route in one RTM_NEWROUTE answer about `address`.
Route ParseRoute(const nlmsghdr* nlh, const model::IpAddress& address);

}  // namespace xlb::netlink

#endif  // XLB_NETLINK_ROUTES_H_
