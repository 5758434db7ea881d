// The VRRP state machine of one virtual router (one VRID on one interface):
// RFC 5798 section 6.4 (VRRPv3), with VRRPv2 (RFC 3768 section 6.4) timing,
// plus the keepalived extensions xlb keeps: nopreempt, preempt_delay, and
// tracking (priority weights and a Fault state).
//
// Pure: no sockets and no clock. Every input carries `now`; the machine
// answers with the Actions the caller must perform, in order, and tells the
// caller when it next needs a Timer() call (NextDeadline()). The I/O layer
// (packet.h decodes and validates adverts; it drops adverts for other VRIDs,
// of the wrong version, with a bad TTL or auth, and v2 adverts whose interval
// differs from ours) sits in front of it.
//
// States: Initialize (not started, or shut down), Backup, Master, Fault.
//
// Timing (all integer arithmetic, so replays are exact):
//   v3: intervals are centiseconds (RFC 5798 5.2.7). Skew_Time =
//       ((256 - Priority) * Master_Adver_Interval) / 256 centiseconds, the
//       division truncating as in the RFC's integer formula, so 100 ms at
//       priority 100 gives (156 * 10) / 256 = 6 cs = 60 ms (keepalived
//       computes in microseconds and would wait 60.937 ms). A backup learns
//       Master_Adver_Interval from the master's adverts (6.4.2).
//   v2: intervals are whole seconds; Skew_Time = (256 - Priority) / 256 s,
//       computed in milliseconds and truncated: priority 100 -> 609 ms.
//       Master_Adver_Interval is always our configured interval.
//   Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time (both).
//   "Priority" in the skew is our *effective* priority (as keepalived does).
//
// Effective priority: configured priority minus the current sum of tracking
// weights (TrackChanged), clamped to 1..254. A configured 255 (address
// owner) stays 255 only while nothing lowers it; once tracking lowers it the
// instance is an ordinary router (1..254) until the decrease is gone again.
// While effective priority is 255 the instance is the owner: it goes Master
// at once on Start (6.4.1), always preempts whatever `preempt` says (6.1's
// note on Preempt_Mode), ignores preempt_delay, and always accepts packets
// for the addresses (6.1's note on Accept_Mode).
//
// Not thread-safe; call it from the daemon's loop.
#ifndef XLB_CONTROLPLANE_VRRP_STATE_MACHINE_H_
#define XLB_CONTROLPLANE_VRRP_STATE_MACHINE_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "model/address.h"

