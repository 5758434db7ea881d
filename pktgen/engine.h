// What both engines share: the bounds of a run (it always stops), its
// result, and the pacing of a set rate.
#ifndef XLB_PKTGEN_ENGINE_H_
#define XLB_PKTGEN_ENGINE_H_

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace xlb::pktgen {

inline constexpr uint64_t kMaxCount = 10'000'000'000;  // an hour at ~3 Mpps
inline constexpr double kMaxDurationS = 3600;

// A run ends at whichever bound comes first, or on SIGINT/SIGTERM.
struct SendBounds {
  uint64_t count = 1'000'000;
  double duration_s = 10;
  uint64_t rate_pps = 0;  // 0: as fast as the engine goes
};

// Errors name the flag: --count 1..1e10, --duration (0, 3600].
absl::Status ValidateBounds(const SendBounds& b);

struct SendResult {
  uint64_t sent = 0;       // frames the engine handed to the interface
  double seconds = 0;      // from the first frame to the end of the run
  bool interrupted = false;  // by SIGINT/SIGTERM
  double pps() const { return seconds > 0 ? sent / seconds : 0; }
};

// How many frames a run at `rate_pps` may have sent `elapsed_s` after its
// start: the pacing of both engines (they differ in their clocks).
inline uint64_t PacedAllowance(uint64_t rate_pps, double elapsed_s) {
  return static_cast<uint64_t>(std::max(0.0, elapsed_s) * static_cast<double>(rate_pps)) + 1;
}

}  // namespace xlb::pktgen

#endif  // XLB_PKTGEN_ENGINE_H_
