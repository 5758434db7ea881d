#include "controlplane/vrrp/speaker_thread.h"

#include <pthread.h>
#include <sched.h>

#include <future>

#include "absl/strings/str_cat.h"
#include "asio/post.hpp"
#include "glog/logging.h"

namespace xlb::vrrp {

SpeakerThread::SpeakerThread()
    : work_(asio::make_work_guard(io_)),
      speaker_(std::make_unique<Speaker>(io_)),
      thread_([this] { io_.run(); }) {
  pthread_setname_np(thread_.native_handle(), "xlbd-vrrp");
}

absl::Status SpeakerThread::SetRealtimePriority(int priority) {
  // The kernel's real-time throttling (sched_rt_runtime_us) keeps a runaway
  // thread from taking a whole CPU; this one sleeps on its loop.
  sched_param param{};
  param.sched_priority = priority;
  if (int err = pthread_setschedparam(thread_.native_handle(), SCHED_RR, &param); err != 0)
    return absl::ErrnoToStatus(err, absl::StrCat("real-time priority ", priority,
                                                 " for the VRRP thread: pthread_setschedparam"
                                                 "(SCHED_RR)"));
  return absl::OkStatus();
}

SpeakerThread::~SpeakerThread() {
  Shutdown();
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
  speaker_.reset();  // its timers and sockets belong to io_, stopped now
}

template <typename F>
auto SpeakerThread::Call(F f) -> decltype(f()) {
  std::packaged_task<decltype(f())()> task(std::move(f));
  auto result = task.get_future();
  asio::post(io_, [&task] { task(); });
  return result.get();
}

absl::Status SpeakerThread::Configure(const std::vector<config::VrrpInstance>& instances) {
  return Call([&] { return speaker_->Configure(instances); });
}

void SpeakerThread::SetServices(std::map<std::string, bool> services) {
  asio::post(io_, [this, services = std::move(services)]() mutable {
    speaker_->SetServices(std::move(services));
  });
}

void SpeakerThread::Shutdown() {
  if (thread_.joinable() && !io_.stopped()) Call([this] { speaker_->Shutdown(); });
}

std::vector<InstanceStatus> SpeakerThread::Status() {
  return Call([this] { return speaker_->Status(); });
}

}  // namespace xlb::vrrp
