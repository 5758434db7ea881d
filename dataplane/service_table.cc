#include "dataplane/service_table.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <net/if.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "dataplane/maglev.h"
#include "glog/logging.h"

namespace xlb::dataplane {
namespace {

xlb_service_key ToBpfKey(const model::ServiceKey& key) {
  xlb_service_key k = {};
  key.vip.CopyTo(k.addr);
  k.port = htons(key.port);
  k.proto = static_cast<uint8_t>(key.protocol);
  k.family = static_cast<uint8_t>(key.vip.family());
  return k;
}

model::ServiceKey FromBpfKey(const xlb_service_key& k) {
  model::ServiceKey key;
  key.vip = model::IpAddress::FromWords(static_cast<model::Family>(k.family), k.addr);
  key.port = ntohs(k.port);
  key.protocol = static_cast<model::Protocol>(k.proto);
  return key;
}

xlb_service ToBpfValue(const model::Service& s, uint32_t id, uint32_t gen, uint32_t active) {
  const model::ServiceOptions& o = s.options;
  xlb_service v = {};
  v.id = id;
  v.gen = gen;
  v.active_table = active;
  v.table_size = o.table_size;
  if (o.scheduler == model::Scheduler::kSourceHash) v.flags |= XLB_SVC_F_SOURCE_HASH;
  if (o.drop_fragments) v.flags |= XLB_SVC_F_DROP_FRAGMENTS;
  if (o.forward == model::Forward::kNat) v.flags |= XLB_SVC_F_NAT;
  if (o.forward == model::Forward::kTunnel) v.flags |= XLB_SVC_F_TUNNEL;
  if (o.persistence_timeout_s > 0) {
    v.flags |= XLB_SVC_F_PERSIST;
    v.persist_timeout_s = o.persistence_timeout_s;
    int prefix = o.persistence_netmask < 0 ? s.key.vip.max_prefix_len() : o.persistence_netmask;
    uint32_t ones[4] = {~0u, ~0u, ~0u, ~0u};
    model::IpAddress::FromWords(s.key.vip.family(), ones).Masked(prefix).CopyTo(v.persist_mask);
  }
  v.tcp_timeout_s = o.tcp_timeout_s;
  v.tcp_fin_timeout_s = o.tcp_fin_timeout_s;
  v.udp_timeout_s = o.udp_timeout_s;
  return v;
}

model::ServiceOptions FromBpfValue(const xlb_service& v, const model::ServiceKey& key) {
  model::ServiceOptions o;
  o.forward = (v.flags & XLB_SVC_F_NAT)      ? model::Forward::kNat
              : (v.flags & XLB_SVC_F_TUNNEL) ? model::Forward::kTunnel
                                             : model::Forward::kDr;
  o.scheduler = (v.flags & XLB_SVC_F_SOURCE_HASH) ? model::Scheduler::kSourceHash : model::Scheduler::kMaglev;
  o.all_ports = key.port == 0;
  o.table_size = v.table_size;
  o.drop_fragments = v.flags & XLB_SVC_F_DROP_FRAGMENTS;
  if (v.flags & XLB_SVC_F_PERSIST) {
    o.persistence_timeout_s = v.persist_timeout_s;
    int prefix = 0;
    for (uint32_t w : v.persist_mask) prefix += std::popcount(w);
    o.persistence_netmask = prefix == key.vip.max_prefix_len() ? -1 : prefix;
  }
  o.tcp_timeout_s = v.tcp_timeout_s;
  o.tcp_fin_timeout_s = v.tcp_fin_timeout_s;
  o.udp_timeout_s = v.udp_timeout_s;
  return o;
}

// A tunnel service's settings from its tunnels entry. What was a default
// (source, MTU) reads back as the value it was resolved to but for an
// unmasked source, which reads as the default: the next configuration of
// the service rewrites the entry when it differs.
model::TunnelOptions TunnelOptionsOf(const xlb_tunnel& t, const model::ServiceKey& key) {
  model::TunnelOptions o;
  o.encap = (t.flags & XLB_TUN_F_GUE) ? model::Encap::kGue : model::Encap::kIpip;
  if (o.encap == model::Encap::kGue) o.gue_port = ntohs(t.gue_port);
  o.mss_clamp = t.flags & XLB_TUN_F_MSS_CLAMP;
  int host_bits = 0;
  for (uint32_t w : t.src_hostmask) host_bits += std::popcount(w);
  if (host_bits > 0) {
    const auto family = key.vip.family();
    o.source = model::IpPrefix{model::IpAddress::FromWords(family, t.src),
                               key.vip.max_prefix_len() - host_bits};
  }
  o.mtu = t.mtu;
  return o;
}

}  // namespace

xlb_tunnel TunnelValueOf(const model::Service& service, const std::optional<TunnelPath>& path) {
  const model::TunnelOptions& o = service.options.tunnel;
  const model::Family family = service.key.vip.family();
  xlb_tunnel t = {};
  if (o.encap == model::Encap::kGue) {
    t.flags |= XLB_TUN_F_GUE;
    t.gue_port = htons(o.gue_port);
  }
  if (o.mss_clamp) t.flags |= XLB_TUN_F_MSS_CLAMP;
  if (o.source) {
    o.source->address.CopyTo(t.src);
    uint32_t ones[4] = {~0u, ~0u, ~0u, ~0u};
    const model::IpAddress all = model::IpAddress::FromWords(family, ones);
    const model::IpAddress network = all.Masked(o.source->length);
    for (int i = 0; i < 4; ++i) t.src_hostmask[i] = all.words()[i] & ~network.words()[i];
  } else if (path && path->source.family() == family) {
    path->source.CopyTo(t.src);
  }
  uint32_t mtu = o.mtu ? o.mtu : path && path->mtu ? path->mtu : 1500;
  t.mtu = static_cast<uint16_t>(std::min<uint32_t>(mtu, model::kMaxTunnelMtu));
  t.overhead = model::TunnelOverhead(family, o.encap);
  t.mss = model::TunnelMss(family, o.encap, t.mtu);
  return t;
}

void RealIdBook::Assign(uint32_t real_id, uint32_t gen, uint32_t service_id,
                        const FlowAddresses& where) {
  by_id_[real_id] = Holder{gen, service_id, where};
}

std::optional<FlowAddresses> RealIdBook::Find(uint32_t service_id, uint32_t real_id,
                                              uint32_t real_gen) const {
  auto it = by_id_.find(real_id);
  if (it == by_id_.end() || it->second.gen != real_gen || it->second.service_id != service_id)
    return std::nullopt;
  return it->second.where;
}

// One Maglev table buffer: its own inner map, memory-mappable, so its slots
// are written and read in place rather than one map entry at a time.
struct ServiceTable::Table {
  MapFd map;
  // mmap of the map's values. An array map's elements are 8-byte aligned,
  // so slot i is the u32 at the start of the i-th 8-byte element.
  uint32_t* words = nullptr;
  uint32_t size = 0;
  uint32_t& slot(uint32_t i) { return words[2 * i]; }
  uint32_t slot(uint32_t i) const { return words[2 * i]; }