namespace xlb::vrrp {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::milliseconds;

inline constexpr uint8_t kPriorityOwner = 255;
inline constexpr uint8_t kPriorityResign = 0;
// A master announces its addresses again at most this often when a
// lower-priority router claims them (see Reannounce).
inline constexpr Duration kReannounceInterval{1000};

struct InstanceConfig {
  std::string name;
  uint8_t vrid = 1;
  uint8_t priority = 100;  // 1..255; 255 = we own the addresses
  int version = 3;         // 2 (RFC 3768, IPv4) or 3 (RFC 5798)
  // v3: a multiple of 10 ms, 10 ms .. 40.95 s; v2: whole seconds, 1..255 s.
  Duration advert_interval{1000};
  // Preempt a lower-priority master (RFC Preempt_Mode; keepalived's default
  // is true, `nopreempt` sets false).
  bool preempt = true;
  // keepalived's preempt_delay: see StateMachine for exactly what it means.
  Duration preempt_delay{0};
  // RFC 5798 Accept_Mode: whether the host accepts packets addressed to the
  // virtual addresses while Master without owning them. Only reported.
  bool accept = false;
  model::IpAddress primary;  // our source address; breaks priority ties
  std::vector<model::IpAddress> addresses;  // the virtual addresses
};

// Why the configuration cannot run: vrid 0, priority 0, version, interval
// range or granularity, negative preempt_delay, v2 with IPv6, or a virtual
// address whose family differs from the primary's.
absl::Status ValidateConfig(const InstanceConfig& config);

// An advert that the codec decoded and validated for our VRID.
struct ReceivedAdvert {
  model::IpAddress src;  // the sender's primary address (IP source)
  uint8_t priority = 0;
  uint16_t interval_cs = 100;  // centiseconds; a v2 advert's seconds * 100
  uint8_t vrid = 0;
};

enum class State : uint8_t { kInitialize, kBackup, kMaster, kFault };

enum class Reason : uint8_t {
  kStartup,                // Start (or fault cleared) as a non-owner -> Backup
  kOwner,                  // Start (or fault cleared) as address owner -> Master
  kMasterDown,             // Master_Down_Timer expired (no master, preemption,
                           // or a master resigned with priority 0)
  kPreemptedByHigher,      // Master heard a higher priority (or equal priority
                           // from a higher address) -> Backup
  kShutdown,               // Shutdown -> Initialize
  kFault,                  // a tracked object demands Fault
  kFaultCleared,           // it no longer does (to Backup or owner Master)
};

const char* StateName(State state);
const char* ReasonName(Reason reason);

// Send one advertisement now with this priority (0: resigning).
struct SendAdvert {
  uint8_t priority = 0;
  bool operator==(const SendAdvert&) const = default;
};
// Add the virtual addresses, send gratuitous ARPs / unsolicited NAs.
// `accept`: Accept_Mode, true when configured or when we are the owner.
struct BecomeMaster {
  bool accept = false;
  bool operator==(const BecomeMaster&) const = default;
};
// Make sure the virtual addresses are not held (also emitted on Start, so
// stale addresses of an earlier run are removed).
struct BecomeBackup {
  bool operator==(const BecomeBackup&) const = default;
};
// Hold no addresses and send nothing until the fault clears.
struct BecomeFault {
  bool operator==(const BecomeFault&) const = default;
};
// Shut down: hold no addresses, send nothing.
struct BecomeInitialize {
  bool operator==(const BecomeInitialize&) const = default;
};
// Send the gratuitous ARPs / unsolicited NAs for the virtual addresses again:
// a lower-priority router claimed them (split brain: it missed our adverts
// and took over), and the hosts that followed its announcements must come
// back to us.
struct Reannounce {
  bool operator==(const Reannounce&) const = default;
};
// For logs and notify scripts; always the last action of a transition.
struct StateChanged {
  State from = State::kInitialize;
  State to = State::kInitialize;
  Reason reason = Reason::kStartup;
  bool operator==(const StateChanged&) const = default;
};

using Action = std::variant<SendAdvert, BecomeMaster, BecomeBackup, BecomeFault, BecomeInitialize,
                            Reannounce, StateChanged>;
using Actions = std::vector<Action>;

// "SendAdvert(prio=100)", "BecomeMaster(accept=false)",
// "StateChanged(BACKUP->MASTER: master_down)", ...
std::string ToString(const Action& action);

// RFC timing helpers (see the header comment). `master_adver_interval` is in
// ms; for v3 it is taken in whole centiseconds.
Duration SkewTime(int version, int priority, Duration master_adver_interval);
Duration MasterDownInterval(int version, int priority, Duration master_adver_interval);

struct Counters {
  uint64_t became_master = 0;
  uint64_t became_backup = 0;  // Backup entered from any state
  uint64_t became_fault = 0;
  uint64_t adverts_ignored = 0;  // lower priority while preempting, in Fault, own
};

// Inputs, by state (RFC 5798 6.4 unless said otherwise):
//   Start        Initialize -> Fault if a track demands it; else -> Master
//                (send advert) if effective priority is 255; else -> Backup
//                with Master_Down_Timer = Master_Down_Interval.
//   Timer        Backup: Master_Down_Timer expired -> send advert, Master.
//                Master: Adver_Timer expired -> send advert, rearm it.
//   Advert       Backup: priority 0 -> Master_Down_Timer = Skew_Time.
//                  priority >= ours, or we do not preempt (or preempt_delay
//                  holds us back) -> accept it as the master: learn its
//                  interval (v3), rearm Master_Down_Timer.
//                  lower priority and we preempt -> ignore it, so the timer
//                  runs out and we take over.
//                Master: priority 0 -> send an advert now, rearm Adver_Timer.
//                  higher priority, or equal and src > our primary (compared
//                  as unsigned big-endian numbers) -> Backup, learning its
//                  interval. Lower (or equal from a lower address) -> ignore:
//                  our next advert makes the other master yield.
//                Initialize, Fault: ignored.
//   Shutdown     Master: send priority 0, -> Initialize. Backup/Fault ->
//                Initialize.
//   TrackChanged the current total (not a delta) of active weights, and
//                whether any weight-0 track is failing. fault: Backup ->
//                Fault; Master -> send priority 0, Fault. Cleared: Fault ->
//                as at Start. A priority change takes effect on the next
//                advert sent (Master) or received (Backup); running timers
//                are not rearmed.
//
// preempt_delay (keepalived semantics, made precise): the machine keeps a
// "preempt not before" time. Start and leaving Fault set it to
// now + preempt_delay; hearing a master of priority >= ours clears it. A
// Backup that hears a lower-priority master while preempting:
//   - no time set: set it to now + preempt_delay;
//   - now < that time: accept the advert (as if we did not preempt);
//   - otherwise: ignore it (preempt).
// So a takeover happens Master_Down_Interval after the last advert accepted
// before the delay ran out. A delay of 0 changes nothing.
class StateMachine {
 public:
  // `config` must pass ValidateConfig.
  explicit StateMachine(InstanceConfig config);

