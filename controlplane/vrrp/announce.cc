#include "controlplane/vrrp/announce.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "controlplane/vrrp/io.h"
#include "model/unique_fd.h"
#include "netlink/links.h"

namespace xlb::vrrp {
namespace {

using model::IpAddress;

absl::Status SendGarp(const std::string& ifname, int ifindex, const MacAddress& mac,
                      const IpAddress& vip, int count) {
  const std::string what = absl::StrCat("gratuitous ARP for ", vip.ToString(), " on ", ifname);
  model::UniqueFd fd(socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP)));
  if (fd.get() < 0) return absl::ErrnoToStatus(errno, what + ": socket");
  sockaddr_ll to = {};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_ARP);
  to.sll_ifindex = ifindex;
  to.sll_halen = 6;
  std::memset(to.sll_addr, 0xff, 6);
  const std::string arp = GratuitousArp(mac, vip);
  for (int i = 0; i < count; ++i) {
    if (sendto(fd.get(), arp.data(), arp.size(), 0, reinterpret_cast<const sockaddr*>(&to),
               sizeof(to)) != static_cast<ssize_t>(arp.size()))
      return absl::ErrnoToStatus(errno, what + ": send");
  }
  return absl::OkStatus();
}

absl::Status SendNa(const std::string& ifname, int ifindex, const MacAddress& mac,
                    const IpAddress& vip, int count) {
  const std::string what =
      absl::StrCat("neighbour advertisement for ", vip.ToString(), " on ", ifname);
  model::UniqueFd fd(socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6));
  if (fd.get() < 0) return absl::ErrnoToStatus(errno, what + ": socket");
  if (setsockopt(fd.get(), SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), ifname.size()) != 0)
    return absl::ErrnoToStatus(errno, what + ": SO_BINDTODEVICE");
  const int hops = 255;
  if (setsockopt(fd.get(), IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) != 0 ||
      setsockopt(fd.get(), IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)) != 0)
    return absl::ErrnoToStatus(errno, what + ": hop limit");
  if (setsockopt(fd.get(), IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex)) != 0)
    return absl::ErrnoToStatus(errno, what + ": IPV6_MULTICAST_IF");
  const std::string na = UnsolicitedNeighborAdvert(mac, vip);
  sockaddr_in6 to = {};
  to.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "ff02::1", &to.sin6_addr);
  to.sin6_scope_id = ifindex;
  for (int i = 0; i < count; ++i) {
    ssize_t n = SendIpv6(fd.get(), na, to, ifindex, vip);
    if (n < 0 && (errno == EINVAL || errno == EADDRNOTAVAIL))
      n = SendIpv6(fd.get(), na, to, ifindex, std::nullopt);  // the VIP is not ours yet
    if (n != static_cast<ssize_t>(na.size())) return absl::ErrnoToStatus(errno, what + ": send");
  }
  return absl::OkStatus();
}

}  // namespace

std::string GratuitousArp(const MacAddress& mac, const IpAddress& vip) {
  std::string p(28, '\0');
  auto* b = reinterpret_cast<uint8_t*>(p.data());
  b[0] = 0x00, b[1] = 0x01;  // hardware: Ethernet
  b[2] = 0x08, b[3] = 0x00;  // protocol: IPv4
  b[4] = 6, b[5] = 4;
  b[6] = 0x00, b[7] = 0x01;  // request
  const std::string ip = vip.bytes();
  std::memcpy(b + 8, mac.data(), 6);   // sender MAC
  std::memcpy(b + 14, ip.data(), 4);   // sender IP
  // target MAC stays 00:00:00:00:00:00
  std::memcpy(b + 24, ip.data(), 4);   // target IP
  return p;
}

std::string UnsolicitedNeighborAdvert(const MacAddress& mac, const IpAddress& vip) {
  std::string p(32, '\0');
  auto* b = reinterpret_cast<uint8_t*>(p.data());
  b[0] = ND_NEIGHBOR_ADVERT;  // 136; code 0; checksum 0 (kernel)
  b[4] = 0x20;                // flags: Override only
  const std::string target = vip.bytes();
  std::memcpy(b + 8, target.data(), 16);
  b[24] = ND_OPT_TARGET_LINKADDR;  // 2
  b[25] = 1;                       // length in units of 8 bytes
  std::memcpy(b + 26, mac.data(), 6);
  return p;
}

absl::Status Announce(absl::string_view ifname_view, const std::vector<IpAddress>& addresses,
                      int count) {
  const std::string ifname(ifname_view);
  const int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (ifindex == 0) return absl::ErrnoToStatus(errno, absl::StrCat("announce on ", ifname));
  auto mac = netlink::InterfaceMac(ifindex);
  if (!mac.ok()) return mac.status();
  absl::Status first;
  for (const IpAddress& vip : addresses) {
    absl::Status st = vip.is_v4() ? SendGarp(ifname, ifindex, *mac, vip, count)
                                  : SendNa(ifname, ifindex, *mac, vip, count);
    first.Update(st);
  }
  return first;
}

}  // namespace xlb::vrrp
