#include "dataplane/nexthop.h"

#include <linux/neighbour.h>

#include <set>
#include <utility>

#include "netlink/links.h"
#include "netlink/neighbours.h"
#include "netlink/routes.h"

namespace xlb::dataplane {

absl::StatusOr<uint32_t> NetlinkNexthopResolver::EgressInterface(const model::IpAddress& address) {
  auto route = netlink::RouteTowards(address);
  if (!route.ok()) return route.status();
  return route->ifindex;
}

absl::StatusOr<std::optional<TunnelPath>> NetlinkNexthopResolver::TunnelPathTowards(
    const model::IpAddress& address) {
  auto route = netlink::RouteTowards(address);
  if (!route.ok()) return route.status();
  if (route->ifindex == 0 || !route->source) return std::nullopt;
  auto mtu = netlink::InterfaceMtu(route->ifindex);
  if (!mtu.ok()) return mtu.status();
  return TunnelPath{*route->source, *mtu};
}

absl::StatusOr<std::optional<Nexthop>> NetlinkNexthopResolver::Resolve(const model::IpAddress& address) {
  constexpr auto kKeep = std::chrono::seconds(1);
  const auto now = std::chrono::steady_clock::now();
  if (auto it = cache_.find(address); it != cache_.end() && now - it->second.at < kKeep)
    return it->second.nexthop;
  auto answer = Ask(address);
  if (!answer.ok()) return answer;
  // Only known next hops are kept: an unknown one (the kernel is resolving
  // it right now, NTF_USE asked it to) is worth asking again at once.
  if (!*answer) return answer;
  if (cache_.size() > 65536) cache_.clear();  // bounded: reals come and go
  cache_[address] = {now, *answer};
  return answer;
}

absl::StatusOr<std::optional<Nexthop>> NetlinkNexthopResolver::Ask(const model::IpAddress& address) {
  auto route = netlink::RouteTowards(address);
  if (!route.ok()) return route.status();
  if (route->ifindex == 0) return std::nullopt;
  // The next hop's MAC from the neighbour table.
  auto neighbour = netlink::GetNeighbour(route->ifindex, route->next_hop);
  if (!neighbour.ok()) return neighbour.status();
  if (!*neighbour || !(*neighbour)->usable()) {
    if (*neighbour && (*neighbour)->managed) return std::nullopt;  // the kernel is on it
    // Unknown yet: ask the kernel to resolve it, and report "not yet". Best
    // effort: a failure here only delays resolution to the next try.
    (void)netlink::StartResolution(route->ifindex, route->next_hop);
    return std::nullopt;
  }
  auto smac = netlink::InterfaceMac(route->ifindex);
  if (!smac.ok()) return smac.status();
  Nexthop nh;
  nh.ifindex = route->ifindex;
  nh.dmac = (*neighbour)->mac;
  nh.smac = *smac;
  return nh;
}

absl::StatusOr<size_t> NetlinkNexthopResolver::KeepResolved(
    const std::vector<model::IpAddress>& reals, const std::vector<netlink::Gateway>& gateways) {
  // The next hops wanted: (egress interface, the real or its gateway).
  std::set<std::pair<uint32_t, model::IpAddress>> wanted;
  for (const model::IpAddress& real : std::set<model::IpAddress>(reals.begin(), reals.end())) {
    auto route = netlink::RouteTowards(real);
    if (!route.ok()) return route.status();
    if (route->ifindex == 0) continue;  // no route: nothing to resolve
    wanted.insert({route->ifindex, route->next_hop});
  }
  for (const netlink::Gateway& g : gateways) wanted.insert({g.ifindex, g.address});
  auto entries = netlink::ListNeighbours();
  if (!entries.ok()) return entries.status();

  std::set<std::pair<uint32_t, model::IpAddress>> present;
  for (const netlink::Neighbour& e : *entries) {
    const std::pair<uint32_t, model::IpAddress> key{e.ifindex, e.address};
    const bool ours = e.protocol == kNeighbourProtocol;
    if (ours && !wanted.contains(key)) {
      if (auto st = netlink::RemoveNeighbour(e.ifindex, e.address); !st.ok()) return st;
      continue;
    }
    // Kept as it is: ours, managed by someone, static, or another program's.
    // A plain entry the kernel learned is made managed (and ours) below.
    const bool plain = e.protocol == 0 && !e.managed && !(e.state & (NUD_PERMANENT | NUD_NOARP));
    if (!plain) present.insert(key);
  }
  size_t made = 0;
  for (const auto& [ifindex, hop] : wanted) {
    if (present.contains({ifindex, hop})) continue;
    if (auto st = netlink::AddManagedNeighbour(ifindex, hop, kNeighbourProtocol); !st.ok())
      return st;
    ++made;
  }
  return made;
}

}  // namespace xlb::dataplane
