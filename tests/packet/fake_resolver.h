// A NexthopResolver that answers without a kernel, for the packet tests and
// the program benchmark: real 203.0.113.N / 2001:db8:2::N sits behind
// ifindex 1 (lo, where test runs arrive, so XDP_TX) with MAC
// FakeResolver::RealMac(N), except where a test says otherwise.
#ifndef XLB_TESTS_PACKET_FAKE_RESOLVER_H_
#define XLB_TESTS_PACKET_FAKE_RESOLVER_H_

#include <arpa/inet.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "model/address.h"
#include "dataplane/nexthop.h"
#include "tests/packet/packet_builder.h"

namespace xlb::testing {

class FakeResolver : public dataplane::NexthopResolver {
 public:
  static constexpr Mac kDirectorMac{0x02, 0, 0, 0, 0, 0xd1};
  static Mac RealMac(int n) { return {0x02, 0, 0, 0, 1, static_cast<uint8_t>(n)}; }
  // The N of a real's default MAC: the address's last byte.
  static int MacNumber(const model::IpAddress& a) {
    return a.is_v4() ? ntohl(a.words()[0]) & 0xff : ntohl(a.words()[3]) & 0xff;
  }

  std::map<model::IpAddress, std::optional<dataplane::Nexthop>> overrides;

  absl::StatusOr<std::optional<dataplane::Nexthop>> Resolve(
      const model::IpAddress& a) override {
    if (auto it = overrides.find(a); it != overrides.end()) return it->second;
    dataplane::Nexthop nh;
    nh.ifindex = 1;
    nh.dmac = RealMac(MacNumber(a));
    nh.smac = kDirectorMac;
    return nh;
  }

  // The route: the resolved next hop's interface, else 1 (lo), unless
  // `routes` says otherwise (0: no route).
  std::map<model::IpAddress, uint32_t> routes;
  absl::StatusOr<uint32_t> EgressInterface(const model::IpAddress& a) override {
    if (auto it = routes.find(a); it != routes.end()) return it->second;
    if (auto it = overrides.find(a); it != overrides.end() && it->second) return it->second->ifindex;
    return 1;
  }

  // `addr` resolves to `ifindex` with MAC RealMac(mac); nullopt: unresolved.
  void Set(const std::string& addr, std::optional<int> ifindex, int mac) {
    model::IpAddress ip = *model::IpAddress::Parse(addr);
    if (!ifindex) {
      overrides[ip] = std::nullopt;
      return;
    }
    dataplane::Nexthop nh;
    nh.ifindex = *ifindex;
    nh.dmac = RealMac(mac);
    nh.smac = kDirectorMac;
    overrides[ip] = nh;
  }
};

}  // namespace xlb::testing

#endif  // XLB_TESTS_PACKET_FAKE_RESOLVER_H_