  Table() = default;
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;
  ~Table() { Unmap(); }

  void Unmap() {
    if (words) munmap(words, Bytes(size));
    words = nullptr;
    size = 0;
  }
  static size_t Bytes(uint32_t n) {
    const size_t page = sysconf(_SC_PAGESIZE);
    return (static_cast<size_t>(n) * sizeof(uint64_t) + page - 1) / page * page;
  }
  // Takes `fd` (an array map of `n` u32 values) and maps it.
  absl::Status Adopt(int fd, uint32_t n, const std::string& name) {
    Unmap();
    map = MapFd(fd, name);
    void* mem = mmap(nullptr, Bytes(n), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mem == MAP_FAILED) return absl::ErrnoToStatus(errno, "map " + name + " into memory");
    words = static_cast<uint32_t*>(mem);
    size = n;
    return absl::OkStatus();
  }
  bool Holds(const std::vector<uint32_t>& table) const {
    if (!words || size != table.size()) return false;
    for (uint32_t i = 0; i < size; ++i)
      if (slot(i) != table[i]) return false;
    return true;
  }
};

struct ServiceTable::Entry {
  model::Service service;
  xlb_service value = {};
  xlb_tunnel tunnel = {};  // what its tunnels entry holds (zeros unless tunnel)
  Table tables[2];
  std::map<RealKey, RealState> reals;
};

ServiceTable::ServiceTable(Maps* maps, NexthopResolver* resolver)
    : maps_(maps),
      resolver_(resolver),
      vip_filter_(&maps->vip_filter),
      nat_real_filter_(&maps->nat_real_filter) {
  for (uint32_t id = 1; id < XLB_MAX_SERVICES; ++id) free_service_ids_.insert(id);
}

ServiceTable::~ServiceTable() = default;

absl::StatusOr<std::unique_ptr<ServiceTable>> ServiceTable::Adopt(Maps* maps,
                                                                  NexthopResolver* resolver) {
  std::unique_ptr<ServiceTable> t(new ServiceTable(maps, resolver));
  if (auto st = t->AdoptAll(); !st.ok()) return st;
  return t;
}

absl::Status ServiceTable::AdoptAll() {
  if (auto st = vip_filter_.Adopt(); !st.ok()) return st;
  if (auto st = nat_real_filter_.Adopt(); !st.ok()) return st;
  std::unordered_map<uint32_t, Entry*> by_id;
  xlb_service_key key, next;
  bool first = true;
  for (int guard = 0; guard < XLB_MAX_SERVICES; ++guard) {
    auto more = maps_->services.NextKey(first ? nullptr : &key, &next);
    if (!more.ok()) return more.status();
    if (!*more) break;
    first = false;
    key = next;
    auto e = std::make_unique<Entry>();
    auto found = maps_->services.Lookup(&key, &e->value);
    if (!found.ok()) return found.status();
    if (!*found) continue;  // removed meanwhile
    e->service.key = FromBpfKey(key);
    e->service.options = FromBpfValue(e->value, e->service.key);
    if (e->value.flags & XLB_SVC_F_TUNNEL) {
      auto has = maps_->tunnels.Lookup(&e->value.id, &e->tunnel);
      if (!has.ok()) return has.status();
      e->service.options.tunnel = TunnelOptionsOf(e->tunnel, e->service.key);
    }
    for (uint32_t b = 0; b < 2; ++b) {
      uint32_t outer = e->value.id * 2 + b, inner_id = 0;
      auto has = maps_->maglev_tables.Lookup(&outer, &inner_id);
      if (!has.ok()) return has.status();
      if (!*has) continue;
      int fd = bpf_map_get_fd_by_id(inner_id);
      if (fd < 0) return absl::ErrnoToStatus(errno, "open a Maglev table of " +
                                                        e->service.key.ToString());
      const std::string name = "maglev table of " + e->service.key.ToString();
      bpf_map_info info = {};
      uint32_t len = sizeof(info);
      if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
        close(fd);
        return absl::ErrnoToStatus(errno, "inspect " + name);
      }
      if (auto st = e->tables[b].Adopt(fd, info.max_entries, name); !st.ok()) return st;
    }
    free_service_ids_.erase(e->value.id);
    next_gen_ = std::max(next_gen_, e->value.gen + 1);
    by_id[e->value.id] = e.get();
    services_[e->service.key] = std::move(e);
  }

