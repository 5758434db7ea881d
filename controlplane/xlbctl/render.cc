#include "controlplane/xlbctl/render.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "controlplane/api/contract.h"
#include "model/names.h"

namespace xlb::xlbctl {
namespace {

using api::RealInfo;
using api::ServiceInfo;
using api::StatusInfo;
using api::VrrpInfo;
using api::XdpAttachInfo;
using nlohmann::json;

template <typename E>
std::string Upper(E value) {
  std::string s(model::NameOf(value));
  for (char& c : s) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  return s;
}

// ipvsadm's name of a forwarding method.
const char* IpvsForward(model::Forward forward) {
  switch (forward) {
    case model::Forward::kNat: return "Masq";
    case model::Forward::kTunnel: return "Tunnel";
    case model::Forward::kDr: break;
  }
  return "Route";
}

// "198.51.100.10:80" / "[2001:db8::1]:80" of a service.
std::string Local(const ServiceInfo& s) {
  std::string key = s.service.ToString();
  return key.substr(0, key.rfind('/'));
}

std::string Remote(const RealInfo& r) { return model::FormatEndpoint(r.address, r.port); }

std::string Flags(const ServiceInfo& s) {
  std::string f;
  if (s.persistence > 0) absl::StrAppend(&f, "persistent ", s.persistence);
  // "tunnel ipip", "tunnel gue:6080"
  if (const auto& t = s.tunnel.value) {
    absl::StrAppend(&f, f.empty() ? "" : " ", "tunnel ", model::NameOf(t->encap));
    if (t->encap == model::Encap::kGue) absl::StrAppend(&f, ":", t->gue_port);
  }
  return f;
}

std::string List(const std::vector<ServiceInfo>& services) {
  std::string out = absl::StrFormat("%-4s %-30s %-12s %-16s %s\n", "Prot", "LocalAddress:Port",
                                    "Scheduler", "Flags", "Name");
  absl::StrAppend(&out, absl::StrFormat("  -> %-30s %-7s %-6s %-9s %-10s %-10s %s\n",
                                        "RemoteAddress:Port", "Forward", "Weight", "Effective",
                                        "ActiveConn", "InActConn", "Health"));
  for (const auto& s : services) {
    absl::StrAppend(&out, absl::StrFormat("%-4s %-30s %-12s %-16s %s\n", Upper(s.protocol),
                                          Local(s), model::NameOf(s.scheduler), Flags(s), s.name));
    if (!s.error.empty()) absl::StrAppend(&out, "  !! not applied, retrying: ", s.error, "\n");
    for (const auto& r : s.reals)
      absl::StrAppend(&out, absl::StrFormat("  -> %-30s %-7s %-6d %-9d %-10d %-10d %s\n", Remote(r),
                                            IpvsForward(s.forward), r.weight, r.effective_weight,
                                            r.active_connections, r.inactive_connections,
                                            model::NameOf(r.health)));
  }
  return out;
}

std::string Stats(const std::vector<ServiceInfo>& services) {
  std::string out = absl::StrFormat("%-4s %-30s %10s %12s %14s\n", "Prot", "LocalAddress:Port",
                                    "Conns", "Packets", "Bytes");
  absl::StrAppend(&out, absl::StrFormat("  -> %-30s\n", "RemoteAddress:Port"));
  auto line = [](const std::string& prefix, const std::string& name,
                 const model::TrafficCounters& c) {
    return absl::StrFormat("%-4s %-30s %10d %12d %14d\n", prefix, name, c.new_flows, c.packets,
                           c.bytes);
  };
  for (const auto& s : services) {
    absl::StrAppend(&out, line(Upper(s.protocol), Local(s), s.counters));
    for (const auto& r : s.reals) absl::StrAppend(&out, line("  ->", Remote(r), r.counters));
  }
  return out;
}

// "eth0 (libxdp-dispatcher) eth1 (direct-native)": each interface with how
// the program is attached to it (an xlbd from before that said nothing).
std::string Interfaces(const StatusInfo& s) {
  std::vector<std::string> words;
  bool generic = false;
  for (const auto& i : s.interfaces) {
    auto a = std::find_if(s.xdp.begin(), s.xdp.end(),
                          [&](const XdpAttachInfo& x) { return x.interface == i; });
    if (a == s.xdp.end()) {
      words.push_back(i);
      continue;
    }
    words.push_back(absl::StrCat(i, " (", a->attach, ")"));
    generic |= a->attach.ends_with("generic");
  }
  std::string out = absl::StrJoin(words, " ");
  if (generic)
    absl::StrAppend(&out, "\n  generic XDP runs after the kernel built the skb: much slower than "
                          "native, about the kernel stack's speed");
  return out;
}

std::string Status(const StatusInfo& s) {
  std::string out = absl::StrCat(
      "xlbd ", s.version, ", running since ", api::Iso8601(s.started.time), "\n",
      "config: ", s.config_file,
      s.runtime_changes ? " (plus runtime changes: `xlbctl config save` keeps them)" : "", "\n",
      "interfaces: ", Interfaces(s), "\n", "services: ", s.services,
      ", reals: ", s.reals, " (", s.reals_down, " down)\n",
      "connection table: ", s.conn_table_entries, " entries\n");
  absl::StrAppend(&out, "tables:\n");
  for (const auto& t : s.tables) {
    const double capacity = t.capacity;
    const double entries = t.entries;
    absl::StrAppend(
        &out, absl::StrFormat("  %s: %d/%d (%.1f%%), %d failed inserts, %d not recorded (flood)\n",
                              t.name, t.entries, t.capacity,
                              capacity > 0 ? 100 * entries / capacity : 0.0, t.insert_failures,
                              t.unrecorded));
  }
  absl::StrAppend(&out, "packets:");
  for (const auto& [reason, count] : s.counters.by_reason)
    absl::StrAppend(&out, " ", reason, "=", count);
  return out + "\n";
}

std::string Conns(const api::ConnsAnswer& answer) {
  // fwd: dr, nat or tunnel.
  std::string out = absl::StrFormat("%-4s %-8s %-6s %-8s %-30s %-30s %s\n", "pro", "state", "fwd",
                                    "idle", "source", "virtual", "destination");
  for (const auto& c : answer.connections)
    absl::StrAppend(&out, absl::StrFormat("%-4s %-8s %-6s %-8.1f %-30s %-30s %s%s\n",
                                          Upper(c.protocol), Upper(c.state),
                                          model::NameOf(c.forward), c.idle_s, c.client,
                                          c.virtual_address, c.real,
                                          c.from_peer ? "  (a peer's copy)" : ""));
  // Never a silent cut: the listing stops at --limit.
  if (answer.remaining > 0)
    absl::StrAppend(&out, "... ", answer.remaining, " more of ", answer.total,
                    " (xlbctl conns --limit N shows more)\n");
  return out;
}

std::string Health(const std::vector<ServiceInfo>& services) {
  std::string out = absl::StrFormat("%-28s %-30s %-6s %-6s %-21s %-9s %s\n", "Service", "Real",
                                    "Check", "State", "Since", "LocalErr", "Last result");
  for (const auto& s : services)
    for (const auto& r : s.reals)
      absl::StrAppend(&out, absl::StrFormat("%-28s %-30s %-6s %-6s %-21s %-9d %s\n",
                                            s.service.ToString(), Remote(r),
                                            model::NameOf(s.check), model::NameOf(r.health),
                                            api::Iso8601(r.since.time), r.local_errors,
                                            r.health_detail));
  return out;
}

// One line per instance, then its addresses, counters and tracking.
std::string Vrrp(const std::vector<VrrpInfo>& instances) {
  std::string out = absl::StrFormat("%-16s %-10s %-4s %-10s %-8s %-26s %-7s %s\n", "Name",
                                    "Interface", "VRID", "State", "Priority", "Master", "Advert",
                                    "Since");
  // Always shown (the list); any other non-zero drop reason is added.
  static const char* kShown[] = {"bad_checksum", "bad_ttl",    "bad_auth",
                                 "bad_length",   "wrong_vrid", "unknown_peer"};
  for (const auto& v : instances) {
    std::string master = v.master;
    if (v.master_priority.value) absl::StrAppend(&master, " (", *v.master_priority.value, ")");
    if (master.empty()) master = "-";
    absl::StrAppend(&out, absl::StrFormat("%-16s %-10s %-4d %-10s %-8s %-26s %-7s %s\n", v.name,
                                          v.interface, v.vrid, v.state,
                                          absl::StrCat(v.effective_priority, "/", v.priority),
                                          master, absl::StrCat(v.advert_interval_ms, "ms"),
                                          api::Iso8601(v.since.time)));
    const api::VrrpCounters& c = v.counters;
    absl::StrAppend(&out, "    v", v.version, " from ", v.source.ToString(), ", addresses ",
                    absl::StrJoin(v.addresses, " "), "\n");
    absl::StrAppend(&out, "    adverts sent ", c.adverts_sent, ", received ", c.adverts_received,
                    ", state changes ", c.state_changes, "; dropped:");
    auto dropped = [&](const std::string& name) -> uint64_t {
      auto it = c.dropped.find(name);
      return it == c.dropped.end() ? 0 : it->second;
    };
    for (const std::string name : kShown)
      absl::StrAppend(&out, " ", name, "=",
                      name == "unknown_peer" ? c.unknown_peer : dropped(name));
    for (const auto& [name, count] : c.dropped)
      if (count != 0 && std::find(std::begin(kShown), std::end(kShown), name) == std::end(kShown))
        absl::StrAppend(&out, " ", name, "=", count);
    absl::StrAppend(&out, "\n");
    if (c.timers_late != 0)
      absl::StrAppend(&out, "    timers late by more than an advert interval: ", c.timers_late,
                      " (longest ", c.max_timer_late_ms,
                      " ms): this thread lacks CPU, see xlbd --realtime-priority\n");
    if (!v.track_why.empty()) absl::StrAppend(&out, "    tracking: ", v.track_why, "\n");
  }
  return out;
}

std::string Rates(const std::vector<ServiceInfo>& before, const std::vector<ServiceInfo>& after,
                  double seconds) {
  std::map<std::string, model::TrafficCounters> old;
  auto key = [](const ServiceInfo& s, const RealInfo* r) {
    return s.service.ToString() + (r ? " " + Remote(*r) : "");
  };
  for (const auto& s : before) {
    old[key(s, nullptr)] = s.counters;
    for (const auto& r : s.reals) old[key(s, &r)] = r.counters;
  }
  auto rate = [&](const model::TrafficCounters& now, const std::string& k,
                  uint64_t model::TrafficCounters::*field) {
    auto it = old.find(k);
    uint64_t was = it == old.end() ? 0 : it->second.*field;
    uint64_t is = now.*field;
    return is >= was ? static_cast<double>(is - was) / seconds : 0.0;
  };
  std::string out = absl::StrFormat("%-4s %-30s %10s %12s %14s\n", "Prot", "LocalAddress:Port",
                                    "CPS", "PPS", "BPS");
  absl::StrAppend(&out, absl::StrFormat("  -> %-30s\n", "RemoteAddress:Port"));
  auto line = [&](const std::string& prefix, const std::string& name,
                  const model::TrafficCounters& c, const std::string& k) {
    return absl::StrFormat("%-4s %-30s %10.0f %12.0f %14.0f\n", prefix, name,
                           rate(c, k, &model::TrafficCounters::new_flows),
                           rate(c, k, &model::TrafficCounters::packets),
                           rate(c, k, &model::TrafficCounters::bytes));
  };
  for (const auto& s : after) {
    absl::StrAppend(&out, line(Upper(s.protocol), Local(s), s.counters, key(s, nullptr)));
    for (const auto& r : s.reals)
      absl::StrAppend(&out, line("  ->", Remote(r), r.counters, key(s, &r)));
  }
  return out;
}

std::string Trace(const api::TraceInfo& t) {
  const char* packet = t.packet == "syn" ? "a SYN" : t.packet == "ack" ? "an ACK" : "a datagram";
  std::string out = absl::StrCat(t.flow, ", ", packet, " in on ",
                                 t.interface.empty() ? "no interface (none attached)" : t.interface,
                                 "\n");
  if (t.service.empty()) {
    absl::StrAppend(&out, "service:     none; the packet goes up to the kernel (", t.verdict,
                    ")\n");
  } else {
    absl::StrAppend(&out, "service:     ", t.service,
                    t.service_name.empty() ? "" : absl::StrCat(" (", t.service_name, ")"),
                    t.forward.empty() ? "" : absl::StrCat(", ", t.forward), "\n");
    std::string how;
    if (t.chosen_by == "connection") how = "its connection-table entry";
    else if (t.chosen_by == "persistence") how = "the client's persistence entry";
    else if (t.chosen_by == "maglev" && t.maglev_slot.value)
      how = absl::StrCat("Maglev slot ", *t.maglev_slot.value);
    if (t.real.empty())
      absl::StrAppend(&out, "real:        none",
                      t.maglev_slot.value ? absl::StrCat(" (Maglev slot ", *t.maglev_slot.value,
                                                         " is empty)")
                                          : "",
                      "\n");
    else
      absl::StrAppend(&out, "real:        ", t.real, ", by ", how,
                      t.records ? "; a packet would record the flow" : "", "\n");
    if (t.packet == "ack" && t.chosen_by != "connection" && !t.real.empty())
      absl::StrAppend(&out, "             (no connection-table entry: placed as a new flow)\n");
  }
  absl::StrAppend(&out, "verdict:     ", t.verdict);
  if (!t.out_interface.empty())
    absl::StrAppend(&out, " out of ", t.out_interface, ", to ", t.next_hop_mac, " from ",
                    t.source_mac);
  absl::StrAppend(&out, "\n");
  if (!t.real.empty()) {
    absl::StrAppend(&out, "destination: ", t.destination,
                    t.forward == "nat" ? " (rewritten: NAT)" : "", "\n");
  }
  absl::StrAppend(&out, "counters:    ", absl::StrJoin(t.counters, " "), "\n");
  return out;
}

// "45s", "3m04s", "2h05m", "3d04h": how long a session has been in its state.
std::string Age(int64_t ms) {
  const int64_t s = ms < 0 ? 0 : ms / 1000;
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  if (s < 86400) return absl::StrFormat("%dh%02dm", s / 3600, s % 3600 / 60);
  return absl::StrFormat("%dd%02dh", s / 86400, s % 86400 / 3600);
}

const char* YesNo(bool b) { return b ? "yes" : "no"; }

std::string Bgp(const api::BgpInfo& b) {
  // Not configured is a state, not a failure: exit 0 as `xlbctl vrrp` with
  // no instances, so that a script can run it on every director; --json
  // gives "configured".
  if (!b.configured) return "BGP: not configured (xlbd's configuration has no bgp: section)\n";
  std::string out = absl::StrCat("BGP: AS ", b.local_as, ", router id ", b.router_id);
  if (!b.frr_pathspace.empty()) absl::StrAppend(&out, ", FRR -N ", b.frr_pathspace);
  absl::StrAppend(&out, "\n");
  absl::StrAppend(&out, b.drained ? "DRAINED: every VIP withdrawn, sessions kept (xlbctl bgp "
                                    "undrain announces them again)\n"
                                  : "drained: no\n");
  absl::StrAppend(&out, absl::StrFormat("%-30s %-10s %-12s %-9s %-6s %-8s %-6s %s\n", "Neighbor",
                                        "AS", "State", "Up/Down", "Sent", "Received", "Drops",
                                        "BFD"));
  for (const auto& s : b.sessions)
    absl::StrAppend(&out, absl::StrFormat("%-30s %-10d %-12s %-9s %-6d %-8d %-6d %s\n", s.neighbor,
                                          s.remote_as, s.state, Age(s.uptime_ms),
                                          s.prefixes_sent, s.prefixes_received,
                                          s.connections_dropped, s.bfd.empty() ? "-" : s.bfd));
  if (!b.sessions_error.empty())
    absl::StrAppend(&out, "  !! sessions not read: ", b.sessions_error, "\n");
  else if (b.sessions_time.time == std::chrono::system_clock::time_point{})
    absl::StrAppend(&out, "  (bgpd not asked yet)\n");
  else  // read every few seconds, off xlbd's loop: say when
    absl::StrAppend(&out, "  (as bgpd reported them at ", api::Iso8601(b.sessions_time.time), ")\n");
  absl::StrAppend(&out, absl::StrFormat("%-30s %-7s %-6s %s\n", "VIP", "Healthy", "Wanted",
                                        "Announced"));
  for (const auto& v : b.vips)
    absl::StrAppend(&out, absl::StrFormat("%-30s %-7s %-6s %s\n", v.vip.ToString(),
                                          YesNo(v.healthy), YesNo(v.wanted), YesNo(v.announced)));
  const std::string last = api::Iso8601(b.last_reconcile.time);
  absl::StrAppend(&out, "announcements ", b.announcements, ", withdrawals ", b.withdrawals,
                  ", FRR errors ", b.frr_errors, ", reconciles ", b.reconciles,
                  "; last reconcile ",
                  last.empty() ? "none yet"
                               : absl::StrCat(last, b.last_reconcile_ok ? " (ok)" : " (failed)"),
                  "\n");
  if (!b.last_error.empty()) absl::StrAppend(&out, "last error: ", b.last_error, "\n");
  return out;
}

std::string BgpDrained(const api::BgpDrained& d) {
  return d.drained ? "drained: every VIP is withdrawn from the BGP peers; the sessions stay up "
                     "and flows that still arrive are forwarded\n"
                   : "undrained: the VIPs whose services are healthy are announced again\n";
}

// " reason=count ..." of the counts that are not 0; " none" when all are.
std::string NonZero(const std::map<std::string, uint64_t>& counts) {
  std::string out;
  for (const auto& [name, count] : counts)
    if (count != 0) absl::StrAppend(&out, " ", name, "=", count);
  return out.empty() ? " none" : out;
}

// A sync epoch (CLOCK_REALTIME ns at a start) as the time it names; "-" for 0.
std::string EpochTime(uint64_t epoch_ns) {
  if (epoch_ns == 0) return "-";
  return api::Iso8601(std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(epoch_ns))));
}

