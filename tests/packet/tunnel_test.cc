// Packet tests of tunnel forwarding (bpf/tunnel.h, docs/tunnel-design.md):
// every outer byte of IPIP and GUE, IPv4 and IPv6, against a frame built here
// from scratch (the flow hash computed independently below); the outer
// source within its prefix; connection-table hits; traces; truncations; MSS
// clamping; packets too big for the tunnel. The services are made with the
// service table as DR ones, then turned into tunnel services by writing the
// maps directly (the control plane's side is another change).
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <unistd.h>
#include <sched.h>

#include <set>

#include "dataplane/trace.h"
#include "tests/packet/packet_fixture.h"

namespace xlb::testing {
namespace {

// ---- an independent oracle of the flow hash (lookup3, as bpf/hash.h) -----

uint32_t Rol(uint32_t w, int s) { return (w << s) | (w >> ((32 - s) & 31)); }

void Mix(uint32_t& a, uint32_t& b, uint32_t& c) {
  a -= c; a ^= Rol(c, 4);  c += b;
  b -= a; b ^= Rol(a, 6);  a += c;
  c -= b; c ^= Rol(b, 8);  b += a;
  a -= c; a ^= Rol(c, 16); c += b;
  b -= a; b ^= Rol(a, 19); a += c;
  c -= b; c ^= Rol(b, 4);  b += a;
}

void Final(uint32_t& a, uint32_t& b, uint32_t& c) {
  c ^= b; c -= Rol(b, 14);
  a ^= c; a -= Rol(c, 11);
  b ^= a; b -= Rol(a, 25);
  c ^= b; c -= Rol(b, 16);
  a ^= c; a -= Rol(c, 4);
  b ^= a; b -= Rol(a, 14);
  c ^= b; c -= Rol(b, 24);
}

// The words as the program loads them: network-order bytes read as a host
// (little-endian) word.
uint32_t Word(const model::IpAddress& a, int i) { return a.words()[i]; }

uint32_t FlowHash(const Frame& f) {
  uint32_t a, b, c;
  a = b = c = 0x9e3779b9u + (9 << 2) + f.proto;
  a += Word(f.saddr, 0); b += Word(f.saddr, 1); c += Word(f.saddr, 2);
  Mix(a, b, c);
  a += Word(f.saddr, 3); b += Word(f.daddr, 0); c += Word(f.daddr, 1);
  Mix(a, b, c);
  a += Word(f.daddr, 2); b += Word(f.daddr, 3);
  c += (static_cast<uint32_t>(htons(f.sport)) << 16) | htons(f.dport);
  Final(a, b, c);
  return c;
}

// ---- the expected frame ---------------------------------------------------

std::string B16(uint16_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)}; }
std::string B32(uint32_t v) { return B16(v >> 16) + B16(v & 0xffff); }

struct Tunnel {
  bool gue = false;
  uint16_t gue_port = 6080;
  std::string src = "192.0.2.128";       // the outer source prefix
  std::string hostmask = "0.0.0.127";    // its host bits
  uint16_t mtu = 1500;
  bool mss_clamp = false;
  uint16_t mss = 1440;
};

// Bytes of `a` with the flow's hash ORed into the host bits of `mask`.
std::string OuterSource(const Tunnel& t, uint32_t hash) {
  std::string src = Ip(t.src).bytes(), mask = Ip(t.hostmask).bytes(), h = B32(hash);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<char>(src[i] | (h[i % 4] & mask[i]));
  return src;
}

uint32_t SumOf(const std::string& d) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < d.size(); i += 2)
    sum += (static_cast<uint8_t>(d[i]) << 8) | static_cast<uint8_t>(d[i + 1]);
  return sum;
}

