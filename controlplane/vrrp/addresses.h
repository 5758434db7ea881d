// The virtual addresses on an interface (netlink/addresses.h does the
// talking). No policy of when: the VRRP instance decides; these only add,
// remove and list, the way VIPs must be added.
//
// IPv4 addresses carry a label (IFA_LABEL, shown by `ip addr` as the name
// of the address), so ours can be found again after a crash: the kernel
// wants it to start with the interface name and fit IFNAMSIZ-1 (15) bytes,
// e.g. "eth0:vrrp51". IPv6 has no labels (the kernel ignores IFA_LABEL); it
// is added with IFA_F_NODAD so the VIP is usable at once (a backup never
// holds it, so a DAD failure would only delay the failover), and deprecated
// (preferred lifetime 0, valid forever): the kernel still receives on it and
// a socket bound to it still sends from it, but its source address selection
// never picks it for the director's own traffic (a VIP inside the reals'
// subnet would otherwise become the source of health checks and neighbour
// solicitations, and a direct-routing real answers the VIP on its loopback).
// IPv4 has no such flag: see VipPrefixLength. Both families also carry an
// address protocol (IFA_PROTO, kernel 6.2 and later; older kernels ignore
// it): what finds an IPv6 VIP left by a killed xlbd, also when its instance
// is no longer configured.
#ifndef XLB_CONTROLPLANE_VRRP_ADDRESSES_H_
#define XLB_CONTROLPLANE_VRRP_ADDRESSES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/address.h"
#include "netlink/addresses.h"

namespace xlb::vrrp {

// The address protocol of every address AddAddress adds: VRRP's IP protocol
// number, for lack of a registry of these values.
inline constexpr uint8_t kVipAddressProtocol = 112;

// "IFNAME:SUFFIX" cut to 15 bytes (the kernel's limit), or an error if the
// interface name leaves no room for ":" and one character.
absl::StatusOr<std::string> AddressLabel(absl::string_view ifname, absl::string_view suffix);

// Adds (or replaces, so adding twice is fine) the VIP address/prefix on
// ifindex, as described above: of kVipAddressProtocol, IPv6 deprecated and
// without DAD. `label` applies to IPv4 only and must start with the
// interface's name (checked); empty means the kernel's default (the
// interface name).
absl::Status AddAddress(uint32_t ifindex, const model::IpAddress& address, int prefix_len,
                        absl::string_view label);

// Removing and listing need no policy: netlink's, under the names the
// instances have always used.
using netlink::InterfaceAddress;
using netlink::ListAddresses;
using netlink::RemoveAddress;

// The prefix length to add the IPv4 VIP address/prefix_len with on an
// interface holding `on_interface`, so that the kernel never picks it as a
// source address: the kernel's choice (inet_select_addr, and the prefix
// route's preferred source) only considers primary addresses, and a new
// address is secondary when a primary of the same subnet and prefix length
// is already there. So: prefix_len when such a primary exists that is not a
// VIP itself (not kVipAddressProtocol), else 32 (no prefix route; still
// received on and announced). IPv6 addresses: prefix_len unchanged.
int VipPrefixLength(const std::vector<InterfaceAddress>& on_interface,
                    const model::IpAddress& address, int prefix_len);

}  // namespace xlb::vrrp

#endif  // XLB_CONTROLPLANE_VRRP_ADDRESSES_H_
