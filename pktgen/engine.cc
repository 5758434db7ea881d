#include "pktgen/engine.h"

#include "absl/strings/str_cat.h"

namespace xlb::pktgen {

absl::Status ValidateBounds(const SendBounds& b) {
  if (b.count < 1 || b.count > kMaxCount)
    return absl::InvalidArgumentError(
        absl::StrCat("--count ", b.count, ": must be 1..", kMaxCount));
  if (!(b.duration_s > 0) || b.duration_s > kMaxDurationS)
    return absl::InvalidArgumentError(
        absl::StrCat("--duration ", b.duration_s, ": must be above 0 and at most ", kMaxDurationS,
                     " seconds"));
  return absl::OkStatus();
}

}  // namespace xlb::pktgen
