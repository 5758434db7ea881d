#include "controlplane/vrrp/packet.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "controlplane/vrrp/testdata/packet_samples.h"
#include "gtest/gtest.h"

namespace xlb::vrrp {
namespace {

using model::Family;
using model::IpAddress;
using samples::Sample;

IpAddress Ip(const char* text) {
  absl::StatusOr<IpAddress> a = IpAddress::Parse(text);
  EXPECT_TRUE(a.ok()) << text;
  return a.value_or(IpAddress());
}

std::string IpPacketOf(const Sample& s) {
  return std::string(reinterpret_cast<const char*>(s.frame) + samples::kEthernetLen, s.size - samples::kEthernetLen);
}
std::string MessageOf(const Sample& s) { return IpPacketOf(s).substr(kIpv4HeaderLen); }

// Written from scratch from RFC 1071 / RFC 5798 5.2.8, sharing nothing with
// the codec: the pseudo-header is laid out as bytes, then everything summed.
uint16_t ReferenceChecksum(const std::string& message, const IpAddress* src, const IpAddress* dst) {
  std::vector<uint8_t> buf;
  if (src != nullptr) {
    std::string s = src->bytes(), d = dst->bytes();
    buf.insert(buf.end(), s.begin(), s.end());
    buf.insert(buf.end(), d.begin(), d.end());
    const uint32_t len = static_cast<uint32_t>(message.size());
    if (src->is_v4()) {
      buf.insert(buf.end(), {0, 112, static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)});
    } else {
      buf.insert(buf.end(), {static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16),
                             static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len), 0, 0, 0, 112});
    }
  }
  buf.insert(buf.end(), message.begin(), message.end());
  buf[buf.size() - message.size() + 6] = 0;  // the checksum field itself
  buf[buf.size() - message.size() + 7] = 0;
  if (buf.size() % 2) buf.push_back(0);
  uint64_t sum = 0;
  for (size_t i = 0; i < buf.size(); i += 2) sum += buf[i] << 8 | buf[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint16_t ChecksumField(const std::string& message) {
  return static_cast<uint16_t>(static_cast<uint8_t>(message[6]) << 8 | static_cast<uint8_t>(message[7]));
}

// Refills the checksum so a test reaches the check it means to hit.
void FixChecksum(std::string& message, const IpAddress& src, const IpAddress& dst) {
  const bool v3 = (static_cast<uint8_t>(message[0]) >> 4) == 3;
  uint16_t c = ReferenceChecksum(message, v3 ? &src : nullptr, v3 ? &dst : nullptr);
  message[6] = static_cast<char>(c >> 8);
  message[7] = static_cast<char>(c);
}

void FixIpv4HeaderChecksum(std::string& packet) {
  packet[10] = packet[11] = 0;
  const size_t ihl = std::min<size_t>(packet.size(), (static_cast<uint8_t>(packet[0]) & 0x0f) * 4u) & ~size_t{1};
  uint32_t sum = 0;
  for (size_t i = 0; i < ihl; i += 2) {
    sum += static_cast<uint8_t>(packet[i]) << 8 | static_cast<uint8_t>(packet[i + 1]);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  packet[10] = static_cast<char>(~sum >> 8);
  packet[11] = static_cast<char>(~sum);
}

Expectation SampleExpectation(int version) {
  Expectation e;
  e.family = Family::kV4;
  e.version = version;
  e.vrid = 51;
  if (version == 2) {
    e.auth_type = kAuthPass;
    e.auth = "pzpass";
    e.v2_advert_int_cs = 100;
  }
  return e;
}

// Decodes, checks every field against the sample's, re-encodes byte for byte.
void CheckSample(const Sample& s) {
  SCOPED_TRACE(s.source);
  const std::string packet = IpPacketOf(s);
  DecodeResult r = DecodeIpv4Packet(packet);
  ASSERT_TRUE(r.ok()) << DecodeErrorName(r.error);
  ASSERT_TRUE(r.advert.has_value());
  const Advert& a = *r.advert;
  EXPECT_EQ(r.ip.src, Ip(s.src));
  EXPECT_EQ(r.ip.dst, Ip(s.dst));
  EXPECT_EQ(r.ip.ttl, s.ttl);
  EXPECT_EQ(a.version, s.version);
  EXPECT_EQ(a.vrid, s.vrid);
  EXPECT_EQ(a.priority, s.priority);
  EXPECT_EQ(a.auth_type, s.auth_type);
  EXPECT_EQ(a.max_advert_int_cs, s.advert_int_cs);
  EXPECT_EQ(a.auth, s.auth);
  ASSERT_EQ(a.addresses.size(), s.count);
  for (size_t i = 0; i < a.addresses.size(); ++i) EXPECT_EQ(a.addresses[i], Ip(s.addresses[i]));
  EXPECT_EQ(ChecksumField(MessageOf(s)), s.checksum);

  EXPECT_EQ(Validate(a, r.ip, SampleExpectation(s.version)), DecodeError::kNone);

  // The message alone decodes the same.
  DecodeResult m = DecodeMessage(MessageOf(s), r.ip);
  ASSERT_TRUE(m.ok()) << DecodeErrorName(m.error);
  EXPECT_EQ(*m.advert, a);

  absl::StatusOr<std::string> message = Encode(a, r.ip.src, r.ip.dst);
  ASSERT_TRUE(message.ok()) << message.status();
  EXPECT_EQ(*message, MessageOf(s));
  absl::StatusOr<std::string> whole = EncodeIpv4Packet(a, r.ip.src, r.ip.dst, s.ip_id);
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(*whole, packet);
}

TEST(VrrpPacketTest, AnnotatedKeepalivedSamplesDecodeAndReencodeExactly) {
  for (const Sample& s : samples::kAnnotatedSamples) CheckSample(s);
}

TEST(VrrpPacketTest, EveryPcapFrameDecodesAndReencodesExactly) {
  EXPECT_EQ(std::size(samples::kPcapFrames), 45u);
  for (const Sample& s : samples::kPcapFrames) CheckSample(s);
}

TEST(VrrpPacketTest, SampleChecksumsMatchReferenceComputation) {
  for (const Sample& s : samples::kAnnotatedSamples) {
    SCOPED_TRACE(s.source);
    const IpAddress src = Ip(s.src), dst = Ip(s.dst);
    const bool v3 = s.version == 3;
    EXPECT_EQ(ReferenceChecksum(MessageOf(s), v3 ? &src : nullptr, v3 ? &dst : nullptr), s.checksum);
  }
}

TEST(VrrpPacketTest, V3ChecksumCoversPseudoHeaderAndV2DoesNot) {
  const Sample& v2 = samples::kAnnotatedSamples[0];
  const Sample& v3 = samples::kAnnotatedSamples[2];
  ASSERT_EQ(v2.version, 2);
  ASSERT_EQ(v3.version, 3);
  IpInfo other{Ip("198.51.100.1"), Ip("198.51.100.9"), 255};  // not the sample's destination
  EXPECT_TRUE(DecodeMessage(MessageOf(v2), other).ok());
  EXPECT_EQ(DecodeMessage(MessageOf(v3), other).error, DecodeError::kBadChecksum);
}

TEST(VrrpPacketTest, V2RoundTrips) {
  const IpAddress src = Ip("10.0.0.1"), dst = Ip("224.0.0.18");
  std::vector<Advert> cases;
  Advert a;
  a.version = 2;
  a.vrid = 1;
  a.priority = 255;
  a.max_advert_int_cs = 25500;
  a.auth_type = kAuthPass;
  a.auth = "12345678";  // exactly 8: no NUL at all
  a.addresses = {Ip("10.0.0.100")};
  cases.push_back(a);
  a.auth = std::string("a\0b", 3);  // interior NUL survives
  cases.push_back(a);
  a.auth_type = kAuthNone;
  a.auth = "";
  a.addresses.clear();
  a.max_advert_int_cs = 100;
  cases.push_back(a);
  for (int i = 0; i < 255; ++i) {
    uint32_t words[4] = {htonl(0x0a000000u + static_cast<uint32_t>(i)), 0, 0, 0};
    a.addresses.push_back(IpAddress::FromWords(Family::kV4, words));
  }
  cases.push_back(a);
  for (const Advert& c : cases) {
    absl::StatusOr<std::string> m = Encode(c, src, dst);
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(m->size(), 8 + 4 * c.addresses.size() + 8);
    EXPECT_EQ(ChecksumField(*m), ReferenceChecksum(*m, nullptr, nullptr));
    DecodeResult r = DecodeMessage(*m, IpInfo{src, dst, 255});
    ASSERT_TRUE(r.ok()) << DecodeErrorName(r.error);
    EXPECT_EQ(*r.advert, c);
    absl::StatusOr<std::string> p = EncodeIpv4Packet(c, src, dst, 7);
    ASSERT_TRUE(p.ok());
    DecodeResult rp = DecodeIpv4Packet(*p);
    ASSERT_TRUE(rp.ok()) << DecodeErrorName(rp.error);
    EXPECT_EQ(*rp.advert, c);
    EXPECT_EQ(rp.ip.ttl, 255);
  }
}

TEST(VrrpPacketTest, V3Ipv4RoundTrips) {
  const IpAddress src = Ip("192.0.2.7"), dst = Ip("192.0.2.8");
  Advert a;
  a.version = 3;
  a.vrid = 255;
  a.priority = 1;
  a.max_advert_int_cs = 4095;
  a.addresses = {Ip("192.0.2.100"), Ip("192.0.2.101")};
  absl::StatusOr<std::string> m = Encode(a, src, dst);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->size(), 16u);
  EXPECT_EQ(ChecksumField(*m), ReferenceChecksum(*m, &src, &dst));
  DecodeResult r = DecodeMessage(*m, IpInfo{src, dst, 255});
  ASSERT_TRUE(r.ok()) << DecodeErrorName(r.error);
  EXPECT_EQ(*r.advert, a);
}

TEST(VrrpPacketTest, V3Ipv6RoundTripWithReferenceChecksum) {
  const IpAddress src = Ip("fe80::1"), dst = Ip("ff02::12");
  Advert a;
  a.version = 3;
  a.vrid = 51;
  a.priority = 150;
  a.max_advert_int_cs = 100;
  a.addresses = {Ip("2001:db8::100"), Ip("2001:db8::101"), Ip("fe80::100")};
  absl::StatusOr<std::string> m = Encode(a, src, dst);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->size(), 8u + 3 * 16);
  // The fixed part, spelled out.
  EXPECT_EQ(m->substr(0, 6), std::string("\x31\x33\x96\x03\x00\x64", 6));
  EXPECT_EQ(m->substr(8, 16), Ip("2001:db8::100").bytes());
  EXPECT_EQ(ChecksumField(*m), ReferenceChecksum(*m, &src, &dst));
  EXPECT_NE(ChecksumField(*m), ReferenceChecksum(*m, nullptr, nullptr));

  DecodeResult r = DecodeIpv6Payload(*m, IpInfo{src, dst, 255});
  ASSERT_TRUE(r.ok()) << DecodeErrorName(r.error);
  EXPECT_EQ(*r.advert, a);
  Expectation e;
  e.family = Family::kV6;
  e.version = 3;
  e.vrid = 51;
  EXPECT_EQ(Validate(*r.advert, r.ip, e), DecodeError::kNone);
  // The IPv6 entry refuses IPv4 facts.
  EXPECT_EQ(DecodeIpv6Payload(*m, IpInfo{Ip("192.0.2.1"), Ip("224.0.0.18"), 255}).error,
            DecodeError::kBadAddressFamily);
}