std::string Sync(const api::SyncInfo& s) {
  // Not configured is a state, not a failure: exit 0, as `xlbctl bgp`.
  if (!s.enabled) return "sync: not configured (xlbd's configuration has no sync: section)\n";
  std::string out = absl::StrCat("sync: node ", s.node_id, ", port ", s.port, ", started ",
                                 EpochTime(s.epoch), ", flow events ", s.mode, "\n");
  const std::string resync =
      s.resync == "none" ? "no resync"
                         : absl::StrCat("resync ", s.resync,
                                        s.resync_detail.empty() ? "" : ": ", s.resync_detail);
  absl::StrAppend(&out, "ready: ",
                  s.ready ? "yes" : "no (VRRP and BGP wait until the resync ends)", ", ",
                  resync, "\n");
  absl::StrAppend(&out, "sent: ", s.records_sent, " records in ", s.datagrams_sent,
                  " datagrams, last sequence ", s.last_sequence_sent, "\n");
  absl::StrAppend(&out, "refresh: ", s.refresh_records, " records in ", s.refresh_passes,
                  " passes", absl::StrFormat(", last pass %.1f s", s.last_refresh_seconds), "\n");
  absl::StrAppend(&out, absl::StrFormat("%-30s %-5s %-6s %-21s %-10s %-10s %-6s %-16s %s\n",
                                        "Peer", "State", "Sender", "Started", "Highest",
                                        "Records", "Gaps", "Lag p50/p99", "Heard"));
  for (const auto& p : s.peers) {
    const bool heard = p.last_heard_s.value.has_value();
    absl::StrAppend(
        &out, absl::StrFormat("%-30s %-5s %-6s %-21s %-10d %-10d %-6d %-16s %s\n",
                              p.address.ToString(), p.up ? "up" : "down",
                              heard ? absl::StrCat(p.sender_id) : "-", EpochTime(p.epoch),
                              p.highest_sequence, p.records_received, p.gaps,
                              heard ? absl::StrFormat("%.1f/%.1f ms", p.lag_p50_ms, p.lag_p99_ms)
                                    : "-",
                              heard ? absl::StrFormat("%.1fs ago", *p.last_heard_s.value)
                                    : "never"));
    if (const std::string dropped = NonZero(p.dropped); dropped != " none")
      absl::StrAppend(&out, "    dropped:", dropped, "\n");
  }
  absl::StrAppend(&out, "dropped:", NonZero(s.dropped), "\n");
  absl::StrAppend(&out, "applied: connections", NonZero(s.applied), "; NAT replies",
                  NonZero(s.applied_reply), "; held now ", s.held, "\n");
  return out;
}

