// Traces (xlbctl trace, dataplane/trace.h): a frame run through the loaded
// program as a trace must get the decision real traffic gets (same verdict,
// same bytes out, same real) and change no state: no table entry, no
// timestamp, no counter. Each case is traced first, then the same frame is
// run as real traffic.
#include <tuple>
#include <vector>

#include "dataplane/trace.h"
#include "tests/packet/packet_fixture.h"

namespace xlb::testing {
namespace {

void UseNat(model::ServiceOptions& o) { o.forward = model::Forward::kNat; }
void UsePersistence(model::ServiceOptions& o) { o.persistence_timeout_s = 300; }

// Everything a frame could change, as bytes: the three flow tables and every
// counter the program keeps.
std::string State(dataplane::Maps& maps) {
  std::string out;
  auto add = [&out](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); };
  auto tables = [&](const auto& map) {
    auto st = map.ForEachEntry([&](const auto& k, const auto& v) {
      add(&k, sizeof(k));
      add(&v, sizeof(v));
      return true;
    });
    EXPECT_TRUE(st.ok()) << st;
  };
  tables(maps.conn_table);
  tables(maps.nat_replies);
  tables(maps.persist_table);
  for (uint32_t i = 0; i < XLB_STAT__COUNT; ++i) {
    auto v = maps.global_stats.Sum(i);
    EXPECT_TRUE(v.ok()) << v.status();
    if (v.ok()) add(&*v, sizeof(*v));
  }
  for (uint32_t id = 0; id < 64; ++id) {
    auto s = maps.service_stats.Sum(id);
    auto r = maps.real_stats.Sum(id);
    EXPECT_TRUE(s.ok() && r.ok());
    if (s.ok()) add(&*s, sizeof(*s));
    if (r.ok()) add(&*r, sizeof(*r));
  }
  return out;
}

struct Case {
  const char* name;
  const char* client;
  const char* vip;
  uint8_t proto;
  uint16_t vport;
  bool syn;
  const char* verdict;  // expected of both the trace and the real run
  uint32_t flags;       // xlb_trace flags the trace must show (besides SEEN)
};

class TraceTest : public PacketTest {
 protected:
  void SetUp() override {
    PacketTest::SetUp();
    AddService("192.0.2.10:80/tcp", {"203.0.113.1", "203.0.113.2", "203.0.113.3"});
    AddService("192.0.2.10:53/udp", {"203.0.113.1", "203.0.113.2"});
    AddService("[2001:db8:10::10]:80/tcp", {"2001:db8:2::1", "2001:db8:2::2"});
    AddService("[2001:db8:10::10]:53/udp", {"2001:db8:2::1", "2001:db8:2::2"});
    AddService("192.0.2.20:80/tcp", {"203.0.113.21:8080", "203.0.113.22:8080"}, UseNat);
    AddService("[2001:db8:10::20]:53/udp", {"[2001:db8:2::21]:5353"}, UseNat);
    AddService("192.0.2.30:443/tcp", {"203.0.113.1", "203.0.113.2"}, UsePersistence);
    AddService("192.0.2.40:80/tcp", {});  // no real: dropped
  }

  dataplane::TraceRequest Request(const char* client, uint16_t cport, const char* vip,
                                  uint8_t proto, uint16_t vport, bool syn) {
    dataplane::TraceRequest r;
    r.protocol = static_cast<model::Protocol>(proto);
    r.client = Ip(client);
    r.client_port = cport;
    r.vip = Ip(vip);
    r.vip_port = vport;
    r.syn = syn;
    r.interface_mac = kDirectorMac;
    return r;
  }

  dataplane::TraceResult Trace(const dataplane::TraceRequest& r) {
    auto t = dataplane::Trace(*prog_, r);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *t : dataplane::TraceResult{};
  }