// `in` (built from `f`) wrapped for `real` (MAC number `mac`) as `t` says.
std::string Encapsulated(const std::string& in, const Frame& f, const Tunnel& t,
                         const std::string& real, int mac) {
  size_t l2 = f.vlan ? 18 : 14;
  std::string inner = in.substr(l2);
  uint32_t hash = FlowHash(f);
  bool v6 = !f.saddr.is_v4();
  std::string src = OuterSource(t, hash), dst = Ip(real).bytes();
  std::string udp;
  if (t.gue) {
    udp = B16(0xc000 | (hash & 0x3fff)) + B16(t.gue_port) +
          B16(static_cast<uint16_t>(8 + inner.size())) + B16(0);
    if (v6) {
      uint32_t seed = SumOf(src + dst) + 17 + static_cast<uint32_t>(udp.size() + inner.size());
      uint16_t c = InetChecksum(udp + inner, seed);
      udp = udp.substr(0, 6) + B16(c ? c : 0xffff);
    }
  }
  std::string ip;
  if (v6) {
    ip = B32(0x60000000u | static_cast<uint32_t>(f.tos) << 20 | (hash & 0xfffff)) +
         B16(static_cast<uint16_t>(udp.size() + inner.size())) +
         std::string(1, static_cast<char>(t.gue ? 17 : 41)) + std::string(1, 64) + src + dst;
  } else {
    ip = std::string(1, 0x45) + std::string(1, static_cast<char>(f.tos)) +
         B16(static_cast<uint16_t>(20 + udp.size() + inner.size())) + B16(0) + B16(0x4000) +
         std::string(1, 64) + std::string(1, static_cast<char>(t.gue ? 17 : 4)) + B16(0) + src +
         dst;
    uint16_t c = InetChecksum(ip);
    ip = ip.substr(0, 10) + B16(c) + ip.substr(12);
  }
  std::string eth = WithMacs(in.substr(0, l2), RealMac(mac), kDirectorMac);
  return eth + ip + udp + inner;
}

class TunnelTest : public PacketTest {
 protected:
  // The service `key` (added by AddService) made a tunnel service.
  void MakeTunnel(const std::string& key, const Tunnel& t) {
    xlb_tunnel tun{};
    tun.flags = (t.gue ? XLB_TUN_F_GUE : 0) | (t.mss_clamp ? XLB_TUN_F_MSS_CLAMP : 0);
    model::IpAddress src = Ip(t.src), mask = Ip(t.hostmask);
    for (int i = 0; i < 4; ++i) {
      tun.src[i] = src.words()[i];
      tun.src_hostmask[i] = mask.words()[i];
    }
    tun.gue_port = htons(t.gue_port);
    tun.mtu = t.mtu;
    tun.mss = t.mss;
    tun.overhead = static_cast<uint8_t>((src.is_v4() ? 20 : 40) + (t.gue ? 8 : 0));
    auto st = MakeTunnelService(prog_->maps(), Key(key), tun);
    ASSERT_TRUE(st.ok()) << st;
  }

  // `frame` is dropped, counted once under `stat` and once as dropped.
  void ExpectDroppedAndCounted(const std::string& frame, int stat) {
    const uint64_t counted = Global(stat), dropped = Global(XLB_STAT_DROPPED);
    EXPECT_EQ(VerdictName(Run(frame).verdict), std::string("XDP_DROP"));
    EXPECT_EQ(Global(stat), counted + 1) << dataplane::GlobalStatName(stat);
    EXPECT_EQ(Global(XLB_STAT_DROPPED), dropped + 1);
  }
};

Tunnel V6(Tunnel t) {
  t.src = "2001:db8:77::";
  t.hostmask = "::ffff:ffff";
  return t;
}

Tunnel Gue(Tunnel t, uint16_t port) {
  t.gue = true;
  t.gue_port = port;
  return t;
}

// ---- outer headers, byte for byte -----------------------------------------

struct EncapCase {
  const char* name;
  Tunnel tunnel;
  const char* client;
  const char* vip;
  uint8_t proto;
  uint16_t vport;
  const char* real;
  uint8_t tos = 0;
  std::optional<uint16_t> vlan;
};

