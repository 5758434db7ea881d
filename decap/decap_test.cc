// Packet tests of xlb-decap's XDP program: frames from
// dataplane/frame_builder.h run through a freshly loaded instance with
// BPF_PROG_TEST_RUN; each case gives the frame, the verdict, the frame as
// the program leaves it (byte for byte) and the one counter that moves.
#include <linux/bpf.h>

#include <functional>
#include <string>
#include <vector>

#include "controlplane/health/tunnel_echo.h"
#include "dataplane/frame_builder.h"
#include "dataplane/test_run.h"
#include "decap/decap.h"
#include "gtest/gtest.h"

namespace xlb::decap {
namespace {

using namespace ::xlb::dataplane::frames;  // NOLINT: the tests' vocabulary

model::IpAddress Ip(const char* s) { return *model::IpAddress::Parse(s); }

// The real (outer destination), the director (outer source), the client
// (inner source), VIPs (inner destination).
constexpr const char *kReal4 = "198.51.100.20", *kReal6 = "2001:db8:1::20";
constexpr const char *kDirector4 = "198.51.100.1", *kDirector6 = "2001:db8:1::1";
constexpr const char *kClient4 = "203.0.113.7", *kClient6 = "2001:db8:2::7";
constexpr const char *kVip4 = "192.0.2.10", *kVip6 = "2001:db8::10";

// A client's TCP SYN to `vip`, as the director received it; TTL 17 (not
// the builder's default) so that a changed TTL shows.
Frame Inner(const char* vip, const char* client = nullptr) {
  Frame f;
  f.daddr = Ip(vip);
  f.saddr = Ip(client ? client : f.daddr.is_v4() ? kClient4 : kClient6);
  f.sport = 40001;
  f.dport = 443;
  f.tcp_flags = kSyn;
  f.ttl = 17;
  return f;
}

// `inner` in IPIP from the director to `real` (protocol 4 or 41 by the
// inner family).
Frame Ipip(const Frame& inner, const char* real) {
  Frame f;
  f.daddr = Ip(real);
  f.saddr = Ip(f.daddr.is_v4() ? kDirector4 : kDirector6);
  f.proto = inner.daddr.is_v4() ? 4 : 41;
  f.raw_l4 = IpPart(inner);
  return f;
}

// `inner` in GUE variant 1 (UDP payload = inner packet), or variant 0 with
// `gue_header` before it.
Frame Gue(const Frame& inner, const char* real, uint16_t port = 6080,
          const std::string& gue_header = "") {
  Frame f;
  f.daddr = Ip(real);
  f.saddr = Ip(f.daddr.is_v4() ? kDirector4 : kDirector6);
  f.proto = kUdp;
  f.sport = 51234;
  f.dport = port;
  f.l4_payload = gue_header + IpPart(inner);
  return f;
}

// The frame the kernel should get: the inner packet behind the outer
// frame's Ethernet header (and tag), with the inner packet's type.
std::string Decapsulated(const Frame& outer, const Frame& inner) {
  Frame f = inner;
  f.dst = outer.dst;
  f.src = outer.src;
  f.vlan = outer.vlan;
  return Build(f);
}

const std::string kGue0v4("\x00\x04\x00\x00", 4), kGue0v6("\x00\x29\x00\x00", 4);

class DecapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = Program::Load();
    ASSERT_TRUE(p.ok()) << p.status();
    prog_ = std::move(*p);
    Configure(6080);
  }

  void Configure(uint16_t gue_port) {
    Config c;
    c.vips = {Ip(kVip4), Ip(kVip6)};
    c.locals = {Ip(kReal4), Ip(kReal6)};
    c.gue_port = gue_port;
    ASSERT_TRUE(prog_->Configure(c).ok());
  }

  Counters Read() {
    auto c = prog_->ReadCounters();
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : Counters{};
  }

