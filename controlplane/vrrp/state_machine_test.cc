// VRRP state machine replays: each test feeds a list of timed events and
// checks the exact actions, the state and the next deadline after each one.
// The last tests wire two machines to each other through a simulated link.
#include "controlplane/vrrp/state_machine.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace xlb::vrrp {
namespace {

using model::IpAddress;
using std::chrono::milliseconds;

const TimePoint kT0 = TimePoint{} + std::chrono::hours(1);  // arbitrary origin
TimePoint At(int64_t ms) { return kT0 + milliseconds(ms); }

IpAddress Ip(const std::string& text) {
  auto a = IpAddress::Parse(text);
  EXPECT_TRUE(a.ok()) << text;
  return *a;
}

InstanceConfig Config(uint8_t priority, int interval_ms = 100, int version = 3,
                      const std::string& primary = "192.0.2.2") {
  InstanceConfig c;
  c.name = "VI_1";
  c.vrid = 51;
  c.priority = priority;
  c.version = version;
  c.advert_interval = milliseconds(interval_ms);
  c.primary = Ip(primary);
  c.addresses = {Ip(primary.find(':') == std::string::npos ? "192.0.2.100" : "2001:db8::100")};
  EXPECT_TRUE(ValidateConfig(c).ok()) << ValidateConfig(c);
  return c;
}

// ---- events and the replay harness ----

struct Start {};
struct Shutdown {};
struct Tick {};  // Timer(now)
struct Advert {
  std::string src;
  int priority;
  int interval_cs = 10;
};
struct Track {
  int decrease;
  bool fault = false;
};
struct Reconfigure {  // a reload that changed the priority and preempt only
  int priority;
  bool preempt = true;
};
using Event = std::variant<Start, Shutdown, Tick, Advert, Track, Reconfigure>;

constexpr int64_t kNoDeadline = -1;
constexpr int64_t kAnyDeadline = -2;

struct Step {
  int64_t at_ms;
  Event event;
  std::vector<std::string> actions;  // exact, in order
  State state;
  int64_t deadline_ms = kAnyDeadline;  // NextDeadline() after the step
};

// Expected-action spellings.
std::string Send(int prio) { return absl::StrCat("SendAdvert(prio=", prio, ")"); }
std::string Master(bool accept = false) {
  return absl::StrCat("BecomeMaster(accept=", accept ? "true" : "false", ")");
}
const std::string kBackup = "BecomeBackup";
const std::string kFault = "BecomeFault";
const std::string kInit = "BecomeInitialize";
const std::string kReannounce = "Reannounce";
std::string Changed(State from, State to, Reason why) {
  return ToString(StateChanged{from, to, why});
}
constexpr State I = State::kInitialize, B = State::kBackup, M = State::kMaster,
                F = State::kFault;

std::vector<std::string> Strings(const Actions& actions) {
  std::vector<std::string> out;
  for (const auto& a : actions) out.push_back(ToString(a));
  return out;
}

Actions Apply(StateMachine& sm, TimePoint now, const Event& event) {
  struct V {
    StateMachine& sm;
    TimePoint now;
    Actions operator()(const Start&) { return sm.Start(now); }
    Actions operator()(const Shutdown&) { return sm.Shutdown(now); }
    Actions operator()(const Tick&) { return sm.Timer(now); }
    Actions operator()(const Advert& a) {
      return sm.AdvertReceived(
          now, ReceivedAdvert{Ip(a.src), static_cast<uint8_t>(a.priority),
                              static_cast<uint16_t>(a.interval_cs), sm.config().vrid});
    }
    Actions operator()(const Track& t) { return sm.TrackChanged(now, t.decrease, t.fault); }
    Actions operator()(const Reconfigure& r) {
      InstanceConfig next = sm.config();
      next.priority = static_cast<uint8_t>(r.priority);
      next.preempt = r.preempt;
      sm.Reconfigure(next);
      return Actions{};
    }
  };
  return std::visit(V{sm, now}, event);
}

void Replay(StateMachine& sm, const std::vector<Step>& steps) {
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    SCOPED_TRACE(absl::StrCat("step ", i, " at ", s.at_ms, "ms"));
    EXPECT_EQ(Strings(Apply(sm, At(s.at_ms), s.event)), s.actions);
    EXPECT_EQ(StateName(sm.state()), std::string(StateName(s.state)));
    if (s.deadline_ms == kNoDeadline) {
      EXPECT_FALSE(sm.NextDeadline().has_value());
    } else if (s.deadline_ms != kAnyDeadline) {
      ASSERT_TRUE(sm.NextDeadline().has_value());
      EXPECT_EQ((*sm.NextDeadline() - kT0).count(),
                std::chrono::duration_cast<Clock::duration>(milliseconds(s.deadline_ms)).count())
          << "deadline is at " << std::chrono::duration_cast<milliseconds>(*sm.NextDeadline() - kT0).count()
          << "ms";
    }
  }
}

void Replay(const InstanceConfig& config, const std::vector<Step>& steps) {
  StateMachine sm(config);
  Replay(sm, steps);
}

// ---- timing arithmetic ----