  std::deque<uint32_t> retired;
  for (uint32_t id = 1; id < XLB_MAX_REALS; ++id) {
    xlb_real r;
    auto found = maps_->reals.Lookup(&id, &r);
    if (!found.ok()) return found.status();
    next_gen_ = std::max(next_gen_, r.gen + 1);
    auto owner = by_id.find(r.service_id);
    if (r.service_id == 0) {
      free_real_ids_.push_back(id);
    } else if ((r.flags & XLB_REAL_F_RETIRED) || owner == by_id.end()) {
      retired.push_back(id);
      // A retired real's flows may still be alive: remember it, when its
      // service still is (else nothing says which service it was).
      if (owner != by_id.end())
        real_ids_.Assign(id, r.gen, r.service_id,
                         {owner->second->service.key,
                          model::IpAddress::FromWords(static_cast<model::Family>(r.family), r.addr),
                          ntohs(r.port)});
    } else {
      RealState s;
      s.spec.address = model::IpAddress::FromWords(static_cast<model::Family>(r.family), r.addr);
      uint16_t port = ntohs(r.port);
      s.spec.port = port == owner->second->service.key.port ? 0 : port;
      s.spec.weight = r.weight;
      s.spec.health_down = r.flags & XLB_REAL_F_HEALTH_DOWN;
      s.id = id;
      s.gen = r.gen;
      if (r.flags & XLB_REAL_F_NEXTHOP) {
        Nexthop nh;
        nh.ifindex = r.ifindex;
        std::memcpy(nh.dmac.data(), r.dmac, 6);
        std::memcpy(nh.smac.data(), r.smac, 6);
        s.nexthop = nh;
      }
      owner->second->reals[{s.spec.address, port}] = s;
      real_ids_.Assign(id, r.gen, r.service_id, {owner->second->service.key, s.spec.address, port});
    }
  }
  free_real_ids_.insert(free_real_ids_.end(), retired.begin(), retired.end());

