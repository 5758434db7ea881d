#include "controlplane/vrrp/state_machine.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace xlb::vrrp {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// RFC 5798 6.4.3: "the primary IPvX address of the sender is greater than the
// local primary IPvX address" -- as unsigned numbers, i.e. big-endian bytes
// compared in order. (IpAddress's operator<=> compares host-order words, not
// numeric order, so it is not used here.)
bool AddressGreater(const model::IpAddress& a, const model::IpAddress& b) {
  if (a.family() != b.family()) return a.family() > b.family();
  return a.bytes() > b.bytes();
}

}  // namespace

const char* StateName(State state) {
  switch (state) {
    case State::kInitialize: return "INIT";
    case State::kBackup: return "BACKUP";
    case State::kMaster: return "MASTER";
    case State::kFault: return "FAULT";
  }
  return "?";
}

const char* ReasonName(Reason reason) {
  switch (reason) {
    case Reason::kStartup: return "startup";
    case Reason::kOwner: return "owner";
    case Reason::kMasterDown: return "master_down";
    case Reason::kPreemptedByHigher: return "higher_priority_master";
    case Reason::kShutdown: return "shutdown";
    case Reason::kFault: return "fault";
    case Reason::kFaultCleared: return "fault_cleared";
  }
  return "?";
}

std::string ToString(const Action& action) {
  return std::visit(
      Overloaded{
          [](const SendAdvert& a) { return absl::StrCat("SendAdvert(prio=", a.priority, ")"); },
          [](const BecomeMaster& a) {
            return absl::StrCat("BecomeMaster(accept=", a.accept ? "true" : "false", ")");
          },
          [](const BecomeBackup&) { return std::string("BecomeBackup"); },
          [](const BecomeFault&) { return std::string("BecomeFault"); },
          [](const BecomeInitialize&) { return std::string("BecomeInitialize"); },
          [](const Reannounce&) { return std::string("Reannounce"); },
          [](const StateChanged& a) {
            return absl::StrCat("StateChanged(", StateName(a.from), "->", StateName(a.to), ": ",
                                ReasonName(a.reason), ")");
          },
      },
      action);
}

Duration SkewTime(int version, int priority, Duration master_adver_interval) {
  const int64_t weight = 256 - priority;
  if (version == 2) {
    // RFC 3768 6.1: (256 - Priority) / 256 seconds, independent of the
    // interval; in ms, truncated.
    return Duration(weight * 1000 / 256);
  }
  // RFC 5798 6.1: (((256 - priority) * Master_Adver_Interval) / 256), all in
  // centiseconds with integer division.
  const int64_t cs = master_adver_interval.count() / 10;
  return Duration(weight * cs / 256 * 10);
}

Duration MasterDownInterval(int version, int priority, Duration master_adver_interval) {
  return 3 * master_adver_interval + SkewTime(version, priority, master_adver_interval);
}

absl::Status ValidateConfig(const InstanceConfig& c) {
  if (c.vrid == 0) return absl::InvalidArgumentError("vrid must be 1..255");
  if (c.priority == 0) return absl::InvalidArgumentError("priority must be 1..255");
  const int64_t ms = c.advert_interval.count();
  if (c.version == 3) {
    // 12 bits of centiseconds (RFC 5798 5.2.7).
    if (ms % 10 != 0 || ms < 10 || ms > 4095 * 10) {
      return absl::InvalidArgumentError(
          "VRRPv3 advert_interval must be a multiple of 10ms in 10ms..40.95s");
    }
  } else if (c.version == 2) {
    // 8 bits of seconds (RFC 3768 5.3.7).
    if (ms % 1000 != 0 || ms < 1000 || ms > 255 * 1000) {
      return absl::InvalidArgumentError("VRRPv2 advert_interval must be whole seconds in 1s..255s");
    }
    if (!c.primary.is_v4()) return absl::InvalidArgumentError("VRRPv2 is IPv4 only");
  } else {
    return absl::InvalidArgumentError("version must be 2 or 3");
  }
  if (c.preempt_delay.count() < 0) {
    return absl::InvalidArgumentError("preempt_delay must not be negative");
  }
  for (const auto& a : c.addresses) {
    if (a.family() != c.primary.family()) {
      return absl::InvalidArgumentError(
          absl::StrCat("virtual address ", a.ToString(), " is not of the primary's family"));
    }
  }
  return absl::OkStatus();
}

StateMachine::StateMachine(InstanceConfig config)
    : config_(std::move(config)), master_adver_interval_(config_.advert_interval) {}

