// Packet tests of direct routing: frames in, BPF_PROG_TEST_RUN, verdict and
// frame out. See packet_fixture.h and main.cc.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <set>

#include "dataplane/conntrack.h"
#include "netlink/links.h"
#include "tests/packet/packet_fixture.h"

namespace xlb::testing {
namespace {

// ---- stateless cases, data-driven -----------------------------------------

struct Case {
  const char* name;
  std::function<Frame()> frame;
  uint32_t verdict;
  int real = 0;         // XDP_TX/REDIRECT: the real's MAC number; else the frame is unchanged
  int counter = -1;     // a global counter that must go up by one
  std::string raw = ""; // a frame given as bytes instead (ARP)
};

std::string ArpRequest() {
  std::string f = "\xff\xff\xff\xff\xff\xff\x02\x00\x00\x00\x00\xc1\x08\x06";
  f += std::string("\x00\x01\x08\x00\x06\x04\x00\x01", 8);
  f += std::string("\x02\x00\x00\x00\x00\xc1\xc6\x33\x64\x02", 10);  // 198.51.100.2
  f += std::string("\x00\x00\x00\x00\x00\x00\xc0\x00\x02\x0a", 10);  // who has 192.0.2.10
  return f;
}

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      {"tcp_syn_to_vip", [] { return F("198.51.100.2", "192.0.2.10", kTcp, 80); }, XDP_TX, 1,
       XLB_STAT_TX},
      {"tcp_ack_midflow_to_vip",
       [] { return F("198.51.100.2", "192.0.2.10", kTcp, 80, [](Frame& f) { f.tcp_flags = kAck; }); },
       XDP_TX, 1, XLB_STAT_CONN_MISS},
      {"udp_to_vip", [] { return F("198.51.100.2", "192.0.2.10", kUdp, 53); }, XDP_TX, 1},
      {"ipv6_tcp_syn_to_vip", [] { return F("2001:db8:1::2", "2001:db8:10::10", kTcp, 80); },
       XDP_TX, 1},
      {"ipv6_udp_to_vip", [] { return F("2001:db8:1::2", "2001:db8:10::10", kUdp, 53); }, XDP_TX,
       1},
      {"vlan_tagged_vip",
       [] { return F("198.51.100.2", "192.0.2.10", kTcp, 80, [](Frame& f) { f.vlan = 100; }); },
       XDP_TX, 1},
      {"vlan_tagged_ipv6_vip",
       [] { return F("2001:db8:1::2", "2001:db8:10::10", kTcp, 80, [](Frame& f) { f.vlan = 7; }); },
       XDP_TX, 1},
      {"two_vlan_tags_passed",
       [] {
         return F("198.51.100.2", "192.0.2.10", kTcp, 80, [](Frame& f) {
           f.vlan = 100;
           f.second_vlan = true;
         });
       },
       XDP_PASS, 0, XLB_STAT_PASSED},
      {"all_ports_service", [] { return F("198.51.100.2", "192.0.2.20", kTcp, 4444); }, XDP_TX, 2},
      {"all_ports_service_other_protocol",
       [] { return F("198.51.100.2", "192.0.2.20", kUdp, 4444); }, XDP_PASS, 0, XLB_STAT_PASSED},
      {"port_beats_all_ports", [] { return F("198.51.100.2", "192.0.2.20", kTcp, 443); }, XDP_TX,
       5},
      {"vip_unconfigured_port", [] { return F("198.51.100.2", "192.0.2.10", kTcp, 81); }, XDP_PASS,
       0, XLB_STAT_PASSED},
      {"not_a_vip_tcp", [] { return F("198.51.100.2", "198.51.100.1", kTcp, 22); }, XDP_PASS, 0,
       XLB_STAT_PASSED},
      {"arp_request", nullptr, XDP_PASS, 0, XLB_STAT_PASSED, ArpRequest()},
      {"vrrp_advert",
       [] {
         return F("198.51.100.1", "224.0.0.18", kVrrp, 0, [](Frame& f) {
           f.raw_l4 = std::string("\x31\x33\x96\x01\x00\x64\x00\x00\xc0\x00\x02\x0a", 12);
           f.ttl = 255;  // as sent; anything else is dropped (vrrp_test.cc)
         });
       },
       XDP_PASS, 0, XLB_STAT_PASSED},
      {"ipv4_options_one_word",
       [] {
         return F("198.51.100.2", "192.0.2.10", kTcp, 80,
                  [](Frame& f) { f.ipv4_options = std::string("\x01\x01\x01\x00", 4); });
       },
       XDP_TX, 1},
      {"ipv4_options_max_length",
       [] {
         return F("198.51.100.2", "192.0.2.10", kTcp, 80,
                  [](Frame& f) { f.ipv4_options = std::string(40, '\x01'); });
       },
       XDP_TX, 1},
      {"ipv4_first_fragment_to_vip",
       [] {
         return F("198.51.100.2", "192.0.2.10", kUdp, 53, [](Frame& f) { f.ipv4_frag = 0x2000; });
       },
       XDP_PASS, 0, XLB_STAT_FRAGMENTS},
      {"ipv4_later_fragment_to_vip",
       [] {
         return F("198.51.100.2", "192.0.2.10", kUdp, 53, [](Frame& f) { f.ipv4_frag = 185; });
       },
       XDP_PASS, 0, XLB_STAT_FRAGMENTS},
      {"ipv4_fragment_to_vip_dropping_them",
       [] {
         return F("198.51.100.2", "192.0.2.30", kTcp, 80, [](Frame& f) { f.ipv4_frag = 0x2000; });
       },
       XDP_DROP, 0, XLB_STAT_DROPPED},
      {"ipv4_fragment_not_vip",
       [] {
         return F("198.51.100.2", "198.51.100.1", kUdp, 53, [](Frame& f) { f.ipv4_frag = 0x2000; });
       },
       XDP_PASS, 0, XLB_STAT_PASSED},
      {"ipv6_fragment_to_vip",
       [] {
         return F("2001:db8:1::2", "2001:db8:10::10", kUdp, 53,
                  [](Frame& f) { f.ipv6_fragment_header = true; });
       },
       XDP_PASS, 0, XLB_STAT_FRAGMENTS},
      {"ipv6_hop_by_hop_to_vip",
       [] {
         return F("2001:db8:1::2", "2001:db8:10::10", kTcp, 80,
                  [](Frame& f) { f.ipv6_hop_by_hop = true; });
       },
       XDP_PASS, 0, XLB_STAT_PASSED},
      {"icmp_echo_to_vip",
       [] {
         return F("198.51.100.2", "192.0.2.10", kIcmp, 0,
                  [](Frame& f) { f.raw_l4 = std::string("\x08\x00\xf7\xff\x00\x00\x00\x00", 8); });
       },
       XDP_PASS, 0, XLB_STAT_PASSED},
      {"icmp_frag_needed_not_vip",
       [] {
         Frame q = F("198.51.100.1", "198.51.100.2", kTcp, 40000);
         return F("198.51.100.254", "198.51.100.1", kIcmp, 0, [q](Frame& f) {
           f.raw_l4 = IcmpPmtuError(IpPart(q), false, 1400, f.saddr, f.daddr);
         });
       },
       XDP_PASS, 0, XLB_STAT_PASSED},
      {"real_on_other_interface_redirects",
       [] { return F("198.51.100.2", "192.0.2.40", kTcp, 80); }, XDP_REDIRECT, 3,
       XLB_STAT_REDIRECT},
      {"real_next_hop_unknown_passed", [] { return F("198.51.100.2", "192.0.2.50", kTcp, 80); },
       XDP_PASS, 0, XLB_STAT_NO_ROUTE},
      {"real_interface_not_redirectable_passed",
       [] { return F("198.51.100.2", "192.0.2.60", kTcp, 80); }, XDP_PASS, 0, XLB_STAT_NO_ROUTE},
      {"ethernet_padding_after_ip_packet",
       [] {
         return F("198.51.100.2", "192.0.2.10", kUdp, 53, [](Frame& f) { f.l4_payload = ""; });
       },
       XDP_TX, 1},
  };
  return cases;
}