TEST(TimingTest, V3SkewIsIntegerCentiseconds) {
  // (256-100)*10/256 = 6.09 -> 6 cs: 60 ms, not keepalived's 60.937 ms.
  EXPECT_EQ(SkewTime(3, 100, milliseconds(100)), milliseconds(60));
  EXPECT_EQ(MasterDownInterval(3, 100, milliseconds(100)), milliseconds(360));
  EXPECT_EQ(SkewTime(3, 100, milliseconds(1000)), milliseconds(600));  // 15600/256 = 60
  EXPECT_EQ(SkewTime(3, 1, milliseconds(1000)), milliseconds(990));    // 25500/256 = 99
  EXPECT_EQ(SkewTime(3, 255, milliseconds(1000)), milliseconds(0));    // 100/256 = 0
  EXPECT_EQ(SkewTime(3, 254, milliseconds(100)), milliseconds(0));     // 20/256 = 0
  EXPECT_EQ(MasterDownInterval(3, 200, milliseconds(100)), milliseconds(320));  // 560/256 = 2
}

TEST(TimingTest, V2SkewIsPrioritySecondsInMs) {
  EXPECT_EQ(SkewTime(2, 100, milliseconds(1000)), milliseconds(609));  // 156000/256 = 609.375
  EXPECT_EQ(SkewTime(2, 100, milliseconds(5000)), milliseconds(609));  // independent of interval
  EXPECT_EQ(MasterDownInterval(2, 100, milliseconds(1000)), milliseconds(3609));
  EXPECT_EQ(MasterDownInterval(2, 254, milliseconds(1000)), milliseconds(3007));  // 2000/256 = 7
}

TEST(ConfigTest, Validate) {
  InstanceConfig c = Config(100);
  EXPECT_TRUE(ValidateConfig(c).ok());
  c.advert_interval = milliseconds(105);
  EXPECT_FALSE(ValidateConfig(c).ok());  // not whole centiseconds
  c.advert_interval = milliseconds(41000);
  EXPECT_FALSE(ValidateConfig(c).ok());  // > 4095 cs
  c = Config(100, 1000, 2);
  EXPECT_TRUE(ValidateConfig(c).ok());
  c.advert_interval = milliseconds(1500);
  EXPECT_FALSE(ValidateConfig(c).ok());  // v2: whole seconds
  c = Config(100);
  c.priority = 0;
  EXPECT_FALSE(ValidateConfig(c).ok());
  c = Config(100);
  c.vrid = 0;
  EXPECT_FALSE(ValidateConfig(c).ok());
  c = Config(100);
  c.version = 4;
  EXPECT_FALSE(ValidateConfig(c).ok());
  c = Config(100, 1000, 3, "2001:db8::2");
  EXPECT_TRUE(ValidateConfig(c).ok());
  c.version = 2;
  EXPECT_FALSE(ValidateConfig(c).ok());  // v2 is IPv4 only
  c = Config(100);
  c.addresses.push_back(Ip("2001:db8::1"));
  EXPECT_FALSE(ValidateConfig(c).ok());  // mixed families
  c = Config(100);
  c.preempt_delay = milliseconds(-1);
  EXPECT_FALSE(ValidateConfig(c).ok());
}

// ---- single machine replays ----

TEST(ReplayTest, BackupWithNoMasterTakesOverAfterMasterDownInterval) {
  // v3, 100 ms, priority 100: Master_Down_Interval = 3*10 + 6 cs = 360 ms.
  Replay(Config(100), {
      {0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 360},
      {359, Tick{}, {}, B, 360},  // early: nothing
      {360, Tick{}, {Send(100), Master(), Changed(B, M, Reason::kMasterDown)}, M, 460},
      {460, Tick{}, {Send(100)}, M, 560},
      {565, Tick{}, {Send(100)}, M, 665},  // a late caller: rearmed from now
      {0 + 600, Start{}, {}, M, 665},      // Start when running: nothing
  });
}

TEST(ReplayTest, OwnerBecomesMasterAtOnceAndAccepts) {
  Replay(Config(255), {
      {0, Start{}, {Send(255), Master(true), Changed(I, M, Reason::kOwner)}, M, 100},
      {100, Tick{}, {Send(255)}, M, 200},
      // Another owner from a higher address (a misconfiguration): RFC tie-break.
      {150, Advert{"192.0.2.3", 255}, {kBackup, Changed(M, B, Reason::kPreemptedByHigher)}, B,
       150 + 300},  // skew of 255 is 0
  });
}

TEST(ReplayTest, OwnerIgnoresNopreempt) {
  InstanceConfig c = Config(255);
  c.preempt = false;  // RFC 5798 6.1: the owner always preempts
  StateMachine sm(c);
  Replay(sm, {
      {0, Start{}, {Send(255), Master(true), Changed(I, M, Reason::kOwner)}, M, 100},
      {10, Advert{"192.0.2.9", 255}, {kBackup, Changed(M, B, Reason::kPreemptedByHigher)}, B, 310},
      // As backup, a lower master is ignored despite preempt=false.
      {100, Advert{"192.0.2.9", 200}, {}, B, 310},
      {310, Tick{}, {Send(255), Master(true), Changed(B, M, Reason::kMasterDown)}, M, 410},
  });
}

TEST(ReplayTest, AcceptModeIsReported) {
  InstanceConfig c = Config(100);
  c.accept = true;
  Replay(c, {
      {0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 360},
      {360, Tick{}, {Send(100), Master(true), Changed(B, M, Reason::kMasterDown)}, M, 460},
  });
}

