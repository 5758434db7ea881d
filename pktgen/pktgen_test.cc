// xlb-pktgen without root: its frames byte for byte against tests/packet's
// independent builder (checksums computed from scratch there), the flows
// its ranges make, the offsets its BPF program rewrites, and the refusal of
// bad input (destinations outside the lab, bounds, ranges, sizes).
#include <arpa/inet.h>

#include <cstring>
#include <set>
#include <utility>

#include "pktgen/destination_policy.h"
#include "pktgen/engine.h"
#include "pktgen/frame.h"
#include "pktgen/traffic.h"
#include "gtest/gtest.h"
#include "tests/packet/packet_builder.h"

namespace xlb::pktgen {
namespace {

using model::IpAddress;

model::IpAddress Ip(const char* s) { return *model::IpAddress::Parse(s); }

Traffic MakeTraffic(const char* dst, const char* src, const char* sport, uint32_t size = 0) {
  Traffic t;
  t.dst = *model::ParseServiceKey(dst);
  t.src = *ParseAddressRange(src);
  t.sport = *ParsePortRange(sport);
  t.src_mac = {0x02, 0, 0, 0, 0, 0xc1};
  t.dst_mac = {0x02, 0, 0, 0, 0, 0xd1};
  t.frame_size = size;
  return t;
}

// The same frame from the packet tests' builder (dataplane/frame_builder.h).
std::string Reference(const Traffic& t, const model::IpAddress& src, uint16_t sport) {
  testing::Frame f;
  f.src = t.src_mac;
  f.dst = t.dst_mac;
  f.saddr = src;
  f.daddr = t.dst.vip;
  f.sport = sport;
  f.dport = t.dst.port;
  f.ipv4_frag = 0x4000;  // DF
  const bool tcp = t.dst.protocol == model::Protocol::kTcp;
  f.proto = tcp ? testing::kTcp : testing::kUdp;
  f.tcp_flags = testing::kSyn;
  f.l4_payload = tcp ? "" : std::string(FrameSize(t) - HeadersSize(t), '\0');
  std::string frame = testing::Build(f);
  frame.resize(FrameSize(t), '\0');  // a SYN is padded
  return frame;
}

TEST(FrameTest, MatchesTheIndependentBuilder) {
  for (const char* dst : {"192.0.2.10:80/tcp", "192.0.2.10:53/udp", "[2001:db8:10::10]:80/tcp",
                          "[2001:db8:10::10]:53/udp"}) {
    const bool v4 = dst[0] != '[';
    for (uint32_t size : {0u, 60u, 128u, 1514u}) {
      Traffic t = MakeTraffic(dst, v4 ? "198.51.100.250-198.51.101.5" : "2001:db8:1::fffe-2001:db8:1::1:3",
                              "65530-65535", size);
      if (size != 0 && size < HeadersSize(t)) continue;
      ASSERT_TRUE(Validate(t).ok()) << Validate(t);
      const uint64_t n = FlowCount(t);
      for (uint64_t i : {uint64_t{0}, uint64_t{1}, uint64_t{7}, n - 1, n, 3 * n + 5}) {
        SCOPED_TRACE(::testing::Message() << dst << " size " << size << " flow " << i);
        EXPECT_EQ(BuildFrame(t, i), Reference(t, FlowSource(t, i), FlowSourcePort(t, i)));
      }
    }
  }
}

TEST(FrameTest, DefaultSizeIsTheHeadersAtLeastSixty) {
  EXPECT_EQ(BuildFrame(MakeTraffic("192.0.2.10:80/tcp", "198.51.100.1", "1000"), 0).size(), 60u);
  EXPECT_EQ(BuildFrame(MakeTraffic("192.0.2.10:80/udp", "198.51.100.1", "1000"), 0).size(), 60u);
  EXPECT_EQ(BuildFrame(MakeTraffic("[2001:db8::1]:80/tcp", "2001:db8::2", "1000"), 0).size(), 74u);
  EXPECT_EQ(BuildFrame(MakeTraffic("[2001:db8::1]:80/udp", "2001:db8::2", "1000"), 0).size(), 62u);
}

TEST(FlowTest, EveryAddressAndPortPairOnce) {
  Traffic t = MakeTraffic("192.0.2.10:80/udp", "198.51.100.1-198.51.100.3", "1000-1003");
  ASSERT_EQ(FlowCount(t), 12u);
  std::set<std::pair<model::IpAddress, uint16_t>> seen;
  for (uint64_t i = 0; i < FlowCount(t); ++i) seen.insert({FlowSource(t, i), FlowSourcePort(t, i)});
  EXPECT_EQ(seen.size(), 12u);
  EXPECT_EQ(seen.begin()->first, Ip("198.51.100.1"));
  EXPECT_EQ(seen.begin()->second, 1000);
  EXPECT_EQ(seen.rbegin()->first, Ip("198.51.100.3"));
  EXPECT_EQ(seen.rbegin()->second, 1003);
  EXPECT_EQ(FlowSource(t, 12), FlowSource(t, 0));  // then again from the start
  EXPECT_EQ(FlowSourcePort(t, 12), FlowSourcePort(t, 0));
}

TEST(FlowTest, IPv6RangeVariesTheLastWordOnly) {
  Traffic t = MakeTraffic("[2001:db8:10::10]:80/tcp", "2001:db8:1::fffe-2001:db8:1::1:1", "2000");
  ASSERT_TRUE(Validate(t).ok());
  EXPECT_EQ(FlowCount(t), 4u);
  EXPECT_EQ(FlowSource(t, 1), Ip("2001:db8:1::ffff"));
  EXPECT_EQ(FlowSource(t, 2), Ip("2001:db8:1::1:0"));
  EXPECT_FALSE(ParseAddressRange("2001:db8:1::ffff:fffe-2001:db8:1::1:0:1").ok());
}

// The offsets pktgen.bpf.c rewrites point at the source address's last
// word, the source port and the checksums of BuildFrame's frames.
TEST(BpfFlowsTest, OffsetsPointAtTheFields) {
  for (const char* dst : {"192.0.2.10:80/tcp", "192.0.2.10:53/udp", "[2001:db8:10::10]:80/tcp",
                          "[2001:db8:10::10]:53/udp"}) {
    SCOPED_TRACE(dst);
    const bool v4 = dst[0] != '[';
    Traffic t = MakeTraffic(dst, v4 ? "198.51.100.7" : "2001:db8:1::7", "4242");
    const xlb_pktgen_flows f = BpfFlows(t);
    const std::string frame = BuildFrame(t, 0);
    const auto at16 = [&](uint16_t off) {
      return static_cast<uint16_t>(static_cast<uint8_t>(frame[off]) << 8 |
                                   static_cast<uint8_t>(frame[off + 1]));
    };
    const uint32_t want_low = ntohl(t.src.first.words()[v4 ? 0 : 3]);
    EXPECT_EQ(want_low & 0xff, 7u);
    uint32_t low;
    std::memcpy(&low, frame.data() + f.saddr_off, 4);
    EXPECT_EQ(ntohl(low), want_low);
    EXPECT_EQ(f.addr_first, want_low);
    EXPECT_EQ(at16(f.sport_off), 4242);
    EXPECT_EQ(f.udp, t.dst.protocol == model::Protocol::kUdp);
    if (v4) {
      EXPECT_EQ(f.ip_csum_off, 24);
      EXPECT_EQ(testing::InetChecksum(frame.substr(14, 20)), 0);
    } else {
      EXPECT_EQ(f.ip_csum_off, 0);
    }
    EXPECT_EQ(f.header_len, HeadersSize(t));
    EXPECT_LE(f.header_len, XLB_PKTGEN_HEADER_MAX);
    EXPECT_EQ(f.sport_off, v4 ? 34 : 54);
    EXPECT_EQ(f.l4_csum_off, f.sport_off + (f.udp ? 6 : 16));
  }
}

TEST(ParseTest, AddressRanges) {
  auto r = ParseAddressRange("198.51.100.0/24");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->first, Ip("198.51.100.0"));
  EXPECT_EQ(r->count, 256u);
  r = ParseAddressRange("198.51.100.10-198.51.100.20");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->count, 11u);
  r = ParseAddressRange("2001:db8::1-2001:db8::ff");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->count, 255u);
  r = ParseAddressRange("203.0.113.9");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->count, 1u);
  for (const char* bad : {"198.51.100.20-198.51.100.10", "198.51.100.1-2001:db8::1",
                          "2001:db8::1-2001:db9::1", "10.0.0.0/7", "2001:db8::/96",
                          "198.51.100.0/33", "198.51.100.0/x", "host", "198.51.100.1-"}) {
    auto b = ParseAddressRange(bad);
    EXPECT_FALSE(b.ok()) << bad;
    EXPECT_NE(b.status().message().find(bad), std::string::npos) << b.status();
  }
}

