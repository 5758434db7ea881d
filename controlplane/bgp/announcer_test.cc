// The announcer against a fake vtysh (a script given as the binary) that
// keeps the `network` lines in a file, serves the captured running config
// (testdata/running_config_owned.txt) with those networks, applies `network`
// and `no network` commands, and logs each configure call's commands (one
// line per call) to configure.log. Files in its folder switch on a failure
// ("fail") or a hang ("hang").
#include "controlplane/bgp/announcer.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "controlplane/bgp/testdata/samples.h"
#include "gtest/gtest.h"

namespace xlb::bgp {
namespace {

using samples::AsCaptured;

Desired Announcing(std::set<std::string> announce) {
  Desired d = AsCaptured();
  d.announce = std::move(announce);
  return d;
}

// Waits up to 10 s for `condition`; false if it never held.
bool WaitFor(const std::function<bool()>& condition) {
  const absl::Time end = absl::Now() + absl::Seconds(10);
  while (!condition()) {
    if (absl::Now() > end) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

class AnnouncerTest : public testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/xlb-announcer-test.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    SetNetworks({"203.0.113.10/32", "2001:db8:100::1/128"});  // as the sample
    const std::string path = dir_ + "/vtysh";
    std::ofstream(path) << "#!/bin/sh\nD='" << dir_ << "'\n" << R"(
[ -f "$D/hang" ] && sleep 30
if [ "$1" = -E ]; then
  shift
  line=""
  for a in "$@"; do [ "$a" = -c ] || line="$line$a|"; done
  echo "$line" >> "$D/configure.log"
  if [ -f "$D/fail" ]; then echo "% Unknown command: boom"; exit 1; fi
  for a in "$@"; do
    case "$a" in
      "no network "*) grep -vxF "${a#no network }" "$D/networks" > "$D/n.tmp"; mv "$D/n.tmp" "$D/networks";;
      "network "*) echo "${a#network }" >> "$D/networks";;
    esac
  done
  exit 0
fi
echo "$2" >> "$D/show.log"
case "$2" in
  "show running-config")
    awk -v nf="$D/networks" '/^  network / { next } { print }
      /^ address-family ipv(4|6) unicast/ {
        v6 = ($0 ~ /ipv6/)
        while ((getline p < nf) > 0) if ((index(p, ":") > 0) == v6) print "  network " p
        close(nf) }' ")" << samples::Path("running_config_owned.txt") << R"(" ;;
  "show bgp summary json") cat ")" << samples::Path("bgp_summary.json") << R"(" ;;
  "show bfd peers json") cat ")" << samples::Path("bfd_peers.json") << R"(" ;;
  *) exit 1 ;;
esac
)";
    chmod(path.c_str(), 0755);
    options_.vtysh.binary = path;
    options_.period = absl::Seconds(60);  // no periodic pass unless a test wants it
    options_.retry_initial = absl::Milliseconds(20);
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  void SetNetworks(const std::vector<std::string>& prefixes) {
    std::ofstream out(dir_ + "/networks");
    for (const std::string& p : prefixes) out << p << "\n";
  }
  std::set<std::string> Networks() {
    std::ifstream in(dir_ + "/networks");
    std::set<std::string> out;
    for (std::string line; std::getline(in, line);) out.insert(line);
    return out;
  }
  // The configure calls the fake got, each as "CMD|CMD|...".
  std::vector<std::string> Calls() {
    std::ifstream in(dir_ + "/configure.log");
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  void Touch(const std::string& name) { std::ofstream(dir_ + "/" + name) << ""; }
  // How many times the fake was asked `command` (a show).
  int Shown(const std::string& command) {
    std::ifstream in(dir_ + "/show.log");
    int n = 0;
    for (std::string line; std::getline(in, line);) n += line == command;
    return n;
  }

  std::string dir_;
  AnnouncerOptions options_;
};

TEST_F(AnnouncerTest, NoCallWhenFrrAlreadyMatches) {
  options_.period = absl::Milliseconds(50);
  Announcer announcer(options_);
  announcer.SetDesired(AsCaptured());
  ASSERT_TRUE(WaitFor([&] { return announcer.Snapshot().reconciles >= 3; }));
  EXPECT_TRUE(Calls().empty());
  const AnnouncerStatus s = announcer.Snapshot();
  EXPECT_TRUE(s.last_reconcile_ok);
  EXPECT_EQ(s.announced, (std::set<std::string>{"203.0.113.10", "2001:db8:100::1"}));
  EXPECT_EQ(s.announcements, 0u);
  EXPECT_EQ(s.frr_errors, 0u);
}