TEST(ReplayTest, BackupWithPreemptHearsHigherEqualLower) {
  StateMachine sm(Config(100));
  Replay(sm, {
      {0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 360},
      {50, Advert{"192.0.2.9", 200}, {}, B, 410},   // higher: rearm
      {100, Advert{"192.0.2.1", 100}, {}, B, 460},  // equal (even from lower address): rearm
      {200, Advert{"192.0.2.9", 50}, {}, B, 460},   // lower: ignored, timer runs on
      {300, Advert{"192.0.2.9", 50}, {}, B, 460},
      {460, Tick{}, {Send(100), Master(), Changed(B, M, Reason::kMasterDown)}, M, 560},
      // The old master hears us and yields (its side is tested below).
  });
  EXPECT_EQ(sm.counters().adverts_ignored, 2u);
  EXPECT_EQ(sm.counters().became_master, 1u);
}

TEST(ReplayTest, BackupWithoutPreemptKeepsLowerMaster) {
  InstanceConfig c = Config(100);
  c.preempt = false;
  StateMachine sm(c);
  Replay(sm, {
      {0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 360},
      {200, Advert{"192.0.2.9", 50}, {}, B, 560},
      {300, Advert{"192.0.2.9", 50}, {}, B, 660},
      {400, Advert{"192.0.2.9", 200}, {}, B, 760},
  });
  EXPECT_EQ(sm.master_address(), Ip("192.0.2.9"));
  EXPECT_EQ(sm.master_priority(), 200);
}

TEST(ReplayTest, BackupLearnsMasterIntervalV3) {
  StateMachine sm(Config(100));  // we would send every 100 ms
  Replay(sm, {
      {0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 360},
      // Master sends every 1 s: down = 3 s + (156*100)/256 = 60 cs.
      {100, Advert{"192.0.2.9", 200, 100}, {}, B, 100 + 3600},
  });
  EXPECT_EQ(sm.master_adver_interval(), milliseconds(1000));
  Replay(sm, {
      {3700, Tick{}, {Send(100), Master(), Changed(B, M, Reason::kMasterDown)}, M, 3800},
  });
  // As master we advertise at our own interval again.
  EXPECT_EQ(sm.master_adver_interval(), milliseconds(100));
}

TEST(ReplayTest, ResigningMasterIsReplacedAfterSkewTime) {
  StateMachine sm(Config(100));
  Replay(sm, {
      {0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 360},
      {100, Advert{"192.0.2.9", 200}, {}, B, 460},
      {1000, Advert{"192.0.2.9", 200}, {}, B, 1360},
      // Priority 0: Skew_Time (60 ms), not the 360 ms down interval.
      {1050, Advert{"192.0.2.9", 0}, {}, B, 1110},
      {1109, Tick{}, {}, B, 1110},
      {1110, Tick{}, {Send(100), Master(), Changed(B, M, Reason::kMasterDown)}, M, 1210},
  });
}

TEST(ReplayTest, ResignUsesLearnedInterval) {
  // Master_Adver_Interval learned as 1 s: skew = 60 cs = 600 ms.
  Replay(Config(100), {
      {0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 360},
      {100, Advert{"192.0.2.9", 200, 100}, {}, B, 3700},
      {200, Advert{"192.0.2.9", 0, 100}, {}, B, 800},
  });
}

TEST(ReplayTest, MasterHearsHigherLowerAndResign) {
  StateMachine sm(Config(100));
  Replay(sm, {
      {0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 360},
      {360, Tick{}, {Send(100), Master(), Changed(B, M, Reason::kMasterDown)}, M, 460},
      // Lower: it thinks it is master; answer at once and announce again.
      {400, Advert{"192.0.2.9", 50}, {Send(100), kReannounce}, M, 460},
      {420, Advert{"192.0.2.9", 0}, {Send(100)}, M, 520},        // resign: answer at once
      {520, Tick{}, {Send(100)}, M, 620},
      // Higher priority, interval 20 cs learned: down = 60 + (156*20)/256 = 12 cs.
      {550, Advert{"192.0.2.1", 101, 20},
       {kBackup, Changed(M, B, Reason::kPreemptedByHigher)}, B, 550 + 720},
  });
  EXPECT_EQ(sm.master_address(), Ip("192.0.2.1"));
  EXPECT_EQ(sm.master_adver_interval(), milliseconds(200));
}

TEST(ReplayTest, EqualPriorityTieBreakByAddress) {
  // Ours is 10.0.0.2. 9.0.0.255 is numerically lower although its first
  // host-order word is larger on a little-endian machine; 10.0.1.1 is higher.
  auto master = [] {
    auto sm = std::make_unique<StateMachine>(Config(100, 100, 3, "10.0.0.2"));
    sm->Start(At(0));
    sm->Timer(At(360));
    return sm;
  };
  auto a = master();
  Replay(*a, {
      {400, Advert{"10.0.0.1", 100}, {Send(100), kReannounce}, M, 460},  // it yields, not us
      {410, Advert{"9.0.0.255", 100}, {Send(100)}, M, 460},  // announced less than 1 s ago
      {420, Advert{"10.0.1.1", 100}, {kBackup, Changed(M, B, Reason::kPreemptedByHigher)}, B, 780},
  });
  auto b = master();
  Replay(*b, {
      {400, Advert{"10.0.0.3", 100}, {kBackup, Changed(M, B, Reason::kPreemptedByHigher)}, B, 760},
  });
}

