// The packets of the through-tunnel health probe (docs/tunnel-design.md,
// "Health through the tunnel"), pure: no sockets. The probe is an ICMP (or
// ICMPv6) echo request from the director's own address to the VIP, whole
// with its IP header: the kernel wraps it (raw IPIP socket, or UDP to the
// GUE port) and sends it to the real, whose decapsulator hands it to its
// stack. The real answers from the VIP, unencapsulated; the reply is read
// from a packet socket (tunnel_probe.h) and checked here.
#ifndef XLB_CONTROLPLANE_HEALTH_TUNNEL_ECHO_H_
#define XLB_CONTROLPLANE_HEALTH_TUNNEL_ECHO_H_

#include <linux/filter.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/address.h"

namespace xlb::health {

struct EchoPacket {
  model::IpAddress source;       // IP source (request: the director's, reply: the VIP)
  model::IpAddress destination;  // IP destination (request: the VIP)
  uint16_t id = 0;
  uint16_t sequence = 0;
  std::string payload;           // the echo's data, returned as is by the real

  bool operator==(const EchoPacket&) const = default;
};

// The echo request as an IP packet (IPv4 + ICMP or IPv6 + ICMPv6, by the
// family of the addresses, which must be the same): TTL / hop limit 64,
// IPv4 DF, checksums filled in.
std::string BuildEchoRequest(const EchoPacket& request);

// An echo reply from its IP header on (what a SOCK_DGRAM packet socket
// gives), or nullopt for anything else: another version, protocol or ICMP
// type, options or extension headers cut short, a fragment, lengths that
// do not fit in `packet`, a wrong checksum. Bytes after the IP total length
// (link-layer padding) are ignored.
std::optional<EchoPacket> ParseEchoReply(std::string_view packet);

// The one reply that answers `request`: from its destination (the VIP) to
// its source, the same id, sequence and payload. Any other is not ours.
EchoPacket ReplyTo(const EchoPacket& request);

// A classic BPF filter for an ETH_P_ALL SOCK_DGRAM packet socket: it keeps
// (its first 512 bytes) the IPv4 ICMP echo replies and IPv6 ICMPv6 echo
// replies (no extension headers) with this `id` that came in (not the
// host's outgoing copies), and drops every other packet in the kernel.
std::vector<sock_filter> EchoReplyFilter(uint16_t id);

}  // namespace xlb::health

#endif  // XLB_CONTROLPLANE_HEALTH_TUNNEL_ECHO_H_
