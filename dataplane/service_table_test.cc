// The tunnels entry a tunnel service gets (TunnelValueOf): flags, outer
// source and host mask, GUE port, MTU, overhead and MSS. Writing it into the
// maps is tested with a loaded program (tests/packet/tunnel_table_test.cc).
#include "dataplane/service_table.h"

#include <arpa/inet.h>

#include "gtest/gtest.h"

namespace xlb::dataplane {
namespace {

model::IpAddress Ip(const char* text) { return *model::IpAddress::Parse(text); }

model::Service Tunnel(const char* key) {
  model::Service s;
  s.key = *model::ParseServiceKey(key);
  s.options.forward = model::Forward::kTunnel;
  return s;
}

TEST(TunnelValueOf, IpipV4Defaults) {
  const model::Service s = Tunnel("198.51.100.10:443");
  // The director's address toward the reals, the egress link's MTU.
  const xlb_tunnel t = TunnelValueOf(s, TunnelPath{Ip("192.0.2.1"), 1500});
  EXPECT_EQ(t.flags, XLB_TUN_F_MSS_CLAMP);
  EXPECT_EQ(t.src[0], Ip("192.0.2.1").words()[0]);
  for (uint32_t w : t.src_hostmask) EXPECT_EQ(w, 0u);  // one source
  EXPECT_EQ(t.gue_port, 0);
  EXPECT_EQ(t.mtu, 1500);
  EXPECT_EQ(t.overhead, 20);
  EXPECT_EQ(t.mss, 1500 - 20 - 40);  // 1440: what a SYN's MSS is clamped to
  // No route known yet: MTU 1500, no source.
  const xlb_tunnel unknown = TunnelValueOf(s, std::nullopt);
  EXPECT_EQ(unknown.mtu, 1500);
  EXPECT_EQ(unknown.src[0], 0u);
}

TEST(TunnelValueOf, GueV4WithAPrefix) {
  model::Service s = Tunnel("198.51.100.10:443");
  s.options.tunnel.encap = model::Encap::kGue;
  s.options.tunnel.gue_port = 7000;
  s.options.tunnel.source = *model::ParseIpPrefix("192.0.2.128/25");
  s.options.tunnel.mtu = 1400;
  s.options.tunnel.mss_clamp = false;
  const xlb_tunnel t = TunnelValueOf(s, TunnelPath{Ip("192.0.2.1"), 9000});
  EXPECT_EQ(t.flags, XLB_TUN_F_GUE);
  EXPECT_EQ(t.gue_port, htons(7000));
  EXPECT_EQ(t.src[0], htonl(0xc0000280));         // 192.0.2.128, not the path's source
  EXPECT_EQ(t.src_hostmask[0], htonl(0x7f));      // the 7 host bits of a /25
  EXPECT_EQ(t.mtu, 1400);                         // configured beats the link's
  EXPECT_EQ(t.overhead, 28);
  EXPECT_EQ(t.mss, 1400 - 28 - 40);
}

TEST(TunnelValueOf, V6) {
  model::Service s = Tunnel("[2001:db8::10]:443");
  s.options.tunnel.source = *model::ParseIpPrefix("2001:db8:ff::/112");
  xlb_tunnel t = TunnelValueOf(s, TunnelPath{Ip("2001:db8::1"), 1500});
  EXPECT_EQ(t.overhead, 40);
  EXPECT_EQ(t.mss, 1500 - 40 - 60);
  EXPECT_EQ(t.src[0], htonl(0x20010db8));
  EXPECT_EQ(t.src[1], htonl(0x00ff0000));
  EXPECT_EQ(t.src_hostmask[0], 0u);
  EXPECT_EQ(t.src_hostmask[2], 0u);
  EXPECT_EQ(t.src_hostmask[3], htonl(0xffff));
  s.options.tunnel.encap = model::Encap::kGue;
  t = TunnelValueOf(s, TunnelPath{Ip("2001:db8::1"), 1500});
  EXPECT_EQ(t.overhead, 48);
  EXPECT_EQ(t.mss, 1500 - 48 - 60);
  EXPECT_EQ(t.gue_port, htons(6080));
  // A source of the other family (a route's) is not used.
  s.options.tunnel.source.reset();
  t = TunnelValueOf(s, TunnelPath{Ip("192.0.2.1"), 1500});
  for (uint32_t w : t.src) EXPECT_EQ(w, 0u);
}

// What a flow's ids stand for (ServiceTable::AddressesOf; with a loaded
// program in tests/packet/sync_test.cc).
TEST(RealIdBook, CurrentRetiredReusedAndUnknown) {
  RealIdBook book;
  const FlowAddresses web{*model::ParseServiceKey("198.51.100.10:80"), Ip("192.0.2.21"), 80};
  const FlowAddresses dns{*model::ParseServiceKey("[2001:db8::10]:53/udp"), Ip("2001:db8::21"),
                          5353};
  book.Assign(7, 100, 1, web);
  // Current, and retired alike: retiring a real does not touch the book
  // (ServiceTable's retired case is in tests/packet/sync_test.cc).
  EXPECT_EQ(book.Find(1, 7, 100), web);
  EXPECT_EQ(book.Find(1, 7, 99), std::nullopt) << "another generation";
  EXPECT_EQ(book.Find(2, 7, 100), std::nullopt) << "another service";
  EXPECT_EQ(book.Find(1, 8, 100), std::nullopt) << "unknown id";
  // Reused for another service's real: the old flows are stale, the new ones found.
  book.Assign(7, 105, 3, dns);
  EXPECT_EQ(book.Find(1, 7, 100), std::nullopt);
  EXPECT_EQ(book.Find(3, 7, 105), dns);
  EXPECT_EQ(book.size(), 1u) << "one entry per id";
}

}  // namespace
}  // namespace xlb::dataplane
