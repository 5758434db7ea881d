// Active and inactive connections per real (ipvsadm's ActiveConn and
// InActConn), counted from the connection table the program fills, and the
// connection listing's limit and total.
#include <map>

#include "dataplane/conntrack.h"
#include "tests/packet/packet_fixture.h"

namespace xlb::testing {
namespace {

class ConnCountsTest : public PacketTest {
 protected:
  // Counts by real address, summed over the reals of `key`.
  std::map<std::string, model::ConnectionCounts> Counts(const std::string& key) {
    std::map<std::string, model::ConnectionCounts> out;
    auto counts = dataplane::CountConnectionsByReal(prog_->maps());
    EXPECT_TRUE(counts.ok()) << counts.status();
    auto state = table_->Get(Key(key));
    EXPECT_TRUE(state.ok()) << state.status();
    if (!counts.ok() || !state.ok()) return out;
    for (const auto& r : state->reals) {
      auto it = counts->find(r.id);
      if (it != counts->end()) out[r.spec.address.ToString()] = it->second;
    }
    return out;
  }
  uint64_t Active(const std::map<std::string, model::ConnectionCounts>& c) {
    uint64_t n = 0;
    for (const auto& [real, counts] : c) n += counts.active;
    return n;
  }
  // A handshake as the director sees it in direct routing: the client's
  // SYN, then its ACK (the real's SYN-ACK goes to the client directly).
  void Open(uint16_t port) {
    ASSERT_NE(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", port, 80))), -1);
    ASSERT_NE(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", port, 80, kAck))), -1);
  }
  uint64_t Inactive(const std::map<std::string, model::ConnectionCounts>& c) {
    uint64_t n = 0;
    for (const auto& [real, counts] : c) n += counts.inactive;
    return n;
  }
};

TEST_F(ConnCountsTest, EstablishedFlowsAreActiveHalfOpenClosingAndUdpInactive) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11", "203.0.113.12"});
  AddService("192.0.2.10:53/udp", {"203.0.113.13"});
  for (uint16_t port = 40000; port < 40010; ++port)
    ASSERT_NE(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", port, 80))), -1);
  auto counts = Counts("192.0.2.10:80/tcp");
  EXPECT_EQ(Active(counts), 0u) << "SYN only: half-open";
  EXPECT_EQ(Inactive(counts), 10u);
  for (uint16_t port = 40000; port < 40010; ++port) Open(port);
  counts = Counts("192.0.2.10:80/tcp");
  EXPECT_EQ(Active(counts), 10u);
  EXPECT_EQ(Inactive(counts), 0u);
  // A flow first seen mid-stream (its entry evicted, or made by an earlier
  // xlb) is established.
  SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 40100, 80, kAck | kPsh)));
  EXPECT_EQ(Active(Counts("192.0.2.10:80/tcp")), 11u);
  SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 40100, 80, kRst)));
  // FIN and RST: closing, inactive.
  SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 40000, 80, kFin | kAck)));
  SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80, kRst)));
  counts = Counts("192.0.2.10:80/tcp");
  EXPECT_EQ(Active(counts), 8u);
  EXPECT_EQ(Inactive(counts), 3u);
  // UDP flows are inactive, as IPVS counts them.
  SentTo(Build(F("198.51.100.2", "192.0.2.10", kUdp, 53)));
  auto udp = Counts("192.0.2.10:53/udp");
  EXPECT_EQ(udp["203.0.113.13"].active, 0u);
  EXPECT_EQ(udp["203.0.113.13"].inactive, 1u);
}

TEST_F(ConnCountsTest, DrainedRealKeepsItsFlowsUntilTheyCloseAndExpire) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11"});
  for (uint16_t port = 40000; port < 40004; ++port) Open(port);
  SetReals("192.0.2.10:80/tcp", {"203.0.113.11@0"});  // drained
  EXPECT_EQ(Counts("192.0.2.10:80/tcp")["203.0.113.11"].active, 4u);
  for (uint16_t port = 40000; port < 40004; ++port)
    SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", port, 80, kFin | kAck)));
  auto counts = Counts("192.0.2.10:80/tcp")["203.0.113.11"];
  EXPECT_EQ(counts.active, 0u);
  EXPECT_EQ(counts.inactive, 4u);
  // Past the closing timeout the entries still sit in the LRU, but the
  // packet path would not use them: they count no more.
  const auto& table = prog_->maps().conn_table;
  auto st = table.ForEachEntry([&](const xlb_flow_key& key, const xlb_conn& conn) {
    xlb_conn old = conn;
    old.last_seen_ns -= (uint64_t{old.closing_timeout_s} + 1) * 1000000000ull;
    EXPECT_TRUE(table.Update(&key, &old).ok());
    return true;
  });
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_TRUE(Counts("192.0.2.10:80/tcp").empty());
  EXPECT_EQ(dataplane::CountConnections(prog_->maps()).value_or(0), 4u) << "still in the table";
}

TEST_F(ConnCountsTest, FlowsOfADeletedServiceCountForNoOne) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11"});
  SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 40000, 80)));
  auto before = dataplane::CountConnectionsByReal(prog_->maps());
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->size(), 1u);
  ASSERT_TRUE(table_->Delete(Key("192.0.2.10:80/tcp")).ok());
  auto after = dataplane::CountConnectionsByReal(prog_->maps());
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->empty());
}

TEST_F(ConnCountsTest, ListingStopsAtTheLimitAndCountsTheRest) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11"});
  AddService("192.0.2.10:53/udp", {"203.0.113.13"});
  for (uint16_t port = 40000; port < 40005; ++port)
    SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", port, 80)));
  SentTo(Build(F("198.51.100.2", "192.0.2.10", kUdp, 53)));
  auto some = dataplane::ListConnections(prog_->maps(), 2, Key("192.0.2.10:80/tcp"));
  ASSERT_TRUE(some.ok()) << some.status();
  ASSERT_EQ(some->connections.size(), 2u);
  EXPECT_FALSE(some->connections[0].established) << "SYN only: half-open";
  EXPECT_FALSE(some->connections[0].expired);
  EXPECT_EQ(some->matched, 5u);
  auto all = dataplane::ListConnections(prog_->maps(), 100, std::nullopt);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->connections.size(), 6u);
  EXPECT_EQ(all->matched, 6u);
  auto udp = dataplane::ListConnections(prog_->maps(), 100, Key("192.0.2.10:53/udp"));
  ASSERT_TRUE(udp.ok());
  ASSERT_EQ(udp->connections.size(), 1u);
  EXPECT_EQ(udp->connections[0].protocol, model::Protocol::kUdp);
}

}  // namespace
}  // namespace xlb::testing
