// The FRR plan, table-driven: running config (the captured sample, or
// nothing) + desired state -> the exact vtysh commands, or an error.
#include "controlplane/bgp/plan.h"

#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

#include "controlplane/bgp/testdata/samples.h"
#include "gtest/gtest.h"

namespace xlb::bgp {
namespace {

RunningConfig Captured(const std::string& name = "running_config_owned.txt") {
  absl::StatusOr<RunningConfig> rc = ParseRunningConfig(samples::Text(name));
  EXPECT_TRUE(rc.ok()) << rc.status();
  return rc.ok() ? *rc : RunningConfig{};
}

using samples::AsCaptured;

struct Case {
  std::string name;
  bool empty_running;  // else the captured sample
  std::function<void(Desired&)> change;
  std::vector<std::string> commands;
  std::string error;  // non-empty: Plan fails with a message containing it
};

class PlanTest : public testing::TestWithParam<Case> {};

TEST_P(PlanTest, Commands) {
  const Case& c = GetParam();
  Desired desired = AsCaptured();
  c.change(desired);
  RunningConfig running = c.empty_running ? RunningConfig{} : Captured();
  absl::StatusOr<std::vector<std::string>> plan = Plan(running, desired);
  if (!c.error.empty()) {
    ASSERT_FALSE(plan.ok());
    EXPECT_NE(plan.status().message().find(c.error), std::string::npos) << plan.status();
    return;
  }
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(*plan, c.commands);
}

const auto kNothing = [](Desired&) {};

INSTANTIATE_TEST_SUITE_P(
    Bgp, PlanTest,
    testing::Values(
        Case{"IdenticalGivesNoCommands", false, kNothing, {}, ""},
        Case{"EmptyRunningGivesFullConfig", true, kNothing,
             {"configure terminal",
              "ip prefix-list XLB-VIPS4 permit 203.0.113.10/32",
              "ip prefix-list XLB-VIPS4 permit 203.0.113.11/32",
              "ipv6 prefix-list XLB-VIPS6 permit 2001:db8:100::1/128",
              "route-map XLB-VIPS-OUT permit 10", "match ip address prefix-list XLB-VIPS4", "exit",
              "route-map XLB-VIPS-OUT permit 20", "match ipv6 address prefix-list XLB-VIPS6",
              "exit",
              "bfd", "profile xlbd", "transmit-interval 100", "receive-interval 100",
              "detect-multiplier 3", "exit", "exit",
              "router bgp 64513", "bgp router-id 192.0.2.1", "no bgp network import-check",
              "neighbor 192.0.2.2 remote-as 64512", "neighbor 192.0.2.2 description xlbd",
              "neighbor 192.0.2.2 password s3cret", "neighbor 192.0.2.2 bfd profile xlbd",
              "neighbor 192.0.2.2 timers 3 9",
              "neighbor 2001:db8:1::2 remote-as 64512", "neighbor 2001:db8:1::2 description xlbd",
              "neighbor 2001:db8:1::2 bfd profile xlbd", "neighbor 2001:db8:1::2 timers 5 15",
              "address-family ipv4 unicast", "neighbor 192.0.2.2 activate",
              "neighbor 192.0.2.2 route-map XLB-VIPS-OUT out",
              "neighbor 192.0.2.2 next-hop-self", "no neighbor 2001:db8:1::2 activate",
              "network 203.0.113.10/32", "exit-address-family",
              "address-family ipv6 unicast", "no neighbor 192.0.2.2 activate",
              "neighbor 2001:db8:1::2 activate",
              "neighbor 2001:db8:1::2 route-map XLB-VIPS-OUT out",
              "network 2001:db8:100::1/128", "exit-address-family", "exit"},
             ""},
        Case{"VipAddedAndAnnounced", false,
             [](Desired& d) {
               d.vips.insert("198.51.100.7");
               d.announce.insert("198.51.100.7");
             },
             {"configure terminal", "ip prefix-list XLB-VIPS4 permit 198.51.100.7/32",
              "router bgp 64513", "address-family ipv4 unicast", "network 198.51.100.7/32",
              "exit-address-family", "exit"},
             ""},
        Case{"VipRemoved", false,
             [](Desired& d) {
               d.vips.erase("203.0.113.10");
               d.announce.erase("203.0.113.10");
             },
             {"configure terminal", "router bgp 64513", "address-family ipv4 unicast",
              "no network 203.0.113.10/32", "exit-address-family", "exit",
              "no ip prefix-list XLB-VIPS4 seq 5 permit 203.0.113.10/32"},
             ""},
        Case{"VipWithdrawnButStillOwned", false,
             [](Desired& d) { d.announce.erase("2001:db8:100::1"); },
             {"configure terminal", "router bgp 64513", "address-family ipv6 unicast",
              "no network 2001:db8:100::1/128", "exit-address-family", "exit"},
             ""},
        Case{"DrainRemovesOnlyNetworks", false, [](Desired& d) { d.announce.clear(); },
             {"configure terminal", "router bgp 64513", "address-family ipv4 unicast",
              "no network 203.0.113.10/32", "exit-address-family", "address-family ipv6 unicast",
              "no network 2001:db8:100::1/128", "exit-address-family", "exit"},
             ""},
        // A VIP without a verdict yet (xlbd just started): its network
        // stays as bgpd has it, announced or not; the others as usual.
        Case{"KeptVipIsNeitherWithdrawnNorAnnounced", false,
             [](Desired& d) {
               d.announce = {};
               d.keep = {"203.0.113.10", "203.0.113.11"};
             },
             {"configure terminal", "router bgp 64513", "address-family ipv6 unicast",
              "no network 2001:db8:100::1/128", "exit-address-family", "exit"},
             ""},
        Case{"KeptMustBeAVipNotAnnounced", false, [](Desired& d) { d.keep = {"203.0.113.10"}; },
             {}, "kept VIP 203.0.113.10 is not a bgp VIP, or is announced too"},
        Case{"TimersChanged", false,
             [](Desired& d) {
               d.neighbors[0].keepalive = 1;
               d.neighbors[0].hold = 3;
             },
             {"configure terminal", "router bgp 64513", "neighbor 192.0.2.2 timers 1 3", "exit"},
             ""},
        Case{"PasswordChanged", false, [](Desired& d) { d.neighbors[0].password = "n3w"; },
             {"configure terminal", "router bgp 64513", "neighbor 192.0.2.2 password n3w",
              "exit"},
             ""},
        Case{"PasswordRemovedAndBfdOff", false,
             [](Desired& d) {
               d.neighbors[0].password = "";
               d.neighbors[0].bfd = false;
             },
             {"configure terminal", "router bgp 64513", "no neighbor 192.0.2.2 password",
              "no neighbor 192.0.2.2 bfd", "exit"},
             ""},
        // Only the timers that differ; the sessions keep their binding
        // (bfdd applies the profile to them without a reset, measured).
        Case{"BfdTimersChanged", false, [](Desired& d) { d.bfd = {200, 5}; },
             {"configure terminal", "bfd", "profile xlbd", "transmit-interval 200",
              "receive-interval 200", "detect-multiplier 5", "exit", "exit"},
             ""},
        Case{"BfdMultiplierChanged", false, [](Desired& d) { d.bfd.multiplier = 4; },
             {"configure terminal", "bfd", "profile xlbd", "detect-multiplier 4", "exit", "exit"},
             ""},
        // The profile stays (plan.cc says why) and is not updated.
        Case{"BfdOffEverywhereLeavesTheProfile", false,
             [](Desired& d) {
               d.neighbors[0].bfd = d.neighbors[1].bfd = false;
               d.bfd = {200, 5};
             },
             {"configure terminal", "router bgp 64513", "no neighbor 192.0.2.2 bfd",
              "no neighbor 2001:db8:1::2 bfd", "exit"},
             ""},
        Case{"BfdIntervalOutOfRange", false, [](Desired& d) { d.bfd.interval_ms = 5; },
             {}, "bgp.bfd.interval 5ms: 10ms..60000ms"},
        Case{"BfdMultiplierOutOfRange", false, [](Desired& d) { d.bfd.multiplier = 256; },
             {}, "bgp.bfd.multiplier 256: 2..255"},
        Case{"XlbdNeighborRemovedOperatorsUntouched", false,
             [](Desired& d) { d.neighbors.pop_back(); },
             {"configure terminal", "router bgp 64513", "no neighbor 2001:db8:1::2", "exit"},
             ""},
        Case{"NonCanonicalAddressesMatch", false,
             [](Desired& d) {
               d.neighbors[1].address = "2001:0db8:1:0::2";
               d.vips = {"203.0.113.10", "203.0.113.11", "2001:db8:100:0::1"};
               d.announce = {"203.0.113.10", "2001:db8:100::0:1"};
             },
             {}, ""},
        Case{"OtherAsIsAnError", false, [](Desired& d) { d.local_as = 64514; },
             {}, "bgp.local_as 64514: bgpd already runs AS 64513"},
        Case{"OperatorsNeighborIsAnError", false,
             [](Desired& d) { d.neighbors.push_back({"198.51.100.9", 64999}); },
             {}, "bgp neighbor 198.51.100.9: configured in FRR by the operator"},
        Case{"AnnouncedMustBeAVip", false, [](Desired& d) { d.announce.insert("192.0.2.99"); },
             {}, "announced VIP 192.0.2.99 is not a bgp VIP"},
        Case{"BadVip", false, [](Desired& d) { d.vips.insert("203.0.113.300"); },
             {}, "VIP '203.0.113.300' is not an IP address"},
        Case{"PasswordWithSpace", false, [](Desired& d) { d.neighbors[0].password = "a b"; },
             {}, "bgp neighbor 192.0.2.2: the password must be printable"}),
    [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

// testdata/running_config_applied.txt is what a bgpd without config ran
// after the plan of EmptyRunningGivesFullConfig (testdata/capture.sh): it
// must plan to nothing, or every reconcile would re-issue commands.
TEST(Plan, AppliedPlanIsStable) {
  absl::StatusOr<std::vector<std::string>> plan =
      Plan(Captured("running_config_applied.txt"), AsCaptured());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(*plan, std::vector<std::string>{});
}

// A stray entry in xlbd's prefix-list or route-map is removed; an operator
// network outside xlbd's prefix-lists is left alone.
TEST(Plan, StrayOwnedEntriesRemovedOperatorNetworkKept) {
  RunningConfig running = Captured();
  running.prefix_list4[50] = {"deny", "203.0.113.10/32"};
  running.route_map[30] = {"deny", {}};
  running.networks4.insert("198.51.100.200/32");
  absl::StatusOr<std::vector<std::string>> plan = Plan(running, AsCaptured());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(*plan, (std::vector<std::string>{
                       "configure terminal",
                       "no ip prefix-list XLB-VIPS4 seq 50 deny 203.0.113.10/32",
                       "no route-map XLB-VIPS-OUT deny 30"}));
}

// A plain `neighbor X bfd` (an xlbd before the profile, or an operator's
// `no neighbor X bfd profile`) gets the binding, nothing else.
TEST(Plan, BfdWithoutProfileGetsTheBinding) {
  RunningConfig running = Captured();
  running.neighbors["192.0.2.2"].bfd_profile = "";
  running.neighbors["2001:db8:1::2"].bfd_profile = "fast";
  absl::StatusOr<std::vector<std::string>> plan = Plan(running, AsCaptured());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(*plan, (std::vector<std::string>{"configure terminal", "router bgp 64513",
                                             "neighbor 192.0.2.2 bfd profile xlbd",
                                             "neighbor 2001:db8:1::2 bfd profile xlbd", "exit"}));
}

// No profile (bfdd restarted without it, or an operator removed it): every
// timer, and every binding again: bfdd does not apply a profile created
// after the binding until the binding is given again (measured, FRR 8.4.4).
// With bfdd not running this call fails at `bfd` ("bfdd is not running"),
// after the removals.
TEST(Plan, MissingProfileIsCreatedAndBoundAgain) {
  RunningConfig running = Captured();
  running.bfd_profile.reset();
  Desired desired = AsCaptured();
  desired.announce.erase("2001:db8:100::1");
  absl::StatusOr<std::vector<std::string>> plan = Plan(running, desired);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(*plan, (std::vector<std::string>{
                       "configure terminal", "router bgp 64513", "address-family ipv6 unicast",
                       "no network 2001:db8:100::1/128", "exit-address-family", "exit", "bfd",
                       "profile xlbd", "transmit-interval 100", "receive-interval 100",
                       "detect-multiplier 3", "exit", "exit", "router bgp 64513",
                       "neighbor 192.0.2.2 bfd profile xlbd",
                       "neighbor 2001:db8:1::2 bfd profile xlbd", "exit"}));
}

// Without a neighbour using BFD, no profile is needed (nor bfdd).
TEST(Plan, NoBfdNoProfile) {
  Desired desired = AsCaptured();
  for (DesiredNeighbor& n : desired.neighbors) n.bfd = false;
  absl::StatusOr<std::vector<std::string>> plan = Plan(RunningConfig{}, desired);
  ASSERT_TRUE(plan.ok()) << plan.status();
  for (const std::string& c : *plan) {
    EXPECT_EQ(c.find("bfd"), std::string::npos) << c;
  }
}

// A neighbour that lost its activation or route-map gets exactly that back.
TEST(Plan, NeighborFamilyRepaired) {
  RunningConfig running = Captured();
  running.neighbors["2001:db8:1::2"].ipv6.route_map_out = false;
  running.neighbors["2001:db8:1::2"].ipv4.active = true;
  absl::StatusOr<std::vector<std::string>> plan = Plan(running, AsCaptured());
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(*plan, (std::vector<std::string>{
                       "configure terminal", "router bgp 64513", "address-family ipv4 unicast",
                       "no neighbor 2001:db8:1::2 activate", "exit-address-family",
                       "address-family ipv6 unicast",
                       "neighbor 2001:db8:1::2 route-map XLB-VIPS-OUT out",
                       "exit-address-family", "exit"}));
}

}  // namespace
}  // namespace xlb::bgp
