#include "controlplane/vrrp/addresses.h"

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace xlb::vrrp {
namespace {

using model::Family;
using model::IpAddress;

struct MnlCloser {
  void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
using MnlSocket = std::unique_ptr<mnl_socket, MnlCloser>;

absl::StatusOr<MnlSocket> OpenRtnl(const std::string& what) {
  MnlSocket s(mnl_socket_open(NETLINK_ROUTE));
  if (!s) return absl::ErrnoToStatus(errno, absl::StrCat(what, ": open rtnetlink socket"));
  if (mnl_socket_bind(s.get(), 0, MNL_SOCKET_AUTOPID) < 0)
    return absl::ErrnoToStatus(errno, absl::StrCat(what, ": bind rtnetlink socket"));
  return s;
}

// Sends one request (asking for an ACK or a dump) and runs `cb` on the
// answer until the ACK / NLMSG_DONE. A kernel error comes back as its errno,
// also stored in *err (0 on success) so callers can accept some.
absl::Status Request(mnl_socket* s, nlmsghdr* nlh, mnl_cb_t cb, void* data,
                     const std::string& what, int* err = nullptr) {
  int dummy = 0;
  int& e = err != nullptr ? *err : dummy;
  e = 0;
  const unsigned seq = static_cast<unsigned>(time(nullptr));
  nlh->nlmsg_seq = seq;
  if (mnl_socket_sendto(s, nlh, nlh->nlmsg_len) < 0) {
    e = errno;
    return absl::ErrnoToStatus(e, what);
  }
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  const unsigned portid = mnl_socket_get_portid(s);
  for (int i = 0; i < 4096; ++i) {  // a dump of every address is a few datagrams
    const ssize_t n = mnl_socket_recvfrom(s, buf.data(), buf.size());
    if (n < 0) {
      e = errno;
      return absl::ErrnoToStatus(e, what);
    }
    const int ret = mnl_cb_run(buf.data(), n, seq, portid, cb, data);
    if (ret < 0) {
      e = errno;
      return absl::ErrnoToStatus(e, what);
    }
    if (ret == MNL_CB_STOP) return absl::OkStatus();
  }
  e = EPROTO;
  return absl::InternalError(absl::StrCat(what, ": no end of answer"));
}

std::string InterfaceName(uint32_t ifindex) {
  char name[IF_NAMESIZE] = {};
  if (!if_indextoname(ifindex, name)) return absl::StrCat("interface ", ifindex);
  return name;
}

absl::Status CheckPrefix(const IpAddress& address, int prefix_len, const std::string& what) {
  if (prefix_len < 0 || prefix_len > address.max_prefix_len())
    return absl::InvalidArgumentError(absl::StrCat(what, ": bad prefix length ", prefix_len));
  return absl::OkStatus();
}

nlmsghdr* PutAddressMessage(char* buf, uint16_t type, uint16_t flags, uint32_t ifindex,
                            const IpAddress& address, int prefix_len) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = flags;
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = address.is_v4() ? AF_INET : AF_INET6;
  ifa->ifa_prefixlen = static_cast<uint8_t>(prefix_len);
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = ifindex;
  const std::string bytes = address.bytes();
  mnl_attr_put(nlh, IFA_LOCAL, bytes.size(), bytes.data());
  mnl_attr_put(nlh, IFA_ADDRESS, bytes.size(), bytes.data());
  return nlh;
}

struct ListState {
  uint32_t ifindex;
  std::vector<InterfaceAddress>* out;
};

int OnAddress(const nlmsghdr* nlh, void* data) {
  auto* state = static_cast<ListState*>(data);
  if (nlh->nlmsg_type != RTM_NEWADDR) return MNL_CB_OK;
  const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
  if (state->ifindex != 0 && ifa->ifa_index != state->ifindex) return MNL_CB_OK;
  if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) return MNL_CB_OK;
  const Family family = ifa->ifa_family == AF_INET ? Family::kV4 : Family::kV6;
  const size_t alen = family == Family::kV4 ? 4 : 16;
  struct Attrs {
    const nlattr* local = nullptr;
    const nlattr* address = nullptr;
    const nlattr* label = nullptr;
    const nlattr* flags = nullptr;
    const nlattr* protocol = nullptr;
  } attrs;
  mnl_attr_parse(
      nlh, sizeof(ifaddrmsg),
      [](const nlattr* attr, void* d) {
        auto* a = static_cast<Attrs*>(d);
        switch (mnl_attr_get_type(attr)) {
          case IFA_LOCAL: a->local = attr; break;
          case IFA_ADDRESS: a->address = attr; break;
          case IFA_LABEL: a->label = attr; break;
          case IFA_FLAGS: a->flags = attr; break;
          case IFA_PROTO: a->protocol = attr; break;
        }
        return MNL_CB_OK;
      },
      &attrs);
  // IFA_LOCAL is our address; IFA_ADDRESS is the peer on point-to-point
  // links (and the only one IPv6 sends).
  const nlattr* addr = attrs.local ? attrs.local : attrs.address;
  if (addr == nullptr || mnl_attr_get_payload_len(addr) != alen) return MNL_CB_OK;
  uint32_t words[4] = {};
  std::memcpy(words, mnl_attr_get_payload(addr), alen);
  InterfaceAddress entry;
  entry.ifindex = ifa->ifa_index;
  entry.address = IpAddress::FromWords(family, words);
  entry.prefix_len = ifa->ifa_prefixlen;
  entry.scope = ifa->ifa_scope;
  entry.flags = ifa->ifa_flags;
  if (attrs.flags && mnl_attr_get_payload_len(attrs.flags) == 4)
    entry.flags = mnl_attr_get_u32(attrs.flags);
  if (attrs.protocol && mnl_attr_get_payload_len(attrs.protocol) == 1)
    entry.protocol = mnl_attr_get_u8(attrs.protocol);
  if (attrs.label) {
    const char* s = static_cast<const char*>(mnl_attr_get_payload(attrs.label));
    entry.label.assign(s, strnlen(s, mnl_attr_get_payload_len(attrs.label)));
  }
  state->out->push_back(std::move(entry));
  return MNL_CB_OK;
}

}  // namespace

