// What a connection-table entry counts as (ipvsadm's ActiveConn/InActConn).
#include "dataplane/conntrack.h"

#include <netinet/in.h>

#include "gtest/gtest.h"

namespace xlb::dataplane {
namespace {

constexpr uint64_t kSecond = 1000000000ull;

xlb_conn Conn(uint32_t flags, uint64_t last_seen_s) {
  xlb_conn c{};
  c.timeout_s = 900;
  c.closing_timeout_s = 120;
  c.flags = flags;
  c.last_seen_ns = last_seen_s * kSecond;
  return c;
}

constexpr uint32_t kEstablished = XLB_CONN_F_ESTABLISHED;

TEST(ClassifyConnection, TcpEstablishedIsActiveClosingAndHalfOpenInactive) {
  const uint64_t now = 1000 * kSecond;
  EXPECT_EQ(ClassifyConnection(IPPROTO_TCP, Conn(kEstablished, 999), now), ConnActivity::kActive);
  EXPECT_EQ(ClassifyConnection(IPPROTO_TCP, Conn(kEstablished | XLB_CONN_F_NAT, 999), now),
            ConnActivity::kActive);
  EXPECT_EQ(ClassifyConnection(IPPROTO_TCP, Conn(kEstablished | XLB_CONN_F_CLOSING, 999), now),
            ConnActivity::kInactive);
  // SYN only (no ACK from the client yet): half-open, as IPVS's SYN_RECV.
  EXPECT_EQ(ClassifyConnection(IPPROTO_TCP, Conn(0, 999), now), ConnActivity::kInactive);
  EXPECT_EQ(ClassifyConnection(IPPROTO_TCP, Conn(XLB_CONN_F_CLOSING, 999), now),
            ConnActivity::kInactive);
}

TEST(ClassifyConnection, UdpIsInactiveAsInIpvs) {
  const uint64_t now = 1000 * kSecond;
  EXPECT_EQ(ClassifyConnection(IPPROTO_UDP, Conn(0, 999), now), ConnActivity::kInactive);
  EXPECT_EQ(ClassifyConnection(IPPROTO_UDP, Conn(kEstablished, 999), now), ConnActivity::kInactive);
}

TEST(ClassifyConnection, PastTheTimeoutInForceIsExpired) {
  const uint64_t now = 1000 * kSecond;
  // Open: 900 s.
  EXPECT_EQ(ClassifyConnection(IPPROTO_TCP, Conn(kEstablished, 100), now), ConnActivity::kActive);
  EXPECT_EQ(ClassifyConnection(IPPROTO_TCP, Conn(kEstablished, 99), now), ConnActivity::kExpired);
  EXPECT_EQ(ClassifyConnection(IPPROTO_TCP, Conn(0, 99), now), ConnActivity::kExpired);
  // Closing: 120 s.
  EXPECT_EQ(ClassifyConnection(IPPROTO_TCP, Conn(XLB_CONN_F_CLOSING, 880), now),
            ConnActivity::kInactive);
  EXPECT_EQ(ClassifyConnection(IPPROTO_TCP, Conn(XLB_CONN_F_CLOSING, 879), now),
            ConnActivity::kExpired);
  EXPECT_EQ(ClassifyConnection(IPPROTO_UDP, Conn(0, 99), now), ConnActivity::kExpired);
  // Seen after `now` (another CPU's coarse clock): not expired.
  EXPECT_EQ(ClassifyConnection(IPPROTO_TCP, Conn(kEstablished, 1001), now), ConnActivity::kActive);
}

}  // namespace
}  // namespace xlb::dataplane
