// Packet tests of the sync refresh walk (issue #16, docs/sync-design.md
// "Walker"): dataplane::ConnWalker over a loaded program's conn_table yields
// exactly this director's own live entries (not peers' copies, not expired
// ones), on a later pass only those touched since the previous pass began,
// and walks in batches that resume where the last call stopped;
// TranslateConn names an entry by address as the event path does.
#include <arpa/inet.h>

#include <map>
#include <set>

#include "dataplane/conn_walker.h"
#include "dataplane/conntrack.h"
#include "dataplane/flow_event_reader.h"
#include "tests/packet/packet_fixture.h"

namespace xlb::testing {
namespace {

using dataplane::ConnWalker;

constexpr char kDr[] = "192.0.2.30:80/tcp";
constexpr char kVip[] = "192.0.2.30";
constexpr char kClient[] = "198.51.100.2";
constexpr uint64_t kSecond = 1'000'000'000ull;

class ConnWalkerTest : public PacketTest {
 protected:
  void SetUp() override {
    PacketTest::SetUp();
    ASSERT_FALSE(HasFatalFailure());
    AddService(kDr, {"203.0.113.1", "203.0.113.2"});
    auto state = table_->Get(Key(kDr));
    ASSERT_TRUE(state.ok()) << state.status();
    service_ = *state;
    now_ = dataplane::CoarseNowNs();
    ASSERT_GT(now_, 400 * kSecond) << "the test backdates entries by up to 400 s";
  }

  static xlb_flow_key FlowKey(uint16_t cport) {
    xlb_flow_key k = {};
    k.src[0] = Ip(kClient).words()[0];
    k.dst[0] = Ip(kVip).words()[0];
    k.sport = htons(cport);
    k.dport = htons(80);
    k.proto = kTcp;
    k.family = XLB_FAMILY_V4;
    return k;
  }

  // An entry of client port `cport` to the service's first real, last seen
  // at `last_seen_ns` (timeout 300 s, 10 s once closing).
  void Put(uint16_t cport, uint32_t flags, uint64_t last_seen_ns) {
    xlb_conn c = {};
    c.service_id = service_.id;
    c.real_id = service_.reals[0].id;
    c.real_gen = service_.reals[0].gen;
    c.timeout_s = 300;
    c.closing_timeout_s = 10;
    c.flags = flags;
    c.last_seen_ns = last_seen_ns;
    xlb_flow_key k = FlowKey(cport);
    auto st = prog_->maps().conn_table.Update(&k, &c);
    ASSERT_TRUE(st.ok()) << st;
  }

  // The own live ones: ports 1000..1099; the rest must not come out.
  void Fill() {
    for (uint16_t p = 1000; p < 1100; ++p)
      Put(p, XLB_CONN_F_ESTABLISHED | (p % 10 == 0 ? XLB_CONN_F_CLOSING : 0), now_ - kSecond);
    for (uint16_t p = 2000; p < 2020; ++p)  // peers' copies
      Put(p, XLB_CONN_F_ESTABLISHED | XLB_CONN_F_SYNCED, now_ - kSecond);
    for (uint16_t p = 3000; p < 3020; ++p)  // idle past the timeout
      Put(p, XLB_CONN_F_ESTABLISHED, now_ - 400 * kSecond);
    for (uint16_t p = 3100; p < 3110; ++p)  // closing, idle past the closing timeout
      Put(p, XLB_CONN_F_ESTABLISHED | XLB_CONN_F_CLOSING, now_ - 20 * kSecond);
  }

  // One whole pass started at `start_ns`: the client ports yielded (each
  // with how often) and how many Step calls it took.
  std::map<uint16_t, int> Pass(ConnWalker& walker, uint64_t start_ns, int* steps = nullptr) {
    std::map<uint16_t, int> seen;
    walker.StartPass(start_ns);
    int n = 0;
    for (bool more = true; more && n < 10000; ++n) {
      auto r = walker.Step([&](const xlb_flow_key& k, const xlb_conn&) { ++seen[ntohs(k.sport)]; });
      EXPECT_TRUE(r.ok()) << r.status();
      more = r.ok() && *r;
    }
    EXPECT_FALSE(walker.passing());
    if (steps) *steps = n;
    return seen;
  }

  static std::map<uint16_t, int> Ports(uint16_t from, uint16_t to) {
    std::map<uint16_t, int> out;
    for (uint16_t p = from; p < to; ++p) out[p] = 1;
    return out;
  }

