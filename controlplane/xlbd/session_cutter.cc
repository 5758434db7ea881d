#include "controlplane/xlbd/session_cutter.h"

#include <pthread.h>

#include <chrono>
#include <utility>

#include "dataplane/conntrack.h"
#include "glog/logging.h"

namespace xlb::xlbd {

SessionCutter::SessionCutter(const dataplane::Maps& maps)
    : maps_(maps), thread_([this](std::stop_token stop) { Run(stop); }) {
  // Its own name in ps and top, apart from the main loop's.
  pthread_setname_np(thread_.native_handle(), "xlbd-cutter");
}

SessionCutter::~SessionCutter() {
  thread_.request_stop();  // wakes the wait, ends FlushReal between batches
  thread_.join();
  if (!queue_.empty())
    LOG(WARNING) << queue_.size() << " queued connection cuts dropped (xlbd stops); a restarted "
                 << "xlbd cuts them for reals still down";
}

void SessionCutter::Cut(std::string what, uint32_t id, uint32_t gen) {
  {
    std::lock_guard lock(mu_);
    for (const Job& j : queue_)
      if (j.id == id && j.gen == gen) return;  // queued already
    queue_.push_back({std::move(what), id, gen});
  }
  wake_.notify_one();
}

void SessionCutter::Run(std::stop_token stop) {
  while (true) {
    Job job;
    {
      std::unique_lock lock(mu_);
      if (!wake_.wait(lock, stop, [this] { return !queue_.empty(); })) return;  // stopping
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto cut = dataplane::FlushReal(maps_, job.id, job.gen, stop);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - t0).count();
    if (!cut.ok())
      LOG(ERROR) << "real " << job.what << " is down, its connections could not be cut "
                 << "(on_down: shutdown): " << cut.status()
                 << "; they go on until they end, or xlbctl real flush";
    else
      LOG(INFO) << "real " << job.what << " is down: " << cut->connections
                << " connections cut (on_down: shutdown; " << cut->nat_replies << " NAT reply and "
                << cut->persistence << " persistence entries removed) in " << ms << " ms";
  }
}

}  // namespace xlb::xlbd
