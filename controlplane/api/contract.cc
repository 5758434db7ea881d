#include "controlplane/api/contract.h"

#include <ctime>

#include "absl/strings/numbers.h"
#include "controlplane/config/parse.h"
#include "yaml-cpp/yaml.h"

namespace xlb::api {

namespace internal {

void Fail(std::string message) {
  throw ContractError(absl::InvalidArgumentError(std::move(message)));
}

}  // namespace internal

namespace {

// The query's keys.
constexpr char kServiceParam[] = "service";
constexpr char kLimitParam[] = "limit";

template <typename T>
T OrFail(absl::StatusOr<T> value) {
  if (!value.ok()) throw ContractError(value.status());
  return *std::move(value);
}

}  // namespace

namespace {

// JSON as the YAML the config file would have: scalars as their text.
YAML::Node YamlOf(const json& value) {
  YAML::Node node;
  if (value.is_object()) {
    node = YAML::Node(YAML::NodeType::Map);
    for (const auto& [key, item] : value.items()) node[key] = YamlOf(item);
  } else if (value.is_array()) {
    node = YAML::Node(YAML::NodeType::Sequence);
    for (const auto& item : value) node.push_back(YamlOf(item));
  } else if (value.is_string()) {
    node = value.get<std::string>();
  } else if (!value.is_null()) {
    node = value.dump();  // a number or a boolean, as written
  }
  return node;
}

}  // namespace

YAML::Node ServiceEntryOf(const ServiceAddRequest& r) {
  YAML::Node entry(YAML::NodeType::Map);
  // The parser wants a name; the daemon names an unnamed service itself.
  entry["name"] = r.name.value_or("unnamed");
  entry["vip"] = r.service.vip.ToString();
  entry["port"] = r.service.port == 0 ? std::string("*") : std::to_string(r.service.port);
  entry["protocol"] = std::string(model::NameOf(r.service.protocol));
  if (r.forward) entry["forward"] = std::string(model::NameOf(*r.forward));
  if (r.scheduler) entry["scheduler"] = std::string(model::NameOf(*r.scheduler));
  if (r.persistence) entry["persistence"]["timeout"] = absl::StrCat(*r.persistence, "s");
  if (r.netmask) entry["persistence"]["netmask"] = std::to_string(*r.netmask);
  if (r.table_size) entry["table_size"] = std::to_string(*r.table_size);
  if (r.drop_fragments) entry["drop_fragments"] = *r.drop_fragments ? "true" : "false";
  if (r.timeouts) entry["timeouts"] = YamlOf(*r.timeouts);
  if (r.health) entry["health"] = YamlOf(*r.health);
  if (r.on_down) entry["on_down"] = std::string(model::NameOf(*r.on_down));
  if (r.encap) entry["encap"] = std::string(model::NameOf(*r.encap));
  if (r.gue_port) entry["gue_port"] = std::to_string(*r.gue_port);
  if (r.tunnel_source) entry["tunnel_source"] = *r.tunnel_source;
  if (r.tunnel_mtu) entry["tunnel_mtu"] = std::to_string(*r.tunnel_mtu);
  if (r.mss_clamp) entry["mss_clamp"] = *r.mss_clamp ? "true" : "false";
  return entry;
}

absl::StatusOr<config::ServiceConfig> ServiceConfigOf(
    const ServiceAddRequest& r, const std::function<std::string(const std::string&)>& name_of,
    std::optional<uid_t> script_uid) {
  const YAML::Node entry = ServiceEntryOf(r);
  auto service = config::ParseServiceEntry(entry, name_of, script_uid);
  if (!service.ok()) return service.status();
  if (!r.name) service->name.clear();
  return service;
}

std::string RequestFieldName(const std::string& config_path) {
  if (config_path == "persistence.timeout") return "persistence";
  if (config_path == "persistence.netmask") return "netmask";
  if (config_path == "vip" || config_path == "port" || config_path == "protocol") return "service";
  return config_path;
}

std::string Iso8601(std::chrono::system_clock::time_point time) {
  if (time == std::chrono::system_clock::time_point{}) return "";
  std::time_t tt = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

absl::StatusOr<ConnsQuery> ConnsQuery::FromQuery(const std::map<std::string, std::string>& query) {
  ConnsQuery q;
  if (auto it = query.find(kServiceParam); it != query.end()) {
    auto key = model::ParseServiceKey(it->second);
    if (!key.ok()) return key.status();
    q.service = *key;
  }
  if (auto it = query.find(kLimitParam); it != query.end()) {
    uint32_t limit;
    if (!absl::SimpleAtoi(it->second, &limit))
      return absl::InvalidArgumentError(absl::StrCat(kLimitParam, " must be a number"));
    q.limit = limit;
  }
  return q;
}

std::string ConnsQuery::ToQuery() const {
  std::string out;
  auto add = [&](const char* key, const std::string& value) {
    absl::StrAppend(&out, out.empty() ? "?" : "&", key, "=");
    for (char ch : value) {  // percent-encode what a query must not hold
      if (isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == '_')
        out.push_back(ch);
      else
        absl::StrAppend(&out, "%", absl::Hex(static_cast<unsigned char>(ch), absl::kZeroPad2));
    }
  };
  if (service) add(kServiceParam, service->ToString());
  if (limit) add(kLimitParam, absl::StrCat(*limit));
  return out;
}

}  // namespace xlb::api

namespace nlohmann {

using xlb::api::OrFail;

void adl_serializer<xlb::model::IpAddress>::to_json(json& out, const xlb::model::IpAddress& value) {
  out = value.ToString();
}
void adl_serializer<xlb::model::IpAddress>::from_json(const json& in,
                                                      xlb::model::IpAddress& value) {
  value = OrFail(xlb::model::IpAddress::Parse(in.get<std::string>()));
}

void adl_serializer<xlb::model::ServiceKey>::to_json(json& out,
                                                     const xlb::model::ServiceKey& value) {
  out = value.ToString();
}
void adl_serializer<xlb::model::ServiceKey>::from_json(const json& in,
                                                       xlb::model::ServiceKey& value) {
  value = OrFail(xlb::model::ParseServiceKey(in.get<std::string>()));
}

void adl_serializer<xlb::api::RealRef>::to_json(json& out, const xlb::api::RealRef& value) {
  out = value.port ? xlb::model::FormatEndpoint(value.address, value.port)
                   : value.address.ToString();
}
void adl_serializer<xlb::api::RealRef>::from_json(const json& in, xlb::api::RealRef& value) {
  const std::string text = in.get<std::string>();
  if (text.find('@') != std::string::npos)
    xlb::api::internal::Fail("give the weight as \"weight\", not in \"real\"");
  xlb::model::RealSpec spec = OrFail(xlb::model::ParseRealSpec(text));
  value = {spec.address, spec.port};
}

void adl_serializer<xlb::api::Timestamp>::to_json(json& out, const xlb::api::Timestamp& value) {
  out = xlb::api::Iso8601(value.time);
}
void adl_serializer<xlb::api::Timestamp>::from_json(const json& in, xlb::api::Timestamp& value) {
  const std::string text = in.get<std::string>();
  value.time = {};
  if (text.empty()) return;
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0')
    xlb::api::internal::Fail(absl::StrCat("'", text, "' is not a time as 2006-01-02T15:04:05Z"));
  value.time = std::chrono::system_clock::from_time_t(timegm(&tm));
}

void adl_serializer<xlb::api::ReasonCounts>::to_json(json& out,
                                                     const xlb::api::ReasonCounts& value) {
  out = nullptr;  // as it always was with no counters
  for (const auto& [reason, count] : value.by_reason) out[reason] = count;
}
void adl_serializer<xlb::api::ReasonCounts>::from_json(const json& in,
                                                       xlb::api::ReasonCounts& value) {
  value.by_reason.clear();
  if (!in.is_null()) in.get_to(value.by_reason);
}

void adl_serializer<xlb::api::VrrpCounters>::to_json(json& out,
                                                     const xlb::api::VrrpCounters& value) {
  xlb::api::WriteFields(out, value);
  for (const auto& [name, count] : value.dropped) out[name] = count;
}
void adl_serializer<xlb::api::VrrpCounters>::from_json(const json& in,
                                                       xlb::api::VrrpCounters& value) {
  xlb::api::ReadFields(in, value);
  json fixed;
  xlb::api::WriteFields(fixed, value);
  value.dropped.clear();
  for (const auto& [name, count] : in.items()) {
    if (fixed.contains(name)) continue;
    xlb::api::internal::Check<uint64_t>(name.c_str(), count, false);
    value.dropped[name] = count.get<uint64_t>();
  }
}

}  // namespace nlohmann
