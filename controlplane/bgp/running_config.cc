#include "controlplane/bgp/running_config.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "controlplane/bgp/desired.h"

namespace xlb::bgp {
namespace {

enum class Block {
  kTop, kBgp, kBgpOther, kFamily4, kFamily6, kFamilyOther, kRouteMap,
  kBfd, kBfdProfile, kBfdOther,  // `bfd`, its ` profile xlbd`, its other profiles and peers
  kOther
};

absl::Status Malformed(int lineno, absl::string_view line) {
  return absl::InvalidArgumentError(
      absl::StrCat("show running-config line ", lineno, ": cannot read '", line, "'"));
}

}  // namespace

absl::StatusOr<RunningConfig> ParseRunningConfig(absl::string_view text) {
  RunningConfig rc;
  Block block = Block::kTop;
  int route_map_seq = -1;
  int lineno = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const bool indented = !line.empty() && line[0] == ' ';
    const std::vector<absl::string_view> w = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (w.empty() || w[0] == "!") continue;
    if (!indented) {
      // A top-level line ends any block (`exit` closes one explicitly).
      block = Block::kTop;
      if (w[0] == "router" && w.size() >= 2 && w[1] == "bgp") {
        if (w.size() == 2) return Malformed(lineno, line);
        if (w.size() > 3) {  // `router bgp N vrf NAME`: not xlbd's
          block = Block::kBgpOther;
          continue;
        }
        if (!absl::SimpleAtoi(w[2], &rc.local_as) || rc.local_as == 0) {
          return Malformed(lineno, line);
        }
        block = Block::kBgp;
      } else if ((w[0] == "ip" || w[0] == "ipv6") && w.size() == 7 && w[1] == "prefix-list" &&
                 w[2] == (w[0] == "ip" ? kPrefixList4 : kPrefixList6) && w[3] == "seq") {
        int seq;
        if (!absl::SimpleAtoi(w[4], &seq)) return Malformed(lineno, line);
        auto& list = w[0] == "ip" ? rc.prefix_list4 : rc.prefix_list6;
        list[seq] = PrefixListEntry{std::string(w[5]), std::string(w[6])};
      } else if (w[0] == "route-map" && w.size() == 4 && w[1] == kRouteMap) {
        if (!absl::SimpleAtoi(w[3], &route_map_seq)) return Malformed(lineno, line);
        rc.route_map[route_map_seq].action = std::string(w[2]);
        block = Block::kRouteMap;
      } else if (w.size() == 1 && w[0] == "bfd") {
        block = Block::kBfd;
      } else if (w[0] != "exit" && w[0] != "end") {
        block = Block::kOther;
      }
      continue;
    }
    switch (block) {
      case Block::kBfd:
        if (w[0] == "profile" && w.size() == 2 && w[1] == kBfdProfile) {
          rc.bfd_profile.emplace();
          block = Block::kBfdProfile;
        } else if (w[0] != "exit") {
          block = Block::kBfdOther;  // ` profile OTHER` or ` peer ...` until its ` exit`
        }
        break;
      case Block::kBfdOther:
      case Block::kBfdProfile:
        if (w[0] == "exit") {
          block = Block::kBfd;
        } else if (block == Block::kBfdProfile && w.size() == 2) {
          int* timer = w[0] == "transmit-interval"   ? &rc.bfd_profile->transmit_interval
                       : w[0] == "receive-interval"  ? &rc.bfd_profile->receive_interval
                       : w[0] == "detect-multiplier" ? &rc.bfd_profile->detect_multiplier
                                                     : nullptr;
          if (timer != nullptr && !absl::SimpleAtoi(w[1], timer)) return Malformed(lineno, line);
        }
        break;
      case Block::kRouteMap:
        if (w[0] == "match") rc.route_map[route_map_seq].matches.push_back(absl::StrJoin(w, " "));
        break;
      case Block::kBgp:
        if (w[0] == "address-family" && w.size() >= 3) {
          block = w[1] == "ipv4" && w[2] == "unicast"   ? Block::kFamily4
                  : w[1] == "ipv6" && w[2] == "unicast" ? Block::kFamily6
                                                        : Block::kFamilyOther;
        } else if (w.size() == 3 && w[0] == "bgp" && w[1] == "router-id") {
          rc.router_id = std::string(w[2]);
        } else if (absl::StrJoin(w, " ") == "no bgp network import-check") {
          rc.import_check = false;
        } else if (absl::StrJoin(w, " ") == "no bgp default ipv4-unicast") {
          rc.default_ipv4_unicast = false;
        } else if (w[0] == "neighbor" && w.size() >= 3) {
          RunningNeighbor& n = rc.neighbors[std::string(w[1])];
          if (w[2] == "remote-as" && w.size() == 4) {
            // `external`/`internal` stay 0: never what xlbd sets.
            if (!absl::SimpleAtoi(w[3], &n.remote_as)) n.remote_as = 0;
            n.ipv4.active = rc.default_ipv4_unicast;  // until the family says otherwise
          } else if (w[2] == "description") {
            n.xlbd = w.size() == 4 && w[3] == kDescription;
          } else if (w[2] == "bfd" && w.size() == 3) {
            n.bfd = true;
          } else if (w[2] == "bfd" && w.size() == 5 && w[3] == "profile") {
            n.bfd = true;
            n.bfd_profile = std::string(w[4]);
          } else if (w[2] == "password" && w.size() == 4) {
            n.password = std::string(w[3]);
          } else if (w[2] == "timers" && w.size() == 5) {
            if (!absl::SimpleAtoi(w[3], &n.keepalive) || !absl::SimpleAtoi(w[4], &n.hold)) {
              return Malformed(lineno, line);
            }
          }
        }
        break;
      case Block::kFamily4:
      case Block::kFamily6:
      case Block::kFamilyOther:
        if (w[0] == "exit-address-family") {
          block = Block::kBgp;
          break;
        }
        if (block == Block::kFamilyOther) break;
        {
          const bool v4 = block == Block::kFamily4;
          if (w[0] == "network" && w.size() >= 2) {
            (v4 ? rc.networks4 : rc.networks6).insert(std::string(w[1]));
            break;
          }
          const bool no = w[0] == "no";
          const size_t at = no ? 1 : 0;
          if (w.size() < at + 3 || w[at] != "neighbor") break;
          RunningNeighbor& n = rc.neighbors[std::string(w[at + 1])];
          RunningNeighborFamily& f = v4 ? n.ipv4 : n.ipv6;
          if (w[at + 2] == "activate") {
            f.active = !no;
          } else if (!no && w[at + 2] == "next-hop-self" && w.size() == at + 3) {
            f.next_hop_self = true;
          } else if (!no && w[at + 2] == "route-map" && w.size() == at + 5 &&
                     w[at + 3] == kRouteMap && w[at + 4] == "out") {
            f.route_map_out = true;
          }
        }
        break;
      default:
        break;
    }
  }
  return rc;
}

}  // namespace xlb::bgp