  xlb_endpoint_key ek, next_ek;
  first = true;
  for (int guard = 0; guard < XLB_MAX_REALS; ++guard) {
    auto more = maps_->nat_reals.NextKey(first ? nullptr : &ek, &next_ek);
    if (!more.ok()) return more.status();
    if (!*more) break;
    first = false;
    ek = next_ek;
    nat_reals_.insert({model::IpAddress::FromWords(static_cast<model::Family>(ek.family), ek.addr),
                       ntohs(ek.port), static_cast<model::Protocol>(ek.proto)});
  }
  return absl::OkStatus();
}

absl::Status ServiceTable::CheckNatReachable(const model::Service& service,
                                             const std::vector<model::RealSpec>& reals,
                                             const std::set<uint32_t>* interfaces) const {
  if (service.options.forward != model::Forward::kNat) return absl::OkStatus();
  for (const model::RealSpec& r : reals) {
    const std::string name = absl::StrCat("service ", service.key.ToString(), " (nat): real ",
                                          r.address.ToString());
    auto ifindex = resolver_->EgressInterface(r.address);
    if (!ifindex.ok()) return ifindex.status();
    if (*ifindex == 0)
      return absl::FailedPreconditionError(absl::StrCat(name, ": the director has no route to it"));
    bool attached = false;
    if (interfaces) {
      attached = interfaces->contains(*ifindex);
    } else {
      uint32_t key = *ifindex, value;
      auto found = maps_->tx_ports.Lookup(&key, &value);
      if (!found.ok()) return found.status();
      attached = *found;
    }
    if (!attached) {
      char ifname[IF_NAMESIZE] = "?";
      if_indextoname(*ifindex, ifname);
      return absl::FailedPreconditionError(absl::StrCat(
          name, ": routed out of ", ifname, ", where xlb is not attached; NAT needs the reals "
          "behind the director's interfaces (attach xlb to ", ifname, ")"));
    }
  }
  return absl::OkStatus();
}

// Tells the packet path where NAT replies may come from.
absl::Status ServiceTable::SyncNat() {
  std::set<std::tuple<model::IpAddress, uint16_t, model::Protocol>> want;
  for (const auto& [key, e] : services_) {
    if (e->service.options.forward != model::Forward::kNat) continue;
    for (const auto& [k, r] : e->reals) want.insert({k.first, k.second, key.protocol});
  }
  auto to_key = [](const std::tuple<model::IpAddress, uint16_t, model::Protocol>& t) {
    xlb_endpoint_key k = {};
    std::get<0>(t).CopyTo(k.addr);
    k.port = htons(std::get<1>(t));
    k.proto = static_cast<uint8_t>(std::get<2>(t));
    k.family = static_cast<uint8_t>(std::get<0>(t).family());
    return k;
  };
  const uint32_t one = 1;
  for (const auto& t : want) {
    if (nat_reals_.contains(t)) continue;
    xlb_endpoint_key k = to_key(t);
    if (auto st = maps_->nat_reals.Update(&k, &one); !st.ok()) return st;
  }
  for (const auto& t : nat_reals_) {
    if (want.contains(t)) continue;
    xlb_endpoint_key k = to_key(t);
    if (auto st = maps_->nat_reals.Delete(&k); !st.ok()) return st;
  }
  nat_reals_ = std::move(want);
  std::set<model::IpAddress> addresses;
  for (const auto& t : nat_reals_) addresses.insert(std::get<0>(t));
  return nat_real_filter_.Sync(addresses);
}

