#include "dataplane/nexthop.h"

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"

namespace xlb::dataplane {
namespace {

struct MnlCloser {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
using MnlSocket = std::unique_ptr<mnl_socket, MnlCloser>;

absl::StatusOr<MnlSocket> OpenRtnl() {
  MnlSocket s(mnl_socket_open(NETLINK_ROUTE));
  if (!s) return absl::ErrnoToStatus(errno, "open rtnetlink socket");
  if (mnl_socket_bind(s.get(), 0, MNL_SOCKET_AUTOPID) < 0)
    return absl::ErrnoToStatus(errno, "bind rtnetlink socket");
  return s;
}

// Sends one request and feeds the answer to `cb`. ENOENT/ENETUNREACH and the
// like come back as the errno in the status.
absl::Status Request(mnl_socket* s, nlmsghdr* nlh, mnl_cb_t cb, void* data,
                     const std::string& what) {
  nlh->nlmsg_seq = 1;
  if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0) return absl::ErrnoToStatus(errno, what);
  char buf[MNL_SOCKET_BUFFER_SIZE];
  unsigned portid = mnl_socket_get_portid(s);
  for (int i = 0; i < 64; ++i) {  // a get is answered in one or two datagrams
    ssize_t n = mnl_socket_recvfrom(s, buf, sizeof(buf));
    if (n < 0) return absl::ErrnoToStatus(errno, what);
    int ret = mnl_cb_run(buf, n, 1, portid, cb, data);
    if (ret < 0) return absl::ErrnoToStatus(errno, what);
    if (ret == MNL_CB_STOP) return absl::OkStatus();
  }
  return absl::InternalError(absl::StrCat(what, ": no end of answer"));
}

struct RouteAnswer {
  int family = AF_INET;
  uint32_t oif = 0;
  uint8_t gateway[16] = {};
  bool has_gateway = false;
};

int OnRoute(const nlmsghdr* nlh, void* data) {
  auto* r = static_cast<RouteAnswer*>(data);
  mnl_attr_parse(
      nlh, sizeof(rtmsg),
      [](const nlattr* attr, void* d) {
        auto* r = static_cast<RouteAnswer*>(d);
        switch (mnl_attr_get_type(attr)) {
          case RTA_OIF:
            r->oif = mnl_attr_get_u32(attr);
            break;
          case RTA_GATEWAY:
            if (mnl_attr_get_payload_len(attr) <= sizeof(r->gateway)) {
              std::memcpy(r->gateway, mnl_attr_get_payload(attr), mnl_attr_get_payload_len(attr));
              r->has_gateway = true;
            }
            break;
        }
        return MNL_CB_OK;
      },
      r);
  return MNL_CB_STOP;
}

// One neighbour entry as the kernel reports it.
struct NeighAnswer {
  bool found = false;
  bool usable = false;
  uint32_t ifindex = 0;
  uint16_t state = 0;
  uint8_t protocol = 0;
  bool managed = false;
  uint32_t dst[4] = {};  // network order, as IpAddress::FromWords wants
  size_t dst_len = 0;
  uint8_t mac[6] = {};
};

void ParseNeigh(const nlmsghdr* nlh, NeighAnswer* a) {
  auto* ndm = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(nlh));
  constexpr uint16_t kUsable =
      NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP;
  a->found = true;
  a->ifindex = ndm->ndm_ifindex;
  a->state = ndm->ndm_state;
  mnl_attr_parse(
      nlh, sizeof(ndmsg),
      [](const nlattr* attr, void* d) {
        auto* a = static_cast<NeighAnswer*>(d);
        const uint16_t len = mnl_attr_get_payload_len(attr);
        switch (mnl_attr_get_type(attr)) {
          case NDA_LLADDR:
            if (len == 6) std::memcpy(a->mac, mnl_attr_get_payload(attr), 6);
            break;
          case NDA_DST:
            if (len <= sizeof(a->dst)) {
              std::memcpy(a->dst, mnl_attr_get_payload(attr), len);
              a->dst_len = len;
            }
            break;
          case NDA_PROTOCOL:
            if (len >= 1) a->protocol = mnl_attr_get_u8(attr);
            break;
          case NDA_FLAGS_EXT:
            if (len >= 4) a->managed = mnl_attr_get_u32(attr) & NTF_EXT_MANAGED;
            break;
        }
        return MNL_CB_OK;
      },
      a);
  bool has_mac = false;
  for (uint8_t b : a->mac) has_mac |= b != 0;
  a->usable = (a->state & kUsable) && has_mac;
}

int OnNeigh(const nlmsghdr* nlh, void* data) {
  ParseNeigh(nlh, static_cast<NeighAnswer*>(data));
  return MNL_CB_STOP;
}

}  // namespace