  // Runs `frame`; returns the result and which counters moved (name +N).
  dataplane::TestRunResult Run(const std::string& frame, std::string* moved) {
    Counters before = Read();
    auto r = dataplane::TestRun(prog_->prog_fd(), frame);
    EXPECT_TRUE(r.ok()) << r.status();
    Counters after = Read();
    moved->clear();
    for (size_t i = 0; i < after.size(); ++i)
      if (after[i] != before[i])
        *moved += std::string(moved->empty() ? "" : " ") + kCounterNames[i] + "+" +
                  std::to_string(after[i] - before[i]);
    return r.ok() ? *r : dataplane::TestRunResult{};
  }

  std::unique_ptr<Program> prog_;
};

struct Case {
  const char* name;
  std::function<Frame()> outer;
  std::function<Frame()> inner;  // decapsulated: the inner frame; null: passed as is
  const char* counter;           // the one counter that moves
  uint16_t gue_port = 6080;
};

Frame WithVlan(Frame f) {
  f.vlan = 7;
  return f;
}

// `f` with its IPv4 TOS / IPv6 traffic class set to `tos`.
Frame Tos(Frame f, uint8_t tos) {
  f.tos = tos;
  return f;
}

// DSCP 40 with ECN Not-ECT, ECT(0), ECT(1), CE.
constexpr uint8_t kNotEct = 0xa0, kEct0 = 0xa2, kEct1 = 0xa1, kCe = 0xa3;

const std::vector<Case>& Decapsulating() {
  static const std::vector<Case> cases = {
      // RFC 6040: CE on the outer header marks an ECN-capable inner one (the
      // inner IPv4 checksum, computed by the builder from scratch, follows).
      {"ipip_v4_ce_carried_in", [] { return Tos(Ipip(Tos(Inner(kVip4), kEct0), kReal4), 0x03); },
       [] { return Tos(Inner(kVip4), kCe); }, "ipip_v4"},
      {"gue_v6_ce_carried_in", [] { return Tos(Gue(Tos(Inner(kVip6), kEct1), kReal6), 0x03); },
       [] { return Tos(Inner(kVip6), kCe); }, "gue_v6"},
      {"ipip_v4_ce_not_ect_inner_unchanged",
       [] { return Tos(Ipip(Tos(Inner(kVip4), kNotEct), kReal4), 0x03); },
       [] { return Tos(Inner(kVip4), kNotEct); }, "ipip_v4"},
      {"ipip_v6_ect_outer_inner_unchanged",
       [] { return Tos(Ipip(Tos(Inner(kVip6), kEct1), kReal6), 0x02); },
       [] { return Tos(Inner(kVip6), kEct1); }, "ipip_v6"},
      {"ipip_v4_in_v4", [] { return Ipip(Inner(kVip4), kReal4); }, [] { return Inner(kVip4); },
       "ipip_v4"},
      {"ipip_v6_in_v6", [] { return Ipip(Inner(kVip6), kReal6); }, [] { return Inner(kVip6); },
       "ipip_v6"},
      {"ipip_v4_in_v6", [] { return Ipip(Inner(kVip4), kReal6); }, [] { return Inner(kVip4); },
       "ipip_v4"},
      {"ipip_v6_in_v4", [] { return Ipip(Inner(kVip6), kReal4); }, [] { return Inner(kVip6); },
       "ipip_v6"},
      {"ipip_v4_outer_options",
       [] {
         Frame f = Ipip(Inner(kVip4), kReal4);
         f.ipv4_options = std::string("\x01\x01\x01\x00", 4);  // NOP NOP NOP EOL
         return f;
       },
       [] { return Inner(kVip4); }, "ipip_v4"},
      {"ipip_v4_vlan_tag", [] { return WithVlan(Ipip(Inner(kVip4), kReal4)); },
       [] { return Inner(kVip4); }, "ipip_v4"},
      {"ipip_v4_udp_inner",
       [] {
         Frame in = Inner(kVip4);
         in.proto = kUdp;
         return Ipip(in, kReal4);
       },
       [] {
         Frame in = Inner(kVip4);
         in.proto = kUdp;
         return in;
       },
       "ipip_v4"},
      {"gue_v4_default_port", [] { return Gue(Inner(kVip4), kReal4); }, [] { return Inner(kVip4); },
       "gue_v4"},
      {"gue_v6_default_port", [] { return Gue(Inner(kVip6), kReal6); }, [] { return Inner(kVip6); },
       "gue_v6"},
      {"gue_v4_port_given", [] { return Gue(Inner(kVip4), kReal4, 9000); },
       [] { return Inner(kVip4); }, "gue_v4", 9000},
      {"gue_v6_port_given", [] { return Gue(Inner(kVip6), kReal6, 9000); },
       [] { return Inner(kVip6); }, "gue_v6", 9000},
      {"gue_variant0_v4", [] { return Gue(Inner(kVip4), kReal4, 6080, kGue0v4); },
       [] { return Inner(kVip4); }, "gue_v4"},
      {"gue_variant0_v6", [] { return Gue(Inner(kVip6), kReal6, 6080, kGue0v6); },
       [] { return Inner(kVip6); }, "gue_v6"},
  };
  return cases;
}

