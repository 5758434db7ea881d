#include "controlplane/vrrp/speaker_thread.h"

#include <pthread.h>
#include <sched.h>

#include <future>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "asio/post.hpp"
#include "glog/logging.h"

namespace xlb::vrrp {

SpeakerThread::SpeakerThread()
    : work_(asio::make_work_guard(io_)),
      speaker_(std::make_unique<Speaker>(io_)),
      thread_([this] { Run(); }) {
  pthread_setname_np(thread_.native_handle(), "xlbd-vrrp");
}

void SpeakerThread::Run() {
  std::string what;
  try {
    io_.run();
    return;
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "an exception of unknown type";
  }
  LOG(ERROR) << "exception escaped the VRRP thread: " << what
             << "; every instance resigns and xlbd stops as on SIGTERM";
  dead_ = true;
  try {
    speaker_->Shutdown();  // masters send priority 0 and release their VIPs
  } catch (...) {
    LOG(ERROR) << "the VRRP instances could not all resign";
  }
  if (fatal_) fatal_();
}

void SpeakerThread::Post(std::function<void()> f) { asio::post(io_, std::move(f)); }

void SpeakerThread::WatchMainLoop(LastTurn last_turn, std::chrono::milliseconds timeout,
                                  std::chrono::milliseconds period) {
  asio::post(io_, [this, last_turn = std::move(last_turn), timeout, period]() mutable {
    last_turn_ = std::move(last_turn);
    watch_timeout_ = timeout;
    watch_period_ = period;
    last_check_ = std::chrono::steady_clock::now();
    watch_timer_ = std::make_unique<asio::steady_timer>(io_);
    CheckMainLoop();
  });
}

void SpeakerThread::CheckMainLoop() {
  const auto now = std::chrono::steady_clock::now();
  const bool self_late = now - last_check_ > 4 * watch_period_;
  last_check_ = now;
  if (!self_late) {
    const auto age = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_turn_());
    const bool stalled = age > watch_timeout_;
    if (stalled != stalled_) {
      stalled_ = stalled;
      if (stalled)
        LOG(ERROR) << "xlbd's main loop has not turned for " << age.count() << " ms (watchdog "
                   << watch_timeout_.count()
                   << " ms): every VRRP instance resigns until it turns again";
      else
        LOG(WARNING) << "xlbd's main loop turns again: VRRP instances leave Fault";
      speaker_->SetMainLoopStalled(stalled);
    }
  }
  watch_timer_->expires_after(watch_period_);
  watch_timer_->async_wait([this](std::error_code ec) {
    if (!ec) CheckMainLoop();
  });
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
  using Result = decltype(f());
  auto task = std::make_shared<std::packaged_task<Result()>>(std::move(f));
  auto result = task->get_future();
  if (!dead_) asio::post(io_, [task] { (*task)(); });
  // A thread that died never runs it: do not wait for it then.
  while (result.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    if (!dead_) continue;
    if constexpr (std::is_void_v<Result>)
      return;
    else if constexpr (std::is_same_v<Result, absl::Status>)
      return absl::UnavailableError("the VRRP thread has stopped after an exception");
    else
      return Result{};
  }
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
  if (!thread_.joinable() || io_.stopped() || dead_) return;
  Call([this] { speaker_->Shutdown(); });
  // The stop notifies (and any still queued before them) run on the VRRP
  // loop; wait for them, but never longer than kStopNotifyWait from the
  // first Shutdown (the destructor calls it again).
  if (!stop_deadline_) stop_deadline_ = std::chrono::steady_clock::now() + kStopNotifyWait;
  const auto deadline = *stop_deadline_;
  int unfinished = Call([this] { return speaker_->NotifiesUnfinished(); });
  while (unfinished > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    unfinished = Call([this] { return speaker_->NotifiesUnfinished(); });
  }
  if (unfinished > 0 && !stop_warned_) {
    stop_warned_ = true;
    LOG(WARNING) << unfinished << " VRRP notify command(s) not finished "
                 << std::chrono::duration_cast<std::chrono::seconds>(kStopNotifyWait).count()
                 << " s after the instances stopped: xlbd stops without them (a running one "
                    "goes on, a queued one never starts)";
  }
}

std::vector<InstanceStatus> SpeakerThread::Status() {
  return Call([this] { return speaker_->Status(); });
}

}  // namespace xlb::vrrp
