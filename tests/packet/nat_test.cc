// Packet tests of NAT (IPVS masquerading): requests rewritten to the real's
// address and port, replies rewritten to come from the VIP. Expected frames
// are built from scratch by the packet builder (checksums computed anew), so
// a byte-for-byte match checks every incremental checksum update.
#include <set>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "dataplane/conntrack.h"
#include "tests/packet/packet_fixture.h"

namespace xlb::testing {
namespace {

constexpr Mac kClientMac{0x02, 0, 0, 0, 0, 0xc1};
constexpr Mac kToClientsMac{0x02, 0, 0, 0, 0, 0xd0};  // xlbt0, see main.cc

void UseNat(model::ServiceOptions& o) { o.forward = model::Forward::kNat; }

class NatTest : public PacketTest {
 protected:
  void SetUp() override {
    PacketTest::SetUp();
    AddService("192.0.2.20:80/tcp", {"203.0.113.21:8080"}, UseNat);
    AddService("192.0.2.20:53/udp", {"203.0.113.21:5353"}, UseNat);
    AddService("192.0.2.21:80/tcp", {"203.0.113.22"}, UseNat);  // same port
    AddService("[2001:db8:10::20]:80/tcp", {"[2001:db8:2::21]:8080"}, UseNat);
    AddService("[2001:db8:10::20]:53/udp", {"2001:db8:2::21"}, UseNat);
    AddService("192.0.2.20:443/tcp", {"203.0.113.1"});  // direct routing beside NAT
  }

  // client:cport -> vip:vport, and what the real must receive.
  struct Exchange {
    Frame request, to_real, reply, to_client;
  };
  Exchange Make(const std::string& client, const std::string& vip, const std::string& real,
                uint8_t proto, uint16_t cport, uint16_t vport, uint16_t rport) {
    Exchange x;
    x.request.saddr = Ip(client);
    x.request.daddr = Ip(vip);
    x.request.proto = proto;
    x.request.sport = cport;
    x.request.dport = vport;
    x.to_real = x.request;
    x.to_real.daddr = Ip(real);
    x.to_real.dport = rport;
    x.reply = x.to_real;
    std::swap(x.reply.saddr, x.reply.daddr);
    std::swap(x.reply.sport, x.reply.dport);
    x.reply.tcp_flags = kSyn | kAck;
    x.reply.src = RealMac(FakeResolver::MacNumber(x.to_real.daddr));
    x.reply.dst = kDirectorMac;
    x.to_client = x.reply;
    x.to_client.saddr = Ip(vip);
    x.to_client.sport = vport;
    x.to_client.dst = kClientMac;
    x.to_client.src = kToClientsMac;
    return x;
  }