const std::vector<Case>& NotOurs() {
  static const std::vector<Case> cases = {
      {"other_vip", [] { return Ipip(Inner("192.0.2.99"), kReal4); }, nullptr, "not_vip"},
      {"other_vip_v6_gue", [] { return Gue(Inner("2001:db8::99"), kReal6); }, nullptr, "not_vip"},
      // The VIP itself is not a place tunnels end: only the locals are.
      {"outer_to_vip", [] { return Ipip(Inner(kVip4), kVip4); }, nullptr, "passed"},
      {"other_outer_destination", [] { return Ipip(Inner(kVip4), "198.51.100.99"); }, nullptr,
       "passed"},
      {"other_outer_destination_v6", [] { return Gue(Inner(kVip6), "2001:db8:1::99"); }, nullptr,
       "passed"},
      {"other_udp_port", [] { return Gue(Inner(kVip4), kReal4, 6081); }, nullptr, "passed"},
      {"default_port_when_another_given", [] { return Gue(Inner(kVip4), kReal4, 6080); }, nullptr,
       "passed", 9000},
      {"plain_tcp_to_real", [] { return Inner(kReal4); }, nullptr, "passed"},
      {"plain_tcp_to_vip", [] { return Inner(kVip4); }, nullptr, "passed"},
      {"plain_udp_to_real",
       [] {
         Frame f = Inner(kReal4);
         f.proto = kUdp;
         return f;
       },
       nullptr, "passed"},
      // Only the first fragment holds the inner header: the kernel's.
      {"ipip_outer_first_fragment",
       [] {
         Frame f = Ipip(Inner(kVip4), kReal4);
         f.ipv4_frag = 0x2000;
         return f;
       },
       nullptr, "passed"},
      {"ipip_outer_later_fragment",
       [] {
         Frame f = Ipip(Inner(kVip4), kReal4);
         f.ipv4_frag = 0x0010;
         return f;
       },
       nullptr, "passed"},
      {"ipip_v6_outer_fragment_header",
       [] {
         Frame f = Ipip(Inner(kVip6), kReal6);
         f.ipv6_fragment_header = true;
         return f;
       },
       nullptr, "passed"},
      {"ipip_v6_outer_hop_by_hop",
       [] {
         Frame f = Ipip(Inner(kVip6), kReal6);
         f.ipv6_hop_by_hop = true;
         return f;
       },
       nullptr, "passed"},
      {"other_protocol_to_real",
       [] {
         Frame f = Ipip(Inner(kVip4), kReal4);
         f.proto = 47;  // GRE
         return f;
       },
       nullptr, "passed"},
  };
  return cases;
}