class CaseTest : public PacketTest, public ::testing::WithParamInterface<Case> {};

TEST_P(CaseTest, VerdictAndBytes) {
  const Case& c = GetParam();
  AddService("192.0.2.10:80/tcp", {"203.0.113.1"});
  AddService("192.0.2.10:53/udp", {"203.0.113.1"});
  AddService("[2001:db8:10::10]:80/tcp", {"2001:db8:2::1"});
  AddService("[2001:db8:10::10]:53/udp", {"2001:db8:2::1"});
  AddService("192.0.2.20:*/tcp", {"203.0.113.2"});
  AddService("192.0.2.20:443/tcp", {"203.0.113.5"});
  AddService("192.0.2.30:80/tcp", {"203.0.113.1"}, [](auto& o) { o.drop_fragments = true; });
  resolver_.Set("203.0.113.3", Ifindex("xlbt0"), 3);
  AddService("192.0.2.40:80/tcp", {"203.0.113.3"});
  resolver_.Set("203.0.113.9", std::nullopt, 0);
  AddService("192.0.2.50:80/tcp", {"203.0.113.9"});
  resolver_.Set("203.0.113.4", Ifindex("xlbt1"), 4);
  AddService("192.0.2.60:80/tcp", {"203.0.113.4"});

  std::string in = c.raw.empty() ? Build(c.frame()) : c.raw;
  if (std::string(c.name) == "ethernet_padding_after_ip_packet") in.append(16, '\0');
  uint64_t before = c.counter >= 0 ? Global(c.counter) : 0;
  auto r = Run(in);
  EXPECT_EQ(VerdictName(r.verdict), std::string(VerdictName(c.verdict)));
  std::string want = c.real ? WithMacs(in, RealMac(c.real), kDirectorMac) : in;
  EXPECT_EQ(Hex(r.packet), Hex(want));
  if (c.counter >= 0) {
    EXPECT_EQ(Global(c.counter), before + 1) << dataplane::GlobalStatName(c.counter);
  }
}

