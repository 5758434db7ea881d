// Listing the connection table, like `ipvsadm -Lnc`.
#ifndef XLB_DATAPLANE_CONNTRACK_H_
#define XLB_DATAPLANE_CONNTRACK_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/maps.h"
#include "dataplane/stats.h"
#include "model/address.h"
#include "model/service.h"
#include "model/traffic.h"

namespace xlb::dataplane {

// Up to `limit` entries of the connection table, in table order.
absl::StatusOr<std::vector<model::Connection>> ListConnections(const Maps& maps, size_t limit);

// Entries in the connection table and the NAT reply table (both halves of
// NAT flows count, as when they shared one table).
absl::StatusOr<size_t> CountConnections(const Maps& maps);

// The connection, NAT reply and persistence tables, with the counters of
// `counters` (ReadGlobalCounters) that belong to each. How many entries the
// LRU evicted is not known: the kernel counts none (see README).
absl::StatusOr<std::vector<model::TableStats>> ReadTableStats(
    const Maps& maps, const GlobalCounters& counters);

}  // namespace xlb::dataplane

#endif  // XLB_DATAPLANE_CONNTRACK_H_
