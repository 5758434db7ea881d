// The addresses of interfaces: RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR.
#ifndef XLB_NETLINK_ADDRESSES_H_
#define XLB_NETLINK_ADDRESSES_H_

#include <linux/netlink.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/address.h"

namespace xlb::netlink {

struct InterfaceAddress {
  uint32_t ifindex = 0;
  model::IpAddress address;
  int prefix_len = 0;
  std::string label;   // IPv4 only; empty for IPv6
  uint32_t flags = 0;  // IFA_F_* (IFA_FLAGS when present)
  uint8_t scope = 0;   // RT_SCOPE_*
  uint8_t protocol = 0;  // IFA_PROTO (0 when the kernel sent none)

  bool operator==(const InterfaceAddress&) const = default;
};

struct AddressOptions {
  // IPv4 only: IFA_LABEL, which must start with the interface's name and fit
  // 15 bytes (checked); empty: the kernel's default (the interface name).
  std::string label;
  // IFA_PROTO (kernel 6.2 and later; older kernels ignore it); 0: none.
  uint8_t protocol = 0;
  // IPv6 only: added deprecated (preferred lifetime 0, valid forever), so
  // that source address selection never picks it, and without DAD
  // (IFA_F_NODAD), so that it is usable at once.
  bool deprecated = false;
};

// Adds (or replaces, so adding twice is fine) address/prefix_len on ifindex.
absl::Status AddAddress(uint32_t ifindex, const model::IpAddress& address, int prefix_len,
                        const AddressOptions& options);

// Removes address/prefix_len from ifindex; an address that is not there is
// not an error (so cleanup can run twice). The kernel matches the prefix,
// so a wrong prefix also reads as "not there" (EADDRNOTAVAIL): OK while the
// address stays.
absl::Status RemoveAddress(uint32_t ifindex, const model::IpAddress& address, int prefix_len);

// Every IPv4 and IPv6 address on ifindex, as the kernel reports them.
// ifindex 0: on every interface.
absl::StatusOr<std::vector<InterfaceAddress>> ListAddresses(uint32_t ifindex);

// The address in one RTM_NEWADDR message; nullopt for another family or
// without an address.
std::optional<InterfaceAddress> ParseAddress(const nlmsghdr* nlh);

}  // namespace xlb::netlink

#endif  // XLB_NETLINK_ADDRESSES_H_
