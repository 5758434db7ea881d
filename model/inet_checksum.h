// The Internet checksum (RFC 1071) of the control plane's own packets (VRRP
// adverts, the through-tunnel health probe): a sum of 16-bit big-endian
// words, folded, with the IPv4 / IPv6 pseudo-header of ICMPv6, VRRPv3, TCP,
// UDP. The data path has its own (bpf/csum.h).
#ifndef XLB_MODEL_INET_CHECKSUM_H_
#define XLB_MODEL_INET_CHECKSUM_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "model/address.h"

namespace xlb::model {

// The one's-complement sum of `s`, unfolded, added to `sum`; an odd
// trailing byte is padded with 0.
inline uint32_t InetSum(std::string_view s, uint32_t sum = 0) {
  size_t i = 0;
  for (; i + 1 < s.size(); i += 2)
    sum += static_cast<uint32_t>(static_cast<uint8_t>(s[i]) << 8 | static_cast<uint8_t>(s[i + 1]));
  if (i < s.size()) sum += static_cast<uint32_t>(static_cast<uint8_t>(s[i])) << 8;
  return sum;
}

inline uint16_t InetFold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// The IPv4 (RFC 768) or IPv6 (RFC 8200 8.1) pseudo-header's sum.
inline uint32_t PseudoHeaderSum(const IpAddress& src, const IpAddress& dst, uint8_t protocol,
                                size_t length) {
  uint32_t sum = InetSum(src.bytes()) + InetSum(dst.bytes()) + protocol;
  // IPv6 has a 32-bit length; our messages never exceed 16 bits anyway.
  return sum + static_cast<uint32_t>(length & 0xffff) + static_cast<uint32_t>(length >> 16);
}

// The checksum field's value over `data` (its field zeroed) after `seed`
// (a pseudo-header's sum, or 0); 0 when verifying data whose field is set.
inline uint16_t InetChecksum(std::string_view data, uint32_t seed = 0) {
  return static_cast<uint16_t>(~InetFold(InetSum(data, seed)));
}

}  // namespace xlb::model

#endif  // XLB_MODEL_INET_CHECKSUM_H_