INSTANTIATE_TEST_SUITE_P(Packets, CaseTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- malformed and truncated frames ---------------------------------------

TEST_F(PacketTest, MalformedHeadersAreDroppedAndCounted) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.1"});
  AddService("192.0.2.10:53/udp", {"203.0.113.1"});
  std::string good = Build(F("198.51.100.2", "192.0.2.10", kTcp, 80));
  std::map<std::string, std::string> bad;
  bad["ipv4_ihl_4"] = good;
  bad["ipv4_ihl_4"][14] = 0x44;
  bad["ipv4_total_length_beyond_frame"] = good;
  bad["ipv4_total_length_beyond_frame"][16] = 0x05;
  bad["ipv4_total_length_below_header"] = good;
  bad["ipv4_total_length_below_header"][17] = 0x10;
  bad["ipv4_version_6"] = good;
  bad["ipv4_version_6"][14] = 0x65;
  bad["tcp_data_offset_4"] = good;
  bad["tcp_data_offset_4"][14 + 20 + 12] = 0x40;
  bad["tcp_data_offset_beyond_packet"] = good;
  bad["tcp_data_offset_beyond_packet"][14 + 20 + 12] = static_cast<char>(0xf0);
  std::string udp = Build(F("198.51.100.2", "192.0.2.10", kUdp, 53));
  bad["udp_length_beyond_packet"] = udp;
  bad["udp_length_beyond_packet"][14 + 20 + 5] = 0x40;
  bad["udp_length_below_header"] = udp;
  bad["udp_length_below_header"][14 + 20 + 5] = 0x04;
  std::string v6 = Build(F("2001:db8:1::2", "2001:db8:10::10", kTcp, 80));
  bad["ipv6_payload_length_beyond_frame"] = v6;
  bad["ipv6_payload_length_beyond_frame"][14 + 4] = 0x10;
  for (const auto& [name, frame] : bad) {
    uint64_t before = Global(XLB_STAT_MALFORMED);
    auto r = Run(frame);
    EXPECT_EQ(VerdictName(r.verdict), std::string("XDP_DROP")) << name;
    EXPECT_EQ(Global(XLB_STAT_MALFORMED), before + 1) << name;
  }
}

TEST_F(PacketTest, EveryTruncationOfAnIpv4TcpSynIsNeverForwarded) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.1"});
  std::string syn = Build(F("198.51.100.2", "192.0.2.10", kTcp, 80,
                            [](Frame& f) { f.ipv4_options = std::string(8, '\x01'); }));
  ASSERT_EQ(SentTo(syn), 1);
  ExpectEveryTruncationDropped(
      this, syn, [this](const std::string& f) { return Run(f); },
      [this] { return Global(XLB_STAT_MALFORMED); });
}

TEST_F(PacketTest, EveryTruncationOfAnIpv6UdpPacketIsNeverForwarded) {
  AddService("[2001:db8:10::10]:53/udp", {"2001:db8:2::1"});
  std::string udp = Build(F("2001:db8:1::2", "2001:db8:10::10", kUdp, 53));
  ASSERT_EQ(SentTo(udp), 1);
  ExpectEveryTruncationDropped(
      this, udp, [this](const std::string& f) { return Run(f); },
      [this] { return Global(XLB_STAT_MALFORMED); });
}

// ---- flows and real selection ----------------------------------------------

TEST_F(PacketTest, FlowStaysOnItsRealAfterTheRealsChange) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11"});
  ASSERT_EQ(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80, kSyn))), 11);
  SetReals("192.0.2.10:80/tcp", {"203.0.113.12"});
  uint64_t hits = Global(XLB_STAT_CONN_HIT);
  EXPECT_EQ(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80, kAck))), 11);
  EXPECT_EQ(Global(XLB_STAT_CONN_HIT), hits + 1);
  // A new connection goes to the new set; so does a SYN that reuses the tuple.
  EXPECT_EQ(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 40002, 80, kSyn))), 12);
  EXPECT_EQ(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80, kSyn))), 12);
  EXPECT_EQ(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80, kAck))), 12);
}

TEST_F(PacketTest, DrainedRealKeepsItsFlowsButTakesNoNewOnes) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11"});
  ASSERT_EQ(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80, kSyn))), 11);
  SetReals("192.0.2.10:80/tcp", {"203.0.113.11@0", "203.0.113.12"});
  EXPECT_EQ(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80, kAck))), 11);
  for (uint16_t port = 41000; port < 41020; ++port)
    EXPECT_EQ(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", port, 80, kSyn))), 12);
}