uint8_t StateMachine::effective_priority() const {
  // Owner only while untouched by tracking; a negative total (keepalived's
  // positive weights) may raise a non-owner, but never to 255: only the
  // configuration can say we own the addresses.
  if (config_.priority == kPriorityOwner && priority_decrease_ <= 0) return kPriorityOwner;
  return static_cast<uint8_t>(std::clamp(int{config_.priority} - priority_decrease_, 1, 254));
}

std::optional<model::IpAddress> StateMachine::master_address() const {
  if (state_ == State::kMaster) return config_.primary;
  if (state_ == State::kBackup) return master_address_;
  return std::nullopt;
}

std::optional<uint8_t> StateMachine::master_priority() const {
  if (state_ == State::kMaster) return effective_priority();
  if (state_ == State::kBackup) return master_priority_;
  return std::nullopt;
}

std::optional<TimePoint> StateMachine::NextDeadline() const {
  if (state_ == State::kBackup || state_ == State::kMaster) return deadline_;
  return std::nullopt;
}

Duration StateMachine::DownInterval() const {
  return MasterDownInterval(config_.version, effective_priority(), master_adver_interval_);
}

void StateMachine::LearnInterval(const ReceivedAdvert& advert) {
  // Only v3 learns (RFC 5798 6.4.2); v2 adverts with another interval never
  // reach us (RFC 3768 7.1, enforced by the codec). 0 is not a valid interval.
  if (config_.version == 3 && advert.interval_cs > 0) {
    master_adver_interval_ = Duration(int64_t{advert.interval_cs} * 10);
  }
}

void StateMachine::Enter(State to, Reason reason, Actions& out) {
  const State from = state_;
  state_ = to;
  switch (to) {
    case State::kMaster: ++counters_.became_master; break;
    case State::kBackup: ++counters_.became_backup; break;
    case State::kFault: ++counters_.became_fault; break;
    case State::kInitialize: break;
  }
  out.push_back(StateChanged{from, to, reason});
}

void StateMachine::EnterMaster(TimePoint now, Reason reason, Actions& out) {
  // RFC 5798 6.4.1/6.4.2: send an advert, broadcast ARP / NA (the caller's
  // part of BecomeMaster), set Adver_Timer, transition.
  out.push_back(SendAdvert{effective_priority()});
  out.push_back(BecomeMaster{config_.accept || owner()});
  deadline_ = now + config_.advert_interval;
  master_adver_interval_ = config_.advert_interval;
  master_address_.reset();
  master_priority_.reset();
  preempt_not_before_.reset();
  Enter(State::kMaster, reason, out);
}

void StateMachine::EnterBackup(TimePoint now, Reason reason, Actions& out) {
  out.push_back(BecomeBackup{});
  deadline_ = now + DownInterval();
  Enter(State::kBackup, reason, out);
}

void StateMachine::EnterFault(Reason reason, Actions& out) {
  if (state_ == State::kMaster) {
    // Resign like a shutdown so the backup takes over after Skew_Time rather
    // than Master_Down_Interval (keepalived does the same on entering FAULT;
    // if the fault is our link the send just fails).
    out.push_back(SendAdvert{kPriorityResign});
  }
  out.push_back(BecomeFault{});
  deadline_.reset();
  master_address_.reset();
  master_priority_.reset();
  Enter(State::kFault, reason, out);
}

void StateMachine::LeaveInitOrFault(TimePoint now, Reason backup_reason, Actions& out) {
  if (fault_) {
    EnterFault(Reason::kFault, out);
    return;
  }
  if (owner()) {
    EnterMaster(now, backup_reason == Reason::kStartup ? Reason::kOwner : backup_reason, out);
    return;
  }
  // RFC 5798 6.4.1: Master_Adver_Interval = Advertisement_Interval.
  master_adver_interval_ = config_.advert_interval;
  master_address_.reset();
  master_priority_.reset();
  if (config_.preempt_delay.count() > 0) {
    preempt_not_before_ = now + config_.preempt_delay;
  } else {
    preempt_not_before_.reset();
  }
  EnterBackup(now, backup_reason, out);
}

Actions StateMachine::Start(TimePoint now) {
  Actions out;
  if (state_ != State::kInitialize) return out;
  LeaveInitOrFault(now, Reason::kStartup, out);
  return out;
}

