#include "dataplane/stats.h"

namespace xlb::dataplane {

absl::string_view GlobalStatName(int stat) {
  // A switch, so that a counter added to the ABI without a name warns.
  switch (static_cast<xlb_global_stat>(stat)) {
    case XLB_STAT_PASSED: return "passed";
    case XLB_STAT_DROPPED: return "dropped";
    case XLB_STAT_MALFORMED: return "malformed";
    case XLB_STAT_FRAGMENTS: return "fragments";
    case XLB_STAT_NO_ROUTE: return "no_route";
    case XLB_STAT_CONN_HIT: return "conn_hit";
    case XLB_STAT_CONN_MISS: return "conn_miss";
    case XLB_STAT_TX: return "tx";
    case XLB_STAT_REDIRECT: return "redirect";
    case XLB_STAT_ICMP_FORWARDED: return "icmp_forwarded";
    case XLB_STAT_NO_REAL: return "no_real";
    case XLB_STAT_NAT_REPLY: return "nat_reply";
    case XLB_STAT_NAT_UNMATCHED: return "nat_unmatched";
    case XLB_STAT_NOT_OURS: return "not_ours";
    case XLB_STAT_FLOW_UNRECORDED: return "flow_unrecorded";
    case XLB_STAT_NAT_FLOOD_DROPPED: return "nat_flood_dropped";
    case XLB_STAT_PERSIST_UNRECORDED: return "persist_unrecorded";
    case XLB_STAT_CONN_INSERT_FAILED: return "conn_insert_failed";
    case XLB_STAT_NAT_REPLY_INSERT_FAILED: return "nat_reply_insert_failed";
    case XLB_STAT_PERSIST_INSERT_FAILED: return "persist_insert_failed";
    case XLB_STAT_NAT_REPLY_RESTORED: return "nat_reply_restored";
    case XLB_STAT_VRRP_DROPPED: return "vrrp_dropped";
    case XLB_STAT_TUN_TOO_BIG: return "tunnel_too_big";
    case XLB_STAT_TUN_TOO_BIG_LIMITED: return "tunnel_too_big_limited";
    case XLB_STAT_TUN_TOO_BIG_DROPPED: return "tunnel_too_big_dropped";
    case XLB_STAT_TUN_MSS_CLAMPED: return "tunnel_mss_clamped";
    case XLB_STAT_TUN_ENCAP_FAILED: return "tunnel_encap_failed";
    case XLB_STAT_SYNC_EVENTS: return "sync_events";
    case XLB_STAT_SYNC_RING_FULL: return "sync_ring_full";
    case XLB_STAT__COUNT: break;
  }
  return "unknown";
}

absl::StatusOr<GlobalCounters> ReadGlobalCounters(const Maps& maps) {
  GlobalCounters out{};
  for (uint32_t i = 0; i < XLB_STAT__COUNT; ++i) {
    auto v = maps.global_stats.Sum(i);
    if (!v.ok()) return v.status();
    out[i] = *v;
  }
  return out;
}

std::vector<model::ReasonCounter> NamedCounters(const GlobalCounters& counters) {
  std::vector<model::ReasonCounter> out;
  for (int i = 0; i < XLB_STAT__COUNT; ++i)
    out.push_back({std::string(GlobalStatName(i)), counters[i]});
  return out;
}

namespace {

absl::StatusOr<model::TrafficCounters> ToModel(absl::StatusOr<xlb_counters> c) {
  if (!c.ok()) return c.status();
  return model::TrafficCounters{c->packets, c->bytes, c->new_flows};
}

}  // namespace

absl::StatusOr<model::TrafficCounters> ReadServiceCounters(const Maps& maps, uint32_t service_id) {
  return ToModel(maps.service_stats.Sum(service_id));
}

absl::StatusOr<model::TrafficCounters> ReadRealCounters(const Maps& maps, uint32_t real_id) {
  return ToModel(maps.real_stats.Sum(real_id));
}

}  // namespace xlb::dataplane
