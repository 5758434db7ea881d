// Validation and the text form of services and reals: no root needed.
#include "model/service.h"

#include "gtest/gtest.h"

namespace xlb::model {
namespace {

IpAddress Ip(const char* s) { return *IpAddress::Parse(s); }

TEST(IpAddressTest, Multicast) {
  EXPECT_TRUE(Ip("233.252.0.1").is_multicast());
  EXPECT_TRUE(Ip("224.0.0.18").is_multicast());
  EXPECT_TRUE(Ip("239.255.255.255").is_multicast());
  EXPECT_FALSE(Ip("223.255.255.255").is_multicast());
  EXPECT_FALSE(Ip("240.0.0.1").is_multicast());
  EXPECT_FALSE(Ip("192.0.2.12").is_multicast());
  EXPECT_TRUE(Ip("ff02::12").is_multicast());
  EXPECT_FALSE(Ip("2001:db8::12").is_multicast());
  EXPECT_FALSE(Ip("fe80::1").is_multicast());
}

TEST(ServiceKeyTest, ParsesAndPrints) {
  auto k = ParseServiceKey("198.51.100.10:80/udp");
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_EQ(k->vip, Ip("198.51.100.10"));
  EXPECT_EQ(k->port, 80);
  EXPECT_EQ(k->protocol, Protocol::kUdp);
  EXPECT_EQ(k->ToString(), "198.51.100.10:80/udp");
  auto v6 = ParseServiceKey("[2001:db8::10]:443");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->protocol, Protocol::kTcp);
  EXPECT_EQ(v6->ToString(), "[2001:db8::10]:443/tcp");
  auto all = ParseServiceKey("192.0.2.1:*/tcp");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->port, 0);
}

TEST(ServiceKeyTest, RejectsBadText) {
  for (const char* bad : {"198.51.100.10", "198.51.100.10:70000", "198.51.100.10:80/sctp",
                          "2001:db8::1:80", "[2001:db8::1]80", "host:80", "1.2.3:80",
                          "198.51.100.10:-1", "198.51.100.10:8x"}) {
    auto k = ParseServiceKey(bad);
    EXPECT_FALSE(k.ok()) << bad;
    EXPECT_NE(k.status().message().find(bad), std::string::npos) << k.status();
  }
}

Service Svc(const char* key) { return Service{*ParseServiceKey(key), {}}; }

TEST(ValidateServiceTest, AcceptsDefaults) {
  EXPECT_TRUE(ValidateService(Svc("198.51.100.10:80/tcp")).ok());
}

TEST(ValidateServiceTest, RejectsBadOptions) {
  Service s = Svc("198.51.100.10:80/tcp");
  s.options.table_size = 65536;
  EXPECT_NE(ValidateService(s).message().find("65536 is not a prime"), std::string::npos);
  s = Svc("198.51.100.10:0/tcp");
  EXPECT_NE(ValidateService(s).message().find("port 0 is only for an all-ports service"),
            std::string::npos);
  s.options.all_ports = true;
  EXPECT_TRUE(ValidateService(s).ok());
  s = Svc("198.51.100.10:80/tcp");
  s.options.all_ports = true;
  EXPECT_FALSE(ValidateService(s).ok());
  s = Svc("198.51.100.10:80/tcp");
  s.options.persistence_netmask = 33;
  EXPECT_NE(ValidateService(s).message().find("/33"), std::string::npos);
  s = Svc("[2001:db8::1]:80/tcp");
  s.options.persistence_netmask = 64;
  EXPECT_TRUE(ValidateService(s).ok());
}

// The data plane's own checks of a tunnel service (the config's parser
// names the key first; these hold for any other caller).
TEST(ValidateServiceTest, Tunnel) {
  auto says = [](const Service& s) { return std::string(ValidateService(s).message()); };
  Service s = Svc("198.51.100.10:80/tcp");
  s.options.tunnel.mtu = 1500;
  EXPECT_NE(says(s).find("tunnel settings are only for forward tunnel"), std::string::npos);
  s.options.forward = Forward::kTunnel;
  EXPECT_TRUE(ValidateService(s).ok());
  s.options.tunnel.mtu = 595;
  EXPECT_NE(says(s).find("tunnel mtu 595 is not in 596..9216"), std::string::npos);
  s.options.tunnel.mtu = 0;  // the egress link's
  s.options.tunnel.gue_port = 7000;
  EXPECT_NE(says(s).find("a gue port is only for encap gue"), std::string::npos);
  s.options.tunnel.encap = Encap::kGue;
  EXPECT_TRUE(ValidateService(s).ok());
  s.options.tunnel.gue_port = 0;
  EXPECT_NE(says(s).find("gue port 0"), std::string::npos);
  s.options.tunnel.gue_port = kDefaultGuePort;
  s.options.tunnel.source = *ParseIpPrefix("2001:db8:ff::/112");
  EXPECT_NE(says(s).find("is not of the VIP's family"), std::string::npos);
  s.options.tunnel.source = IpPrefix{*IpAddress::Parse("192.0.2.130"), 25};
  EXPECT_NE(says(s).find("has host bits set"), std::string::npos);
  // A real keeps the VIP's port, as for direct routing.
  s.options.tunnel.source.reset();
  EXPECT_NE(ValidateReals(s, {{*IpAddress::Parse("203.0.113.1"), 8080}}).message().find(
                "a tunnel cannot change the port to 8080"),
            std::string::npos);
  EXPECT_EQ(TunnelMss(Family::kV4, Encap::kIpip, 1500), 1440);
  EXPECT_EQ(TunnelMss(Family::kV6, Encap::kGue, 1500), 1392);
  EXPECT_EQ(MinTunnelMtu(Family::kV6, Encap::kIpip), 1320u);
  EXPECT_EQ(ParseIpPrefix("192.0.2.0/24")->ToString(), "192.0.2.0/24");
  EXPECT_FALSE(ParseIpPrefix("192.0.2.0/").ok());
  EXPECT_FALSE(ParseIpPrefix("192.0.2.0/-1").ok());
}

TEST(ValidateRealsTest, RejectsBadReals) {
  Service s = Svc("198.51.100.10:80/tcp");
  EXPECT_TRUE(ValidateReals(s, {{Ip("203.0.113.1"), 0, 1}, {Ip("203.0.113.2"), 80, 0}}).ok());
  auto mix = ValidateReals(s, {{Ip("2001:db8::1"), 0, 1}});
  EXPECT_NE(mix.message().find("an IPv6 real for an IPv4 VIP"), std::string::npos) << mix;
  auto weight = ValidateReals(s, {{Ip("203.0.113.1"), 0, kMaxWeight + 1}});
  EXPECT_NE(weight.message().find("weight 65536"), std::string::npos) << weight;
  auto port = ValidateReals(s, {{Ip("203.0.113.1"), 8080, 1}});
  EXPECT_NE(port.message().find("cannot change the port"), std::string::npos) << port;
  auto dup = ValidateReals(s, {{Ip("203.0.113.1"), 0, 1}, {Ip("203.0.113.1"), 80, 2}});
  EXPECT_NE(dup.message().find("listed twice"), std::string::npos) << dup;
  s.options.table_size = 7;
  std::vector<RealSpec> many;
  for (int i = 1; i <= 8; ++i) many.push_back({Ip(("203.0.113." + std::to_string(i)).c_str()), 0, 1});
  EXPECT_NE(ValidateReals(s, many).message().find("exceed table size 7"), std::string::npos);
}

}  // namespace
}  // namespace xlb::model