  // The real of the flow's connection-table entry, 0 when it has none.
  uint32_t EntryReal(const std::string& frame_client, uint16_t cport, const char* vip,
                     uint8_t proto, uint16_t vport) {
    uint32_t real = 0;
    auto st = prog_->maps().conn_table.ForEachEntry([&](const xlb_flow_key& k, const xlb_conn& c) {
      model::Family fam = static_cast<model::Family>(k.family);
      if (model::IpAddress::FromWords(fam, k.src) == Ip(frame_client) &&
          model::IpAddress::FromWords(fam, k.dst) == Ip(vip) && ntohs(k.sport) == cport &&
          ntohs(k.dport) == vport && k.proto == proto)
        real = c.real_id;
      return true;
    });
    EXPECT_TRUE(st.ok()) << st;
    return real;
  }
};

// Every case: the trace changes nothing, and shows what the frame then does.
TEST_F(TraceTest, ShowsWhatTheFrameDoesAndChangesNothing) {
  constexpr uint32_t kNew = XLB_TRACE_F_SERVICE | XLB_TRACE_F_MAGLEV | XLB_TRACE_F_WOULD_RECORD;
  const Case cases[] = {
      {"v4 tcp syn", "198.51.100.2", "192.0.2.10", kTcp, 80, true, "XDP_TX",
       kNew | XLB_TRACE_F_NEW_CONN},
      {"v4 tcp ack, no entry", "198.51.100.3", "192.0.2.10", kTcp, 80, false, "XDP_TX", kNew},
      {"v4 udp", "198.51.100.4", "192.0.2.10", kUdp, 53, false, "XDP_TX", kNew},
      {"v6 tcp syn", "2001:db8:1::2", "2001:db8:10::10", kTcp, 80, true, "XDP_TX",
       kNew | XLB_TRACE_F_NEW_CONN},
      {"v6 udp", "2001:db8:1::3", "2001:db8:10::10", kUdp, 53, false, "XDP_TX", kNew},
      {"v4 nat tcp", "198.51.100.5", "192.0.2.20", kTcp, 80, true, "XDP_TX",
       kNew | XLB_TRACE_F_NEW_CONN | XLB_TRACE_F_NAT},
      {"v6 nat udp", "2001:db8:1::4", "2001:db8:10::20", kUdp, 53, false, "XDP_TX",
       kNew | XLB_TRACE_F_NAT},
      {"persistence", "198.51.100.6", "192.0.2.30", kTcp, 443, true, "XDP_TX",
       kNew | XLB_TRACE_F_NEW_CONN},
      {"no service on the address", "198.51.100.7", "192.0.2.99", kTcp, 80, true, "XDP_PASS",
       0},
      {"no service on the port", "198.51.100.8", "192.0.2.10", kTcp, 81, true, "XDP_PASS", 0},
      {"no real", "198.51.100.9", "192.0.2.40", kTcp, 80, true, "XDP_DROP",
       XLB_TRACE_F_SERVICE | XLB_TRACE_F_NEW_CONN},
  };
  uint16_t cport = 41000;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto request = Request(c.client, ++cport, c.vip, c.proto, c.vport, c.syn);
    const std::string before = State(prog_->maps());
    auto t = Trace(request);
    EXPECT_EQ(Hex(State(prog_->maps())), Hex(before)) << "the trace changed the maps";
    EXPECT_STREQ(VerdictName(t.verdict), c.verdict);
    EXPECT_EQ(t.record.flags & ~XLB_TRACE_F_SEEN, c.flags);

    // The same frame as real traffic: the same verdict and bytes, and the
    // entry it makes names the real the trace named.
    auto real = Run(t.frame_in);
    EXPECT_STREQ(VerdictName(real.verdict), c.verdict);
    EXPECT_EQ(Hex(t.frame_out), Hex(real.packet));
    EXPECT_EQ(t.record.real_id, EntryReal(c.client, cport, c.vip, c.proto, c.vport));
    if (std::string(c.verdict) == "XDP_TX") {
      ASSERT_TRUE(t.real.has_value());
      EXPECT_EQ(t.reasons, (std::vector<std::string>{"conn_miss", "tx"}));
      EXPECT_EQ(Hex(std::string(t.dst_mac.begin(), t.dst_mac.end())),
                Hex(std::string(real.packet, 0, 6)));
      // NAT: the destination is the real's; direct routing keeps the VIP's.
      if (c.flags & XLB_TRACE_F_NAT)
        EXPECT_EQ(t.destination, *t.real);
      else
        EXPECT_EQ(t.destination, Ip(c.vip));
    } else {
      EXPECT_FALSE(t.real.has_value());
    }
  }
}

TEST_F(TraceTest, NoServiceIsPassedUp) {
  auto t = Trace(Request("198.51.100.2", 40000, "192.0.2.99", kUdp, 53, false));
  EXPECT_STREQ(VerdictName(t.verdict), "XDP_PASS");
  EXPECT_EQ(t.reasons, std::vector<std::string>{"passed"});
  EXPECT_EQ(t.record.service_id, 0u);
}