TEST(ReplayTest, MasterAnnouncesAgainAtMostOnceASecond) {
  StateMachine sm(Config(100));
  Replay(sm, {
      {0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 360},
      {360, Tick{}, {Send(100), Master(), Changed(B, M, Reason::kMasterDown)}, M, 460},
      {400, Advert{"192.0.2.9", 50}, {Send(100), kReannounce}, M, 460},
      {450, Advert{"192.0.2.9", 50}, {Send(100)}, M, 460},
      {1399, Advert{"192.0.2.9", 50}, {Send(100)}, M, 460},
      {1400, Advert{"192.0.2.9", 50}, {Send(100), kReannounce}, M, 460},
  });
}

TEST(ReplayTest, EqualPriorityTieBreakIpv6) {
  StateMachine sm(Config(100, 100, 3, "2001:db8::2"));
  Replay(sm, {
      {0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 360},
      {360, Tick{}, {Send(100), Master(), Changed(B, M, Reason::kMasterDown)}, M, 460},
      {400, Advert{"2001:db8::1", 100}, {Send(100), kReannounce}, M, 460},
      {410, Advert{"fe80::1", 100}, {kBackup, Changed(M, B, Reason::kPreemptedByHigher)}, B, 770},
  });
}

TEST(ReplayTest, ShutdownAsMasterSendsPriorityZero) {
  StateMachine sm(Config(100));
  Replay(sm, {
      {0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 360},
      {360, Tick{}, {Send(100), Master(), Changed(B, M, Reason::kMasterDown)}, M, 460},
      {400, Shutdown{}, {Send(0), kInit, Changed(M, I, Reason::kShutdown)}, I, kNoDeadline},
      {460, Tick{}, {}, I, kNoDeadline},
      {470, Advert{"192.0.2.9", 200}, {}, I, kNoDeadline},
      {480, Shutdown{}, {}, I, kNoDeadline},
      // Restartable.
      {500, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 860},
      {600, Shutdown{}, {kInit, Changed(B, I, Reason::kShutdown)}, I, kNoDeadline},
  });
  EXPECT_FALSE(sm.master_address().has_value());
}

TEST(ReplayTest, V2IntervalsInSeconds) {
  // 1 s, priority 100: down = 3 s + 609 ms.
  StateMachine sm(Config(100, 1000, 2));
  Replay(sm, {
      {0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 3609},
      {1000, Advert{"192.0.2.9", 200, 100}, {}, B, 4609},
      // v2 does not learn (a mismatching interval is the codec's to drop).
      {2000, Advert{"192.0.2.9", 200, 300}, {}, B, 5609},
      {3000, Advert{"192.0.2.9", 0, 100}, {}, B, 3609},  // resign: 609 ms
      {3609, Tick{}, {Send(100), Master(), Changed(B, M, Reason::kMasterDown)}, M, 4609},
      {4609, Tick{}, {Send(100)}, M, 5609},
  });
  EXPECT_EQ(sm.master_adver_interval(), milliseconds(1000));
}

TEST(ReplayTest, PreemptDelayFromStartup) {
  // Priority 150 (down = 300 + (106*10)/256 = 4 cs -> 340 ms), delay 1 s from
  // Start: a lower master's adverts are accepted before 1000 ms and ignored
  // from then on, so we take over 340 ms after the last one accepted (950).
  InstanceConfig c = Config(150);
  c.preempt_delay = milliseconds(1000);
  StateMachine sm(c);
  std::vector<Step> steps = {{0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 340}};
  for (int t = 50; t < 1000; t += 100) steps.push_back({t, Advert{"192.0.2.9", 100}, {}, B, t + 340});
  steps.push_back({1050, Advert{"192.0.2.9", 100}, {}, B, 1290});
  steps.push_back({1150, Advert{"192.0.2.9", 100}, {}, B, 1290});
  steps.push_back({1250, Advert{"192.0.2.9", 100}, {}, B, 1290});
  steps.push_back({1290, Tick{}, {Send(150), Master(), Changed(B, M, Reason::kMasterDown)}, M, 1390});
  Replay(sm, steps);
}

TEST(ReplayTest, PreemptDelayRestartsWhenALowerMasterReplacesAHigherOne) {
  InstanceConfig c = Config(150);
  c.preempt_delay = milliseconds(500);
  StateMachine sm(c);
  std::vector<Step> steps = {{0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 340}};
  // A higher master clears the startup window...
  for (int t = 100; t <= 1000; t += 100) steps.push_back({t, Advert{"192.0.2.8", 200}, {}, B, t + 340});
  // ...so the first lower advert (1100) opens a new one, until 1600.
  for (int t = 1100; t < 1600; t += 100) steps.push_back({t, Advert{"192.0.2.9", 100}, {}, B, t + 340});
  steps.push_back({1600, Advert{"192.0.2.9", 100}, {}, B, 1840});
  steps.push_back({1700, Advert{"192.0.2.9", 100}, {}, B, 1840});
  steps.push_back({1840, Tick{}, {Send(150), Master(), Changed(B, M, Reason::kMasterDown)}, M, 1940});
  Replay(sm, steps);
}

TEST(ReplayTest, PreemptDelayDoesNotDelayAnAbsentMaster) {
  InstanceConfig c = Config(150);
  c.preempt_delay = milliseconds(5000);
  Replay(c, {
      {0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 340},
      {340, Tick{}, {Send(150), Master(), Changed(B, M, Reason::kMasterDown)}, M, 440},
  });
}

