// Builds frames byte by byte: Ethernet (+802.1Q), IPv4 (with options,
// fragments) or IPv6 (with a fragment or hop-by-hop header), TCP, UDP, ICMP
// errors. Checksums are computed from scratch here, independently of any
// incremental routine in the program. The packet tests build their frames
// with it, and so does a trace (dataplane/trace.h): a trace's frame is one
// the tests have run through the program.
#ifndef XLB_DATAPLANE_FRAME_BUILDER_H_
#define XLB_DATAPLANE_FRAME_BUILDER_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "model/address.h"

namespace xlb::dataplane::frames {

using Mac = std::array<uint8_t, 6>;

inline constexpr uint8_t kTcp = 6, kUdp = 17, kIcmp = 1, kIcmp6 = 58, kVrrp = 112;
inline constexpr uint8_t kSyn = 0x02, kAck = 0x10, kFin = 0x01, kRst = 0x04, kPsh = 0x08;

struct Frame {
  Mac dst{0x02, 0, 0, 0, 0, 0xd1};  // the director
  Mac src{0x02, 0, 0, 0, 0, 0xc1};  // the client
  std::optional<uint16_t> vlan;     // one 802.1Q tag
  bool second_vlan = false;         // a second (QinQ) tag inside the first
  model::IpAddress saddr, daddr;
  uint8_t proto = kTcp;
  uint16_t sport = 40000, dport = 80;
  uint8_t tcp_flags = kSyn;
  uint32_t tcp_seq = 1000;
  uint32_t tcp_ack = 2000;          // written when tcp_flags has kAck, else 0
  uint8_t ttl = 64;                 // IPv4 TTL / IPv6 hop limit
  uint8_t tos = 0;                  // IPv4 TOS / IPv6 traffic class: DSCP << 2 | ECN
  uint16_t ipv4_id = 0x1234;
  std::string ipv4_options;         // multiple of 4 bytes, at most 40
  uint16_t ipv4_frag = 0;           // flags (MF 0x2000) | offset, host order
  bool ipv6_fragment_header = false;
  bool ipv6_hop_by_hop = false;
  bool udp_no_checksum = false;     // IPv4 UDP checksum 0 ("none")
  std::string tcp_options;          // after the 20-byte TCP header, multiple of 4 bytes
  std::string l4_payload = "xlb";   // after the TCP/UDP header
  std::string raw_l4;               // if set: the whole L4 part (proto as given)
};

// The frame as bytes, checksums filled in.
std::string Build(const Frame& f);

// From byte 14 (or 18 with a tag): the IP packet of a frame.
std::string IpPart(const Frame& f);

// An ICMP (IPv4: type 3 code 4, MTU `mtu`) or ICMPv6 (type 2) error quoting
// `quoted` (an IP packet), as raw_l4 for a Frame.
std::string IcmpPmtuError(const std::string& quoted, bool v6, uint16_t mtu,
                          const model::IpAddress& src, const model::IpAddress& dst);

// Same frame with other Ethernet addresses.
std::string WithMacs(std::string frame, const Mac& dst, const Mac& src);

// Internet checksum of `data` (optionally seeded with a pseudo-header sum).
uint16_t InetChecksum(const std::string& data, uint32_t seed = 0);

}  // namespace xlb::dataplane::frames

#endif  // XLB_DATAPLANE_FRAME_BUILDER_H_
