#include "controlplane/bgp/announcer.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controlplane/bgp/plan.h"
#include "glog/logging.h"

namespace xlb::bgp {
namespace {

// The `network` prefixes of `running` that are xlbd's: in one of its
// prefix-lists or a desired VIP (as plan.cc decides what it may remove).
std::set<std::string> OwnedNetworks(const RunningConfig& running, const Desired& desired) {
  std::set<std::string> vips;
  for (const std::string& v : desired.vips) {
    absl::StatusOr<std::string> p = HostPrefix(v);
    if (p.ok()) vips.insert(*p);
  }
  std::set<std::string> out;
  for (const auto& [networks, list] : {std::pair{&running.networks4, &running.prefix_list4},
                                       std::pair{&running.networks6, &running.prefix_list6}}) {
    for (const std::string& n : *networks) {
      bool owned = vips.contains(n);
      for (const auto& [seq, e] : *list) owned |= e.prefix == n;
      if (owned) out.insert(n);
    }
  }
  return out;
}

std::set<std::string> Addresses(const std::set<std::string>& prefixes) {
  std::set<std::string> out;
  for (const std::string& p : prefixes) out.insert(p.substr(0, p.find('/')));
  return out;
}

std::chrono::system_clock::time_point Chrono(absl::Time t) { return absl::ToChronoTime(t); }

std::string ReadPid(const std::string& path) {
  std::ifstream in(path);
  std::string pid;
  in >> pid;
  return pid;
}

}  // namespace

std::string BgpdPidFile(const std::string& pathspace) {
  return pathspace.empty() ? "/var/run/frr/bgpd.pid" : "/var/run/frr/" + pathspace + "/bgpd.pid";
}

Announcer::Announcer(AnnouncerOptions options) : options_(std::move(options)) {
  next_periodic_ = absl::Now() + options_.period;
  worker_ = std::thread([this] { Run(); });
}

Announcer::~Announcer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void Announcer::SetDesired(Desired desired) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    desired_ = std::move(desired);
    ++generation_;
    pending_ = true;
  }
  cv_.notify_all();
}

void Announcer::SetDrained(bool drained) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (drained_ == drained) return;
    drained_ = status_.drained = drained;
    ++generation_;
    pending_ = true;
  }
  cv_.notify_all();
}

void Announcer::Resume() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) return;
    stopping_ = status_.stopping = false;
    ++generation_;
    pending_ = true;
  }
  cv_.notify_all();
}

bool Announcer::WithdrawAll(absl::Duration deadline) {
  const absl::Time end = absl::Now() + deadline;
  Desired desired;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = status_.stopping = true;
    ++generation_;
    pending_ = true;  // if this call fails, the worker keeps trying
    if (!desired_) {
      LOG(INFO) << "bgp: withdraw: no desired state yet, nothing announced by this xlbd";
      return true;
    }
    desired = Effective();
  }
  cv_.notify_all();
  const absl::Status s = ReconcileOnce(desired, end, "withdraw all");
  if (!s.ok()) LOG(WARNING) << "bgp: withdraw all: " << Redacted(s.ToString());
  return s.ok();
}

AnnouncerStatus Announcer::Snapshot() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!sessions_wanted_ && absl::Now() - status_.sessions_time >= options_.sessions_max_age) {
    sessions_wanted_ = true;
    cv_.notify_all();
  }
  return status_;
}

Desired Announcer::Effective() const {
  Desired d = *desired_;
  if (drained_ || stopping_) {
    d.announce.clear();
    d.keep.clear();
  }
  return d;
}

absl::Status Announcer::ReconcileOnce(const Desired& desired, absl::Time deadline,
                                      const char* why) {
  std::unique_lock<std::timed_mutex> call(call_mutex_, std::defer_lock);
  if (deadline == absl::InfiniteFuture()) {
    call.lock();
  } else if (!call.try_lock_until(Chrono(deadline))) {
    return absl::DeadlineExceededError(
        absl::StrCat("bgp ", why, ": another vtysh call still running at the deadline"));
  }
  VtyshOptions vtysh = options_.vtysh;
  auto bounded = [&] {
    vtysh.deadline = std::min(options_.vtysh.deadline, deadline - absl::Now());
    return vtysh;
  };
  bool frr_error = false;
  std::set<std::string> before, wanted;
  absl::Status result = [&]() -> absl::Status {
    absl::StatusOr<std::string> text = Show(bounded(), "show running-config");
    if (!text.ok()) {
      frr_error = true;
      return text.status();
    }
    absl::StatusOr<RunningConfig> running = ParseRunningConfig(*text);
    if (!running.ok()) return running.status();
    before = OwnedNetworks(*running, desired);
    {
      std::lock_guard<std::mutex> lock(mu_);
      status_.announced = Addresses(before);
    }
    absl::StatusOr<std::vector<std::string>> commands = Plan(*running, desired);
    if (!commands.ok()) return commands.status();
    if (commands->empty()) {
      wanted = before;
      return absl::OkStatus();
    }
    LOG(INFO) << "bgp " << why << ": " << commands->size() << " commands to FRR: "
              << Redacted(absl::StrJoin(*commands, "; "));
    absl::Status applied = Configure(bounded(), *commands);
    if (!applied.ok()) {
      frr_error = true;
      return applied;
    }
    for (const std::string& v : desired.announce) {
      absl::StatusOr<std::string> p = HostPrefix(v);
      if (p.ok()) wanted.insert(*p);  // Plan accepted every one
    }
    return absl::OkStatus();
  }();
  std::lock_guard<std::mutex> lock(mu_);
  ++status_.reconciles;
  status_.last_reconcile = absl::Now();
  status_.last_reconcile_ok = result.ok();
  if (frr_error) ++status_.frr_errors;
  if (!result.ok()) {
    status_.last_error = Redacted(std::string(result.message()));
    return result;
  }
  for (const std::string& p : wanted) status_.announcements += !before.contains(p);
  for (const std::string& p : before) status_.withdrawals += !wanted.contains(p);
  status_.announced = Addresses(wanted);
  return result;
}

