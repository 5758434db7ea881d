// libFuzzer target: the VRRP advert decoders. Input: one mode byte, then
//   mode 0/1: an IPv4 packet from the IP header on (DecodeIpv4Packet);
//   mode 2/3: 16 bytes IPv6 source, 16 destination, 1 hop limit, then the
//             VRRP payload (DecodeIpv6Payload).
// Odd modes fill in the checksums first: a fuzzer rarely guesses a checksum,
// and without this it would never get past that check to the rest.
// Whatever decodes must re-encode, and the encoding must decode to the same.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "controlplane/vrrp/packet.h"

namespace {

using xlb::model::Family;
using xlb::model::IpAddress;
using namespace xlb::vrrp;

uint16_t Complement(const std::string& a, size_t from, size_t to, uint32_t sum = 0) {
  for (size_t i = from; i < to; i += 2) {
    sum += static_cast<uint32_t>(static_cast<uint8_t>(a[i]) << 8);
    if (i + 1 < to) sum += static_cast<uint8_t>(a[i + 1]);
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

void Put(std::string& s, size_t i, uint16_t v) {
  s[i] = static_cast<char>(v >> 8);
  s[i + 1] = static_cast<char>(v);
}

// VRRP checksum of message bytes [off, end): v3 with the pseudo-header.
void FixVrrp(std::string& s, size_t off, const IpAddress& src, const IpAddress& dst) {
  if (s.size() < off + kHeaderLen) return;
  s[off + 6] = s[off + 7] = 0;
  uint32_t sum = 0;
  if ((static_cast<uint8_t>(s[off]) >> 4) == 3) {
    std::string pseudo = src.bytes() + dst.bytes();
    const uint32_t len = static_cast<uint32_t>(s.size() - off);
    sum = static_cast<uint16_t>(~Complement(pseudo, 0, pseudo.size())) + kIpProtoVrrp + (len & 0xffff) + (len >> 16);
  }
  Put(s, off + 6, Complement(s, off, s.size(), sum));
}

IpAddress V6At(const uint8_t* p) {
  uint32_t words[4];
  std::memcpy(words, p, 16);
  return IpAddress::FromWords(Family::kV6, words);
}

void Check(const DecodeResult& r) {
  if (r.ok() != r.advert.has_value()) abort();
  if (DecodeErrorName(r.error).empty()) abort();
  if (!r.ok()) return;
  Expectation e;
  e.family = r.ip.src.family();
  e.version = r.advert->version;
  e.vrid = r.advert->vrid;
  e.auth_type = r.advert->auth_type;
  e.auth = r.advert->auth;
  (void)Validate(*r.advert, r.ip, e);

  absl::StatusOr<std::string> again = Encode(*r.advert, r.ip.src, r.ip.dst);
  if (!again.ok()) abort();
  DecodeResult r2 = DecodeMessage(*again, r.ip);
  if (!r2.ok() || !(*r2.advert == *r.advert)) abort();
  if (r.ip.src.is_v4()) {
    absl::StatusOr<std::string> packet = EncodeIpv4Packet(*r.advert, r.ip.src, r.ip.dst, 1);
    if (!packet.ok()) abort();
    DecodeResult r3 = DecodeIpv4Packet(*packet);
    if (!r3.ok() || !(*r3.advert == *r.advert) || r3.ip.ttl != kVrrpTtl) abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0] & 3;
  ++data;
  --size;
  if (mode < 2) {
    std::string p(reinterpret_cast<const char*>(data), size);
    if (mode == 1 && p.size() >= kIpv4HeaderLen) {
      const size_t ihl = (static_cast<uint8_t>(p[0]) & 0x0f) * 4u;
      if (ihl >= kIpv4HeaderLen && ihl <= p.size()) {
        uint32_t src = 0, dst = 0;
        std::memcpy(&src, p.data() + 12, 4);
        std::memcpy(&dst, p.data() + 16, 4);
        const uint32_t s4[4] = {src, 0, 0, 0}, d4[4] = {dst, 0, 0, 0};
        const size_t total = static_cast<size_t>(static_cast<uint8_t>(p[2]) << 8 | static_cast<uint8_t>(p[3]));
        if (total >= ihl && total <= p.size()) {
          std::string message = p.substr(ihl, total - ihl);
          FixVrrp(message, 0, IpAddress::FromWords(Family::kV4, s4), IpAddress::FromWords(Family::kV4, d4));
          p.replace(ihl, total - ihl, message);
        }
        p[10] = p[11] = 0;
        Put(p, 10, Complement(p, 0, ihl));
      }
    }
    Check(DecodeIpv4Packet(p));
  } else {
    if (size < 33) return 0;
    IpInfo ip{V6At(data), V6At(data + 16), data[32]};
    std::string payload(reinterpret_cast<const char*>(data + 33), size - 33);
    if (mode == 3) FixVrrp(payload, 0, ip.src, ip.dst);
    Check(DecodeIpv6Payload(payload, ip));
  }
  return 0;
}