TEST_F(AnnouncerTest, BurstOfChangesCostsAtMostTwoCalls) {
  SetNetworks({});
  Announcer announcer(options_);
  for (int i = 0; i < 10; ++i) {
    announcer.SetDesired(i % 2 ? Announcing({"203.0.113.11"}) : Announcing({"203.0.113.10"}));
  }
  announcer.SetDesired(Announcing({"203.0.113.10", "203.0.113.11"}));
  const std::set<std::string> want = {"203.0.113.10", "203.0.113.11"};
  ASSERT_TRUE(WaitFor([&] { return announcer.Snapshot().announced == want; }));
  EXPECT_LE(Calls().size(), 2u);
  EXPECT_EQ(Networks(), (std::set<std::string>{"203.0.113.10/32", "203.0.113.11/32"}));
}

TEST_F(AnnouncerTest, FailedCallIsRetriedAfterReadingAgain) {
  Touch("fail");
  Announcer announcer(options_);
  announcer.SetDesired(Announcing({"203.0.113.10", "203.0.113.11"}));
  ASSERT_TRUE(WaitFor([&] { return announcer.Snapshot().frr_errors >= 2; }));
  AnnouncerStatus s = announcer.Snapshot();
  EXPECT_FALSE(s.last_reconcile_ok);
  EXPECT_NE(s.last_error.find("% Unknown command: boom"), std::string::npos) << s.last_error;
  EXPECT_EQ(s.last_error.find("s3cret"), std::string::npos);  // no password leaks
  EXPECT_EQ(s.announcements, 0u);
  std::remove((dir_ + "/fail").c_str());
  ASSERT_TRUE(WaitFor([&] { return announcer.Snapshot().last_reconcile_ok; }));
  s = announcer.Snapshot();
  EXPECT_EQ(s.announced, (std::set<std::string>{"203.0.113.10", "203.0.113.11"}));
  EXPECT_EQ(s.announcements, 1u);  // 203.0.113.11; .10 was already there
  EXPECT_EQ(s.withdrawals, 1u);    // 2001:db8:100::1
  EXPECT_TRUE(Networks().contains("203.0.113.11/32"));
}

TEST_F(AnnouncerTest, RetriesAreBounded) {
  Touch("fail");
  options_.max_retries = 2;
  Announcer announcer(options_);
  announcer.SetDesired(Announcing({"203.0.113.11"}));
  ASSERT_TRUE(WaitFor([&] { return announcer.Snapshot().reconciles >= 3; }));
  absl::SleepFor(absl::Milliseconds(300));  // backoff 20, 40 ms: a 4th would have come
  EXPECT_EQ(Calls().size(), 3u);  // the first try and 2 retries; then the periodic pass
}

TEST_F(AnnouncerTest, WithdrawAllRemovesEveryNetworkAndStays) {
  Announcer announcer(options_);
  announcer.SetDesired(AsCaptured());
  ASSERT_TRUE(WaitFor([&] { return announcer.Snapshot().reconciles >= 1; }));
  EXPECT_TRUE(announcer.WithdrawAll(absl::Seconds(2)));
  EXPECT_TRUE(Networks().empty());
  ASSERT_EQ(Calls().size(), 1u);
  EXPECT_NE(Calls()[0].find("no network 203.0.113.10/32"), std::string::npos) << Calls()[0];
  EXPECT_EQ(Calls()[0].find("no neighbor"), std::string::npos) << Calls()[0];  // sessions kept
  AnnouncerStatus s = announcer.Snapshot();
  EXPECT_TRUE(s.stopping);
  EXPECT_TRUE(s.announced.empty());
  EXPECT_EQ(s.withdrawals, 2u);
  // A health change after SIGTERM does not announce again.
  const uint64_t reconciles = s.reconciles;
  announcer.SetDesired(AsCaptured());
  ASSERT_TRUE(WaitFor([&] { return announcer.Snapshot().reconciles > reconciles; }));
  EXPECT_TRUE(Networks().empty());
  EXPECT_EQ(Calls().size(), 1u);
  announcer.Resume();
  ASSERT_TRUE(WaitFor([&] { return announcer.Snapshot().announced.size() == 2; }));
  EXPECT_EQ(Networks(), (std::set<std::string>{"203.0.113.10/32", "2001:db8:100::1/128"}));
}

TEST_F(AnnouncerTest, DrainAndUndrain) {
  Announcer announcer(options_);
  announcer.SetDesired(AsCaptured());
  announcer.SetDrained(true);
  ASSERT_TRUE(WaitFor([&] { return Networks().empty() && announcer.Snapshot().announced.empty(); }));
  EXPECT_TRUE(announcer.Snapshot().drained);
  EXPECT_EQ(Calls().back().find("no neighbor"), std::string::npos);  // sessions kept
  announcer.SetDesired(Announcing({"203.0.113.10", "203.0.113.11"}));  // health while drained
  const uint64_t reconciles = announcer.Snapshot().reconciles;
  ASSERT_TRUE(WaitFor([&] { return announcer.Snapshot().reconciles > reconciles; }));
  EXPECT_TRUE(Networks().empty());
  announcer.SetDrained(false);
  ASSERT_TRUE(WaitFor([&] { return announcer.Snapshot().announced.size() == 2; }));
  EXPECT_EQ(Networks(), (std::set<std::string>{"203.0.113.10/32", "203.0.113.11/32"}));
  EXPECT_FALSE(announcer.Snapshot().drained);
}

