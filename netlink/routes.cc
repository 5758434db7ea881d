#include "netlink/routes.h"

#include <linux/rtnetlink.h>

#include "absl/strings/str_cat.h"
#include "netlink/message.h"
#include "netlink/socket.h"

namespace xlb::netlink {

Route ParseRoute(const nlmsghdr* nlh, const model::IpAddress& address) {
  const Attributes attrs(nlh, sizeof(rtmsg));
  Route route;
  route.ifindex = attrs.U32(RTA_OIF).value_or(0);
  route.next_hop = attrs.Address(RTA_GATEWAY, address.family()).value_or(address);
  route.source = attrs.Address(RTA_PREFSRC, address.family());
  return route;
}

absl::StatusOr<Route> RouteTowards(const model::IpAddress& address) {
  Message request(RTM_GETROUTE, 0);
  auto* rtm = request.PutHeader<rtmsg>();
  rtm->rtm_family = AfOf(address);
  rtm->rtm_dst_len = address.max_prefix_len();
  request.PutAddress(RTA_DST, address);
  Route route;
  route.next_hop = address;
  absl::Status st = Request(
      request,
      [&](const nlmsghdr* nlh) {
        if (nlh->nlmsg_type == RTM_NEWROUTE) route = ParseRoute(nlh, address);
      },
      absl::StrCat("route lookup toward ", address.ToString()));
  // No route: ENETUNREACH, EHOSTUNREACH (unreachable), ENOENT and the like.
  if (absl::IsNotFound(st) || absl::IsUnavailable(st)) return Route{0, address, std::nullopt};
  if (!st.ok()) return st;
  return route;
}

}  // namespace xlb::netlink