absl::StatusOr<std::array<uint8_t, 6>> InterfaceMac(uint32_t ifindex) {
  char name[IF_NAMESIZE] = {};
  if (!if_indextoname(ifindex, name))
    return absl::ErrnoToStatus(errno, absl::StrCat("name of interface ", ifindex));
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  ifreq ifr = {};
  std::memcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));  // both IF_NAMESIZE, NUL-padded
  int rc = ioctl(fd, SIOCGIFHWADDR, &ifr);
  int err = errno;
  close(fd);
  if (rc != 0) return absl::ErrnoToStatus(err, absl::StrCat("MAC address of ", name));
  if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
    return absl::FailedPreconditionError(absl::StrCat(name, " is not Ethernet"));
  std::array<uint8_t, 6> mac;
  std::memcpy(mac.data(), ifr.ifr_hwaddr.sa_data, 6);
  return mac;
}

namespace {

// Which interface and which gateway (if any) the kernel routes `address`
// via; oif 0 when it has no route.
absl::StatusOr<RouteAnswer> LookupRoute(mnl_socket* sock, const model::IpAddress& address) {
  const std::string addr_bytes = address.bytes();
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_GETROUTE;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  RouteAnswer route;
  route.family = rtm->rtm_family = address.is_v4() ? AF_INET : AF_INET6;
  rtm->rtm_dst_len = addr_bytes.size() * 8;
  mnl_attr_put(nlh, RTA_DST, addr_bytes.size(), addr_bytes.data());
  if (auto st = Request(sock, nlh, OnRoute, &route,
                        absl::StrCat("route lookup for real ", address.ToString()));
      !st.ok()) {
    if (absl::IsNotFound(st) || st.code() == absl::StatusCode::kUnavailable) return RouteAnswer{};
    return st;
  }
  return route;
}

}  // namespace

absl::StatusOr<Egress> RouteTowards(const model::IpAddress& address) {
  auto sock = OpenRtnl();
  if (!sock.ok()) return sock.status();
  auto route = LookupRoute(sock->get(), address);
  if (!route.ok()) return route.status();
  Egress egress;
  egress.ifindex = route->oif;
  egress.next_hop = address;
  if (route->has_gateway) {
    uint32_t words[4] = {};
    std::memcpy(words, route->gateway, address.is_v4() ? 4 : 16);
    egress.next_hop = model::IpAddress::FromWords(address.family(), words);
  }
  return egress;
}

absl::StatusOr<uint32_t> NetlinkNexthopResolver::EgressInterface(const model::IpAddress& address) {
  auto egress = RouteTowards(address);
  if (!egress.ok()) return egress.status();
  return egress->ifindex;
}

absl::StatusOr<std::optional<Nexthop>> NetlinkNexthopResolver::Resolve(const model::IpAddress& address) {
  constexpr auto kKeep = std::chrono::seconds(1);
  const auto now = std::chrono::steady_clock::now();
  if (auto it = cache_.find(address); it != cache_.end() && now - it->second.at < kKeep)
    return it->second.nexthop;
  auto answer = Ask(address);
  if (!answer.ok()) return answer;
  // Only known next hops are kept: an unknown one (the kernel is resolving
  // it right now, NTF_USE asked it to) is worth asking again at once.
  if (!*answer) return answer;
  if (cache_.size() > 65536) cache_.clear();  // bounded: reals come and go
  cache_[address] = {now, *answer};
  return answer;
}

