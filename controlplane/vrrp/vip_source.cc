#include "controlplane/vrrp/vip_source.h"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "netlink/links.h"

namespace xlb::vrrp {

using model::IpAddress;

std::set<IpAddress> ConfiguredVips(const config::Config& config) {
  std::set<IpAddress> vips;
  for (const config::VrrpInstance& v : config.vrrp)
    for (const auto& [address, prefix] : v.addresses) vips.insert(address);
  for (const config::ServiceConfig& s : config.services) vips.insert(s.service.key.vip);
  return vips;
}

bool IsOwnAddress(const InterfaceAddress& a, const std::set<IpAddress>& vips) {
  if (a.scope != RT_SCOPE_UNIVERSE || a.protocol == kVipAddressProtocol || vips.contains(a.address))
    return false;
  if (!a.address.is_v4() && (a.flags & (IFA_F_DEPRECATED | IFA_F_TENTATIVE | IFA_F_DADFAILED)))
    return false;
  return true;
}

std::optional<IpAddress> ChooseSource(const std::vector<InterfaceAddress>& addresses,
                                      uint32_t ifindex, const IpAddress& next_hop,
                                      const std::set<IpAddress>& vips) {
  std::optional<IpAddress> any;
  for (const InterfaceAddress& a : addresses) {
    if (a.address.family() != next_hop.family() || (ifindex != 0 && a.ifindex != ifindex) ||
        !IsOwnAddress(a, vips))
      continue;
    if (a.address.Masked(a.prefix_len) == next_hop.Masked(a.prefix_len)) return a.address;
    if (!any) any = a.address;
  }
  return any;
}

std::vector<std::string> VipSourceWarnings(
    const config::Config& config, const std::vector<InterfaceAddress>& addresses,
    const std::function<uint32_t(const std::string&)>& ifindex_of) {
  struct Vip {
    IpAddress address;
    int prefix_len;
    uint32_t ifindex;
    std::string what;  // "vrrp vi6" or "service web6 (on eth0)"
  };
  std::vector<Vip> vips;
  for (const config::VrrpInstance& v : config.vrrp) {
    const uint32_t ifindex = ifindex_of(v.interface);
    if (ifindex == 0) continue;
    for (const auto& [address, prefix] : v.addresses)
      vips.push_back({address, prefix, ifindex, absl::StrCat("of vrrp ", v.name, " on ", v.interface)});
  }
  for (const config::ServiceConfig& s : config.services)
    for (const InterfaceAddress& a : addresses)
      if (a.address == s.service.key.vip && a.prefix_len < a.address.max_prefix_len())
        vips.push_back({a.address, a.prefix_len, a.ifindex,
                        absl::StrCat("of service ", s.name, " on ", netlink::InterfaceName(a.ifindex))});
  const std::set<IpAddress> configured = ConfiguredVips(config);
  std::vector<std::string> out;
  std::set<std::tuple<IpAddress, IpAddress>> said;  // (vip, real): once, however many services
  for (const config::ServiceConfig& s : config.services) {
    for (const model::RealSpec& r : s.reals) {
      for (const Vip& vip : vips) {
        if (vip.address.family() != r.address.family() ||
            vip.address.Masked(vip.prefix_len) != r.address.Masked(vip.prefix_len))
          continue;
        bool own = false;
        for (const InterfaceAddress& a : addresses)
          own |= a.ifindex == vip.ifindex && a.address.family() == r.address.family() &&
                 IsOwnAddress(a, configured);
        if (own || !said.emplace(vip.address, r.address).second) continue;
        out.push_back(absl::StrCat(
            "VIP ", vip.address.ToString(), "/", vip.prefix_len, " ", vip.what,
            " is inside the subnet of real ", r.address.ToString(), " of service ", s.name,
            ", and that interface has no ", r.address.is_v4() ? "IPv4" : "IPv6",
            " address that is not a VIP: the director's own traffic to the real (health "
            "checks, neighbour discovery) has no source but a VIP; add an address of its own "
            "there"));
      }
    }
  }
  return out;
}

}  // namespace xlb::vrrp
