// What the control plane writes for a tunnel service (docs/tunnel-design.md):
// the service flag and its tunnels entry, read back from the loaded
// program's maps; changed with the settings, cleared when the service stops
// being a tunnel or goes, and adopted by a restarted daemon. The packets
// themselves are the data path's tests.
#include <arpa/inet.h>

#include <cstdlib>
#include <cstring>

#include "tests/packet/packet_fixture.h"

namespace xlb::testing {
namespace {

class TunnelTableTest : public PacketTest {
 protected:
  xlb_service ServiceValue(const std::string& key) {
    xlb_service_key k = {};
    const ServiceKey sk = Key(key);
    sk.vip.CopyTo(k.addr);
    k.port = htons(sk.port);
    k.proto = static_cast<uint8_t>(sk.protocol);
    k.family = static_cast<uint8_t>(sk.vip.family());
    xlb_service v = {};
    auto found = prog_->maps().services.Lookup(&k, &v);
    EXPECT_TRUE(found.ok() && *found) << key;
    return v;
  }
  xlb_tunnel TunnelEntry(uint32_t id) {
    xlb_tunnel t = {};
    auto found = prog_->maps().tunnels.Lookup(&id, &t);
    EXPECT_TRUE(found.ok() && *found);
    return t;
  }
  static void Gue(model::ServiceOptions& o) {
    o.forward = model::Forward::kTunnel;
    o.tunnel.encap = model::Encap::kGue;
    o.tunnel.gue_port = 7000;
    o.tunnel.source = *model::ParseIpPrefix("192.0.2.128/25");
    o.tunnel.mtu = 1500;
  }
};

TEST_F(TunnelTableTest, EntryWrittenChangedAndCleared) {
  const std::string key = "192.0.2.10:80/tcp";
  AddService(key, {"203.0.113.11", "203.0.113.12"}, Gue);
  const xlb_service svc = ServiceValue(key);
  EXPECT_TRUE(svc.flags & XLB_SVC_F_TUNNEL);
  EXPECT_FALSE(svc.flags & XLB_SVC_F_NAT);
  xlb_tunnel t = TunnelEntry(svc.id);
  EXPECT_EQ(t.flags, XLB_TUN_F_GUE | XLB_TUN_F_MSS_CLAMP);
  EXPECT_EQ(t.gue_port, htons(7000));
  EXPECT_EQ(t.src[0], htonl(0xc0000280));
  EXPECT_EQ(t.src_hostmask[0], htonl(0x7f));
  EXPECT_EQ(t.mtu, 1500);
  EXPECT_EQ(t.overhead, 28);
  EXPECT_EQ(t.mss, 1432);

  // A change of the settings is written; forward unchanged keeps the flows.
  model::Service s{Key(key), {}};
  Gue(s.options);
  s.options.tunnel.encap = model::Encap::kIpip;
  s.options.tunnel.gue_port = model::kDefaultGuePort;
  s.options.tunnel.mtu = 1400;
  s.options.tunnel.mss_clamp = false;
  ASSERT_TRUE(table_->Upsert(s).ok());
  EXPECT_EQ(ServiceValue(key).gen, svc.gen);
  t = TunnelEntry(svc.id);
  EXPECT_EQ(t.flags, 0u);
  EXPECT_EQ(t.mtu, 1400);
  EXPECT_EQ(t.overhead, 20);
  EXPECT_EQ(t.mss, 1340);

  // No longer a tunnel: the flag and the entry go, the flows choose again.
  s.options = {};
  ASSERT_TRUE(table_->Upsert(s).ok());
  EXPECT_FALSE(ServiceValue(key).flags & XLB_SVC_F_TUNNEL);
  EXPECT_NE(ServiceValue(key).gen, svc.gen);
  const xlb_tunnel zero = {};
  t = TunnelEntry(svc.id);
  EXPECT_EQ(std::memcmp(&t, &zero, sizeof(t)), 0);

  // A tunnel again, then deleted: the entry is cleared with it.
  Gue(s.options);
  ASSERT_TRUE(table_->Upsert(s).ok());
  EXPECT_EQ(TunnelEntry(svc.id).mtu, 1500);
  ASSERT_TRUE(table_->Delete(Key(key)).ok());
  t = TunnelEntry(svc.id);
  EXPECT_EQ(std::memcmp(&t, &zero, sizeof(t)), 0);
}

TEST_F(TunnelTableTest, V6WithoutARouteKnown) {
  // The fake resolver knows no tunnel path: no source, MTU 1500.
  AddService("[2001:db8::10]:443/tcp", {"2001:db8:2::1"},
             [](auto& o) { o.forward = model::Forward::kTunnel; });
  const xlb_tunnel t = TunnelEntry(ServiceValue("[2001:db8::10]:443/tcp").id);
  EXPECT_EQ(t.flags, XLB_TUN_F_MSS_CLAMP);
  EXPECT_EQ(t.mtu, 1500);
  EXPECT_EQ(t.overhead, 40);
  EXPECT_EQ(t.mss, 1400);
}

TEST_F(TunnelTableTest, RestartedDaemonAdoptsTheSettings) {
  const std::string pins = g_bpffs + "/adopt-tunnel";
  Load(pins);
  AddService("192.0.2.10:80/tcp", {"203.0.113.11"}, Gue);
  const auto before = table_->List();
  Load(pins);  // as a restarted daemon would
  const auto after = table_->List();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].service.options, before[0].service.options);
  EXPECT_EQ(after[0].service.options.tunnel.source->ToString(), "192.0.2.128/25");
  ASSERT_TRUE(prog_->Unpin().ok());
}

// A tunnel's real is routed, not on the link: the resolver gives the
// gateway's MAC (as for DR) and, for the tunnels entry's defaults, the
// director's own address toward the real and the egress link's MTU.
TEST(TunnelPath, ARealBehindAGatewayAgainstTheKernel) {
  ASSERT_EQ(system("ip neigh replace 198.51.100.80 lladdr 02:00:00:00:00:80 dev xlbt0 "
                   "nud permanent && ip route add 192.0.2.64/26 via 198.51.100.80"),
            0);
  dataplane::NetlinkNexthopResolver resolver;
  auto nh = resolver.Resolve(Ip("192.0.2.70"));
  ASSERT_TRUE(nh.ok()) << nh.status();
  ASSERT_TRUE(nh->has_value());
  EXPECT_EQ((*nh)->ifindex, static_cast<uint32_t>(Ifindex("xlbt0")));
  EXPECT_EQ((*nh)->dmac, (Mac{0x02, 0, 0, 0, 0, 0x80})) << "the gateway's MAC";
  auto path = resolver.TunnelPathTowards(Ip("192.0.2.70"));
  ASSERT_TRUE(path.ok()) << path.status();
  ASSERT_TRUE(path->has_value());
  EXPECT_EQ((*path)->source, Ip("198.51.100.1"));
  EXPECT_EQ((*path)->mtu, 1500u);
  ASSERT_EQ(system("ip link set xlbt0 mtu 1400"), 0);
  path = resolver.TunnelPathTowards(Ip("192.0.2.70"));
  ASSERT_TRUE(path.ok() && path->has_value());
  EXPECT_EQ((*path)->mtu, 1400u);
  // No route: nothing known.
  path = resolver.TunnelPathTowards(Ip("2001:db8:99::1"));
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_FALSE(path->has_value());
  EXPECT_EQ(system("ip link set xlbt0 mtu 1500 && ip route del 192.0.2.64/26 && "
                   "ip neigh del 198.51.100.80 dev xlbt0"),
            0);
}

}  // namespace
}  // namespace xlb::testing