TEST(VrrpPacketTest, EncodeRefusesWhatCannotBeSent) {
  const IpAddress v4 = Ip("10.0.0.1"), v4b = Ip("224.0.0.18"), v6 = Ip("fe80::1"), v6b = Ip("ff02::12");
  Advert good;
  good.version = 3;
  good.vrid = 1;
  good.addresses = {Ip("10.0.0.100")};
  ASSERT_TRUE(Encode(good, v4, v4b).ok());

  Advert a = good;
  a.version = 4;
  EXPECT_FALSE(Encode(a, v4, v4b).ok());
  EXPECT_FALSE(Encode(good, v4, v6b).ok());      // mixed src/dst families
  EXPECT_FALSE(Encode(good, v6, v6b).ok());      // IPv4 VIP in an IPv6 packet
  EXPECT_FALSE(EncodeIpv4Packet(good, v6, v6b, 1).ok());
  a = good;
  a.max_advert_int_cs = 4096;
  EXPECT_FALSE(Encode(a, v4, v4b).ok());
  a = good;
  a.auth_type = kAuthPass;
  EXPECT_FALSE(Encode(a, v4, v4b).ok());  // v3 has no auth
  a = good;
  a.addresses.assign(256, Ip("10.0.0.100"));
  EXPECT_FALSE(Encode(a, v4, v4b).ok());

  Advert v2 = good;
  v2.version = 2;
  v2.auth_type = kAuthPass;
  v2.auth = "secret";
  ASSERT_TRUE(Encode(v2, v4, v4b).ok());
  a = v2;
  a.addresses = {Ip("2001:db8::1")};
  EXPECT_FALSE(Encode(a, v6, v6b).ok());  // v2 is IPv4 only
  a = v2;
  a.max_advert_int_cs = 150;
  EXPECT_FALSE(Encode(a, v4, v4b).ok());
  a.max_advert_int_cs = 25600;
  EXPECT_FALSE(Encode(a, v4, v4b).ok());
  a = v2;
  a.auth = "123456789";
  EXPECT_FALSE(Encode(a, v4, v4b).ok());
}