// Writes the service's tunnels entry when it changed: before its flag is
// published (a tunnel service), or zeroes it (any other service; after).
absl::Status ServiceTable::SyncTunnel(Entry& e) {
  xlb_tunnel want = {};
  if (e.service.options.forward == model::Forward::kTunnel) {
    // The default source is the director's address toward the first real
    // it has a route to; the default MTU the smallest toward any of them.
    std::optional<TunnelPath> path;
    for (const auto& [k, r] : e.reals) {
      auto p = resolver_->TunnelPathTowards(k.first);
      if (!p.ok()) return p.status();
      if (!*p) continue;
      if (!path) path = **p;
      else path->mtu = std::min(path->mtu, (*p)->mtu);
    }
    want = TunnelValueOf(e.service, path);
  }
  if (std::memcmp(&want, &e.tunnel, sizeof(want)) == 0) return absl::OkStatus();
  if (auto st = maps_->tunnels.Update(&e.value.id, &want); !st.ok()) return st;
  e.tunnel = want;
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> ServiceTable::AllocateRealId() {
  if (free_real_ids_.empty())
    return absl::ResourceExhaustedError(
        absl::StrCat("all ", XLB_MAX_REALS - 1, " real ids are in use"));
  uint32_t id = free_real_ids_.front();
  free_real_ids_.pop_front();
  if (auto st = maps_->real_stats.Zero(id); !st.ok()) return st;
  return id;
}

absl::Status ServiceTable::WriteReal(const Entry& e, const RealState& r, const Nexthop* nh) {
  xlb_real v = {};
  if (nh) {
    v.flags |= XLB_REAL_F_NEXTHOP;
    v.ifindex = nh->ifindex;
    std::memcpy(v.dmac, nh->dmac.data(), 6);
    std::memcpy(v.smac, nh->smac.data(), 6);
  }
  if (r.spec.health_down) v.flags |= XLB_REAL_F_HEALTH_DOWN;
  r.spec.address.CopyTo(v.addr);
  v.service_id = e.value.id;
  v.gen = r.gen;
  v.weight = r.spec.weight;
  v.port = htons(model::EffectivePort(e.service.key, r.spec));
  v.family = static_cast<uint8_t>(r.spec.address.family());
  return maps_->reals.Update(&r.id, &v);
}

absl::Status ServiceTable::RetireReal(const RealState& r) {
  xlb_real v;
  auto found = maps_->reals.Lookup(&r.id, &v);
  if (!found.ok()) return found.status();
  v.weight = 0;
  v.flags |= XLB_REAL_F_RETIRED;
  if (auto st = maps_->reals.Update(&r.id, &v); !st.ok()) return st;
  free_real_ids_.push_back(r.id);
  return absl::OkStatus();
}

// Builds the service's table into the buffer the packet path is not reading,
// writing only the slots that differ from what that buffer holds, then
// switches the service to it with one update of its map entry.
absl::Status ServiceTable::PublishTable(Entry& e, xlb_service value) {
  std::vector<MaglevBackend> backends;
  for (const auto& [k, r] : e.reals)
    backends.push_back({model::FormatEndpoint(k.first, k.second), r.id, r.spec.weight});
  auto table = BuildMaglevTable(std::move(backends), value.table_size);
  if (!table.ok()) return table.status();

  const uint32_t live = e.value.active_table & 1;
  value.active_table = live;
  if (std::memcmp(&value, &e.value, sizeof(value)) == 0 && e.tables[live].Holds(*table))
    return absl::OkStatus();  // the packet path already has exactly this
  const uint32_t target = live ^ 1;
  Table& t = e.tables[target];
  if (t.map.fd() < 0 || t.size != value.table_size) {
    LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = XLB_MAGLEV_TABLE_FLAGS);
    int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xlb_maglev", sizeof(uint32_t), sizeof(uint32_t),
                            value.table_size, &opts);
    if (fd < 0)
      return absl::ErrnoToStatus(errno, "create a Maglev table for " + e.service.key.ToString());
    if (auto st = t.Adopt(fd, value.table_size, "maglev table of " + e.service.key.ToString());
        !st.ok())
      return st;
    uint32_t outer = value.id * 2 + target;
    if (auto st = maps_->maglev_tables.Update(&outer, &fd); !st.ok()) return st;
  }
  // Only the slots that differ are written: the buffer holds the table from
  // two changes ago, which mostly agrees (Maglev moves few slots).
  for (uint32_t i = 0; i < value.table_size; ++i)
    if (t.slot(i) != (*table)[i]) t.slot(i) = (*table)[i];

  value.active_table = target;
  const xlb_service_key key = ToBpfKey(e.service.key);
  if (auto st = maps_->services.Update(&key, &value); !st.ok()) return st;
  e.value = value;
  return absl::OkStatus();
}