  // Runs the request and the reply; checks verdicts and every byte.
  void ExpectExchange(const Exchange& x) {
    const int real_mac = FakeResolver::MacNumber(x.to_real.daddr);
    auto r = Run(Build(x.request));
    EXPECT_STREQ(VerdictName(r.verdict), "XDP_TX");
    EXPECT_EQ(Hex(r.packet), Hex(WithMacs(Build(x.to_real), RealMac(real_mac), kDirectorMac)));
    uint64_t replies = Global(XLB_STAT_NAT_REPLY);
    auto back = Run(Build(x.reply));
    EXPECT_STREQ(VerdictName(back.verdict), "XDP_REDIRECT");
    EXPECT_EQ(Hex(back.packet), Hex(Build(x.to_client)));
    EXPECT_EQ(Global(XLB_STAT_NAT_REPLY), replies + 1);
  }
};

TEST_F(NatTest, Ipv4TcpWithPortChange) {
  ExpectExchange(Make("198.51.100.2", "192.0.2.20", "203.0.113.21", kTcp, 40000, 80, 8080));
}

TEST_F(NatTest, Ipv4TcpWithoutPortChange) {
  ExpectExchange(Make("198.51.100.2", "192.0.2.21", "203.0.113.22", kTcp, 40000, 80, 80));
}

TEST_F(NatTest, Ipv4UdpWithPortChange) {
  ExpectExchange(Make("198.51.100.2", "192.0.2.20", "203.0.113.21", kUdp, 40000, 53, 5353));
}

TEST_F(NatTest, Ipv4UdpWithoutChecksumStaysWithout) {
  Exchange x = Make("198.51.100.2", "192.0.2.20", "203.0.113.21", kUdp, 40001, 53, 5353);
  for (Frame* f : {&x.request, &x.to_real, &x.reply, &x.to_client}) f->udp_no_checksum = true;
  ExpectExchange(x);
}

TEST_F(NatTest, Ipv6TcpWithPortChange) {
  ExpectExchange(
      Make("2001:db8:1::2", "2001:db8:10::20", "2001:db8:2::21", kTcp, 40000, 80, 8080));
}

TEST_F(NatTest, Ipv6UdpWithoutPortChange) {
  ExpectExchange(Make("2001:db8:1::2", "2001:db8:10::20", "2001:db8:2::21", kUdp, 40000, 53, 53));
}

TEST_F(NatTest, Ipv4WithOptionsAndVlanTag) {
  Exchange x = Make("198.51.100.2", "192.0.2.20", "203.0.113.21", kTcp, 40002, 80, 8080);
  x.request.ipv4_options = x.to_real.ipv4_options = std::string(12, '\x01');
  x.request.vlan = x.to_real.vlan = 42;
  auto r = Run(Build(x.request));
  EXPECT_STREQ(VerdictName(r.verdict), "XDP_TX");
  EXPECT_EQ(Hex(r.packet), Hex(WithMacs(Build(x.to_real), RealMac(21), kDirectorMac)));
}

TEST_F(NatTest, MidFlowPacketsAndFinAreTranslatedBothWays) {
  Exchange x = Make("198.51.100.2", "192.0.2.20", "203.0.113.21", kTcp, 40003, 80, 8080);
  ExpectExchange(x);
  for (uint8_t flags : {uint8_t(kAck | kPsh), uint8_t(kFin | kAck)}) {
    for (Frame* f : {&x.request, &x.to_real, &x.reply, &x.to_client}) f->tcp_flags = flags;
    ExpectExchange(x);
  }
  auto conns = dataplane::ListConnections(prog_->maps(), 100);
  ASSERT_TRUE(conns.ok());
  ASSERT_EQ(conns->size(), 1u);  // the reply half is not listed
  EXPECT_TRUE((*conns)[0].nat);
  EXPECT_TRUE((*conns)[0].closing);
  EXPECT_EQ((*conns)[0].real_port, 8080);
}

TEST_F(NatTest, AnEvictedReplyEntryIsMadeAgainByTheFlowsNextPacket) {
  Exchange x = Make("198.51.100.2", "192.0.2.20", "203.0.113.21", kTcp, 40005, 80, 8080);
  ExpectExchange(x);
  // The LRU evicts the reply half alone (the two tables age apart).
  xlb_flow_key key;
  auto first = prog_->maps().nat_replies.NextKey(nullptr, &key);
  ASSERT_TRUE(first.ok() && *first);
  ASSERT_TRUE(prog_->maps().nat_replies.Delete(&key).ok());
  const uint64_t unmatched = Global(XLB_STAT_NAT_UNMATCHED);
  EXPECT_STREQ(VerdictName(Run(Build(x.reply)).verdict), "XDP_PASS");
  EXPECT_EQ(Global(XLB_STAT_NAT_UNMATCHED), unmatched + 1);
  // The client's next packet hits its connection entry and restores the
  // reply half, so the reply after it is translated again.
  for (Frame* f : {&x.request, &x.to_real, &x.reply, &x.to_client}) f->tcp_flags = kAck;
  const uint64_t restored = Global(XLB_STAT_NAT_REPLY_RESTORED);
  ExpectExchange(x);
  EXPECT_EQ(Global(XLB_STAT_NAT_REPLY_RESTORED), restored + 1);
  ExpectExchange(x);
  EXPECT_EQ(Global(XLB_STAT_NAT_REPLY_RESTORED), restored + 1) << "restored once, not per packet";
}

TEST_F(NatTest, UnmatchedReplyIsPassedUpUnchangedAndCounted) {
  Exchange x = Make("198.51.100.2", "192.0.2.20", "203.0.113.21", kTcp, 40004, 80, 8080);
  uint64_t unmatched = Global(XLB_STAT_NAT_UNMATCHED);
  std::string reply = Build(x.reply);  // no request came first
  auto r = Run(reply);
  EXPECT_STREQ(VerdictName(r.verdict), "XDP_PASS");
  EXPECT_EQ(Hex(r.packet), Hex(reply));
  EXPECT_EQ(Global(XLB_STAT_NAT_UNMATCHED), unmatched + 1);
}

TEST_F(NatTest, ReplyForAnotherHostsMacIsPassedUpUntranslated) {
  // A real's reply flooded by a switch reaches this director too, for the
  // MAC of the one that is the real's gateway: that one translates it.
  Exchange x = Make("198.51.100.2", "192.0.2.20", "203.0.113.21", kTcp, 40005, 80, 8080);
  ASSERT_STREQ(VerdictName(Run(Build(x.request)).verdict), "XDP_TX");
  x.reply.dst = {0x02, 0, 0, 0, 0, 0xd2};
  const std::string reply = Build(x.reply);
  uint64_t not_ours = Global(XLB_STAT_NOT_OURS), replies = Global(XLB_STAT_NAT_REPLY);
  auto r = Run(reply);
  EXPECT_STREQ(VerdictName(r.verdict), "XDP_PASS");
  EXPECT_EQ(Hex(r.packet), Hex(reply));
  EXPECT_EQ(Global(XLB_STAT_NOT_OURS), not_ours + 1);
  EXPECT_EQ(Global(XLB_STAT_NAT_REPLY), replies);
}

TEST_F(NatTest, RealsOwnTrafficIsPassedUpUnchanged) {
  Frame own = Tcp("203.0.113.21", "198.51.100.9", 45000, 443, kSyn);
  uint64_t unmatched = Global(XLB_STAT_NAT_UNMATCHED);
  auto r = Run(Build(own));
  EXPECT_STREQ(VerdictName(r.verdict), "XDP_PASS");
  EXPECT_EQ(Hex(r.packet), Hex(Build(own)));
  EXPECT_EQ(Global(XLB_STAT_NAT_UNMATCHED), unmatched);
}

TEST_F(NatTest, RealServingTwoServicesOnTwoPorts) {
  AddService("192.0.2.22:80/tcp", {"203.0.113.21:8081"}, UseNat);
  ExpectExchange(Make("198.51.100.2", "192.0.2.20", "203.0.113.21", kTcp, 40005, 80, 8080));
  ExpectExchange(Make("198.51.100.2", "192.0.2.22", "203.0.113.21", kTcp, 40005, 80, 8081));
}

TEST_F(NatTest, TwoVipsShareARealOnOnePort) {
  AddService("192.0.2.23:80/tcp", {"203.0.113.21:8080"}, UseNat);
  Exchange a = Make("198.51.100.2", "192.0.2.20", "203.0.113.21", kTcp, 40006, 80, 8080);
  Exchange b = Make("198.51.100.2", "192.0.2.23", "203.0.113.21", kTcp, 40007, 80, 8080);
  EXPECT_EQ(Run(Build(a.request)).verdict, XDP_TX);
  EXPECT_EQ(Run(Build(b.request)).verdict, XDP_TX);
  // Each reply finds its own VIP.
  EXPECT_EQ(Hex(Run(Build(b.reply)).packet), Hex(Build(b.to_client)));
  EXPECT_EQ(Hex(Run(Build(a.reply)).packet), Hex(Build(a.to_client)));
}

TEST_F(NatTest, SynReselectsAfterTheRealWasRemoved) {
  Exchange x = Make("198.51.100.2", "192.0.2.20", "203.0.113.21", kTcp, 40008, 80, 8080);
  ExpectExchange(x);
  SetReals("192.0.2.20:80/tcp", {"203.0.113.24:8080"});
  Exchange y = Make("198.51.100.2", "192.0.2.20", "203.0.113.24", kTcp, 40008, 80, 8080);
  ExpectExchange(y);
}

TEST_F(NatTest, ExpiredFlowIsReselectedAndItsReplyNoLongerTranslated) {
  Exchange x = Make("198.51.100.2", "192.0.2.20", "203.0.113.21", kTcp, 40009, 80, 8080);
  for (Frame* f : {&x.request, &x.to_real, &x.reply, &x.to_client}) f->tcp_flags = kAck;
  ExpectExchange(x);
  // Age both entries (the request's and the reply's) past the 900 s timeout
  // instead of waiting.
  auto age_all = [](const auto& map) {
    xlb_flow_key key, next;
    typename std::remove_cvref_t<decltype(map)>::Value entry;
    int aged = 0;
    for (bool first = true; *map.NextKey(first ? nullptr : &key, &next); first = false) {
      key = next;
      EXPECT_TRUE(*map.Lookup(&key, &entry));
      xlb_conn* c = nullptr;
      if constexpr (std::is_same_v<decltype(entry), xlb_nat_reply>) c = &entry.conn;
      else c = &entry;
      c->last_seen_ns -= 1000ull * 1000000000ull;
      EXPECT_TRUE(map.Update(&key, &entry).ok());
      ++aged;
    }
    return aged;
  };
  ASSERT_EQ(age_all(prog_->maps().conn_table), 1);
  ASSERT_EQ(age_all(prog_->maps().nat_replies), 1);
  std::string reply = Build(x.reply);
  auto r = Run(reply);
  EXPECT_STREQ(VerdictName(r.verdict), "XDP_PASS");
  EXPECT_EQ(Hex(r.packet), Hex(reply));
  SetReals("192.0.2.20:80/tcp", {"203.0.113.24:8080"});
  Exchange y = Make("198.51.100.2", "192.0.2.20", "203.0.113.24", kTcp, 40009, 80, 8080);
  y.request.tcp_flags = y.to_real.tcp_flags = kAck;
  EXPECT_EQ(Hex(Run(Build(y.request)).packet),
            Hex(WithMacs(Build(y.to_real), RealMac(24), kDirectorMac)));
}

TEST_F(NatTest, WrongChecksumsStayWrong) {
  Exchange x = Make("198.51.100.2", "192.0.2.20", "203.0.113.21", kTcp, 40010, 80, 8080);
  std::string in = Build(x.request);
  in[14 + 10] ^= 0x01;  // IPv4 header checksum
  in[14 + 20 + 17] ^= 0x01;  // TCP checksum
  auto r = Run(in);
  ASSERT_EQ(r.verdict, XDP_TX);
  std::string good = WithMacs(Build(x.to_real), RealMac(21), kDirectorMac);
  // Everything else is as it should be; both checksums are still wrong.
  EXPECT_EQ(Hex(r.packet.substr(0, 24)), Hex(good.substr(0, 24)));
  EXPECT_NE(r.packet.substr(24, 2), good.substr(24, 2));
  EXPECT_EQ(Hex(r.packet.substr(26, 24)), Hex(good.substr(26, 24)));
  EXPECT_NE(r.packet.substr(50, 2), good.substr(50, 2));
  EXPECT_EQ(Hex(r.packet.substr(52)), Hex(good.substr(52)));
}

TEST_F(NatTest, EveryTruncationIsNeverForwarded) {
  Exchange v4 = Make("198.51.100.2", "192.0.2.20", "203.0.113.21", kTcp, 40011, 80, 8080);
  Exchange v6 = Make("2001:db8:1::2", "2001:db8:10::20", "2001:db8:2::21", kUdp, 40011, 53, 53);
  ASSERT_EQ(Run(Build(v4.request)).verdict, XDP_TX);
  ASSERT_EQ(Run(Build(v6.request)).verdict, XDP_TX);
  for (const Frame* f : {&v4.request, &v4.reply, &v6.request, &v6.reply}) {
    std::string frame = Build(*f);
    ExpectEveryTruncationDropped(
        this, frame, [this](const std::string& t) { return Run(t); },
        [this] { return Global(XLB_STAT_MALFORMED); });
  }
}

TEST_F(NatTest, ReplyWithoutANeighbourGoesUpTranslated) {
  Exchange x = Make("198.51.100.99", "192.0.2.20", "203.0.113.21", kTcp, 40012, 80, 8080);
  ASSERT_EQ(Run(Build(x.request)).verdict, XDP_TX);
  uint64_t no_route = Global(XLB_STAT_NO_ROUTE);
  auto r = Run(Build(x.reply));
  EXPECT_STREQ(VerdictName(r.verdict), "XDP_PASS");
  // Translated, Ethernet header as it came: the kernel forwards it.
  EXPECT_EQ(Hex(r.packet), Hex(WithMacs(Build(x.to_client), kDirectorMac, RealMac(21))));
  EXPECT_EQ(Global(XLB_STAT_NO_ROUTE), no_route + 1);
}

TEST_F(NatTest, DirectRoutingBesideNatOnOneVip) {
  std::string syn = Build(Tcp("198.51.100.2", "192.0.2.20", 40013, 443));
  EXPECT_EQ(SentTo(syn), 1);  // only the MACs changed (SentTo checks)
}

TEST_F(NatTest, RealsNotBehindTheDirectorAreRefused) {
  auto before = table_->Get(Key("192.0.2.20:80/tcp"));
  resolver_.routes[Ip("203.0.113.30")] = 0;
  auto st = table_->SetReals(Key("192.0.2.20:80/tcp"), {*model::ParseRealSpec("203.0.113.30:8080")});
  EXPECT_NE(st.message().find("no route"), std::string::npos) << st;
  resolver_.routes[Ip("203.0.113.31")] = Ifindex("xlbt1");
  st = table_->SetReals(Key("192.0.2.20:80/tcp"), {*model::ParseRealSpec("203.0.113.31:8080")});
  EXPECT_NE(st.message().find("xlbt1, where xlb is not attached"), std::string::npos) << st;
  // Nothing changed.
  auto after = table_->Get(Key("192.0.2.20:80/tcp"));
  ASSERT_EQ(after->reals.size(), 1u);
  EXPECT_EQ(after->reals[0].spec, before->reals[0].spec);
  ExpectExchange(Make("198.51.100.2", "192.0.2.20", "203.0.113.21", kTcp, 40014, 80, 8080));
}

TEST_F(NatTest, SwitchingDrToNatReselectsExistingFlows) {
  std::string ack = Build(Tcp("198.51.100.2", "192.0.2.20", 40016, 443, kAck));
  ASSERT_EQ(SentTo(ack), 1);  // direct routing: only the MACs change
  model::Service s{Key("192.0.2.20:443/tcp"), {}};
  s.options.forward = model::Forward::kNat;
  ASSERT_TRUE(table_->Upsert(s).ok());
  Exchange x = Make("198.51.100.2", "192.0.2.20", "203.0.113.1", kTcp, 40016, 443, 443);
  x.request.tcp_flags = x.to_real.tcp_flags = kAck;
  auto r = Run(Build(x.request));
  EXPECT_STREQ(VerdictName(r.verdict), "XDP_TX");
  EXPECT_EQ(Hex(r.packet), Hex(WithMacs(Build(x.to_real), RealMac(1), kDirectorMac)));
}

// on_down: shutdown and `xlbctl real flush`: a flushed real's flows (both
// halves) and persistence entries are gone, the other real's are not, and a
// flushed client's next packet is placed anew, on the real that takes flows.
TEST_F(NatTest, FlushRealRemovesItsOwnEntriesAndItsClientsGoToAnotherReal) {
  const std::string key = "192.0.2.30:80/tcp";
  AddService(key, {"203.0.113.21:8080", "203.0.113.24:8080"}, [](model::ServiceOptions& o) {
    UseNat(o);
    o.persistence_timeout_s = 300;
  });
  // 16 clients, one flow each: Maglev spreads them over both reals.
  auto client = [](int i) { return absl::StrCat("198.51.100.", 10 + i); };
  for (int i = 0; i < 16; ++i)
    ASSERT_EQ(Run(Build(Tcp(client(i), "192.0.2.30", 41000, 80))).verdict, XDP_TX);
  auto on = [&](const std::string& real) {
    std::set<std::string> clients;
    auto conns = dataplane::ListConnections(prog_->maps(), 1000);
    EXPECT_TRUE(conns.ok()) << conns.status();
    for (const auto& c : *conns)
      if (c.vip == Ip("192.0.2.30") && c.real && c.real->ToString() == real)
        clients.insert(c.client.ToString());
    return clients;
  };
  const std::set<std::string> on21 = on("203.0.113.21"), on24 = on("203.0.113.24");
  ASSERT_FALSE(on21.empty());
  ASSERT_FALSE(on24.empty());
  ASSERT_EQ(on21.size() + on24.size(), 16u);
  auto state = table_->Get(Key(key));
  ASSERT_TRUE(state.ok()) << state.status();
  const dataplane::RealState& down = state->reals[0];
  ASSERT_EQ(down.spec.address, Ip("203.0.113.21"));

  // Down, as a failed health check makes it: weight 0, then the flush.
  SetReals(key, {"203.0.113.21:8080@0", "203.0.113.24:8080"});
  auto flushed = dataplane::FlushReal(prog_->maps(), down.id, down.gen);
  ASSERT_TRUE(flushed.ok()) << flushed.status();
  EXPECT_EQ(flushed->connections, on21.size());
  EXPECT_EQ(flushed->nat_replies, on21.size());
  EXPECT_EQ(flushed->persistence, on21.size());
  EXPECT_TRUE(on("203.0.113.21").empty());
  EXPECT_EQ(on("203.0.113.24"), on24) << "the other real's flows are untouched";
  // Again: nothing left to remove.
  flushed = dataplane::FlushReal(prog_->maps(), down.id, down.gen);
  ASSERT_TRUE(flushed.ok()) << flushed.status();
  EXPECT_EQ(flushed->connections + flushed->nat_replies + flushed->persistence, 0u);

  // A flushed client's next segment (no SYN) reaches the other real, which
  // resets it (no socket for it); its reply comes back from the VIP.
  const std::string moved = *on21.begin();
  Exchange x = Make(moved, "192.0.2.30", "203.0.113.24", kTcp, 41000, 80, 8080);
  for (Frame* f : {&x.request, &x.to_real}) f->tcp_flags = kAck | kPsh;
  x.reply.tcp_flags = kRst;
  auto r = Run(Build(x.request));
  EXPECT_STREQ(VerdictName(r.verdict), "XDP_TX");
  EXPECT_EQ(Hex(r.packet), Hex(WithMacs(Build(x.to_real), RealMac(24), kDirectorMac)));
  const uint64_t replies = Global(XLB_STAT_NAT_REPLY);
  Run(Build(x.reply));
  EXPECT_EQ(Global(XLB_STAT_NAT_REPLY), replies + 1) << "the reset goes back as from the VIP";
}

TEST_F(NatTest, PortMappingNeedsNat) {
  auto st = table_->SetReals(Key("192.0.2.20:443/tcp"), {*model::ParseRealSpec("203.0.113.1:8443")});
  EXPECT_NE(st.message().find("use forward nat"), std::string::npos) << st;
}

TEST_F(NatTest, WithoutNatServicesRepliesAreNotLookedFor) {
  Exchange x = Make("198.51.100.2", "192.0.2.20", "203.0.113.21", kTcp, 40015, 80, 8080);
  ASSERT_EQ(Run(Build(x.request)).verdict, XDP_TX);
  for (const char* k : {"192.0.2.20:80/tcp", "192.0.2.20:53/udp", "192.0.2.21:80/tcp",
                        "[2001:db8:10::20]:80/tcp", "[2001:db8:10::20]:53/udp"})
    ASSERT_TRUE(table_->Delete(Key(k)).ok()) << k;
  uint64_t unmatched = Global(XLB_STAT_NAT_UNMATCHED);
  std::string reply = Build(x.reply);
  auto r = Run(reply);
  EXPECT_STREQ(VerdictName(r.verdict), "XDP_PASS");
  EXPECT_EQ(Hex(r.packet), Hex(reply));
  EXPECT_EQ(Global(XLB_STAT_NAT_UNMATCHED), unmatched);  // not even looked at
}

}  // namespace
}  // namespace xlb::testing