absl::StatusOr<std::string> AddressLabel(absl::string_view ifname, absl::string_view suffix) {
  constexpr size_t kMax = IFNAMSIZ - 1;
  if (ifname.empty() || ifname.size() + 2 > kMax || suffix.empty())
    return absl::InvalidArgumentError(
        absl::StrCat("no room for an address label \"", ifname, ":", suffix, "\""));
  std::string label = absl::StrCat(ifname, ":", suffix);
  if (label.size() > kMax) label.resize(kMax);
  return label;
}

absl::Status AddAddress(uint32_t ifindex, const IpAddress& address, int prefix_len,
                        absl::string_view label) {
  const std::string ifname = InterfaceName(ifindex);
  const std::string what =
      absl::StrCat("add ", address.ToString(), "/", prefix_len, " to ", ifname);
  if (auto st = CheckPrefix(address, prefix_len, what); !st.ok()) return st;
  if (!label.empty()) {
    if (!address.is_v4())
      return absl::InvalidArgumentError(absl::StrCat(what, ": IPv6 addresses have no label"));
    if (label.size() >= IFNAMSIZ || !absl::StartsWith(label, ifname))
      return absl::InvalidArgumentError(absl::StrCat(
          what, ": label \"", label, "\" must start with the interface name and fit 15 bytes"));
  }
  auto sock = OpenRtnl(what);
  if (!sock.ok()) return sock.status();
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = PutAddressMessage(buf.data(), RTM_NEWADDR,
                                    NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
                                    ifindex, address, prefix_len);
  if (address.is_v4()) {
    if (!label.empty()) mnl_attr_put_strz(nlh, IFA_LABEL, std::string(label).c_str());
  } else {
    static_cast<ifaddrmsg*>(mnl_nlmsg_get_payload(nlh))->ifa_flags = IFA_F_NODAD;
    mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
    // Deprecated at once: never a source the kernel picks by itself.
    ifa_cacheinfo lifetimes{};
    lifetimes.ifa_prefered = 0;
    lifetimes.ifa_valid = 0xFFFFFFFFu;  // the kernel's INFINITY_LIFE_TIME: forever
    mnl_attr_put(nlh, IFA_CACHEINFO, sizeof(lifetimes), &lifetimes);
  }
  mnl_attr_put_u8(nlh, IFA_PROTO, kVipAddressProtocol);
  return Request(sock->get(), nlh, nullptr, nullptr, what);
}

absl::Status RemoveAddress(uint32_t ifindex, const IpAddress& address, int prefix_len) {
  const std::string what = absl::StrCat("remove ", address.ToString(), "/", prefix_len, " from ",
                                        InterfaceName(ifindex));
  if (auto st = CheckPrefix(address, prefix_len, what); !st.ok()) return st;
  auto sock = OpenRtnl(what);
  if (!sock.ok()) return sock.status();
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = PutAddressMessage(buf.data(), RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, ifindex,
                                    address, prefix_len);
  int err = 0;
  absl::Status st = Request(sock->get(), nlh, nullptr, nullptr, what, &err);
  // Not there: EADDRNOTAVAIL (both families); an interface that is gone
  // (ENODEV) has no address left either.
  if (err == EADDRNOTAVAIL || err == ENODEV) return absl::OkStatus();
  return st;
}

absl::StatusOr<std::vector<InterfaceAddress>> ListAddresses(uint32_t ifindex) {
  const std::string what = absl::StrCat(
      "list addresses of ", ifindex == 0 ? std::string("every interface") : InterfaceName(ifindex));
  auto sock = OpenRtnl(what);
  if (!sock.ok()) return sock.status();
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = RTM_GETADDR;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = AF_UNSPEC;
  ifa->ifa_index = ifindex;  // older kernels ignore it: OnAddress filters too
  std::vector<InterfaceAddress> out;
  ListState state{ifindex, &out};
  if (auto st = Request(sock->get(), nlh, OnAddress, &state, what); !st.ok()) return st;
  return out;
}

int VipPrefixLength(const std::vector<InterfaceAddress>& on_interface, const IpAddress& address,
                    int prefix_len) {
  if (!address.is_v4() || prefix_len >= 32) return prefix_len;
  for (const InterfaceAddress& a : on_interface) {
    if (!a.address.is_v4() || a.address == address || a.prefix_len != prefix_len ||
        (a.flags & IFA_F_SECONDARY) || a.protocol == kVipAddressProtocol)
      continue;
    if (a.address.Masked(prefix_len) == address.Masked(prefix_len)) return prefix_len;
  }
  return 32;
}

}  // namespace xlb::vrrp