// --- Malformed input: each rejected, with its reason. -----------------------

const Sample& V2Sample() { return samples::kAnnotatedSamples[0]; }
const Sample& V3Sample() { return samples::kAnnotatedSamples[2]; }
IpInfo SampleIp(const Sample& s, uint8_t ttl = 255) { return IpInfo{Ip(s.src), Ip(s.dst), ttl}; }

TEST(VrrpPacketMalformedTest, ShortPackets) {
  for (const Sample* s : {&V2Sample(), &V3Sample()}) {
    const std::string m = MessageOf(*s);
    for (size_t n = 0; n < m.size(); ++n) {
      DecodeResult r = DecodeMessage(m.substr(0, n), SampleIp(*s));
      EXPECT_FALSE(r.ok());
      EXPECT_FALSE(r.advert.has_value());
      EXPECT_EQ(r.error, n < kHeaderLen ? DecodeError::kTooShort : DecodeError::kBadLength) << n;
    }
    const std::string p = IpPacketOf(*s);
    for (size_t n = 0; n < p.size(); ++n) {
      // Shorter than the IP header, or than its total length.
      EXPECT_EQ(DecodeIpv4Packet(p.substr(0, n)).error, DecodeError::kTooShort) << n;
    }
  }
}

TEST(VrrpPacketMalformedTest, FindVridOfPacketsThatFailToDecode) {
  const Sample& s = V3Sample();
  ASSERT_EQ(s.vrid, 51);
  std::string p = IpPacketOf(s);
  p[kIpv4HeaderLen + 6] = static_cast<char>(p[kIpv4HeaderLen + 6] ^ 1);  // VRRP checksum
  ASSERT_EQ(DecodeIpv4Packet(p).error, DecodeError::kBadChecksum);
  EXPECT_EQ(FindVrid(p, true), std::optional<uint8_t>(51));
  // Past IP options: the IHL says where the message starts.
  std::string with_options =
      p.substr(0, kIpv4HeaderLen) + std::string("\x01\x01\x01\x00", 4) + p.substr(kIpv4HeaderLen);
  with_options[0] = 0x46;
  EXPECT_EQ(FindVrid(with_options, true), std::optional<uint8_t>(51));
  // Cut short: the VRID is there up to the IP header and one byte of VRRP.
  EXPECT_EQ(FindVrid(p.substr(0, kIpv4HeaderLen + 2), true), std::optional<uint8_t>(51));
  EXPECT_EQ(FindVrid(p.substr(0, kIpv4HeaderLen + 1), true), std::nullopt);
  EXPECT_EQ(FindVrid("", true), std::nullopt);
  // An IPv6 payload is the message alone.
  const std::string m = MessageOf(s);
  EXPECT_EQ(FindVrid(m.substr(0, 2), false), std::optional<uint8_t>(51));
  EXPECT_EQ(FindVrid(m.substr(0, 1), false), std::nullopt);
}

