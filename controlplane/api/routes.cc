#include "controlplane/api/routes.h"

#include <ctime>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "model/names.h"
#include "nlohmann/json.hpp"

namespace xlb::api {
namespace {

using nlohmann::json;

HttpResponse Json(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(2) + "\n";
  return r;
}

HttpResponse Error(const absl::Status& st) {
  return Json(HttpStatusOf(st), json{{"error", std::string(st.message())}});
}

HttpResponse Done(const absl::Status& st, int ok_status = 200) {
  return st.ok() ? Json(ok_status, json{{"ok", true}}) : Error(st);
}

std::string Iso8601(std::chrono::system_clock::time_point t) {
  if (t == std::chrono::system_clock::time_point{}) return "";
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&tt));
  return buf;
}

json Counters(const model::TrafficCounters& c) {
  return json{{"packets", c.packets}, {"bytes", c.bytes}, {"new_flows", c.new_flows}};
}

json ServiceJson(const ServiceView& v) {
  const auto& s = v.config.service;
  const auto& o = s.options;
  json reals = json::array();
  for (const auto& r : v.reals)
    reals.push_back({{"address", r.spec.address.ToString()},
                     {"port", r.port},
                     {"weight", r.spec.weight},
                     {"effective_weight", r.effective_weight},
                     {"health", r.health},
                     {"health_detail", r.health_detail},
                     {"since", Iso8601(r.since)},
                     {"checks", r.checks},
                     {"local_errors", r.local_errors},
                     {"counters", Counters(r.counters)}});
  return json{{"name", v.config.name},
              {"service", s.key.ToString()},
              {"vip", s.key.vip.ToString()},
              {"port", s.key.port},
              {"protocol", std::string(model::NameOf(s.key.protocol))},
              {"forward", model::NameOf(o.forward)},
              {"scheduler", model::NameOf(o.scheduler)},
              {"persistence", o.persistence_timeout_s},
              {"table_size", o.table_size},
              {"check", std::string(config::HealthTypeName(v.config.health.type))},
              {"counters", Counters(v.counters)},
              {"error", v.error},
              {"reals", reals}};
}

// Reads a required string field.
absl::StatusOr<std::string> Field(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || !it->is_string())
    return absl::InvalidArgumentError(absl::StrCat("missing string field \"", name, "\""));
  return it->get<std::string>();
}

absl::StatusOr<uint32_t> UintField(const json& body, const char* name, uint32_t fallback) {
  auto it = body.find(name);
  if (it == body.end()) return fallback;
  if (!it->is_number_unsigned())
    return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" must be a non-negative integer"));
  return it->get<uint32_t>();
}

absl::StatusOr<model::ServiceKey> KeyField(const json& body) {
  auto text = Field(body, "service");
  if (!text.ok()) return text.status();
  return model::ParseServiceKey(*text);
}

absl::StatusOr<model::RealSpec> RealField(const json& body) {
  auto text = Field(body, "real");
  if (!text.ok()) return text.status();
  if (text->find('@') != std::string::npos)
    return absl::InvalidArgumentError("give the weight as \"weight\", not in \"real\"");
  return model::ParseRealSpec(*text);
}

absl::StatusOr<config::ServiceConfig> ServiceFromJson(const json& body) {
  config::ServiceConfig c;
  auto key = KeyField(body);
  if (!key.ok()) return key.status();
  c.service.key = *key;
  auto& o = c.service.options;
  o.all_ports = key->port == 0;
  c.name = body.value("name", "");
  auto forward = model::ParseEnum<model::Forward>(
      body.value("forward", std::string(model::NameOf(o.forward))));
  if (!forward.ok()) return forward.status();
  o.forward = *forward;
  auto scheduler = model::ParseEnum<model::Scheduler>(
      body.value("scheduler", std::string(model::NameOf(o.scheduler))));
  if (!scheduler.ok()) return scheduler.status();
  o.scheduler = *scheduler;
  auto persistence = UintField(body, "persistence", 0);
  auto netmask = UintField(body, "netmask", 1000);
  auto table_size = UintField(body, "table_size", o.table_size);
  for (const auto* st : {&persistence, &netmask, &table_size})
    if (!st->ok()) return st->status();
  o.persistence_timeout_s = *persistence;
  if (*netmask != 1000) o.persistence_netmask = static_cast<int>(*netmask);
  o.table_size = *table_size;
  if (auto st = model::ValidateService(c.service); !st.ok()) return st;
  return c;
}