void Announcer::RefreshSessions() {
  std::string error;
  std::vector<Session> sessions;
  bool frr_error = false;
  {
    std::lock_guard<std::timed_mutex> call(call_mutex_);
    absl::StatusOr<std::string> summary = Show(options_.vtysh, "show bgp summary json");
    if (!summary.ok()) {
      frr_error = true;
      error = summary.status().ToString();
    } else {
      // bfdd may be absent on purpose (no neighbour with bfd): sessions without BFD.
      absl::StatusOr<std::string> bfd = Show(options_.vtysh, "show bfd peers json");
      absl::StatusOr<std::vector<Session>> parsed = ParseSessions(*summary, bfd.ok() ? *bfd : "");
      if (parsed.ok()) {
        sessions = std::move(*parsed);
        if (!bfd.ok()) error = "bfd: " + bfd.status().ToString();
      } else {
        error = parsed.status().ToString();
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (frr_error) ++status_.frr_errors;
  status_.sessions = std::move(sessions);
  status_.sessions_error = Redacted(error);
  status_.sessions_time = absl::Now();
  sessions_wanted_ = false;
}

void Announcer::Run() {
  pthread_setname_np(pthread_self(), "xlbd-bgp");
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    const absl::Time now = absl::Now();
    if (!options_.bgpd_pid_file.empty() && now >= next_pid_check_) {
      next_pid_check_ = now + options_.pid_check;
      lock.unlock();
      const std::string pid = ReadPid(options_.bgpd_pid_file);
      lock.lock();
      if (!pid.empty() && !bgpd_pid_.empty() && pid != bgpd_pid_) {
        LOG(WARNING) << "bgp: bgpd restarted (pid " << bgpd_pid_ << " -> " << pid
                     << "): reconciling now";
        pending_ = true;
        attempts_ = 0;
        retry_at_ = absl::InfinitePast();
      }
      if (!pid.empty()) bgpd_pid_ = pid;
      continue;
    }
    const bool periodic = now >= next_periodic_;
    const bool due = desired_.has_value() && ((pending_ && now >= retry_at_) || periodic);
    const bool sessions_due =
        (sessions_wanted_ && now - status_.sessions_time >= options_.sessions_max_age) ||
        (desired_.has_value() && now - status_.sessions_time >= options_.sessions_period);
    if (!due && !sessions_due) {
      absl::Time wake = next_periodic_;
      if (pending_ && desired_) wake = std::min(wake, retry_at_);
      if (sessions_wanted_) wake = std::min(wake, status_.sessions_time + options_.sessions_max_age);
      if (desired_) wake = std::min(wake, status_.sessions_time + options_.sessions_period);
      if (!options_.bgpd_pid_file.empty()) wake = std::min(wake, next_pid_check_);
      cv_.wait_until(lock, Chrono(wake));
      continue;
    }
    if (due) {
      const Desired desired = Effective();
      const uint64_t generation = generation_;
      const bool repair = periodic && !pending_;
      lock.unlock();
      const absl::Status s =
          ReconcileOnce(desired, absl::InfiniteFuture(), repair ? "periodic reconcile" : "reconcile");
      lock.lock();
      next_periodic_ = absl::Now() + options_.period;
      if (periodic) sessions_wanted_ = true;  // sessions re-read with each periodic pass
      if (s.ok()) {
        if (!repair) sessions_wanted_ = true;  // a change: its sessions as they are now
        attempts_ = 0;
        retry_at_ = absl::InfinitePast();
        if (generation == generation_) pending_ = false;
      } else {
        ++attempts_;
        LOG(WARNING) << "bgp: reconcile failed (" << attempts_ << " in a row): "
                     << Redacted(s.ToString());
        absl::Duration backoff = options_.retry_initial;
        for (int i = 1; i < attempts_ && backoff < options_.retry_max; ++i) backoff *= 2;
        retry_at_ = absl::Now() + std::min(backoff, options_.retry_max);
        if (attempts_ > options_.max_retries && generation == generation_) {
          LOG(WARNING) << "bgp: giving up retrying until the next periodic reconcile";
          attempts_ = 0;
          pending_ = false;
        }
      }
      continue;
    }
    lock.unlock();
    RefreshSessions();
    lock.lock();
  }
}

}  // namespace xlb::bgp