TEST_F(PacketTest, RemovedRealKeepsEstablishedFlowUntilItsIdIsReused) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11", "203.0.113.12"});
  std::map<int, uint16_t> port_of;  // real -> a client port that went there
  for (uint16_t p = 42000; p < 42100 && port_of.size() < 2; ++p)
    port_of.emplace(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", p, 80, kSyn))), p);
  ASSERT_EQ(port_of.size(), 2u);
  SetReals("192.0.2.10:80/tcp", {"203.0.113.12"});
  EXPECT_EQ(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", port_of[11], 80, kAck))), 11);
  EXPECT_EQ(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", port_of[12], 80, kAck))), 12);
  EXPECT_EQ(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", port_of[11], 80, kSyn))), 12);
}

TEST_F(PacketTest, ServiceWithoutUsableRealDrops) {
  AddService("192.0.2.10:80/tcp", {});
  uint64_t no_real = Global(XLB_STAT_NO_REAL);
  EXPECT_EQ(Run(Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80))).verdict, XDP_DROP);
  SetReals("192.0.2.10:80/tcp", {"203.0.113.11@0"});
  EXPECT_EQ(Run(Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80))).verdict, XDP_DROP);
  EXPECT_EQ(Global(XLB_STAT_NO_REAL), no_real + 2);
}

TEST_F(PacketTest, MaglevSpreadsFlowsOverReals) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11", "203.0.113.12", "203.0.113.13"});
  std::map<int, int> share;
  for (uint16_t p = 20000; p < 20300; ++p)
    share[SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", p, 80)))]++;
  ASSERT_EQ(share.size(), 3u);
  for (auto [real, n] : share) {
    EXPECT_GE(n, 60) << real;  // a third is 100; Maglev + jhash keep it near
    EXPECT_LE(n, 140) << real;
  }
}

TEST_F(PacketTest, PersistenceKeepsAClientOnItsReal) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11", "203.0.113.12", "203.0.113.13"},
             [](auto& o) {
               o.persistence_timeout_s = 300;
               o.persistence_netmask = 24;
             });
  int first = SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 30000, 80)));
  ASSERT_GT(first, 0);
  for (uint16_t p = 30001; p < 30040; ++p)
    EXPECT_EQ(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", p, 80))), first);
  // Same /24: same real. A drained real takes no new persistent flows.
  EXPECT_EQ(SentTo(Build(Tcp("198.51.100.77", "192.0.2.10", 30000, 80))), first);
  std::vector<std::string> reals;
  for (int n : {11, 12, 13})
    reals.push_back("203.0.113." + std::to_string(n) + (n == first ? "@0" : ""));
  SetReals("192.0.2.10:80/tcp", reals);
  int moved = SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 30100, 80)));
  EXPECT_NE(moved, first);
  EXPECT_GT(moved, 0);
}

TEST_F(PacketTest, NoPersistenceSpreadsOneClient) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11", "203.0.113.12", "203.0.113.13"});
  std::set<int> used;
  for (uint16_t p = 30000; p < 30040; ++p)
    used.insert(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", p, 80))));
  EXPECT_EQ(used.size(), 3u);
}

TEST_F(PacketTest, SourceHashKeepsAClientOnOneRealAndSpreadsClients) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11", "203.0.113.12", "203.0.113.13"},
             [](auto& o) { o.scheduler = model::Scheduler::kSourceHash; });
  int first = SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 30000, 80)));
  for (uint16_t p = 30001; p < 30040; ++p)
    EXPECT_EQ(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", p, 80))), first);
  std::set<int> used;
  for (int host = 1; host < 60; ++host)
    used.insert(SentTo(Build(Tcp("198.51.100." + std::to_string(host), "192.0.2.10", 30000, 80))));
  EXPECT_EQ(used.size(), 3u);
}

TEST_F(PacketTest, ExpiredConnectionIsReselected) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11"}, [](auto& o) { o.tcp_timeout_s = 5; });
  ASSERT_EQ(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80))), 11);
  SetReals("192.0.2.10:80/tcp", {"203.0.113.12"});
  // Age the entry past the timeout instead of waiting for it.
  xlb_flow_key key = {};
  Ip("198.51.100.2").CopyTo(key.src);
  Ip("192.0.2.10").CopyTo(key.dst);
  key.sport = htons(40001);
  key.dport = htons(80);
  key.proto = kTcp;
  key.family = XLB_FAMILY_V4;
  xlb_conn conn;
  ASSERT_TRUE(*prog_->maps().conn_table.Lookup(&key, &conn));
  conn.last_seen_ns -= 6'000'000'000ull;
  ASSERT_TRUE(prog_->maps().conn_table.Update(&key, &conn).ok());
  EXPECT_EQ(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80, kAck))), 12);
}

