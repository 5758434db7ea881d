#include "controlplane/vrrp/addresses.h"

#include <linux/if_addr.h>
#include <net/if.h>

#include "absl/strings/str_cat.h"

namespace xlb::vrrp {

using model::IpAddress;

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
  netlink::AddressOptions options;
  options.label = std::string(label);
  options.protocol = kVipAddressProtocol;
  options.deprecated = true;  // IPv6: never a source the kernel picks by itself
  return netlink::AddAddress(ifindex, address, prefix_len, options);
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
