// Keeping VIPs out of the director's own traffic. The kernel picks a source
// address for every connection the director opens itself (health checks,
// neighbour solicitations); a VIP inside the reals' subnet can be that
// source, and a direct-routing real, which has the VIP on its loopback,
// answers it to itself. VIPs that xlbd adds are never picked (addresses.h);
// health checks also bind an address of the director's own (ChooseSource),
// so a VIP added by hand cannot capture them; and VipSourceWarnings says
// where no such address exists.
#ifndef XLB_CONTROLPLANE_VRRP_VIP_SOURCE_H_
#define XLB_CONTROLPLANE_VRRP_VIP_SOURCE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "controlplane/config/model.h"
#include "controlplane/vrrp/addresses.h"
#include "model/address.h"

namespace xlb::vrrp {

// Every address `config` uses as a VIP: the VRRP instances' addresses and
// the services' VIPs.
std::set<model::IpAddress> ConfiguredVips(const config::Config& config);

// Whether `a` is an address of the director's own that its traffic may leave
// from: global scope, not a VIP (neither added by xlbd, kVipAddressProtocol,
// nor in `vips`), and for IPv6 neither deprecated, tentative nor failed DAD.
bool IsOwnAddress(const InterfaceAddress& a, const std::set<model::IpAddress>& vips);

// The address the director's own connections toward a real should leave
// from: an own address (IsOwnAddress) of `family` on interface `ifindex`
// (0: on any), one whose subnet holds `next_hop` (the gateway toward the
// real, or the real itself) first. nullopt when there is none.
std::optional<model::IpAddress> ChooseSource(const std::vector<InterfaceAddress>& addresses,
                                                 uint32_t ifindex,
                                                 const model::IpAddress& next_hop,
                                                 const std::set<model::IpAddress>& vips);

// One message per real of `config` inside the subnet of a VIP (a VRRP
// address with its prefix, or a service VIP present in `addresses` with the
// prefix it has there) when the VIP's interface has no own address
// (IsOwnAddress) of the real's family: the director's own traffic to that
// real would have no source but the VIP. `ifindex_of` maps interface names
// to indexes (0: none such; the instance is then skipped).
std::vector<std::string> VipSourceWarnings(
    const config::Config& config, const std::vector<InterfaceAddress>& addresses,
    const std::function<uint32_t(const std::string&)>& ifindex_of);

}  // namespace xlb::vrrp

#endif  // XLB_CONTROLPLANE_VRRP_VIP_SOURCE_H_
