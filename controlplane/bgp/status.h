// The BGP sessions as FRR reports them (for `xlbctl bgp` and the metrics):
// a pure parser of `show bgp summary json` and `show bfd peers json` (FRR
// 8.4; samples in testdata/, captured by testdata/capture.sh).
#ifndef XLB_CONTROLPLANE_BGP_STATUS_H_
#define XLB_CONTROLPLANE_BGP_STATUS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace xlb::bgp {

struct Session {
  std::string neighbor;  // address
  uint32_t remote_as = 0;
  std::string state;             // "Established", "Active", "Idle", ...
  int64_t uptime_ms = 0;         // in the current state (peerUptimeMsec)
  uint64_t prefixes_sent = 0;    // pfxSnt, summed over the families it is in
  uint64_t prefixes_received = 0;
  uint64_t connections_dropped = 0;
  std::string description;  // "xlbd" for xlbd's neighbours
  std::string bfd;          // BFD peer status ("up", "down", "init", ...); "" if none
};

// Sessions by neighbour address (sorted), one per neighbour even if it is in
// both families. `bfd_json` may be empty (bfdd not asked). An error names
// what in which document is not as FRR writes it.
absl::StatusOr<std::vector<Session>> ParseSessions(const std::string& summary_json,
                                                   const std::string& bfd_json);

}  // namespace xlb::bgp

#endif  // XLB_CONTROLPLANE_BGP_STATUS_H_
