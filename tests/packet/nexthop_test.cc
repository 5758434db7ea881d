// NetlinkNexthopResolver::KeepResolved against the sandbox's kernel (see
// sandbox.h: xlbt0 is 198.51.100.1/24; nothing answers ARP behind it but the
// client's permanent entry).
#include <net/if.h>

#include <cstdio>
#include <string>

#include "dataplane/nexthop.h"
#include "gtest/gtest.h"

namespace xlb::testing {
namespace {

using model::IpAddress;

std::string Shell(const std::string& command) {
  std::string out;
  FILE* f = popen(command.c_str(), "r");
  if (!f) return "popen failed";
  char buf[512];
  while (fgets(buf, sizeof(buf), f)) out += buf;
  pclose(f);
  return out;
}
// `ip -d neigh show ADDR` in the sandbox: "" when there is no entry.
std::string Neigh(const std::string& addr) {
  return Shell("ip -d neigh show " + addr + " dev xlbt0");
}
bool Has(const std::string& text, const std::string& word) {
  return text.find(word) != std::string::npos;
}
model::IpAddress Ip(const std::string& text) { return *model::IpAddress::Parse(text); }

TEST(KeepResolved, MakesManagedEntriesOfItsOwnAndRemovesThemWhenNoRealNeedsThem) {
  ASSERT_EQ(system("ip neigh replace 198.51.100.78 lladdr 02:00:00:00:00:78 dev xlbt0 nud permanent "
                   "&& ip route add 192.0.2.128/25 via 198.51.100.79"),
            0);
  dataplane::NetlinkNexthopResolver resolver;
  // A real on the link, one behind a gateway, one with a static entry, one
  // without a route, one over IPv6; a router toward NAT clients, as it is.
  const netlink::Gateway router{if_nametoindex("xlbt0"), Ip("198.51.100.76")};
  auto made = resolver.KeepResolved(
      {Ip("198.51.100.77"), Ip("192.0.2.200"), Ip("198.51.100.78"), Ip("2001:db8:99::1"),
       Ip("2001:db8:1::77")},
      {router});
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ(*made, 4u);
  EXPECT_TRUE(Has(Neigh("198.51.100.76"), "managed")) << "the router's entry";
  EXPECT_TRUE(Has(Neigh("2001:db8:1::77"), "managed")) << Neigh("2001:db8:1::77");
  EXPECT_TRUE(Has(Neigh("198.51.100.77"), "managed")) << Neigh("198.51.100.77");
  EXPECT_TRUE(Has(Neigh("198.51.100.77"), "proto 177")) << Neigh("198.51.100.77");
  EXPECT_TRUE(Has(Neigh("198.51.100.79"), "managed")) << "the gateway's entry";
  EXPECT_FALSE(Has(Neigh("198.51.100.78"), "managed")) << "a static entry is left alone";
  EXPECT_TRUE(Has(Neigh("198.51.100.78"), "PERMANENT"));

  // Asking for an unresolved next hop does not take the entry from the kernel.
  auto nh = resolver.Resolve(Ip("198.51.100.77"));
  ASSERT_TRUE(nh.ok()) << nh.status();
  EXPECT_FALSE(nh->has_value());
  EXPECT_TRUE(Has(Neigh("198.51.100.77"), "managed")) << Neigh("198.51.100.77");

  // Again: nothing to make.
  made = resolver.KeepResolved({Ip("198.51.100.77"), Ip("192.0.2.200")});
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ(*made, 0u);

  // No real left: xlb's entries go, the static one stays.
  made = resolver.KeepResolved({});
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ(Neigh("198.51.100.77"), "");
  EXPECT_EQ(Neigh("198.51.100.79"), "");
  EXPECT_EQ(Neigh("198.51.100.76"), "") << "a router no longer wanted";
  EXPECT_EQ(Neigh("2001:db8:1::77"), "");
  EXPECT_TRUE(Has(Neigh("198.51.100.78"), "PERMANENT"));
  EXPECT_TRUE(Has(Neigh("198.51.100.2"), "PERMANENT")) << "the client's entry";
  EXPECT_EQ(system("ip neigh del 198.51.100.78 dev xlbt0 && ip route del 192.0.2.128/25"), 0);
}

}  // namespace
}  // namespace xlb::testing
