#include "dataplane/conntrack.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>  // bpf_obj_get_info_by_fd
#include <time.h>

#include <cerrno>
#include <optional>
#include <unordered_map>

#include "absl/strings/str_cat.h"

namespace xlb::dataplane {

// Kernel's htab element header (48 bytes) + key + value = two cache lines.
static_assert(sizeof(xlb_flow_key) + sizeof(xlb_conn) == 80,
              "a connection-table element should stay two cache lines (bpf/xlb_abi.h)");

absl::StatusOr<std::vector<model::Connection>> ListConnections(const Maps& maps, size_t limit) {
  std::vector<model::Connection> out;
  if (limit == 0) return out;
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);  // bpf_ktime_get_coarse_ns()
  const uint64_t now = ts.tv_sec * 1000000000ull + ts.tv_nsec;
  absl::Status error;
  std::unordered_map<uint32_t, std::optional<xlb_real>> reals;
  auto st = maps.conn_table.ForEachEntry([&](const xlb_flow_key& key, const xlb_conn& conn) {
    model::Connection c;
    const auto family = static_cast<model::Family>(key.family);
    c.protocol = static_cast<model::Protocol>(key.proto);
    c.client = model::IpAddress::FromWords(family, key.src);
    c.vip = model::IpAddress::FromWords(family, key.dst);
    c.client_port = ntohs(key.sport);
    c.vip_port = ntohs(key.dport);
    c.real_id = conn.real_id;
    c.closing = conn.flags & XLB_CONN_F_CLOSING;
    c.nat = conn.flags & XLB_CONN_F_NAT;
    c.idle_s = now > conn.last_seen_ns ? (now - conn.last_seen_ns) / 1e9 : 0;
    // Many entries, few reals: each is read once.
    auto cached = reals.find(conn.real_id);
    if (cached == reals.end()) {
      xlb_real real;
      auto has_real = maps.reals.Lookup(&conn.real_id, &real);
      if (!has_real.ok()) {
        error = has_real.status();
        return false;
      }
      cached = reals.emplace(conn.real_id, *has_real ? std::optional(real) : std::nullopt).first;
    }
    if (const auto& real = cached->second; real && real->gen == conn.real_gen) {
      c.real = model::IpAddress::FromWords(static_cast<model::Family>(real->family), real->addr);
      c.real_port = ntohs(real->port);
    }
    out.push_back(c);
    return out.size() < limit;
  });
  if (!st.ok()) return st;
  if (!error.ok()) return error;
  return out;
}

template <typename Key, typename Value>
static absl::StatusOr<size_t> CountEntries(const Map<Key, Value>& map) {
  size_t n = 0;
  auto st = map.ForEachEntry([&n](const Key&, const Value&) {
    ++n;
    return true;
  });
  if (!st.ok()) return st;
  return n;
}

absl::StatusOr<size_t> CountConnections(const Maps& maps) {
  auto flows = CountEntries(maps.conn_table);
  if (!flows.ok()) return flows.status();
  auto replies = CountEntries(maps.nat_replies);
  if (!replies.ok()) return replies.status();
  return *flows + *replies;
}

// The keys of `map` whose value `matches`, then deleted in batches.
template <typename Key, typename Value, typename Match>
static absl::StatusOr<size_t> DeleteMatching(const Map<Key, Value>& map, Match matches,
                                             const std::stop_token& stop) {
  std::vector<Key> doomed;
  auto st = map.ForEachEntry([&](const Key& key, const Value& value) {
    if (matches(value)) doomed.push_back(key);
    return !stop.stop_requested();
  });
  if (!st.ok()) return st;
  if (stop.stop_requested()) return absl::CancelledError("flush stopped");
  return map.DeleteAll(doomed);
}

absl::StatusOr<model::FlushedEntries> FlushReal(const Maps& maps, uint32_t real_id,
                                                uint32_t real_gen, std::stop_token stop) {
  // A generation is that of one owner of the id: an entry with another was
  // made for an earlier owner and is already ignored by the data path.
  auto of_real = [&](const xlb_conn& c) { return c.real_id == real_id && c.real_gen == real_gen; };
  model::FlushedEntries out;
  auto conns = DeleteMatching(maps.conn_table, of_real, stop);
  if (!conns.ok()) return conns.status();
  out.connections = *conns;
  auto replies = DeleteMatching(maps.nat_replies,
                                [&](const xlb_nat_reply& r) { return of_real(r.conn); }, stop);
  if (!replies.ok()) return replies.status();
  out.nat_replies = *replies;
  auto persist = DeleteMatching(maps.persist_table, [&](const xlb_persist& p) {
    return p.real_id == real_id && p.real_gen == real_gen;
  }, stop);
  if (!persist.ok()) return persist.status();
  out.persistence = *persist;
  return out;
}

absl::StatusOr<std::vector<model::TableStats>> ReadTableStats(const Maps& maps,
                                                       const GlobalCounters& counters) {
  auto capacity = [](const MapFd& map) -> absl::StatusOr<uint32_t> {
    bpf_map_info info = {};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(map.fd(), &info, &len) != 0)
      return absl::ErrnoToStatus(errno, absl::StrCat("inspect map ", map.name()));
    return info.max_entries;
  };
  std::vector<model::TableStats> out(3);
  out[0].name = "connections";
  out[1].name = "nat_replies";
  out[2].name = "persistence";
  absl::StatusOr<size_t> entries[] = {CountEntries(maps.conn_table),
                                      CountEntries(maps.nat_replies),
                                      CountEntries(maps.persist_table)};
  const MapFd* maps_of[] = {&maps.conn_table, &maps.nat_replies, &maps.persist_table};
  for (int i = 0; i < 3; ++i) {
    if (!entries[i].ok()) return entries[i].status();
    auto cap = capacity(*maps_of[i]);
    if (!cap.ok()) return cap.status();
    out[i].entries = *entries[i];
    out[i].capacity = *cap;
  }
  // A NAT flow dropped past the rate made neither of its two entries.
  out[0].insert_failures = counters[XLB_STAT_CONN_INSERT_FAILED];
  out[0].unrecorded = counters[XLB_STAT_FLOW_UNRECORDED] + counters[XLB_STAT_NAT_FLOOD_DROPPED];
  out[1].insert_failures = counters[XLB_STAT_NAT_REPLY_INSERT_FAILED];
  out[1].unrecorded = counters[XLB_STAT_NAT_FLOOD_DROPPED];
  out[2].insert_failures = counters[XLB_STAT_PERSIST_INSERT_FAILED];
  out[2].unrecorded = counters[XLB_STAT_PERSIST_UNRECORDED];
  return out;
}

}  // namespace xlb::dataplane
