// What XDP program an interface has, and removing it: what every loader
// does before attaching and when detaching (xlb's, dataplane/program.cc, and
// xlb-decap's, decap/decap.cc).
#ifndef XLB_DATAPLANE_XDP_QUERY_H_
#define XLB_DATAPLANE_XDP_QUERY_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace xlb::dataplane {

// The index of interface `ifname`; NotFound naming it when there is none.
absl::StatusOr<unsigned> IfIndex(const std::string& ifname);

// The name of program `id`, or "" if it is gone.
std::string ProgName(uint32_t id);

// The XDP program attached to an interface (id 0: none).
struct Attached {
  uint32_t id = 0;
  uint32_t mode_flag = 0;  // XDP_FLAGS_DRV_MODE or XDP_FLAGS_SKB_MODE
};

absl::StatusOr<Attached> QueryAttached(unsigned ifindex, const std::string& ifname);

// Detaches `current`, the program QueryAttached found on the interface,
// only if it is still the one there (XDP_FLAGS_REPLACE).
absl::Status DetachAttached(unsigned ifindex, const std::string& ifname, const Attached& current);

// "generic" for XDP_FLAGS_SKB_MODE, else "native".
const char* ModeName(uint32_t mode_flag);

}  // namespace xlb::dataplane

#endif  // XLB_DATAPLANE_XDP_QUERY_H_
