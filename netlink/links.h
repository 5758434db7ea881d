// Interfaces (RTM_GETLINK): names, state and MAC address, and the kernel's
// notifications of link changes (RTMGRP_LINK).
#ifndef XLB_NETLINK_LINKS_H_
#define XLB_NETLINK_LINKS_H_

#include <linux/netlink.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "netlink/message.h"
#include "netlink/socket.h"

namespace xlb::netlink {

struct Link {
  uint32_t ifindex = 0;
  std::string name;
  uint32_t flags = 0;  // IFF_*
  uint16_t type = 0;   // ARPHRD_*
  std::optional<MacAddress> mac;
  uint32_t mtu = 0;  // IFLA_MTU; 0 when not said

  bool operator==(const Link&) const = default;
};

// The MAC address of interface `ifindex`; an error when there is no such
// interface or it is not Ethernet.
absl::StatusOr<MacAddress> InterfaceMac(uint32_t ifindex);

// The MTU of interface `ifindex`.
absl::StatusOr<uint32_t> InterfaceMtu(uint32_t ifindex);

// Administratively up and with carrier (IFF_UP and IFF_RUNNING); false for
// an interface that does not exist.
bool LinkUp(absl::string_view ifname);

// The name of interface `ifindex`, or "interface N" when there is none: for
// messages.
std::string InterfaceName(uint32_t ifindex);

// A socket the kernel notifies of every change of a link (up, down, added,
// removed): poll its fd(), then Drain() it and read what matters.
absl::StatusOr<Socket> SubscribeToLinks();

// The link in one RTM_NEWLINK message.
Link ParseLink(const nlmsghdr* nlh);

}  // namespace xlb::netlink

#endif  // XLB_NETLINK_LINKS_H_
