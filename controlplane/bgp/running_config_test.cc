// The running-config parser against real `show running-config` output of
// FRR 8.4 (testdata/capture.sh) and a few hand-made variants.
#include "controlplane/bgp/running_config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "controlplane/bgp/testdata/samples.h"
#include "gtest/gtest.h"

namespace xlb::bgp {
namespace {

using samples::Text;

TEST(RunningConfig, CapturedDirector) {
  absl::StatusOr<RunningConfig> rc = ParseRunningConfig(Text("running_config_owned.txt"));
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_EQ(rc->local_as, 64513u);
  EXPECT_EQ(rc->router_id, "192.0.2.1");
  EXPECT_FALSE(rc->import_check);
  EXPECT_FALSE(rc->default_ipv4_unicast);
  ASSERT_EQ(rc->neighbors.size(), 3u);
  const RunningNeighbor& v4 = rc->neighbors.at("192.0.2.2");
  EXPECT_TRUE(v4.xlbd);
  EXPECT_EQ(v4.remote_as, 64512u);
  EXPECT_EQ(v4.password, "s3cret");
  EXPECT_TRUE(v4.bfd);
  EXPECT_EQ(v4.bfd_profile, "xlbd");
  EXPECT_EQ(v4.keepalive, 3);
  EXPECT_EQ(v4.hold, 9);
  EXPECT_TRUE(v4.ipv4.active);
  EXPECT_TRUE(v4.ipv4.route_map_out);
  EXPECT_TRUE(v4.ipv4.next_hop_self);
  EXPECT_FALSE(v4.ipv6.active);
  const RunningNeighbor& v6 = rc->neighbors.at("2001:db8:1::2");
  EXPECT_TRUE(v6.xlbd);
  EXPECT_EQ(v6.password, "");
  EXPECT_EQ(v6.keepalive, 5);
  EXPECT_EQ(v6.hold, 15);
  EXPECT_FALSE(v6.ipv4.active);
  EXPECT_TRUE(v6.ipv6.active);
  EXPECT_TRUE(v6.ipv6.route_map_out);
  EXPECT_FALSE(v6.ipv6.next_hop_self);
  const RunningNeighbor& op = rc->neighbors.at("198.51.100.9");
  EXPECT_FALSE(op.xlbd);
  EXPECT_EQ(op.remote_as, 64999u);
  EXPECT_TRUE(op.bfd);
  EXPECT_EQ(op.bfd_profile, "fast");
  // bfdd's profile xlbd, 100 ms (printed) x 3 (bfdd's default: not printed);
  // the operator's profile `fast` (50 ms) is not read.
  ASSERT_TRUE(rc->bfd_profile.has_value());
  EXPECT_EQ(rc->bfd_profile->transmit_interval, 100);
  EXPECT_EQ(rc->bfd_profile->receive_interval, 100);
  EXPECT_EQ(rc->bfd_profile->detect_multiplier, 3);
  EXPECT_EQ(rc->networks4, (std::set<std::string>{"203.0.113.10/32"}));
  EXPECT_EQ(rc->networks6, (std::set<std::string>{"2001:db8:100::1/128"}));
  ASSERT_EQ(rc->prefix_list4.size(), 2u);
  EXPECT_EQ(rc->prefix_list4.at(5).prefix, "203.0.113.10/32");
  EXPECT_EQ(rc->prefix_list4.at(10).prefix, "203.0.113.11/32");
  EXPECT_EQ(rc->prefix_list4.at(10).action, "permit");
  ASSERT_EQ(rc->prefix_list6.size(), 1u);
  EXPECT_EQ(rc->prefix_list6.at(5).prefix, "2001:db8:100::1/128");
  ASSERT_EQ(rc->route_map.size(), 2u);
  EXPECT_EQ(rc->route_map.at(10).action, "permit");
  EXPECT_EQ(rc->route_map.at(10).matches,
            std::vector<std::string>{"match ip address prefix-list XLB-VIPS4"});
  EXPECT_EQ(rc->route_map.at(20).matches,
            std::vector<std::string>{"match ipv6 address prefix-list XLB-VIPS6"});
}

TEST(RunningConfig, CapturedRouterHasNothingOfXlbd) {
  absl::StatusOr<RunningConfig> rc = ParseRunningConfig(Text("running_config_router.txt"));
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_EQ(rc->local_as, 64512u);
  EXPECT_TRUE(rc->import_check);
  ASSERT_EQ(rc->neighbors.size(), 2u);
  for (const auto& [address, n] : rc->neighbors) EXPECT_FALSE(n.xlbd) << address;
  EXPECT_TRUE(rc->prefix_list4.empty());
  EXPECT_TRUE(rc->route_map.empty());
}

TEST(RunningConfig, NoBgpAtAll) {
  absl::StatusOr<RunningConfig> rc =
      ParseRunningConfig("Building configuration...\n\nCurrent configuration:\n!\n"
                         "frr version 8.4.4\nfrr defaults traditional\nhostname vm\n!\nend\n");
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_EQ(rc->local_as, 0u);
  EXPECT_TRUE(rc->neighbors.empty());
}

// With `bgp default ipv4-unicast` (FRR's default) a neighbour is active in
// IPv4 unless `no neighbor X activate` says otherwise.
TEST(RunningConfig, DefaultIpv4UnicastAndOtherBlocks) {
  absl::StatusOr<RunningConfig> rc = ParseRunningConfig(
      "router bgp 64513\n"
      " neighbor 192.0.2.2 remote-as 64512\n"
      " neighbor 2001:db8:1::2 remote-as external\n"
      " neighbor 2001:db8:1::2 description xlbd\n"
      " !\n"
      " address-family ipv4 unicast\n"
      "  no neighbor 2001:db8:1::2 activate\n"
      " exit-address-family\n"
      " address-family l2vpn evpn\n"
      "  network 198.51.100.1/32\n"
      " exit-address-family\n"
      "exit\n"
      "router bgp 64600 vrf blue\n"
      " neighbor 198.51.100.2 remote-as 1\n"
      "exit\n"
      "ip prefix-list OTHER seq 5 permit 203.0.113.1/32\n"
      "ip prefix-list XLB-VIPS4 seq 7 deny 203.0.113.2/32\n"
      "route-map OTHER permit 10\n"
      " match ip address prefix-list XLB-VIPS4\n"
      "exit\n");
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_EQ(rc->local_as, 64513u);
  ASSERT_EQ(rc->neighbors.size(), 2u);
  EXPECT_TRUE(rc->neighbors.at("192.0.2.2").ipv4.active);
  EXPECT_FALSE(rc->neighbors.at("2001:db8:1::2").ipv4.active);
  EXPECT_EQ(rc->neighbors.at("2001:db8:1::2").remote_as, 0u);
  EXPECT_TRUE(rc->networks4.empty());
  ASSERT_EQ(rc->prefix_list4.size(), 1u);
  EXPECT_EQ(rc->prefix_list4.at(7).action, "deny");
  EXPECT_TRUE(rc->route_map.empty());
}

// bfdd's block: only profile xlbd is read; peers and other profiles are
// the operator's, whatever their lines.
TEST(RunningConfig, BfdProfileAmongOthers) {
  absl::StatusOr<RunningConfig> rc = ParseRunningConfig(
      "bfd\n"
      " peer 192.0.2.99\n"
      "  detect-multiplier 9\n"
      " exit\n"
      " !\n"
      " profile xlbd-other\n"
      "  transmit-interval 20\n"
      " exit\n"
      " !\n"
      " profile xlbd\n"
      "  detect-multiplier 5\n"
      "  transmit-interval 200\n"
      "  receive-interval 250\n"
      " exit\n"
      " !\n"
      " profile fast\n"
      "  receive-interval 10\n"
      " exit\n"
      "exit\n");
  ASSERT_TRUE(rc.ok()) << rc.status();
  ASSERT_TRUE(rc->bfd_profile.has_value());
  EXPECT_EQ(rc->bfd_profile->transmit_interval, 200);
  EXPECT_EQ(rc->bfd_profile->receive_interval, 250);
  EXPECT_EQ(rc->bfd_profile->detect_multiplier, 5);
  rc = ParseRunningConfig("bfd\n profile fast\n exit\nexit\n");
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_FALSE(rc->bfd_profile.has_value());
}

TEST(RunningConfig, MalformedLineIsNamed) {
  absl::StatusOr<RunningConfig> rc = ParseRunningConfig("!\nrouter bgp\n");
  ASSERT_FALSE(rc.ok());
  EXPECT_NE(rc.status().message().find("line 2"), std::string::npos) << rc.status();
  rc = ParseRunningConfig("router bgp 1\n neighbor 192.0.2.2 timers x 9\n");
  ASSERT_FALSE(rc.ok());
  EXPECT_NE(rc.status().message().find("timers x 9"), std::string::npos) << rc.status();
  rc = ParseRunningConfig("bfd\n profile xlbd\n  transmit-interval fast\n exit\nexit\n");
  ASSERT_FALSE(rc.ok());
  EXPECT_NE(rc.status().message().find("line 3"), std::string::npos) << rc.status();
}

}  // namespace
}  // namespace xlb::bgp