const std::vector<EncapCase>& EncapCases() {
  static const std::vector<EncapCase> cases = {
      {"ipip_v4_tcp", {}, "198.51.100.2", "192.0.2.10", kTcp, 80, "203.0.113.1", 0, std::nullopt},
      {"ipip_v4_udp_dscp_ecn", {}, "198.51.100.2", "192.0.2.10", kUdp, 53, "203.0.113.1", 0xb9, std::nullopt},
      {"ipip_v4_vlan", {}, "198.51.100.2", "192.0.2.10", kTcp, 80, "203.0.113.1", 0, 100},
      {"ipip_v6_tcp", V6({}), "2001:db8:1::2", "2001:db8:10::10", kTcp, 80, "2001:db8:2::1", 0, std::nullopt},
      {"ipip_v6_udp_traffic_class", V6({}), "2001:db8:1::2", "2001:db8:10::10", kUdp, 53,
       "2001:db8:2::1", 0x2e, std::nullopt},
      {"gue_v4_tcp", Gue({}, 6080), "198.51.100.2", "192.0.2.10", kTcp, 80, "203.0.113.1", 0, std::nullopt},
      {"gue_v4_udp_port_7777", Gue({}, 7777), "198.51.100.2", "192.0.2.10", kUdp, 53,
       "203.0.113.1", 0x03, std::nullopt},
      {"gue_v6_tcp_port_7777", Gue(V6({}), 7777), "2001:db8:1::2", "2001:db8:10::10", kTcp, 80,
       "2001:db8:2::1", 0x88, std::nullopt},
      {"gue_v6_udp_vlan", Gue(V6({}), 6080), "2001:db8:1::2", "2001:db8:10::10", kUdp, 53,
       "2001:db8:2::1", 0, 7},
  };
  return cases;
}

class EncapTest : public TunnelTest, public ::testing::WithParamInterface<EncapCase> {};

TEST_P(EncapTest, EveryOuterByte) {
  const EncapCase& c = GetParam();
  std::string key = Ip(c.vip).is_v4() ? std::string(c.vip) + ":" + std::to_string(c.vport)
                                      : "[" + std::string(c.vip) + "]:" + std::to_string(c.vport);
  key += c.proto == kTcp ? "/tcp" : "/udp";
  AddService(key, {c.real});
  MakeTunnel(key, c.tunnel);
  Frame f = F(c.client, c.vip, c.proto, c.vport, [&](Frame& f) {
    f.tos = c.tos;
    f.vlan = c.vlan;
    f.tcp_flags = kSyn;
  });
  std::string in = Build(f);
  int mac = FakeResolver::MacNumber(Ip(c.real));
  uint64_t tx = Global(XLB_STAT_TX);
  auto r = Run(in);
  EXPECT_EQ(VerdictName(r.verdict), std::string("XDP_TX"));
  EXPECT_EQ(Hex(r.packet), Hex(Encapsulated(in, f, c.tunnel, c.real, mac)));
  EXPECT_EQ(Global(XLB_STAT_TX), tx + 1);
  // A later packet of the flow (connection-table hit) is wrapped alike.
  if (c.proto == kTcp) {
    f.tcp_flags = kAck;
    std::string ack = Build(f);
    uint64_t hits = Global(XLB_STAT_CONN_HIT);
    auto h = Run(ack);
    EXPECT_EQ(VerdictName(h.verdict), std::string("XDP_TX"));
    EXPECT_EQ(Hex(h.packet), Hex(Encapsulated(ack, f, c.tunnel, c.real, mac)));
    EXPECT_EQ(Global(XLB_STAT_CONN_HIT), hits + 1);
  }
}

INSTANTIATE_TEST_SUITE_P(Tunnel, EncapTest, ::testing::ValuesIn(EncapCases()),
                         [](const auto& info) { return std::string(info.param.name); });

// The connection table says tunnel, whatever the service says now: a flow
// made while the service was a tunnel one goes on wrapped (hit path).
TEST_F(TunnelTest, ConnectionEntryCarriesTheTunnelFlag) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.1"});
  MakeTunnel("192.0.2.10:80/tcp", {});
  Run(Build(Tcp("198.51.100.2", "192.0.2.10", 40000, 80)));
  xlb_flow_key key{};
  xlb_conn conn{};
  ASSERT_TRUE(*prog_->maps().conn_table.NextKey(nullptr, &key));
  ASSERT_TRUE(*prog_->maps().conn_table.Lookup(&key, &conn));
  EXPECT_TRUE(conn.flags & XLB_CONN_F_TUNNEL);
  EXPECT_FALSE(conn.flags & XLB_CONN_F_NAT);
}

