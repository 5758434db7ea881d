#include "controlplane/api/metrics.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "model/names.h"

namespace xlb::api {
namespace {

struct Family {
  const char* name;
  const char* type;
  const char* help;
  std::string samples;
};

void Sample(Family& f, const std::string& labels, const std::string& value) {
  if (labels.empty()) absl::StrAppend(&f.samples, f.name, " ", value, "\n");
  else absl::StrAppend(&f.samples, f.name, "{", labels, "} ", value, "\n");
}

void Add(Family& f, const std::string& labels, uint64_t value) {
  Sample(f, labels, absl::StrCat(value));
}

// A value with a fraction (seconds).
void AddFraction(Family& f, const std::string& labels, double value) {
  Sample(f, labels, absl::StrCat(value));
}

std::string ServiceLabels(const ServiceView& s) {
  const auto& k = s.config.service.key;
  return absl::StrCat("service=\"", s.config.name, "\",vip=\"", k.vip.ToString(), "\",port=\"",
                      k.port, "\",protocol=\"", model::NameOf(k.protocol), "\"");
}

}  // namespace

std::string RenderMetrics(const StatusView& status, const std::vector<ServiceView>& services,
                          const std::vector<vrrp::InstanceStatus>& vrrp, const BgpView& bgp,
                          const SyncView& sync) {
  Family svc_packets{"xlb_service_packets_total", "counter", "Packets forwarded for the service.", ""};
  Family svc_bytes{"xlb_service_bytes_total", "counter", "Bytes forwarded for the service.", ""};
  Family svc_conns{"xlb_service_new_connections_total", "counter",
                   "New connections (flows) of the service.", ""};
  Family real_packets{"xlb_real_packets_total", "counter", "Packets forwarded to the real.", ""};
  Family real_bytes{"xlb_real_bytes_total", "counter", "Bytes forwarded to the real.", ""};
  Family real_conns{"xlb_real_new_connections_total", "counter",
                    "New connections (flows) sent to the real.", ""};
  Family real_up{"xlb_real_health", "gauge", "1 while the real passes its health check (or has none).", ""};
  Family real_local_errors{"xlb_health_local_errors_total", "counter",
                           "Health checks of the real not made for a reason on this host "
                           "(out of descriptors, memory, ports; a command not started); they "
                           "leave its state as it was.", ""};
  Family real_weight{"xlb_real_weight", "gauge", "The weight the data plane uses (0 while down or drained).", ""};
  Family real_cfg{"xlb_real_configured_weight", "gauge", "The weight configured for the real.", ""};
  Family real_active{"xlb_real_active_connections", "gauge",
                    "Established TCP connections of the real in the connection table, neither "
                    "closing nor expired (ipvsadm's ActiveConn).", ""};
  Family real_inactive{"xlb_real_inactive_connections", "gauge",
                       "Half-open and closing TCP connections and UDP flows of the real in the "
                       "connection table, not expired (ipvsadm's InActConn).", ""};
  Family svc_error{"xlb_service_error", "gauge",
                   "1 while the service's last change could not be applied to the data plane "
                   "(it is retried; xlbctl list says why).", ""};
  for (const auto& s : services) {
    const std::string sl = ServiceLabels(s);
    Add(svc_error, sl, !s.error.empty());
    Add(svc_packets, sl, s.counters.packets);
    Add(svc_bytes, sl, s.counters.bytes);
    Add(svc_conns, sl, s.counters.new_flows);
    for (const auto& r : s.reals) {
      const std::string rl =
          absl::StrCat(sl, ",real=\"", r.spec.address.ToString(), "\",real_port=\"", r.port, "\"");
      Add(real_packets, rl, r.counters.packets);
      Add(real_bytes, rl, r.counters.bytes);
      Add(real_conns, rl, r.counters.new_flows);
      Add(real_up, rl, r.health != RealHealth::kDown);
      if (r.health != RealHealth::kNone) Add(real_local_errors, rl, r.local_errors);
      Add(real_weight, rl, r.effective_weight);
      Add(real_cfg, rl, r.spec.weight);
      Add(real_active, rl, r.connections.active);
      Add(real_inactive, rl, r.connections.inactive);
    }
  }
  Family global{"xlb_packets_total", "counter",
                "Packets the XDP program saw, by what it did with them.", ""};
  for (const auto& c : status.counters)
    Add(global, absl::StrCat("reason=\"", c.reason, "\""), c.count);
  Family conns{"xlb_conn_table_entries", "gauge", "Entries in the connection table.", ""};
  Add(conns, "", status.conn_table_entries);
  Family table_capacity{"xlb_table_capacity", "gauge", "Entries the flow table holds at most.", ""};
  Family table_entries{"xlb_table_entries", "gauge", "Entries in the flow table now.", ""};
  Family table_failures{"xlb_table_insert_failures_total", "counter",
                        "Inserts into the flow table that failed.", ""};
  Family table_unrecorded{"xlb_table_unrecorded_total", "counter",
                          "Entries not made past the flood rate (DR flows forwarded without "
                          "one, NAT flows dropped).",
                          ""};
  for (const auto& t : status.tables) {
    const std::string l = absl::StrCat("table=\"", t.name, "\"");
    Add(table_capacity, l, t.capacity);
    Add(table_entries, l, t.entries);
    Add(table_failures, l, t.insert_failures);
    Add(table_unrecorded, l, t.unrecorded);
  }
  Family api_closed{"xlb_api_connections_closed_total", "counter",
                    "Connections to the API socket or the metrics listener closed at its session "
                    "cap: evicted (idle, for a newcomer) or refused (all busy).", ""};
  Family api_errors{"xlb_api_accept_errors_total", "counter",
                    "Failed accepts on the API socket or the metrics listener (each followed by "
                    "a pause).", ""};
  for (const auto& [listener, stats] : {std::pair{"api", &status.api_server},
                                        std::pair{"metrics", &status.metrics_server}}) {
    const std::string l = absl::StrCat("listener=\"", listener, "\"");
    Add(api_closed, absl::StrCat(l, ",reason=\"evicted\""), stats->evicted);
    Add(api_closed, absl::StrCat(l, ",reason=\"refused\""), stats->refused);
    Add(api_errors, l, stats->accept_errors);
  }

  Family vrrp_state{"xlb_vrrp_state", "gauge",
                    "VRRP state: 0 initialize, 1 backup, 2 master, 3 fault.", ""};
  Family vrrp_master{"xlb_vrrp_master", "gauge", "1 while the instance is master (holds its VIPs).", ""};
  Family vrrp_priority{"xlb_vrrp_priority", "gauge",
                       "VRRP priority: configured, and effective (after tracking).", ""};
  Family vrrp_sent{"xlb_vrrp_adverts_sent_total", "counter", "VRRP adverts sent.", ""};
  Family vrrp_received{"xlb_vrrp_adverts_received_total", "counter",
                       "Valid VRRP adverts received for the instance.", ""};
  Family vrrp_dropped{"xlb_vrrp_adverts_dropped_total", "counter",
                      "VRRP adverts dropped, by reason.", ""};
  Family vrrp_changes{"xlb_vrrp_state_changes_total", "counter", "VRRP state changes.", ""};
  Family vrrp_late{"xlb_vrrp_timers_late_total", "counter",
                   "VRRP timers that fired more than one advert interval late (CPU starvation).",
                   ""};
  for (const auto& v : vrrp) {
    const std::string l = absl::StrCat("instance=\"", v.config.name, "\",interface=\"",
                                       v.config.interface, "\",vrid=\"", int{v.config.vrid}, "\"");
    Add(vrrp_state, l, static_cast<uint64_t>(v.state));
    Add(vrrp_master, l, v.state == vrrp::State::kMaster);
    Add(vrrp_priority, absl::StrCat(l, ",kind=\"configured\""), v.config.priority);
    Add(vrrp_priority, absl::StrCat(l, ",kind=\"effective\""), v.effective_priority);
    Add(vrrp_sent, l, v.counters.adverts_sent);
    Add(vrrp_received, l, v.counters.adverts_received);
    for (size_t i = 1; i < v.counters.dropped.size(); ++i)
      Add(vrrp_dropped,
          absl::StrCat(l, ",reason=\"", vrrp::DropCounterName(static_cast<vrrp::DecodeError>(i)),
                       "\""),
          v.counters.dropped[i]);
    Add(vrrp_dropped, absl::StrCat(l, ",reason=\"unknown_peer\""), v.counters.unknown_peer);
    Add(vrrp_changes, l, v.transitions);
    Add(vrrp_late, l, v.counters.timers_late);
  }

  Family bgp_established{"xlb_bgp_session_established", "gauge",
                         "1 while the BGP session with the neighbour is Established.", ""};
  Family bgp_bfd{"xlb_bgp_session_bfd_up", "gauge",
                 "1 while the BFD session with the neighbour is up (neighbours with BFD).", ""};
  Family bgp_vip{"xlb_bgp_vip_announced", "gauge",
                 "1 while FRR announces the VIP (holds its network line).", ""};
  Family bgp_prefixes{"xlb_bgp_prefixes_announced", "gauge", "VIPs FRR announces now.", ""};
  Family bgp_announcements{"xlb_bgp_announcements_total", "counter",
                           "VIP announcements made through FRR since xlbd started.", ""};
  Family bgp_withdrawals{"xlb_bgp_withdrawals_total", "counter",
                         "VIP withdrawals made through FRR since xlbd started.", ""};
  Family bgp_frr_errors{"xlb_bgp_frr_errors_total", "counter",
                        "vtysh calls to FRR that failed (xlbctl bgp shows the last error).", ""};
  Family bgp_drained{"xlb_bgp_drained", "gauge",
                     "1 while drained (xlbctl bgp drain): every VIP withdrawn, sessions kept.", ""};
  if (bgp.configured) {
    for (const auto& s : bgp.sessions) {
      const std::string l = absl::StrCat("neighbor=\"", s.neighbor, "\"");
      Add(bgp_established, l, s.state == "Established");
      if (!s.bfd.empty()) Add(bgp_bfd, l, s.bfd == "up");
    }
    uint64_t announced = 0;
    for (const auto& v : bgp.vips) {
      Add(bgp_vip, absl::StrCat("vip=\"", v.vip.ToString(), "\""), v.announced);
      announced += v.announced;
    }
    Add(bgp_prefixes, "", announced);
    Add(bgp_announcements, "", bgp.announcements);
    Add(bgp_withdrawals, "", bgp.withdrawals);
    Add(bgp_frr_errors, "", bgp.frr_errors);
    Add(bgp_drained, "", bgp.drained);
  }

  Family sync_records_sent{"xlb_sync_records_sent_total", "counter",
                           "Flow records sent to the sync peers.", ""};
  Family sync_refresh_records{"xlb_sync_refresh_records_total", "counter",
                              "Flow records the refresh walk sent (in records_sent too).", ""};
  Family sync_datagrams_sent{"xlb_sync_datagrams_sent_total", "counter",
                             "Sync datagrams sent (records and keepalives).", ""};
  Family sync_records_received{"xlb_sync_records_received_total", "counter",
                               "Flow records received from the sync peer and admitted.", ""};
  Family sync_dropped{"xlb_sync_dropped_total", "counter",
                      "Sync records or datagrams dropped, by reason (xlbctl sync).", ""};
  Family sync_applied{"xlb_sync_applied_total", "counter",
                      "Received flows applied, by their outcome in the table (conn or nat_reply).",
                      ""};
  Family sync_gaps{"xlb_sync_seq_gaps_total", "counter",
                   "Datagrams of the sync peer never received (sequence numbers skipped).", ""};
  Family sync_peer_up{"xlb_sync_peer_up", "gauge", "1 while the sync peer was heard in the last 3 s.",
                      ""};
  Family sync_lag{"xlb_sync_lag_seconds", "gauge",
                  "A received record's age when sent plus this director's delay applying it, "
                  "by quantile over the recent records.",
                  ""};
  Family sync_ready{"xlb_sync_ready", "gauge",
                    "1 once the resync ended (done, failed or timed out) or none was needed: VRRP "
                    "and BGP may take traffic.",
                    ""};
  Family sync_held{"xlb_sync_held", "gauge",
                   "Received records held now for a service or real not known here yet.", ""};
  if (sync.enabled) {
    Add(sync_records_sent, "", sync.records_sent);
    Add(sync_datagrams_sent, "", sync.datagrams_sent);
    Add(sync_refresh_records, "", sync.refresh_records);
    for (const auto& [reason, count] : sync.dropped)
      Add(sync_dropped, absl::StrCat("reason=\"", reason, "\""), count);
    for (const auto& [table, counts] : {std::pair{"conn", &sync.applied},
                                        std::pair{"nat_reply", &sync.applied_reply}})
      for (const auto& [outcome, count] : *counts)
        Add(sync_applied, absl::StrCat("table=\"", table, "\",outcome=\"", outcome, "\""), count);
    for (const auto& p : sync.peers) {
      const std::string l = absl::StrCat("peer=\"", p.address.ToString(), "\"");
      Add(sync_records_received, l, p.records_received);
      Add(sync_gaps, l, p.gaps);
      Add(sync_peer_up, l, p.up);
      AddFraction(sync_lag, absl::StrCat(l, ",quantile=\"0.5\""), p.lag_p50_ms / 1000);
      AddFraction(sync_lag, absl::StrCat(l, ",quantile=\"0.99\""), p.lag_p99_ms / 1000);
    }
    Add(sync_ready, "", sync.ready);
    Add(sync_held, "", sync.held);
  }

  std::string out;
  for (const Family* f : {&svc_packets, &svc_bytes, &svc_conns, &real_packets, &real_bytes,
                          &svc_error, &real_conns, &real_up, &real_local_errors, &real_weight, &real_cfg,
                          &real_active, &real_inactive,
                          &global, &conns, &table_capacity, &table_entries, &table_failures,
                          &table_unrecorded, &api_closed, &api_errors, &vrrp_state, &vrrp_master,
                          &vrrp_priority, &vrrp_sent, &vrrp_received,
                          &vrrp_dropped, &vrrp_changes, &vrrp_late, &bgp_established, &bgp_bfd,
                          &bgp_vip, &bgp_prefixes, &bgp_announcements, &bgp_withdrawals,
                          &bgp_frr_errors, &bgp_drained, &sync_records_sent, &sync_refresh_records, &sync_datagrams_sent,
                          &sync_records_received, &sync_dropped, &sync_applied, &sync_gaps,
                          &sync_peer_up, &sync_lag, &sync_ready, &sync_held}) {
    // The BGP families only with a bgp: section (a scraper sees none at all
    // rather than a drained 0 that means nothing).
    if (!bgp.configured && absl::StartsWith(f->name, "xlb_bgp_")) continue;
    if (!sync.enabled && absl::StartsWith(f->name, "xlb_sync_")) continue;
    absl::StrAppend(&out, "# HELP ", f->name, " ", f->help, "\n# TYPE ", f->name, " ", f->type,
                    "\n", f->samples);
  }
  return out;
}

}  // namespace xlb::api
