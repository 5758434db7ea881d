#include "controlplane/api/routes.h"

#include <algorithm>
#include <optional>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "controlplane/api/contract.h"

namespace xlb::api {
namespace {

HttpResponse Json(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(2) + "\n";
  return r;
}

HttpResponse Error(const absl::Status& st) {
  return Json(HttpStatusOf(st), ErrorAnswer{std::string(st.message())});
}

absl::StatusOr<Done> DoneOr(const absl::Status& st) {
  if (!st.ok()) return st;
  return Done{};
}

// ---- Each route's handler: its request in, its answer out ----

// Designated initializers: a field added to or moved in the contract is a
// build error here, not a value in the wrong key.
RealInfo RealOf(const RealView& r) {
  return {.address = r.spec.address,
          .port = r.port,
          .weight = r.spec.weight,
          .effective_weight = r.effective_weight,
          .health = r.health,
          .health_detail = r.health_detail,
          .since = {r.since},
          .checks = r.checks,
          .local_errors = r.local_errors,
          .counters = r.counters,
          .active_connections = r.connections.active,
          .inactive_connections = r.connections.inactive};
}

ServiceInfo ServiceOf(const ServiceView& v) {
  const model::Service& s = v.config.service;
  ServiceInfo out{.name = v.config.name,
                  .service = s.key,
                  .vip = s.key.vip,
                  .port = s.key.port,
                  .protocol = s.key.protocol,
                  .forward = s.options.forward,
                  .scheduler = s.options.scheduler,
                  .persistence = s.options.persistence_timeout_s,
                  .table_size = s.options.table_size,
                  .check = v.config.health.type,
                  .on_down = v.config.on_down,
                  .tunnel = {},
                  .counters = v.counters,
                  .error = v.error,
                  .reals = {}};
  if (s.options.forward == model::Forward::kTunnel) {
    const model::TunnelOptions& t = s.options.tunnel;
    const bool gue = t.encap == model::Encap::kGue;
    out.tunnel.value = TunnelInfo{.encap = t.encap,
                                  .gue_port = gue ? t.gue_port : uint16_t{0},
                                  .source = t.source ? t.source->ToString() : "",
                                  .mtu = t.mtu,
                                  .mss_clamp = t.mss_clamp};
  }
  for (const auto& r : v.reals) out.reals.push_back(RealOf(r));
  return out;
}

VrrpInfo VrrpOf(const vrrp::InstanceStatus& s) {
  const config::VrrpInstance& c = s.config;
  VrrpInfo out;
  out.name = c.name;
  out.interface = c.interface;
  out.vrid = c.vrid;
  out.version = c.version;
  out.state = vrrp::StateName(s.state);
  out.reason = vrrp::ReasonName(s.reason);
  out.since = {s.since};
  out.priority = c.priority;
  out.effective_priority = s.effective_priority;
  out.master = s.master ? s.master->ToString() : "";
  out.master_priority.value = s.master_priority;
  out.source = s.source;
  out.advert_interval_ms = c.advert_interval.count();
  out.master_advert_interval_ms = s.master_adver_interval.count();
  out.preempt = c.preempt;
  out.unicast_peers = c.unicast_peers;
  for (const auto& [address, prefix] : c.addresses)
    out.addresses.push_back(absl::StrCat(address.ToString(), "/", prefix));
  for (const auto& t : s.tracks)
    out.tracks.push_back({t.track.kind, t.track.target, t.track.weight, t.up});
  out.track_why = s.track_why;
  const vrrp::InstanceCounters& n = s.counters;
  out.counters = {.adverts_sent = n.adverts_sent,
                  .adverts_received = n.adverts_received,
                  .send_errors = n.send_errors,
                  .priority_zero_sent = n.priority_zero_sent,
                  .priority_zero_received = n.priority_zero_received,
                  .unknown_peer = n.unknown_peer,
                  .address_errors = n.address_errors,
                  .reannounced = n.reannounced,
                  .timers_late = n.timers_late,
                  .max_timer_late_ms = n.max_timer_late_ms,
                  .state_changes = s.transitions,
                  .dropped = {}};
  for (size_t i = 1; i < n.dropped.size(); ++i)
    out.counters.dropped[vrrp::DropCounterName(static_cast<vrrp::DecodeError>(i))] = n.dropped[i];
  return out;
}

ConnectionInfo ConnectionOf(const model::Connection& c) {
  return {.protocol = c.protocol,
          .client = model::FormatEndpoint(c.client, c.client_port),
          .virtual_address = model::FormatEndpoint(c.vip, c.vip_port),
          .real = c.real ? model::FormatEndpoint(*c.real, c.real_port) : "",
          .state = model::StateOf(c),
          .forward = c.nat      ? model::Forward::kNat
                     : c.tunnel ? model::Forward::kTunnel
                                : model::Forward::kDr,
          .idle_s = c.idle_s,
          .from_peer = c.from_peer};
}

absl::StatusOr<StatusInfo> Handle(Operations& ops, const StatusRequest&) {
  StatusView s = ops.Status();
  StatusInfo out{.version = s.version,
                 .config_file = s.config_file,
                 .runtime_changes = s.runtime_changes,
                 .interfaces = s.interfaces,
                 .xdp = {},
                 .started = {s.started},
                 .services = s.services,
                 .reals = s.reals,
                 .reals_down = s.reals_down,
                 .conn_table_entries = s.conn_table_entries,
                 .tables = s.tables,
                 .counters = {}};
  for (const auto& c : s.counters) out.counters.by_reason[c.reason] = c.count;
  for (size_t i = 0; i < s.interfaces.size() && i < s.attach.size(); ++i)
    out.xdp.push_back({.interface = s.interfaces[i], .attach = s.attach[i]});
  return out;
}

absl::StatusOr<std::vector<ServiceInfo>> Handle(Operations& ops, const ServicesRequest&) {
  std::vector<ServiceInfo> out;
  for (const auto& v : ops.Services()) out.push_back(ServiceOf(v));
  return out;
}

absl::StatusOr<ConnsAnswer> Handle(Operations& ops, const ConnsQuery& query) {
  auto listing = ops.Connections(query.service, query.limit.value_or(kDefaultConnsLimit));
  if (!listing.ok()) return listing.status();
  ConnsAnswer out;
  for (const auto& c : listing->connections) out.connections.push_back(ConnectionOf(c));
  out.total = std::max<uint64_t>(listing->matched, out.connections.size());
  out.remaining = out.total - out.connections.size();
  return out;
}

absl::StatusOr<std::vector<VrrpInfo>> Handle(Operations& ops, const VrrpRequest&) {
  std::vector<VrrpInfo> out;
  for (const auto& v : ops.Vrrp()) out.push_back(VrrpOf(v));
  return out;
}

BgpInfo BgpOf(const BgpView& b) {
  BgpInfo out{.configured = b.configured,
              .local_as = b.local_as,
              .router_id = b.router_id,
              .frr_pathspace = b.frr_pathspace,
              .drained = b.drained,
              .vips = {},
              .sessions = b.sessions,
              .sessions_time = {b.sessions_time},
              .sessions_error = b.sessions_error,
              .last_reconcile = {b.last_reconcile},
              .last_reconcile_ok = b.last_reconcile_ok,
              .last_error = b.last_error,
              .announcements = b.announcements,
              .withdrawals = b.withdrawals,
              .frr_errors = b.frr_errors,
              .reconciles = b.reconciles};
  for (const auto& v : b.vips)
    out.vips.push_back(
        {.vip = v.vip, .healthy = v.healthy, .wanted = v.wanted, .announced = v.announced});
  return out;
}

absl::StatusOr<BgpInfo> Handle(Operations& ops, const BgpRequest&) { return BgpOf(ops.Bgp()); }

// FailedPrecondition (409) without a bgp: section, in the daemon's words.
absl::StatusOr<BgpDrained> SetDrained(Operations& ops, bool drained) {
  if (absl::Status st = ops.SetBgpDrained(drained); !st.ok()) return st;
  return BgpDrained{.ok = true, .drained = drained};
}

absl::StatusOr<BgpDrained> Handle(Operations& ops, const BgpDrainRequest&) {
  return SetDrained(ops, true);
}

absl::StatusOr<BgpDrained> Handle(Operations& ops, const BgpUndrainRequest&) {
  return SetDrained(ops, false);
}

SyncInfo SyncOf(const SyncView& v) {
  SyncInfo out{.enabled = v.enabled,
               .node_id = v.node_id,
               .epoch = v.epoch,
               .port = v.port,
               .mode = v.mode,
               .last_sequence_sent = v.last_sequence_sent,
               .datagrams_sent = v.datagrams_sent,
               .records_sent = v.records_sent,
               .refresh_passes = v.refresh_passes,
               .refresh_records = v.refresh_records,
               .last_refresh_seconds = v.last_refresh_seconds,
               .dropped = v.dropped,
               .applied = v.applied,
               .applied_reply = v.applied_reply,
               .held = v.held,
               .ready = v.ready,
               .resync = v.resync,
               .resync_detail = v.resync_detail,
               .peers = {}};
  for (const auto& p : v.peers)
    out.peers.push_back({.address = p.address,
                         .up = p.up,
                         .sender_id = p.sender_id,
                         .epoch = p.epoch,
                         .highest_sequence = p.highest_sequence,
                         .datagrams_received = p.datagrams_received,
                         .records_received = p.records_received,
                         .gaps = p.gaps,
                         .missing = p.missing,
                         .lag_p50_ms = p.lag_p50_ms,
                         .lag_p99_ms = p.lag_p99_ms,
                         .last_heard_s = {p.last_heard_seconds_ago},
                         .dropped = p.dropped});
  return out;
}

absl::StatusOr<SyncInfo> Handle(Operations& ops, const SyncRequest&) { return SyncOf(ops.Sync()); }

absl::StatusOr<Done> Handle(Operations& ops, const ServiceAddRequest& r) {
  // As the config file would have it, exec scripts and PEM files included.
  auto service = ServiceConfigOf(r, RequestFieldName, ops.ScriptUid());
  if (!service.ok()) return service.status();
  return DoneOr(ops.AddService(*service));
}

absl::StatusOr<Done> Handle(Operations& ops, const ServiceDelRequest& r) {
  return DoneOr(ops.DeleteService(r.service));
}

absl::StatusOr<Done> Handle(Operations& ops, const RealAddRequest& r) {
  model::RealSpec real{.address = r.real.address, .port = r.real.port,
                       .weight = r.weight.value_or(1)};
  return DoneOr(ops.AddReal(r.service, real));
}

absl::StatusOr<Done> Handle(Operations& ops, const RealSetRequest& r) {
  RealChange change{r.service, r.real.address, r.real.port, std::nullopt};
  if (r.drain.value_or(false)) change.weight = 0;
  else if (r.weight) change.weight = *r.weight;
  else return absl::InvalidArgumentError("real/set needs \"weight\" or \"drain\": true");
  return DoneOr(ops.SetReal(change));
}

absl::StatusOr<Done> Handle(Operations& ops, const RealDelRequest& r) {
  return DoneOr(ops.DeleteReal(r.service, r.real.address, r.real.port));
}

absl::StatusOr<model::FlushedEntries> Handle(Operations& ops, const RealFlushRequest& r) {
  return ops.FlushReal(r.service, r.real.address, r.real.port);
}

absl::StatusOr<Saved> Handle(Operations& ops, const ConfigSaveRequest& r) {
  auto path = ops.SaveConfig(r.path.value_or(""));
  if (!path.ok()) return path.status();
  return Saved{true, *path};
}

absl::StatusOr<Done> Handle(Operations& ops, const ConfigReloadRequest&) {
  return DoneOr(ops.ReloadConfig());
}

absl::StatusOr<TraceInfo> Handle(Operations& ops, const TraceRequest& r) {
  if (r.flow.port == 0)
    return absl::InvalidArgumentError(absl::StrCat(
        "flow ", r.flow.ToString(), ": a trace needs the port the client sends to, not *"));
  if (r.client_port == 0 || r.client_port > 65535)
    return absl::InvalidArgumentError(
        absl::StrCat("client port ", r.client_port, " is not in 1..65535"));
  if (r.client.family() != r.flow.vip.family())
    return absl::InvalidArgumentError(absl::StrCat("client ", r.client.ToString(), " and VIP ",
                                                   r.flow.vip.ToString(),
                                                   " are not of one address family"));
  return ops.Trace(r);
}

// The answer when `request` is for `endpoint`.
template <typename Req, typename Resp>
std::optional<HttpResponse> Serve(Operations& ops, const Endpoint<Req, Resp>& endpoint,
                                  const HttpRequest& request, const json& body) {
  if (request.method != endpoint.spec.method || request.path != endpoint.spec.path)
    return std::nullopt;
  absl::StatusOr<Req> decoded = [&] {
    if constexpr (requires { Req::FromQuery(request.query); }) return Req::FromQuery(request.query);
    else return Decode<Req>(body, "bad request body");
  }();
  if (!decoded.ok()) return Error(decoded.status());
  absl::StatusOr<Resp> answer = Handle(ops, *decoded);
  if (!answer.ok()) return Error(answer.status());
  return Json(endpoint.spec.ok_status, *answer);
}

}  // namespace

int HttpStatusOf(const absl::Status& st) {
  switch (st.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange: return 400;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kResourceExhausted: return 409;
    default: return 500;
  }
}

StatusPageInfo StatusPageOf(Operations& ops) {
  StatusPageInfo out;
  // These answers cannot fail (they read the daemon's state).
  out.status = *Handle(ops, StatusRequest{});
  out.services = *Handle(ops, ServicesRequest{});
  out.vrrp = *Handle(ops, VrrpRequest{});
  out.bgp = *Handle(ops, BgpRequest{});
  return out;
}

HttpResponse Route(Operations& ops, const HttpRequest& req) {
  const bool get = req.method == "GET";
  if (!get && req.method != "POST")
    return Json(405, ErrorAnswer{absl::StrCat("method ", req.method, " not allowed")});
  try {
    json body = json::object();
    if (!get && !req.body.empty()) {
      body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
      if (body.is_discarded() || !body.is_object())
        return Error(absl::InvalidArgumentError("the body is not a JSON object"));
    }
    std::optional<HttpResponse> answer;
    std::apply([&](const auto&... endpoint) {
      ((answer = Serve(ops, endpoint, req, body)) || ...);
    }, kEndpoints);
    if (answer) return *answer;
  } catch (const nlohmann::json::exception& e) {
    // An answer that cannot be written (a string that is not UTF-8).
    return Error(absl::InvalidArgumentError(absl::StrCat("bad request body: ", e.what())));
  }
  return Json(404, ErrorAnswer{absl::StrCat(get ? "no such resource: " : "no such operation: ",
                                            req.method, " ", req.path)});
}

}  // namespace xlb::api
