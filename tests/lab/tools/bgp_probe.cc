// A CLI over controlplane/bgp for bgp_driver_test.sh (xlbd does not use the
// driver yet): one reconcile of a real bgpd, or its sessions.
//   xlb-bgp-probe PATHSPACE reconcile DESIRED_JSON
//     show running-config -> plan -> one vtysh call; prints each command
//     sent ("> CMD"), nothing when bgpd already matches; exit 1 and the
//     error on stderr if the plan or the call fails.
//   xlb-bgp-probe PATHSPACE sessions
//     one line per session: ADDRESS STATE PREFIXES_SENT BFD CONNECTIONS_DROPPED
//   xlb-bgp-probe PATHSPACE announcer DESIRED_JSON PERIOD_SECONDS
//     runs an Announcer (as xlbd will) with DESIRED_JSON; prints its status
//     whenever it changes ("reconciles=N ok=0|1 announced=A,B announcements=N
//     withdrawals=N frr_errors=N"); on SIGTERM, WithdrawAll (2 s) as xlbd's
//     shutdown will, then "withdraw-all ok|failed" and exit 0|1.
// DESIRED_JSON: {"local_as":N,"router_id":"A","neighbors":[{"address":"A",
// "remote_as":N,"password":"","bfd":true,"keepalive":3,"hold":9,
// "next_hop_self":false}],"bfd":{"interval_ms":300,"multiplier":3},
// "vips":["A"...],"announce":["A"...]} ("bfd": bfdd's profile for the
// neighbours with bfd; absent: Desired's defaults)
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controlplane/bgp/announcer.h"
#include "controlplane/bgp/plan.h"
#include "controlplane/bgp/status.h"
#include "controlplane/bgp/vtysh.h"
#include "nlohmann/json.hpp"

namespace {

using nlohmann::json;
using namespace xlb::bgp;

int Fail(const std::string& what) {
  std::fprintf(stderr, "xlb-bgp-probe: %s\n", what.c_str());
  return 1;
}

// DESIRED_JSON (above); throws json::exception.
Desired ParseDesired(const std::string& text) {
  Desired desired;
  const json j = json::parse(text);
  desired.local_as = j.at("local_as").get<uint32_t>();
  desired.router_id = j.value("router_id", "");
  for (const json& n : j.value("neighbors", json::array())) {
    DesiredNeighbor d;
    d.address = n.at("address").get<std::string>();
    d.remote_as = n.at("remote_as").get<uint32_t>();
    d.password = n.value("password", "");
    d.bfd = n.value("bfd", true);
    d.keepalive = n.value("keepalive", 3);
    d.hold = n.value("hold", 9);
    d.next_hop_self = n.value("next_hop_self", false);
    desired.neighbors.push_back(d);
  }
  if (j.contains("bfd")) {
    const json& bfd = j.at("bfd");
    desired.bfd.interval_ms = bfd.value("interval_ms", desired.bfd.interval_ms);
    desired.bfd.multiplier = bfd.value("multiplier", desired.bfd.multiplier);
  }
  for (const json& v : j.value("vips", json::array())) desired.vips.insert(v.get<std::string>());
  for (const json& v : j.value("announce", json::array())) {
    desired.announce.insert(v.get<std::string>());
  }
  return desired;
}

// As xlbd will: the announcer on its thread, SIGTERM -> WithdrawAll.
int RunAnnouncer(const VtyshOptions& options, const Desired& desired, int period_seconds) {
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigaddset(&term, SIGINT);
  pthread_sigmask(SIG_BLOCK, &term, nullptr);  // before the worker starts: it inherits the mask
  AnnouncerOptions announcer_options;
  announcer_options.vtysh = options;
  announcer_options.period = absl::Seconds(period_seconds);
  Announcer announcer(announcer_options);
  announcer.SetDesired(desired);
  std::string last;
  for (;;) {
    const AnnouncerStatus s = announcer.Snapshot();
    const std::string line = absl::StrCat(
        "reconciles=", s.reconciles, " ok=", s.last_reconcile_ok ? 1 : 0,
        " announced=", absl::StrJoin(s.announced, ","), " announcements=", s.announcements,
        " withdrawals=", s.withdrawals, " frr_errors=", s.frr_errors);
    if (line != last) {
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
      last = line;
    }
    const timespec wait = {0, 50 * 1000 * 1000};
    if (sigtimedwait(&term, nullptr, &wait) > 0) break;
  }
  const bool ok = announcer.WithdrawAll(absl::Seconds(2));
  std::printf("withdraw-all %s\n", ok ? "ok" : "failed");
  std::fflush(stdout);
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return Fail("usage: xlb-bgp-probe PATHSPACE reconcile JSON | sessions");
  VtyshOptions options;
  options.pathspace = argv[1];
  const std::string verb = argv[2];
  if (verb == "sessions") {
    absl::StatusOr<std::string> summary = Show(options, "show bgp summary json");
    if (!summary.ok()) return Fail(summary.status().ToString());
    absl::StatusOr<std::string> bfd = Show(options, "show bfd peers json");
    if (!bfd.ok()) return Fail(bfd.status().ToString());
    absl::StatusOr<std::vector<Session>> sessions = ParseSessions(*summary, *bfd);
    if (!sessions.ok()) return Fail(sessions.status().ToString());
    for (const Session& s : *sessions) {
      std::printf("%s %s %llu %s %llu\n", s.neighbor.c_str(), s.state.c_str(),
                  static_cast<unsigned long long>(s.prefixes_sent),
                  s.bfd.empty() ? "-" : s.bfd.c_str(),
                  static_cast<unsigned long long>(s.connections_dropped));
    }
    return 0;
  }
  if (verb == "announcer" && argc == 5) {
    try {
      return RunAnnouncer(options, ParseDesired(argv[3]), std::atoi(argv[4]));
    } catch (const json::exception& e) {
      return Fail(std::string("desired state: ") + e.what());
    }
  }
  if (verb != "reconcile" || argc != 4) return Fail("usage: xlb-bgp-probe PATHSPACE reconcile JSON");
  Desired desired;
  try {
    desired = ParseDesired(argv[3]);
  } catch (const json::exception& e) {
    return Fail(std::string("desired state: ") + e.what());
  }
  absl::StatusOr<std::string> text = Show(options, "show running-config");
  if (!text.ok()) return Fail(text.status().ToString());
  absl::StatusOr<RunningConfig> running = ParseRunningConfig(*text);
  if (!running.ok()) return Fail(running.status().ToString());
  absl::StatusOr<std::vector<std::string>> commands = Plan(*running, desired);
  if (!commands.ok()) return Fail(commands.status().ToString());
  for (const std::string& c : *commands) std::printf("> %s\n", Redacted(c).c_str());
  std::fflush(stdout);
  absl::Status applied = Configure(options, *commands);
  if (!applied.ok()) return Fail(applied.ToString());
  return 0;
}
