// Keeping VIPs out of the director's own traffic: the prefix an IPv4 VIP is
// added with, the source a health check binds, and the warnings of
// --check-config.
#include "controlplane/vrrp/vip_source.h"

#include <gtest/gtest.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "absl/strings/match.h"

namespace xlb::vrrp {
namespace {

using model::IpAddress;

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

InterfaceAddress Addr(uint32_t ifindex, const char* address, int prefix, uint32_t flags = 0,
                      uint8_t protocol = 0, uint8_t scope = RT_SCOPE_UNIVERSE) {
  InterfaceAddress a;
  a.ifindex = ifindex;
  a.address = Ip(address);
  a.prefix_len = prefix;
  a.flags = flags;
  a.protocol = protocol;
  a.scope = scope;
  return a;
}

TEST(VipPrefixLength, KeepsThePrefixOnlyWhenTheVipIsSecondary) {
  // A primary of the same subnet and prefix: the VIP is secondary.
  EXPECT_EQ(VipPrefixLength({Addr(2, "192.0.2.2", 24)}, Ip("192.0.2.100"), 24), 24);
  // None at all, another prefix length, another subnet, a secondary, or a
  // VIP of ours: the VIP would be primary, so /32.
  EXPECT_EQ(VipPrefixLength({}, Ip("192.0.2.100"), 24), 32);
  EXPECT_EQ(VipPrefixLength({Addr(2, "192.0.2.2", 24)}, Ip("192.0.2.100"), 25), 32);
  EXPECT_EQ(VipPrefixLength({Addr(2, "198.51.100.2", 24)}, Ip("192.0.2.100"), 24), 32);
  EXPECT_EQ(VipPrefixLength({Addr(2, "192.0.2.3", 24, IFA_F_SECONDARY)}, Ip("192.0.2.100"), 24),
            32);
  EXPECT_EQ(VipPrefixLength({Addr(2, "192.0.2.3", 24, 0, kVipAddressProtocol)},
                            Ip("192.0.2.100"), 24),
            32);
  // Itself (added by hand before): not a reason to keep the prefix.
  EXPECT_EQ(VipPrefixLength({Addr(2, "192.0.2.100", 24)}, Ip("192.0.2.100"), 24), 32);
  EXPECT_EQ(VipPrefixLength({}, Ip("192.0.2.100"), 32), 32);
  // IPv6 is deprecated instead: the prefix stays.
  EXPECT_EQ(VipPrefixLength({}, Ip("2001:db8::100"), 64), 64);
}

TEST(ChooseSource, AnOwnAddressOnTheEgressInterfaceInTheNextHopsSubnetFirst) {
  const std::vector<InterfaceAddress> addresses = {
      Addr(1, "198.51.100.9", 24),                                  // another interface
      Addr(2, "fe80::1", 64, 0, 0, RT_SCOPE_LINK),                  // link-local
      Addr(2, "2001:db8::100", 64, IFA_F_NODAD | IFA_F_DEPRECATED, kVipAddressProtocol),
      Addr(2, "2001:db8::101", 64),                                 // a service VIP by hand
      Addr(2, "2001:db8:1::2", 64),                                 // own, another subnet
      Addr(2, "2001:db8::2", 64),                                   // own, the real's subnet
      Addr(2, "192.0.2.100", 24, 0, kVipAddressProtocol),
      Addr(2, "192.0.2.2", 24),
  };
  const std::set<IpAddress> vips = {Ip("2001:db8::101")};
  EXPECT_EQ(ChooseSource(addresses, 2, Ip("2001:db8::11"), vips), Ip("2001:db8::2"));
  EXPECT_EQ(ChooseSource(addresses, 2, Ip("2001:db8:5::11"), vips), Ip("2001:db8:1::2"));
  EXPECT_EQ(ChooseSource(addresses, 2, Ip("192.0.2.11"), vips), Ip("192.0.2.2"));
  EXPECT_EQ(ChooseSource(addresses, 0, Ip("198.51.100.11"), vips), Ip("198.51.100.9"));
  EXPECT_EQ(ChooseSource(addresses, 1, Ip("2001:db8::11"), vips), std::nullopt);
  // Only VIPs, deprecated or tentative addresses: none.
  const std::vector<InterfaceAddress> only_vips = {
      Addr(2, "2001:db8::100", 64, IFA_F_NODAD | IFA_F_DEPRECATED, kVipAddressProtocol),
      Addr(2, "2001:db8::101", 64), Addr(2, "2001:db8::5", 64, IFA_F_TENTATIVE),
      Addr(2, "2001:db8::6", 64, IFA_F_DEPRECATED)};
  EXPECT_EQ(ChooseSource(only_vips, 2, Ip("2001:db8::11"), vips), std::nullopt);
}

config::Config TwoFamilies() {
  config::Config c;
  config::VrrpInstance v6;
  v6.name = "vi6";
  v6.interface = "eth0";
  v6.vrid = 6;
  v6.addresses = {{Ip("2001:db8::100"), 64}};
  config::VrrpInstance v4 = v6;
  v4.name = "vi4";
  v4.vrid = 4;
  v4.addresses = {{Ip("192.0.2.100"), 24}};
  c.vrrp = {v6, v4};
  config::ServiceConfig web6;
  web6.name = "web6";
  web6.service.key.vip = Ip("2001:db8::100");
  web6.reals = {model::RealSpec{Ip("2001:db8::11")}, model::RealSpec{Ip("2001:db8:9::11")}};
  config::ServiceConfig web4;
  web4.name = "web4";
  web4.service.key.vip = Ip("203.0.113.10");
  web4.reals = {model::RealSpec{Ip("192.0.2.11")}};
  c.services = {web6, web4};
  return c;
}

uint32_t Eth0(const std::string& name) { return name == "eth0" ? 2 : 0; }

TEST(VipSourceWarnings, AVipInsideARealsSubnetWithoutAnOwnAddressThere) {
  const config::Config c = TwoFamilies();
  // eth0 has only a link-local IPv6 address and an IPv4 one.
  std::vector<std::string> w = VipSourceWarnings(
      c, {Addr(2, "fe80::1", 64, 0, 0, RT_SCOPE_LINK), Addr(2, "192.0.2.2", 24)}, Eth0);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_TRUE(absl::StrContains(w[0], "VIP 2001:db8::100/64 of vrrp vi6 on eth0 is inside the "
                                      "subnet of real 2001:db8::11 of service web6"))
      << w[0];
  // With an own IPv6 address on eth0: nothing to say.
  EXPECT_TRUE(VipSourceWarnings(c, {Addr(2, "2001:db8::2", 64), Addr(2, "192.0.2.2", 24)}, Eth0)
                  .empty());
  // No IPv4 address of its own either: both.
  EXPECT_EQ(VipSourceWarnings(c, {}, Eth0).size(), 2u);
  // The instance's interface is missing: nothing known to check.
  EXPECT_TRUE(VipSourceWarnings(c, {}, [](const std::string&) { return 0u; }).empty());
}

TEST(VipSourceWarnings, AServiceVipAddedByHand) {
  config::Config c = TwoFamilies();
  c.vrrp.clear();
  c.services[1].service.key.vip = Ip("192.0.2.100");
  // 192.0.2.100/24 on interface 3 by hand, and no own address there.
  std::vector<std::string> w =
      VipSourceWarnings(c, {Addr(3, "192.0.2.100", 24), Addr(2, "192.0.2.2", 24)}, Eth0);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_TRUE(absl::StrContains(w[0], "VIP 192.0.2.100/24 of service web4")) << w[0];
  // As a /32 it has no subnet.
  EXPECT_TRUE(VipSourceWarnings(c, {Addr(3, "192.0.2.100", 32)}, Eth0).empty());
}

}  // namespace
}  // namespace xlb::vrrp
