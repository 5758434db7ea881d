#include "controlplane/bgp/wanted.h"

#include <chrono>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"

namespace xlb::bgp {
namespace {

int Seconds(config::Duration d) {
  return static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

}  // namespace

std::vector<VipVerdict> JudgeVips(const config::BgpConfig& bgp,
                                  const std::vector<ServiceVerdicts>& services, bool sync_ready) {
  std::map<model::IpAddress, VipVerdict> vips;
  if (!bgp.announce.empty()) {
    for (const model::IpAddress& vip : bgp.announce) vips[vip] = VipVerdict{vip, false, true};
  } else {
    for (const ServiceVerdicts& s : services) vips[s.vip] = VipVerdict{s.vip, false, true};
  }
  for (const ServiceVerdicts& s : services) {
    auto it = vips.find(s.vip);
    if (it == vips.end()) continue;  // not in announce:
    for (const RealVerdict& r : s.reals) {
      it->second.healthy |= r.takes_traffic && r.passed;
      it->second.judged &= r.judged;
    }
  }
  std::vector<VipVerdict> out;
  for (auto& [vip, v] : vips) {
    v.judged |= v.healthy;
    if (!sync_ready) v.healthy = v.judged = false;
    out.push_back(v);
  }
  return out;
}

Desired MakeDesired(const config::BgpConfig& bgp, const std::vector<VipVerdict>& vips) {
  Desired d;
  d.local_as = bgp.asn;
  d.router_id = bgp.router_id.ToString();
  d.bfd.interval_ms = static_cast<int>(bgp.bfd.interval.count());
  d.bfd.multiplier = bgp.bfd.multiplier;
  for (const config::BgpNeighbor& n : bgp.neighbors) {
    DesiredNeighbor dn;
    dn.address = n.address.ToString();
    dn.remote_as = n.asn;
    dn.password = n.password;
    dn.bfd = n.bfd;
    dn.keepalive = Seconds(n.keepalive);
    dn.hold = Seconds(n.hold_time);
    dn.next_hop_self = bgp.next_hop_self;
    d.neighbors.push_back(std::move(dn));
  }
  for (const VipVerdict& v : vips) {
    const std::string vip = v.vip.ToString();
    d.vips.insert(vip);
    if (v.healthy) {
      d.announce.insert(vip);
    } else if (!v.judged) {
      d.keep.insert(vip);
    }
  }
  return d;
}

std::vector<std::string> ConfigWarnings(const config::Config& config) {
  std::vector<std::string> out;
  if (!config.bgp) return out;
  std::set<model::IpAddress> announced;
  for (const VipVerdict& v : JudgeVips(*config.bgp, {})) announced.insert(v.vip);
  const bool all = config.bgp->announce.empty();
  for (const config::ServiceConfig& s : config.services) {
    if (s.service.options.forward != model::Forward::kNat) continue;
    if (!all && !announced.contains(s.service.key.vip)) continue;
    out.push_back(absl::StrCat(
        "bgp: service ", s.name, " (", s.service.key.ToString(),
        ") is NAT and its VIP is announced", all ? " (announce: all)" : "",
        ": the routers spread its clients over every director, but the reals send every reply "
        "to their one gateway, which has no entry for flows that came in elsewhere; list only "
        "direct-routing VIPs in bgp.announce and keep NAT VIPs on VRRP"));
  }
  return out;
}

}  // namespace xlb::bgp