TEST(ParseTest, PortRanges) {
  auto p = ParsePortRange("1024-65535");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->first, 1024);
  EXPECT_EQ(p->count, 64512u);
  p = ParsePortRange("80");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->count, 1u);
  for (const char* bad : {"0", "70000", "10-5", "x", "1-65536", ""}) {
    auto b = ParsePortRange(bad);
    EXPECT_FALSE(b.ok()) << bad;
    EXPECT_NE(b.status().message().find("source ports"), std::string::npos) << b.status();
  }
}

TEST(ParseTest, MacAddresses) {
  auto m = ParseMac("02:00:5e:10:ab:FF");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(FormatMac(*m), "02:00:5e:10:ab:ff");
  EXPECT_TRUE(ParseMac("02-00-5e-10-ab-ff").ok());
  for (const char* bad : {"", "02:00:5e:10:ab", "02:00:5e:10:ab:ff:00", "02:00:5e:10:ab:fff",
                          "02:00:5e:10:ab:zz", "02::5e:10:ab:ff"})
    EXPECT_FALSE(ParseMac(bad).ok()) << bad;
}

TEST(ValidateTest, RefusesWhatCannotBeSent) {
  auto message = [](const Traffic& t) { return std::string(Validate(t).message()); };
  EXPECT_NE(message(MakeTraffic("[2001:db8::1]:80/tcp", "198.51.100.1", "1000"))
                .find("different families"),
            std::string::npos);
  EXPECT_NE(message(MakeTraffic("192.0.2.10:*/tcp", "198.51.100.1", "1000")).find("port"),
            std::string::npos);
  EXPECT_NE(message(MakeTraffic("192.0.2.10:80/tcp", "198.51.100.1", "1000", 53))
                .find("frame size 53: must be 54..1514"),
            std::string::npos);
  EXPECT_FALSE(Validate(MakeTraffic("192.0.2.10:80/tcp", "198.51.100.1", "1000", 1515)).ok());
  EXPECT_TRUE(Validate(MakeTraffic("192.0.2.10:80/tcp", "198.51.100.1", "1000", 54)).ok());
}

