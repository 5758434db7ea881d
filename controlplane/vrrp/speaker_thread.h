// The Speaker on a thread of its own, with an event loop of its own. An
// advert must leave on time whatever else xlbd is doing: a scan of a full
// connection table for `xlbctl status`, a burst of API calls, a reconcile
// writing thousands of Maglev slots. On one loop, any of those delays every
// advert behind it, and a 20 ms advert interval tolerates ~60 ms of that
// before the backups take over (keepalived runs VRRP in a process apart from
// its checkers for the same reason).
//
// Every call is carried out on the VRRP thread; Configure, Shutdown and
// Status wait for it, SetServices does not. The thread may run with a
// real-time priority (SCHED_RR): then only the kernel's own work (softirq,
// and higher real-time threads) comes before it.
#ifndef XLB_CONTROLPLANE_VRRP_SPEAKER_THREAD_H_
#define XLB_CONTROLPLANE_VRRP_SPEAKER_THREAD_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "asio/executor_work_guard.hpp"
#include "asio/io_context.hpp"
#include "asio/steady_timer.hpp"
#include "controlplane/config/model.h"
#include "controlplane/vrrp/speaker.h"

namespace xlb::vrrp {

class SpeakerThread {
 public:
  // Starts the thread, on the normal scheduler.
  SpeakerThread();
  ~SpeakerThread();  // Shutdown, then the thread ends
  SpeakerThread(const SpeakerThread&) = delete;
  SpeakerThread& operator=(const SpeakerThread&) = delete;

  // SCHED_RR at `priority` (1..99); an error, changing nothing, when the
  // kernel refuses it (no CAP_SYS_NICE, no real-time budget).
  absl::Status SetRealtimePriority(int priority);

  // How long Shutdown waits for the notifies of the stop (notify_stop, and
  // notify with STOP / INIT) and any queued before them.
  static constexpr std::chrono::seconds kStopNotifyWait{5};

  // As Speaker's; Shutdown then waits for the notifies, up to
  // kStopNotifyWait. After the thread has died (an exception, see OnFatal),
  // Configure fails, Status is empty and the rest do nothing: none waits.
  absl::Status Configure(const std::vector<config::VrrpInstance>& instances);
  void SetServices(std::map<std::string, bool> services);
  void Shutdown();
  std::vector<InstanceStatus> Status();

  // The main loop's watchdog: every `period` the VRRP thread asks
  // `last_turn` when xlbd's main loop last turned; longer ago than `timeout`
  // and every instance faults (resigns: priority 0, then silence) until it
  // turns again. A tick that comes late itself (the whole process was
  // stopped, SIGSTOP) judges nothing: both threads were held alike.
  using LastTurn = std::function<std::chrono::steady_clock::time_point()>;
  void WatchMainLoop(LastTurn last_turn, std::chrono::milliseconds timeout,
                     std::chrono::milliseconds period = std::chrono::milliseconds(100));

  // Called (on the VRRP thread) when an exception escaped the VRRP loop,
  // after every instance was made to resign: xlbd must stop, as on SIGTERM.
  void OnFatal(std::function<void()> fatal) { fatal_ = std::move(fatal); }
  // Runs `f` on the VRRP thread (tests inject faults with it).
  void Post(std::function<void()> f);
  bool dead() const { return dead_; }

 private:
  // Runs `f` on the VRRP thread and returns what it returned.
  template <typename F>
  auto Call(F f) -> decltype(f());

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  void Run();
  void CheckMainLoop();

  std::unique_ptr<Speaker> speaker_;  // used on the VRRP thread only
  std::optional<std::chrono::steady_clock::time_point> stop_deadline_;  // Shutdown's thread
  bool stop_warned_ = false;
  std::function<void()> fatal_;
  std::atomic<bool> dead_{false};
  // The watchdog (VRRP thread only).
  LastTurn last_turn_;
  std::chrono::milliseconds watch_timeout_{0}, watch_period_{100};
  std::chrono::steady_clock::time_point last_check_;
  bool stalled_ = false;
  std::unique_ptr<asio::steady_timer> watch_timer_;
  std::thread thread_;
};

}  // namespace xlb::vrrp

#endif  // XLB_CONTROLPLANE_VRRP_SPEAKER_THREAD_H_