// An operator's `no network` (or frr-reload, or a restarted bgpd) is
// repaired by the periodic pass, with no change of the desired state.
TEST_F(AnnouncerTest, PeriodicPassRepairs) {
  options_.period = absl::Milliseconds(100);
  Announcer announcer(options_);
  announcer.SetDesired(AsCaptured());
  ASSERT_TRUE(WaitFor([&] { return announcer.Snapshot().reconciles >= 1; }));
  SetNetworks({"2001:db8:100::1/128"});
  ASSERT_TRUE(WaitFor([&] { return Networks().contains("203.0.113.10/32"); }));
  // The count follows the call's return, a moment after FRR has the line.
  EXPECT_TRUE(WaitFor([&] { return announcer.Snapshot().announcements >= 1; }));
  EXPECT_EQ(Calls().size(), 1u);
}

// A restarted bgpd (new PID) has lost xlbd's lines: re-applied at once,
// not at the next periodic pass (60 s here).
TEST_F(AnnouncerTest, RestartedBgpdIsReappliedAtOnce) {
  const std::string pid_file = dir_ + "/bgpd.pid";
  std::ofstream(pid_file) << "100\n";
  options_.bgpd_pid_file = pid_file;
  options_.pid_check = absl::Milliseconds(20);
  Announcer announcer(options_);
  announcer.SetDesired(AsCaptured());
  // The worker reads the PID first thing, before its first reconcile.
  ASSERT_TRUE(WaitFor([&] { return announcer.Snapshot().reconciles >= 1; }));
  SetNetworks({});
  std::ofstream(pid_file) << "200\n";
  ASSERT_TRUE(WaitFor([&] { return Networks().size() == 2; }));
  EXPECT_EQ(Calls().size(), 1u);
  EXPECT_EQ(BgpdPidFile("lab-d"), "/var/run/frr/lab-d/bgpd.pid");
}

TEST_F(AnnouncerTest, SessionsAreReadOnDemand) {
  Announcer announcer(options_);
  EXPECT_TRUE(announcer.Snapshot().sessions.empty());  // asks the worker
  ASSERT_TRUE(WaitFor([&] { return !announcer.Snapshot().sessions.empty(); }));
  const AnnouncerStatus s = announcer.Snapshot();
  EXPECT_EQ(s.sessions[0].neighbor, "192.0.2.2");
  EXPECT_EQ(s.sessions[0].state, "Established");
  EXPECT_EQ(s.sessions_error, "");
}

// Nobody asking: once there is a desired state the sessions are read after
// the change and then every sessions_period, so the first `xlbctl bgp` and
// each metrics scrape find them at most that old.
TEST_F(AnnouncerTest, SessionsAreKeptFreshWithoutBeingAsked) {
  options_.sessions_period = absl::Milliseconds(200);
  Announcer announcer(options_);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(Shown("show bgp summary json"), 0);  // no desired state: FRR is not asked
  announcer.SetDesired(Announcing({"203.0.113.10", "2001:db8:100::1"}));
  ASSERT_TRUE(WaitFor([&] { return Shown("show bgp summary json") >= 3; }));
  EXPECT_EQ(announcer.Snapshot().sessions.size(), 2u);
}

TEST_F(AnnouncerTest, WorkerThreadIsNamed) {
  Announcer announcer(options_);
  auto named = [] {
    for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
      std::string comm;
      std::ifstream(task.path() / "comm") >> comm;
      if (comm == "xlbd-bgp") return true;
    }
    return false;
  };
  EXPECT_TRUE(WaitFor(named));  // set as the thread starts
}

TEST_F(AnnouncerTest, HangingVtyshBlocksNoCaller) {
  Touch("hang");
  options_.vtysh.deadline = absl::Milliseconds(800);
  absl::Time destroyed;
  {
    Announcer announcer(options_);
    announcer.SetDesired(AsCaptured());
    absl::SleepFor(absl::Milliseconds(100));  // the worker is in vtysh now
    absl::Time start = absl::Now();
    for (int i = 0; i < 10; ++i) announcer.SetDesired(Announcing({"203.0.113.11"}));
    announcer.SetDrained(true);
    announcer.Snapshot();
    EXPECT_LT(absl::Now() - start, absl::Milliseconds(50));
    // WithdrawAll waits up to its own deadline, not the call's.
    start = absl::Now();
    EXPECT_FALSE(announcer.WithdrawAll(absl::Milliseconds(200)));
    EXPECT_LT(absl::Now() - start, absl::Milliseconds(600));
    destroyed = absl::Now();
  }
  EXPECT_LT(absl::Now() - destroyed, absl::Milliseconds(800 + 500));
}

}  // namespace
}  // namespace xlb::bgp