TEST(ReplayTest, EffectivePriority) {
  StateMachine owner(Config(255));
  EXPECT_EQ(owner.effective_priority(), 255);
  EXPECT_TRUE(owner.owner());
  owner.TrackChanged(At(0), 10, false);
  EXPECT_EQ(owner.effective_priority(), 245);
  EXPECT_FALSE(owner.owner());
  owner.TrackChanged(At(0), 0, false);
  EXPECT_TRUE(owner.owner());
  StateMachine sm(Config(100));
  sm.TrackChanged(At(0), 200, false);
  EXPECT_EQ(sm.effective_priority(), 1);  // never 0: that means "resign"
  sm.TrackChanged(At(0), -200, false);
  EXPECT_EQ(sm.effective_priority(), 254);  // never 255: that means "owner"
}

TEST(ReplayTest, TrackedOwnerStartsAsBackup) {
  StateMachine sm(Config(255));
  Replay(sm, {
      {0, Track{5}, {}, I, kNoDeadline},
      // 250: down = 300 + (6*10)/256 = 0 -> 300 ms; accept mode as configured.
      {0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 300},
      {300, Tick{}, {Send(250), Master(), Changed(B, M, Reason::kMasterDown)}, M, 400},
  });
}

TEST(ReplayTest, TrackingLetsABackupPreempt) {
  // Configured 150 but tracking takes 60: 90 < the master's 120.
  StateMachine sm(Config(150));
  Replay(sm, {
      {0, Track{60}, {}, I, kNoDeadline},
      {0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 360},  // skew(90) = 6 cs
      {100, Advert{"192.0.2.9", 120}, {}, B, 460},
      {200, Track{0}, {}, B, 460},  // back to 150: the timer is not rearmed
      {200, Advert{"192.0.2.9", 120}, {}, B, 460},  // now lower: ignored
      {300, Advert{"192.0.2.9", 120}, {}, B, 460},
      {460, Tick{}, {Send(150), Master(), Changed(B, M, Reason::kMasterDown)}, M, 560},
  });
}

TEST(ReplayTest, TrackingMakesAMasterYield) {
  StateMachine sm(Config(200));
  Replay(sm, {
      {0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 320},
      {320, Tick{}, {Send(200), Master(), Changed(B, M, Reason::kMasterDown)}, M, 420},
      {400, Track{150}, {}, M, 420},  // no extra advert: the next one says 50
      {420, Tick{}, {Send(50)}, M, 520},
      {500, Advert{"192.0.2.1", 100}, {kBackup, Changed(M, B, Reason::kPreemptedByHigher)}, B,
       500 + 300 + 80},  // skew(50) = (206*10)/256 = 8 cs
  });
}

TEST(ReplayTest, ReconfiguredMasterKeepsItsStateAndAdvertisesTheNewPriority) {
  StateMachine sm(Config(200));
  Replay(sm, {
      {0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 320},
      {320, Tick{}, {Send(200), Master(), Changed(B, M, Reason::kMasterDown)}, M, 420},
      {400, Reconfigure{180}, {}, M, 420},  // no restart, no extra advert
      {420, Tick{}, {Send(180)}, M, 520},
      {450, Reconfigure{90}, {}, M, 520},
      {520, Tick{}, {Send(90)}, M, 620},
      // A backup at 100 now preempts us.
      {530, Advert{"192.0.2.1", 100}, {kBackup, Changed(M, B, Reason::kPreemptedByHigher)}, B,
       530 + 300 + 60},  // skew(90) = (166*10)/256 = 6 cs
  });
  EXPECT_EQ(sm.config().priority, 90);
}

TEST(ReplayTest, ReconfiguredBackupPreemptsWithItsNewPriority) {
  StateMachine sm(Config(100));
  Replay(sm, {
      {0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 360},
      {100, Advert{"192.0.2.9", 150}, {}, B, 460},
      {150, Reconfigure{200}, {}, B, 460},
      {200, Advert{"192.0.2.9", 150}, {}, B, 460},  // lower now, and we preempt: ignored
      {460, Tick{}, {Send(200), Master(), Changed(B, M, Reason::kMasterDown)}, M, 560},
  });
}

TEST(ReplayTest, ReconfiguredNopreemptKeepsTheLowerMaster) {
  StateMachine sm(Config(100));
  Replay(sm, {
      {0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 360},
      {100, Reconfigure{200, false}, {}, B, 360},
      // Lower than our new 200, but we no longer preempt: it stays master.
      {200, Advert{"192.0.2.9", 150}, {}, B, 200 + 300 + 20},  // skew(200) = (56*10)/256 = 2 cs
      {500, Advert{"192.0.2.9", 150}, {}, B, 500 + 300 + 20},
  });
}

TEST(ReplayTest, FaultFromBackupAndRecovery) {
  StateMachine sm(Config(100));
  Replay(sm, {
      {0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 360},
      {100, Track{0, true}, {kFault, Changed(B, F, Reason::kFault)}, F, kNoDeadline},
      {200, Advert{"192.0.2.9", 0}, {}, F, kNoDeadline},  // adverts ignored
      {400, Tick{}, {}, F, kNoDeadline},
      {450, Track{10, true}, {}, F, kNoDeadline},  // still faulty
      {500, Track{0, false}, {kBackup, Changed(F, B, Reason::kFaultCleared)}, B, 860},
      {860, Tick{}, {Send(100), Master(), Changed(B, M, Reason::kMasterDown)}, M, 960},
  });
  EXPECT_EQ(sm.counters().became_fault, 1u);
  EXPECT_EQ(sm.counters().became_backup, 2u);
}

