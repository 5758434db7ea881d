// VRRP advertisements on the wire: VRRPv3 (RFC 5798, IPv4 and IPv6) and
// VRRPv2 (RFC 3768, IPv4, with the simple-text "PASS" authentication that
// keepalived configs use). A pure codec: no sockets, no clocks.
//
// Receiving is two steps so that each can be tested on its own:
//   1. Decode*: bytes -> Advert. Only what the bytes themselves can prove:
//      length, version, type, address count vs length, checksum (v3's covers
//      the IP pseudo-header, so the IP source and destination are inputs).
//   2. Validate: Advert + IP facts -> accept or reject by local policy
//      (TTL/hop limit 255, the VRID we run, our version, our auth secret).
// Both report a DecodeError, so a receiver counts drops by reason with one
// array indexed by the enum (DecodeErrorName gives the counter's label).
#ifndef XLB_CONTROLPLANE_VRRP_PACKET_H_
#define XLB_CONTROLPLANE_VRRP_PACKET_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/address.h"

namespace xlb::vrrp {

inline constexpr uint8_t kIpProtoVrrp = 112;
// RFC 5798 5.1.1.3 / 5.1.2.3: sent with TTL (hop limit) 255, and anything
// else is dropped on receipt, so an advert cannot come from off-link.
inline constexpr uint8_t kVrrpTtl = 255;
// keepalived sends with IPTOS_PREC_INTERNETCONTROL; the samples show it.
inline constexpr uint8_t kVrrpTos = 0xc0;
inline constexpr uint8_t kTypeAdvertisement = 1;
inline constexpr uint8_t kAuthNone = 0;
inline constexpr uint8_t kAuthPass = 1;  // RFC 2338 "simple text password"
inline constexpr size_t kAuthDataLen = 8;
inline constexpr size_t kHeaderLen = 8;  // the fixed part before the addresses
inline constexpr size_t kIpv4HeaderLen = 20;

struct Advert {
  int version = 3;  // 2 or 3
  uint8_t vrid = 0;
  uint8_t priority = 0;  // 0: the master is resigning
  // Both versions read in centiseconds: v3 carries 12 bits of centiseconds;
  // v2 carries 8 bits of whole seconds, held here as seconds * 100.
  uint16_t max_advert_int_cs = 100;
  // All of one family: IPv4 for v2; for v3 the family of the IP packet.
  std::vector<model::IpAddress> addresses;
  // v2 only (v3 has no authentication). auth holds the 8-byte field without
  // its trailing NULs; it is carried whatever auth_type says so a packet
  // re-encodes byte for byte, and Validate ignores it for kAuthNone.
  uint8_t auth_type = kAuthNone;
  std::string auth;

  bool operator==(const Advert&) const = default;
};

// What the IP header said; the VRRP message does not carry it.
struct IpInfo {
  model::IpAddress src;
  model::IpAddress dst;
  uint8_t ttl = 0;  // IPv4 TTL or IPv6 hop limit (IPV6_RECVHOPLIMIT)
};

enum class DecodeError : uint8_t {
  kNone = 0,
  kTooShort,          // shorter than a header, or than the IP total length
  kBadIpHeader,       // IPv4 header: version, IHL, checksum, fragment
  kNotVrrp,           // IPv4 protocol is not 112
  kBadVersion,        // not 2 or 3, or not the version we run
  kBadType,           // not an advertisement
  kBadLength,         // count of addresses does not match the length
  kBadChecksum,
  kBadAddressFamily,  // v2 over IPv6, src/dst families differ, or not ours
  kBadTtl,            // TTL / hop limit is not 255
  kWrongVrid,         // a VRID we do not run
  kBadAuth,           // v2 auth type or secret differs from ours
  kBadInterval,       // v2 interval differs from ours (RFC 3768 7.1), or 0
  kTooLong,           // longer than any advert (the receive buffer): truncated
  kCount,             // number of values, for counter arrays
};

// A short lower-case label for counters and logs: "bad checksum", "bad TTL".
absl::string_view DecodeErrorName(DecodeError error);

struct DecodeResult {
  DecodeError error = DecodeError::kNone;
  std::optional<Advert> advert;  // set iff error == kNone
  // The IP facts used; for DecodeIpv4Packet, whatever of the header parsed.
  IpInfo ip;

  bool ok() const { return error == DecodeError::kNone; }
};

// The VRRP message alone (the IP payload). ip.src and ip.dst must be of one
// family, which also decides the address size (v2 is IPv4 only); ip.ttl is
// only copied into the result (Validate checks it).
DecodeResult DecodeMessage(absl::string_view message, const IpInfo& ip);

// A whole IPv4 packet from the IP header on, as a raw IPPROTO_VRRP socket
// delivers it on Linux. Bytes past the IP total length (Ethernet padding)
// are ignored.
DecodeResult DecodeIpv4Packet(absl::string_view packet);

// IPv6 raw sockets deliver the payload only; the addresses come from
// recvmsg's name and IPV6_PKTINFO, the hop limit from IPV6_RECVHOPLIMIT.
// Requires ip.src/ip.dst to be IPv6.
DecodeResult DecodeIpv6Payload(absl::string_view payload, const IpInfo& ip);

// What a packet that failed to decode still tells: its VRID byte, when the
// bytes reach that far, so that a receiver counts the drop against the
// virtual router it names. `packet` is what was given to DecodeIpv4Packet
// (ipv4_header: the message starts where the IPv4 header's IHL says) or to
// DecodeIpv6Payload. Nothing else is checked: the byte may be garbage.
std::optional<uint8_t> FindVrid(absl::string_view packet, bool ipv4_header);

// Local policy for one virtual router we run.
struct Expectation {
  model::Family family = model::Family::kV4;
  int version = 3;
  uint8_t vrid = 0;
  // v2 only: what our config says; auth is compared as the field is on the
  // wire (trailing NULs dropped, at most 8 bytes, as keepalived truncates).
  uint8_t auth_type = kAuthNone;
  std::string auth;
  // v2 only: RFC 3768 7.1 drops adverts whose interval differs from ours.
  // v3 backups adopt the master's interval instead, so it is not checked.
  std::optional<uint16_t> v2_advert_int_cs;
};

// kNone if the decoded advert may be acted upon. Checks, in this order:
// family, TTL, version, VRID, auth (v2), interval (non-zero; v2 equal).
DecodeError Validate(const Advert& advert, const IpInfo& ip, const Expectation& expected);

// The VRRP message (IP payload) with its checksum: v2 over the message only,
// v3 over the IPv4/IPv6 pseudo-header too. Fails on what cannot be encoded:
// a version other than 2/3, v2 with IPv6, mixed families, more than 255
// addresses, an interval out of range (v2: not whole seconds or > 255 s;
// v3: > 4095 cs), an auth field over 8 bytes.
absl::StatusOr<std::string> Encode(const Advert& advert, const model::IpAddress& src,
                                   const model::IpAddress& dst);

// The full IPv4 packet as keepalived sends it: TOS 0xc0, no fragment flags,
// TTL 255, protocol 112. `id` is the IP identification (keepalived counts up
// from 1 per socket).
absl::StatusOr<std::string> EncodeIpv4Packet(const Advert& advert, const model::IpAddress& src,
                                             const model::IpAddress& dst, uint16_t id);

}  // namespace xlb::vrrp

#endif  // XLB_CONTROLPLANE_VRRP_PACKET_H_
