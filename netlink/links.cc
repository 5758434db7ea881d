#include "netlink/links.h"

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>

#include "absl/strings/str_cat.h"

namespace xlb::netlink {
namespace {

// The link with index `ifindex`, or else the one named `name`.
absl::StatusOr<Link> GetLink(uint32_t ifindex, absl::string_view name, absl::string_view what) {
  Message request(RTM_GETLINK, 0);
  request.PutHeader<ifinfomsg>()->ifi_index = static_cast<int>(ifindex);
  if (ifindex == 0) request.PutString(IFLA_IFNAME, name);
  std::optional<Link> link;
  absl::Status st = Request(
      request,
      [&](const nlmsghdr* nlh) {
        if (nlh->nlmsg_type == RTM_NEWLINK) link = ParseLink(nlh);
      },
      what);
  if (!st.ok()) return st;
  if (!link) return absl::InternalError(absl::StrCat(what, ": no answer"));
  return *link;
}

}  // namespace

Link ParseLink(const nlmsghdr* nlh) {
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  const Attributes attrs(nlh, sizeof(ifinfomsg));
  Link link;
  link.ifindex = static_cast<uint32_t>(ifi->ifi_index);
  link.name = attrs.String(IFLA_IFNAME);
  link.flags = ifi->ifi_flags;
  link.type = ifi->ifi_type;
  link.mac = attrs.Mac(IFLA_ADDRESS);
  link.mtu = attrs.U32(IFLA_MTU).value_or(0);
  return link;
}

absl::StatusOr<MacAddress> InterfaceMac(uint32_t ifindex) {
  if (ifindex == 0) return absl::InvalidArgumentError("MAC address of interface 0");
  auto link = GetLink(ifindex, "", absl::StrCat("MAC address of interface ", ifindex));
  if (!link.ok()) return link.status();
  if (link->type != ARPHRD_ETHER || !link->mac)
    return absl::FailedPreconditionError(absl::StrCat(link->name, " is not Ethernet"));
  return *link->mac;
}

absl::StatusOr<uint32_t> InterfaceMtu(uint32_t ifindex) {
  if (ifindex == 0) return absl::InvalidArgumentError("MTU of interface 0");
  auto link = GetLink(ifindex, "", absl::StrCat("MTU of interface ", ifindex));
  if (!link.ok()) return link.status();
  return link->mtu;
}

bool LinkUp(absl::string_view ifname) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) return false;
  auto link = GetLink(0, ifname, absl::StrCat("state of ", ifname));
  return link.ok() && (link->flags & IFF_UP) && (link->flags & IFF_RUNNING);
}

std::string InterfaceName(uint32_t ifindex) {
  char name[IF_NAMESIZE] = {};
  if (if_indextoname(ifindex, name) == nullptr) return absl::StrCat("interface ", ifindex);
  return name;
}

absl::StatusOr<Socket> SubscribeToLinks() {
  auto socket = Socket::Open(RTMGRP_LINK);
  if (!socket.ok())
    return absl::Status(socket.status().code(),
                        absl::StrCat("link events: ", socket.status().message()));
  return socket;
}

}  // namespace xlb::netlink