// A router's frag-needed about a tunnel flow reaches the flow's real
// wrapped, with the flow's outer source (the hash of the flow it quotes).
TEST_F(TunnelTest, IcmpErrorAboutATunnelFlowIsWrappedToItsReal) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11"});
  MakeTunnel("192.0.2.10:80/tcp", {});
  Frame flow = Tcp("198.51.100.2", "192.0.2.10", 40001, 80);
  ASSERT_EQ(Run(Build(flow)).verdict, XDP_TX);
  Frame reply = Tcp("192.0.2.10", "198.51.100.2", 80, 40001, kAck);
  Frame err = F("198.51.100.254", "192.0.2.10", kIcmp, 0, [&](Frame& f) {
    f.raw_l4 = IcmpPmtuError(IpPart(reply), false, 1400, f.saddr, f.daddr);
  });
  std::string in = Build(err);
  uint64_t before = Global(XLB_STAT_ICMP_FORWARDED);
  auto r = Run(in);
  EXPECT_EQ(VerdictName(r.verdict), std::string("XDP_TX"));
  EXPECT_EQ(Hex(r.packet), Hex(Encapsulated(in, flow, Tunnel{}, "203.0.113.11", 11)));
  EXPECT_EQ(Global(XLB_STAT_ICMP_FORWARDED), before + 1);
}

// ---- the outer source -----------------------------------------------------

TEST_F(TunnelTest, OuterSourceVariesByFlowWithinThePrefixAndStaysForOneFlow) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.1"});
  Tunnel t;  // 192.0.2.128/25
  MakeTunnel("192.0.2.10:80/tcp", t);
  std::set<std::string> sources;
  for (uint16_t port = 30000; port < 30040; ++port) {
    std::string in = Build(Tcp("198.51.100.2", "192.0.2.10", port, 80));
    auto r = Run(in);
    ASSERT_EQ(r.verdict, XDP_TX);
    std::string src = r.packet.substr(26, 4);
    EXPECT_EQ(static_cast<uint8_t>(src[3]) & 0x80, 0x80) << "outside 192.0.2.128/25";
    EXPECT_EQ(src.substr(0, 3), std::string("\xc0\x00\x02", 3));
    sources.insert(src);
    EXPECT_EQ(Run(in).packet.substr(26, 4), src) << "one flow, one source";
  }
  EXPECT_GE(sources.size(), 20u) << "40 flows over 128 addresses";
}

TEST_F(TunnelTest, OneSourceWithoutHostBits) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.1"});
  Tunnel t;
  t.src = "192.0.2.1";
  t.hostmask = "0.0.0.0";
  MakeTunnel("192.0.2.10:80/tcp", t);
  for (uint16_t port = 30000; port < 30010; ++port) {
    auto r = Run(Build(Tcp("198.51.100.2", "192.0.2.10", port, 80)));
    EXPECT_EQ(Hex(r.packet.substr(26, 4)), "c0000201");
  }
}

// ---- drops ----------------------------------------------------------------

TEST_F(TunnelTest, NoNextHopIsDroppedNotPassedUp) {
  resolver_.Set("203.0.113.9", std::nullopt, 0);
  AddService("192.0.2.10:80/tcp", {"203.0.113.9"});
  MakeTunnel("192.0.2.10:80/tcp", {});
  ExpectDroppedAndCounted(Build(Tcp("198.51.100.2", "192.0.2.10", 40000, 80)),
                          XLB_STAT_NO_ROUTE);
}