TEST(ReplayTest, FaultFromMasterResigns) {
  StateMachine sm(Config(100));
  Replay(sm, {
      {0, Start{}, {kBackup, Changed(I, B, Reason::kStartup)}, B, 360},
      {360, Tick{}, {Send(100), Master(), Changed(B, M, Reason::kMasterDown)}, M, 460},
      {400, Track{0, true}, {Send(0), kFault, Changed(M, F, Reason::kFault)}, F, kNoDeadline},
      {500, Shutdown{}, {kInit, Changed(F, I, Reason::kShutdown)}, I, kNoDeadline},
  });
  EXPECT_FALSE(sm.master_address().has_value());
}

TEST(ReplayTest, FaultBeforeStartAndOwnerRecovery) {
  Replay(Config(255), {
      {0, Track{0, true}, {}, I, kNoDeadline},
      {10, Start{}, {kFault, Changed(I, F, Reason::kFault)}, F, kNoDeadline},
      // An owner leaves Fault as it starts: straight to Master.
      {20, Track{0, false}, {Send(255), Master(true), Changed(F, M, Reason::kFaultCleared)}, M, 120},
  });
}

// ---- two machines on a simulated link ----

// A deterministic discrete-event simulator: one virtual clock; each
// SendAdvert is delivered to every other running node `delay` later if the
// link is up when it is sent. At one instant: scripted events first (in the
// order added), then deliveries (in send order), then timers (node order).
class Sim {
 public:
  explicit Sim(int64_t delay_ms = 1) : delay_ms_(delay_ms) {}

  int Add(const std::string& name, InstanceConfig config) {
    nodes_.push_back(Node{name, StateMachine(std::move(config)), true});
    return static_cast<int>(nodes_.size()) - 1;
  }
  StateMachine& sm(int node) { return nodes_[node].sm; }

  void At(int64_t ms, std::function<void()> fn) { script_.push_back({ms, seq_++, std::move(fn)}); }
  void Start(int64_t ms, int n) { At(ms, [=, this] { Handle(n, sm(n).Start(Now())); }); }
  void Shutdown(int64_t ms, int n) { At(ms, [=, this] { Handle(n, sm(n).Shutdown(Now())); }); }
  // The node dies without a word: it neither sends nor receives.
  void Crash(int64_t ms, int n) { At(ms, [=, this] { nodes_[n].alive = false; }); }
  void Track(int64_t ms, int n, int decrease, bool fault = false) {
    At(ms, [=, this] { Handle(n, sm(n).TrackChanged(Now(), decrease, fault)); });
  }
  void Link(int64_t ms, bool up) { At(ms, [=, this] { link_up_ = up; }); }

  void RunUntil(int64_t end_ms) {
    for (;;) {
      int64_t next = end_ms + 1;
      for (const auto& s : script_) next = std::min(next, s.at);
      for (const auto& d : deliveries_) next = std::min(next, d.at);
      for (const auto& n : nodes_) {
        if (n.alive && n.sm.NextDeadline()) next = std::min(next, Ms(*n.sm.NextDeadline()));
      }
      if (next > end_ms) break;
      now_ms_ = next;
      std::stable_sort(script_.begin(), script_.end(),
                       [](const Scripted& a, const Scripted& b) { return a.seq < b.seq; });
      for (size_t i = 0; i < script_.size();) {
        if (script_[i].at == now_ms_) {
          auto fn = std::move(script_[i].fn);
          script_.erase(script_.begin() + static_cast<long>(i));
          fn();
        } else {
          ++i;
        }
      }
      for (size_t i = 0; i < deliveries_.size();) {
        if (deliveries_[i].at == now_ms_) {
          Delivery d = deliveries_[i];
          deliveries_.erase(deliveries_.begin() + static_cast<long>(i));
          if (nodes_[d.to].alive) Handle(d.to, sm(d.to).AdvertReceived(Now(), d.advert));
        } else {
          ++i;
        }
      }
      for (size_t n = 0; n < nodes_.size(); ++n) {
        auto deadline = nodes_[n].sm.NextDeadline();
        if (nodes_[n].alive && deadline && Ms(*deadline) <= now_ms_) {
          Handle(static_cast<int>(n), sm(static_cast<int>(n)).Timer(Now()));
        }
      }
    }
    now_ms_ = end_ms;
  }

  // "360 B BACKUP->MASTER master_down" per transition; "2000 A resign" per
  // priority-0 advert.
  const std::vector<std::string>& log() const { return log_; }
  int adverts_sent(int n) const { return nodes_[n].sent; }

 private:
  struct Node {
    std::string name;
    StateMachine sm;
    bool alive;
    int sent = 0;
  };
  struct Scripted {
    int64_t at;
    int seq;
    std::function<void()> fn;
  };
  struct Delivery {
    int64_t at;
    int to;
    ReceivedAdvert advert;
  };

  TimePoint Now() const { return vrrp::At(now_ms_); }
  static int64_t Ms(TimePoint t) {
    return std::chrono::duration_cast<milliseconds>(t - kT0).count();
  }

