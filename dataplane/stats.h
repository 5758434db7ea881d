// Reading the program's per-CPU counters, summed over CPUs.
#ifndef XLB_DATAPLANE_STATS_H_
#define XLB_DATAPLANE_STATS_H_

#include <array>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "dataplane/maps.h"
#include "model/traffic.h"

namespace xlb::dataplane {

using GlobalCounters = std::array<uint64_t, XLB_STAT__COUNT>;

// Name of a global counter ("passed", "malformed", ...).
absl::string_view GlobalStatName(int stat);

absl::StatusOr<GlobalCounters> ReadGlobalCounters(const Maps& maps);
// The same, each with its name, for the API and the metrics.
std::vector<model::ReasonCounter> NamedCounters(const GlobalCounters& counters);
absl::StatusOr<model::TrafficCounters> ReadServiceCounters(const Maps& maps, uint32_t service_id);
absl::StatusOr<model::TrafficCounters> ReadRealCounters(const Maps& maps, uint32_t real_id);

}  // namespace xlb::dataplane

#endif  // XLB_DATAPLANE_STATS_H_
