// A pure parser of FRR 8.4's `show running-config` text: what xlbd owns (the
// default `router bgp` block's global lines and xlbd's neighbours, the
// XLB-VIPS4/6 prefix-lists, route-map XLB-VIPS-OUT, bfdd's profile xlbd) and the operator's
// neighbours, so that plan.h can diff it against desired.h and detect a clash.
// Samples: testdata/running_config_*.txt (captured by testdata/capture.sh).
#ifndef XLB_CONTROLPLANE_BGP_RUNNING_CONFIG_H_
#define XLB_CONTROLPLANE_BGP_RUNNING_CONFIG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace xlb::bgp {

// Per address family (IPv4 unicast, IPv6 unicast) of one neighbour.
struct RunningNeighborFamily {
  bool active = false;
  bool route_map_out = false;  // `neighbor X route-map XLB-VIPS-OUT out`
  bool next_hop_self = false;
};

struct RunningNeighbor {
  uint32_t remote_as = 0;      // 0: none or `external`/`internal`
  bool xlbd = false;           // `description xlbd`: xlbd's; otherwise the operator's
  std::string password;        // empty: none
  bool bfd = false;
  std::string bfd_profile;     // `neighbor X bfd profile NAME` (implies bfd); empty: none
  int keepalive = -1, hold = -1;  // -1: no `timers` line (FRR's defaults)
  RunningNeighborFamily ipv4, ipv6;
};

struct PrefixListEntry {
  std::string action;  // "permit" or "deny"
  std::string prefix;  // as FRR prints it, e.g. 203.0.113.10/32
};

// bfdd's profile xlbd (`bfd` / ` profile xlbd`); bfdd prints only the
// timers that differ from its defaults, hence these.
struct RunningBfdProfile {
  int transmit_interval = 300;  // ms
  int receive_interval = 300;   // ms
  int detect_multiplier = 3;
};

struct RunningConfig {
  uint32_t local_as = 0;  // 0: no `router bgp` (default VRF)
  std::string router_id;
  bool import_check = true;          // false: `no bgp network import-check`
  bool default_ipv4_unicast = true;  // false: `no bgp default ipv4-unicast`
  std::map<std::string, RunningNeighbor> neighbors;  // every neighbour, by address
  std::set<std::string> networks4, networks6;        // every `network` prefix
  std::map<int, PrefixListEntry> prefix_list4, prefix_list6;  // XLB-VIPS4/6 by seq
  // route-map XLB-VIPS-OUT: seq -> "permit|deny" and its match lines.
  struct RouteMapEntry {
    std::string action;
    std::vector<std::string> matches;  // e.g. "match ip address prefix-list XLB-VIPS4"
  };
  std::map<int, RouteMapEntry> route_map;
  // Absent: no such profile, or bfdd is not running (vtysh then prints no
  // `bfd` block at all). Other profiles and peers are the operator's: not read.
  std::optional<RunningBfdProfile> bfd_profile;
};

// Never fails on lines it does not know (they are the operator's); fails on
// a malformed line of a block it reads (e.g. `router bgp` without a number),
// naming the line.
absl::StatusOr<RunningConfig> ParseRunningConfig(absl::string_view text);

}  // namespace xlb::bgp

#endif  // XLB_CONTROLPLANE_BGP_RUNNING_CONFIG_H_