TEST(VrrpPacketMalformedTest, BadVersion) {
  for (int version : {0, 1, 4, 6, 15}) {
    std::string m = MessageOf(V3Sample());
    m[0] = static_cast<char>(version << 4 | 1);
    FixChecksum(m, Ip(V3Sample().src), Ip(V3Sample().dst));
    EXPECT_EQ(DecodeMessage(m, SampleIp(V3Sample())).error, DecodeError::kBadVersion) << version;
  }
  // A well-formed v2 advert where we run v3 (and the reverse): policy.
  DecodeResult v2 = DecodeIpv4Packet(IpPacketOf(V2Sample()));
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(Validate(*v2.advert, v2.ip, SampleExpectation(3)), DecodeError::kBadVersion);
  DecodeResult v3 = DecodeIpv4Packet(IpPacketOf(V3Sample()));
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(Validate(*v3.advert, v3.ip, SampleExpectation(2)), DecodeError::kBadVersion);
}

TEST(VrrpPacketMalformedTest, BadType) {
  for (const Sample* s : {&V2Sample(), &V3Sample()}) {
    for (int type : {0, 2, 3, 15}) {
      std::string m = MessageOf(*s);
      m[0] = static_cast<char>((static_cast<uint8_t>(m[0]) & 0xf0) | type);
      FixChecksum(m, Ip(s->src), Ip(s->dst));
      EXPECT_EQ(DecodeMessage(m, SampleIp(*s)).error, DecodeError::kBadType) << type;
    }
  }
}

