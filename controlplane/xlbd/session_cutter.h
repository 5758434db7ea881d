// on_down: shutdown, off the main loop: removing a down real's flows walks
// whole flow tables (0.6 s for a full default connection table here, minutes
// for the largest a config allows), which must not stop xlbd's loop: health
// checks, the API, and the VRRP thread's watchdog, which resigns every VIP
// when the loop does not turn for main-loop-timeout (3 s by default).
#ifndef XLB_CONTROLPLANE_XLBD_SESSION_CUTTER_H_
#define XLB_CONTROLPLANE_XLBD_SESSION_CUTTER_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "dataplane/maps.h"

namespace xlb::xlbd {

class SessionCutter {
 public:
  // `maps` must outlive the cutter.
  explicit SessionCutter(const dataplane::Maps& maps);
  // Stops a flush under way between two batches (what it removed stays
  // removed, the rest stays as it was) and drops the queued ones.
  ~SessionCutter();

  // Queues the flush of real `id` as generation `gen` (dataplane::FlushReal);
  // `what` names the real in the log line that says how many were cut.
  void Cut(std::string what, uint32_t id, uint32_t gen);

 private:
  struct Job {
    std::string what;
    uint32_t id, gen;
  };
  void Run(std::stop_token stop);

  const dataplane::Maps& maps_;
  std::mutex mu_;
  std::condition_variable_any wake_;
  std::deque<Job> queue_;  // guarded by mu_
  std::jthread thread_;    // last: it starts once the rest exists
};

}  // namespace xlb::xlbd

#endif  // XLB_CONTROLPLANE_XLBD_SESSION_CUTTER_H_