TEST_F(PacketTest, IcmpFragNeededFollowsTheFlowToItsReal) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11"});
  ASSERT_EQ(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80))), 11);
  SetReals("192.0.2.10:80/tcp", {"203.0.113.12"});
  // The real's reply VIP:80 -> client:40001 was too big for a router.
  Frame reply = Tcp("192.0.2.10", "198.51.100.2", 80, 40001, kAck);
  Frame err = F("198.51.100.254", "192.0.2.10", kIcmp, 0, [&](Frame& f) {
    f.raw_l4 = IcmpPmtuError(IpPart(reply), false, 1400, f.saddr, f.daddr);
  });
  uint64_t before = Global(XLB_STAT_ICMP_FORWARDED);
  EXPECT_EQ(SentTo(Build(err)), 11);
  EXPECT_EQ(Global(XLB_STAT_ICMP_FORWARDED), before + 1);
  // About a flow the table does not know: Maglev picks as for the flow.
  Frame other = Tcp("192.0.2.10", "198.51.100.3", 80, 40009, kAck);
  Frame err2 = F("198.51.100.254", "192.0.2.10", kIcmp, 0, [&](Frame& f) {
    f.raw_l4 = IcmpPmtuError(IpPart(other), false, 1400, f.saddr, f.daddr);
  });
  EXPECT_EQ(SentTo(Build(err2)), 12);
}

TEST_F(PacketTest, Icmpv6PacketTooBigFollowsTheFlowToItsReal) {
  AddService("[2001:db8:10::10]:80/tcp", {"2001:db8:2::11"});
  ASSERT_EQ(SentTo(Build(Tcp("2001:db8:1::2", "2001:db8:10::10", 40001, 80))), 0x11);
  SetReals("[2001:db8:10::10]:80/tcp", {"2001:db8:2::12"});
  Frame reply = Tcp("2001:db8:10::10", "2001:db8:1::2", 80, 40001, kAck);
  Frame err = F("2001:db8:1::fe", "2001:db8:10::10", kIcmp6, 0, [&](Frame& f) {
    f.raw_l4 = IcmpPmtuError(IpPart(reply), true, 1280, f.saddr, f.daddr);
  });
  EXPECT_EQ(SentTo(Build(err)), 0x11);
}

TEST_F(PacketTest, CountersPerServiceAndReal) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11"});
  std::string syn = Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80, kSyn));
  std::string ack = Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80, kAck));
  SentTo(syn);
  SentTo(ack);
  SentTo(ack);
  auto svc = table_->Get(Key("192.0.2.10:80/tcp"));
  ASSERT_TRUE(svc.ok());
  auto s = dataplane::ReadServiceCounters(prog_->maps(), svc->id);
  auto r = dataplane::ReadRealCounters(prog_->maps(), svc->reals[0].id);
  ASSERT_TRUE(s.ok() && r.ok());
  EXPECT_EQ(s->packets, 3u);
  EXPECT_EQ(s->bytes, syn.size() + 2 * ack.size());
  EXPECT_EQ(s->new_flows, 1u);
  EXPECT_EQ(r->packets, 3u);
  EXPECT_EQ(r->new_flows, 1u);
}

TEST_F(PacketTest, ConnectionTableListsFlows) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11"});
  SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80)));
  SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80, kFin | kAck)));
  auto conns = dataplane::ListConnections(prog_->maps(), 100);
  ASSERT_TRUE(conns.ok()) << conns.status();
  ASSERT_EQ(conns->size(), 1u);
  const auto& c = (*conns)[0];
  EXPECT_EQ(c.client, Ip("198.51.100.2"));
  EXPECT_EQ(c.client_port, 40001);
  EXPECT_EQ(c.vip_port, 80);
  ASSERT_TRUE(c.real.has_value());
  EXPECT_EQ(*c.real, Ip("203.0.113.11"));
  EXPECT_TRUE(c.closing);
}

// ---- the library refuses bad definitions and changes nothing --------------

TEST_F(PacketTest, InvalidDefinitionsChangeNothing) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11"});
  auto before = table_->List();
  std::string syn = Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80));
  model::Service port0{Key("192.0.2.11:0/tcp"), {}};
  EXPECT_FALSE(table_->Upsert(port0).ok());
  model::Service not_prime{Key("192.0.2.10:80/tcp"), {}};
  not_prime.options.table_size = 1000;
  auto st = table_->Upsert(not_prime);
  EXPECT_NE(st.message().find("192.0.2.10:80/tcp"), std::string::npos) << st;
  st = table_->SetReals(Key("192.0.2.10:80/tcp"), {{Ip("2001:db8::1"), 0, 1}});
  EXPECT_NE(st.message().find("2001:db8::1"), std::string::npos) << st;
  st = table_->SetReals(Key("192.0.2.10:80/tcp"), {{Ip("203.0.113.12"), 0, 100000}});
  EXPECT_NE(st.message().find("weight 100000"), std::string::npos) << st;
  st = table_->SetReals(Key("192.0.2.99:80/tcp"), {{Ip("203.0.113.12"), 0, 1}});
  EXPECT_TRUE(absl::IsNotFound(st)) << st;
  EXPECT_TRUE(absl::IsNotFound(table_->Delete(Key("192.0.2.99:80/tcp"))));
  auto after = table_->List();
  ASSERT_EQ(after.size(), before.size());
  EXPECT_EQ(after[0].reals.size(), 1u);
  EXPECT_EQ(after[0].service.options, before[0].service.options);
  EXPECT_EQ(SentTo(syn), 11);
  EXPECT_EQ(Run(Build(Tcp("198.51.100.2", "192.0.2.11", 40001, 80))).verdict, XDP_PASS);
}