TEST(VrrpPacketMalformedTest, BadChecksum) {
  for (const Sample* s : {&V2Sample(), &V3Sample()}) {
    const std::string good = MessageOf(*s);
    for (size_t i = 0; i < good.size(); ++i) {
      if (i == 0) continue;  // flipping the version/type nibble fails earlier
      if (i == 3) continue;  // so does the count
      std::string m = good;
      m[i] = static_cast<char>(m[i] ^ 0x01);
      EXPECT_EQ(DecodeMessage(m, SampleIp(*s)).error, DecodeError::kBadChecksum) << i;
    }
    // The IP packet route reports it too.
    std::string p = IpPacketOf(*s);
    p[kIpv4HeaderLen + 7] = static_cast<char>(p[kIpv4HeaderLen + 7] ^ 0x80);
    EXPECT_EQ(DecodeIpv4Packet(p).error, DecodeError::kBadChecksum);
  }
}

TEST(VrrpPacketMalformedTest, CountOfAddressesNotMatchingLength) {
  for (const Sample* s : {&V2Sample(), &V3Sample()}) {
    for (int count : {0, 2, 4, 255}) {
      std::string m = MessageOf(*s);
      m[3] = static_cast<char>(count);
      FixChecksum(m, Ip(s->src), Ip(s->dst));
      EXPECT_EQ(DecodeMessage(m, SampleIp(*s)).error, DecodeError::kBadLength) << count;
    }
    // Trailing bytes inside the IP total length count as a bad length too.
    std::string m = MessageOf(*s) + std::string(4, '\0');
    FixChecksum(m, Ip(s->src), Ip(s->dst));
    EXPECT_EQ(DecodeMessage(m, SampleIp(*s)).error, DecodeError::kBadLength);
  }
  // IPv6: three IPv4-sized addresses are not three IPv6 ones.
  std::string m = MessageOf(V3Sample());
  const IpAddress src = Ip("fe80::1"), dst = Ip("ff02::12");
  FixChecksum(m, src, dst);
  EXPECT_EQ(DecodeIpv6Payload(m, IpInfo{src, dst, 255}).error, DecodeError::kBadLength);
}

TEST(VrrpPacketMalformedTest, TtlNot255) {
  for (const Sample* s : {&V2Sample(), &V3Sample()}) {
    for (int ttl : {0, 1, 64, 254}) {
      std::string p = IpPacketOf(*s);
      p[8] = static_cast<char>(ttl);
      FixIpv4HeaderChecksum(p);
      DecodeResult r = DecodeIpv4Packet(p);
      ASSERT_TRUE(r.ok()) << DecodeErrorName(r.error);  // the codec does not judge
      EXPECT_EQ(r.ip.ttl, ttl);
      EXPECT_EQ(Validate(*r.advert, r.ip, SampleExpectation(s->version)), DecodeError::kBadTtl) << ttl;
    }
  }
}

