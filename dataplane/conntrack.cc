#include "dataplane/conntrack.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <time.h>

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace xlb::dataplane {

// Kernel's htab element header (48 bytes) + key + value = two cache lines.
static_assert(sizeof(xlb_flow_key) + sizeof(xlb_conn) == 80,
              "a connection-table element should stay two cache lines (bpf/xlb_abi.h)");

absl::StatusOr<std::vector<Connection>> ListConnections(const Maps& maps, size_t limit) {
  std::vector<Connection> out;
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);  // bpf_ktime_get_coarse_ns()
  const uint64_t now = ts.tv_sec * 1000000000ull + ts.tv_nsec;
  xlb_flow_key key, next;
  bool first = true;
  while (out.size() < limit) {
    auto more = maps.conn_table.NextKey(first ? nullptr : &key, &next);
    if (!more.ok()) return more.status();
    if (!*more) break;
    first = false;
    key = next;
    xlb_conn conn;
    auto found = maps.conn_table.Lookup(&key, &conn);
    if (!found.ok()) return found.status();
    if (!*found) continue;  // evicted meanwhile
    Connection c;
    const auto family = static_cast<Family>(key.family);
    c.protocol = static_cast<Protocol>(key.proto);
    c.client = IpAddress::FromWords(family, key.src);
    c.vip = IpAddress::FromWords(family, key.dst);
    c.client_port = ntohs(key.sport);
    c.vip_port = ntohs(key.dport);
    c.real_id = conn.real_id;
    c.closing = conn.flags & XLB_CONN_F_CLOSING;
    c.nat = conn.flags & XLB_CONN_F_NAT;
    c.idle_s = now > conn.last_seen_ns ? (now - conn.last_seen_ns) / 1e9 : 0;
    xlb_real real;
    auto has_real = maps.reals.Lookup(&conn.real_id, &real);
    if (!has_real.ok()) return has_real.status();
    if (*has_real && real.gen == conn.real_gen) {
      c.real = IpAddress::FromWords(static_cast<Family>(real.family), real.addr);
      c.real_port = ntohs(real.port);
    }
    out.push_back(c);
  }
  return out;
}

// Entries of one hash map, read in batches of keys and values (one system
// call per few thousand entries: walking the keys one at a time takes half a
// second on a full table, and `xlbctl status` and every metrics scrape ask).
template <typename Value>
static absl::StatusOr<size_t> CountEntries(const MapFd& map) {
  constexpr uint32_t kBatch = 4096;
  std::vector<xlb_flow_key> keys(kBatch);
  std::vector<Value> values(kBatch);
  uint32_t token = 0;  // a hash map's batch position: a bucket index
  size_t n = 0;
  for (bool first = true;; first = false) {
    uint32_t count = kBatch;
    int rc = bpf_map_lookup_batch(map.fd(), first ? nullptr : &token, &token, keys.data(),
                                  values.data(), &count, nullptr);
    if (rc != 0 && errno != ENOENT)
      return absl::ErrnoToStatus(errno, absl::StrCat("read map ", map.name(), " in batches"));
    n += count;
    if (rc != 0) return n;  // ENOENT: that was the last batch
  }
}
absl::StatusOr<size_t> CountConnections(const Maps& maps) {
  auto flows = CountEntries<xlb_conn>(maps.conn_table);
  if (!flows.ok()) return flows.status();
  auto replies = CountEntries<xlb_nat_reply>(maps.nat_replies);
  if (!replies.ok()) return replies.status();
  return *flows + *replies;
}

}  // namespace xlb::dataplane
