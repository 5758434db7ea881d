// Telling the link that the virtual addresses moved to us, when we become
// master: gratuitous ARP for IPv4 and unsolicited neighbour advertisements
// for IPv6. No policy: how often and how many bursts (keepalived's
// garp_master_repeat / garp_master_refresh) is for the caller's timers;
// one call sends `count` of each back to back.
//
// IPv4: an ARP request from the interface's MAC to ff:ff:ff:ff:ff:ff with
//   sender IP = target IP = the VIP and target MAC 00:00:00:00:00:00 (what
//   keepalived and RFC 5227 announcements send), over an AF_PACKET socket.
//   Linux neighbours update an existing entry from it (new entries only
//   with arp_accept=1).
// IPv6: an ICMPv6 neighbour advertisement (type 136) to ff02::1 with the
//   Override flag (not Solicited, not Router) and a target link-layer
//   address option carrying our MAC, over a raw ICMPv6 socket bound to the
//   interface with hop limit 255 (RFC 4861 7.1.2 drops anything else); the
//   source is the VIP when it is already on the interface, else whatever
//   the kernel picks. The kernel computes the ICMPv6 checksum.
#ifndef XLB_CONTROLPLANE_VRRP_ANNOUNCE_H_
#define XLB_CONTROLPLANE_VRRP_ANNOUNCE_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/address.h"

namespace xlb::vrrp {

using MacAddress = std::array<uint8_t, 6>;

// The 28-byte ARP packet (no Ethernet
// header) announcing `vip` at `mac`. Exposed for tests.
std::string GratuitousArp(const MacAddress& mac, const model::IpAddress& vip);
// The ICMPv6 message (type 136, checksum 0: the kernel fills it in).
std::string UnsolicitedNeighborAdvert(const MacAddress& mac, const model::IpAddress& vip);


// Sends `count` announcements of every address (IPv4: GARP; IPv6: NA) on
// `ifname`. Tries every address; the first error (naming the interface and
// the address) is returned.
absl::Status Announce(absl::string_view ifname, const std::vector<model::IpAddress>& addresses,
                      int count = 1);

}  // namespace xlb::vrrp

#endif  // XLB_CONTROLPLANE_VRRP_ANNOUNCE_H_
