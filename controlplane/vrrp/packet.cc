#include "controlplane/vrrp/packet.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "model/inet_checksum.h"

namespace xlb::vrrp {
namespace {

using model::Family;
using model::IpAddress;

uint8_t At(absl::string_view s, size_t i) { return static_cast<uint8_t>(s[i]); }
uint16_t Be16(absl::string_view s, size_t i) { return static_cast<uint16_t>(At(s, i) << 8 | At(s, i + 1)); }

void PutBe16(std::string& s, size_t i, uint16_t v) {
  s[i] = static_cast<char>(v >> 8);
  s[i + 1] = static_cast<char>(v & 0xff);
}

// The checksum field's value (zero the field before calling), or the result
// of verifying (0 means valid) when the field is filled in; v3 covers the
// pseudo-header too.
uint16_t Checksum(int version, absl::string_view message, const IpAddress& src, const IpAddress& dst) {
  return model::InetChecksum(
      std::string_view(message.data(), message.size()), version == 3 ? model::PseudoHeaderSum(src, dst, kIpProtoVrrp, message.size()) : 0);
}

IpAddress AddressAt(absl::string_view s, size_t i, Family family) {
  uint32_t words[4] = {};
  std::memcpy(words, s.data() + i, family == Family::kV4 ? 4 : 16);
  return IpAddress::FromWords(family, words);
}

DecodeResult Fail(DecodeError error, const IpInfo& ip) {
  DecodeResult r;
  r.error = error;
  r.ip = ip;
  return r;
}

}  // namespace

absl::string_view DecodeErrorName(DecodeError error) {
  switch (error) {
    case DecodeError::kNone: return "ok";
    case DecodeError::kTooShort: return "too short";
    case DecodeError::kBadIpHeader: return "bad IP header";
    case DecodeError::kNotVrrp: return "not VRRP";
    case DecodeError::kBadVersion: return "bad version";
    case DecodeError::kBadType: return "bad type";
    case DecodeError::kBadLength: return "bad length";
    case DecodeError::kBadChecksum: return "bad checksum";
    case DecodeError::kBadAddressFamily: return "bad address family";
    case DecodeError::kBadTtl: return "bad TTL";
    case DecodeError::kWrongVrid: return "unknown VRID";
    case DecodeError::kBadAuth: return "auth mismatch";
    case DecodeError::kBadInterval: return "bad interval";
    case DecodeError::kTooLong: return "too long";
    case DecodeError::kCount: break;
  }
  return "unknown error";
}

DecodeResult DecodeMessage(absl::string_view m, const IpInfo& ip) {
  if (ip.src.family() != ip.dst.family()) return Fail(DecodeError::kBadAddressFamily, ip);
  const Family family = ip.src.family();
  if (m.size() < kHeaderLen) return Fail(DecodeError::kTooShort, ip);

  Advert a;
  a.version = At(m, 0) >> 4;
  if (a.version != 2 && a.version != 3) return Fail(DecodeError::kBadVersion, ip);
  // RFC 3768 is IPv4 only (keepalived also refuses v2 with IPv6).
  if (a.version == 2 && family != Family::kV4) return Fail(DecodeError::kBadAddressFamily, ip);
  if ((At(m, 0) & 0x0f) != kTypeAdvertisement) return Fail(DecodeError::kBadType, ip);
  a.vrid = At(m, 1);
  a.priority = At(m, 2);
  const size_t count = At(m, 3);
  const size_t address_len = family == Family::kV4 ? 4 : 16;
  // v2 always carries the 8-byte auth data field, whatever the auth type.
  const size_t trailer = a.version == 2 ? kAuthDataLen : 0;
  if (m.size() != kHeaderLen + count * address_len + trailer) return Fail(DecodeError::kBadLength, ip);
  if (Checksum(a.version, m, ip.src, ip.dst) != 0) return Fail(DecodeError::kBadChecksum, ip);

  if (a.version == 2) {
    a.auth_type = At(m, 4);
    a.max_advert_int_cs = static_cast<uint16_t>(At(m, 5) * 100);
  } else {
    // The top 4 bits are reserved: zero on send, ignored on receipt.
    a.max_advert_int_cs = Be16(m, 4) & 0x0fff;
  }
  a.addresses.reserve(count);
  for (size_t i = 0; i < count; ++i) a.addresses.push_back(AddressAt(m, kHeaderLen + i * address_len, family));
  if (a.version == 2) {
    absl::string_view auth = m.substr(kHeaderLen + count * address_len, kAuthDataLen);
    while (!auth.empty() && auth.back() == '\0') auth.remove_suffix(1);
    a.auth = std::string(auth);
  }

  DecodeResult r;
  r.advert = std::move(a);
  r.ip = ip;
  return r;
}

DecodeResult DecodeIpv4Packet(absl::string_view p) {
  IpInfo ip;
  if (p.size() < kIpv4HeaderLen) return Fail(DecodeError::kTooShort, ip);
  const size_t ihl = static_cast<size_t>(At(p, 0) & 0x0f) * 4;
  if (At(p, 0) >> 4 != 4 || ihl < kIpv4HeaderLen) return Fail(DecodeError::kBadIpHeader, ip);
  if (p.size() < ihl) return Fail(DecodeError::kTooShort, ip);
  ip.src = AddressAt(p, 12, Family::kV4);
  ip.dst = AddressAt(p, 16, Family::kV4);
  ip.ttl = At(p, 8);
  const size_t total = Be16(p, 2);
  if (total < ihl) return Fail(DecodeError::kBadIpHeader, ip);
  if (p.size() < total) return Fail(DecodeError::kTooShort, ip);
  if (model::InetChecksum(std::string_view(p.data(), ihl)) != 0) return Fail(DecodeError::kBadIpHeader, ip);
  // The kernel hands raw sockets reassembled packets; a fragment here is
  // not something we can decode.
  if ((Be16(p, 6) & 0x3fff) != 0) return Fail(DecodeError::kBadIpHeader, ip);
  if (At(p, 9) != kIpProtoVrrp) return Fail(DecodeError::kNotVrrp, ip);
  return DecodeMessage(p.substr(ihl, total - ihl), ip);
}

DecodeResult DecodeIpv6Payload(absl::string_view payload, const IpInfo& ip) {
  if (ip.src.is_v4() || ip.dst.is_v4()) return Fail(DecodeError::kBadAddressFamily, ip);
  return DecodeMessage(payload, ip);
}

std::optional<uint8_t> FindVrid(absl::string_view p, bool ipv4_header) {
  constexpr size_t kVridOffset = 1;  // after the version/type byte
  size_t at = kVridOffset;
  if (ipv4_header && !p.empty()) at += static_cast<size_t>(At(p, 0) & 0x0f) * 4;
  if (p.size() <= at) return std::nullopt;
  return At(p, at);
}

DecodeError Validate(const Advert& a, const IpInfo& ip, const Expectation& want) {
  if (ip.src.family() != want.family || ip.dst.family() != want.family) return DecodeError::kBadAddressFamily;
  for (const IpAddress& address : a.addresses) {
    if (address.family() != want.family) return DecodeError::kBadAddressFamily;
  }
  if (ip.ttl != kVrrpTtl) return DecodeError::kBadTtl;
  if (a.version != want.version) return DecodeError::kBadVersion;
  if (a.vrid != want.vrid) return DecodeError::kWrongVrid;
  if (a.version == 2) {
    if (a.auth_type != want.auth_type) return DecodeError::kBadAuth;
    if (a.auth_type != kAuthNone) {
      absl::string_view secret = absl::string_view(want.auth).substr(0, kAuthDataLen);
      while (!secret.empty() && secret.back() == '\0') secret.remove_suffix(1);
      if (a.auth != secret) return DecodeError::kBadAuth;
    }
  }
  // A zero interval would make a backup's Master_Down_Interval just the skew.
  if (a.max_advert_int_cs == 0) return DecodeError::kBadInterval;
  if (a.version == 2 && want.v2_advert_int_cs && a.max_advert_int_cs != *want.v2_advert_int_cs) {
    return DecodeError::kBadInterval;
  }
  return DecodeError::kNone;
}

absl::StatusOr<std::string> Encode(const Advert& a, const IpAddress& src, const IpAddress& dst) {
  if (a.version != 2 && a.version != 3) return absl::InvalidArgumentError(absl::StrCat("VRRP version ", a.version));
  if (src.family() != dst.family()) return absl::InvalidArgumentError("source and destination families differ");
  const Family family = src.family();
  if (a.version == 2 && family != Family::kV4) return absl::InvalidArgumentError("VRRPv2 is IPv4 only");
  if (a.addresses.size() > 255) return absl::InvalidArgumentError("more than 255 addresses");
  for (const IpAddress& address : a.addresses) {
    if (address.family() != family) {
      return absl::InvalidArgumentError(absl::StrCat(address.ToString(), " is not of the packet's family"));
    }
  }
  if (a.version == 2) {
    if (a.max_advert_int_cs % 100 != 0 || a.max_advert_int_cs / 100 > 255) {
      return absl::InvalidArgumentError("VRRPv2 interval must be whole seconds up to 255");
    }
    if (a.auth.size() > kAuthDataLen) return absl::InvalidArgumentError("VRRPv2 auth data is at most 8 bytes");
  } else {
    if (a.max_advert_int_cs > 0x0fff) return absl::InvalidArgumentError("VRRPv3 interval is at most 4095 cs");
    if (a.auth_type != kAuthNone || !a.auth.empty()) return absl::InvalidArgumentError("VRRPv3 has no auth");
  }

  std::string m(kHeaderLen, '\0');
  m[0] = static_cast<char>(a.version << 4 | kTypeAdvertisement);
  m[1] = static_cast<char>(a.vrid);
  m[2] = static_cast<char>(a.priority);
  m[3] = static_cast<char>(a.addresses.size());
  if (a.version == 2) {
    m[4] = static_cast<char>(a.auth_type);
    m[5] = static_cast<char>(a.max_advert_int_cs / 100);
  } else {
    PutBe16(m, 4, a.max_advert_int_cs);
  }
  for (const IpAddress& address : a.addresses) m += address.bytes();
  if (a.version == 2) {
    m += a.auth;
    m.resize(m.size() + kAuthDataLen - a.auth.size(), '\0');
  }
  PutBe16(m, 6, Checksum(a.version, m, src, dst));
  return m;
}

absl::StatusOr<std::string> EncodeIpv4Packet(const Advert& a, const IpAddress& src, const IpAddress& dst,
                                             uint16_t id) {
  if (!src.is_v4() || !dst.is_v4()) return absl::InvalidArgumentError("EncodeIpv4Packet needs IPv4 addresses");
  absl::StatusOr<std::string> message = Encode(a, src, dst);
  if (!message.ok()) return message.status();
  std::string p(kIpv4HeaderLen, '\0');
  p[0] = 0x45;
  p[1] = static_cast<char>(kVrrpTos);
  PutBe16(p, 2, static_cast<uint16_t>(kIpv4HeaderLen + message->size()));
  PutBe16(p, 4, id);
  // Flags/fragment offset stay 0: keepalived does not set DF.
  p[8] = static_cast<char>(kVrrpTtl);
  p[9] = static_cast<char>(kIpProtoVrrp);
  p.replace(12, 4, src.bytes());
  p.replace(16, 4, dst.bytes());
  PutBe16(p, 10, model::InetChecksum(p));
  return p + *message;
}

}  // namespace xlb::vrrp