// A flow with an entry: a packet of it keeps its real (reported as a table
// hit, the entry untouched), while a SYN on the same client port re-selects.
TEST_F(TraceTest, ReportsAnExistingEntryAndWhatASynWouldDo) {
  auto open = Request("198.51.100.20", 45000, "192.0.2.10", kTcp, 80, true);
  auto first = Run(Build(Tcp("198.51.100.20", "192.0.2.10", 45000, 80, kSyn)));
  ASSERT_STREQ(VerdictName(first.verdict), "XDP_TX");
  const uint32_t owner = EntryReal("198.51.100.20", 45000, "192.0.2.10", kTcp, 80);
  ASSERT_NE(owner, 0u);
  // Drain the flow's real: new connections go elsewhere, its own stay.
  auto state = table_->Get(Key("192.0.2.10:80/tcp"));
  ASSERT_TRUE(state.ok());
  std::vector<std::string> reals;
  std::string owner_addr;
  for (const auto& r : state->reals) {
    reals.push_back(r.spec.address.ToString() + (r.id == owner ? "@0" : ""));
    if (r.id == owner) owner_addr = r.spec.address.ToString();
  }
  SetReals("192.0.2.10:80/tcp", reals);
  // An old entry: a packet of the flow would refresh its timestamp.
  xlb_flow_key key{};
  xlb_conn conn{};
  auto st = prog_->maps().conn_table.ForEachEntry([&](const xlb_flow_key& k, const xlb_conn& c) {
    key = k;
    conn = c;
    return false;
  });
  ASSERT_TRUE(st.ok());
  conn.last_seen_ns -= 2'000'000'000ull;
  ASSERT_TRUE(prog_->maps().conn_table.Update(&key, &conn).ok());

  const std::string before = State(prog_->maps());
  open.syn = false;
  auto ack = Trace(open);
  EXPECT_EQ(ack.record.flags & XLB_TRACE_F_CONN_HIT, XLB_TRACE_F_CONN_HIT);
  EXPECT_EQ(ack.record.real_id, owner);
  ASSERT_TRUE(ack.real.has_value());
  EXPECT_EQ(ack.real->ToString(), owner_addr);
  EXPECT_EQ(ack.reasons, (std::vector<std::string>{"conn_hit", "tx"}));
  open.syn = true;
  auto syn = Trace(open);
  EXPECT_EQ(syn.record.flags & (XLB_TRACE_F_CONN_HIT | XLB_TRACE_F_NEW_CONN | XLB_TRACE_F_MAGLEV),
            XLB_TRACE_F_NEW_CONN | XLB_TRACE_F_MAGLEV);
  EXPECT_NE(syn.record.real_id, owner);
  EXPECT_EQ(Hex(State(prog_->maps())), Hex(before)) << "a trace refreshed or replaced the entry";

  // And real traffic does what the traces said.
  EXPECT_EQ(Hex(Run(ack.frame_in).packet), Hex(ack.frame_out));
  EXPECT_EQ(EntryReal("198.51.100.20", 45000, "192.0.2.10", kTcp, 80), owner);
  EXPECT_EQ(Hex(Run(syn.frame_in).packet), Hex(syn.frame_out));
  EXPECT_EQ(EntryReal("198.51.100.20", 45000, "192.0.2.10", kTcp, 80), syn.record.real_id);
}

// Metadata without this load's key (another program's, or a guess) is not a
// trace: the frame is handled, counted and recorded as any other.
TEST_F(TraceTest, MetadataWithoutTheKeyIsNoTrace) {
  xlb_trace forged{};
  forged.key = prog_->trace_key() + 1;
  const std::string meta(reinterpret_cast<const char*>(&forged), sizeof(forged));
  const std::string frame = Build(Tcp("198.51.100.30", "192.0.2.10", 46000, 80, kSyn));
  const uint64_t misses = Global(XLB_STAT_CONN_MISS);
  auto r = dataplane::TestRun(prog_->prog_fd(), frame, 0, 1, meta);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_STREQ(VerdictName(r->verdict), "XDP_TX");
  EXPECT_EQ(Hex(r->meta), Hex(meta)) << "the program wrote into metadata that is not a trace";
  EXPECT_EQ(Global(XLB_STAT_CONN_MISS), misses + 1);
  EXPECT_NE(EntryReal("198.51.100.30", 46000, "192.0.2.10", kTcp, 80), 0u);
}

// A persistent service's trace reports the client's recorded real.
TEST_F(TraceTest, ReportsAPersistenceHit) {
  ASSERT_STREQ(VerdictName(Run(Build(Tcp("198.51.100.40", "192.0.2.30", 47000, 443))).verdict),
               "XDP_TX");
  const uint32_t owner = EntryReal("198.51.100.40", 47000, "192.0.2.30", kTcp, 443);
  const std::string before = State(prog_->maps());
  auto t = Trace(Request("198.51.100.40", 47001, "192.0.2.30", kTcp, 443, true));
  EXPECT_EQ(t.record.flags & (XLB_TRACE_F_PERSIST_HIT | XLB_TRACE_F_MAGLEV),
            XLB_TRACE_F_PERSIST_HIT);
  EXPECT_EQ(t.record.real_id, owner);
  EXPECT_EQ(Hex(State(prog_->maps())), Hex(before));
}

}  // namespace
}  // namespace xlb::testing