  void Handle(int n, const Actions& actions) {
    Node& node = nodes_[n];
    for (const auto& a : actions) {
      if (const auto* send = std::get_if<SendAdvert>(&a)) {
        ++node.sent;
        if (send->priority == 0) log_.push_back(absl::StrCat(now_ms_, " ", node.name, " resign"));
        if (!link_up_) continue;
        const auto& c = node.sm.config();
        ReceivedAdvert adv{c.primary, send->priority,
                           static_cast<uint16_t>(c.advert_interval.count() / 10), c.vrid};
        for (size_t to = 0; to < nodes_.size(); ++to) {
          if (static_cast<int>(to) != n) {
            deliveries_.push_back({now_ms_ + delay_ms_, static_cast<int>(to), adv});
          }
        }
      } else if (const auto* ch = std::get_if<StateChanged>(&a)) {
        log_.push_back(absl::StrCat(now_ms_, " ", node.name, " ", StateName(ch->from), "->",
                                    StateName(ch->to), " ", ReasonName(ch->reason)));
      }
    }
  }

  int64_t delay_ms_;
  int64_t now_ms_ = 0;
  int seq_ = 0;
  bool link_up_ = true;
  std::vector<Node> nodes_;
  std::vector<Scripted> script_;
  std::vector<Delivery> deliveries_;
  std::vector<std::string> log_;
};

using Log = std::vector<std::string>;

TEST(SimTest, ElectionAndFailoverOnShutdown) {
  Sim sim;
  int a = sim.Add("A", Config(200, 100, 3, "192.0.2.1"));  // down 320 ms
  int b = sim.Add("B", Config(100, 100, 3, "192.0.2.2"));  // down 360 ms
  sim.Start(0, a);
  sim.Start(0, b);
  sim.Shutdown(2000, a);
  sim.RunUntil(3000);
  EXPECT_EQ(sim.log(), (Log{
      "0 A INIT->BACKUP startup",
      "0 B INIT->BACKUP startup",
      "320 A BACKUP->MASTER master_down",  // its advert reaches B at 321
      "2000 A resign",
      "2000 A MASTER->INIT shutdown",
      "2061 B BACKUP->MASTER master_down",  // 2001 + skew(100) = 60 ms
  }));
  EXPECT_EQ(sim.sm(b).state(), State::kMaster);
}

TEST(SimTest, FailoverOnCrashTakesMasterDownInterval) {
  Sim sim;
  int a = sim.Add("A", Config(200, 100, 3, "192.0.2.1"));
  int b = sim.Add("B", Config(100, 100, 3, "192.0.2.2"));
  sim.Start(0, a);
  sim.Start(0, b);
  sim.Crash(2000, a);  // A's adverts: 320, 420, ..., 1920 -> last reaches B at 1921
  sim.RunUntil(3000);
  EXPECT_EQ(sim.log(), (Log{
      "0 A INIT->BACKUP startup",
      "0 B INIT->BACKUP startup",
      "320 A BACKUP->MASTER master_down",
      "2281 B BACKUP->MASTER master_down",  // 1921 + 360
  }));
}

TEST(SimTest, HigherPriorityNodeStartingLaterPreempts) {
  Sim sim;
  int a = sim.Add("A", Config(200, 100, 3, "192.0.2.1"));
  int b = sim.Add("B", Config(100, 100, 3, "192.0.2.2"));
  sim.Start(0, b);
  sim.Start(1000, a);
  sim.RunUntil(2000);
  // B master at 360, adverts at 360+100k; A ignores them (lower) and takes
  // over at 1320; B hears that at 1321 and yields.
  EXPECT_EQ(sim.log(), (Log{
      "0 B INIT->BACKUP startup",
      "360 B BACKUP->MASTER master_down",
      "1000 A INIT->BACKUP startup",
      "1320 A BACKUP->MASTER master_down",
      "1321 B MASTER->BACKUP higher_priority_master",
  }));
  EXPECT_EQ(sim.sm(a).state(), State::kMaster);
  EXPECT_EQ(sim.sm(b).state(), State::kBackup);
  EXPECT_EQ(sim.sm(b).master_address(), Ip("192.0.2.1"));
}

TEST(SimTest, NopreemptKeepsTheRunningMaster) {
  Sim sim;
  InstanceConfig ca = Config(200, 100, 3, "192.0.2.1");
  ca.preempt = false;
  int a = sim.Add("A", ca);
  int b = sim.Add("B", Config(100, 100, 3, "192.0.2.2"));
  sim.Start(0, b);
  sim.Start(1000, a);
  sim.RunUntil(5000);
  EXPECT_EQ(sim.log(), (Log{
      "0 B INIT->BACKUP startup",
      "360 B BACKUP->MASTER master_down",
      "1000 A INIT->BACKUP startup",
  }));
  EXPECT_EQ(sim.sm(a).state(), State::kBackup);
}

TEST(SimTest, SplitBrainLowerPriorityYields) {
  Sim sim;
  // B has the higher address but the lower priority: it must yield.
  int a = sim.Add("A", Config(200, 100, 3, "192.0.2.1"));
  int b = sim.Add("B", Config(100, 100, 3, "192.0.2.2"));
  sim.Start(0, a);
  sim.Start(0, b);
  sim.Link(1000, false);  // A's last advert to get through was sent at 920
  sim.Link(3000, true);
  sim.RunUntil(4000);
  EXPECT_EQ(sim.log(), (Log{
      "0 A INIT->BACKUP startup",
      "0 B INIT->BACKUP startup",
      "320 A BACKUP->MASTER master_down",
      "1281 B BACKUP->MASTER master_down",  // 921 + 360: two masters now
      // Link back at 3000. B sends at 1281+100k -> 3081 reaches A at 3082
      // (ignored: lower); A sends at 3020 -> reaches B at 3021: B yields.
      "3021 B MASTER->BACKUP higher_priority_master",
  }));
  EXPECT_EQ(sim.sm(a).state(), State::kMaster);
  EXPECT_EQ(sim.sm(b).state(), State::kBackup);
}

