// keepalived.conf -> xlb config: a realistic director's file field by field,
// the notes (with their lines) for what does not carry over, keepalived's
// syntax, its errors, and the sample files Debian ships with keepalived.
#include "controlplane/offline/keepalived.h"

#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "controlplane/config/emit.h"
#include "controlplane/config/parse.h"
#include "model/address.h"
#include "model/service.h"
#include "gtest/gtest.h"
#include "tests/support/status_assertions.h"

namespace xlb::migrate {
namespace {

using config::Duration;
using config::HealthType;
using config::VrrpTrack;
using model::Forward;
using model::IpAddress;
using model::Protocol;
using model::RealSpec;
using model::Scheduler;

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string SourceRoot() {
  const char* root = std::getenv("XLB_SOURCE_ROOT");
  return root ? root : "";
}

// The 1-based line of the first line of `text` that contains `needle`.
int LineOf(const std::string& text, const std::string& needle) {
  int n = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++n;
    if (absl::StrContains(line, needle)) return n;
  }
  ADD_FAILURE() << "no line contains " << needle;
  return -1;
}

std::string Dump(const std::vector<ImportNote>& notes) {
  std::string out;
  for (const ImportNote& n : notes) absl::StrAppend(&out, "\n  line ", n.line, ": ", n.text);
  return out;
}

// A note at `line` containing each of `words`.
testing::AssertionResult HasNote(const std::vector<ImportNote>& notes, int line,
                                 const std::vector<std::string>& words) {
  for (const ImportNote& n : notes) {
    if (n.line != line) continue;
    if (std::all_of(words.begin(), words.end(),
                    [&](const std::string& w) { return absl::StrContains(n.text, w); }))
      return testing::AssertionSuccess();
  }
  return testing::AssertionFailure() << "no note at line " << line << " with "
                                     << absl::StrJoin(words, ", ") << "; notes:" << Dump(notes);
}

bool NoteMentions(const std::vector<ImportNote>& notes, const std::string& word) {
  return std::any_of(notes.begin(), notes.end(),
                     [&](const ImportNote& n) { return absl::StrContains(n.text, word); });
}

KeepalivedImport Import(const std::string& text) {
  absl::StatusOr<KeepalivedImport> r = ImportKeepalived(text, "k.conf");
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *std::move(r) : KeepalivedImport{};
}

// The import must fail with InvalidArgument, a message starting with
// `prefix` and containing each of `words`.
testing::AssertionResult Fails(const std::string& text, const std::string& prefix,
                               const std::vector<std::string>& words = {}) {
  return testing_support::IsInvalidArgument(ImportKeepalived(text, "k.conf").status(), prefix, words);
}

// An instance with what every test needs around the lines under test.
std::string Instance(const std::string& body) {
  return absl::StrCat("vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n",
                      "  virtual_ipaddress {\n    198.51.100.10\n  }\n", body, "}\n");
}

class DirectorFile : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(SourceRoot().empty()) << "set XLB_SOURCE_ROOT to the repository root";
    path_ = SourceRoot() + "/controlplane/offline/testdata/director1.conf";
    text_ = ReadFile(path_);
    ASSERT_FALSE(text_.empty()) << path_;
    absl::StatusOr<KeepalivedImport> r = ImportKeepalived(text_, path_);
    ASSERT_TRUE(r.ok()) << r.status();
    result_ = *std::move(r);
  }
  int Line(const std::string& needle) const { return LineOf(text_, needle); }

  std::string path_, text_;
  KeepalivedImport result_;
};

TEST_F(DirectorFile, Interfaces) {
  EXPECT_EQ(result_.config.interfaces, (std::vector<std::string>{"eth0", "eth1"}));
  EXPECT_TRUE(HasNote(result_.notes, Line("vrrp_instance VI_WEB"), {"XDP", "eth0, eth1"}));
}