TEST(VrrpPacketMalformedTest, AuthMismatch) {
  DecodeResult r = DecodeIpv4Packet(IpPacketOf(V2Sample()));
  ASSERT_TRUE(r.ok());
  Expectation e = SampleExpectation(2);
  e.auth = "pzpasx";
  EXPECT_EQ(Validate(*r.advert, r.ip, e), DecodeError::kBadAuth);
  e.auth = "pzpas";
  EXPECT_EQ(Validate(*r.advert, r.ip, e), DecodeError::kBadAuth);
  e.auth = "";
  EXPECT_EQ(Validate(*r.advert, r.ip, e), DecodeError::kBadAuth);
  e = SampleExpectation(2);
  e.auth_type = kAuthNone;
  EXPECT_EQ(Validate(*r.advert, r.ip, e), DecodeError::kBadAuth);
  // Like keepalived, only the first 8 bytes of a long configured secret count.
  e = SampleExpectation(2);
  e.auth = std::string("pzpass\0\0-ignored", 16);
  EXPECT_EQ(Validate(*r.advert, r.ip, e), DecodeError::kNone);

  // A PASS-less advert where we expect PASS.
  Advert none = *r.advert;
  none.auth_type = kAuthNone;
  none.auth.clear();
  EXPECT_EQ(Validate(none, r.ip, SampleExpectation(2)), DecodeError::kBadAuth);
  // With no auth configured, no auth and whatever junk in the field is fine.
  e.auth_type = kAuthNone;
  e.auth = "";
  none.auth = "junk";
  EXPECT_EQ(Validate(none, r.ip, e), DecodeError::kNone);
}

TEST(VrrpPacketMalformedTest, UnknownVrid) {
  for (const Sample* s : {&V2Sample(), &V3Sample()}) {
    DecodeResult r = DecodeIpv4Packet(IpPacketOf(*s));
    ASSERT_TRUE(r.ok());
    Expectation e = SampleExpectation(s->version);
    e.vrid = 52;
    EXPECT_EQ(Validate(*r.advert, r.ip, e), DecodeError::kWrongVrid);
  }
}

TEST(VrrpPacketMalformedTest, IntervalPolicy) {
  DecodeResult r = DecodeIpv4Packet(IpPacketOf(V2Sample()));
  ASSERT_TRUE(r.ok());
  Expectation e = SampleExpectation(2);
  e.v2_advert_int_cs = 200;
  EXPECT_EQ(Validate(*r.advert, r.ip, e), DecodeError::kBadInterval);
  e.v2_advert_int_cs.reset();
  EXPECT_EQ(Validate(*r.advert, r.ip, e), DecodeError::kNone);
  Advert zero = *r.advert;
  zero.max_advert_int_cs = 0;
  EXPECT_EQ(Validate(zero, r.ip, e), DecodeError::kBadInterval);
}

TEST(VrrpPacketMalformedTest, AddressFamilies) {
  // v2 over IPv6.
  std::string m = MessageOf(V2Sample());
  const IpAddress src6 = Ip("fe80::1"), dst6 = Ip("ff02::12");
  EXPECT_EQ(DecodeIpv6Payload(m, IpInfo{src6, dst6, 255}).error, DecodeError::kBadAddressFamily);
  // Source and destination of different families.
  EXPECT_EQ(DecodeMessage(m, IpInfo{Ip("198.51.100.1"), dst6, 255}).error, DecodeError::kBadAddressFamily);
  // An IPv4 advert reaching an IPv6 instance.
  DecodeResult r = DecodeIpv4Packet(IpPacketOf(V3Sample()));
  ASSERT_TRUE(r.ok());
  Expectation e = SampleExpectation(3);
  e.family = Family::kV6;
  EXPECT_EQ(Validate(*r.advert, r.ip, e), DecodeError::kBadAddressFamily);
}

TEST(VrrpPacketMalformedTest, BadIpv4Header) {
  const std::string good = IpPacketOf(V3Sample());
  std::string p = good;
  p[9] = 17;  // UDP
  FixIpv4HeaderChecksum(p);
  EXPECT_EQ(DecodeIpv4Packet(p).error, DecodeError::kNotVrrp);
  p = good;
  p[10] = static_cast<char>(p[10] ^ 1);
  EXPECT_EQ(DecodeIpv4Packet(p).error, DecodeError::kBadIpHeader);
  p = good;
  p[0] = 0x65;  // version 6
  FixIpv4HeaderChecksum(p);
  EXPECT_EQ(DecodeIpv4Packet(p).error, DecodeError::kBadIpHeader);
  p = good;
  p[0] = 0x44;  // IHL 16 bytes
  EXPECT_EQ(DecodeIpv4Packet(p).error, DecodeError::kBadIpHeader);
  p = good;
  p[6] = 0x20;  // more fragments
  FixIpv4HeaderChecksum(p);
  EXPECT_EQ(DecodeIpv4Packet(p).error, DecodeError::kBadIpHeader);
  p = good;
  p[2] = 0;
  p[3] = 10;  // total length inside the header
  FixIpv4HeaderChecksum(p);
  EXPECT_EQ(DecodeIpv4Packet(p).error, DecodeError::kBadIpHeader);
  // DF is fine, and so is padding past the total length.
  p = good;
  p[6] = 0x40;
  FixIpv4HeaderChecksum(p);
  EXPECT_TRUE(DecodeIpv4Packet(p).ok());
  EXPECT_TRUE(DecodeIpv4Packet(good + std::string(6, '\0')).ok());
  // IP options are skipped.
  p = good.substr(0, kIpv4HeaderLen) + std::string("\x01\x01\x01\x00", 4) + good.substr(kIpv4HeaderLen);
  p[0] = 0x46;
  p[3] = static_cast<char>(p[3] + 4);
  FixIpv4HeaderChecksum(p);
  DecodeResult r = DecodeIpv4Packet(p);
  ASSERT_TRUE(r.ok()) << DecodeErrorName(r.error);
  EXPECT_EQ(r.advert->priority, 150);
}