// Keeps the vips map entry and the VIP filter of `vip` in line with the
// services that use it.
absl::Status ServiceTable::UpdateVip(const model::IpAddress& vip) {
  std::set<model::IpAddress> vips;
  for (const auto& [k, e] : services_) vips.insert(k.vip);
  if (auto st = vip_filter_.Sync(vips); !st.ok()) return st;
  bool used = false;
  xlb_vip v = {};
  for (const auto& [k, e] : services_) {
    if (k.vip != vip) continue;
    used = true;
    if (e->service.options.drop_fragments) v.flags |= XLB_VIP_F_DROP_FRAGMENTS;
  }
  xlb_vip_key key = {};
  vip.CopyTo(key.addr);
  key.family = static_cast<uint8_t>(vip.family());
  return used ? maps_->vips.Update(&key, &v) : maps_->vips.Delete(&key);
}

absl::Status ServiceTable::Upsert(const model::Service& service) {
  if (auto st = model::ValidateService(service); !st.ok()) return st;
  auto it = services_.find(service.key);
  if (it != services_.end()) {
    Entry& e = *it->second;
    if (e.service.options == service.options) return absl::OkStatus();
    if (e.reals.size() > service.options.table_size)
      return absl::InvalidArgumentError(absl::StrCat(
          "service ", service.key.ToString(), ": table size ", service.options.table_size,
          " is smaller than its ", e.reals.size(), " reals"));
    std::vector<model::RealSpec> specs;
    for (const auto& [k, r] : e.reals) specs.push_back(r.spec);
    if (auto st = model::ValidateReals(service, specs); !st.ok()) return st;
    if (auto st = CheckNatReachable(service, specs); !st.ok()) return st;
    model::Service old = e.service;
    e.service = service;
    // Switching between DR and NAT changes what a flow's packets must look
    // like: a new generation makes every existing flow choose again.
    uint32_t gen = e.value.gen;
    if (old.options.forward != service.options.forward) {
      gen = next_gen_++;
      if (auto st = maps_->service_gens.Update(&e.value.id, &gen); !st.ok()) return st;
    }
    // A tunnel's entry is there before its flag, and goes after it.
    const bool tunnel = service.options.forward == model::Forward::kTunnel;
    if (auto st = tunnel ? SyncTunnel(e) : absl::OkStatus(); !st.ok()) {
      e.service = old;
      return st;
    }
    if (auto st = PublishTable(e, ToBpfValue(service, e.value.id, gen, e.value.active_table));
        !st.ok()) {
      e.service = old;
      return st;
    }
    if (auto st = tunnel ? absl::OkStatus() : SyncTunnel(e); !st.ok()) return st;
    if (auto st = SyncNat(); !st.ok()) return st;
    return UpdateVip(service.key.vip);
  }

  if (free_service_ids_.empty())
    return absl::ResourceExhaustedError(absl::StrCat(
        "service ", service.key.ToString(), ": all ", XLB_MAX_SERVICES - 1, " service ids in use"));
  const uint32_t id = *free_service_ids_.begin();
  if (auto st = maps_->service_stats.Zero(id); !st.ok()) return st;
  auto owned = std::make_unique<Entry>();
  Entry& e = *owned;
  e.service = service;
  // Generations come from the counter real ids use, so a connection made
  // for a deleted service never matches the next one to get its id.
  const uint32_t gen = next_gen_++;
  // No table yet: until it has reals the packet path finds none and drops,
  // counted as no_real; the first reals are published into buffer 0.
  e.value = ToBpfValue(service, id, gen, /*active=*/1);
  services_[service.key] = std::move(owned);
  // The VIP is announced to the packet path before its service appears.
  absl::Status st = maps_->service_gens.Update(&id, &gen);
  if (st.ok()) st = SyncTunnel(e);
  if (st.ok()) st = UpdateVip(service.key.vip);
  const xlb_service_key bkey = ToBpfKey(service.key);
  if (st.ok()) st = maps_->services.Update(&bkey, &e.value);
  if (!st.ok()) {
    for (uint32_t outer : {id * 2, id * 2 + 1}) (void)maps_->maglev_tables.Delete(&outer);
    services_.erase(service.key);
    (void)UpdateVip(service.key.vip);
    return st;
  }
  free_service_ids_.erase(id);
  return SyncNat();
}

