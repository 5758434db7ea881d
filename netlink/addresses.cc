#include "netlink/addresses.h"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "netlink/links.h"
#include "netlink/message.h"
#include "netlink/socket.h"

namespace xlb::netlink {
namespace {

absl::Status CheckPrefix(const model::IpAddress& address, int prefix_len,
                         const std::string& what) {
  if (prefix_len < 0 || prefix_len > address.max_prefix_len())
    return absl::InvalidArgumentError(absl::StrCat(what, ": bad prefix length ", prefix_len));
  return absl::OkStatus();
}

void PutAddress(Message& request, uint32_t ifindex, const model::IpAddress& address,
                int prefix_len) {
  auto* ifa = request.PutHeader<ifaddrmsg>();
  ifa->ifa_family = AfOf(address);
  ifa->ifa_prefixlen = static_cast<uint8_t>(prefix_len);
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = ifindex;
  request.PutAddress(IFA_LOCAL, address);
  request.PutAddress(IFA_ADDRESS, address);
}

}  // namespace

std::optional<InterfaceAddress> ParseAddress(const nlmsghdr* nlh) {
  const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
  if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) return std::nullopt;
  const model::Family family = ifa->ifa_family == AF_INET ? model::Family::kV4 : model::Family::kV6;
  const Attributes attrs(nlh, sizeof(ifaddrmsg));
  // IFA_LOCAL is our address; IFA_ADDRESS is the peer on point-to-point
  // links (and the only one IPv6 sends).
  const std::optional<model::IpAddress> address =
      attrs.has(IFA_LOCAL) ? attrs.Address(IFA_LOCAL, family) : attrs.Address(IFA_ADDRESS, family);
  if (!address) return std::nullopt;
  InterfaceAddress entry;
  entry.ifindex = ifa->ifa_index;
  entry.address = *address;
  entry.prefix_len = ifa->ifa_prefixlen;
  entry.scope = ifa->ifa_scope;
  entry.flags = ifa->ifa_flags;
  if (auto flags = attrs.U32(IFA_FLAGS)) entry.flags = *flags;
  entry.protocol = attrs.U8(IFA_PROTO).value_or(0);
  entry.label = attrs.String(IFA_LABEL);
  return entry;
}

absl::Status AddAddress(uint32_t ifindex, const model::IpAddress& address, int prefix_len,
                        const AddressOptions& options) {
  const std::string ifname = InterfaceName(ifindex);
  const std::string what =
      absl::StrCat("add ", address.ToString(), "/", prefix_len, " to ", ifname);
  if (auto st = CheckPrefix(address, prefix_len, what); !st.ok()) return st;
  if (!options.label.empty()) {
    if (!address.is_v4())
      return absl::InvalidArgumentError(absl::StrCat(what, ": IPv6 addresses have no label"));
    if (options.label.size() >= IFNAMSIZ || !absl::StartsWith(options.label, ifname))
      return absl::InvalidArgumentError(absl::StrCat(what, ": label \"", options.label,
                                                     "\" must start with the interface name and "
                                                     "fit 15 bytes"));
  }
  Message request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
  PutAddress(request, ifindex, address, prefix_len);
  if (!options.label.empty()) request.PutString(IFA_LABEL, options.label);
  if (options.deprecated && !address.is_v4()) {
    request.header<ifaddrmsg>()->ifa_flags = IFA_F_NODAD;
    request.PutU32(IFA_FLAGS, IFA_F_NODAD);
    ifa_cacheinfo lifetimes{};
    lifetimes.ifa_prefered = 0;
    lifetimes.ifa_valid = 0xFFFFFFFFu;  // the kernel's INFINITY_LIFE_TIME: forever
    request.Put(IFA_CACHEINFO, &lifetimes, sizeof(lifetimes));
  }
  if (options.protocol != 0) request.PutU8(IFA_PROTO, options.protocol);
  return Request(request, what);
}

absl::Status RemoveAddress(uint32_t ifindex, const model::IpAddress& address, int prefix_len) {
  const std::string what = absl::StrCat("remove ", address.ToString(), "/", prefix_len, " from ",
                                        InterfaceName(ifindex));
  if (auto st = CheckPrefix(address, prefix_len, what); !st.ok()) return st;
  Message request(RTM_DELADDR, 0);
  PutAddress(request, ifindex, address, prefix_len);
  absl::Status st = Request(request, what);
  // Not there: EADDRNOTAVAIL (both families); an interface that is gone
  // (ENODEV) has no address left either.
  if (const int err = ErrnoOf(st); err == EADDRNOTAVAIL || err == ENODEV) return absl::OkStatus();
  return st;
}

absl::StatusOr<std::vector<InterfaceAddress>> ListAddresses(uint32_t ifindex) {
  const std::string what = absl::StrCat(
      "list addresses of ", ifindex == 0 ? std::string("every interface") : InterfaceName(ifindex));
  Message request(RTM_GETADDR, NLM_F_DUMP);
  auto* ifa = request.PutHeader<ifaddrmsg>();
  ifa->ifa_family = AF_UNSPEC;
  ifa->ifa_index = ifindex;  // older kernels ignore it: filtered below too
  std::vector<InterfaceAddress> out;
  absl::Status st = Request(
      request,
      [&](const nlmsghdr* nlh) {
        if (nlh->nlmsg_type != RTM_NEWADDR) return;
        std::optional<InterfaceAddress> a = ParseAddress(nlh);
        if (a && (ifindex == 0 || a->ifindex == ifindex)) out.push_back(std::move(*a));
      },
      what);
  if (!st.ok()) return st;
  return out;
}

}  // namespace xlb::netlink