TEST_F(DecapTest, DecapsulatesOursByteForByte) {
  for (const auto& c : Decapsulating()) {
    SCOPED_TRACE(c.name);
    Configure(c.gue_port);
    const Frame outer = c.outer();
    const Frame inner = c.inner();
    std::string moved;
    auto r = Run(Build(outer), &moved);
    EXPECT_STREQ(dataplane::XdpVerdictName(r.verdict), "XDP_PASS");
    EXPECT_EQ(r.packet, Decapsulated(outer, inner));
    EXPECT_EQ(moved, std::string(c.counter) + "+1");
    // The inner TTL / hop limit as the client sent it (17).
    const size_t l3 = outer.vlan ? 18 : 14;
    ASSERT_GT(r.packet.size(), l3 + 9);
    EXPECT_EQ(static_cast<uint8_t>(r.packet[l3 + (inner.daddr.is_v4() ? 8 : 7)]), 17);
  }
}

// xlbd's through-tunnel health probe (controlplane/health/tunnel_echo.h):
// an ICMP / ICMPv6 echo request from the director to the VIP, in IPIP,
// 6in6 or GUE, is decapsulated like any packet for a VIP (the real's stack
// then answers it from the VIP), byte for byte as xlbd builds it.
TEST_F(DecapTest, DecapsulatesTheHealthProbesEcho) {
  for (const char* vip : {kVip4, kVip6}) {
    const bool v4 = Ip(vip).is_v4();
    const std::string echo = health::BuildEchoRequest(
        {Ip(v4 ? kDirector4 : kDirector6), Ip(vip), 0x1234, 1, "xlb tunnel check"});
    const Frame tcp = Inner(vip);  // only for the helpers' addresses and protocol
    Frame ipip = Ipip(tcp, v4 ? kReal4 : kReal6);
    ipip.raw_l4 = echo;
    Frame gue = Gue(tcp, v4 ? kReal4 : kReal6);
    gue.l4_payload = echo;
    for (const Frame& outer : {ipip, gue}) {
      SCOPED_TRACE(std::string(vip) + (outer.proto == kUdp ? " gue" : " ipip"));
      std::string moved;
      auto r = Run(Build(outer), &moved);
      EXPECT_STREQ(dataplane::XdpVerdictName(r.verdict), "XDP_PASS");
      // The outer frame's MAC addresses, the inner packet's type, the echo.
      EXPECT_EQ(r.packet, Build(outer).substr(0, 12) + (v4 ? std::string("\x08\x00", 2)
                                                            : std::string("\x86\xdd", 2)) +
                              echo);
      EXPECT_EQ(moved, std::string(outer.proto == kUdp ? "gue_" : "ipip_") + (v4 ? "v4" : "v6") +
                           "+1");
    }
  }
}

TEST_F(DecapTest, PassesWhatIsNotOursUntouched) {
  for (const auto& c : NotOurs()) {
    SCOPED_TRACE(c.name);
    Configure(c.gue_port);
    const std::string frame = Build(c.outer());
    std::string moved;
    auto r = Run(frame, &moved);
    EXPECT_STREQ(dataplane::XdpVerdictName(r.verdict), "XDP_PASS");
    EXPECT_EQ(r.packet, frame);
    EXPECT_EQ(moved, std::string(c.counter) + "+1");
  }
}

TEST_F(DecapTest, PassesNonIpUntouched) {
  // An ARP request and a runt that is all Ethernet header.
  std::string arp = std::string("\xff\xff\xff\xff\xff\xff\x02\x00\x00\x00\x00\xc1\x08\x06", 14) +
                    std::string(28, '\x01');
  for (const std::string& frame : {arp, arp.substr(0, 14)}) {
    std::string moved;
    auto r = Run(frame, &moved);
    EXPECT_STREQ(dataplane::XdpVerdictName(r.verdict), "XDP_PASS");
    EXPECT_EQ(r.packet, frame);
    EXPECT_EQ(moved, "passed+1");
  }
}