// `answer` read through the contract as a T.
template <typename T>
absl::StatusOr<T> Read(const json& answer) {
  auto decoded = api::Decode<T>(answer, "xlbd's answer");
  if (!decoded.ok())
    return absl::InternalError(absl::StrCat("xlbd's answer is not what this xlbctl expects (",
                                            decoded.status().message(), ")"));
  return decoded;
}

template <typename T, typename Print>
absl::StatusOr<std::string> Show(const json& answer, Print print) {
  auto decoded = Read<T>(answer);
  if (!decoded.ok()) return decoded.status();
  return print(*decoded);
}

std::string Nothing(const auto&) { return ""; }

}  // namespace

absl::StatusOr<std::string> Render(View view, const json& answer) {
  switch (view) {
    case View::kStatus: return Show<StatusInfo>(answer, Status);
    case View::kList: return Show<std::vector<ServiceInfo>>(answer, List);
    case View::kListStats: return Show<std::vector<ServiceInfo>>(answer, Stats);
    case View::kConns: return Show<api::ConnsAnswer>(answer, Conns);
    case View::kHealth: return Show<std::vector<ServiceInfo>>(answer, Health);
    case View::kVrrp: return Show<std::vector<VrrpInfo>>(answer, Vrrp);
    case View::kSaved:
      return Show<api::Saved>(answer, [](const api::Saved& s) {
        return absl::StrCat("saved to ", s.path, "\n");
      });
    case View::kFlushed:
      return Show<model::FlushedEntries>(answer, [](const model::FlushedEntries& f) {
        return absl::StrCat(f.connections, " connections removed (", f.nat_replies,
                            " NAT reply entries, ", f.persistence, " persistence entries)\n");
      });
    case View::kListRate:
      return Show<std::vector<ServiceInfo>>(answer, Nothing<std::vector<ServiceInfo>>);
    case View::kDone: return Show<api::Done>(answer, Nothing<api::Done>);
    case View::kTrace: return Show<api::TraceInfo>(answer, Trace);
    case View::kBgp: return Show<api::BgpInfo>(answer, Bgp);
    case View::kBgpDrained: return Show<api::BgpDrained>(answer, BgpDrained);
    case View::kSync: return Show<api::SyncInfo>(answer, Sync);
  }
  return "";
}

absl::StatusOr<std::string> RenderRate(const json& before, const json& after, double seconds) {
  auto old = Read<std::vector<ServiceInfo>>(before);
  if (!old.ok()) return old.status();
  auto now = Read<std::vector<ServiceInfo>>(after);
  if (!now.ok()) return now.status();
  return Rates(*old, *now, seconds);
}

}  // namespace xlb::xlbctl