absl::StatusOr<std::optional<Nexthop>> NetlinkNexthopResolver::Ask(const model::IpAddress& address) {
  auto sock = OpenRtnl();
  if (!sock.ok()) return sock.status();
  const int family = address.is_v4() ? AF_INET : AF_INET6;
  const std::string addr_bytes = address.bytes();
  const size_t alen = addr_bytes.size();
  char buf[MNL_SOCKET_BUFFER_SIZE];

  auto found = LookupRoute(sock->get(), address);
  if (!found.ok()) return found.status();
  const RouteAnswer& route = *found;
  if (route.oif == 0) return std::nullopt;
  nlmsghdr* nlh;
  const void* hop = route.has_gateway ? static_cast<const void*>(route.gateway)
                                      : static_cast<const void*>(addr_bytes.data());

  // The next hop's MAC from the neighbour table.
  nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_GETNEIGH;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  auto* ndm = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
  ndm->ndm_family = family;
  ndm->ndm_ifindex = route.oif;
  mnl_attr_put(nlh, NDA_DST, alen, hop);
  NeighAnswer neigh;
  auto st = Request(sock->get(), nlh, OnNeigh, &neigh,
                    absl::StrCat("neighbour lookup for real ", address.ToString()));
  if (!st.ok() && !absl::IsNotFound(st)) return st;

  if (!neigh.usable && neigh.managed) return std::nullopt;  // the kernel is on it
  if (!neigh.usable) {
    // Unknown yet: ask the kernel to resolve it (NTF_USE starts ARP/ND
    // like a packet would), and report "not yet". Never on a managed entry:
    // a request without NTF_EXT_MANAGED would clear it.
    nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_NEWNEIGH;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK;
    ndm = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
    ndm->ndm_family = family;
    ndm->ndm_ifindex = route.oif;
    ndm->ndm_state = NUD_NONE;
    ndm->ndm_flags = NTF_USE;
    mnl_attr_put(nlh, NDA_DST, alen, hop);
    // Best effort: a failure here only delays resolution to the next try.
    (void)Request(sock->get(), nlh, [](const nlmsghdr*, void*) { return MNL_CB_STOP; }, nullptr,
                  "start neighbour resolution");
    return std::nullopt;
  }

  auto smac = InterfaceMac(route.oif);
  if (!smac.ok()) return smac.status();
  Nexthop nh;
  nh.ifindex = route.oif;
  std::memcpy(nh.dmac.data(), neigh.mac, 6);
  nh.smac = *smac;
  return nh;
}