  dataplane::ServiceState service_;
  uint64_t now_ = 0;
};

TEST_F(ConnWalkerTest, YieldsOwnLiveEntriesOnlyInOnePass) {
  Fill();
  ConnWalker walker(prog_->maps().conn_table);
  int steps = 0;
  EXPECT_EQ(Pass(walker, now_, &steps), Ports(1000, 1100));
  EXPECT_EQ(steps, 1) << "150 entries fit one batch of 4096";
}

TEST_F(ConnWalkerTest, BatchesResumeAcrossCalls) {
  Fill();
  ConnWalker walker(prog_->maps().conn_table, /*batch=*/16);
  int steps = 0;
  EXPECT_EQ(Pass(walker, now_, &steps), Ports(1000, 1100)) << "each own live entry once";
  EXPECT_GE(steps, 150 / 16) << "a batch per call";
  // Entries made between two calls do not derail a (first) pass either.
  ConnWalker fresh(prog_->maps().conn_table, 16);
  fresh.StartPass(now_);
  std::map<uint16_t, int> seen;
  auto on = [&](const xlb_flow_key& k, const xlb_conn&) { ++seen[ntohs(k.sport)]; };
  auto first = fresh.Step(on);
  ASSERT_TRUE(first.ok() && *first) << "more than one batch";
  for (uint16_t p = 4000; p < 4010; ++p) Put(p, XLB_CONN_F_ESTABLISHED, now_);
  for (int n = 0; n < 10000 && fresh.passing(); ++n) ASSERT_TRUE(fresh.Step(on).ok());
  for (uint16_t p = 1000; p < 1100; ++p) EXPECT_EQ(seen[p], 1) << "port " << p;
  for (const auto& [port, count] : seen) EXPECT_EQ(count, 1) << "port " << port << " once";
}

TEST_F(ConnWalkerTest, LaterPassYieldsOnlyEntriesTouchedSinceThePreviousStart) {
  Fill();
  ConnWalker walker(prog_->maps().conn_table, 16);
  ASSERT_EQ(Pass(walker, now_), Ports(1000, 1100));
  // Ten flows see packets after the first pass began; a copy is touched too.
  for (uint16_t p = 1050; p < 1060; ++p) Put(p, XLB_CONN_F_ESTABLISHED, now_ + 1);
  Put(2000, XLB_CONN_F_ESTABLISHED | XLB_CONN_F_SYNCED, now_ + 1);
  EXPECT_EQ(Pass(walker, now_ + 2 * kSecond), Ports(1050, 1060));
  // Nothing touched since the second pass began: the third sends nothing.
  EXPECT_TRUE(Pass(walker, now_ + 4 * kSecond).empty());
}

TEST_F(ConnWalkerTest, DroppedPassDoesNotCountAsWalked) {
  Fill();
  ConnWalker walker(prog_->maps().conn_table, 16);
  walker.StartPass(now_);
  auto r = walker.Step([](const xlb_flow_key&, const xlb_conn&) {});
  ASSERT_TRUE(r.ok() && *r);
  // Restarted before its end: the new pass still sends every own live entry.
  EXPECT_EQ(Pass(walker, now_ + kSecond), Ports(1000, 1100));
}

TEST_F(ConnWalkerTest, NoPassNoStep) {
  ConnWalker walker(prog_->maps().conn_table);
  auto r = walker.Step([](const xlb_flow_key&, const xlb_conn&) { ADD_FAILURE(); });
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
}

TEST_F(ConnWalkerTest, TranslateConnNamesTheEntryByAddress) {
  Put(1000, XLB_CONN_F_ESTABLISHED, now_ - kSecond);
  xlb_flow_key k = FlowKey(1000);
  xlb_conn c = {};
  ASSERT_TRUE(*prog_->maps().conn_table.Lookup(&k, &c));
  dataplane::SyncFlow f;
  ASSERT_EQ(dataplane::TranslateConn(k, c, *table_, now_, &f), dataplane::FlowEventVerdict::kOk);
  EXPECT_EQ(f.service, Key(kDr));
  EXPECT_EQ(f.client, Ip(kClient));
  EXPECT_EQ(f.client_port, 1000);
  EXPECT_EQ(f.vip_port, 80);
  EXPECT_EQ(f.real, Ip("203.0.113.1"));
  EXPECT_EQ(f.flags & XLB_CONN_F_ESTABLISHED, XLB_CONN_F_ESTABLISHED);
  EXPECT_EQ(f.age_ms, 1000u);
  c.real_gen += 1;  // a later owner of the real id
  EXPECT_EQ(dataplane::TranslateConn(k, c, *table_, now_, &f),
            dataplane::FlowEventVerdict::kStaleId);
}

}  // namespace
}  // namespace xlb::testing