Actions StateMachine::Shutdown(TimePoint /*now*/) {
  Actions out;
  if (state_ == State::kInitialize) return out;
  // RFC 5798 6.4.3: a Master sends an advert with priority 0 on shutdown.
  if (state_ == State::kMaster) out.push_back(SendAdvert{kPriorityResign});
  out.push_back(BecomeInitialize{});
  deadline_.reset();
  preempt_not_before_.reset();
  master_address_.reset();
  master_priority_.reset();
  Enter(State::kInitialize, Reason::kShutdown, out);
  return out;
}

Actions StateMachine::Timer(TimePoint now) {
  Actions out;
  if (!deadline_ || now < *deadline_) return out;
  if (state_ == State::kBackup) {
    // Master_Down_Timer fired (6.4.2).
    EnterMaster(now, Reason::kMasterDown, out);
  } else if (state_ == State::kMaster) {
    // Adver_Timer fired (6.4.3). Rearmed from `now`, as the RFC says; a late
    // caller delays the following adverts rather than bunching them.
    out.push_back(SendAdvert{effective_priority()});
    deadline_ = now + config_.advert_interval;
  }
  return out;
}

Actions StateMachine::AdvertReceived(TimePoint now, const ReceivedAdvert& advert) {
  Actions out;
  if (state_ != State::kBackup && state_ != State::kMaster) {
    if (state_ == State::kFault) ++counters_.adverts_ignored;
    return out;
  }
  if (advert.src == config_.primary) {
    // Our own advert looped back (or a duplicate primary): never a peer.
    ++counters_.adverts_ignored;
    return out;
  }
  const int ours = effective_priority();
  if (state_ == State::kBackup) {
    if (advert.priority == kPriorityResign) {
      // 6.4.2: the master resigned; take over after Skew_Time, before any
      // other backup of lower priority.
      deadline_ = now + SkewTime(config_.version, ours, master_adver_interval_);
      master_address_.reset();
      master_priority_.reset();
      return out;
    }
    master_address_ = advert.src;
    master_priority_ = advert.priority;
    bool accept = !Preempts() || advert.priority >= ours;
    if (advert.priority >= ours) {
      // A legitimate master: a later lower-priority one starts a new delay.
      preempt_not_before_.reset();
    } else if (!accept && !owner() && config_.preempt_delay.count() > 0) {
      // keepalived's preempt_delay: tolerate the lower master for a while.
      if (!preempt_not_before_) preempt_not_before_ = now + config_.preempt_delay;
      if (now < *preempt_not_before_) accept = true;
    }
    if (!accept) {
      // Preempting: let Master_Down_Timer run out.
      ++counters_.adverts_ignored;
      return out;
    }
    LearnInterval(advert);
    deadline_ = now + DownInterval();
    return out;
  }

  // Master (6.4.3).
  if (advert.priority == kPriorityResign) {
    out.push_back(SendAdvert{effective_priority()});
    deadline_ = now + config_.advert_interval;
    return out;
  }
  const bool yield = advert.priority > ours ||
                     (advert.priority == ours && AddressGreater(advert.src, config_.primary));
  if (!yield) {
    // A lower-priority router believes it is master (it missed our adverts):
    // answer at once so that it yields now, as keepalived does, and announce
    // the addresses again, since the hosts may have followed its gratuitous
    // ARPs. Announcements at most once a second: a peer that cannot hear us
    // sends its adverts every interval.
    ++counters_.adverts_ignored;
    out.push_back(SendAdvert{static_cast<uint8_t>(ours)});
    if (!last_reannounce_ || now - *last_reannounce_ >= kReannounceInterval) {
      last_reannounce_ = now;
      out.push_back(Reannounce{});
    }
    return out;
  }
  LearnInterval(advert);
  master_address_ = advert.src;
  master_priority_ = advert.priority;
  preempt_not_before_.reset();
  EnterBackup(now, Reason::kPreemptedByHigher, out);
  return out;
}

void StateMachine::Reconfigure(const InstanceConfig& next) {
  config_.priority = next.priority;
  config_.preempt = next.preempt;
  config_.preempt_delay = next.preempt_delay;
}

Actions StateMachine::TrackChanged(TimePoint now, int priority_decrease, bool fault) {
  Actions out;
  priority_decrease_ = priority_decrease;
  const bool was_fault = fault_;
  fault_ = fault;
  if (fault && !was_fault && (state_ == State::kBackup || state_ == State::kMaster)) {
    EnterFault(Reason::kFault, out);
  } else if (!fault && state_ == State::kFault) {
    LeaveInitOrFault(now, Reason::kFaultCleared, out);
  }
  return out;
}

}  // namespace xlb::vrrp
