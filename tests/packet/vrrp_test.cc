// Packet tests of hostile VRRP input: protocol-112 datagrams that cannot be a
// valid advert (fragments, TTL / hop limit other than 255, RFC 5798 5.1.1.3)
// are dropped by the XDP program and counted, before the kernel reassembles
// them or the speaker reads them; a valid advert goes up.
#include "tests/packet/packet_fixture.h"

namespace xlb::testing {
namespace {

// An advert's bytes (VRRPv3, VRID 51, one address); the program does not
// look into them.
const std::string kAdvert("\x31\x33\x96\x01\x00\x64\x00\x00\xc0\x00\x02\x0a", 12);

Frame Advert(bool v6, uint8_t ttl) {
  Frame f = v6 ? F("fe80::1", "ff02::12", kVrrp, 0) : F("198.51.100.1", "224.0.0.18", kVrrp, 0);
  f.raw_l4 = kAdvert;
  f.ttl = ttl;
  return f;
}

class VrrpTest : public PacketTest,
                 public ::testing::WithParamInterface<bool /* IPv6 */> {
 protected:
  // The verdict of `f`, and whether it was counted as a VRRP drop.
  void Expect(const Frame& f, const char* verdict, uint64_t counted) {
    const uint64_t before = Global(XLB_STAT_VRRP_DROPPED);
    auto r = Run(Build(f));
    EXPECT_STREQ(VerdictName(r.verdict), verdict);
    EXPECT_EQ(Global(XLB_STAT_VRRP_DROPPED), before + counted);
  }
};

TEST_P(VrrpTest, AnAdvertWithTtl255GoesUp) { Expect(Advert(GetParam(), 255), "XDP_PASS", 0); }

TEST_P(VrrpTest, AnyOtherTtlIsDroppedAndCounted) {
  for (uint8_t ttl : {1, 64, 254}) Expect(Advert(GetParam(), ttl), "XDP_DROP", 1);
}

TEST_P(VrrpTest, FragmentsAreDroppedAndCounted) {
  Frame f = Advert(GetParam(), 255);
  if (GetParam())
    f.ipv6_fragment_header = true;
  else
    f.ipv4_frag = 0x2000;  // first fragment, more to come
  Expect(f, "XDP_DROP", 1);
  if (!GetParam()) {
    f.ipv4_frag = 0x0010;  // a later fragment, the last
    Expect(f, "XDP_DROP", 1);
  }
}

TEST_P(VrrpTest, OtherProtocolsWithALowTtlOrFragmentedStillGoUp) {
  Frame tcp = GetParam() ? F("2001:db8::2", "2001:db8::1", kTcp, 22)
                         : F("198.51.100.2", "198.51.100.1", kTcp, 22);
  tcp.ttl = 1;
  Expect(tcp, "XDP_PASS", 0);
  Frame udp = GetParam() ? F("2001:db8::2", "2001:db8::1", kUdp, 53)
                         : F("198.51.100.2", "198.51.100.1", kUdp, 53);
  if (GetParam())
    udp.ipv6_fragment_header = true;
  else
    udp.ipv4_frag = 0x2000;
  Expect(udp, "XDP_PASS", 0);
}

INSTANTIATE_TEST_SUITE_P(Families, VrrpTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "ipv6" : "ipv4"; });

}  // namespace
}  // namespace xlb::testing
