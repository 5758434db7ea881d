#include "controlplane/bgp/plan.h"

#include <arpa/inet.h>

#include <algorithm>
#include <map>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace xlb::bgp {
namespace {

bool IsV6(const std::string& prefix) { return absl::StrContains(prefix, ':'); }

absl::StatusOr<std::string> CanonicalAddress(const std::string& address, const char* what) {
  unsigned char buf[16];
  char text[INET6_ADDRSTRLEN];
  const int family = IsV6(address) ? AF_INET6 : AF_INET;
  if (inet_pton(family, address.c_str(), buf) != 1 ||
      inet_ntop(family, buf, text, sizeof(text)) == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(what, " '", address, "' is not an IP address"));
  }
  return std::string(text);
}

// What one family's `address-family` block gets.
struct Family {
  std::vector<std::string> lines;
};

void Emit(std::vector<std::string>& out, const std::string& header, const Family& ipv4,
          const Family& ipv6, const std::vector<std::string>& global) {
  if (global.empty() && ipv4.lines.empty() && ipv6.lines.empty()) return;
  out.push_back(header);
  out.insert(out.end(), global.begin(), global.end());
  for (const auto& [name, family] : {std::pair{"ipv4", &ipv4}, std::pair{"ipv6", &ipv6}}) {
    if (family->lines.empty()) continue;
    out.push_back(absl::StrCat("address-family ", name, " unicast"));
    out.insert(out.end(), family->lines.begin(), family->lines.end());
    out.push_back("exit-address-family");
  }
  out.push_back("exit");
}

}  // namespace

absl::StatusOr<std::string> HostPrefix(const std::string& address) {
  absl::StatusOr<std::string> canonical = CanonicalAddress(address, "VIP");
  if (!canonical.ok()) return canonical.status();
  return absl::StrCat(*canonical, IsV6(*canonical) ? "/128" : "/32");
}

