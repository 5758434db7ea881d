// The kernel's neighbour table (ARP, NDP): RTM_GETNEIGH, RTM_NEWNEIGH,
// RTM_DELNEIGH.
#ifndef XLB_NETLINK_NEIGHBOURS_H_
#define XLB_NETLINK_NEIGHBOURS_H_

#include <linux/netlink.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/address.h"
#include "netlink/message.h"

namespace xlb::netlink {

struct Neighbour {
  uint32_t ifindex = 0;
  model::IpAddress address;
  uint16_t state = 0;     // NUD_*
  uint8_t protocol = 0;   // NDA_PROTOCOL: who made it (0: the kernel, or unsaid)
  bool managed = false;   // NTF_EXT_MANAGED: the kernel keeps it resolved
  MacAddress mac{};       // all zero while unresolved

  // Resolved: a MAC and a state in which the kernel would send to it.
  bool usable() const;
  bool operator==(const Neighbour&) const = default;
};

// The entry for `address` on `ifindex`; nullopt when there is none.
absl::StatusOr<std::optional<Neighbour>> GetNeighbour(uint32_t ifindex,
                                                      const model::IpAddress& address);

// Has the kernel resolve `address` on `ifindex` as a packet toward it would
// (NTF_USE). Never on a managed entry: it would lose NTF_EXT_MANAGED.
absl::Status StartResolution(uint32_t ifindex, const model::IpAddress& address);

// Every IPv4 and IPv6 entry on every interface.
absl::StatusOr<std::vector<Neighbour>> ListNeighbours();

// Makes (or replaces) the entry for `address` on `ifindex` a managed one
// (NTF_EXT_MANAGED, kernel 5.16+: the kernel resolves it and keeps it
// REACHABLE by probing) of `protocol`.
absl::Status AddManagedNeighbour(uint32_t ifindex, const model::IpAddress& address,
                                 uint8_t protocol);

// Removes the entry for `address` on `ifindex`; one that is not there is not
// an error.
absl::Status RemoveNeighbour(uint32_t ifindex, const model::IpAddress& address);

// The entry in one RTM_NEWNEIGH message; nullopt without an IPv4 or IPv6
// destination.
std::optional<Neighbour> ParseNeighbour(const nlmsghdr* nlh);

}  // namespace xlb::netlink

#endif  // XLB_NETLINK_NEIGHBOURS_H_