TEST_F(PacketTest, DeletedServiceStopsForwarding) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11"});
  AddService("192.0.2.10:443/tcp", {"203.0.113.11"}, [](auto& o) { o.drop_fragments = true; });
  ASSERT_TRUE(table_->Delete(Key("192.0.2.10:80/tcp")).ok());
  EXPECT_EQ(Run(Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80))).verdict, XDP_PASS);
  EXPECT_EQ(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 443))), 11);
  ASSERT_TRUE(table_->Delete(Key("192.0.2.10:443/tcp")).ok());
  Frame frag = Tcp("198.51.100.2", "192.0.2.10", 1, 443);
  frag.ipv4_frag = 0x2000;
  EXPECT_EQ(Run(Build(frag)).verdict, XDP_PASS);  // no longer a VIP
  EXPECT_TRUE(table_->List().empty());
}

TEST_F(PacketTest, TableSizeChangeKeepsForwarding) {
  AddService("192.0.2.10:80/tcp", {"203.0.113.11", "203.0.113.12"});
  model::Service s{Key("192.0.2.10:80/tcp"), {}};
  s.options.table_size = 251;
  ASSERT_TRUE(table_->Upsert(s).ok());
  std::set<int> used;
  for (uint16_t p = 20000; p < 20040; ++p)
    used.insert(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", p, 80))));
  EXPECT_EQ(used, (std::set<int>{11, 12}));
}

// ---- pinning and adoption by a new process ---------------------------------

constexpr Mac kClientMac{0x02, 0, 0, 0, 0, 0xc1};
constexpr Mac kXlbt0Mac{0x02, 0, 0, 0, 0, 0xd0};

TEST_F(PacketTest, NewInstanceAdoptsPinnedMapsAndConnections) {
  const std::string pins = g_bpffs + "/adopt";
  Load(pins);
  AddService("192.0.2.10:80/tcp", {"203.0.113.11", "203.0.113.12"},
             [](auto& o) { o.table_size = 1009; });
  std::map<int, uint16_t> port_of;
  for (uint16_t p = 42000; p < 42100 && port_of.size() < 2; ++p)
    port_of.emplace(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", p, 80))), p);
  ASSERT_EQ(port_of.size(), 2u);
  auto services_before = table_->List();

  Load(pins);  // as a restarted daemon would
  auto services_after = table_->List();
  ASSERT_EQ(services_after.size(), 1u);
  EXPECT_EQ(services_after[0].service.options.table_size, 1009u);
  ASSERT_EQ(services_after[0].reals.size(), 2u);
  EXPECT_EQ(services_after[0].reals[0].id, services_before[0].reals[0].id);
  EXPECT_EQ(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", port_of[11], 80, kAck))), 11);
  SetReals("192.0.2.10:80/tcp", {"203.0.113.12", "203.0.113.13"});
  EXPECT_EQ(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", port_of[11], 80, kAck))), 11);
  ASSERT_TRUE(prog_->Unpin().ok());
}

// The maps record why a real has weight 0: health (a restarted xlbd starts
// it down) or an operator's drain (it does not).
TEST_F(PacketTest, NewInstanceLearnsWhichRealsHealthChecksTookDown) {
  const std::string pins = g_bpffs + "/adopt-health";
  Load(pins);
  AddService("192.0.2.10:80/tcp", {"203.0.113.11", "203.0.113.12@0", "203.0.113.13"});
  std::vector<model::RealSpec> specs = {*model::ParseRealSpec("203.0.113.11@0"),
                                 *model::ParseRealSpec("203.0.113.12@0"),
                                 *model::ParseRealSpec("203.0.113.13")};
  specs[0].health_down = true;  // down; 12 is drained, 13 serves
  ASSERT_TRUE(table_->SetReals(Key("192.0.2.10:80/tcp"), specs).ok());

  Load(pins);  // as a restarted daemon would
  auto after = table_->List();
  ASSERT_EQ(after.size(), 1u);
  ASSERT_EQ(after[0].reals.size(), 3u);
  EXPECT_TRUE(after[0].reals[0].spec.health_down);
  EXPECT_EQ(after[0].reals[0].spec.weight, 0u);
  EXPECT_FALSE(after[0].reals[1].spec.health_down);
  EXPECT_EQ(after[0].reals[1].spec.weight, 0u);
  EXPECT_FALSE(after[0].reals[2].spec.health_down);
  // Coming up clears the record, without another change of weight needed.
  specs[0].health_down = false;
  ASSERT_TRUE(table_->SetReals(Key("192.0.2.10:80/tcp"), specs).ok());
  Load(pins);
  EXPECT_FALSE(table_->List()[0].reals[0].spec.health_down);
  ASSERT_TRUE(prog_->Unpin().ok());
}

TEST_F(PacketTest, AttachReplacesAndDetachesOnAVeth) {
  const std::string pins = g_bpffs + "/attach";
  const uint32_t xlbt0 = Ifindex("xlbt0");
  Load(pins);
  ASSERT_TRUE(prog_->Attach("xlbt0", dataplane::AttachMode::kNative).ok());
  EXPECT_EQ(RecordedMac(xlbt0), "0200000000d0");
  Load(pins);  // a second instance replaces the first atomically
  EXPECT_EQ(RecordedMac(xlbt0), "0200000000d0");  // adopted with the pins
  auto st = prog_->Attach("xlbt0", dataplane::AttachMode::kNative);
  EXPECT_TRUE(st.ok()) << st;
  // Frames arriving on xlbt0 are forwarded when they are for xlbt0's MAC.
  AddService("192.0.2.10:80/tcp", {"203.0.113.11"});
  const std::string syn = WithMacs(Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80)),
                                   kXlbt0Mac, kClientMac);
  auto on_xlbt0 = [&](const std::string& frame) {
    auto r = dataplane::TestRun(prog_->prog_fd(), frame, xlbt0);
    EXPECT_TRUE(r.ok()) << r.status();
    return std::string(r.ok() ? VerdictName(r->verdict) : "error");
  };
  EXPECT_EQ(on_xlbt0(syn), "XDP_REDIRECT");  // to the real, behind lo
  EXPECT_EQ(on_xlbt0(WithMacs(syn, kDirectorMac, kClientMac)), "XDP_PASS");  // lo's MAC
  st = prog_->Attach("no-such-if", dataplane::AttachMode::kNative);
  EXPECT_NE(st.message().find("no-such-if"), std::string::npos) << st;
  EXPECT_TRUE(prog_->Detach("xlbt0").ok());
  EXPECT_EQ(RecordedMac(xlbt0), "");
  EXPECT_TRUE(prog_->Detach("xlbt0").ok());  // nothing attached: a no-op
  ASSERT_TRUE(prog_->Unpin().ok());
}

uint32_t ProgId(int fd) {
  bpf_prog_info info = {};
  uint32_t len = sizeof(info);
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

// The id and name of the program attached to `ifindex` (0, "" for none).
std::pair<uint32_t, std::string> AttachedProgram(int ifindex) {
  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  if (bpf_xdp_query(ifindex, 0, &q) != 0) return {0, "query failed"};
  const uint32_t id = q.prog_id;
  if (id == 0) return {0, ""};
  const int fd = bpf_prog_get_fd_by_id(id);
  bpf_prog_info info = {};
  uint32_t len = sizeof(info);
  std::string name = fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.name : "?";
  if (fd >= 0) close(fd);
  return {id, name};
}

TEST_F(PacketTest, AttachThroughLibxdpSaysHowAndHandsOver) {
  // libxdp's pins and lock in this sandbox's bpffs, not the host's.
  setenv("LIBXDP_BPFFS", g_bpffs.c_str(), 1);
  const std::string pins = g_bpffs + "/libxdp";
  const int xlbt0 = Ifindex("xlbt0");
  Load(pins);
  auto st = prog_->Attach("xlbt0", dataplane::AttachMode::kNative,
                          dataplane::AttachVia::kLibxdpOrDirect);
  ASSERT_TRUE(st.ok()) << st;
  const auto how = prog_->AttachedTo("xlbt0");
  ASSERT_TRUE(how.has_value());
  EXPECT_FALSE(how->generic);
  // In libxdp's dispatcher where it loads; directly where it does not
  // (PLATFORM.md: EPERM here). What the kernel shows agrees.
  EXPECT_EQ(AttachedProgram(xlbt0).second, how->dispatcher ? "xdp_dispatcher" : "xlb_xdp");
  EXPECT_EQ(how->Name(), how->dispatcher ? "libxdp-dispatcher" : "direct-native");
  if (!how->dispatcher)  // libxdp's lone program was taken over by this instance
    EXPECT_EQ(AttachedProgram(xlbt0).first, ProgId(prog_->prog_fd()));
  // A restart: the new instance attaches the same way, replacing the old.
  Load(pins);
  st = prog_->Attach("xlbt0", dataplane::AttachMode::kNative, dataplane::AttachVia::kLibxdpOrDirect);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(prog_->AttachedTo("xlbt0"), how);
  if (!how->dispatcher) EXPECT_EQ(AttachedProgram(xlbt0).first, ProgId(prog_->prog_fd()));
  // Generic asked of an interface with xlb in native mode: refused, kept.
  const uint32_t before = AttachedProgram(xlbt0).first;
  st = prog_->Attach("xlbt0", dataplane::AttachMode::kGeneric, dataplane::AttachVia::kLibxdpOrDirect);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(AttachedProgram(xlbt0).first, before);
  EXPECT_TRUE(prog_->Detach("xlbt0").ok());
  EXPECT_EQ(AttachedProgram(xlbt0).first, 0u);
  EXPECT_FALSE(prog_->AttachedTo("xlbt0").has_value());
  ASSERT_TRUE(prog_->Unpin().ok());
}

TEST_F(PacketTest, AttachingAgainTakesUpAChangedMac) {
  // xlbt1: changing xlbt0's MAC would flush the neighbours the NAT tests use.
  const uint32_t xlbt1 = Ifindex("xlbt1");
  ASSERT_TRUE(prog_->Attach("xlbt1", dataplane::AttachMode::kNative).ok());
  auto mac = netlink::InterfaceMac(xlbt1);
  ASSERT_TRUE(mac.ok()) << mac.status();
  EXPECT_EQ(RecordedMac(xlbt1), Hex(std::string(mac->begin(), mac->end())));
  EXPECT_EQ(system("ip link set xlbt1 address 02:00:00:00:00:e1"), 0);
  auto st = prog_->Attach("xlbt1", dataplane::AttachMode::kNative);
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(RecordedMac(xlbt1), "0200000000e1");
  EXPECT_TRUE(prog_->Detach("xlbt1").ok());
  EXPECT_EQ(RecordedMac(xlbt1), "");
}

TEST_F(PacketTest, PinnedCountersOfAnotherLayoutAreReplacedAndFlowsKept) {
  const std::string pins = g_bpffs + "/counters";
  Load(pins);
  AddService("192.0.2.10:80/tcp", {"203.0.113.11", "203.0.113.12"});
  const int real = SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80, kSyn)));
  ASSERT_GT(real, 0);
  // As an xlb with one counter fewer would have pinned them.
  const std::string path = pins + "/global_stats";
  ASSERT_EQ(unlink(path.c_str()), 0);
  int fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "global_stats", sizeof(uint32_t),
                          sizeof(uint64_t), XLB_STAT__COUNT - 1, nullptr);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(bpf_obj_pin(fd, path.c_str()), 0);
  close(fd);

  Load(pins);
  ASSERT_FALSE(HasFatalFailure()) << "the pins were not adopted";
  EXPECT_EQ(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80, kAck))), real);
  auto pinned = dataplane::Maps::OpenPinned(pins);
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  auto counters = dataplane::ReadGlobalCounters(*pinned);  // every counter: the new map
  ASSERT_TRUE(counters.ok()) << counters.status();
  EXPECT_EQ((*counters)[XLB_STAT_CONN_HIT], 1u);
  ASSERT_TRUE(prog_->Unpin().ok());
}