TEST_F(DirectorFile, VrrpV2WithPassUnicastAndTracks) {
  ASSERT_EQ(result_.config.vrrp.size(), 2u);
  const config::VrrpInstance& v = result_.config.vrrp[0];
  EXPECT_EQ(v.name, "VI_WEB");
  EXPECT_EQ(v.interface, "eth0");
  EXPECT_EQ(v.vrid, 51);
  EXPECT_EQ(v.version, 2);  // keepalived's default
  EXPECT_EQ(v.advert_interval, Duration(1000));
  EXPECT_TRUE(v.preempt);
  EXPECT_TRUE(v.accept);  // keepalived's default without vrrp_strict
  EXPECT_EQ(v.auth_secret, "s3cretpa");  // keepalived uses the first 8 characters
  ASSERT_TRUE(v.unicast_source.has_value());
  EXPECT_EQ(*v.unicast_source, Ip("198.51.100.2"));
  EXPECT_EQ(v.unicast_peers, (std::vector<IpAddress>{Ip("198.51.100.3")}));
  EXPECT_EQ(v.addresses, (std::vector<std::pair<IpAddress, int>>{{Ip("198.51.100.10"), 24},
                                                                  {Ip("198.51.100.11"), 32}}));
  EXPECT_EQ(v.notify, "");
  EXPECT_EQ(v.notify_keepalived, "/usr/local/bin/vrrp-notify.sh");
  EXPECT_EQ(v.notify_master, "/usr/local/bin/become-master.sh web");
  // chk_disk's weight +10 raises the base priority 150 by 10.
  EXPECT_EQ(v.priority, 160);
  ASSERT_EQ(v.track.size(), 3u);
  EXPECT_EQ(v.track[0], (VrrpTrack{VrrpTrack::kExec, "/usr/bin/killall -0 haproxy", 30,
                                   Duration(2000), 3, 2}));
  EXPECT_EQ(v.track[1], (VrrpTrack{VrrpTrack::kExec, "/usr/local/bin/check-disk /var", 10,
                                   Duration(5000), 1, 1}));
  EXPECT_EQ(v.track[2], (VrrpTrack{VrrpTrack::kInterface, "eth1", 0}));  // 0: fault while down
  // vrrp_garp_master_delay 10 in global_defs.
  EXPECT_EQ(v.garp.interval, Duration(10'000));
  EXPECT_EQ(v.garp.repeat, 1);
}

TEST_F(DirectorFile, VrrpV3) {
  ASSERT_EQ(result_.config.vrrp.size(), 2u);
  const config::VrrpInstance& v = result_.config.vrrp[1];
  EXPECT_EQ(v.name, "VI_API");
  EXPECT_EQ(v.interface, "eth1");
  EXPECT_EQ(v.vrid, 52);
  EXPECT_EQ(v.version, 3);
  EXPECT_EQ(v.priority, 100);
  EXPECT_EQ(v.advert_interval, Duration(500));  // v3: fractions of a second
  EXPECT_FALSE(v.preempt);
  EXPECT_TRUE(v.auth_secret.empty());
  EXPECT_FALSE(v.unicast_source.has_value());
  EXPECT_TRUE(v.unicast_peers.empty());
  EXPECT_EQ(v.addresses,
            (std::vector<std::pair<IpAddress, int>>{{Ip("2001:db8:1::20"), 64}}));
  EXPECT_TRUE(v.track.empty());
}

TEST_F(DirectorFile, DirectRoutingServiceWithTcpCheck) {
  ASSERT_EQ(result_.config.services.size(), 2u);
  const config::ServiceConfig& s = result_.config.services[0];
  EXPECT_EQ(s.name, "tcp-198.51.100.10-80");
  EXPECT_TRUE(config::IsServiceName(s.name));
  EXPECT_EQ(s.service.key.vip, Ip("198.51.100.10"));
  EXPECT_EQ(s.service.key.port, 80);
  EXPECT_EQ(s.service.key.protocol, Protocol::kTcp);
  EXPECT_EQ(s.service.options.forward, Forward::kDr);
  EXPECT_EQ(s.service.options.scheduler, Scheduler::kMaglev);
  EXPECT_EQ(s.service.options.persistence_timeout_s, 300u);
  EXPECT_EQ(s.service.options.persistence_netmask, 24);
  EXPECT_EQ(s.reals, (std::vector<RealSpec>{{Ip("203.0.113.11"), 0, 3},
                                            {Ip("203.0.113.12"), 0, 2},
                                            {Ip("203.0.113.13"), 0, 1}}));
  EXPECT_EQ(s.health.type, HealthType::kTcp);
  EXPECT_EQ(s.health.port, 0);  // the real's port
  EXPECT_EQ(s.health.interval, Duration(3000));  // delay_loop
  EXPECT_EQ(s.health.timeout, Duration(2000));   // connect_timeout
  EXPECT_EQ(s.health.fall, 3);  // one failure and `retry 2` retries
  EXPECT_EQ(s.health.rise, 1);  // one success brings a real back in keepalived
}

TEST_F(DirectorFile, NatServiceWithHttpCheck) {
  ASSERT_EQ(result_.config.services.size(), 2u);
  const config::ServiceConfig& s = result_.config.services[1];
  EXPECT_EQ(s.name, "tcp-2001_db8_1__20-443");
  EXPECT_TRUE(config::IsServiceName(s.name));
  EXPECT_EQ(s.service.key.vip, Ip("2001:db8:1::20"));
  EXPECT_EQ(s.service.key.port, 443);
  EXPECT_EQ(s.service.options.forward, Forward::kNat);
  EXPECT_EQ(s.service.options.scheduler, Scheduler::kSourceHash);  // lb_algo sh
  EXPECT_EQ(s.service.options.persistence_timeout_s, 0u);
  EXPECT_EQ(s.reals, (std::vector<RealSpec>{{Ip("2001:db8:2::21"), 8443, 1},
                                            {Ip("2001:db8:2::22"), 8443, 1}}));
  EXPECT_EQ(s.health.type, HealthType::kHttp);
  EXPECT_EQ(s.health.port, 8080);
  EXPECT_EQ(s.health.path, "/healthz");
  EXPECT_EQ(s.health.expect, (std::vector<int>{200, 204}));
  EXPECT_EQ(s.health.interval, Duration(5000));
  EXPECT_EQ(s.health.timeout, Duration(1000));
  EXPECT_EQ(s.health.fall, 4);  // nb_get_retry 3
}

TEST_F(DirectorFile, NotesWhatIsNotCarriedOverWithItsLine) {
  const auto& notes = result_.notes;
  EXPECT_TRUE(HasNote(notes, Line("router_id"), {"router_id director1"}));
  EXPECT_TRUE(HasNote(notes, Line("notification_email {"), {"notification_email", "e-mail"}));
  EXPECT_TRUE(HasNote(notes, Line("timeout 3"), {"timeout 3", "does not time out"}));
  EXPECT_TRUE(HasNote(notes, Line("state MASTER"), {"state MASTER"}));
  EXPECT_TRUE(HasNote(notes, Line("auth_pass s3cret"), {"first 8", "s3cretpa"}));
  EXPECT_TRUE(HasNote(notes, Line("label eth0:1"), {"198.51.100.11", "label eth0:1"}));
  EXPECT_TRUE(HasNote(notes, Line("        chk_disk"), {"chk_disk weight 10", "raises", "160"}));
  EXPECT_TRUE(HasNote(notes, Line("lb_algo wlc"), {"lb_algo wlc", "Maglev", "weights are kept"}));
  EXPECT_TRUE(HasNote(notes, Line("sorry_server"), {"sorry_server 203.0.113.99 80"}));
  EXPECT_TRUE(HasNote(notes, Line("delay_before_retry"), {"delay_before_retry 1"}));
  EXPECT_TRUE(HasNote(notes, Line("digest"), {"digest"}));
  // What maps leaves no note: the address on the instance's own interface,
  // the negative weight, the v3 interval, the notify hooks.
  for (const char* mapped : {"198.51.100.10/24 dev eth0", "weight -30", "advert_int 0.5",
                             "notify /usr", "notify_master"})
    for (const ImportNote& n : notes) EXPECT_NE(n.line, Line(mapped)) << n.text;
  EXPECT_TRUE(std::is_sorted(notes.begin(), notes.end(), [](const ImportNote& a, const ImportNote& b) {
    return a.line < b.line;
  }));
}

// ---- syntax ----

TEST(KeepalivedSyntax, NotUtf8) {
  // Would be written to the YAML as U+FFFD and read back different (an
  // internal error before; found by tests/fuzz/keepalived.cc).
  EXPECT_TRUE(Fails("vrrp_instance VI_1 {\n  interface eth\xff\n}\n", "k.conf:2: not UTF-8 text (column 16)"));
}

TEST(KeepalivedSyntax, CommentsQuotesAndBraces) {
  // '#' inside a word does not start a comment: keepalived reads "51#x" too.
  EXPECT_TRUE(Fails("vrrp_instance VI_1 {\n  virtual_router_id 51#x\n}\n",
                    "k.conf:2: virtual_router_id", {"'51#x' is not a number"}));

  KeepalivedImport ok = Import(
      "! a comment\n"
      "vrrp_script chk { script \"/bin/check --tag '#1' {x}\"  # comment\n"
      "  interval 3 ! another\n"
      "}\n"
      "vrrp_instance VI_1\n"
      "{\n"
      "  interface eth0\n"
      "  virtual_router_id 51 # a comment\n"
      "  virtual_ipaddress {\n"
      "    198.51.100.10\n"
      "    198.51.100.11 }\n"
      "  track_script { chk }\n"
      "}\n");
  ASSERT_EQ(ok.config.vrrp.size(), 1u);
  const config::VrrpInstance& v = ok.config.vrrp[0];
  EXPECT_EQ(v.vrid, 51);
  EXPECT_EQ(v.addresses.size(), 2u);
  ASSERT_EQ(v.track.size(), 1u);
  EXPECT_EQ(v.track[0].target, "/bin/check --tag '#1' {x}");
  EXPECT_EQ(v.track[0].interval, Duration(3000));
}

TEST(KeepalivedSyntax, LineContinuation) {
  KeepalivedImport r = Import(Instance("  priority \\\n   120\n"));
  ASSERT_EQ(r.config.vrrp.size(), 1u);
  EXPECT_EQ(r.config.vrrp[0].priority, 120);
}

TEST(KeepalivedSyntax, ErrorsNameFileAndLine) {
  EXPECT_TRUE(Fails("global_defs {\n  router_id x\n\nvrrp_instance VI_1 {\n}\n",
                    "k.conf:1: 'global_defs {' is never closed"));
  EXPECT_TRUE(Fails("global_defs {\n}\n}\n", "k.conf:3: '}' closes nothing"));
  EXPECT_TRUE(Fails(Instance("  priority\n"), "k.conf:7: priority: missing value",
                    {"1..255"}));
  EXPECT_TRUE(Fails("vrrp_instance {\n}\n", "k.conf:1: vrrp_instance: missing value"));
  EXPECT_TRUE(Fails(Instance("  notify \"/bin/x\n"), "k.conf:7: a quoted string is not closed"));
  EXPECT_TRUE(Fails("{\n}\n", "k.conf:1: '{' with no keyword"));
  EXPECT_TRUE(Fails(Instance("  priority 300\n"), "k.conf:7: priority: 300 is out of range"));
  EXPECT_TRUE(Fails(Instance("  advert_int fast\n"), "k.conf:7: advert_int: 'fast' is not"));
  EXPECT_TRUE(Fails("$PRIO=100\n", "k.conf:1: parameter definitions ($PRIO=100)"));
  EXPECT_TRUE(Fails("virtual_server 198.51.100.300 80 {\n}\n",
                    "k.conf:1: virtual_server: '198.51.100.300' is not an IP address"));
  std::string deep;
  for (int i = 0; i < 20; ++i) deep += "a {\n";
  EXPECT_TRUE(Fails(deep, "k.conf:9: blocks nested deeper"));
}

// ---- notify hooks ----

TEST(KeepalivedNotify, EveryHookCarriedOverWithItsArguments) {
  KeepalivedImport r = Import(Instance(
      "  notify_master \"/etc/keepalived/notify.sh master\"\n"      // 7
      "  notify_backup /etc/keepalived/backup.sh\n"                 // 8
      "  notify_fault \"/etc/keepalived/notify.sh fault ' a b '\"\n"  // 9
      "  notify_stop \"/etc/keepalived/stop.sh $HOME;x\" root\n"    // 10
      "  notify /etc/keepalived/all.sh\n"                           // 11
      "  notify_deleted\n"                                          // 12
      "  notify_master_rx_lower_pri /bin/x\n"));                    // 13
  ASSERT_EQ(r.config.vrrp.size(), 1u);
  const config::VrrpInstance& v = r.config.vrrp[0];
  EXPECT_EQ(v.notify_master, "/etc/keepalived/notify.sh master");
  EXPECT_EQ(v.notify_backup, "/etc/keepalived/backup.sh");
  // keepalived's own word splitting, written for /bin/sh: the same words.
  EXPECT_EQ(v.notify_fault, "/etc/keepalived/notify.sh fault ' a b '");
  EXPECT_EQ(v.notify_stop, "/etc/keepalived/stop.sh '$HOME;x'");
  // A first word with '=' is no assignment; "\ " keeps the space in the word.
  const KeepalivedImport escaped = Import(Instance("  notify_backup \"A=1 /bin/x a\\ b\"\n"));
  EXPECT_EQ(escaped.config.vrrp.at(0).notify_backup, "'A=1' /bin/x 'a b'");
  // keepalived's notify has keepalived's arguments: notify_keepalived.
  EXPECT_EQ(v.notify_keepalived, "/etc/keepalived/all.sh");
  EXPECT_EQ(v.notify, "");
  EXPECT_TRUE(HasNote(r.notes, 10, {"notify_stop", "root", "user/group words are dropped"}));
  EXPECT_TRUE(HasNote(r.notes, 12, {"notify_deleted", "notify_stop"}));
  EXPECT_TRUE(HasNote(r.notes, 13, {"notify_master_rx_lower_pri"}));
  for (int line : {7, 8, 9, 11})
    for (const ImportNote& n : r.notes) EXPECT_NE(n.line, line) << n.text;
  // What the import writes out reads back the same.
  absl::StatusOr<config::Config> back = config::ParseConfig(config::ToYaml(r.config), "x.yaml");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->vrrp.at(0), v);
}

TEST(KeepalivedNotify, SyncGroupNotifiesAreNoted) {
  KeepalivedImport r = Import(
      "vrrp_sync_group G1 {\n"                      // 1
      "  group {\n    VI_1\n  }\n"                  // 2-4
      "  notify_master /etc/keepalived/g.sh\n"     // 5
      "  notify /etc/keepalived/all.sh\n"          // 6
      "}\n" +
      Instance(""));
  EXPECT_TRUE(HasNote(r.notes, 1, {"vrrp_sync_group G1", "no sync groups"}));
  EXPECT_TRUE(HasNote(r.notes, 5, {"vrrp_sync_group G1: notify_master /etc/keepalived/g.sh",
                                   "move the script to each instance"}));
  EXPECT_TRUE(HasNote(r.notes, 6, {"vrrp_sync_group G1: notify /etc/keepalived/all.sh",
                                   "INSTANCE", "not GROUP"}));
  ASSERT_EQ(r.config.vrrp.size(), 1u);
  EXPECT_EQ(r.config.vrrp[0].notify_master, "");
}

// A block keyword whose '{' is missing is reported at its own line, not at a
// '}' that closes nothing further down.
TEST(KeepalivedSyntax, MissingOpeningBraceNamesItsLine) {
  EXPECT_TRUE(Fails("global_defs {\n  router_id x\n}\n"
                    "virtual_server 192.0.2.1 80\n"   // 4
                    "  delay_loop 3\n"
                    "  real_server 192.0.2.11 80 {\n"
                    "    TCP_CHECK {\n    }\n"
                    "  }\n"
                    "}\n",
                    "k.conf:4: 'virtual_server 192.0.2.1 80' opens no block: '{' missing"));
  EXPECT_TRUE(Fails("virtual_server 192.0.2.1 80 {\n"
                    "  real_server 192.0.2.11 80\n"   // 2
                    "    weight 1\n"
                    "  }\n"
                    "}\n",
                    "k.conf:2: 'real_server 192.0.2.11 80' opens no block: '{' missing"));
  EXPECT_TRUE(Fails("virtual_server 192.0.2.1 80 {\n"
                    "  real_server 192.0.2.11 80 {\n"
                    "    TCP_CHECK\n"                 // 3
                    "      connect_timeout 3\n"
                    "    }\n  }\n}\n",
                    "k.conf:3: 'TCP_CHECK' opens no block: '{' missing"));
  EXPECT_TRUE(Fails(Instance("  virtual_ipaddress\n    198.51.100.11\n  }\n"),
                    "k.conf:7: 'virtual_ipaddress' opens no block: '{' missing"));
  EXPECT_TRUE(Fails("vrrp_instance VI_1\n", "k.conf:1: 'vrrp_instance VI_1' opens no block"));
  // In a list block an entry is a value, whatever it is spelt like.
  KeepalivedImport r = Import(
      "vrrp_script url {\n  script /bin/true\n}\n" +
      Instance("  track_script {\n    url\n  }\n"));
  ASSERT_EQ(r.config.vrrp.size(), 1u);
  EXPECT_EQ(r.config.vrrp[0].track.size(), 1u);
}

// ---- notes ----

TEST(KeepalivedNotes, IncludeConditionalAndUnknownKeywords) {
  KeepalivedImport r = Import(
      "include /etc/keepalived/conf.d/*.conf\n"         // 1
      "frobnicate 1 2\n"                                // 2
      "vrrp_instance VI_1 {\n"                          // 3
      "  interface eth0\n"                              // 4
      "  virtual_router_id 51\n"                        // 5
      "@backup priority 90\n"                           // 6
      "  use_vmac\n"                                    // 7
      "  virtual_ipaddress {\n    198.51.100.10\n  }\n"  // 8-10
      "  wibble\n"                                      // 11
      "}\n");
  EXPECT_TRUE(HasNote(r.notes, 1, {"include /etc/keepalived/conf.d/*.conf", "not followed"}));
  EXPECT_TRUE(HasNote(r.notes, 2, {"frobnicate 1 2"}));
  EXPECT_TRUE(HasNote(r.notes, 6, {"@backup priority 90", "-i backup"}));
  EXPECT_TRUE(HasNote(r.notes, 7, {"use_vmac", "virtual MAC"}));
  EXPECT_TRUE(HasNote(r.notes, 11, {"wibble"}));
  ASSERT_EQ(r.config.vrrp.size(), 1u);
  EXPECT_EQ(r.config.vrrp[0].priority, 100);  // the conditional line does not apply
}

TEST(KeepalivedNotes, PositiveWeightsRaiseThePriorityAtMost254) {
  KeepalivedImport r = Import(Instance(
      "  priority 240\n"
      "  track_interface {\n    eth1 weight 10\n    eth2 weight -5\n    eth3 weight 20\n  }\n"));
  ASSERT_EQ(r.config.vrrp.size(), 1u);
  const config::VrrpInstance& v = r.config.vrrp[0];
  EXPECT_EQ(v.priority, 254);
  ASSERT_EQ(v.track.size(), 3u);
  EXPECT_EQ(v.track[0].weight, 10);
  EXPECT_EQ(v.track[1].weight, 5);
  EXPECT_EQ(v.track[2].weight, 20);
  EXPECT_TRUE(HasNote(r.notes, 9, {"track_interface eth1 weight 10", "254", "at most 254"}));
  EXPECT_TRUE(HasNote(r.notes, 11, {"track_interface eth3 weight 20"}));
}

TEST(KeepalivedNotes, AddressOwnerKeepsItsPriority) {
  KeepalivedImport r = Import(Instance(
      "  priority 255\n  track_interface {\n    eth1 weight -10\n    eth2\n  }\n"));
  ASSERT_EQ(r.config.vrrp.size(), 1u);
  EXPECT_EQ(r.config.vrrp[0].priority, 255);
  // The weighted track is not carried over; the fault one is.
  EXPECT_EQ(r.config.vrrp[0].track, (std::vector<VrrpTrack>{{VrrpTrack::kInterface, "eth2", 0}}));
  EXPECT_TRUE(HasNote(r.notes, 9, {"eth1 weight -10", "address owner"}));
}

TEST(KeepalivedNotes, Authentication) {
  KeepalivedImport ah = Import(
      Instance("  authentication {\n    auth_type AH\n    auth_pass 1234\n  }\n"));
  ASSERT_EQ(ah.config.vrrp.size(), 1u);
  EXPECT_TRUE(ah.config.vrrp[0].auth_secret.empty());
  EXPECT_TRUE(HasNote(ah.notes, 8, {"auth_type AH", "not implement"}));

  KeepalivedImport v3 = Import(Instance(
      "  version 3\n  authentication {\n    auth_type PASS\n    auth_pass 1234\n  }\n"));
  ASSERT_EQ(v3.config.vrrp.size(), 1u);
  EXPECT_EQ(v3.config.vrrp[0].version, 3);
  EXPECT_TRUE(v3.config.vrrp[0].auth_secret.empty());
  EXPECT_TRUE(HasNote(v3.notes, 8, {"VRRPv3 has none"}));
}

TEST(KeepalivedNotes, VersionsAndIntervals) {
  KeepalivedImport r = Import(
      "global_defs {\n  vrrp_version 3\n}\n" + Instance("  advert_int 0.125\n"));
  ASSERT_EQ(r.config.vrrp.size(), 1u);
  EXPECT_EQ(r.config.vrrp[0].version, 3);
  EXPECT_EQ(r.config.vrrp[0].advert_interval, Duration(130));
  EXPECT_TRUE(HasNote(r.notes, 10, {"centiseconds", "130ms"}));

  KeepalivedImport v2 = Import(Instance("  advert_int 1.5\n"));
  ASSERT_EQ(v2.config.vrrp.size(), 1u);
  EXPECT_EQ(v2.config.vrrp[0].version, 2);
  EXPECT_EQ(v2.config.vrrp[0].advert_interval, Duration(2000));
  EXPECT_TRUE(HasNote(v2.notes, 7, {"whole seconds", "2s"}));

  // keepalived runs an IPv6 instance as version 3, whatever vrrp_version says.
  KeepalivedImport v6 = Import(
      "vrrp_instance VI_6 {\n  interface eth0\n  virtual_router_id 7\n"
      "  virtual_ipaddress {\n    2001:db8::10\n  }\n}\n");
  ASSERT_EQ(v6.config.vrrp.size(), 1u);
  EXPECT_EQ(v6.config.vrrp[0].version, 3);
  EXPECT_EQ(v6.config.vrrp[0].addresses.front().second, 128);
}

TEST(KeepalivedNotes, InstancesThatCannotBeCarriedOver) {
  KeepalivedImport r = Import(
      "vrrp_instance NO_VRID {\n  interface eth0\n  virtual_ipaddress {\n    198.51.100.1\n  }\n}\n"
      "vrrp_instance NO_VIPS {\n  interface eth0\n  virtual_router_id 9\n}\n");
  EXPECT_TRUE(r.config.vrrp.empty());
  EXPECT_TRUE(HasNote(r.notes, 1, {"vrrp_instance NO_VRID", "virtual_router_id"}));
  EXPECT_TRUE(HasNote(r.notes, 7, {"vrrp_instance NO_VIPS", "virtual_ipaddress"}));
  // Without an instance there is no interface to take: a placeholder, said.
  EXPECT_EQ(r.config.interfaces, (std::vector<std::string>{"eth0"}));
  EXPECT_TRUE(NoteMentions(r.notes, "change it to the interfaces"));
}

TEST(KeepalivedNotes, ServicesThatCannotBeCarriedOver) {
  KeepalivedImport r = Import(
      "virtual_server fwmark 1 {\n  lb_kind DR\n}\n"                               // 1-3
      "virtual_server 198.51.100.10 80 {\n  lb_kind TUN\n  tun_type gre\n}\n"    // 4-7
      "virtual_server 198.51.100.10 5060 {\n  protocol SCTP\n}\n"                  // 8-10
      "virtual_server 198.51.100.10 81 {\n  lb_kind TUN\n  tun_type gue\n"         // 11-13
      "  tun_flags csum\n}\n");                                                     // 14-15
  EXPECT_TRUE(r.config.services.empty());
  EXPECT_TRUE(HasNote(r.notes, 1, {"virtual_server fwmark 1", "firewall mark"}));
  EXPECT_TRUE(HasNote(r.notes, 6, {"tun_type gre", "not GRE"}));
  EXPECT_TRUE(HasNote(r.notes, 9, {"SCTP"}));
  EXPECT_TRUE(HasNote(r.notes, 14, {"tun_flags csum"}));
}

TEST(KeepalivedServices, KeepalivedDefaults) {
  KeepalivedImport r = Import(
      "virtual_server 198.51.100.10 53 {\n  protocol UDP\n"
      "  real_server 203.0.113.11 53 {\n    TCP_CHECK {\n    }\n  }\n}\n");
  ASSERT_EQ(r.config.services.size(), 1u);
  const config::ServiceConfig& s = r.config.services[0];
  EXPECT_EQ(s.name, "udp-198.51.100.10-53");
  EXPECT_EQ(s.service.key.protocol, Protocol::kUdp);
  EXPECT_EQ(s.service.options.forward, Forward::kNat);  // keepalived's default lb_kind
  EXPECT_EQ(s.health.interval, Duration(60'000));        // delay_loop 60
  EXPECT_EQ(s.health.timeout, Duration(5000));           // connect_timeout 5
  EXPECT_EQ(s.health.fall, 2);                           // retry 1
  EXPECT_EQ(s.reals, (std::vector<RealSpec>{{Ip("203.0.113.11"), 0, 1}}));
}

TEST(KeepalivedServices, TimeoutLongerThanTheIntervalIsShortened) {
  KeepalivedImport r = Import(
      "virtual_server 198.51.100.10 80 {\n  delay_loop 2\n  connect_timeout 3\n"
      "  real_server 203.0.113.11 80 {\n    TCP_CHECK {\n    }\n  }\n"
      "  real_server 203.0.113.12 80 {\n    TCP_CHECK {\n    }\n  }\n}\n");
  ASSERT_EQ(r.config.services.size(), 1u);
  EXPECT_EQ(r.config.services[0].health.timeout, Duration(2000));
  EXPECT_TRUE(HasNote(r.notes, 3, {"timeout 3s", "delay_loop 2s"}));
  // Said once, where it is set, not once per real.
  EXPECT_EQ(std::count_if(r.notes.begin(), r.notes.end(),
                          [](const ImportNote& n) { return n.line == 3; }),
            1);
}

TEST(KeepalivedServices, MiscCheckNamesTheRealThroughTheEnvironment) {
  KeepalivedImport r = Import(
      "virtual_server 198.51.100.10 5432 {\n  lb_kind DR\n"
      "  real_server 203.0.113.11 5432 {\n"
      "    MISC_CHECK {\n      misc_path \"/usr/local/bin/pg-check 203.0.113.11 5432\"\n"
      "      misc_timeout 2\n    }\n  }\n"
      "  real_server 203.0.113.12 5432 {\n"
      "    MISC_CHECK {\n      misc_path \"/usr/local/bin/pg-check 203.0.113.12 5432\"\n"
      "      misc_timeout 2\n    }\n  }\n}\n");
  ASSERT_EQ(r.config.services.size(), 1u);
  const config::HealthCheck& h = r.config.services[0].health;
  EXPECT_EQ(h.type, HealthType::kExec);
  EXPECT_EQ(h.command, "/usr/local/bin/pg-check $XLB_REAL_ADDRESS 5432");
  EXPECT_EQ(h.timeout, Duration(2000));
  EXPECT_EQ(h.fall, 1);  // MISC_CHECK's retry defaults to 0
  EXPECT_FALSE(NoteMentions(r.notes, "differs"));
}

TEST(KeepalivedServices, OneCheckPerService) {
  KeepalivedImport r = Import(
      "virtual_server 198.51.100.10 80 {\n  lb_kind DR\n"
      "  real_server 203.0.113.11 80 {\n    TCP_CHECK {\n      connect_port 81\n    }\n  }\n"
      "  real_server 203.0.113.12 80 {\n    TCP_CHECK {\n      connect_port 82\n    }\n  }\n"
      "  real_server 203.0.113.13 80 {\n    weight 0\n  }\n}\n");
  ASSERT_EQ(r.config.services.size(), 1u);
  EXPECT_EQ(r.config.services[0].health.port, 81);
  EXPECT_TRUE(HasNote(r.notes, 9, {"real_server 203.0.113.12", "differs (port 82, not 81)",
                                   "203.0.113.11 (line 4)"}));
  EXPECT_TRUE(HasNote(r.notes, 13, {"real_server 203.0.113.13", "no check"}));
  EXPECT_EQ(r.config.services[0].reals.back().weight, 0u);
}

TEST(KeepalivedServices, BindtoIsTheChecksSource) {
  KeepalivedImport r = Import(
      "virtual_server 198.51.100.10 80 {\n  lb_kind DR\n"
      "  real_server 203.0.113.11 80 {\n    TCP_CHECK {\n      bindto 203.0.113.2\n    }\n  }\n"
      "  real_server 203.0.113.12 80 {\n    TCP_CHECK {\n      bindto 2001:db8::2\n    }\n  }\n}\n");
  ASSERT_EQ(r.config.services.size(), 1u);
  EXPECT_EQ(r.config.services[0].health.source, Ip("203.0.113.2"));
  EXPECT_TRUE(HasNote(r.notes, 10, {"bindto 2001:db8::2", "not the family of the real"}));
  EXPECT_TRUE(HasNote(r.notes, 9, {"real_server 203.0.113.12", "differs (source the director's "
                                   "own, not 203.0.113.2)"}));
}

TEST(KeepalivedServices, SslGetIsAnHttpsCheckWithoutVerification) {
  KeepalivedImport r = Import(
      "virtual_server 198.51.100.10 5432 {\n  lb_kind DR\n"                      // 1-2
      "  real_server 203.0.113.11 5432 {\n    SSL_GET {\n      connect_port 8008\n"  // 3-5
      "      url {\n        path /primary\n        status_code 200\n      }\n"        // 6-9
      "    }\n  }\n}\n");
  ASSERT_EQ(r.config.services.size(), 1u);
  const config::HealthCheck& h = r.config.services[0].health;
  EXPECT_EQ(h.type, HealthType::kHttps);
  EXPECT_EQ(h.port, 8008);
  EXPECT_EQ(h.path, "/primary");
  EXPECT_EQ(h.expect, std::vector<int>{200});
  EXPECT_FALSE(h.tls.verify);
  EXPECT_TRUE(HasNote(r.notes, 4, {"SSL_GET", "verify: false", "ca_file"}));
  EXPECT_FALSE(NoteMentions(r.notes, "stands in"));
}

// lb_kind TUN is forward: tunnel: ipip by default, GUE with tun_type gue
// and tun_port (or keepalived's inline form); the real's port is the VIP's.
TEST(KeepalivedServices, TunnelsAreCarriedOver) {
  KeepalivedImport r = Import(
      "virtual_server 198.51.100.10 443 {\n  lb_kind TUN\n"                        // 1-2
      "  real_server 198.51.100.77 8443 {\n    TCP_CHECK {\n    }\n  }\n}\n"        // 3-7
      "virtual_server 198.51.100.10 80 {\n  lb_kind TUN\n  tun_type gue\n"        // 8-10
      "  tun_port 7000\n  tun_flags nocsum\n"                                      // 11-12
      "  real_server 198.51.100.77 80 {\n    lvs_method TUN\n  }\n}\n"             // 13-16
      "virtual_server 2001:db8::10 53 {\n  protocol UDP\n"                         // 17-18
      "  lb_kind TUN type gue port 6081\n"                                         // 19
      "  real_server 2001:db8:2::1 53 {\n  }\n}\n"                                 // 20-22
      "virtual_server 198.51.100.10 22 {\n  lb_kind DR\n  tun_type gue\n}\n");  // 23-26
  ASSERT_EQ(r.config.services.size(), 4u);
  const model::ServiceOptions& ipip = r.config.services[0].service.options;
  EXPECT_EQ(ipip.forward, Forward::kTunnel);
  EXPECT_EQ(ipip.tunnel, model::TunnelOptions{});  // ipip, every default
  EXPECT_EQ(r.config.services[0].reals, (std::vector<RealSpec>{{Ip("198.51.100.77"), 0, 1}}));
  EXPECT_EQ(r.config.services[0].health.port, 8443);
  EXPECT_TRUE(HasNote(r.notes, 3, {"a tunnel keeps the client's port"}));
  EXPECT_TRUE(HasNote(r.notes, 1, {"tunnel_source"}));
  const model::TunnelOptions& gue = r.config.services[1].service.options.tunnel;
  EXPECT_EQ(r.config.services[1].service.options.forward, Forward::kTunnel);
  EXPECT_EQ(gue.encap, model::Encap::kGue);
  EXPECT_EQ(gue.gue_port, 7000);
  EXPECT_FALSE(NoteMentions(r.notes, "lvs_method TUN"));  // the service's own kind
  const model::TunnelOptions& inline_gue = r.config.services[2].service.options.tunnel;
  EXPECT_EQ(inline_gue.encap, model::Encap::kGue);
  EXPECT_EQ(inline_gue.gue_port, 6081);
  EXPECT_EQ(r.config.services[3].service.options.forward, Forward::kDr);
  EXPECT_TRUE(HasNote(r.notes, 25, {"tun_type gue", "only for lb_kind TUN"}));
  // What the import writes is a config xlb reads back the same.
  const std::string yaml = config::ToYaml(r.config);
  EXPECT_NE(yaml.find("forward: tunnel\n    encap: gue\n    gue_port: 7000\n"), std::string::npos)
      << yaml;
  auto again = config::ParseConfig(yaml, "imported.yaml");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->services[1].service.options, r.config.services[1].service.options);
}

TEST(KeepalivedServices, DirectRoutingKeepsTheClientsPort) {
  KeepalivedImport r = Import(
      "virtual_server 198.51.100.10 80 {\n  lb_kind DR\n"
      "  real_server 203.0.113.11 8080 {\n    HTTP_GET {\n      url {\n        path /\n"
      "      }\n    }\n  }\n}\n");
  ASSERT_EQ(r.config.services.size(), 1u);
  const config::ServiceConfig& s = r.config.services[0];
  EXPECT_EQ(s.reals, (std::vector<RealSpec>{{Ip("203.0.113.11"), 0, 1}}));
  EXPECT_EQ(s.health.port, 8080);  // keepalived checked the real's port
  EXPECT_EQ(s.health.expect.size(), 100u);  // no status_code: any 2xx, as keepalived
  EXPECT_TRUE(HasNote(r.notes, 3, {"direct routing keeps the client's port"}));
}

// ---- what xlb's own validation refuses ----

TEST(KeepalivedValidation, RefusedResultNamesTheBlock) {
  const std::string text =
      Instance("") +
      "vrrp_instance VI_2 {\n  interface eth0\n  virtual_router_id 51\n"
      "  virtual_ipaddress {\n    198.51.100.20\n  }\n}\n";
  EXPECT_TRUE(Fails(text, "k.conf:8: vrrp_instance VI_2: xlb refuses what it becomes: vrrp[1].vrid",
                    {"51 is used twice on eth0"}));
  EXPECT_TRUE(Fails("vrrp_instance VI_1 {\n  interface bad/name\n  virtual_router_id 51\n"
                    "  virtual_ipaddress {\n    198.51.100.10\n  }\n}\n",
                    "k.conf:1: vrrp_instance VI_1: xlb refuses what it becomes: interfaces[0]",
                    {"'bad/name' is not an interface name"}));
  EXPECT_TRUE(Fails(
      "virtual_server 198.51.100.10 80 {\n  real_server 203.0.113.11 80 {\n"
      "    HTTP_GET {\n      url {\n        path healthz\n      }\n    }\n  }\n}\n",
      "k.conf:1: virtual_server 198.51.100.10 80: xlb refuses what it becomes: services[0].health.path",
      {"'healthz' is not an HTTP path"}));
}

// ---- sample files ----

// The sample configurations Debian ships with keepalived (scripts/setup.sh
// installs it) all import: what xlb cannot do becomes notes, not errors.
TEST(KeepalivedSamples, DebianSamplesImport) {
  const std::string dir = "/usr/share/doc/keepalived/samples";
  DIR* d = opendir(dir.c_str());
  // scripts/setup.sh installs keepalived: a missing folder is a failure, not a skip.
  ASSERT_NE(d, nullptr) << dir << " is missing (scripts/setup.sh installs keepalived)";
  std::vector<std::string> files;
  while (dirent* e = readdir(d))
    if (absl::StartsWith(e->d_name, "keepalived.conf")) files.push_back(dir + "/" + e->d_name);
  closedir(d);
  ASSERT_FALSE(files.empty()) << "no keepalived.conf.* in " << dir;
  for (const std::string& f : files) {
    absl::StatusOr<KeepalivedImport> r = ImportKeepalived(ReadFile(f), f);
    EXPECT_TRUE(r.ok()) << r.status();
  }

  // One of them field by field: four v2 instances, the repeated address once.
  const std::string f = dir + "/keepalived.conf.vrrp";
  const std::string text = ReadFile(f);
  absl::StatusOr<KeepalivedImport> r = ImportKeepalived(text, f);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->config.vrrp.size(), 4u);
  EXPECT_EQ(r->config.interfaces, (std::vector<std::string>{"eth0", "eth1"}));
  const config::VrrpInstance& v = r->config.vrrp[0];
  EXPECT_EQ(v.name, "VI_1");
  EXPECT_EQ(v.version, 2);
  EXPECT_EQ(v.auth_secret, "1111");
  EXPECT_EQ(v.addresses.size(), 3u);
  EXPECT_TRUE(HasNote(r->notes, LineOf(text, "192.168.200.18 label eth0:1"), {"listed twice"}));
  EXPECT_EQ(v.garp.interval, Duration(10'000));  // garp_master_delay 10
}

}  // namespace
}  // namespace xlb::migrate
