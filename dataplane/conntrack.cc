#include "dataplane/conntrack.h"

#include <arpa/inet.h>
#include <time.h>

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

// Entries of one hash map, by walking its keys.
static absl::StatusOr<size_t> CountKeys(const MapFd& map) {
  xlb_flow_key key, next;
  size_t n = 0;
  for (bool first = true;; first = false) {
    auto more = map.NextKey(first ? nullptr : &key, &next);
    if (!more.ok()) return more.status();
    if (!*more) return n;
    key = next;
    ++n;
  }
}

absl::StatusOr<size_t> CountConnections(const Maps& maps) {
  auto flows = CountKeys(maps.conn_table);
  if (!flows.ok()) return flows.status();
  auto replies = CountKeys(maps.nat_replies);
  if (!replies.ok()) return replies.status();
  return *flows + *replies;
}

}  // namespace xlb::dataplane