json VrrpJson(const vrrp::InstanceStatus& s) {
  const config::VrrpInstance& c = s.config;
  json addresses = json::array();
  for (const auto& [address, prefix] : c.addresses)
    addresses.push_back(absl::StrCat(address.ToString(), "/", prefix));
  json tracks = json::array();
  for (const auto& t : s.tracks)
    tracks.push_back({{"kind", config::VrrpTrackKindName(t.track.kind)},
                      {"target", t.track.target},
                      {"weight", t.track.weight},
                      {"up", t.up}});
  json counters = {{"adverts_sent", s.counters.adverts_sent},
                   {"adverts_received", s.counters.adverts_received},
                   {"send_errors", s.counters.send_errors},
                   {"priority_zero_sent", s.counters.priority_zero_sent},
                   {"priority_zero_received", s.counters.priority_zero_received},
                   {"unknown_peer", s.counters.unknown_peer},
                   {"address_errors", s.counters.address_errors},
                   {"reannounced", s.counters.reannounced},
                   {"timers_late", s.counters.timers_late},
                   {"max_timer_late_ms", s.counters.max_timer_late_ms},
                   {"state_changes", s.transitions}};
  for (size_t i = 1; i < s.counters.dropped.size(); ++i)
    counters[vrrp::DropCounterName(static_cast<vrrp::DecodeError>(i))] = s.counters.dropped[i];
  return json{{"name", c.name},
              {"interface", c.interface},
              {"vrid", c.vrid},
              {"version", c.version},
              {"state", vrrp::StateName(s.state)},
              {"reason", vrrp::ReasonName(s.reason)},
              {"since", Iso8601(s.since)},
              {"priority", c.priority},
              {"effective_priority", s.effective_priority},
              {"master", s.master ? s.master->ToString() : ""},
              {"master_priority", s.master_priority ? json(*s.master_priority) : json(nullptr)},
              {"source", s.source.ToString()},
              {"advert_interval_ms", c.advert_interval.count()},
              {"master_advert_interval_ms", s.master_adver_interval.count()},
              {"preempt", c.preempt},
              {"unicast_peers", [&] {
                 json peers = json::array();
                 for (const auto& p : c.unicast_peers) peers.push_back(p.ToString());
                 return peers;
               }()},
              {"addresses", addresses},
              {"tracks", tracks},
              {"track_why", s.track_why},
              {"counters", counters}};
}

json ConnectionJson(const model::Connection& c) {
  return json{{"protocol", std::string(model::NameOf(c.protocol))},
              {"client", model::FormatEndpoint(c.client, c.client_port)},
              {"virtual", model::FormatEndpoint(c.vip, c.vip_port)},
              {"real", c.real ? model::FormatEndpoint(*c.real, c.real_port) : ""},
              {"state", c.closing ? "closing" : "active"},
              {"forward", model::NameOf(c.nat ? model::Forward::kNat : model::Forward::kDr)},
              {"idle_s", c.idle_s}};
}