// Ethernet padding after the outer packet stays behind the inner one (the
// kernel trims to the inner length).
TEST_F(DecapTest, EthernetPaddingIsNotPartOfTheInnerPacket) {
  const Frame outer = Ipip(Inner(kVip4), kReal4);
  const std::string pad(6, '\0');
  std::string moved;
  auto r = Run(Build(outer) + pad, &moved);
  EXPECT_STREQ(dataplane::XdpVerdictName(r.verdict), "XDP_PASS");
  EXPECT_EQ(r.packet, Decapsulated(outer, Inner(kVip4)) + pad);
  EXPECT_EQ(moved, "ipip_v4+1");
}

TEST_F(DecapTest, DropsWhatIsOursButBroken) {
  const struct {
    const char* name;
    Frame outer;
  } cases[] = {
      // Protocol 4 says IPv4 inside; an IPv6 packet is not that.
      {"ipip_v4_protocol_v6_inside",
       [] {
         Frame f = Ipip(Inner(kVip6), kReal4);
         f.proto = 4;
         return f;
       }()},
      // GUE variant 0 with the control bit, or optional fields (hlen 1).
      {"gue_control", Gue(Inner(kVip4), kReal4, 6080, std::string("\x20\x00\x00\x00", 4))},
      {"gue_optional_fields",
       Gue(Inner(kVip4), kReal4, 6080, std::string("\x01\x04\x00\x00\x00\x00\x00\x00", 8))},
      {"gue_flags", Gue(Inner(kVip4), kReal4, 6080, std::string("\x00\x04\x80\x00", 4))},
      {"gue_variant0_other_protocol", Gue(Inner(kVip4), kReal4, 6080, std::string("\x00\x11\x00\x00", 4))},
      {"gue_empty", [] {
         Frame f = Gue(Inner(kVip4), kReal4);
         f.l4_payload.clear();
         return f;
       }()},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string moved;
    auto r = Run(Build(c.outer), &moved);
    EXPECT_STREQ(dataplane::XdpVerdictName(r.verdict), "XDP_DROP");
    EXPECT_EQ(moved, "malformed+1");
  }
}

// Every length from an Ethernet header to the whole frame: the outer
// packet cut short passes (the kernel drops it) and counts malformed;
// nothing is decapsulated from a cut frame. The verifier guarantees no read
// out of bounds; this checks the verdict and the counters.
TEST_F(DecapTest, EveryTruncationOfTheFramePassesOrIsCountedMalformed) {
  for (const auto& c : Decapsulating()) {
    SCOPED_TRACE(c.name);
    Configure(c.gue_port);
    const std::string frame = Build(c.outer());
    for (size_t len = 14; len < frame.size(); ++len) {
      std::string moved;
      const std::string cut = frame.substr(0, len);
      auto r = Run(cut, &moved);
      EXPECT_STREQ(dataplane::XdpVerdictName(r.verdict), "XDP_PASS") << "length " << len;
      EXPECT_EQ(r.packet, cut) << "length " << len;
      EXPECT_TRUE(moved == "malformed+1" || moved == "passed+1") << "length " << len << ": " << moved;
    }
  }
}

// Every length of the inner packet inside an outer packet that is whole
// (its lengths say what it holds): ours, so dropped as malformed, but for
// the whole inner packet.
TEST_F(DecapTest, EveryTruncationOfTheInnerPacketIsDroppedAsMalformed) {
  for (const auto& c : Decapsulating()) {
    SCOPED_TRACE(c.name);
    Configure(c.gue_port);
    Frame outer = c.outer();
    std::string& payload = outer.raw_l4.empty() ? outer.l4_payload : outer.raw_l4;
    const std::string whole = payload;
    const size_t header = outer.proto == kUdp && whole[0] == 0 ? 4 : 0;  // GUE variant 0
    for (size_t len = header; len < whole.size(); ++len) {
      payload = whole.substr(0, len);
      std::string moved;
      auto r = Run(Build(outer), &moved);
      EXPECT_STREQ(dataplane::XdpVerdictName(r.verdict), "XDP_DROP") << "length " << len;
      EXPECT_EQ(moved, "malformed+1") << "length " << len;
    }
  }
}

}  // namespace
}  // namespace xlb::decap