absl::Status ServiceTable::Delete(const model::ServiceKey& key) {
  auto it = services_.find(key);
  if (it == services_.end()) return NotFound(key);
  Entry& e = *it->second;
  // The packet path stops matching the service first; then its parts go.
  const xlb_service_key bkey = ToBpfKey(key);
  if (auto st = maps_->services.Delete(&bkey); !st.ok()) return st;
  const uint32_t id = e.value.id, no_gen = 0;
  if (auto st = maps_->service_gens.Update(&id, &no_gen); !st.ok()) return st;
  for (const auto& [k, r] : e.reals)
    if (auto st = RetireReal(r); !st.ok()) return st;
  for (uint32_t outer : {e.value.id * 2, e.value.id * 2 + 1})
    if (auto st = maps_->maglev_tables.Delete(&outer); !st.ok()) return st;
  if (e.service.options.forward == model::Forward::kTunnel) {
    const xlb_tunnel none = {};
    if (auto st = maps_->tunnels.Update(&id, &none); !st.ok()) return st;
  }
  free_service_ids_.insert(e.value.id);
  services_.erase(it);
  if (auto st = SyncNat(); !st.ok()) return st;
  return UpdateVip(key.vip);
}

absl::Status ServiceTable::SetReals(const model::ServiceKey& key, const std::vector<model::RealSpec>& reals) {
  auto it = services_.find(key);
  if (it == services_.end()) return NotFound(key);
  Entry& e = *it->second;
  if (auto st = model::ValidateReals(e.service, reals); !st.ok()) return st;
  // Only reals new to the service are checked: draining or removing a real
  // must work while another one has lost its route.
  std::vector<model::RealSpec> new_reals;
  for (const model::RealSpec& r : reals)
    if (!e.reals.contains({r.address, model::EffectivePort(key, r)})) new_reals.push_back(r);
  if (auto st = CheckNatReachable(e.service, new_reals); !st.ok()) return st;

  const size_t added = new_reals.size();
  if (added > free_real_ids_.size())
    return absl::ResourceExhaustedError(absl::StrCat("service ", key.ToString(), ": ", added,
                                                     " new reals but only ", free_real_ids_.size(),
                                                     " real ids free"));

  std::map<RealKey, RealState> next;
  for (const model::RealSpec& spec : reals) {
    RealKey k{spec.address, model::EffectivePort(key, spec)};
    RealState r;
    if (auto old = e.reals.find(k); old != e.reals.end()) {
      r = old->second;
    } else {
      auto id = AllocateRealId();
      if (!id.ok()) return id.status();
      r.id = *id;
      r.gen = next_gen_++;
      real_ids_.Assign(r.id, r.gen, e.value.id, {key, k.first, k.second});
    }
    r.spec = spec;
    next[k] = r;
  }
  // Reals are written before the table that names them is published; a
  // real whose weight and next hop did not change is not written again.
  auto previous = std::move(e.reals);
  e.reals = std::move(next);
  for (auto& [k, r] : e.reals) {
    auto nh = resolver_->Resolve(r.spec.address);
    if (!nh.ok())
      LOG(WARNING) << "next hop of real " << r.spec.address.ToString() << ": " << nh.status()
                   << "; the packet path will ask the FIB";
    std::optional<Nexthop> resolved = nh.ok() ? *nh : std::nullopt;
    auto old = previous.find(k);
    if (old != previous.end() && old->second.spec.weight == r.spec.weight &&
        old->second.spec.health_down == r.spec.health_down && old->second.nexthop == resolved && old->second.id == r.id)
      continue;
    r.nexthop = resolved;
    if (auto st = WriteReal(e, r, resolved ? &*resolved : nullptr); !st.ok()) return st;
  }
  // A tunnel's defaults come from the reals' routes.
  if (auto st = SyncTunnel(e); !st.ok()) return st;
  // Same reals with the same weights: the table would come out the same.
  bool same = previous.size() == e.reals.size();
  for (auto a = previous.begin(), b = e.reals.begin(); same && a != previous.end(); ++a, ++b)
    same = a->first == b->first && a->second.spec.weight == b->second.spec.weight;
  if (!same)
    if (auto st = PublishTable(e, e.value); !st.ok()) return st;
  for (const auto& [k, r] : previous)
    if (!e.reals.contains(k))
      if (auto st = RetireReal(r); !st.ok()) return st;
  return SyncNat();
}