absl::StatusOr<std::vector<std::string>> Plan(const RunningConfig& running,
                                              const Desired& desired) {
  // Check everything first: an error plans nothing.
  if (desired.local_as == 0) return absl::InvalidArgumentError("bgp.local_as is not set");
  if (running.local_as != 0 && running.local_as != desired.local_as) {
    return absl::FailedPreconditionError(
        absl::StrCat("bgp.local_as ", desired.local_as, ": bgpd already runs AS ",
                     running.local_as, " (xlbd does not change it)"));
  }
  std::string router_id;
  if (!desired.router_id.empty()) {
    absl::StatusOr<std::string> id = CanonicalAddress(desired.router_id, "bgp.router_id");
    if (!id.ok()) return id.status();
    if (IsV6(*id)) return absl::InvalidArgumentError("bgp.router_id must be an IPv4 address");
    router_id = *id;
  }
  std::map<std::string, DesiredNeighbor> neighbors;  // by canonical address
  for (const DesiredNeighbor& n : desired.neighbors) {
    absl::StatusOr<std::string> address = CanonicalAddress(n.address, "bgp neighbor");
    if (!address.ok()) return address.status();
    const std::string where = absl::StrCat("bgp neighbor ", *address, ": ");
    if (n.remote_as == 0) return absl::InvalidArgumentError(where + "remote AS is not set");
    for (char c : n.password) {
      if (absl::ascii_isspace(static_cast<unsigned char>(c)) || !absl::ascii_isprint(c)) {
        return absl::InvalidArgumentError(where + "the password must be printable, without spaces");
      }
    }
    if (n.keepalive < 0 || n.hold < 0 || (n.hold != 0 && n.hold < 3) || n.keepalive > 65535 ||
        n.hold > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(where, "timers ", n.keepalive, " ", n.hold,
                                                     ": keepalive 0-65535, hold 0 or 3-65535"));
    }
    auto it = running.neighbors.find(*address);
    if (it != running.neighbors.end() && !it->second.xlbd) {
      return absl::FailedPreconditionError(
          where + "configured in FRR by the operator (no `description xlbd`); xlbd leaves it alone");
    }
    if (!neighbors.emplace(*address, n).second) {
      return absl::InvalidArgumentError(where + "listed twice");
    }
  }
  const bool bfd_used = std::any_of(desired.neighbors.begin(), desired.neighbors.end(),
                                    [](const DesiredNeighbor& n) { return n.bfd; });
  if (desired.bfd.interval_ms < 10 || desired.bfd.interval_ms > 60000) {
    return absl::InvalidArgumentError(
        absl::StrCat("bgp.bfd.interval ", desired.bfd.interval_ms, "ms: 10ms..60000ms"));
  }
  if (desired.bfd.multiplier < 2 || desired.bfd.multiplier > 255) {
    return absl::InvalidArgumentError(
        absl::StrCat("bgp.bfd.multiplier ", desired.bfd.multiplier, ": 2..255"));
  }
  std::set<std::string> vips4, vips6, announce4, announce6, keep;  // host prefixes
  for (const std::string& vip : desired.vips) {
    absl::StatusOr<std::string> p = HostPrefix(vip);
    if (!p.ok()) return p.status();
    (IsV6(*p) ? vips6 : vips4).insert(*p);
  }
  for (const std::string& vip : desired.announce) {
    absl::StatusOr<std::string> p = HostPrefix(vip);
    if (!p.ok()) return p.status();
    if (!(IsV6(*p) ? vips6 : vips4).contains(*p)) {
      return absl::InvalidArgumentError(absl::StrCat("announced VIP ", vip, " is not a bgp VIP"));
    }
    (IsV6(*p) ? announce6 : announce4).insert(*p);
  }
  for (const std::string& vip : desired.keep) {
    absl::StatusOr<std::string> p = HostPrefix(vip);
    if (!p.ok()) return p.status();
    if (!(IsV6(*p) ? vips6 : vips4).contains(*p) || announce4.contains(*p) || announce6.contains(*p)) {
      return absl::InvalidArgumentError(
          absl::StrCat("kept VIP ", vip, " is not a bgp VIP, or is announced too"));
    }
    keep.insert(*p);
  }

  const std::string router_bgp = absl::StrCat("router bgp ", desired.local_as);
  std::vector<std::string> out;
  // Removals. Networks xlbd owns: in one of its prefix-lists, or a VIP.
  {
    std::vector<std::string> global;
    Family f4, f6;
    for (const auto& [address, n] : running.neighbors) {
      if (n.xlbd && !neighbors.contains(address)) global.push_back("no neighbor " + address);
    }
    auto owned = [](const std::map<int, PrefixListEntry>& list, const std::set<std::string>& vips,
                    const std::string& prefix) {
      if (vips.contains(prefix)) return true;
      for (const auto& [seq, e] : list) {
        if (e.prefix == prefix) return true;
      }
      return false;
    };
    for (const std::string& p : running.networks4) {
      if (owned(running.prefix_list4, vips4, p) && !announce4.contains(p) && !keep.contains(p)) {
        f4.lines.push_back("no network " + p);
      }
    }
    for (const std::string& p : running.networks6) {
      if (owned(running.prefix_list6, vips6, p) && !announce6.contains(p) && !keep.contains(p)) {
        f6.lines.push_back("no network " + p);
      }
    }
    if (running.local_as != 0) Emit(out, router_bgp, f4, f6, global);
    for (const auto& [ip, name, list, vips] :
         {std::tuple{"ip", kPrefixList4, &running.prefix_list4, &vips4},
          std::tuple{"ipv6", kPrefixList6, &running.prefix_list6, &vips6}}) {
      for (const auto& [seq, e] : *list) {
        if (e.action != "permit" || !vips->contains(e.prefix)) {
          out.push_back(absl::StrCat("no ", ip, " prefix-list ", name, " seq ", seq, " ",
                                     e.action, " ", e.prefix));
        }
      }
    }
    for (const auto& [seq, e] : running.route_map) {
      if (seq != 10 && seq != 20) out.push_back(absl::StrCat("no route-map ", kRouteMap, " ", e.action, " ", seq));
    }
  }
  // Additions: the prefix-lists and the route-map before any `network`.
  for (const auto& [ip, name, list, vips] :
       {std::tuple{"ip", kPrefixList4, &running.prefix_list4, &vips4},
        std::tuple{"ipv6", kPrefixList6, &running.prefix_list6, &vips6}}) {
    for (const std::string& p : *vips) {
      bool present = false;
      for (const auto& [seq, e] : *list) present |= e.action == "permit" && e.prefix == p;
      if (!present) out.push_back(absl::StrCat(ip, " prefix-list ", name, " permit ", p));
    }
  }
  for (const auto& [seq, match] :
       {std::pair{10, absl::StrCat("match ip address prefix-list ", kPrefixList4)},
        std::pair{20, absl::StrCat("match ipv6 address prefix-list ", kPrefixList6)}}) {
    auto it = running.route_map.find(seq);
    if (it != running.route_map.end() && it->second.action == "permit" &&
        it->second.matches == std::vector<std::string>{match}) {
      continue;
    }
    const std::string entry = absl::StrCat("route-map ", kRouteMap, " permit ", seq);
    if (it != running.route_map.end()) {
      out.push_back(absl::StrCat("no route-map ", kRouteMap, " ", it->second.action, " ", seq));
    }
    out.insert(out.end(), {entry, match, "exit"});
  }
  // bfdd's profile, before the neighbours that name it (after the removals:
  // with bfdd down, `bfd` fails, "bfdd is not running", and withdrawals must
  // not depend on bfdd). Only while a neighbour uses it: a configuration
  // without bfd does not need bfdd. A profile no neighbour uses stays as it
  // is: alone it does nothing, and removing it would silently put an
  // operator's neighbour that names it back on bfdd's defaults.
  bool bfd_profile_created = false;
  if (bfd_used) {
    const RunningBfdProfile r = running.bfd_profile.value_or(RunningBfdProfile{});
    std::vector<std::string> timers;
    // A new profile gets every timer (bfdd's defaults are not assumed).
    const bool is_new = !running.bfd_profile.has_value();
    if (is_new || r.transmit_interval != desired.bfd.interval_ms) {
      timers.push_back(absl::StrCat("transmit-interval ", desired.bfd.interval_ms));
    }
    if (is_new || r.receive_interval != desired.bfd.interval_ms) {
      timers.push_back(absl::StrCat("receive-interval ", desired.bfd.interval_ms));
    }
    if (is_new || r.detect_multiplier != desired.bfd.multiplier) {
      timers.push_back(absl::StrCat("detect-multiplier ", desired.bfd.multiplier));
    }
    if (!timers.empty()) {
      out.insert(out.end(), {"bfd", absl::StrCat("profile ", kBfdProfile)});
      out.insert(out.end(), timers.begin(), timers.end());
      out.insert(out.end(), {"exit", "exit"});
    }
    bfd_profile_created = is_new;
  }
  std::vector<std::string> global;
  Family f4, f6;
  if (!router_id.empty() && running.router_id != router_id) {
    global.push_back("bgp router-id " + router_id);
  }
  if (running.import_check || running.local_as == 0) global.push_back("no bgp network import-check");
  for (const auto& [address, d] : neighbors) {
    auto it = running.neighbors.find(address);
    const bool is_new = it == running.neighbors.end();
    RunningNeighbor r = is_new ? RunningNeighbor{} : it->second;
    const std::string nb = "neighbor " + address + " ";
    if (is_new || r.remote_as != d.remote_as) global.push_back(absl::StrCat(nb, "remote-as ", d.remote_as));
    if (is_new) global.push_back(nb + "description " + kDescription);
    if (d.password != r.password) {
      global.push_back(d.password.empty() ? "no " + nb + "password" : nb + "password " + d.password);
    }
    // `bfd profile` alone turns BFD on, and on a neighbour with `bfd` it
    // changes the timers without a reset; `no neighbor X bfd` drops both
    // lines (and resets the session once). A profile created after the
    // binding is not applied to the session (measured, FRR 8.4.4) until the
    // binding is given again: hence also when the profile is new.
    if (d.bfd && (!r.bfd || r.bfd_profile != kBfdProfile || bfd_profile_created)) {
      global.push_back(absl::StrCat(nb, "bfd profile ", kBfdProfile));
    } else if (!d.bfd && r.bfd) {
      global.push_back("no " + nb + "bfd");
    }
    if (d.keepalive != r.keepalive || d.hold != r.hold) {
      global.push_back(absl::StrCat(nb, "timers ", d.keepalive, " ", d.hold));
    }
    const bool v6 = IsV6(address);
    Family& own = v6 ? f6 : f4;
    Family& other = v6 ? f4 : f6;
    const RunningNeighborFamily& rown = v6 ? r.ipv6 : r.ipv4;
    const RunningNeighborFamily& rother = v6 ? r.ipv4 : r.ipv6;
    // A new neighbour is active in IPv4 unless bgpd runs `no bgp default
    // ipv4-unicast`: say it in both families.
    if (is_new || !rown.active) own.lines.push_back(nb + "activate");
    if (is_new || rother.active) other.lines.push_back("no " + nb + "activate");
    if (!rown.route_map_out) own.lines.push_back(absl::StrCat(nb, "route-map ", kRouteMap, " out"));
    if (d.next_hop_self != rown.next_hop_self) {
      own.lines.push_back(d.next_hop_self ? nb + "next-hop-self" : "no " + nb + "next-hop-self");
    }
  }
  for (const std::string& p : announce4) {
    if (!running.networks4.contains(p)) f4.lines.push_back("network " + p);
  }
  for (const std::string& p : announce6) {
    if (!running.networks6.contains(p)) f6.lines.push_back("network " + p);
  }
  Emit(out, router_bgp, f4, f6, global);
  if (out.empty()) return out;
  out.insert(out.begin(), "configure terminal");
  return out;
}

}  // namespace xlb::bgp