// A service flagged tunnel whose tunnels entry was never written (zeroed:
// overhead 0) is not wrapped with a source of 0.0.0.0: dropped, counted.
TEST_F(TunnelTest, UnwrittenTunnelEntryIsDropped) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.1"});
  MakeTunnel("192.0.2.10:80/tcp", {});
  uint32_t id = 0;
  xlb_tunnel tun{};
  auto st = prog_->maps().tunnels.ForEachEntry([&](const uint32_t& k, const xlb_tunnel& v) {
    if (v.overhead) id = k;
    return true;
  });
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_NE(id, 0u);
  ASSERT_TRUE(prog_->maps().tunnels.Update(&id, &tun).ok());
  ExpectDroppedAndCounted(Build(Tcp("198.51.100.2", "192.0.2.10", 40000, 80)),
                          XLB_STAT_TUN_ENCAP_FAILED);
}

// The loader fills the tail call's slot (Program::Load): emptied, a tunnel
// flow's packet is dropped and counted, never sent unwrapped.
TEST_F(TunnelTest, EmptyTailCallSlotIsDroppedAndCounted) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.1"});
  MakeTunnel("192.0.2.10:80/tcp", {});
  auto frame = Build(Tcp("198.51.100.2", "192.0.2.10", 40000, 80));
  ASSERT_EQ(VerdictName(Run(frame).verdict), std::string("XDP_TX"));  // the slot is filled
  bpf_prog_info info{};
  uint32_t map_ids[64] = {};
  info.nr_map_ids = 64;
  info.map_ids = reinterpret_cast<uint64_t>(map_ids);
  uint32_t len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(prog_->prog_fd(), &info, &len), 0);
  int progs = -1;
  for (uint32_t i = 0; i < info.nr_map_ids && i < 64 && progs < 0; ++i) {
    int fd = bpf_map_get_fd_by_id(map_ids[i]);
    bpf_map_info m{};
    uint32_t mlen = sizeof(m);
    if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &m, &mlen) == 0 &&
        std::string(m.name) == "tunnel_progs")
      progs = fd;
    else if (fd >= 0)
      close(fd);
  }
  ASSERT_GE(progs, 0) << "xlb_xdp uses no map tunnel_progs";
  const uint32_t slot = XLB_TUNNEL_PROG_SLOT;
  ASSERT_EQ(bpf_map_delete_elem(progs, &slot), 0);
  close(progs);
  ExpectDroppedAndCounted(frame, XLB_STAT_TUN_ENCAP_FAILED);
}

// ---- truncations ----------------------------------------------------------

TEST_F(TunnelTest, EveryTruncationIsDroppedAsMalformed) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.1"});
  AddService("[2001:db8:10::10]:53/udp", {"2001:db8:2::1"});
  MakeTunnel("192.0.2.10:80/tcp", {});
  MakeTunnel("[2001:db8:10::10]:53/udp", Gue(V6({}), 6080));
  auto run = [this](const std::string& f) { return Run(f); };
  auto malformed = [this] { return Global(XLB_STAT_MALFORMED); };
  ExpectEveryTruncationDropped(this, Build(Tcp("198.51.100.2", "192.0.2.10", 40000, 80)), run,
                               malformed);
  ExpectEveryTruncationDropped(
      this, Build(F("2001:db8:1::2", "2001:db8:10::10", kUdp, 53, [](Frame& f) { f.vlan = 5; })),
      run, malformed);
  ExpectEveryTruncationDropped(this,
                               Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80, kSyn)), run,
                               malformed);
}

// ---- trace ----------------------------------------------------------------

TEST_F(TunnelTest, TraceShowsTheTunnelAndChangesNothing) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.1"});
  MakeTunnel("192.0.2.10:80/tcp", Gue({}, 6080));
  dataplane::TraceRequest req;
  req.protocol = model::Protocol::kTcp;
  req.client = Ip("198.51.100.2");
  req.client_port = 40000;
  req.vip = Ip("192.0.2.10");
  req.vip_port = 80;
  req.syn = true;
  req.interface_mac = kDirectorMac;
  uint64_t tx = Global(XLB_STAT_TX);
  auto t = dataplane::Trace(*prog_, req);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(VerdictName(t->verdict), std::string("XDP_TX"));
  EXPECT_TRUE(t->record.flags & XLB_TRACE_F_TUNNEL);
  EXPECT_TRUE(t->record.flags & XLB_TRACE_F_WOULD_RECORD);
  EXPECT_NE(t->record.real_id, 0u);
  EXPECT_EQ(t->record.out_ifindex, 1u);  // lo: written through the moved metadata
  EXPECT_TRUE(t->record.reasons & (1u << XLB_STAT_TX));
  EXPECT_EQ(Global(XLB_STAT_TX), tx) << "a trace counts nothing";
  EXPECT_EQ(t->destination, Ip("203.0.113.1"));
  EXPECT_EQ(t->destination_port, 80);
  // The frame out is the one real traffic gets.
  auto r = Run(t->frame_in);
  EXPECT_EQ(Hex(t->frame_out), Hex(r.packet));
}

