// Session status from FRR 8.4's JSON, captured (testdata/capture.sh) and
// hand-made for what the capture does not show.
#include "controlplane/bgp/status.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "controlplane/bgp/testdata/samples.h"
#include "gtest/gtest.h"

namespace xlb::bgp {
namespace {

using samples::Text;

TEST(Status, CapturedSummaryAndBfd) {
  absl::StatusOr<std::vector<Session>> s =
      ParseSessions(Text("bgp_summary.json"), Text("bfd_peers.json"));
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->size(), 2u);
  const Session& v4 = (*s)[0];
  EXPECT_EQ(v4.neighbor, "192.0.2.2");
  EXPECT_EQ(v4.remote_as, 64512u);
  EXPECT_EQ(v4.state, "Established");
  EXPECT_EQ(v4.uptime_ms, 5000);
  EXPECT_EQ(v4.prefixes_sent, 1u);
  EXPECT_EQ(v4.prefixes_received, 0u);
  EXPECT_EQ(v4.description, "xlbd");
  EXPECT_EQ(v4.bfd, "up");
  const Session& v6 = (*s)[1];
  EXPECT_EQ(v6.neighbor, "2001:db8:1::2");
  EXPECT_EQ(v6.state, "Established");
  EXPECT_EQ(v6.uptime_ms, 1000);
  EXPECT_EQ(v6.prefixes_sent, 0u);
  EXPECT_EQ(v6.bfd, "down");
}

TEST(Status, WithoutBfdAndNotEstablished) {
  absl::StatusOr<std::vector<Session>> s = ParseSessions(
      R"({"ipv4Unicast":{"peers":{"198.51.100.1":{"remoteAs":64512,"state":"Active",
          "peerUptimeMsec":0,"pfxSnt":0,"connectionsDropped":4}}},
         "ipv6Unicast":{"peers":{"198.51.100.1":{"remoteAs":64512,"state":"Active","pfxSnt":0}}}})",
      "");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->size(), 1u);  // one session though in both families
  EXPECT_EQ((*s)[0].state, "Active");
  EXPECT_EQ((*s)[0].connections_dropped, 4u);
  EXPECT_EQ((*s)[0].bfd, "");
}

TEST(Status, NoRouterBgp) {
  absl::StatusOr<std::vector<Session>> s = ParseSessions("{}", "[]");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->empty());
}

TEST(Status, BadJsonIsNamed) {
  absl::StatusOr<std::vector<Session>> s = ParseSessions("{", "");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("show bgp summary json"), std::string::npos);
  s = ParseSessions("{}", "{}");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("show bfd peers json: not an array"), std::string::npos);
  s = ParseSessions(R"({"ipv4Unicast":{"peers":{"192.0.2.2":{"remoteAs":"x"}}}})", "");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("show bgp summary json"), std::string::npos);
}

}  // namespace
}  // namespace xlb::bgp
