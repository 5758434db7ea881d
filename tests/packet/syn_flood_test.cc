// Packet tests of the SYN flood rule (bpf/flood.h): past the rate, a SYN for
// a direct-routing service is forwarded as before but makes no entry; its
// connection is recorded at its next packet, on the real the SYN went to.
#include <sched.h>

#include "dataplane/conntrack.h"
#include "tests/packet/packet_fixture.h"

namespace xlb::testing {
namespace {

constexpr uint32_t kRate = 5;  // SYNs per CPU and second that still make entries

// The rate is counted per CPU: a test that moved between CPUs would count on
// two. Holds the test on the CPU it runs on.
class OnThisCpu {
 public:
  OnThisCpu() {
    sched_getaffinity(0, sizeof(saved_), &saved_);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    sched_setaffinity(0, sizeof(one), &one);
  }
  ~OnThisCpu() { sched_setaffinity(0, sizeof(saved_), &saved_); }

 private:
  cpu_set_t saved_;
};

class SynFloodTest : public PacketTest {
 protected:
  void SetUp() override { Load("", kRate); }

  size_t Entries() {
    auto n = dataplane::CountConnections(prog_->maps());
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : 0;
  }

  int Syn(uint16_t port) { return SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", port, 80))); }
  int Ack(uint16_t port) {
    return SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", port, 80, kAck)));
  }

  OnThisCpu cpu_;
};

TEST_F(SynFloodTest, PastTheRateSynsAreForwardedWithoutEntries) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11", "203.0.113.12", "203.0.113.13"});
  for (uint16_t port = 30000; port < 30000 + kRate; ++port) EXPECT_GT(Syn(port), 0);
  EXPECT_EQ(Entries(), kRate);
  const uint64_t unrecorded = Global(XLB_STAT_SYN_UNRECORDED);
  std::map<int, int> share;
  for (uint16_t port = 31000; port < 31300; ++port) share[Syn(port)]++;
  EXPECT_EQ(Global(XLB_STAT_SYN_UNRECORDED), unrecorded + 300);
  EXPECT_EQ(Entries(), kRate) << "a SYN past the rate made an entry";
  EXPECT_EQ(share.size(), 3u) << "Maglev still spreads them over the reals";
  EXPECT_FALSE(share.contains(-1)) << "every SYN is forwarded";
}

TEST_F(SynFloodTest, TheHandshakesAckRecordsTheConnectionOnTheSynsReal) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11", "203.0.113.12", "203.0.113.13"});
  for (uint16_t port = 30000; port < 30000 + kRate; ++port) Syn(port);
  const int real = Syn(32000);
  ASSERT_GT(real, 0);
  const size_t entries = Entries();
  const uint64_t misses = Global(XLB_STAT_CONN_MISS);
  EXPECT_EQ(Ack(32000), real);
  EXPECT_EQ(Global(XLB_STAT_CONN_MISS), misses + 1);
  EXPECT_EQ(Entries(), entries + 1);
  // From now on the flow is in the table: a change of reals does not move it.
  SetReals("192.0.2.10:80/tcp", {"203.0.113.14"});
  EXPECT_EQ(Ack(32000), real);
}

TEST_F(SynFloodTest, ASynReusingAPortDropsTheEarlierConnectionsEntry) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11"});
  ASSERT_EQ(Syn(40001), 11);
  for (uint16_t port = 30000; port < 30000 + kRate; ++port) Syn(port);
  SetReals("192.0.2.10:80/tcp", {"203.0.113.11@0", "203.0.113.12"});  // 11 drained
  // A new connection on the same client port, past the rate: it goes to 12,
  // and so must its ACK, not to the entry the old connection left.
  EXPECT_EQ(Syn(40001), 12);
  EXPECT_EQ(Ack(40001), 12);
}

TEST_F(SynFloodTest, NatSynsAlwaysMakeTheirEntries) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11:8080"},
             [](auto& o) { o.forward = dataplane::Forward::kNat; });
  const uint64_t unrecorded = Global(XLB_STAT_SYN_UNRECORDED);
  for (uint16_t port = 30000; port < 30000 + 4 * kRate; ++port)
    EXPECT_EQ(Run(Build(Tcp("198.51.100.2", "192.0.2.10", port, 80))).verdict, XDP_TX);
  // Each NAT flow has its entry and its reply half: the real's SYN-ACK needs it.
  EXPECT_EQ(Entries(), 2 * 4 * kRate);
  EXPECT_EQ(Global(XLB_STAT_SYN_UNRECORDED), unrecorded);
}

TEST_F(SynFloodTest, RateZeroRecordsEverySyn) {
  Load("", 0);
  AddService("192.0.2.10:80/tcp", {"203.0.113.11"});
  for (uint16_t port = 30000; port < 30100; ++port) Syn(port);
  EXPECT_EQ(Entries(), 100u);
  EXPECT_EQ(Global(XLB_STAT_SYN_UNRECORDED), 0u);
}

}  // namespace
}  // namespace xlb::testing
