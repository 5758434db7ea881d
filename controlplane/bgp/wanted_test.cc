// Which VIPs are announced, from the bgp: section and the reals' health
// (wanted.h), and the Desired state that follows.
#include "controlplane/bgp/wanted.h"

#include "gtest/gtest.h"

namespace xlb::bgp {
namespace {

model::IpAddress Ip(const char* text) {
  auto a = model::IpAddress::Parse(text);
  EXPECT_TRUE(a.ok()) << text;
  return *a;
}

config::BgpConfig Section() {
  config::BgpConfig b;
  b.asn = 64513;
  b.router_id = Ip("198.51.100.1");
  config::BgpNeighbor n;
  n.address = Ip("198.51.100.254");
  n.asn = 64512;
  n.password = "s3cret";
  n.bfd = true;
  n.hold_time = std::chrono::seconds(30);
  n.keepalive = std::chrono::seconds(10);
  b.neighbors = {n};
  b.bfd.interval = std::chrono::milliseconds(100);
  b.bfd.multiplier = 4;
  return b;
}

constexpr RealVerdict kHealthy{true, true, true};
constexpr RealVerdict kDown{false, false, true};       // failed its checks
constexpr RealVerdict kUnchecked{true, false, false};  // no check completed yet
constexpr RealVerdict kFailedOnce{true, false, true};  // up (fall not reached), never passed
constexpr RealVerdict kDrained{false, true, true};     // passes, weight 0

std::string Verdicts(const std::vector<VipVerdict>& vips) {
  std::string out;
  for (const VipVerdict& v : vips)
    out += v.vip.ToString() + (v.healthy ? " healthy" : v.judged ? " withdrawn" : " kept") + "; ";
  return out;
}

TEST(JudgeVips, OneHealthyRealOfOneServiceAnnouncesTheVip) {
  const std::vector<ServiceVerdicts> services = {
      {Ip("203.0.113.10"), {kDown, kHealthy}},        // :80
      {Ip("203.0.113.10"), {kDown}},                  // :443, all down
      {Ip("203.0.113.11"), {kDown, kDrained}},        // nothing takes traffic
      {Ip("203.0.113.12"), {kUnchecked, kFailedOnce}},  // not judged yet: kept
      {Ip("203.0.113.13"), {kUnchecked, kHealthy}},   // healthy before all are judged
      {Ip("2001:db8:100::1"), {}},                     // no reals
  };
  EXPECT_EQ(Verdicts(JudgeVips(Section(), services)),
            "203.0.113.10 healthy; 203.0.113.11 withdrawn; 203.0.113.12 kept; "
            "203.0.113.13 healthy; 2001:db8:100::1 withdrawn; ");
}

TEST(JudgeVips, NothingJudgedUntilSyncIsReady) {
  const std::vector<ServiceVerdicts> services = {{Ip("203.0.113.10"), {kHealthy}},
                                                 {Ip("203.0.113.11"), {kDown}}};
  EXPECT_EQ(Verdicts(JudgeVips(Section(), services, false)),
            "203.0.113.10 kept; 203.0.113.11 kept; ");
  EXPECT_EQ(Verdicts(JudgeVips(Section(), services, true)),
            "203.0.113.10 healthy; 203.0.113.11 withdrawn; ");
}

TEST(JudgeVips, AnnounceListLimitsAndKeepsServicelessVips) {
  config::BgpConfig b = Section();
  b.announce = {Ip("203.0.113.11"), Ip("203.0.113.20")};
  const std::vector<ServiceVerdicts> services = {{Ip("203.0.113.10"), {kHealthy}},
                                                 {Ip("203.0.113.11"), {kHealthy}}};
  // .10 is not listed; .20 has no service (deleted at run time): withdrawn.
  EXPECT_EQ(Verdicts(JudgeVips(b, services)), "203.0.113.11 healthy; 203.0.113.20 withdrawn; ");
}

TEST(MakeDesired, FromTheSectionAndTheVerdicts) {
  config::BgpConfig b = Section();
  b.next_hop_self = false;
  const Desired d = MakeDesired(b, {{Ip("203.0.113.10"), true, true},
                                    {Ip("203.0.113.11"), false, true},
                                    {Ip("203.0.113.12"), false, false}});
  EXPECT_EQ(d.local_as, 64513u);
  EXPECT_EQ(d.router_id, "198.51.100.1");
  EXPECT_EQ(d.bfd.interval_ms, 100);
  EXPECT_EQ(d.bfd.multiplier, 4);
  ASSERT_EQ(d.neighbors.size(), 1u);
  EXPECT_EQ(d.neighbors[0].address, "198.51.100.254");
  EXPECT_EQ(d.neighbors[0].remote_as, 64512u);
  EXPECT_EQ(d.neighbors[0].password, "s3cret");
  EXPECT_TRUE(d.neighbors[0].bfd);
  EXPECT_EQ(d.neighbors[0].keepalive, 10);
  EXPECT_EQ(d.neighbors[0].hold, 30);
  EXPECT_FALSE(d.neighbors[0].next_hop_self);
  EXPECT_EQ(d.vips, (std::set<std::string>{"203.0.113.10", "203.0.113.11", "203.0.113.12"}));
  EXPECT_EQ(d.announce, (std::set<std::string>{"203.0.113.10"}));
  EXPECT_EQ(d.keep, (std::set<std::string>{"203.0.113.12"}));
}

TEST(ConfigWarnings, AnAnnouncedNatVipIsNamed) {
  config::Config c;
  config::ServiceConfig dr, nat;
  dr.name = "web";
  dr.service.key = {Ip("203.0.113.10"), 80};
  nat.name = "pg";
  nat.service.key = {Ip("203.0.113.11"), 5432};
  nat.service.options.forward = model::Forward::kNat;
  c.services = {dr, nat};
  EXPECT_TRUE(ConfigWarnings(c).empty());  // no bgp: section
  c.bgp = Section();
  const std::vector<std::string> w = ConfigWarnings(c);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].rfind("bgp: service pg (203.0.113.11:5432/tcp) is NAT and its VIP is announced "
                       "(announce: all): ", 0), 0u) << w[0];
  c.bgp->announce = {Ip("203.0.113.10")};  // the NAT VIP on VRRP only
  EXPECT_TRUE(ConfigWarnings(c).empty());
}

}  // namespace
}  // namespace xlb::bgp