TEST(VrrpPacketMalformedTest, ReasonsHaveDistinctCounterNames) {
  std::set<std::string> names;
  for (int i = 0; i < static_cast<int>(DecodeError::kCount); ++i) {
    std::string name(DecodeErrorName(static_cast<DecodeError>(i)));
    EXPECT_FALSE(name.empty());
    EXPECT_NE(name, "unknown error");
    names.insert(name);
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(DecodeError::kCount));
  EXPECT_EQ(DecodeErrorName(DecodeError::kBadChecksum), "bad checksum");
  EXPECT_EQ(DecodeErrorName(DecodeError::kBadTtl), "bad TTL");
}

// Truncations, bit flips and byte overwrites of real adverts: never a crash,
// every rejection has a reason, and whatever decodes round-trips.
TEST(VrrpPacketMalformedTest, RandomMutationsNeverCrash) {
  std::mt19937 rng(20261122);
  std::array<int, static_cast<size_t>(DecodeError::kCount)> counts{};
  const IpAddress src6 = Ip("fe80::1"), dst6 = Ip("ff02::12");
  auto check = [&](const DecodeResult& r) {
    ASSERT_LT(static_cast<size_t>(r.error), counts.size());
    ++counts[static_cast<size_t>(r.error)];
    ASSERT_EQ(r.ok(), r.advert.has_value());
    if (!r.ok()) return;
    absl::StatusOr<std::string> again = Encode(*r.advert, r.ip.src, r.ip.dst);
    ASSERT_TRUE(again.ok()) << again.status();
    DecodeResult r2 = DecodeMessage(*again, r.ip);
    ASSERT_TRUE(r2.ok()) << DecodeErrorName(r2.error);
    ASSERT_EQ(*r2.advert, *r.advert);
  };
  for (int iter = 0; iter < 10000; ++iter) {
    const Sample& s = samples::kPcapFrames[rng() % std::size(samples::kPcapFrames)];
    std::string p = IpPacketOf(s);
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !p.empty(); ++e) {
      switch (rng() % 4) {
        case 0: p.resize(rng() % (p.size() + 1)); break;
        case 1: p[rng() % p.size()] ^= static_cast<char>(1u << (rng() % 8)); break;
        case 2: p[rng() % p.size()] = static_cast<char>(rng()); break;
        case 3: p.push_back(static_cast<char>(rng())); break;
      }
    }
    if (p.size() >= kIpv4HeaderLen && rng() % 2) FixIpv4HeaderChecksum(p);
    check(DecodeIpv4Packet(p));
    std::string payload = p.size() > kIpv4HeaderLen ? p.substr(kIpv4HeaderLen) : p;
    if (payload.size() >= kHeaderLen && rng() % 2) FixChecksum(payload, src6, dst6);
    check(DecodeIpv6Payload(payload, IpInfo{src6, dst6, static_cast<uint8_t>(rng())}));
  }
  // The loop reached past the IP header checks, both ways.
  EXPECT_GT(counts[static_cast<size_t>(DecodeError::kNone)], 0);
  EXPECT_GT(counts[static_cast<size_t>(DecodeError::kBadChecksum)], 0);
  EXPECT_GT(counts[static_cast<size_t>(DecodeError::kBadLength)], 0);
}

}  // namespace
}  // namespace xlb::vrrp