TEST_F(PacketTest, PinnedConnectionTableOfAnOlderLayoutIsReplaced) {
  const std::string pins = g_bpffs + "/old-conn-table";
  Load(pins);
  AddService("192.0.2.10:80/tcp", {"203.0.113.11"});
  // As an xlb whose entries held the NAT reply fields (80 bytes) pinned it,
  // with one flow in it.
  const std::string path = pins + "/conn_table";
  ASSERT_EQ(unlink(path.c_str()), 0);
  constexpr uint32_t kOldValueSize = 80;
  int fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "conn_table", sizeof(xlb_flow_key),
                          kOldValueSize, 4096, nullptr);
  ASSERT_GE(fd, 0);
  xlb_flow_key old_key = {};
  old_key.family = XLB_FAMILY_V4;
  std::string old_value(kOldValueSize, '\xff');
  ASSERT_EQ(bpf_map_update_elem(fd, &old_key, old_value.data(), BPF_ANY), 0);
  ASSERT_EQ(bpf_obj_pin(fd, path.c_str()), 0);
  close(fd);

  Load(pins);
  ASSERT_FALSE(HasFatalFailure()) << "the pins were not adopted";
  auto pinned = dataplane::Maps::OpenPinned(pins);
  ASSERT_TRUE(pinned.ok()) << pinned.status();
  bpf_map_info info = {};
  uint32_t len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(pinned->conn_table.fd(), &info, &len), 0);
  EXPECT_EQ(info.value_size, sizeof(xlb_conn));  // the new layout, pinned in its place
  auto count = dataplane::CountConnections(*pinned);
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 0u);  // the old flow is gone with its table
  // The service adopted with the pins forwards, and its flows are tracked.
  EXPECT_EQ(SentTo(Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80, kAck))), 11);
  auto conns = dataplane::ListConnections(*pinned, 10);
  ASSERT_TRUE(conns.ok()) << conns.status();
  ASSERT_EQ(conns->size(), 1u);
  EXPECT_EQ((*conns)[0].client_port, 40001);
  ASSERT_TRUE(prog_->Unpin().ok());
}

}  // namespace
}  // namespace xlb::testing