TEST(DestinationPolicyTest, OnlyTheLabUnlessTold) {
  auto lab = DestinationPolicy::Create("", false);
  ASSERT_TRUE(lab.ok());
  for (const char* ok : {"192.0.2.10", "198.51.100.255", "203.0.113.1", "2001:db8:ffff::1"})
    EXPECT_TRUE(lab->Check(Ip(ok)).ok()) << ok;
  for (const char* out : {"8.8.8.8", "10.0.0.1", "192.0.3.1", "2001:db9::1", "::1"}) {
    auto st = lab->Check(Ip(out));
    EXPECT_FALSE(st.ok()) << out;
    EXPECT_NE(st.message().find(out), std::string::npos) << st;
    EXPECT_NE(st.message().find("--allow-any-destination"), std::string::npos) << st;
  }
  auto more = DestinationPolicy::Create("10.0.0.0/8, 2001:db9::1", false);
  ASSERT_TRUE(more.ok()) << more.status();
  EXPECT_TRUE(more->Check(Ip("10.1.2.3")).ok());
  EXPECT_TRUE(more->Check(Ip("2001:db9::1")).ok());
  EXPECT_FALSE(more->Check(Ip("2001:db9::2")).ok());
  EXPECT_FALSE(more->Check(Ip("11.0.0.1")).ok());
  auto any = DestinationPolicy::Create("", true);
  ASSERT_TRUE(any.ok());
  EXPECT_TRUE(any->Check(Ip("8.8.8.8")).ok());
  for (const char* bad : {"10.0.0.0/33", "nonsense", "10.0.0.0/x"}) {
    auto b = DestinationPolicy::Create(bad, false);
    EXPECT_FALSE(b.ok()) << bad;
    EXPECT_NE(b.status().message().find(bad), std::string::npos) << b.status();
  }
}

TEST(BoundsTest, AlwaysBounded) {
  EXPECT_TRUE(ValidateBounds({1000000, 10, 0}).ok());
  EXPECT_FALSE(ValidateBounds({0, 10, 0}).ok());
  EXPECT_FALSE(ValidateBounds({kMaxCount + 1, 10, 0}).ok());
  EXPECT_FALSE(ValidateBounds({1000, 0, 0}).ok());
  EXPECT_FALSE(ValidateBounds({1000, kMaxDurationS + 1, 0}).ok());
  EXPECT_NE(ValidateBounds({0, 10, 0}).message().find("--count"), std::string::npos);
  EXPECT_NE(ValidateBounds({1, -1, 0}).message().find("--duration"), std::string::npos);
}

TEST(PacingTest, AllowanceFollowsTheRate) {
  EXPECT_EQ(PacedAllowance(1000, 0), 1u);
  EXPECT_EQ(PacedAllowance(1000, 0.5), 501u);
  EXPECT_EQ(PacedAllowance(1000000, 2), 2000001u);
  EXPECT_EQ(PacedAllowance(1000, -1), 1u);
}

}  // namespace
}  // namespace xlb::pktgen
