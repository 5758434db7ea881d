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

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "asio/executor_work_guard.hpp"
#include "asio/io_context.hpp"
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

  // As Speaker's.
  absl::Status Configure(const std::vector<config::VrrpInstance>& instances);
  void SetServices(std::map<std::string, bool> services);
  void Shutdown();
  std::vector<InstanceStatus> Status();

 private:
  // Runs `f` on the VRRP thread and returns what it returned.
  template <typename F>
  auto Call(F f) -> decltype(f());

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::unique_ptr<Speaker> speaker_;  // used on the VRRP thread only
  std::thread thread_;
};

}  // namespace xlb::vrrp

#endif  // XLB_CONTROLPLANE_VRRP_SPEAKER_THREAD_H_
