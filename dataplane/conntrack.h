// Listing the connection table, like `ipvsadm -Lnc`.
#ifndef XLB_DATAPLANE_CONNTRACK_H_
#define XLB_DATAPLANE_CONNTRACK_H_

#include <cstdint>
#include <optional>
#include <stop_token>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/maps.h"
#include "dataplane/stats.h"
#include "model/address.h"
#include "model/service.h"
#include "model/traffic.h"

namespace xlb::dataplane {

// Now on the data path's clock (bpf_ktime_get_coarse_ns: CLOCK_MONOTONIC_COARSE),
// the clock of every last_seen_ns in the connection tables.
uint64_t CoarseNowNs();

// Up to `limit` entries of the connection table (of `service`'s VIP,
// protocol and port when given), in table order, and how many matched in
// all: the walk goes on past the limit to count them.
absl::StatusOr<model::ConnectionListing> ListConnections(
    const Maps& maps, size_t limit, const std::optional<model::ServiceKey>& service);
// Up to `limit` entries of the whole table.
absl::StatusOr<std::vector<model::Connection>> ListConnections(const Maps& maps, size_t limit);

// What a connection-table entry counts as (model::ConnectionCounts says how
// ipvsadm counts): `now_ns` on bpf_ktime_get_coarse_ns()'s clock.
enum class ConnActivity { kActive, kInactive, kExpired };
ConnActivity ClassifyConnection(uint8_t protocol, const xlb_conn& conn, uint64_t now_ns);

// Active and inactive connections by real id, from one batched walk of the
// connection table (its capacity bounds it; README gives the time for a
// full table). Only entries the packet path would still use count: not
// expired, their service and real ids still held by the service and real
// they were made for. A real id with no such entry is absent.
absl::StatusOr<std::unordered_map<uint32_t, model::ConnectionCounts>> CountConnectionsByReal(
    const Maps& maps);

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
// `counters` (ReadGlobalCounters) that belong to each, then the services,
// VIPs and NAT reals hash maps (no such counters: the control plane fills
// them and checks their room first). How many entries the
// LRU evicted is not known: the kernel counts none (see README).
absl::StatusOr<std::vector<model::TableStats>> ReadTableStats(
    const Maps& maps, const GlobalCounters& counters);

}  // namespace xlb::dataplane

#endif  // XLB_DATAPLANE_CONNTRACK_H_
