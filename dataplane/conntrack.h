// Listing the connection table, like `ipvsadm -Lnc`.
#ifndef XLB_DATAPLANE_CONNTRACK_H_
#define XLB_DATAPLANE_CONNTRACK_H_

#include <optional>
#include <stop_token>
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

// Removes the entries of the connection, NAT reply and persistence tables
// that send to real `real_id` while it is generation `real_gen` (HAProxy's
// shutdown-sessions): each client's next packet is placed as a new flow's
// (Maglev), so when the real takes no new flows it reaches another real,
// which has no socket for it and resets it, and the client reconnects at
// once instead of hanging. Walks each table once in batches; entries made
// meanwhile for other reals are untouched. Cut short, it leaves the rest as
// they were. A full default connection table (262144 entries) took 0.2 s to
// walk and 0.6 s to walk and empty here. `stop` ends it between batches
// (Cancelled; what was deleted stays deleted).
absl::StatusOr<model::FlushedEntries> FlushReal(const Maps& maps, uint32_t real_id,
                                                uint32_t real_gen, std::stop_token stop = {});

// The connection, NAT reply and persistence tables, with the counters of
// `counters` (ReadGlobalCounters) that belong to each. How many entries the
// LRU evicted is not known: the kernel counts none (see README).
absl::StatusOr<std::vector<model::TableStats>> ReadTableStats(
    const Maps& maps, const GlobalCounters& counters);

}  // namespace xlb::dataplane

#endif  // XLB_DATAPLANE_CONNTRACK_H_
