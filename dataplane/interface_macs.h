// The MACs of the interfaces xlb is attached to, in the program's iface_macs
// slots (bpf/xlb_abi.h, struct xlb_iface): the program forwards only unicast
// frames for the MAC of the interface they came in on.
#ifndef XLB_DATAPLANE_INTERFACE_MACS_H_
#define XLB_DATAPLANE_INTERFACE_MACS_H_

#include <array>
#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dataplane/maps.h"

namespace xlb::dataplane {

using MacAddress = std::array<uint8_t, 6>;

// Records (or replaces) the MAC of interface `ifindex`; an error when all
// XLB_MAX_IFACES slots hold other interfaces.
absl::Status RecordInterfaceMac(const Maps& maps, uint32_t ifindex, const MacAddress& mac);

// Removes interface `ifindex`; nothing recorded for it is no error.
absl::Status ForgetInterfaceMac(const Maps& maps, uint32_t ifindex);

// The MAC recorded for `ifindex`, nullopt when there is none.
absl::StatusOr<std::optional<MacAddress>> RecordedInterfaceMac(const Maps& maps,
                                                               uint32_t ifindex);

}  // namespace xlb::dataplane

#endif  // XLB_DATAPLANE_INTERFACE_MACS_H_
