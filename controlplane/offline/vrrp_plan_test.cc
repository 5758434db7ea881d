// The VIP planner: who masters what, who takes over, what the sections say,
// what it refuses, and whether the links hold after a failure.
#include "controlplane/offline/vrrp_plan.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "controlplane/config/emit.h"
#include "controlplane/config/parse.h"
#include "gtest/gtest.h"

namespace xlb::vrrp {
namespace {

PlanRequest Request(int directors, int vips) {
  PlanRequest r;
  for (int d = 0; d < directors; ++d) r.directors.push_back(absl::StrCat("lb", d));
  for (int v = 0; v < vips; ++v) r.vips.push_back(absl::StrCat("198.51.100.", 10 + v));
  return r;
}

Plan Planned(const PlanRequest& r) {
  auto plan = MakePlan(r);
  EXPECT_TRUE(plan.ok()) << plan.status();
  return plan.ok() ? *plan : Plan{};
}

std::string Error(const PlanRequest& r) {
  auto plan = MakePlan(r);
  return plan.ok() ? "(no error)" : std::string(plan.status().message());
}

// The spread of VIPs over the directors that are up: max - min.
int Spread(const Plan& plan, const std::vector<bool>& failed) {
  const std::vector<int> counts = plan.Counts(failed);
  int lo = 1 << 30, hi = 0;
  for (size_t d = 0; d < counts.size(); ++d) {
    if (failed[d]) continue;
    lo = std::min(lo, counts[d]);
    hi = std::max(hi, counts[d]);
  }
  return hi - lo;
}

TEST(VrrpPlan, IssueExampleThreeDirectorsSixVips) {
  PlanRequest r;
  r.directors = {"a", "b", "c"};
  r.vips = {"198.51.100.1", "198.51.100.2", "198.51.100.3",
            "198.51.100.4", "198.51.100.5", "198.51.100.6/24"};
  const Plan plan = Planned(r);
  ASSERT_EQ(plan.vips.size(), 6u);
  // A masters VIPs 1 and 4; B takes 1 and C takes 4 when A fails.
  EXPECT_EQ(plan.vips[0].order, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(plan.vips[3].order, (std::vector<int>{0, 2, 1}));
  // B's go first to A, which is nobody's second choice yet, then to C.
  EXPECT_EQ(plan.vips[1].order, (std::vector<int>{1, 0, 2}));
  EXPECT_EQ(plan.vips[4].order, (std::vector<int>{1, 2, 0}));
  EXPECT_EQ(plan.priorities, (std::vector<uint8_t>{150, 100, 50}));
  EXPECT_EQ(plan.Counts({false, false, false}), (std::vector<int>{2, 2, 2}));
  EXPECT_EQ(plan.Counts({true, false, false}), (std::vector<int>{0, 3, 3}));
  EXPECT_EQ(plan.Counts({false, true, false}), (std::vector<int>{3, 0, 3}));
  EXPECT_EQ(plan.Counts({false, false, true}), (std::vector<int>{3, 3, 0}));

  const std::vector<config::VrrpInstance> a = plan.Instances(0);
  ASSERT_EQ(a.size(), 6u);
  EXPECT_EQ(a[0].name, "vip-198.51.100.1");
  EXPECT_EQ(a[0].interface, "eth0");
  EXPECT_EQ(a[0].vrid, 51);
  EXPECT_EQ(a[5].vrid, 56);
  EXPECT_EQ(a[0].priority, 150);
  EXPECT_EQ(a[1].priority, 100);  // B masters VIP 2, then A, then C
  EXPECT_EQ(a[4].priority, 50);   // B masters VIP 5, then C, then A
  EXPECT_EQ(a[0].advert_interval, config::VrrpInstance{}.advert_interval);
  EXPECT_EQ(a[0].addresses,
            (std::vector<std::pair<model::IpAddress, int>>{
                {*model::IpAddress::Parse("198.51.100.1"), 32}}));
  EXPECT_EQ(a[5].addresses.at(0).second, 24);

  const std::string table = FormatTable(plan);
  EXPECT_TRUE(absl::StrContains(table, "VIP              VRID  a     b     c\n")) << table;
  EXPECT_TRUE(absl::StrContains(table, "198.51.100.1/32  51    150*  100   50\n")) << table;
  EXPECT_TRUE(absl::StrContains(table, "198.51.100.4/32  54    150*  50    100\n")) << table;
}

// The point of the plan: after any one failure the survivors' counts differ
// by at most 1, and by nothing when the VIPs divide evenly.
TEST(VrrpPlan, OneFailureSpreadsEvenly) {
  for (int n = 2; n <= 10; ++n) {
    for (int v = n; v <= 4 * n; ++v) {
      SCOPED_TRACE(absl::StrCat(n, " directors, ", v, " VIPs"));
      const Plan plan = Planned(Request(n, v));
      ASSERT_EQ(plan.vips.size(), static_cast<size_t>(v));
      EXPECT_LE(Spread(plan, std::vector<bool>(n, false)), 1);
      if (v % n == 0) {
        EXPECT_EQ(Spread(plan, std::vector<bool>(n, false)), 0);
      }
      for (int f = 0; f < n; ++f) {
        std::vector<bool> failed(n, false);
        failed[f] = true;
        EXPECT_LE(Spread(plan, failed), 1) << "lb" << f << " down";
        if (v % (n - 1) == 0) {
          EXPECT_EQ(Spread(plan, failed), 0) << "lb" << f << " down";
        }
        // Every VIP still has a holder, and not the failed one.
        for (int h : plan.Holders(failed)) EXPECT_TRUE(h >= 0 && h != f);
      }
    }
  }
}

// After two failures the survivors' counts are not always within 1 of
// each other (the second choices were fixed to make one failure even): what
// holds for these sizes is within 2, and within 1 in 935 of the 1015 cases.
// Round robin alone (no "fewest VIPs so far" tie-break) gave 3 and 857.
TEST(VrrpPlan, TwoFailuresStayNearlyEven) {
  int uneven = 0, cases = 0;
  for (int n = 3; n <= 7; ++n) {
    for (int v = n; v <= 4 * n; ++v) {
      SCOPED_TRACE(absl::StrCat(n, " directors, ", v, " VIPs"));
      const Plan plan = Planned(Request(n, v));
      for (int f = 0; f < n; ++f) {
        for (int g = f + 1; g < n; ++g) {
          std::vector<bool> failed(n, false);
          failed[f] = failed[g] = true;
          const int spread = Spread(plan, failed);
          EXPECT_LE(spread, 2) << "lb" << f << " and lb" << g << " down";
          ++cases;
          uneven += spread > 1;
        }
      }
    }
  }
  EXPECT_EQ(cases, 1015);
  EXPECT_LE(uneven, 80);
}

TEST(VrrpPlan, OrdersArePermutationsWithDistinctPriorities) {
  for (int n : {2, 3, 4, 5, 6, 10, 50, 254}) {
    SCOPED_TRACE(absl::StrCat(n, " directors"));
    PlanRequest r = Request(n, n);
    r.vips.clear();
    for (int v = 0; v < n; ++v) r.vips.push_back(absl::StrCat("2001:db8::", v + 1));
    r.vrid_base = 1;
    const Plan plan = Planned(r);
    ASSERT_EQ(plan.priorities.size(), static_cast<size_t>(n));
    EXPECT_EQ(plan.priorities.back(), std::min(50, 254 / n));
    EXPECT_LE(plan.priorities.front(), 254);
    for (size_t k = 1; k < plan.priorities.size(); ++k)
      EXPECT_LT(plan.priorities[k], plan.priorities[k - 1]);
    for (size_t i = 0; i < plan.vips.size(); ++i) {
      std::vector<int> order = plan.vips[i].order;
      EXPECT_EQ(order.front(), static_cast<int>(i) % n);
      std::sort(order.begin(), order.end());
      for (int d = 0; d < n; ++d) EXPECT_EQ(order[d], d);
      EXPECT_EQ(plan.Priority(i, plan.vips[i].order.front()), plan.priorities.front());
    }
  }
  EXPECT_EQ(Planned(Request(2, 2)).priorities, (std::vector<uint8_t>{100, 50}));
  EXPECT_EQ(Planned(Request(5, 5)).priorities, (std::vector<uint8_t>{250, 200, 150, 100, 50}));
  EXPECT_EQ(Planned(Request(6, 6)).priorities, (std::vector<uint8_t>{252, 210, 168, 126, 84, 42}));
}

TEST(VrrpPlan, SectionsParseBackAsTheyWereMade) {
  PlanRequest r = Request(3, 4);
  r.vips.push_back("2001:db8::10/64");
  r.interface = "bond0.12";
  r.vrid_base = 200;
  r.advert_interval = config::Duration(100);
  const Plan plan = Planned(r);
  for (size_t d = 0; d < plan.directors.size(); ++d) {
    const std::vector<config::VrrpInstance> instances = plan.Instances(d);
    const std::string yaml = config::VrrpSectionToYaml(instances);
    ASSERT_TRUE(absl::StartsWith(yaml, "vrrp:\n")) << yaml;
    auto parsed = config::ParseConfig(absl::StrCat("interfaces: [eth0]\n", yaml), "plan.yaml");
    ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << yaml;
    EXPECT_EQ(parsed->vrrp, instances);
    EXPECT_EQ(instances.at(4).name, "vip-2001-db8--10");
    EXPECT_EQ(instances.at(4).vrid, 204);
    EXPECT_EQ(instances.at(4).interface, "bond0.12");
    EXPECT_EQ(instances.at(4).advert_interval, config::Duration(100));
  }
  // The whole-file writer keeps writing the same section.
  config::Config c;
  c.interfaces = {"eth0"};
  c.vrrp = plan.Instances(0);
  EXPECT_TRUE(absl::StrContains(config::ToYaml(c), config::VrrpSectionToYaml(c.vrrp)));
}

TEST(VrrpPlan, RefusesBadInput) {
  EXPECT_EQ(Error(Request(3, 2)),
            "2 VIPs for 3 directors: each director must be master of at least one (expected at "
            "least 3 VIPs)");
  EXPECT_EQ(Error(Request(1, 2)), "1 director: nobody to fail over to (expected at least 2)");
  EXPECT_EQ(Error(Request(0, 2)), "0 directors: nobody to fail over to (expected at least 2)");

  PlanRequest r = Request(3, 3);
  r.directors = {"a", "b", "a"};
  EXPECT_EQ(Error(r), "director 'a' is listed twice (at 1 and 3)");
  r.directors = {"a", "b c", "d"};
  EXPECT_EQ(Error(r), "director 'b c' is not a name (expected letters, digits, '_', '.', '-')");
  r.directors = {"a", "", "d"};
  EXPECT_EQ(Error(r), "director '' is not a name (expected letters, digits, '_', '.', '-')");

  r = Request(3, 3);
  r.vips = {"198.51.100.1/24", "198.51.100.2", "198.51.100.1"};
  EXPECT_EQ(Error(r), "VIP 198.51.100.1 is listed twice (as '198.51.100.1/24' and '198.51.100.1')");
  r.vips = {"2001:db8::1", "2001:DB8:0::1/64", "198.51.100.1"};
  EXPECT_EQ(Error(r), "VIP 2001:db8::1 is listed twice (as '2001:db8::1' and '2001:DB8:0::1/64')");
  r.vips = {"198.51.100.1", "198.51.100.2/33", "198.51.100.3"};
  EXPECT_EQ(Error(r), "VIP '198.51.100.2/33' has a bad prefix length (expected 1..32 for IPv4)");
  r.vips = {"198.51.100.1", "2001:db8::2/", "198.51.100.3"};
  EXPECT_EQ(Error(r), "VIP '2001:db8::2/' has a bad prefix length (expected 1..128 for IPv6)");
  r.vips = {"198.51.100.1", "web", "198.51.100.3"};
  EXPECT_EQ(Error(r),
            "VIP 'web' is not an address (expected ADDRESS[/PREFIX], e.g. 198.51.100.10 or "
            "2001:db8::10/64)");

  r = Request(3, 7);
  r.vrid_base = 250;
  EXPECT_EQ(Error(r),
            "VRIDs 250..256 would pass 255 (7 VIPs from VRID base 250; expected a base of at "
            "most 249)");
  r.vrid_base = 249;
  EXPECT_EQ(Error(r), "(no error)");
  r.vrid_base = 0;
  EXPECT_EQ(Error(r), "VRID base 0 is out of range (expected 1..255)");
  r = Request(3, 256);
  r.vips.clear();
  for (int v = 0; v < 256; ++v) r.vips.push_back(absl::StrCat("198.51.", 100 + v / 200, ".", v % 200 + 1));
  r.vrid_base = 1;
  EXPECT_EQ(Error(r),
            "VRIDs 1..256 would pass 255 (256 VIPs from VRID base 1; expected at most 255 VIPs "
            "on one interface)");

  // The config's own rules, as its parser words them.
  r = Request(2, 2);
  r.interface = "eth0:1";
  EXPECT_TRUE(absl::StartsWith(Error(r),
                               "the planned vrrp: section would not be valid: vrrp[0].interface: "
                               "'eth0:1' is not an interface name"))
      << Error(r);
  r = Request(2, 2);
  r.advert_interval = config::Duration(15);
  EXPECT_EQ(Error(r),
            "the planned vrrp: section would not be valid: vrrp[0].advert_interval: 15ms is not "
            "a multiple of 10ms (version 3 counts in centiseconds; expected 10ms..40.95s)");
}

TEST(VrrpPlan, CapacityOfTheIssue) {
  // 1.5 Gbit/s over 6 VIPs on 3 directors with 1 Gbit/s links: after one
  // failure each survivor holds 3 VIPs = 750 Mbit/s.
  PlanRequest r = Request(3, 6);
  const Plan three = Planned(r);
  const CapacityReport ok = CheckCapacity(three, *ParseBitRate("1.5G"), *ParseBitRate("1Gbit/s"));
  EXPECT_TRUE(ok.fits);
  ASSERT_EQ(ok.cases.size(), 4u);
  EXPECT_EQ(ok.cases[0].failed, -1);
  EXPECT_EQ(ok.cases[0].loads, (std::vector<double>{500e6, 500e6, 500e6}));
  EXPECT_EQ(ok.cases[1].failed, 0);
  EXPECT_EQ(ok.cases[1].counts, (std::vector<int>{0, 3, 3}));
  EXPECT_EQ(ok.cases[1].loads, (std::vector<double>{0, 750e6, 750e6}));
  const std::string text = FormatCapacity(three, ok);
  EXPECT_TRUE(absl::StrContains(text, "lb0 down: lb1 3 VIPs 750 Mbit/s, lb2 3 VIPs 750 Mbit/s  fits"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "fits: with all up and after any one failure every director "
                                      "carries at most 750 Mbit/s, within its 1 Gbit/s"))
      << text;

  // Two directors: the survivor carries all 1.5 Gbit/s.
  const Plan two = Planned(Request(2, 6));
  const CapacityReport over = CheckCapacity(two, 1.5e9, 1e9);
  EXPECT_FALSE(over.fits);
  EXPECT_TRUE(over.cases[0].fits);
  EXPECT_FALSE(over.cases[1].fits);
  EXPECT_EQ(over.cases[1].loads, (std::vector<double>{0, 1.5e9}));
  EXPECT_TRUE(absl::StrContains(FormatCapacity(two, over), "lb0 down: lb1 6 VIPs 1.5 Gbit/s  OVER"));

  // A load of exactly the link fits; a bit more does not. 3 VIPs on 3
  // directors: one survivor takes 2 of 3.
  const Plan tight = Planned(Request(3, 3));
  EXPECT_TRUE(CheckCapacity(tight, 3e9, 2e9).fits);
  EXPECT_FALSE(CheckCapacity(tight, 3e9, 2e9 - 1).fits);
}

TEST(VrrpPlan, ParsesBitRates) {
  EXPECT_EQ(*ParseBitRate("1.5G"), 1.5e9);
  EXPECT_EQ(*ParseBitRate("1000M"), 1e9);
  EXPECT_EQ(*ParseBitRate("1.5Gbit"), 1.5e9);
  EXPECT_EQ(*ParseBitRate("1Gbit/s"), 1e9);
  EXPECT_EQ(*ParseBitRate("1gbps"), 1e9);
  EXPECT_EQ(*ParseBitRate("10Gb/s"), 10e9);
  EXPECT_EQ(*ParseBitRate("100k"), 1e5);
  EXPECT_EQ(*ParseBitRate("2T"), 2e12);
  EXPECT_EQ(*ParseBitRate("1 Gbit/s"), 1e9);
  EXPECT_EQ(*ParseBitRate("1500000000"), 1.5e9);
  EXPECT_EQ(*ParseBitRate("64bits/s"), 64);
  auto message = [](const char* text) {
    return std::string(ParseBitRate(text).status().message());
  };
  EXPECT_EQ(message("1GB"), "'1GB' is in bytes (expected bit/s, e.g. 1.5G, 1000M, 1Gbit/s)");
  EXPECT_EQ(message("1GB/s"), "'1GB/s' is in bytes (expected bit/s, e.g. 1.5G, 1000M, 1Gbit/s)");
  EXPECT_EQ(message("1Gx"),
            "'1Gx' has an unknown unit 'x' (expected bit/s, e.g. 1.5G, 1000M, 1Gbit/s)");
  EXPECT_EQ(message("1Pbit"),
            "'1Pbit' has an unknown unit 'Pbit' (expected bit/s, e.g. 1.5G, 1000M, 1Gbit/s)");
  EXPECT_EQ(message("G"), "'G' is not a bit rate (expected bit/s, e.g. 1.5G, 1000M, 1Gbit/s)");
  EXPECT_EQ(message("1.2.3G"),
            "'1.2.3G' is not a bit rate (expected bit/s, e.g. 1.5G, 1000M, 1Gbit/s)");
  EXPECT_EQ(message("-1G"), "'-1G' is not a bit rate (expected bit/s, e.g. 1.5G, 1000M, 1Gbit/s)");
  EXPECT_EQ(message("0G"), "'0G' is not more than 0 (expected bit/s, e.g. 1.5G, 1000M, 1Gbit/s)");
  EXPECT_EQ(message(""), "'' is not a bit rate (expected bit/s, e.g. 1.5G, 1000M, 1Gbit/s)");

  EXPECT_EQ(FormatBitRate(1.5e9), "1.5 Gbit/s");
  EXPECT_EQ(FormatBitRate(750e6), "750 Mbit/s");
  EXPECT_EQ(FormatBitRate(1e9 / 3), "333.333 Mbit/s");
  EXPECT_EQ(FormatBitRate(64), "64 bit/s");
}

}  // namespace
}  // namespace xlb::vrrp
