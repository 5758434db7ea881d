#include "dataplane/stats.h"

namespace xlb::dataplane {

absl::string_view GlobalStatName(int stat) {
  static constexpr absl::string_view kNames[XLB_STAT__COUNT] = {
      "passed",     "dropped",  "malformed", "fragments",      "no_route", "conn_hit",
      "conn_miss",  "tx",       "redirect",  "icmp_forwarded", "no_real"};
  return stat >= 0 && stat < XLB_STAT__COUNT ? kNames[stat] : "unknown";
}

absl::StatusOr<GlobalCounters> ReadGlobalCounters(const Maps& maps) {
  GlobalCounters out{};
  for (uint32_t i = 0; i < XLB_STAT__COUNT; ++i) {
    auto v = maps.SumPerCpu<uint64_t>(maps.global_stats, i);
    if (!v.ok()) return v.status();
    out[i] = *v;
  }
  return out;
}

absl::StatusOr<xlb_counters> ReadServiceCounters(const Maps& maps, uint32_t service_id) {
  return maps.SumPerCpu<xlb_counters>(maps.service_stats, service_id);
}

absl::StatusOr<xlb_counters> ReadRealCounters(const Maps& maps, uint32_t real_id) {
  return maps.SumPerCpu<xlb_counters>(maps.real_stats, real_id);
}

}  // namespace xlb::dataplane
