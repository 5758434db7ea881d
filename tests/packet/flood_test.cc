// Packet tests of the flood rule (bpf/flood.h): past the rate, a new flow
// (SYN, first packet of an unknown flow, UDP) of a direct-routing service is
// forwarded as before but makes no entry, and is recorded at a later packet
// on the same real; a new NAT flow is dropped and counted.
#include <sched.h>

#include <chrono>
#include <thread>

#include "dataplane/conntrack.h"
#include "tests/packet/packet_fixture.h"

namespace xlb::testing {
namespace {

constexpr uint32_t kRate = 5;  // new flows per CPU and second that still make entries

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

class FloodTest : public PacketTest {
 protected:
  void SetUp() override { Load("", kRate); }

  size_t Entries() {
    auto n = dataplane::CountConnections(prog_->maps());
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? *n : 0;
  }

  size_t PersistEntries() {
    size_t n = 0;
    xlb_persist_key key, next;
    const xlb_persist_key* at = nullptr;
    for (int i = 0; i < 10000; ++i) {
      auto more = prog_->maps().persist_table.NextKey(at, &next);
      if (!more.ok() || !*more) break;
      ++n;
      key = next;
      at = &key;
    }
    return n;
  }

  int Syn(uint16_t port) { return SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", port, 80))); }
  int Ack(uint16_t port) {
    return SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", port, 80, kAck)));
  }

  OnThisCpu cpu_;
};

TEST_F(FloodTest, PastTheRateSynsAreForwardedWithoutEntries) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11", "203.0.113.12", "203.0.113.13"});
  for (uint16_t port = 30000; port < 30000 + kRate; ++port) EXPECT_GT(Syn(port), 0);
  EXPECT_EQ(Entries(), kRate);
  const uint64_t unrecorded = Global(XLB_STAT_FLOW_UNRECORDED);
  std::map<int, int> share;
  for (uint16_t port = 31000; port < 31300; ++port) share[Syn(port)]++;
  EXPECT_EQ(Global(XLB_STAT_FLOW_UNRECORDED), unrecorded + 300);
  EXPECT_EQ(Entries(), kRate) << "a SYN past the rate made an entry";
  EXPECT_EQ(share.size(), 3u) << "Maglev still spreads them over the reals";
  EXPECT_FALSE(share.contains(-1)) << "every SYN is forwarded";
}

TEST_F(FloodTest, TheConnectionIsRecordedOnTheSynsRealOnceTheRateAllows) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11", "203.0.113.12", "203.0.113.13"});
  for (uint16_t port = 30000; port < 30000 + kRate; ++port) Syn(port);
  const int real = Syn(32000);
  ASSERT_GT(real, 0);
  const size_t entries = Entries();
  // Still past the rate: the handshake's ACK follows its SYN, unrecorded.
  EXPECT_EQ(Ack(32000), real);
  EXPECT_EQ(Entries(), entries);
  // The rate is per second: in the next one, the flow's next packet is
  // recorded, on the same real.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  const uint64_t misses = Global(XLB_STAT_CONN_MISS);
  EXPECT_EQ(Ack(32000), real);
  EXPECT_EQ(Global(XLB_STAT_CONN_MISS), misses + 1);
  EXPECT_EQ(Entries(), entries + 1);
  // From now on the flow is in the table: a change of reals does not move it.
  SetReals("192.0.2.10:80/tcp", {"203.0.113.14"});
  EXPECT_EQ(Ack(32000), real);
}

TEST_F(FloodTest, ASynReusingAPortDropsTheEarlierConnectionsEntry) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11"});
  ASSERT_EQ(Syn(40001), 11);
  for (uint16_t port = 30000; port < 30000 + kRate; ++port) Syn(port);
  SetReals("192.0.2.10:80/tcp", {"203.0.113.11@0", "203.0.113.12"});  // 11 drained
  // A new connection on the same client port, past the rate: it goes to 12,
  // and so must its ACK, not to the entry the old connection left.
  EXPECT_EQ(Syn(40001), 12);
  EXPECT_EQ(Ack(40001), 12);
}

