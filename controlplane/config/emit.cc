#include "controlplane/config/emit.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "model/address.h"
#include "model/names.h"
#include "model/service.h"
#include "yaml-cpp/yaml.h"

namespace xlb::config {

std::string FormatDuration(Duration d) {
  const int64_t ms = d.count();
  if (ms == 0) return "0s";
  if (ms % 3'600'000 == 0) return absl::StrCat(ms / 3'600'000, "h");
  if (ms % 60'000 == 0) return absl::StrCat(ms / 60'000, "m");
  if (ms % 1000 == 0) return absl::StrCat(ms / 1000, "s");
  return absl::StrCat(ms, "ms");
}

namespace {

using model::Forward;
using model::Protocol;
using model::Scheduler;

std::string Seconds(uint32_t s) { return FormatDuration(std::chrono::seconds(s)); }

void EmitHealth(YAML::Emitter& out, const HealthCheck& h) {
  if (h.type == HealthType::kNone) {
    out << YAML::Flow << YAML::BeginMap << YAML::Key << "type" << YAML::Value
        << HealthTypeName(h.type) << YAML::EndMap;
    return;
  }
  out << YAML::BeginMap;
  out << YAML::Key << "type" << YAML::Value << HealthTypeName(h.type);
  if (h.type == HealthType::kExec) out << YAML::Key << "command" << YAML::Value << h.command;
  out << YAML::Key << "port" << YAML::Value << h.port;
  if (IsHttp(h.type)) {
    out << YAML::Key << "path" << YAML::Value << h.path;
    out << YAML::Key << "expect" << YAML::Value << YAML::Flow << h.expect;
    if (!h.body.empty()) out << YAML::Key << "body" << YAML::Value << h.body;
  }
  if (h.type == HealthType::kHttps) {
    const TlsCheck& t = h.tls;
    if (!t.ca_file.empty()) out << YAML::Key << "ca_file" << YAML::Value << t.ca_file;
    if (!t.server_name.empty()) out << YAML::Key << "server_name" << YAML::Value << t.server_name;
    if (!t.client_cert.empty()) {
      out << YAML::Key << "client_cert" << YAML::Value << t.client_cert;
      out << YAML::Key << "client_key" << YAML::Value << t.client_key;
    }
    out << YAML::Key << "verify" << YAML::Value << t.verify;
  }
  if (h.source) out << YAML::Key << "source" << YAML::Value << h.source->ToString();
  out << YAML::Key << "interval" << YAML::Value << FormatDuration(h.interval);
  out << YAML::Key << "timeout" << YAML::Value << FormatDuration(h.timeout);
  out << YAML::Key << "rise" << YAML::Value << h.rise;
  out << YAML::Key << "fall" << YAML::Value << h.fall;
  if (h.through_tunnel) out << YAML::Key << "through_tunnel" << YAML::Value << true;
  out << YAML::EndMap;
}

void EmitService(YAML::Emitter& out, const ServiceConfig& sc) {
  const model::ServiceKey& key = sc.service.key;
  const model::ServiceOptions& o = sc.service.options;
  const model::ServiceOptions defaults;
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << sc.name;
  out << YAML::Key << "vip" << YAML::Value << key.vip.ToString();
  out << YAML::Key << "port" << YAML::Value;
  if (o.all_ports)
    out << "*";
  else
    out << key.port;
  out << YAML::Key << "protocol" << YAML::Value
      << std::string(model::NameOf(key.protocol));
  out << YAML::Key << "forward" << YAML::Value << std::string(model::NameOf(o.forward));
  if (o.forward == model::Forward::kTunnel) {
    const model::TunnelOptions& t = o.tunnel;
    out << YAML::Key << "encap" << YAML::Value << std::string(model::NameOf(t.encap));
    if (t.encap == model::Encap::kGue) out << YAML::Key << "gue_port" << YAML::Value << t.gue_port;
    if (t.source) out << YAML::Key << "tunnel_source" << YAML::Value << t.source->ToString();
    if (t.mtu != 0) out << YAML::Key << "tunnel_mtu" << YAML::Value << t.mtu;
    if (!t.mss_clamp) out << YAML::Key << "mss_clamp" << YAML::Value << false;
  }
  out << YAML::Key << "scheduler" << YAML::Value
      << std::string(model::NameOf(o.scheduler));
  if (o.persistence_timeout_s != 0 || o.persistence_netmask != -1) {
    out << YAML::Key << "persistence" << YAML::Value << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "timeout" << YAML::Value << Seconds(o.persistence_timeout_s);
    if (o.persistence_netmask != -1)
      out << YAML::Key << "netmask" << YAML::Value << o.persistence_netmask;
    out << YAML::EndMap;
  }
  if (o.table_size != defaults.table_size)
    out << YAML::Key << "table_size" << YAML::Value << o.table_size;
  if (o.drop_fragments) out << YAML::Key << "drop_fragments" << YAML::Value << true;
  if (o.tcp_timeout_s != defaults.tcp_timeout_s ||
      o.tcp_fin_timeout_s != defaults.tcp_fin_timeout_s ||
      o.udp_timeout_s != defaults.udp_timeout_s) {
    out << YAML::Key << "timeouts" << YAML::Value << YAML::Flow << YAML::BeginMap;
    if (o.tcp_timeout_s != defaults.tcp_timeout_s)
      out << YAML::Key << "tcp" << YAML::Value << Seconds(o.tcp_timeout_s);
    if (o.tcp_fin_timeout_s != defaults.tcp_fin_timeout_s)
      out << YAML::Key << "tcp_fin" << YAML::Value << Seconds(o.tcp_fin_timeout_s);
    if (o.udp_timeout_s != defaults.udp_timeout_s)
      out << YAML::Key << "udp" << YAML::Value << Seconds(o.udp_timeout_s);
    out << YAML::EndMap;
  }
  out << YAML::Key << "reals" << YAML::Value;
  if (sc.reals.empty()) out << YAML::Flow;
  out << YAML::BeginSeq;
  for (const model::RealSpec& r : sc.reals) {
    out << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "address" << YAML::Value << r.address.ToString();
    if (r.port != 0) out << YAML::Key << "port" << YAML::Value << r.port;
    out << YAML::Key << "weight" << YAML::Value << r.weight;
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::Key << "health" << YAML::Value;
  EmitHealth(out, sc.health);
  if (sc.on_down != OnDown::kKeep)
    out << YAML::Key << "on_down" << YAML::Value << std::string(model::NameOf(sc.on_down));
  out << YAML::EndMap;
}

void EmitVrrp(YAML::Emitter& out, const VrrpInstance& v) {
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << v.name;
  out << YAML::Key << "interface" << YAML::Value << v.interface;
  out << YAML::Key << "vrid" << YAML::Value << static_cast<int>(v.vrid);
  out << YAML::Key << "priority" << YAML::Value << static_cast<int>(v.priority);
  out << YAML::Key << "version" << YAML::Value << v.version;
  out << YAML::Key << "advert_interval" << YAML::Value << FormatDuration(v.advert_interval);
  out << YAML::Key << "preempt" << YAML::Value << v.preempt;
  out << YAML::Key << "preempt_delay" << YAML::Value << FormatDuration(v.preempt_delay);
  out << YAML::Key << "accept" << YAML::Value << v.accept;
  if (!v.auth_secret.empty()) {
    out << YAML::Key << "auth" << YAML::Value << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "type" << YAML::Value << "pass";
    out << YAML::Key << "secret" << YAML::Value << v.auth_secret;
    out << YAML::EndMap;
  }
  if (v.unicast_source || !v.unicast_peers.empty()) {
    out << YAML::Key << "unicast" << YAML::Value << YAML::Flow << YAML::BeginMap;
    if (v.unicast_source)
      out << YAML::Key << "source" << YAML::Value << v.unicast_source->ToString();
    out << YAML::Key << "peers" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const model::IpAddress& p : v.unicast_peers) out << p.ToString();
    out << YAML::EndSeq << YAML::EndMap;
  }
  out << YAML::Key << "addresses" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& [address, prefix] : v.addresses)
    out << absl::StrCat(address.ToString(), "/", prefix);
  out << YAML::EndSeq;
  if (!v.track.empty()) {
    out << YAML::Key << "track" << YAML::Value << YAML::BeginSeq;
    for (const VrrpTrack& t : v.track) {
      out << YAML::Flow << YAML::BeginMap;
      out << YAML::Key << VrrpTrackKindName(t.kind) << YAML::Value << t.target;
      if (t.kind == VrrpTrack::kExec)
        out << YAML::Key << "interval" << YAML::Value << FormatDuration(t.interval);
      out << YAML::Key << "weight" << YAML::Value << t.weight;
      if (t.kind == VrrpTrack::kExec) {
        out << YAML::Key << "rise" << YAML::Value << t.rise;
        out << YAML::Key << "fall" << YAML::Value << t.fall;
      }
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  for (auto [key, command] : {std::pair{"notify", &v.notify},
                              std::pair{"notify_master", &v.notify_master},
                              std::pair{"notify_backup", &v.notify_backup},
                              std::pair{"notify_fault", &v.notify_fault},
                              std::pair{"notify_stop", &v.notify_stop},
                              std::pair{"notify_keepalived", &v.notify_keepalived}})
    if (!command->empty()) out << YAML::Key << key << YAML::Value << *command;
  if (!(v.garp == VrrpGarp{})) {
    out << YAML::Key << "garp" << YAML::Value << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "count" << YAML::Value << v.garp.count;
    out << YAML::Key << "repeat" << YAML::Value << v.garp.repeat;
    out << YAML::Key << "interval" << YAML::Value << FormatDuration(v.garp.interval);
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
}

void EmitVrrpSection(YAML::Emitter& out, const std::vector<VrrpInstance>& vrrp) {
  out << YAML::Key << "vrrp" << YAML::Value << YAML::BeginSeq;
  for (const VrrpInstance& v : vrrp) EmitVrrp(out, v);
  out << YAML::EndSeq;
}

// Every key but the password's contents (only its file is named). A
// neighbour's timers only when they differ from the section's, which they
// default to.
void EmitBgp(YAML::Emitter& out, const BgpConfig& bgp) {
  out << YAML::Key << "bgp" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "asn" << YAML::Value << bgp.asn;
  out << YAML::Key << "router_id" << YAML::Value << bgp.router_id.ToString();
  out << YAML::Key << "announce" << YAML::Value;
  if (bgp.announce.empty()) {
    out << "all";
  } else {
    out << YAML::Flow << YAML::BeginSeq;
    for (const model::IpAddress& vip : bgp.announce) out << vip.ToString();
    out << YAML::EndSeq;
  }
  out << YAML::Key << "next_hop_self" << YAML::Value << bgp.next_hop_self;
  out << YAML::Key << "hold_time" << YAML::Value << FormatDuration(bgp.hold_time);
  out << YAML::Key << "keepalive" << YAML::Value << FormatDuration(bgp.keepalive);
  // Only when used: the parser refuses a profile no neighbour uses.
  if (std::any_of(bgp.neighbors.begin(), bgp.neighbors.end(),
                  [](const BgpNeighbor& n) { return n.bfd; })) {
    out << YAML::Key << "bfd" << YAML::Value << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "interval" << YAML::Value << FormatDuration(bgp.bfd.interval);
    out << YAML::Key << "multiplier" << YAML::Value << bgp.bfd.multiplier;
    out << YAML::EndMap;
  }
  out << YAML::Key << "frr_pathspace" << YAML::Value << bgp.frr_pathspace;
  out << YAML::Key << "withdraw_delay" << YAML::Value << FormatDuration(bgp.withdraw_delay);
  out << YAML::Key << "neighbors" << YAML::Value << YAML::BeginSeq;
  for (const BgpNeighbor& n : bgp.neighbors) {
    out << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "address" << YAML::Value << n.address.ToString();
    out << YAML::Key << "asn" << YAML::Value << n.asn;
    if (!n.password_file.empty())
      out << YAML::Key << "password_file" << YAML::Value << n.password_file;
    out << YAML::Key << "bfd" << YAML::Value << n.bfd;
    if (n.hold_time != bgp.hold_time)
      out << YAML::Key << "hold_time" << YAML::Value << FormatDuration(n.hold_time);
    if (n.keepalive != bgp.keepalive)
      out << YAML::Key << "keepalive" << YAML::Value << FormatDuration(n.keepalive);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  out << YAML::EndMap;
}

// Every key; source, node_id and multicast_ttl only when they mean something
// (unset source and node 0 are chosen at run time; the parser refuses a
// TTL with unicast peers).
void EmitSync(YAML::Emitter& out, const SyncConfig& sync) {
  out << YAML::Key << "sync" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "peers" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const model::IpAddress& peer : sync.peers) out << peer.ToString();
  out << YAML::EndSeq;
  out << YAML::Key << "port" << YAML::Value << sync.port;
  out << YAML::Key << "key_file" << YAML::Value << sync.key_file;
  if (sync.source) out << YAML::Key << "source" << YAML::Value << sync.source->ToString();
  if (sync.node_id != 0) out << YAML::Key << "node_id" << YAML::Value << sync.node_id;
  out << YAML::Key << "mtu" << YAML::Value << sync.mtu;
  out << YAML::Key << "refresh" << YAML::Value << FormatDuration(sync.refresh);
  out << YAML::Key << "resync_timeout" << YAML::Value << FormatDuration(sync.resync_timeout);
  out << YAML::Key << "ring_bytes" << YAML::Value << sync.ring_bytes;
  if (sync.multicast_ttl != SyncConfig{}.multicast_ttl)
    out << YAML::Key << "multicast_ttl" << YAML::Value << sync.multicast_ttl;
  out << YAML::EndMap;
}

}  // namespace

std::string ToYaml(const Config& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "interfaces" << YAML::Value << YAML::Flow << config.interfaces;
  out << YAML::Key << "api" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "socket" << YAML::Value << config.api.socket;
  out << YAML::Key << "metrics" << YAML::Value << config.api.metrics;
  out << YAML::Key << "group" << YAML::Value << config.api.group;
  out << YAML::Key << "max_sessions" << YAML::Value << config.api.max_sessions;
  out << YAML::Key << "metrics_max_sessions" << YAML::Value << config.api.metrics_max_sessions;
  out << YAML::EndMap;
  out << YAML::Key << "scripts" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "user" << YAML::Value << config.scripts.user;
  out << YAML::EndMap;
  // Only when set: most files keep the default sizes.
  if (!(config.tables == TablesConfig{})) {
    out << YAML::Key << "tables" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "connections" << YAML::Value << config.tables.connections;
    out << YAML::Key << "nat_replies" << YAML::Value << config.tables.nat_replies;
    out << YAML::Key << "persistence" << YAML::Value << config.tables.persistence;
    out << YAML::EndMap;
  }
  out << YAML::Key << "services" << YAML::Value;
  if (config.services.empty()) out << YAML::Flow;
  out << YAML::BeginSeq;
  for (const ServiceConfig& sc : config.services) EmitService(out, sc);
  out << YAML::EndSeq;
  // Only when there is one: most files have no VRRP.
  if (!config.vrrp.empty()) EmitVrrpSection(out, config.vrrp);
  if (config.bgp) EmitBgp(out, *config.bgp);
  if (config.sync) EmitSync(out, *config.sync);
  out << YAML::EndMap;
  return absl::StrCat(out.c_str(), "\n");
}

std::string VrrpSectionToYaml(const std::vector<VrrpInstance>& instances) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  EmitVrrpSection(out, instances);
  out << YAML::EndMap;
  return absl::StrCat(out.c_str(), "\n");
}

}  // namespace xlb::config
