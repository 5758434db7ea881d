#include "netlink/routes.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>

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

std::vector<Gateway> ParseGateways(const nlmsghdr* nlh) {
  std::vector<Gateway> out;
  if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(rtmsg)) return out;
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
  if (rtm->rtm_type != RTN_UNICAST) return out;
  if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6) return out;
  const model::Family family = rtm->rtm_family == AF_INET ? model::Family::kV4 : model::Family::kV6;
  const Attributes attrs(nlh, sizeof(rtmsg));
  // rtm_table is 8 bits; RTA_TABLE, when there, is the whole id.
  if (attrs.U32(RTA_TABLE).value_or(rtm->rtm_table) != RT_TABLE_MAIN) return out;

  if (auto gateway = attrs.Address(RTA_GATEWAY, family); gateway && attrs.U32(RTA_OIF))
    out.push_back({*attrs.U32(RTA_OIF), *gateway});
  // Each path: an rtnexthop, then its own attributes.
  const absl::string_view paths = attrs.Payload(RTA_MULTIPATH);
  size_t at = 0;
  while (at + sizeof(rtnexthop) <= paths.size()) {
    rtnexthop path;
    std::memcpy(&path, paths.data() + at, sizeof(path));
    if (path.rtnh_len < sizeof(rtnexthop) || path.rtnh_len > paths.size() - at) break;  // malformed
    const auto nested = Attributes::Nested(paths.data() + at + RTNH_LENGTH(0),
                                           path.rtnh_len - RTNH_LENGTH(0));
    if (auto gateway = nested.Address(RTA_GATEWAY, family); gateway && path.rtnh_ifindex > 0)
      out.push_back({static_cast<uint32_t>(path.rtnh_ifindex), *gateway});
    at += RTNH_ALIGN(path.rtnh_len);
  }
  return out;
}

absl::StatusOr<std::vector<Gateway>> MainTableGateways() {
  std::vector<Gateway> out;
  for (const uint8_t af : {AF_INET, AF_INET6}) {
    Message request(RTM_GETROUTE, NLM_F_DUMP);
    request.PutHeader<rtmsg>()->rtm_family = af;
    absl::Status st = Request(
        request,
        [&](const nlmsghdr* nlh) {
          for (const Gateway& g : ParseGateways(nlh)) out.push_back(g);
        },
        af == AF_INET ? "list the IPv4 routes" : "list the IPv6 routes");
    if (!st.ok()) return st;
  }
  return out;
}

}  // namespace xlb::netlink