TEST(SimTest, SplitBrainEqualPriorityLowerAddressYields) {
  for (bool higher_address_first : {false, true}) {
    SCOPED_TRACE(higher_address_first ? "higher address was master" : "lower address was master");
    Sim sim;
    // L (lower address) and H (higher) with priority 100. Whoever starts
    // first becomes master; after the partition heals, L always yields.
    int l = sim.Add("L", Config(100, 100, 3, "192.0.2.1"));
    int h = sim.Add("H", Config(100, 100, 3, "192.0.2.2"));
    int first = higher_address_first ? h : l, second = higher_address_first ? l : h;
    sim.Start(0, first);
    sim.Start(500, second);
    sim.Link(1000, false);
    sim.Link(3000, true);
    sim.RunUntil(5000);
    const std::string f = higher_address_first ? "H" : "L", s = higher_address_first ? "L" : "H";
    Log expected = {
        "0 " + f + " INIT->BACKUP startup",
        "360 " + f + " BACKUP->MASTER master_down",
        "500 " + s + " INIT->BACKUP startup",  // equal priority: accepts the master
        "1321 " + s + " BACKUP->MASTER master_down",  // last advert 960 -> 961 + 360
    };
    if (higher_address_first) {
      // L's advert at 3021 reaches H at 3022, which answers at once (a lower
      // router claims to be master): L yields at 3023, not at H's next
      // periodic advert (3061).
      expected.push_back("3023 L MASTER->BACKUP higher_priority_master");
    } else {
      // L's advert at 3060 reaches H (ignored); H's at 3021 reaches L at 3022.
      expected.push_back("3022 L MASTER->BACKUP higher_priority_master");
    }
    EXPECT_EQ(sim.log(), expected);
    EXPECT_EQ(sim.sm(h).state(), State::kMaster);
    EXPECT_EQ(sim.sm(l).state(), State::kBackup);
  }
}

TEST(SimTest, SimultaneousStartEqualPriority) {
  // Same timers: both become master at 360 and hear each other at 361.
  Sim sim;
  int l = sim.Add("L", Config(100, 100, 3, "192.0.2.1"));
  int h = sim.Add("H", Config(100, 100, 3, "192.0.2.2"));
  sim.Start(0, l);
  sim.Start(0, h);
  sim.RunUntil(2000);
  EXPECT_EQ(sim.log(), (Log{
      "0 L INIT->BACKUP startup",
      "0 H INIT->BACKUP startup",
      "360 L BACKUP->MASTER master_down",
      "360 H BACKUP->MASTER master_down",
      "361 L MASTER->BACKUP higher_priority_master",
  }));
  EXPECT_EQ(sim.sm(h).state(), State::kMaster);
}

TEST(SimTest, TrackedServiceDownHandsOver) {
  Sim sim;
  int a = sim.Add("A", Config(200, 100, 3, "192.0.2.1"));
  int b = sim.Add("B", Config(100, 100, 3, "192.0.2.2"));
  sim.Start(0, a);
  sim.Start(0, b);
  sim.Track(1000, a, 150);  // A drops to 50; its 1020 advert says so (B: 1021)
  sim.Track(3000, a, 0);    // A back to 200: preempts B again
  sim.RunUntil(4000);
  EXPECT_EQ(sim.log(), (Log{
      "0 A INIT->BACKUP startup",
      "0 B INIT->BACKUP startup",
      "320 A BACKUP->MASTER master_down",
      // B accepted A's 920 advert (at 921), ignores the ones saying 50.
      "1281 B BACKUP->MASTER master_down",
      "1282 A MASTER->BACKUP higher_priority_master",
      // A at 200 ignores B from the next advert on. B's last accepted one was
      // sent at 2981 and reached A at 2982, while A was still at 50: the timer
      // then armed is not rearmed, so 2982 + 300 + skew(50) = 80 ms.
      "3362 A BACKUP->MASTER master_down",
      "3363 B MASTER->BACKUP higher_priority_master",
  }));
}

TEST(SimTest, FaultHandsOverAfterSkewAndComesBackAsBackup) {
  Sim sim;
  int a = sim.Add("A", Config(200, 100, 3, "192.0.2.1"));
  int b = sim.Add("B", Config(100, 100, 3, "192.0.2.2"));
  sim.Start(0, a);
  sim.Start(0, b);
  sim.Track(1000, a, 0, true);
  sim.Track(2000, a, 0, false);
  sim.RunUntil(3000);
  EXPECT_EQ(sim.log(), (Log{
      "0 A INIT->BACKUP startup",
      "0 B INIT->BACKUP startup",
      "320 A BACKUP->MASTER master_down",
      "1000 A resign",
      "1000 A MASTER->FAULT fault",
      "1061 B BACKUP->MASTER master_down",  // 1001 + 60
      "2000 A FAULT->BACKUP fault_cleared",
      // A (200) restarts as Backup, ignores B's (lower) adverts and takes
      // over after its own down interval: 2000 + 320.
      "2320 A BACKUP->MASTER master_down",
      "2321 B MASTER->BACKUP higher_priority_master",
  }));
}

}  // namespace
}  // namespace xlb::vrrp