// ---- MSS clamp ------------------------------------------------------------

std::string Mss(uint16_t v) { return std::string("\x02\x04", 2) + B16(v); }
const std::string kNop = "\x01";
const std::string kTimestamp = std::string("\x08\x0a", 2) + std::string(8, '\x11');

struct MssCase {
  const char* name;
  std::string options;   // as the client sends them
  uint8_t flags;
  std::string want;      // as the real must get them
  bool clamped;
};

class MssTest : public TunnelTest, public ::testing::WithParamInterface<MssCase> {};

TEST_P(MssTest, LowersTheSynsMssWithAValidChecksum) {
  const MssCase& c = GetParam();
  AddService("192.0.2.10:80/tcp", {"203.0.113.1"});
  Tunnel t;
  t.mss_clamp = true;
  t.mss = 1440;
  MakeTunnel("192.0.2.10:80/tcp", t);
  Frame f = Tcp("198.51.100.2", "192.0.2.10", 40000, 80, c.flags);
  f.tcp_options = c.options;
  Frame want = f;
  want.tcp_options = c.want;  // the builder computes the checksum from scratch
  uint64_t clamped = Global(XLB_STAT_TUN_MSS_CLAMPED);
  auto r = Run(Build(f));
  ASSERT_EQ(VerdictName(r.verdict), std::string("XDP_TX"));
  EXPECT_EQ(Hex(r.packet), Hex(Encapsulated(Build(want), want, t, "203.0.113.1", 1)));
  EXPECT_EQ(Global(XLB_STAT_TUN_MSS_CLAMPED), clamped + (c.clamped ? 1 : 0));
}

