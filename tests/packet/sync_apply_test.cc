// Packet tests of applying peer directors' flows (issue #16,
// docs/sync-design.md "Receiver rule"): records by address go through
// dataplane::SyncApplier into sync_apply (BPF_PROG_TEST_RUN of the syscall
// program), then packets of those flows go through xlb_xdp.
#include <bpf/bpf.h>

#include <chrono>

#include "dataplane/sync_applier.h"
#include "tests/packet/packet_fixture.h"

namespace xlb::testing {
namespace {

using dataplane::SyncApplier;
using dataplane::SyncFlow;

constexpr Mac kToClientsMac{0x02, 0, 0, 0, 0, 0xd0};  // xlbt0, see main.cc
constexpr char kDr[] = "192.0.2.30:80/tcp";
constexpr char kNat[] = "192.0.2.31:80/tcp";
constexpr char kClient[] = "198.51.100.2";  // routed out of xlbt0 (main.cc)

class SyncApplyTest : public PacketTest {
 protected:
  void SetUp() override {
    PacketTest::SetUp();
    AddService(kDr, {"203.0.113.1", "203.0.113.2", "203.0.113.3"});
    AddService(kNat, {"203.0.113.21:8080", "203.0.113.22:8080"},
               [](model::ServiceOptions& o) { o.forward = model::Forward::kNat; });
    applier_ = std::make_unique<SyncApplier>(prog_.get(), table_.get());
  }

  // A peer's record of client:cport -> service's VIP:80 sent to `real`.
  SyncFlow Flow(const char* service, uint16_t cport, const std::string& real, uint16_t rport,
                uint32_t age_ms = 0, uint32_t flags = XLB_CONN_F_ESTABLISHED) {
    SyncFlow f;
    f.service = Key(service);
    f.client = Ip(kClient);
    f.client_port = cport;
    f.vip_port = 80;
    f.real = Ip(real);
    f.real_port = rport;
    f.flags = flags;
    f.age_ms = age_ms;
    return f;
  }

  // Applies one record; its outcome in conn_table (and nat_replies).
  std::pair<int, int> Apply(const SyncFlow& f) {
    auto st = applier_->Apply({f});
    EXPECT_TRUE(st.ok()) << st;
    if (applier_->last_results().size() != 1) return {-1, -1};
    return {applier_->last_results()[0].result, applier_->last_results()[0].reply_result};
  }

  Frame Packet(const char* vip, uint16_t cport, uint8_t flags = kAck) {
    return Tcp(kClient, vip, cport, 80, flags);
  }

  xlb_conn Entry(const char* vip, uint16_t cport) {
    xlb_flow_key k = {};
    k.src[0] = Ip(kClient).words()[0];
    k.dst[0] = Ip(vip).words()[0];
    k.sport = htons(cport);
    k.dport = htons(80);
    k.proto = kTcp;
    k.family = XLB_FAMILY_V4;
    xlb_conn c = {};
    auto has = prog_->maps().conn_table.Lookup(&k, &c);
    EXPECT_TRUE(has.ok() && *has) << "no conn_table entry for port " << cport;
    return c;
  }

  // Whether nat_replies holds the reply half real:8080 -> client:cport.
  bool HasReply(const char* real, uint16_t cport) {
    xlb_flow_key k = {};
    k.src[0] = Ip(real).words()[0];
    k.dst[0] = Ip(kClient).words()[0];
    k.sport = htons(8080);
    k.dport = htons(cport);
    k.proto = kTcp;
    k.family = XLB_FAMILY_V4;
    xlb_nat_reply r = {};
    auto has = prog_->maps().nat_replies.Lookup(&k, &r);
    EXPECT_TRUE(has.ok()) << has.status();
    return has.ok() && *has;
  }

