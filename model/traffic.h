// What the data plane reports, in the model's terms: traffic counters, the
// flow tables' fill, the connections it tracks. dataplane/ reads them from
// the maps; the API and xlbctl show them without knowing the maps.
#ifndef XLB_MODEL_TRAFFIC_H_
#define XLB_MODEL_TRAFFIC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/address.h"
#include "model/names.h"
#include "model/service.h"

namespace xlb::model {

// Of a service or a real, summed over CPUs.
struct TrafficCounters {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t new_flows = 0;
};

// One of the program's global counters: why packets went where they went
// ("passed", "malformed", "conn_hit", ...), in the program's order.
struct ReasonCounter {
  std::string reason;
  uint64_t count = 0;
};

struct Connection {
  Protocol protocol = Protocol::kTcp;
  IpAddress client, vip;
  uint16_t client_port = 0, vip_port = 0;
  uint32_t real_id = 0;
  std::optional<IpAddress> real;  // unset when the id went to another real
  uint16_t real_port = 0;
  bool closing = false;  // FIN or RST seen
  bool established = false;  // TCP: the client's ACK seen (else half-open)
  bool expired = false;  // idle past its timeout: the packet path no longer uses it
  bool nat = false;      // a NAT flow (else direct routing)
  bool tunnel = false;   // a tunnel flow (encapsulated to its real)
  bool from_peer = false;  // a peer director's copy (sync), no packet of it here yet
  double idle_s = 0;     // since the entry was last refreshed (~0.25 s steps)
};

// What a connection-table entry is, as ipvsadm -Lnc names it: established,
// closing (FIN/RST seen), half-open (TCP SYN only, ipvsadm's SYN_RECV), or
// expired (idle past its timeout, not yet evicted); UDP flows are active
// until they expire.
enum class ConnState { kActive, kClosing, kSynRecv, kExpired };
inline ConnState StateOf(const Connection& c) {
  if (c.expired) return ConnState::kExpired;
  if (c.closing) return ConnState::kClosing;
  if (c.protocol == Protocol::kTcp && !c.established) return ConnState::kSynRecv;
  return ConnState::kActive;
}
template <>
struct EnumNames<ConnState> {
  static constexpr absl::string_view kWhat = "connection state";
  static constexpr std::array<std::pair<ConnState, absl::string_view>, 4> kValues{
      {{ConnState::kActive, "active"},
       {ConnState::kClosing, "closing"},
       {ConnState::kSynRecv, "syn_recv"},
       {ConnState::kExpired, "expired"}}};
};

// Some of the connection table: the entries asked for, and how many matched
// in all (the rest were left out at the limit).
struct ConnectionListing {
  std::vector<Connection> connections;
  uint64_t matched = 0;
};

// A real's connections as ipvsadm -Ln counts them (ActiveConn, InActConn):
// active is an established TCP flow (the client's ACK seen) neither closing
// nor expired; inactive a half-open TCP flow (SYN only), one after FIN or
// RST, and every UDP flow (IPVS counts UDP as inactive too).
// Entries past their timeout are not counted: the packet path treats them
// as gone (IPVS would have removed them), though the LRU has not yet.
struct ConnectionCounts {
  uint64_t active = 0;
  uint64_t inactive = 0;
};

// One of the program's flow tables (LRU hashes), for status and metrics.
struct TableStats {
  // "connections", "nat_replies", "persistence" (the config keys of the flow
  // tables), "services", "vips", "nat_reals"
  std::string name;
  uint32_t capacity = 0;     // the map's max_entries
  size_t entries = 0;        // entries now (counted in batches)
  // bpf_map_update_elem failures (the kernel could not get an element).
  uint64_t insert_failures = 0;
  // Entries a new flow did not make past the flood rate (bpf/flood.h).
  uint64_t unrecorded = 0;
};

// What a flush of a real removed from the flow tables: its flows (the
// client's half, and the reply half of NAT flows) and the persistence
// entries that pointed to it.
struct FlushedEntries {
  uint64_t connections = 0;
  uint64_t nat_replies = 0;
  uint64_t persistence = 0;
};

}  // namespace xlb::model

#endif  // XLB_MODEL_TRAFFIC_H_
