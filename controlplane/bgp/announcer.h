// Keeps FRR's bgpd in step with what xlbd wants, off xlbd's event loop
// (docs/bgp-design.md "Announcer"): a worker thread ("xlbd-bgp") with one
// vtysh call in flight at a time. Each reconcile reads `show running-config`,
// plans the differences (plan.h) and sends them in one call; a failed call
// is retried with a bounded backoff after a new read; a periodic pass
// repairs what an operator, `frr-reload` or a restarted bgpd removed.
// Only WithdrawAll blocks its caller (SIGTERM: up to its deadline).
#ifndef XLB_CONTROLPLANE_BGP_ANNOUNCER_H_
#define XLB_CONTROLPLANE_BGP_ANNOUNCER_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "controlplane/bgp/desired.h"
#include "controlplane/bgp/running_config.h"
#include "controlplane/bgp/status.h"
#include "controlplane/bgp/vtysh.h"

namespace xlb::bgp {

struct AnnouncerOptions {
  VtyshOptions vtysh;
  absl::Duration period = absl::Seconds(10);  // the periodic reconcile (repair)
  // After a failed reconcile: retries after retry_initial, doubling up to
  // retry_max, at most max_retries times; then the next periodic pass.
  absl::Duration retry_initial = absl::Milliseconds(500);
  absl::Duration retry_max = absl::Seconds(5);
  int max_retries = 5;
  // Sessions (show bgp summary + show bfd peers) are re-read at most this
  // often when asked (Snapshot), and at least every sessions_period once a
  // desired state is set, and after each change applied: `xlbctl bgp` and
  // the metrics never show sessions older than that.
  absl::Duration sessions_max_age = absl::Seconds(1);
  absl::Duration sessions_period = absl::Seconds(5);
  // bgpd's PID file (BgpdPidFile), read every pid_check: a new PID is a
  // restarted bgpd, which has lost what vtysh added: reconcile at once
  // rather than at the next periodic pass. Empty: not watched.
  std::string bgpd_pid_file;
  absl::Duration pid_check = absl::Seconds(1);
};

// Where bgpd started with `-N pathspace` (or without) writes its PID.
std::string BgpdPidFile(const std::string& pathspace);

struct AnnouncerStatus {
  absl::Time last_reconcile = absl::InfinitePast();  // when the last one ended
  bool last_reconcile_ok = false;
  std::string last_error;  // of the last failure (passwords hidden); "" if none yet
  // The VIPs (addresses) FRR holds a `network` for, as of the last read or
  // successful call: what FRR accepted, not what xlbd wishes.
  std::set<std::string> announced;
  uint64_t announcements = 0;  // per prefix, counted when the call adding it succeeded
  uint64_t withdrawals = 0;    // per prefix, likewise
  uint64_t frr_errors = 0;     // failed or timed-out vtysh calls
  uint64_t reconciles = 0;     // passes (successful or not)
  bool drained = false;
  bool stopping = false;  // after WithdrawAll, until Resume
  std::vector<Session> sessions;
  absl::Time sessions_time = absl::InfinitePast();  // when they were read
  std::string sessions_error;  // "" if the last read worked
};

class Announcer {
 public:
  explicit Announcer(AnnouncerOptions options);
  // Stops the worker; returns once a vtysh call in flight has ended (its
  // deadline bounds it). Changes nothing in FRR.
  ~Announcer();
  Announcer(const Announcer&) = delete;
  Announcer& operator=(const Announcer&) = delete;

  // The state xlbd wants; the worker applies the latest one (a burst of
  // calls costs one reconcile). Does not block. While drained or stopping,
  // `announce` is applied as empty (the neighbours stay).
  void SetDesired(Desired desired);
  // Drain: every network removed, sessions kept; undrain re-announces.
  void SetDrained(bool drained);
  // For SIGTERM: removes every network xlbd owns in one call (the
  // neighbours stay), blocking the caller up to `deadline`. True if FRR
  // confirmed. Then "stopping": nothing is announced until Resume.
  bool WithdrawAll(absl::Duration deadline);
  void Resume();
  // A copy, without waiting for the worker. Asks the worker to re-read the
  // sessions if they are older than sessions_max_age (the next Snapshot has them).
  AnnouncerStatus Snapshot();

 private:
  void Run();
  // One pass: read, plan, apply (under call_mutex_), and its accounting in
  // status_. `deadline` bounds it (InfiniteFuture: each call's own deadline).
  absl::Status ReconcileOnce(const Desired& desired, absl::Time deadline, const char* why);
  void RefreshSessions();
  Desired Effective() const;  // desired_ with announce emptied if drained/stopping

  const AnnouncerOptions options_;
  std::timed_mutex call_mutex_;  // one vtysh call at a time (worker or WithdrawAll)
  std::mutex mu_;
  std::condition_variable cv_;
  // Under mu_:
  bool stop_ = false;
  std::optional<Desired> desired_;
  bool drained_ = false, stopping_ = false;
  uint64_t generation_ = 0;  // bumped by every change of what is wanted
  bool pending_ = false;     // a reconcile is owed (a change, or a failed one to retry)
  int attempts_ = 0;         // failed reconciles in a row
  absl::Time retry_at_ = absl::InfinitePast();
  absl::Time next_periodic_ = absl::InfiniteFuture();
  bool sessions_wanted_ = false;
  absl::Time next_pid_check_ = absl::InfinitePast();
  std::string bgpd_pid_;  // as last read; "" before
  AnnouncerStatus status_;
  std::thread worker_;
};

}  // namespace xlb::bgp

#endif  // XLB_CONTROLPLANE_BGP_ANNOUNCER_H_