  Actions Start(TimePoint now);
  Actions Shutdown(TimePoint now);
  // Call at or after NextDeadline(); an early call does nothing.
  Actions Timer(TimePoint now);
  Actions AdvertReceived(TimePoint now, const ReceivedAdvert& advert);
  Actions TrackChanged(TimePoint now, int priority_decrease, bool fault);
  // A reload that changed only the priority, preempt or preempt_delay (the
  // rest of `next` must equal the running config, and the priority must stay
  // on the same side of 255): applied without leaving the state, and with
  // nothing to do at once. As with tracking, a master says its new priority
  // in its next advert, and a backup compares the next advert it hears with it.
  void Reconfigure(const InstanceConfig& next);

  State state() const { return state_; }
  uint8_t effective_priority() const;
  bool owner() const { return effective_priority() == kPriorityOwner; }
  // Ours while Master; the last master we heard while Backup (none before
  // any, or after it resigned); none in Initialize and Fault.
  std::optional<model::IpAddress> master_address() const;
  std::optional<uint8_t> master_priority() const;
  // The earliest time Timer() must be called; none in Initialize and Fault.
  std::optional<TimePoint> NextDeadline() const;
  // What Backup currently uses (v3 learns it; v2 and Master: configured).
  Duration master_adver_interval() const { return master_adver_interval_; }
  const Counters& counters() const { return counters_; }
  const InstanceConfig& config() const { return config_; }

 private:
  void EnterMaster(TimePoint now, Reason reason, Actions& out);
  void EnterBackup(TimePoint now, Reason reason, Actions& out);
  void EnterFault(Reason reason, Actions& out);
  void Enter(State to, Reason reason, Actions& out);
  void LeaveInitOrFault(TimePoint now, Reason backup_reason, Actions& out);
  void LearnInterval(const ReceivedAdvert& advert);
  Duration DownInterval() const;
  bool Preempts() const { return config_.preempt || owner(); }

  InstanceConfig config_;
  State state_ = State::kInitialize;
  int priority_decrease_ = 0;
  bool fault_ = false;
  Duration master_adver_interval_;
  std::optional<TimePoint> deadline_;  // Master_Down_Timer or Adver_Timer
  std::optional<TimePoint> preempt_not_before_;
  std::optional<TimePoint> last_reannounce_;  // at most one per kReannounceInterval
  std::optional<model::IpAddress> master_address_;
  std::optional<uint8_t> master_priority_;
  Counters counters_;
};

}  // namespace xlb::vrrp

#endif  // XLB_CONTROLPLANE_VRRP_STATE_MACHINE_H_
