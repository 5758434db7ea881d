#include "controlplane/health/state.h"

#include <algorithm>
#include <limits>

namespace xlb::health {

HealthState::HealthState(int rise, int fall, bool initially_up)
    : rise_(std::max(rise, 1)), fall_(std::max(fall, 1)), up_(initially_up) {}

bool HealthState::Record(bool success) {
  if (streak_ > 0 && success == last_success_) {
    // Saturate: a real that stays up for decades must not wrap around.
    if (streak_ < std::numeric_limits<int>::max()) ++streak_;
  } else {
    last_success_ = success;
    streak_ = 1;
  }
  if (up_ && !success && streak_ >= fall_) {
    up_ = false;
    return true;
  }
  if (!up_ && success && streak_ >= rise_) {
    up_ = true;
    return true;
  }
  return false;
}

}  // namespace xlb::health