TEST_F(FloodTest, AcksAndUdpOfUnknownFlowsPastTheRateAreForwardedWithoutEntries) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11", "203.0.113.12", "203.0.113.13"});
  AddService("192.0.2.10:53/udp", {"203.0.113.11", "203.0.113.12", "203.0.113.13"});
  for (uint16_t port = 30000; port < 30000 + kRate; ++port) EXPECT_GT(Ack(port), 0);
  EXPECT_EQ(Entries(), kRate) << "below the rate an ACK of an unknown flow is recorded";
  const uint64_t unrecorded = Global(XLB_STAT_FLOW_UNRECORDED);
  std::map<int, int> share;
  for (uint16_t port = 31000; port < 31100; ++port) {
    share[Ack(port)]++;
    Frame udp = Tcp("198.51.100.2", "192.0.2.10", port, 53);
    udp.proto = kUdp;
    share[SentTo(Build(udp))]++;
  }
  EXPECT_EQ(Global(XLB_STAT_FLOW_UNRECORDED), unrecorded + 200);
  EXPECT_EQ(Entries(), kRate) << "an ACK or a datagram past the rate made an entry";
  EXPECT_EQ(share.size(), 3u) << "Maglev still spreads them over the reals";
  EXPECT_FALSE(share.contains(-1)) << "every packet is forwarded";
}

TEST_F(FloodTest, NewNatFlowsPastTheRateAreDroppedAndCounted) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11:8080"},
             [](auto& o) { o.forward = model::Forward::kNat; });
  AddService("192.0.2.10:53/udp", {"203.0.113.11:5353"},
             [](auto& o) { o.forward = model::Forward::kNat; });
  const uint64_t dropped = Global(XLB_STAT_NAT_FLOOD_DROPPED);
  for (uint16_t port = 30000; port < 30000 + kRate; ++port)
    EXPECT_STREQ(VerdictName(Run(Build(Tcp("198.51.100.2", "192.0.2.10", port, 80))).verdict),
                 "XDP_TX");
  // Each NAT flow has its entry and its reply half: the real's SYN-ACK needs it.
  EXPECT_EQ(Entries(), 2 * kRate);
  for (uint16_t port = 31000; port < 31010; ++port) {
    EXPECT_STREQ(VerdictName(Run(Build(Tcp("198.51.100.2", "192.0.2.10", port, 80))).verdict),
                 "XDP_DROP");
    EXPECT_STREQ(
        VerdictName(Run(Build(Tcp("198.51.100.2", "192.0.2.10", port, 80, kAck))).verdict),
        "XDP_DROP");
    Frame udp = Tcp("198.51.100.2", "192.0.2.10", port, 53);
    udp.proto = kUdp;
    EXPECT_STREQ(VerdictName(Run(Build(udp)).verdict), "XDP_DROP");
  }
  EXPECT_EQ(Global(XLB_STAT_NAT_FLOOD_DROPPED), dropped + 30);
  EXPECT_EQ(Entries(), 2 * kRate) << "a NAT flow past the rate made entries";
  // An established NAT flow goes on: a table hit is not a new flow.
  EXPECT_STREQ(
      VerdictName(Run(Build(Tcp("198.51.100.2", "192.0.2.10", 30000, 80, kAck))).verdict),
      "XDP_TX");
}

TEST_F(FloodTest, PersistenceIsNotRecordedPastTheRate) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11", "203.0.113.12", "203.0.113.13"},
             [](auto& o) { o.persistence_timeout_s = 300; });
  for (uint16_t port = 30000; port < 30000 + kRate; ++port) Syn(port);
  const uint64_t unrecorded = Global(XLB_STAT_PERSIST_UNRECORDED);
  for (int client = 1; client <= 20; ++client)
    EXPECT_GT(SentTo(Build(Tcp("198.51.100." + std::to_string(100 + client), "192.0.2.10",
                               40000, 80, kAck))),
              0);
  EXPECT_EQ(Global(XLB_STAT_PERSIST_UNRECORDED), unrecorded + 20);
  EXPECT_EQ(PersistEntries(), 1u) << "only the first client (below the rate) is recorded";
}

TEST_F(FloodTest, RateZeroRecordsEverySyn) {
  Load("", 0);
  AddService("192.0.2.10:80/tcp", {"203.0.113.11"});
  for (uint16_t port = 30000; port < 30100; ++port) Syn(port);
  EXPECT_EQ(Entries(), 100u);
  EXPECT_EQ(Global(XLB_STAT_FLOW_UNRECORDED), 0u);
}

}  // namespace
}  // namespace xlb::testing