absl::StatusOr<size_t> NetlinkNexthopResolver::KeepResolved(const std::vector<model::IpAddress>& reals) {
  auto sock = OpenRtnl();
  if (!sock.ok()) return sock.status();
  // The next hops wanted: (egress interface, the real or its gateway).
  std::set<std::pair<uint32_t, model::IpAddress>> wanted;
  for (const model::IpAddress& real : std::set<model::IpAddress>(reals.begin(), reals.end())) {
    auto route = LookupRoute(sock->get(), real);
    if (!route.ok()) return route.status();
    if (route->oif == 0) continue;  // no route: nothing to resolve
    model::IpAddress hop = real;
    if (route->has_gateway) {
      uint32_t words[4] = {};
      std::memcpy(words, route->gateway, sizeof(words));
      hop = model::IpAddress::FromWords(real.family(), words);
    }
    wanted.insert({route->oif, hop});
  }

  // Every neighbour entry, IPv4 and IPv6.
  std::vector<NeighAnswer> entries;
  {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_GETNEIGH;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = 1;
    auto* ndm = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
    ndm->ndm_family = AF_UNSPEC;
    if (mnl_socket_sendto(sock->get(), nlh, nlh->nlmsg_len) < 0)
      return absl::ErrnoToStatus(errno, "list neighbour entries");
    const unsigned portid = mnl_socket_get_portid(sock->get());
    int ret = MNL_CB_OK;
    // Bounded: a datagram holds dozens of entries; a million entries is past any table.
    for (int i = 0; i < 100000 && ret > MNL_CB_STOP; ++i) {
      ssize_t n = mnl_socket_recvfrom(sock->get(), buf, sizeof(buf));
      if (n < 0) return absl::ErrnoToStatus(errno, "list neighbour entries");
      ret = mnl_cb_run(
          buf, n, 1, portid,
          [](const nlmsghdr* nlh, void* d) {
            NeighAnswer a;
            ParseNeigh(nlh, &a);
            if (a.dst_len == 4 || a.dst_len == 16)
              static_cast<std::vector<NeighAnswer>*>(d)->push_back(a);
            return MNL_CB_OK;
          },
          &entries);
      if (ret < 0) return absl::ErrnoToStatus(errno, "list neighbour entries");
    }
    if (ret != MNL_CB_STOP) return absl::InternalError("list neighbour entries: no end of answer");
  }

  auto change = [&](uint16_t type, uint16_t flags, uint32_t ifindex, const model::IpAddress& hop,
                    const std::string& what) {
    char buf[MNL_SOCKET_BUFFER_SIZE];
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    auto* ndm = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
    ndm->ndm_family = hop.is_v4() ? AF_INET : AF_INET6;
    ndm->ndm_ifindex = ifindex;
    ndm->ndm_state = NUD_NONE;  // the kernel resolves it (managed)
    const std::string bytes = hop.bytes();
    mnl_attr_put(nlh, NDA_DST, bytes.size(), bytes.data());
    if (type == RTM_NEWNEIGH) {
      mnl_attr_put_u8(nlh, NDA_PROTOCOL, kNeighbourProtocol);
      mnl_attr_put_u32(nlh, NDA_FLAGS_EXT, NTF_EXT_MANAGED);
    }
    return Request(sock->get(), nlh, [](const nlmsghdr*, void*) { return MNL_CB_STOP; }, nullptr,
                   what);
  };
  auto name = [](uint32_t ifindex, const model::IpAddress& hop) {
    char ifname[IF_NAMESIZE] = "?";
    if_indextoname(ifindex, ifname);
    return absl::StrCat(hop.ToString(), " dev ", ifname);
  };

  std::set<std::pair<uint32_t, model::IpAddress>> present;
  for (const NeighAnswer& e : entries) {
    const model::IpAddress hop = model::IpAddress::FromWords(e.dst_len == 4 ? model::Family::kV4 : model::Family::kV6, e.dst);
    const std::pair<uint32_t, model::IpAddress> key{e.ifindex, hop};
    const bool ours = e.protocol == kNeighbourProtocol;
    if (ours && !wanted.contains(key)) {
      auto st = change(RTM_DELNEIGH, 0, e.ifindex, hop,
                       absl::StrCat("remove the neighbour entry of ", name(e.ifindex, hop)));
      if (!st.ok() && !absl::IsNotFound(st)) return st;
      continue;
    }
    // Kept as it is: ours, managed by someone, static, or another program's.
    // A plain entry the kernel learned is made managed (and ours) below.
    const bool plain = e.protocol == 0 && !e.managed && !(e.state & (NUD_PERMANENT | NUD_NOARP));
    if (!plain) present.insert(key);
  }
  size_t made = 0;
  for (const auto& [ifindex, hop] : wanted) {
    if (present.contains({ifindex, hop})) continue;
    if (auto st = change(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, ifindex, hop,
                         absl::StrCat("make a managed neighbour entry for ", name(ifindex, hop),
                                      " (kernel 5.16 or later)"));
        !st.ok())
      return st;
    ++made;
  }
  return made;
}

}  // namespace xlb::dataplane
