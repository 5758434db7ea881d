// Listing the connection table, like `ipvsadm -Lnc`.
#ifndef XLB_DATAPLANE_CONNTRACK_H_
#define XLB_DATAPLANE_CONNTRACK_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/address.h"
#include "dataplane/maps.h"
#include "dataplane/service.h"
#include "dataplane/stats.h"

namespace xlb::dataplane {

struct Connection {
  Protocol protocol = Protocol::kTcp;
  IpAddress client, vip;
  uint16_t client_port = 0, vip_port = 0;
  uint32_t real_id = 0;
  std::optional<IpAddress> real;  // unset when the id went to another real
  uint16_t real_port = 0;
  bool closing = false;  // FIN or RST seen
  bool nat = false;      // a NAT flow (else direct routing)
  double idle_s = 0;     // since the entry was last refreshed (~0.25 s steps)
};

// Up to `limit` entries of the connection table, in table order.
absl::StatusOr<std::vector<Connection>> ListConnections(const Maps& maps, size_t limit);

// Entries in the connection table and the NAT reply table (both halves of
// NAT flows count, as when they shared one table).
absl::StatusOr<size_t> CountConnections(const Maps& maps);

// One of the program's flow tables (LRU hashes), for status and metrics.
struct TableStats {
  std::string name;          // "connections", "nat_replies", "persistence" (config keys)
  uint32_t capacity = 0;     // the map's max_entries
  size_t entries = 0;        // entries now (counted in batches)
  // bpf_map_update_elem failures (the kernel could not get an element).
  uint64_t insert_failures = 0;
  // Entries a new flow did not make past the flood rate (bpf/flood.h).
  uint64_t unrecorded = 0;
};

// The connection, NAT reply and persistence tables, with the counters of
// `counters` (ReadGlobalCounters) that belong to each. How many entries the
// LRU evicted is not known: the kernel counts none (see README).
absl::StatusOr<std::vector<TableStats>> ReadTableStats(const Maps& maps,
                                                       const GlobalCounters& counters);

}  // namespace xlb::dataplane

#endif  // XLB_DATAPLANE_CONNTRACK_H_
