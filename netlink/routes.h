// How the kernel routes toward an address (RTM_GETROUTE).
#ifndef XLB_NETLINK_ROUTES_H_
#define XLB_NETLINK_ROUTES_H_

#include <linux/netlink.h>

#include <cstdint>
#include <optional>
#include <vector>

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

// A router a route of the main table goes through: `address` out of
// `ifindex`.
struct Gateway {
  uint32_t ifindex = 0;
  model::IpAddress address;

  auto operator<=>(const Gateway&) const = default;
};

// The gateways of every unicast route of the main table (RT_TABLE_MAIN),
// IPv4 and IPv6, each path of a multipath route included. One dump per
// family: its cost grows with the table.
absl::StatusOr<std::vector<Gateway>> MainTableGateways();

// The gateways of one RTM_NEWROUTE message of a dump: none unless it is a
// unicast route of the main table; one per path of a multipath route
// (RTA_MULTIPATH). A gateway of another family (RTA_VIA: an IPv4 route via an
// IPv6 router) is not read.
std::vector<Gateway> ParseGateways(const nlmsghdr* nlh);

}  // namespace xlb::netlink

#endif  // XLB_NETLINK_ROUTES_H_
