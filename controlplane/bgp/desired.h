// What xlbd wants in FRR's bgpd (docs/bgp-design.md "What xlbd owns"): plain
// structs, filled from the `bgp:` config and the VIPs' health, compared with
// the running config by plan.h.
#ifndef XLB_CONTROLPLANE_BGP_DESIRED_H_
#define XLB_CONTROLPLANE_BGP_DESIRED_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace xlb::bgp {

// Names of what xlbd owns in FRR, so that it never touches the operator's lines.
inline constexpr char kPrefixList4[] = "XLB-VIPS4";
inline constexpr char kPrefixList6[] = "XLB-VIPS6";
inline constexpr char kRouteMap[] = "XLB-VIPS-OUT";
inline constexpr char kDescription[] = "xlbd";  // `neighbor X description xlbd`
// bfdd's `bfd` / ` profile xlbd`: the timers of the neighbours with bfd
// (`neighbor X bfd profile xlbd`). The operator's other profiles are theirs.
inline constexpr char kBfdProfile[] = "xlbd";

// The BFD timers of profile kBfdProfile. Defaults: bfdd's (300 ms x 3).
struct DesiredBfd {
  int interval_ms = 300;  // transmit-interval and receive-interval, 10..60000
  int multiplier = 3;     // detect-multiplier, 2..255

  bool operator==(const DesiredBfd&) const = default;
};

struct DesiredNeighbor {
  std::string address;   // IPv4 or IPv6; its family is the one it is activated in
  uint32_t remote_as = 0;
  std::string password;  // empty: none (TCP MD5 off)
  bool bfd = true;  // with the timers of Desired::bfd
  int keepalive = 3;  // seconds
  int hold = 9;
  bool next_hop_self = false;

  bool operator==(const DesiredNeighbor&) const = default;
};

struct Desired {
  uint32_t local_as = 0;
  std::string router_id;  // empty: bgpd chooses
  std::vector<DesiredNeighbor> neighbors;
  DesiredBfd bfd;  // for the neighbours with bfd
  // Every VIP xlbd owns (addresses, IPv4 or IPv6): the entries of the
  // prefix-lists XLB-VIPS4/6, announced or not.
  std::set<std::string> vips;
  // The subset announced now (`network VIP/32|/128`); empty when drained.
  std::set<std::string> announce;
  // Another subset, disjoint from announce, whose `network` is left as bgpd
  // has it (a VIP xlbd has no verdict on yet, wanted.h). Empty when drained.
  std::set<std::string> keep;

  bool operator==(const Desired&) const = default;
};

}  // namespace xlb::bgp

#endif  // XLB_CONTROLPLANE_BGP_DESIRED_H_