INSTANTIATE_TEST_SUITE_P(
    Tunnel, MssTest,
    ::testing::Values(
        MssCase{"mss_1460_first", Mss(1460), kSyn, Mss(1440), true},
        MssCase{"mss_after_nop_nop_timestamp", kNop + kNop + kTimestamp + Mss(8960), kSyn,
                kNop + kNop + kTimestamp + Mss(1440), true},
        MssCase{"mss_at_odd_offset", kNop + Mss(1460) + std::string(3, '\0'), kSyn,
                kNop + Mss(1440) + std::string(3, '\0'), true},
        MssCase{"mss_already_small", Mss(1200), kSyn, Mss(1200), false},
        MssCase{"mss_equal", Mss(1440), kSyn, Mss(1440), false},
        MssCase{"not_a_syn", Mss(1460), kAck, Mss(1460), false},
        MssCase{"syn_without_options", "", kSyn, "", false},
        MssCase{"after_end_of_options", std::string("\0\0\0\0", 4) + Mss(1460), kSyn,
                std::string("\0\0\0\0", 4) + Mss(1460), false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(TunnelTest, NoClampWithoutTheFlag) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.1"});
  Tunnel t;  // mss_clamp false
  MakeTunnel("192.0.2.10:80/tcp", t);
  Frame f = Tcp("198.51.100.2", "192.0.2.10", 40000, 80);
  f.tcp_options = Mss(1460);
  auto r = Run(Build(f));
  EXPECT_EQ(Hex(r.packet), Hex(Encapsulated(Build(f), f, t, "203.0.113.1", 1)));
}

// ---- too big for the tunnel -----------------------------------------------

// The ICMP error the client must get for `f` (its frame `in`): from the VIP,
// back to the MAC it came from, quoting the packet's first 84 / 104 bytes.
std::string TooBig(const std::string& in, const Frame& f, uint16_t mtu) {
  bool v6 = !f.saddr.is_v4();
  std::string quote = IpPart(f).substr(0, v6 ? 104 : 84);
  Frame e;
  e.dst = f.src;
  e.src = f.dst;
  e.vlan = f.vlan;
  e.saddr = f.daddr;
  e.daddr = f.saddr;
  e.proto = v6 ? kIcmp6 : kIcmp;
  e.tos = 0xc0;
  e.ipv4_id = 0;
  e.ttl = 64;
  e.raw_l4 = IcmpPmtuError(quote, v6, mtu, e.saddr, e.daddr);
  (void)in;
  return Build(e);
}

struct TooBigCase {
  const char* name;
  Tunnel tunnel;
  const char* client;
  const char* vip;
  uint8_t proto;
  uint16_t vport;
  size_t l3_len;       // the inner packet's size
  uint16_t frag;       // IPv4 flags
  const char* verdict;
  int counter;
  uint16_t mtu = 0;    // advertised (with XDP_TX)
  std::optional<uint16_t> vlan;
};

class TooBigTest : public TunnelTest, public ::testing::WithParamInterface<TooBigCase> {};

Frame Sized(const TooBigCase& c) {
  return F(c.client, c.vip, c.proto, c.vport, [&](Frame& f) {
    f.ipv4_frag = c.frag;
    f.vlan = c.vlan;
    f.tcp_flags = kAck;
    size_t headers = (f.saddr.is_v4() ? 20 : 40) + (c.proto == kTcp ? 20 : 8);
    f.l4_payload = std::string(c.l3_len - headers, 'x');
  });
}

TEST_P(TooBigTest, AnswersOrDrops) {
  const TooBigCase& c = GetParam();
  std::string key = Ip(c.vip).is_v4() ? std::string(c.vip) + ":" + std::to_string(c.vport)
                                      : "[" + std::string(c.vip) + "]:" + std::to_string(c.vport);
  key += c.proto == kTcp ? "/tcp" : "/udp";
  std::string real = Ip(c.vip).is_v4() ? "203.0.113.1" : "2001:db8:2::1";
  AddService(key, {real});
  MakeTunnel(key, c.tunnel);
  Frame f = Sized(c);
  std::string in = Build(f);
  uint64_t before = Global(c.counter), dropped = Global(XLB_STAT_DROPPED);
  auto r = Run(in);
  EXPECT_EQ(VerdictName(r.verdict), std::string(c.verdict));
  EXPECT_EQ(Global(c.counter), before + 1) << dataplane::GlobalStatName(c.counter);
  if (std::string(c.verdict) == "XDP_TX" && c.counter == XLB_STAT_TUN_TOO_BIG) {
    EXPECT_EQ(Hex(r.packet), Hex(TooBig(in, f, c.mtu)));
  } else if (std::string(c.verdict) == "XDP_TX") {
    EXPECT_EQ(Hex(r.packet), Hex(Encapsulated(in, f, c.tunnel, real,
                                              FakeResolver::MacNumber(Ip(real)))));
  } else {
    EXPECT_EQ(Global(XLB_STAT_DROPPED), dropped + 1);
  }
}

constexpr uint16_t kDf = 0x4000;

INSTANTIATE_TEST_SUITE_P(
    Tunnel, TooBigTest,
    ::testing::Values(
        // IPIP v4, mtu 1500: 1480 inner bytes fit, 1481 do not.
        TooBigCase{"v4_fits_exactly", {}, "198.51.100.2", "192.0.2.10", kTcp, 80, 1480, kDf,
                   "XDP_TX", XLB_STAT_TX, 0, std::nullopt},
        TooBigCase{"v4_df_frag_needed", {}, "198.51.100.2", "192.0.2.10", kTcp, 80, 1481, kDf,
                   "XDP_TX", XLB_STAT_TUN_TOO_BIG, 1480, std::nullopt},
        TooBigCase{"v4_df_frag_needed_vlan", {}, "198.51.100.2", "192.0.2.10", kUdp, 53, 1500,
                   kDf, "XDP_TX", XLB_STAT_TUN_TOO_BIG, 1480, 9},
        TooBigCase{"gue_v4_df_frag_needed", Gue({}, 6080), "198.51.100.2", "192.0.2.10", kUdp,
                   53, 1473, kDf, "XDP_TX", XLB_STAT_TUN_TOO_BIG, 1472, std::nullopt},
        TooBigCase{"v4_no_df_dropped", {}, "198.51.100.2", "192.0.2.10", kUdp, 53, 1481, 0,
                   "XDP_DROP", XLB_STAT_TUN_TOO_BIG_DROPPED, 0, std::nullopt},
        // IPv6: 1460 inner bytes fit 1500 with IPIP (40), 1452 with GUE (48).
        TooBigCase{"v6_fits_exactly", V6({}), "2001:db8:1::2", "2001:db8:10::10", kTcp, 80, 1460,
                   0, "XDP_TX", XLB_STAT_TX, 0, std::nullopt},
        TooBigCase{"v6_packet_too_big", V6({}), "2001:db8:1::2", "2001:db8:10::10", kTcp, 80,
                   1461, 0, "XDP_TX", XLB_STAT_TUN_TOO_BIG, 1460, std::nullopt},
        TooBigCase{"gue_v6_packet_too_big", Gue(V6({}), 6080), "2001:db8:1::2",
                   "2001:db8:10::10", kUdp, 53, 1453, 0, "XDP_TX", XLB_STAT_TUN_TOO_BIG, 1452, std::nullopt}),
    [](const auto& info) { return std::string(info.param.name); });

// IPv6 never advertises less than 1280 (RFC 8201): a tunnel mtu of 1300
// leaves 1260 for the inner packet, yet PTB says 1280.
TEST_F(TunnelTest, PacketTooBigNeverBelow1280) {
  AddService("[2001:db8:10::10]:80/tcp", {"2001:db8:2::1"});
  Tunnel t = V6({});
  t.mtu = 1300;
  MakeTunnel("[2001:db8:10::10]:80/tcp", t);
  TooBigCase c{"", t, "2001:db8:1::2", "2001:db8:10::10", kTcp, 80, 1261, 0, "", 0, 0, std::nullopt};
  Frame f = Sized(c);
  std::string in = Build(f);
  auto r = Run(in);
  EXPECT_EQ(Hex(r.packet), Hex(TooBig(in, f, 1280)));
}

// Past XLB_ICMP_RATE_DEFAULT errors per CPU and second, no more are built.
// On one CPU (the window is per CPU): the first XLB_ICMP_RATE_DEFAULT of a
// window are answered, then the next is dropped and counted.
TEST_F(TunnelTest, TooBigErrorsAreRateLimited) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.1"});
  MakeTunnel("192.0.2.10:80/tcp", {});
  TooBigCase c{"", {}, "198.51.100.2", "192.0.2.10", kTcp, 80, 1500, kDf, "", 0, 0, std::nullopt};
  std::string in = Build(Sized(c));
  cpu_set_t old_set, one;
  ASSERT_EQ(sched_getaffinity(0, sizeof(old_set), &old_set), 0);
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu(), &one);
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  // Bounded: 20 windows' worth; a run takes well under a millisecond.
  const int kMaxRuns = 20 * XLB_ICMP_RATE_DEFAULT;
  int answered = 0, first_drop = -1;
  for (int i = 0; i < kMaxRuns && first_drop < 0; ++i) {
    if (Run(in).verdict == XDP_DROP) first_drop = i;
    else ++answered;
  }
  sched_setaffinity(0, sizeof(old_set), &old_set);
  ASSERT_GE(first_drop, 0) << "never limited in " << kMaxRuns << " runs";
  EXPECT_GE(answered, XLB_ICMP_RATE_DEFAULT) << "limited before the rate";
  EXPECT_EQ(Global(XLB_STAT_TUN_TOO_BIG_LIMITED), 1u);
  EXPECT_EQ(Global(XLB_STAT_TUN_TOO_BIG), static_cast<uint64_t>(answered));
}

}  // namespace
}  // namespace xlb::testing