HttpResponse Get(Operations& ops, const HttpRequest& req) {
  if (req.path == "/v1/status") {
    StatusView s = ops.Status();
    json counters;
    for (const auto& c : s.counters) counters[c.reason] = c.count;
    json tables = json::array();
    for (const auto& t : s.tables)
      tables.push_back({{"name", t.name},
                        {"capacity", t.capacity},
                        {"entries", t.entries},
                        {"insert_failures", t.insert_failures},
                        {"unrecorded", t.unrecorded}});
    return Json(200, {{"version", s.version},
                      {"config_file", s.config_file},
                      {"runtime_changes", s.runtime_changes},
                      {"interfaces", s.interfaces},
                      {"started", Iso8601(s.started)},
                      {"services", s.services},
                      {"reals", s.reals},
                      {"reals_down", s.reals_down},
                      {"conn_table_entries", s.conn_table_entries},
                      {"tables", tables},
                      {"counters", counters}});
  }
  if (req.path == "/v1/services") {
    json out = json::array();
    for (const auto& v : ops.Services()) out.push_back(ServiceJson(v));
    return Json(200, out);
  }
  if (req.path == "/v1/conns") {
    std::optional<model::ServiceKey> filter;
    if (auto it = req.query.find("service"); it != req.query.end()) {
      auto key = model::ParseServiceKey(it->second);
      if (!key.ok()) return Error(key.status());
      filter = *key;
    }
    uint32_t limit = 10000;
    if (auto it = req.query.find("limit");
        it != req.query.end() && !absl::SimpleAtoi(it->second, &limit))
      return Error(absl::InvalidArgumentError("limit must be a number"));
    auto conns = ops.Connections(filter, limit);
    if (!conns.ok()) return Error(conns.status());
    json out = json::array();
    for (const auto& c : *conns) out.push_back(ConnectionJson(c));
    return Json(200, out);
  }
  if (req.path == "/v1/vrrp") {
    json out = json::array();
    for (const auto& v : ops.Vrrp()) out.push_back(VrrpJson(v));
    return Json(200, out);
  }
  return Json(404, {{"error", absl::StrCat("no such resource: GET ", req.path)}});
}

HttpResponse Post(Operations& ops, const HttpRequest& req) {
  json body = json::object();
  if (!req.body.empty()) {
    body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object())
      return Error(absl::InvalidArgumentError("the body is not a JSON object"));
  }
  if (req.path == "/v1/service/add") {
    auto svc = ServiceFromJson(body);
    if (!svc.ok()) return Error(svc.status());
    return Done(ops.AddService(*svc), 201);
  }
  if (req.path == "/v1/service/del") {
    auto key = KeyField(body);
    if (!key.ok()) return Error(key.status());
    return Done(ops.DeleteService(*key));
  }
  if (req.path == "/v1/real/add" || req.path == "/v1/real/set" || req.path == "/v1/real/del") {
    auto key = KeyField(body);
    if (!key.ok()) return Error(key.status());
    auto real = RealField(body);
    if (!real.ok()) return Error(real.status());
    if (req.path == "/v1/real/del") return Done(ops.DeleteReal(*key, real->address, real->port));
    auto weight = UintField(body, "weight", 1);
    if (!weight.ok()) return Error(weight.status());
    if (req.path == "/v1/real/add") {
      real->weight = *weight;
      return Done(ops.AddReal(*key, *real), 201);
    }
    RealChange change{*key, real->address, real->port, std::nullopt};
    if (body.value("drain", false)) change.weight = 0;
    else if (body.contains("weight")) change.weight = *weight;
    else return Error(absl::InvalidArgumentError("real/set needs \"weight\" or \"drain\": true"));
    return Done(ops.SetReal(change));
  }
  if (req.path == "/v1/config/save") {
    auto path = ops.SaveConfig(body.value("path", ""));
    if (!path.ok()) return Error(path.status());
    return Json(200, {{"ok", true}, {"path", *path}});
  }
  if (req.path == "/v1/config/reload") return Done(ops.ReloadConfig());
  return Json(404, {{"error", absl::StrCat("no such operation: POST ", req.path)}});
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

HttpResponse Route(Operations& ops, const HttpRequest& req) {
  try {
    if (req.method == "GET") return Get(ops, req);
    if (req.method == "POST") return Post(ops, req);
  } catch (const nlohmann::json::exception& e) {
    // A field of the wrong JSON type (json::value throws on those).
    return Error(absl::InvalidArgumentError(absl::StrCat("bad request body: ", e.what())));
  }
  return Json(405, {{"error", absl::StrCat("method ", req.method, " not allowed")}});
}

}  // namespace xlb::api
