#include "dataplane/conntrack.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>  // bpf_obj_get_info_by_fd
#include <netinet/in.h>
#include <time.h>

#include <cerrno>
#include <optional>
#include <unordered_map>

#include "absl/strings/str_cat.h"

namespace xlb::dataplane {

// Kernel's htab element header (48 bytes) + key + value = two cache lines.
static_assert(sizeof(xlb_flow_key) + sizeof(xlb_conn) == 80,
              "a connection-table element should stay two cache lines (bpf/xlb_abi.h)");

uint64_t CoarseNowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

namespace {

// Map entries read once per walk: many flows, few reals and services.
template <typename V>
class LookupCache {
 public:
  explicit LookupCache(const Map<uint32_t, V>& map) : map_(map) {}
  // The value at `id`, nullptr when absent.
  absl::StatusOr<const V*> Get(uint32_t id) {
    auto cached = values_.find(id);
    if (cached == values_.end()) {
      V value;
      auto found = map_.Lookup(&id, &value);
      if (!found.ok()) return found.status();
      cached = values_.emplace(id, *found ? std::optional(value) : std::nullopt).first;
    }
    return cached->second ? &*cached->second : nullptr;
  }

 private:
  const Map<uint32_t, V>& map_;
  std::unordered_map<uint32_t, std::optional<V>> values_;
};

bool OfService(const xlb_flow_key& key, const model::ServiceKey& service) {
  const auto family = static_cast<model::Family>(key.family);
  return key.proto == static_cast<uint8_t>(service.protocol) &&
         (service.port == 0 || ntohs(key.dport) == service.port) &&
         model::IpAddress::FromWords(family, key.dst) == service.vip;
}

}  // namespace

absl::StatusOr<model::ConnectionListing> ListConnections(
    const Maps& maps, size_t limit, const std::optional<model::ServiceKey>& service) {
  model::ConnectionListing out;
  const uint64_t now = CoarseNowNs();
  absl::Status error;
  LookupCache<xlb_real> reals(maps.reals);
  auto st = maps.conn_table.ForEachEntry([&](const xlb_flow_key& key, const xlb_conn& conn) {
    if (service && !OfService(key, *service)) return true;
    if (out.matched++ >= limit) return true;  // counted, not listed
    model::Connection c;
    const auto family = static_cast<model::Family>(key.family);
    c.protocol = static_cast<model::Protocol>(key.proto);
    c.client = model::IpAddress::FromWords(family, key.src);
    c.vip = model::IpAddress::FromWords(family, key.dst);
    c.client_port = ntohs(key.sport);
    c.vip_port = ntohs(key.dport);
    c.real_id = conn.real_id;
    c.closing = conn.flags & XLB_CONN_F_CLOSING;
    c.established = conn.flags & XLB_CONN_F_ESTABLISHED;
    c.expired = ClassifyConnection(key.proto, conn, now) == ConnActivity::kExpired;
    c.nat = conn.flags & XLB_CONN_F_NAT;
    c.tunnel = conn.flags & XLB_CONN_F_TUNNEL;
    c.from_peer = conn.flags & XLB_CONN_F_SYNCED;
    c.idle_s = now > conn.last_seen_ns ? (now - conn.last_seen_ns) / 1e9 : 0;
    auto real = reals.Get(conn.real_id);
    if (!real.ok()) {
      error = real.status();
      return false;
    }
    if (*real && (*real)->gen == conn.real_gen) {
      c.real = model::IpAddress::FromWords(static_cast<model::Family>((*real)->family),
                                           (*real)->addr);
      c.real_port = ntohs((*real)->port);
    }
    out.connections.push_back(c);
    return true;
  });
  if (!st.ok()) return st;
  if (!error.ok()) return error;
  return out;
}

absl::StatusOr<std::vector<model::Connection>> ListConnections(const Maps& maps, size_t limit) {
  auto listing = ListConnections(maps, limit, std::nullopt);
  if (!listing.ok()) return listing.status();
  return std::move(listing->connections);
}

ConnActivity ClassifyConnection(uint8_t protocol, const xlb_conn& conn, uint64_t now_ns) {
  const bool closing = conn.flags & XLB_CONN_F_CLOSING;
  // As conn_alive (bpf/select.h): idle past the timeout in force is gone.
  const uint64_t timeout_ns =
      uint64_t{closing ? conn.closing_timeout_s : conn.timeout_s} * 1000000000ull;
  if (now_ns > conn.last_seen_ns && now_ns - conn.last_seen_ns > timeout_ns)
    return ConnActivity::kExpired;
  if (protocol != IPPROTO_TCP || closing || !(conn.flags & XLB_CONN_F_ESTABLISHED))
    return ConnActivity::kInactive;
  return ConnActivity::kActive;
}

absl::StatusOr<std::unordered_map<uint32_t, model::ConnectionCounts>> CountConnectionsByReal(
    const Maps& maps) {
  std::unordered_map<uint32_t, model::ConnectionCounts> out;
  const uint64_t now = CoarseNowNs();
  absl::Status error;
  LookupCache<xlb_real> reals(maps.reals);
  LookupCache<uint32_t> service_gens(maps.service_gens);
  auto st = maps.conn_table.ForEachEntry([&](const xlb_flow_key& key, const xlb_conn& conn) {
    const ConnActivity activity = ClassifyConnection(key.proto, conn, now);
    if (activity == ConnActivity::kExpired) return true;
    // The packet path's checks (conn_alive, valid_real): an entry of an
    // earlier holder of the service id or the real id is not this real's.
    auto gen = service_gens.Get(conn.service_id);
    auto real = reals.Get(conn.real_id);
    if (!gen.ok() || !real.ok()) {
      error = gen.ok() ? real.status() : gen.status();
      return false;
    }
    if (!*gen || **gen != conn.service_gen || !*real || (*real)->gen != conn.real_gen ||
        (*real)->service_id != conn.service_id)
      return true;
    model::ConnectionCounts& counts = out[conn.real_id];
    ++(activity == ConnActivity::kActive ? counts.active : counts.inactive);
    return true;
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
  // The flow tables first (their counters below), then the hash maps the
  // config fills, whose capacities are model/capacity.h's.
  std::vector<model::TableStats> out(6);
  const char* names[] = {"connections", "nat_replies", "persistence",
                         "services",    "vips",        "nat_reals"};
  absl::StatusOr<size_t> entries[] = {CountEntries(maps.conn_table),
                                      CountEntries(maps.nat_replies),
                                      CountEntries(maps.persist_table),
                                      CountEntries(maps.services),
                                      CountEntries(maps.vips),
                                      CountEntries(maps.nat_reals)};
  const MapFd* maps_of[] = {&maps.conn_table, &maps.nat_replies, &maps.persist_table,
                            &maps.services,   &maps.vips,        &maps.nat_reals};
  for (size_t i = 0; i < out.size(); ++i) {
    if (!entries[i].ok()) return entries[i].status();
    auto cap = capacity(*maps_of[i]);
    if (!cap.ok()) return cap.status();
    out[i].name = names[i];
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