absl::Status ServiceTable::RefreshNexthops() {
  // Only next hops can have changed: write the reals whose one did, and
  // leave the Maglev tables alone.
  for (auto& [key, e] : services_) {
    for (auto& [k, r] : e->reals) {
      auto nh = resolver_->Resolve(r.spec.address);
      if (!nh.ok() || *nh == r.nexthop) continue;
      r.nexthop = *nh;
      if (auto st = WriteReal(*e, r, r.nexthop ? &*r.nexthop : nullptr); !st.ok()) return st;
    }
    // A tunnel's default source and MTU follow the routes.
    if (auto st = SyncTunnel(*e); !st.ok()) return st;
  }
  return absl::OkStatus();
}

size_t ServiceTable::UnknownNexthops() const {
  size_t n = 0;
  for (const auto& [key, e] : services_)
    for (const auto& [k, r] : e->reals) n += !r.nexthop.has_value();
  return n;
}

ServiceState ServiceTable::StateOf(const Entry& e) const {
  ServiceState s;
  s.service = e.service;
  s.id = e.value.id;
  for (const auto& [k, r] : e.reals) s.reals.push_back(r);
  return s;
}

std::vector<ServiceState> ServiceTable::List() const {
  std::vector<ServiceState> out;
  for (const auto& [k, e] : services_) out.push_back(StateOf(*e));
  return out;
}

absl::StatusOr<ServiceState> ServiceTable::Get(const model::ServiceKey& key) const {
  auto it = services_.find(key);
  if (it == services_.end()) return NotFound(key);
  return StateOf(*it->second);
}

FlowIds ServiceTable::FlowIdsOf(const model::ServiceKey& key, const model::IpAddress& real,
                                uint16_t real_port) const {
  FlowIds ids;
  auto it = services_.find(key);
  if (it == services_.end()) return ids;
  ids.service_id = it->second->value.id;
  ids.service_gen = it->second->value.gen;
  auto r = it->second->reals.find(RealKey{real, real_port});
  if (r == it->second->reals.end()) return ids;
  ids.real_id = r->second.id;
  ids.real_gen = r->second.gen;
  return ids;
}

absl::Status ServiceTable::NotFound(const model::ServiceKey& key) const {
  return absl::NotFoundError(absl::StrCat("no service ", key.ToString()));
}

}  // namespace xlb::dataplane