  std::unique_ptr<SyncApplier> applier_;
};

// The point of it all: a flow a peer placed goes to the peer's real here,
// whatever Maglev would choose (three reals: it cannot agree with all).
TEST_F(SyncApplyTest, AppliedFlowIsForwardedToThePeersReal) {
  for (int n = 1; n <= 3; ++n) {
    const std::string real = "203.0.113." + std::to_string(n);
    EXPECT_EQ(Apply(Flow(kDr, 41000 + n, real, 80)).first, XLB_SYNC_INSERTED) << real;
    EXPECT_TRUE(Entry("192.0.2.30", 41000 + n).flags & XLB_CONN_F_SYNCED);
    EXPECT_EQ(SentTo(Build(Packet("192.0.2.30", 41000 + n))), n) << real;
  }
  EXPECT_EQ(applier_->counters().conn[XLB_SYNC_INSERTED], 3u);
  EXPECT_EQ(applier_->counters().runs, 3u);
}

// A copy becomes this director's own at its first packet here (it took the
// flow over): a peer's newer copy for another real no longer replaces it.
TEST_F(SyncApplyTest, CopyBecomesOwnAtItsFirstPacket) {
  EXPECT_EQ(Apply(Flow(kDr, 41100, "203.0.113.1", 80, 20000)).first, XLB_SYNC_INSERTED);
  EXPECT_EQ(SentTo(Build(Packet("192.0.2.30", 41100))), 1);
  EXPECT_FALSE(Entry("192.0.2.30", 41100).flags & XLB_CONN_F_SYNCED);
  EXPECT_EQ(Apply(Flow(kDr, 41100, "203.0.113.2", 80, 0)).first, XLB_SYNC_KEPT_OWN);
  EXPECT_EQ(SentTo(Build(Packet("192.0.2.30", 41100))), 1);
}

TEST_F(SyncApplyTest, OlderCopyDoesNotReplaceNewer) {
  EXPECT_EQ(Apply(Flow(kDr, 42000, "203.0.113.1", 80, 0)).first, XLB_SYNC_INSERTED);
  EXPECT_EQ(Apply(Flow(kDr, 42000, "203.0.113.2", 80, 10000)).first, XLB_SYNC_KEPT_NEWER);
  EXPECT_EQ(Apply(Flow(kDr, 42000, "203.0.113.1", 80, 10000)).first, XLB_SYNC_KEPT_NEWER);
  EXPECT_EQ(SentTo(Build(Packet("192.0.2.30", 42000))), 1);
}

TEST_F(SyncApplyTest, CopyReplacedByNewerCopy) {
  EXPECT_EQ(Apply(Flow(kDr, 42100, "203.0.113.1", 80, 20000)).first, XLB_SYNC_INSERTED);
  EXPECT_EQ(Apply(Flow(kDr, 42100, "203.0.113.2", 80, 0)).first, XLB_SYNC_REPLACED);
  EXPECT_EQ(SentTo(Build(Packet("192.0.2.30", 42100))), 2);
}

// A NAT copy replaced by a newer one for another real takes its reply half
// along: the old real's packets are not replies of this flow any more.
TEST_F(SyncApplyTest, NatCopyReplacedWithItsReplyHalf) {
  EXPECT_EQ(Apply(Flow(kNat, 42150, "203.0.113.21", 8080, 20000)),
            (std::pair<int, int>{XLB_SYNC_INSERTED, XLB_SYNC_INSERTED}));
  EXPECT_TRUE(HasReply("203.0.113.21", 42150));
  EXPECT_EQ(Apply(Flow(kNat, 42150, "203.0.113.22", 8080, 0)),
            (std::pair<int, int>{XLB_SYNC_REPLACED, XLB_SYNC_INSERTED}));
  EXPECT_FALSE(HasReply("203.0.113.21", 42150));
  EXPECT_TRUE(HasReply("203.0.113.22", 42150));
}

TEST_F(SyncApplyTest, SameRealNewerCopyRefreshesInPlace) {
  EXPECT_EQ(Apply(Flow(kDr, 42200, "203.0.113.3", 80, 20000, 0)).first, XLB_SYNC_INSERTED);
  const uint64_t before = Entry("192.0.2.30", 42200).last_seen_ns;
  EXPECT_EQ(Apply(Flow(kDr, 42200, "203.0.113.3", 80, 0, XLB_CONN_F_CLOSING)).first,
            XLB_SYNC_REFRESHED);
  const xlb_conn after = Entry("192.0.2.30", 42200);
  EXPECT_GT(after.last_seen_ns, before);
  EXPECT_TRUE(after.flags & XLB_CONN_F_CLOSING);
}

// A flow this director placed itself is never taken over by a copy, even a
// newer one for another real.
TEST_F(SyncApplyTest, OwnLiveEntryKept) {
  const int own = SentTo(Build(Packet("192.0.2.30", 42300, kSyn)));
  ASSERT_GE(own, 1);
  const std::string other = "203.0.113." + std::to_string(own % 3 + 1);
  EXPECT_EQ(Apply(Flow(kDr, 42300, other, 80, 0)).first, XLB_SYNC_KEPT_OWN);
  EXPECT_FALSE(Entry("192.0.2.30", 42300).flags & XLB_CONN_F_SYNCED);
  EXPECT_EQ(SentTo(Build(Packet("192.0.2.30", 42300))), own);
  EXPECT_EQ(applier_->counters().conn[XLB_SYNC_KEPT_OWN], 1u);
}

// Both halves of a NAT flow: the request is rewritten to the peer's real,
// and the real's reply, matched by the reply half, goes out from the VIP.
TEST_F(SyncApplyTest, NatBothHalvesApplied) {
  auto [conn, reply] = Apply(Flow(kNat, 43000, "203.0.113.22", 8080));
  EXPECT_EQ(conn, XLB_SYNC_INSERTED);
  EXPECT_EQ(reply, XLB_SYNC_INSERTED);

  xlb_flow_key rkey = {};  // nat_reply_key: real -> client
  rkey.src[0] = Ip("203.0.113.22").words()[0];
  rkey.dst[0] = Ip(kClient).words()[0];
  rkey.sport = htons(8080);
  rkey.dport = htons(43000);
  rkey.proto = kTcp;
  rkey.family = XLB_FAMILY_V4;
  xlb_nat_reply half = {};
  auto has = prog_->maps().nat_replies.Lookup(&rkey, &half);
  ASSERT_TRUE(has.ok() && *has);
  EXPECT_EQ(half.vip[0], Ip("192.0.2.31").words()[0]);
  EXPECT_EQ(half.vport, htons(80));
  EXPECT_EQ(half.conn.real_id, Entry("192.0.2.31", 43000).real_id);
  EXPECT_EQ(half.nh_ifindex, 0u);  // asked of the FIB at the first reply

  Frame request = Packet("192.0.2.31", 43000);
  Frame to_real = request;
  to_real.daddr = Ip("203.0.113.22");
  to_real.dport = 8080;
  auto r = Run(Build(request));
  EXPECT_STREQ(VerdictName(r.verdict), "XDP_TX");
  EXPECT_EQ(Hex(r.packet), Hex(WithMacs(Build(to_real), RealMac(22), kDirectorMac)));

  Frame back = to_real;
  std::swap(back.saddr, back.daddr);
  std::swap(back.sport, back.dport);
  back.src = RealMac(22);
  back.dst = kDirectorMac;
  Frame to_client = back;
  to_client.saddr = Ip("192.0.2.31");
  to_client.sport = 80;
  to_client.dst = Mac{0x02, 0, 0, 0, 0, 0xc1};
  to_client.src = kToClientsMac;
  const uint64_t replies = Global(XLB_STAT_NAT_REPLY);
  auto out = Run(Build(back));
  EXPECT_STREQ(VerdictName(out.verdict), "XDP_REDIRECT");
  EXPECT_EQ(Hex(out.packet), Hex(Build(to_client)));
  EXPECT_EQ(Global(XLB_STAT_NAT_REPLY), replies + 1);

  // The flow passed here: it is this director's now, and a peer's copy
  // leaves both halves alone.
  auto [conn2, reply2] = Apply(Flow(kNat, 43000, "203.0.113.21", 8080, 30000));
  EXPECT_EQ(conn2, XLB_SYNC_KEPT_OWN);
  EXPECT_EQ(reply2, XLB_SYNC_NONE);  // no reply half without its forward half
  xlb_flow_key other = rkey;
  other.src[0] = Ip("203.0.113.21").words()[0];
  has = prog_->maps().nat_replies.Lookup(&other, &half);
  ASSERT_TRUE(has.ok());
  EXPECT_FALSE(*has);
}

// A record for a real this director does not have (yet) is held, applied
// once the real is configured, and dropped (counted) after the hold.
TEST_F(SyncApplyTest, UnknownRealHeldThenAppliedOrDropped) {
  const auto now = SyncApplier::Clock::now();
  ASSERT_TRUE(applier_->Apply({Flow(kDr, 44000, "203.0.113.9", 80)}, now).ok());
  ASSERT_TRUE(applier_->Apply({Flow("192.0.2.39:80/tcp", 44001, "203.0.113.1", 80)}, now).ok());
  EXPECT_EQ(applier_->held(), 2u);
  EXPECT_EQ(applier_->counters().held, 2u);
  SetReals(kDr, {"203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.9"});
  ASSERT_TRUE(applier_->RetryHeld(now + std::chrono::seconds(1)).ok());
  ASSERT_EQ(applier_->last_results().size(), 1u);
  EXPECT_EQ(applier_->last_results()[0].result, XLB_SYNC_INSERTED);
  EXPECT_EQ(SentTo(Build(Packet("192.0.2.30", 44000))), 9);
  EXPECT_EQ(applier_->held(), 1u);
  ASSERT_TRUE(applier_->RetryHeld(now + SyncApplier::kHoldFor).ok());
  EXPECT_EQ(applier_->held(), 0u);
  EXPECT_EQ(applier_->counters().unknown_service, 1u);
}

// A real replaced between translation and apply: sync_apply checks the
// generations xlbd translated to and writes nothing.
TEST_F(SyncApplyTest, StaleTranslationWritesNothing) {
  SyncFlow f = Flow(kDr, 45000, "203.0.113.2", 80);
  dataplane::FlowIds ids = table_->FlowIdsOf(f.service, f.real, f.real_port);
  ASSERT_NE(ids.real_id, 0u);
  auto* batch = prog_->sync_apply_batch();
  ASSERT_TRUE(applier_->Apply({f}).ok());
  batch->e[0].real_gen += 1;  // as if the id were given to another real meanwhile
  batch->e[0].flow.sport = htons(45001);
  batch->count = 1;
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  ASSERT_EQ(bpf_prog_test_run_opts(prog_->sync_apply_fd(), &opts), 0);
  EXPECT_EQ(batch->e[0].result, XLB_SYNC_STALE);
}

// More flows than conn_table holds (4096 here): the LRU makes room as for
// the data path's own flows, so every record is applied or, where the kernel
// refuses an insert, counted no_room; none is lost uncounted.
TEST_F(SyncApplyTest, TableFullEvictsLeastRecentAndCounts) {
  std::vector<SyncFlow> flows;
  for (int i = 0; i < 5000; ++i) flows.push_back(Flow(kDr, 10000 + i, "203.0.113.1", 80));
  ASSERT_TRUE(applier_->Apply(flows).ok());
  const auto& c = applier_->counters();
  EXPECT_EQ(c.conn[XLB_SYNC_INSERTED] + c.conn[XLB_SYNC_NO_ROOM], 5000u);
  EXPECT_EQ(c.runs, (5000u + XLB_SYNC_APPLY_MAX - 1) / XLB_SYNC_APPLY_MAX);
  // The newest is there, and forwarded to the peer's real.
  EXPECT_EQ(Entry("192.0.2.30", 10000 + 4999).real_id,
            table_->FlowIdsOf(Key(kDr), Ip("203.0.113.1"), 80).real_id);
  EXPECT_EQ(SentTo(Build(Packet("192.0.2.30", 10000 + 4999))), 1);
}

// Not a check: the apply cost per entry, for the design record's "as built":
// runs of 22 records (a 1500-byte datagram's) of new DR flows, translation
// and the syscall included, into an empty table, then into a full one (every
// insert evicts, as on a busy director).
TEST_F(SyncApplyTest, ApplyCostPerEntry) {
  std::vector<SyncFlow> flows(22, Flow(kDr, 0, "203.0.113.1", 80));
  const int rounds = 186;  // 4092 flows: the table (4096) is then full
  uint16_t port = 1000;
  auto measure = [&](const char* what) {
    const auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < rounds; ++r) {
      for (SyncFlow& f : flows) f.client_port = port++;
      ASSERT_TRUE(applier_->Apply(flows).ok());
    }
    const double ns =
        std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    printf("sync_apply: %.0f ns per entry into %s (%d runs of 22 new flows)\n",
           ns / (rounds * 22), what, rounds);
  };
  measure("an empty table");
  measure("a full table");
  EXPECT_EQ(applier_->counters().conn[XLB_SYNC_INSERTED], 2u * rounds * 22);
}

// The same into xlb's default table (262144 entries), full: as on a busy
// director, and as the design's spike measured it (cache misses included).
TEST_F(SyncApplyTest, ApplyCostPerEntryDefaultTable) {
  dataplane::ProgramOptions o;
  o.pin_dir = "";
  auto p = dataplane::Program::Load(o);
  ASSERT_TRUE(p.ok()) << p.status();
  auto t = dataplane::ServiceTable::Adopt(&(*p)->maps(), &resolver_);
  ASSERT_TRUE(t.ok()) << t.status();
  model::Service s{Key(kDr), {}};
  ASSERT_TRUE((*t)->Upsert(s).ok());
  ASSERT_TRUE((*t)->SetReals(Key(kDr), {*model::ParseRealSpec("203.0.113.1")}).ok());
  SyncApplier applier(p->get(), t->get());
  std::vector<SyncFlow> fill;
  for (uint32_t i = 0; i < XLB_CONN_TABLE_DEFAULT; ++i) {
    SyncFlow f = Flow(kDr, static_cast<uint16_t>(i), "203.0.113.1", 80);
    f.client = model::IpAddress::FromWords(model::Family::kV4,
                                           std::array<uint32_t, 4>{htonl(0xc6336400u + (i >> 16)), 0, 0, 0}.data());
    fill.push_back(f);
  }
  ASSERT_TRUE(applier.Apply(fill).ok());
  std::vector<SyncFlow> flows(22, Flow(kDr, 0, "203.0.113.1", 80));
  const int rounds = 2000;
  uint16_t port = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < rounds; ++r) {
    for (SyncFlow& f : flows) f.client_port = port++;  // the new client 198.51.100.7
    for (SyncFlow& f : flows) f.client = Ip("198.51.100.7");
    ASSERT_TRUE(applier.Apply(flows).ok());
  }
  const double ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
  printf("sync_apply: %.0f ns per entry into a full %u-entry table (%d runs of 22 new flows)\n",
         ns / (rounds * 22), XLB_CONN_TABLE_DEFAULT, rounds);
  EXPECT_EQ(applier.counters().conn[XLB_SYNC_INSERTED], XLB_CONN_TABLE_DEFAULT + rounds * 22u);
}

}  // namespace
}  // namespace xlb::testing
