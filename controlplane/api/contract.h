// The API's contract, written once: every request and answer as a struct,
// the JSON of each in one place (its JsonFields list, or its serializer
// below), and the route table that xlbd's routes serve from and xlbctl
// builds its requests from. Renaming a key here changes both sides; an
// answer missing a key fails to decode (controlplane/api/contract_test.cc).
//
// No data plane here (xlbctl links this): model/ and the config's types only.
#ifndef XLB_CONTROLPLANE_API_CONTRACT_H_
#define XLB_CONTROLPLANE_API_CONTRACT_H_

#include <array>
#include <chrono>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "controlplane/bgp/status.h"
#include "controlplane/config/model.h"
#include "model/address.h"
#include "model/names.h"
#include "model/service.h"
#include "model/traffic.h"
#include "nlohmann/json.hpp"
#include "yaml-cpp/yaml.h"

namespace xlb::api {

using nlohmann::json;

using model::ConnState;
// A real's health check verdict; kNone: not checked.
enum class RealHealth { kNone, kUp, kDown };

}  // namespace xlb::api

namespace xlb::model {
template <>
struct EnumNames<api::RealHealth> {
  static constexpr absl::string_view kWhat = "health";
  static constexpr std::array<std::pair<api::RealHealth, absl::string_view>, 3> kValues{
      {{api::RealHealth::kNone, "none"},
       {api::RealHealth::kUp, "up"},
       {api::RealHealth::kDown, "down"}}};
};
}  // namespace xlb::model

namespace xlb::api {

// ---- How a struct's JSON is written -------------------------------------
//
// A struct whose JSON is an object of its fields lists them once:
//   template <> struct JsonFields<S> {
//     static void Each(auto& s, auto&& field) { field("key", s.member); ... }
//   };
// A std::optional member is left out while unset and may be missing; every
// other member must be there. Values are checked as the API always did:
// a required string that is missing or not a string is `missing string
// field "key"`, an unsigned field that is not one is `"key" must be a
// non-negative integer`.
template <typename T>
struct JsonFields {};

template <typename T>
concept HasJsonFields = requires(T& t) { JsonFields<T>::Each(t, [](const char*, auto&) {}); };

// A value that is there but wrong (an address that does not parse, an
// unknown name, a missing key): from_json throws it, Decode returns it.
class ContractError : public std::runtime_error {
 public:
  explicit ContractError(absl::Status status)
      : std::runtime_error(std::string(status.message())), status_(std::move(status)) {}
  const absl::Status& status() const { return status_; }

 private:
  absl::Status status_;
};

// `value` from JSON, or why not: a ContractError's status, or nlohmann's own
// error (a value of the wrong JSON type) after `what`.
template <typename T>
absl::StatusOr<T> Decode(const json& value, absl::string_view what) {
  try {
    return value.get<T>();
  } catch (const ContractError& e) {
    return e.status();
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", e.what()));
  }
}

// A time as ISO 8601 UTC to the second, "2026-12-03T07:21:49Z"; "" for none
// (the epoch).
struct Timestamp {
  std::chrono::system_clock::time_point time{};
};
std::string Iso8601(std::chrono::system_clock::time_point time);

// A real as a request names it: "ADDR[:PORT]" (the weight has a field of
// its own).
struct RealRef {
  model::IpAddress address;
  uint16_t port = 0;  // 0: the service's port

  bool operator==(const RealRef&) const = default;
};

// Always written, as null while unset.
template <typename T>
struct Nullable {
  std::optional<T> value;
};

// Values that are JSON strings (for the "missing string field" check).
template <typename T>
inline constexpr bool kStringOnWire = std::is_same_v<T, std::string> || std::is_enum_v<T>;
template <>
inline constexpr bool kStringOnWire<model::ServiceKey> = true;
template <>
inline constexpr bool kStringOnWire<model::IpAddress> = true;
template <>
inline constexpr bool kStringOnWire<RealRef> = true;
template <>
inline constexpr bool kStringOnWire<Timestamp> = true;

namespace internal {

[[noreturn]] void Fail(std::string message);

template <typename T>
void Check(const char* key, const json& value, bool required) {
  if constexpr (kStringOnWire<T>) {
    if (required && !value.is_string()) Fail(absl::StrCat("missing string field \"", key, "\""));
  } else if constexpr (std::is_unsigned_v<T> && !std::is_same_v<T, bool>) {
    if (!value.is_number_unsigned())
      Fail(absl::StrCat("\"", key, "\" must be a non-negative integer"));
  }
}

template <typename T>
void Put(json& out, const char* key, const T& value) {
  out[key] = value;
}
template <typename T>
void Put(json& out, const char* key, const std::optional<T>& value) {
  if (value) out[key] = *value;
}

template <typename T>
void Get(const json& in, const char* key, T& value) {
  auto it = in.find(key);
  if (it == in.end())
    Fail(absl::StrCat(kStringOnWire<T> ? "missing string field \"" : "missing field \"", key, "\""));
  Check<T>(key, *it, true);
  it->get_to(value);
}
template <typename T>
void Get(const json& in, const char* key, std::optional<T>& value) {
  auto it = in.find(key);
  if (it == in.end()) return value.reset();
  Check<T>(key, *it, false);
  value = it->get<T>();
}

}  // namespace internal

template <HasJsonFields T>
void WriteFields(json& out, const T& value) {
  if (!out.is_object()) out = json::object();
  JsonFields<T>::Each(value, [&](const char* key, const auto& field) {
    internal::Put(out, key, field);
  });
}

template <HasJsonFields T>
void ReadFields(const json& in, T& value) {
  if (!in.is_object()) internal::Fail(absl::StrCat("expected an object, not ", in.type_name()));
  JsonFields<T>::Each(value, [&](const char* key, auto& field) { internal::Get(in, key, field); });
}

// ---- Requests -------------------------------------------------------------

struct StatusRequest {
  bool operator==(const StatusRequest&) const = default;
};
struct ServicesRequest {
  bool operator==(const ServicesRequest&) const = default;
};
struct VrrpRequest {
  bool operator==(const VrrpRequest&) const = default;
};
struct BgpRequest {
  bool operator==(const BgpRequest&) const = default;
};
// xlbctl bgp drain / undrain (Operations::SetBgpDrained).
struct BgpDrainRequest {
  bool operator==(const BgpDrainRequest&) const = default;
};
struct BgpUndrainRequest {
  bool operator==(const BgpUndrainRequest&) const = default;
};
struct SyncRequest {
  bool operator==(const SyncRequest&) const = default;
};

// GET /v1/conns?service=VIP:PORT/proto&limit=N: in the query, not a body.
struct ConnsQuery {
  std::optional<model::ServiceKey> service;
  std::optional<uint32_t> limit;

  static absl::StatusOr<ConnsQuery> FromQuery(const std::map<std::string, std::string>& query);
  std::string ToQuery() const;  // "" or "?service=...", percent-encoded
};

// What a service in the config file can say (xlb.yaml(5)), checked by the
// config's own parser (ServiceConfigOf below). timeouts and health are the
// config's maps of those names as they are, e.g. {"tcp": "15m"} and
// {"type": "http", "path": "/health", "expect": [200, 204], "interval": "2s"}.
struct ServiceAddRequest {
  model::ServiceKey service;
  std::optional<std::string> name;
  std::optional<model::Forward> forward;
  std::optional<model::Scheduler> scheduler;
  std::optional<uint32_t> persistence;  // seconds (persistence.timeout)
  std::optional<uint32_t> netmask;      // persistence prefix length (persistence.netmask)
  std::optional<uint32_t> table_size;
  std::optional<bool> drop_fragments;
  std::optional<json> timeouts;         // the config's timeouts: map
  std::optional<json> health;           // the config's health: map
  std::optional<config::OnDown> on_down;
  // forward tunnel's keys, as in the config (encap, gue_port, ...).
  std::optional<model::Encap> encap;
  std::optional<uint32_t> gue_port;
  std::optional<std::string> tunnel_source;  // "192.0.2.128/25"
  std::optional<uint32_t> tunnel_mtu;
  std::optional<bool> mss_clamp;

  bool operator==(const ServiceAddRequest&) const = default;
};

// The service `request` asks for, read by the config's parser as one entry
// of services: (config::ParseServiceEntry), so that values are accepted and
// refused as in the file. An error names the field by name_of(its path in
// the config's service map, e.g. "health.interval", "persistence.netmask");
// with script_uid, also what the daemon checks on the machine.
// The request as an entry of the config's services: (a YAML map), which
// ServiceConfigOf reads; an unset name is "unnamed" there.
YAML::Node ServiceEntryOf(const ServiceAddRequest& request);
absl::StatusOr<config::ServiceConfig> ServiceConfigOf(
    const ServiceAddRequest& request, const std::function<std::string(const std::string&)>& name_of,
    std::optional<uid_t> script_uid);
// name_of for the API: the request's own key ("netmask" for
// persistence.netmask, "health.interval" as it is).
std::string RequestFieldName(const std::string& config_path);

struct ServiceDelRequest {
  model::ServiceKey service;

  bool operator==(const ServiceDelRequest&) const = default;
};

struct RealAddRequest {
  model::ServiceKey service;
  RealRef real;
  std::optional<uint32_t> weight;

  bool operator==(const RealAddRequest&) const = default;
};

// Exactly one of a weight and drain: true (routes.cc says so).
struct RealSetRequest {
  model::ServiceKey service;
  RealRef real;
  std::optional<uint32_t> weight;
  std::optional<bool> drain;

  bool operator==(const RealSetRequest&) const = default;
};

struct RealDelRequest {
  model::ServiceKey service;
  RealRef real;

  bool operator==(const RealDelRequest&) const = default;
};

// Removes the real's flows from the flow tables now (routes.cc).
struct RealFlushRequest {
  model::ServiceKey service;
  RealRef real;

  bool operator==(const RealFlushRequest&) const = default;
};

struct ConfigSaveRequest {
  std::optional<std::string> path;  // unset: the daemon's own file

  bool operator==(const ConfigSaveRequest&) const = default;
};

struct ConfigReloadRequest {
  bool operator==(const ConfigReloadRequest&) const = default;
};

// Which real takes the flow CLIENT:PORT -> the service key's VIP:PORT: a
// frame of it run through the loaded program as a trace (changes nothing).
struct TraceRequest {
  model::ServiceKey flow;   // the VIP, port and protocol the client sends to
  model::IpAddress client;
  uint32_t client_port = 0;
  std::optional<bool> syn;  // TCP: a SYN (a new connection); else an ACK
  std::optional<std::string> interface;  // where it comes in; else the first attached

  bool operator==(const TraceRequest&) const = default;
};

// ---- Answers --------------------------------------------------------------

struct Done {
  bool ok = true;
};

struct Saved {
  bool ok = true;
  std::string path;
};

// Every error: its status code says what kind (routes.h).
struct ErrorAnswer {
  std::string error;
};

struct RealInfo {
  model::IpAddress address;
  uint16_t port = 0;              // effective
  uint32_t weight = 0;            // configured
  uint32_t effective_weight = 0;  // in the data plane (0 while down)
  RealHealth health = RealHealth::kNone;
  std::string health_detail;      // the last check's result
  Timestamp since;                // of the health state
  uint64_t checks = 0;
  uint64_t local_errors = 0;
  model::TrafficCounters counters;
  // In the connection table now, as ipvsadm's ActiveConn and InActConn
  // (model::ConnectionCounts).
  uint64_t active_connections = 0;
  uint64_t inactive_connections = 0;
};

// A tunnel service's settings as configured: source "" and mtu 0 are the
// defaults (the director's address and the egress link's MTU toward the reals).
struct TunnelInfo {
  model::Encap encap = model::Encap::kIpip;
  uint16_t gue_port = 0;
  std::string source;
  uint16_t mtu = 0;
  bool mss_clamp = true;
};

struct ServiceInfo {
  std::string name;
  model::ServiceKey service;
  model::IpAddress vip;
  uint16_t port = 0;
  model::Protocol protocol = model::Protocol::kTcp;
  model::Forward forward = model::Forward::kDr;
  model::Scheduler scheduler = model::Scheduler::kMaglev;
  uint32_t persistence = 0;
  uint32_t table_size = 0;
  config::HealthType check = config::HealthType::kNone;
  config::OnDown on_down = config::OnDown::kKeep;  // what a real's failed check does to its flows
  Nullable<TunnelInfo> tunnel;  // null unless forward tunnel
  model::TrafficCounters counters;
  std::string error;  // what could not be applied ("" = all was)
  std::vector<RealInfo> reals;
};

// Packets by reason, in the reasons' alphabetical order (null when none).
struct ReasonCounts {
  std::map<std::string, uint64_t> by_reason;
};

// How the XDP program is attached to one interface: "libxdp-dispatcher"
// (beside other programs attached through libxdp), "direct-native" (the
// interface's only program, where libxdp's dispatcher cannot load),
// "direct-generic" or "libxdp-dispatcher-generic" (xlbd --xdp-mode=generic).
struct XdpAttachInfo {
  std::string interface;
  std::string attach;
};

struct StatusInfo {
  std::string version;
  std::string config_file;
  bool runtime_changes = false;
  std::vector<std::string> interfaces;
  std::vector<XdpAttachInfo> xdp;
  Timestamp started;
  uint64_t services = 0, reals = 0, reals_down = 0;
  uint64_t conn_table_entries = 0;
  std::vector<model::TableStats> tables;
  ReasonCounts counters;
};

struct ConnectionInfo {
  model::Protocol protocol = model::Protocol::kTcp;
  std::string client;   // "ADDR:PORT"
  std::string virtual_address;
  std::string real;     // "" when the real is gone
  ConnState state = ConnState::kActive;
  model::Forward forward = model::Forward::kDr;
  double idle_s = 0;
  bool from_peer = false;  // a peer director's copy (sync), no packet of it here yet
};

// GET /v1/conns: up to the query's limit of entries, and how many more
// there are (the total matched the query).
struct ConnsAnswer {
  std::vector<ConnectionInfo> connections;
  uint64_t total = 0;
  uint64_t remaining = 0;  // total - those listed
};

// The limit of /v1/conns when the query gives none.
inline constexpr uint32_t kDefaultConnsLimit = 10000;

// What the program does with a flow's frame (xlbctl trace).
struct TraceInfo {
  std::string flow;            // "CLIENT:PORT -> VIP:PORT/proto"
  std::string packet;          // "syn", "ack" (TCP) or "udp"
  std::string interface;       // where it came in ("" : no interface is attached)
  std::string verdict;         // "XDP_TX", "XDP_REDIRECT", "XDP_PASS", "XDP_DROP"
  std::string service;         // "VIP:PORT/proto" of the service, "" : none
  std::string service_name;
  std::string chosen_by;       // "connection", "persistence", "maglev", "" : no real
  Nullable<uint32_t> maglev_slot;
  std::string real;            // "ADDR:PORT", "" : none
  std::string forward;         // "dr", "nat", ""
  bool records = false;        // a real packet would record the flow (table entry)
  std::string out_interface;   // XDP_TX / XDP_REDIRECT: out of which interface
  std::string next_hop_mac;    // the frame's rewritten Ethernet addresses
  std::string source_mac;
  std::string destination;     // "ADDR:PORT" after the program (NAT: the real's)
  std::vector<std::string> counters;  // what a real packet would count
};

struct VrrpTrackInfo {
  config::VrrpTrack::Kind kind = config::VrrpTrack::kService;
  std::string target;
  int weight = 0;
  bool up = true;
};

// Written as one object: these, and each drop reason's count by its name.
struct VrrpCounters {
  uint64_t adverts_sent = 0, adverts_received = 0, send_errors = 0;
  uint64_t priority_zero_sent = 0, priority_zero_received = 0, unknown_peer = 0;
  uint64_t address_errors = 0, reannounced = 0, timers_late = 0, max_timer_late_ms = 0;
  uint64_t state_changes = 0;
  std::map<std::string, uint64_t> dropped;  // "bad_ttl", "wrong_vrid", ...
};

struct VrrpInfo {
  std::string name;
  std::string interface;
  uint8_t vrid = 0;
  int version = 3;
  std::string state;   // "MASTER", "BACKUP", ... (vrrp::StateName)
  std::string reason;  // of the last transition (vrrp::ReasonName)
  Timestamp since;
  uint8_t priority = 0;
  uint8_t effective_priority = 0;
  std::string master;  // "" when none is known
  Nullable<uint8_t> master_priority;
  model::IpAddress source;
  int64_t advert_interval_ms = 0;
  int64_t master_advert_interval_ms = 0;
  bool preempt = true;
  std::vector<model::IpAddress> unicast_peers;
  std::vector<std::string> addresses;  // "ADDR/PREFIX"
  std::vector<VrrpTrackInfo> tracks;
  std::string track_why;
  VrrpCounters counters;
};

// One VIP of the bgp: section (operations.h's BgpVipView).
struct BgpVipInfo {
  model::IpAddress vip;
  bool healthy = false;    // one of its services has a real that is up
  bool wanted = false;     // healthy, not drained, xlbd not stopping: to be announced
  bool announced = false;  // FRR holds its `network` line (as of the last read)
};

// GET /v1/bgp: the bgp: section at work (operations.h's BgpView); the
// sessions as FRR reports them (bgp::Session). configured false: no bgp:
// section, every other key empty.
struct BgpInfo {
  bool configured = false;
  uint32_t local_as = 0;
  std::string router_id;
  std::string frr_pathspace;  // "" = the system's FRR
  bool drained = false;
  std::vector<BgpVipInfo> vips;
  std::vector<bgp::Session> sessions;
  Timestamp sessions_time;  // when bgpd was asked ("" never)
  std::string sessions_error;
  Timestamp last_reconcile;  // "" none yet
  bool last_reconcile_ok = false;
  std::string last_error;  // of the last failed vtysh call
  uint64_t announcements = 0, withdrawals = 0, frr_errors = 0, reconciles = 0;
};

// POST /v1/bgp/drain and /v1/bgp/undrain: the state asked for, now set.
struct BgpDrained {
  bool ok = true;
  bool drained = false;
};

// One peer of the sync: section (operations.h's SyncPeerView).
struct SyncPeerInfo {
  model::IpAddress address;
  bool up = false;  // heard within the last 3 s
  uint32_t sender_id = 0;
  uint64_t epoch = 0;  // CLOCK_REALTIME ns at the peer's start
  uint64_t highest_sequence = 0;
  uint64_t datagrams_received = 0, records_received = 0, gaps = 0, missing = 0;
  double lag_p50_ms = 0, lag_p99_ms = 0;
  Nullable<double> last_heard_s;  // seconds ago; null: never heard
  std::map<std::string, uint64_t> dropped;  // by reason: any may be absent
};

// GET /v1/sync: flow-state sync at work (operations.h's SyncView). enabled
// false: no sync: section, every other key empty.
struct SyncInfo {
  bool enabled = false;
  uint32_t node_id = 0;
  uint64_t epoch = 0;  // CLOCK_REALTIME ns at this xlbd's start
  uint16_t port = 0;
  std::string mode;  // "batched" or "per-flow"
  uint64_t last_sequence_sent = 0, datagrams_sent = 0, records_sent = 0;
  // The refresh walk: passes finished, REFRESH records sent, last pass (s).
  uint64_t refresh_passes = 0, refresh_records = 0;
  double last_refresh_seconds = 0;
  // By reason, by outcome: maps, any key may be absent.
  std::map<std::string, uint64_t> dropped;
  std::map<std::string, uint64_t> applied;        // in conn_table
  std::map<std::string, uint64_t> applied_reply;  // in nat_replies
  uint64_t held = 0;
  bool ready = false;
  std::string resync;  // "none", "running", "done", "timed out", "failed"
  std::string resync_detail;
  std::vector<SyncPeerInfo> peers;
};

// The status page's document (GET /status.json on the metrics listener,
// controlplane/api/status_page.h): the answers of /v1/status, /v1/services,
// /v1/vrrp and /v1/bgp read together, so that rates come from one sample.
struct StatusPageInfo {
  std::string host;        // this director's host name
  // When it was read, in ms of the host's monotonic clock: rates divide
  // by its differences.
  uint64_t sample_ms = 0;
  StatusInfo status;
  std::vector<ServiceInfo> services;
  std::vector<VrrpInfo> vrrp;
  BgpInfo bgp;
};

// ---- The JSON of each struct: one line per key ----------------------------

#define XLB_JSON_FIELDS(Type, ...)                       \
  template <>                                            \
  struct JsonFields<Type> {                              \
    static void Each(auto& s, auto&& field) { __VA_ARGS__; } \
  }

XLB_JSON_FIELDS(StatusRequest, (void)s, (void)field);
XLB_JSON_FIELDS(ServicesRequest, (void)s, (void)field);
XLB_JSON_FIELDS(VrrpRequest, (void)s, (void)field);
XLB_JSON_FIELDS(BgpRequest, (void)s, (void)field);
XLB_JSON_FIELDS(BgpDrainRequest, (void)s, (void)field);
XLB_JSON_FIELDS(BgpUndrainRequest, (void)s, (void)field);
XLB_JSON_FIELDS(SyncRequest, (void)s, (void)field);
XLB_JSON_FIELDS(ConfigReloadRequest, (void)s, (void)field);
XLB_JSON_FIELDS(ServiceAddRequest, field("service", s.service); field("name", s.name);
                field("forward", s.forward); field("scheduler", s.scheduler);
                field("persistence", s.persistence); field("netmask", s.netmask);
                field("table_size", s.table_size); field("drop_fragments", s.drop_fragments);
                field("timeouts", s.timeouts); field("health", s.health);
                field("on_down", s.on_down); field("encap", s.encap);
                field("gue_port", s.gue_port); field("tunnel_source", s.tunnel_source);
                field("tunnel_mtu", s.tunnel_mtu); field("mss_clamp", s.mss_clamp));
XLB_JSON_FIELDS(ServiceDelRequest, field("service", s.service));
XLB_JSON_FIELDS(RealAddRequest, field("service", s.service); field("real", s.real);
                field("weight", s.weight));
XLB_JSON_FIELDS(RealSetRequest, field("service", s.service); field("real", s.real);
                field("weight", s.weight); field("drain", s.drain));
XLB_JSON_FIELDS(RealDelRequest, field("service", s.service); field("real", s.real));
XLB_JSON_FIELDS(RealFlushRequest, field("service", s.service); field("real", s.real));
XLB_JSON_FIELDS(ConfigSaveRequest, field("path", s.path));
XLB_JSON_FIELDS(TraceRequest, field("flow", s.flow); field("client", s.client);
                field("client_port", s.client_port); field("syn", s.syn);
                field("interface", s.interface));
XLB_JSON_FIELDS(TraceInfo, field("flow", s.flow); field("packet", s.packet);
                field("interface", s.interface); field("verdict", s.verdict);
                field("service", s.service); field("service_name", s.service_name);
                field("chosen_by", s.chosen_by); field("maglev_slot", s.maglev_slot);
                field("real", s.real); field("forward", s.forward); field("records", s.records);
                field("out_interface", s.out_interface); field("next_hop_mac", s.next_hop_mac);
                field("source_mac", s.source_mac); field("destination", s.destination);
                field("counters", s.counters));
XLB_JSON_FIELDS(Done, field("ok", s.ok));
XLB_JSON_FIELDS(Saved, field("ok", s.ok); field("path", s.path));
XLB_JSON_FIELDS(ErrorAnswer, field("error", s.error));
XLB_JSON_FIELDS(model::TrafficCounters, field("packets", s.packets); field("bytes", s.bytes);
                field("new_flows", s.new_flows));
XLB_JSON_FIELDS(model::FlushedEntries, field("connections", s.connections);
                field("nat_replies", s.nat_replies); field("persistence", s.persistence));
XLB_JSON_FIELDS(model::TableStats, field("name", s.name); field("capacity", s.capacity);
                field("entries", s.entries); field("insert_failures", s.insert_failures);
                field("unrecorded", s.unrecorded));
XLB_JSON_FIELDS(RealInfo, field("address", s.address); field("port", s.port);
                field("weight", s.weight); field("effective_weight", s.effective_weight);
                field("health", s.health); field("health_detail", s.health_detail);
                field("since", s.since); field("checks", s.checks);
                field("local_errors", s.local_errors); field("counters", s.counters);
                field("active_connections", s.active_connections);
                field("inactive_connections", s.inactive_connections));
XLB_JSON_FIELDS(TunnelInfo, field("encap", s.encap); field("gue_port", s.gue_port);
                field("source", s.source); field("mtu", s.mtu); field("mss_clamp", s.mss_clamp));
XLB_JSON_FIELDS(ServiceInfo, field("name", s.name); field("service", s.service);
                field("vip", s.vip); field("port", s.port); field("protocol", s.protocol);
                field("forward", s.forward); field("scheduler", s.scheduler);
                field("persistence", s.persistence); field("table_size", s.table_size);
                field("check", s.check); field("on_down", s.on_down); field("tunnel", s.tunnel);
                field("counters", s.counters); field("error", s.error); field("reals", s.reals));
XLB_JSON_FIELDS(XdpAttachInfo, field("interface", s.interface); field("attach", s.attach));
XLB_JSON_FIELDS(StatusInfo, field("version", s.version); field("config_file", s.config_file);
                field("runtime_changes", s.runtime_changes);
                field("interfaces", s.interfaces); field("xdp", s.xdp); field("started", s.started);
                field("services", s.services); field("reals", s.reals);
                field("reals_down", s.reals_down);
                field("conn_table_entries", s.conn_table_entries); field("tables", s.tables);
                field("counters", s.counters));
XLB_JSON_FIELDS(ConnectionInfo, field("protocol", s.protocol); field("client", s.client);
                field("virtual", s.virtual_address); field("real", s.real);
                field("state", s.state); field("forward", s.forward);
                field("idle_s", s.idle_s); field("from_peer", s.from_peer));
XLB_JSON_FIELDS(ConnsAnswer, field("connections", s.connections); field("total", s.total);
                field("remaining", s.remaining));
XLB_JSON_FIELDS(VrrpTrackInfo, field("kind", s.kind); field("target", s.target);
                field("weight", s.weight); field("up", s.up));
// The fixed counters; `dropped` is merged in by VrrpCounters' serializer.
XLB_JSON_FIELDS(VrrpCounters, field("adverts_sent", s.adverts_sent);
                field("adverts_received", s.adverts_received);
                field("send_errors", s.send_errors);
                field("priority_zero_sent", s.priority_zero_sent);
                field("priority_zero_received", s.priority_zero_received);
                field("unknown_peer", s.unknown_peer);
                field("address_errors", s.address_errors);
                field("reannounced", s.reannounced); field("timers_late", s.timers_late);
                field("max_timer_late_ms", s.max_timer_late_ms);
                field("state_changes", s.state_changes));
XLB_JSON_FIELDS(VrrpInfo, field("name", s.name); field("interface", s.interface);
                field("vrid", s.vrid); field("version", s.version); field("state", s.state);
                field("reason", s.reason); field("since", s.since);
                field("priority", s.priority);
                field("effective_priority", s.effective_priority);
                field("master", s.master); field("master_priority", s.master_priority);
                field("source", s.source);
                field("advert_interval_ms", s.advert_interval_ms);
                field("master_advert_interval_ms", s.master_advert_interval_ms);
                field("preempt", s.preempt); field("unicast_peers", s.unicast_peers);
                field("addresses", s.addresses); field("tracks", s.tracks);
                field("track_why", s.track_why); field("counters", s.counters));
XLB_JSON_FIELDS(BgpVipInfo, field("vip", s.vip); field("healthy", s.healthy);
                field("wanted", s.wanted); field("announced", s.announced));
XLB_JSON_FIELDS(bgp::Session, field("neighbor", s.neighbor); field("remote_as", s.remote_as);
                field("state", s.state); field("uptime_ms", s.uptime_ms);
                field("prefixes_sent", s.prefixes_sent);
                field("prefixes_received", s.prefixes_received);
                field("connections_dropped", s.connections_dropped);
                field("description", s.description); field("bfd", s.bfd));
XLB_JSON_FIELDS(BgpInfo, field("configured", s.configured); field("local_as", s.local_as);
                field("router_id", s.router_id); field("frr_pathspace", s.frr_pathspace);
                field("drained", s.drained); field("vips", s.vips);
                field("sessions", s.sessions); field("sessions_time", s.sessions_time);
                field("sessions_error", s.sessions_error);
                field("last_reconcile", s.last_reconcile);
                field("last_reconcile_ok", s.last_reconcile_ok);
                field("last_error", s.last_error); field("announcements", s.announcements);
                field("withdrawals", s.withdrawals); field("frr_errors", s.frr_errors);
                field("reconciles", s.reconciles));
XLB_JSON_FIELDS(BgpDrained, field("ok", s.ok); field("drained", s.drained));
XLB_JSON_FIELDS(SyncPeerInfo, field("address", s.address); field("up", s.up);
                field("sender_id", s.sender_id); field("epoch", s.epoch);
                field("highest_sequence", s.highest_sequence);
                field("datagrams_received", s.datagrams_received);
                field("records_received", s.records_received); field("gaps", s.gaps);
                field("missing", s.missing); field("lag_p50_ms", s.lag_p50_ms);
                field("lag_p99_ms", s.lag_p99_ms); field("last_heard_s", s.last_heard_s);
                field("dropped", s.dropped));
XLB_JSON_FIELDS(SyncInfo, field("enabled", s.enabled); field("node_id", s.node_id);
                field("epoch", s.epoch); field("port", s.port); field("mode", s.mode);
                field("last_sequence_sent", s.last_sequence_sent);
                field("datagrams_sent", s.datagrams_sent); field("records_sent", s.records_sent);
                field("refresh_passes", s.refresh_passes);
                field("refresh_records", s.refresh_records);
                field("last_refresh_s", s.last_refresh_seconds);
                field("dropped", s.dropped); field("applied", s.applied);
                field("applied_reply", s.applied_reply); field("held", s.held);
                field("ready", s.ready); field("resync", s.resync);
                field("resync_detail", s.resync_detail); field("peers", s.peers));
XLB_JSON_FIELDS(StatusPageInfo, field("host", s.host); field("sample_ms", s.sample_ms);
                field("status", s.status); field("services", s.services);
                field("vrrp", s.vrrp); field("bgp", s.bgp));

#undef XLB_JSON_FIELDS

// ---- The routes -----------------------------------------------------------

struct RouteSpec {
  std::string_view verb;    // what xlbctl calls it
  std::string_view method;  // "GET" or "POST"
  std::string_view path;
  int ok_status = 200;
};

// A route with the types of its request and its answer.
template <typename Req, typename Resp>
struct Endpoint {
  using Request = Req;
  using Response = Resp;
  RouteSpec spec;
};

inline constexpr Endpoint<StatusRequest, StatusInfo> kStatus{{"status", "GET", "/v1/status"}};
inline constexpr Endpoint<ServicesRequest, std::vector<ServiceInfo>> kServices{
    {"services", "GET", "/v1/services"}};
inline constexpr Endpoint<ConnsQuery, ConnsAnswer> kConns{
    {"conns", "GET", "/v1/conns"}};
inline constexpr Endpoint<VrrpRequest, std::vector<VrrpInfo>> kVrrp{{"vrrp", "GET", "/v1/vrrp"}};
inline constexpr Endpoint<ServiceAddRequest, Done> kServiceAdd{
    {"service add", "POST", "/v1/service/add", 201}};
inline constexpr Endpoint<ServiceDelRequest, Done> kServiceDel{
    {"service del", "POST", "/v1/service/del"}};
inline constexpr Endpoint<RealAddRequest, Done> kRealAdd{{"real add", "POST", "/v1/real/add", 201}};
inline constexpr Endpoint<RealSetRequest, Done> kRealSet{{"real set", "POST", "/v1/real/set"}};
inline constexpr Endpoint<RealDelRequest, Done> kRealDel{{"real del", "POST", "/v1/real/del"}};
inline constexpr Endpoint<RealFlushRequest, model::FlushedEntries> kRealFlush{
    {"real flush", "POST", "/v1/real/flush"}};
inline constexpr Endpoint<ConfigSaveRequest, Saved> kConfigSave{
    {"config save", "POST", "/v1/config/save"}};
inline constexpr Endpoint<ConfigReloadRequest, Done> kConfigReload{
    {"config reload", "POST", "/v1/config/reload"}};
// A POST although it changes nothing: it runs the program (bpf/trace.h).
inline constexpr Endpoint<TraceRequest, TraceInfo> kTrace{{"trace", "POST", "/v1/trace"}};
inline constexpr Endpoint<BgpRequest, BgpInfo> kBgp{{"bgp", "GET", "/v1/bgp"}};
inline constexpr Endpoint<BgpDrainRequest, BgpDrained> kBgpDrain{
    {"bgp drain", "POST", "/v1/bgp/drain"}};
inline constexpr Endpoint<BgpUndrainRequest, BgpDrained> kBgpUndrain{
    {"bgp undrain", "POST", "/v1/bgp/undrain"}};
inline constexpr Endpoint<SyncRequest, SyncInfo> kSync{{"sync", "GET", "/v1/sync"}};

// Every route; the server has a handler for each request type.
inline constexpr auto kEndpoints = std::make_tuple(kStatus, kServices, kConns, kVrrp, kServiceAdd,
                                                   kServiceDel, kRealAdd, kRealSet, kRealDel,
                                                   kRealFlush, kConfigSave, kConfigReload, kTrace,
                                                   kBgp, kBgpDrain, kBgpUndrain, kSync);
inline constexpr auto kRoutes =
    std::apply([](const auto&... e) { return std::array<RouteSpec, sizeof...(e)>{e.spec...}; },
               kEndpoints);

// A request as it goes on the wire.
struct WireRequest {
  std::string method;
  std::string target;  // path and query
  json body;           // null: none (GET)
};

template <typename Req, typename Resp>
WireRequest ToWire(const Endpoint<Req, Resp>& endpoint, const Req& request) {
  WireRequest out{std::string(endpoint.spec.method), std::string(endpoint.spec.path), nullptr};
  if constexpr (requires { request.ToQuery(); }) out.target += request.ToQuery();
  else if (endpoint.spec.method != "GET") out.body = request;
  return out;
}

}  // namespace xlb::api

// How nlohmann reads and writes the types above, and the named enums and
// model types they hold.
namespace nlohmann {

template <typename T>
struct adl_serializer<T, std::enable_if_t<xlb::api::HasJsonFields<T>>> {
  static void to_json(json& out, const T& value) { xlb::api::WriteFields(out, value); }
  static void from_json(const json& in, T& value) { xlb::api::ReadFields(in, value); }
};

// A named enum as its name (model/names.h); an unknown name is an error.
template <typename E>
struct NamedEnumSerializer {
  static void to_json(json& out, E value) { out = std::string(xlb::model::NameOf(value)); }
  static void from_json(const json& in, E& value) {
    auto parsed = xlb::model::ParseEnum<E>(in.get<std::string>());
    if (!parsed.ok()) throw xlb::api::ContractError(parsed.status());
    value = *parsed;
  }
};
template <>
struct adl_serializer<xlb::model::Protocol> : NamedEnumSerializer<xlb::model::Protocol> {};
template <>
struct adl_serializer<xlb::model::Forward> : NamedEnumSerializer<xlb::model::Forward> {};
template <>
struct adl_serializer<xlb::model::Scheduler> : NamedEnumSerializer<xlb::model::Scheduler> {};
template <>
struct adl_serializer<xlb::model::Encap> : NamedEnumSerializer<xlb::model::Encap> {};
template <>
struct adl_serializer<xlb::config::HealthType> : NamedEnumSerializer<xlb::config::HealthType> {};
template <>
struct adl_serializer<xlb::config::OnDown> : NamedEnumSerializer<xlb::config::OnDown> {};
template <>
struct adl_serializer<xlb::config::VrrpTrack::Kind>
    : NamedEnumSerializer<xlb::config::VrrpTrack::Kind> {};
template <>
struct adl_serializer<xlb::model::ConnState> : NamedEnumSerializer<xlb::model::ConnState> {};
template <>
struct adl_serializer<xlb::api::RealHealth> : NamedEnumSerializer<xlb::api::RealHealth> {};

// The types written as a string.
template <>
struct adl_serializer<xlb::model::IpAddress> {
  static void to_json(json& out, const xlb::model::IpAddress& value);
  static void from_json(const json& in, xlb::model::IpAddress& value);
};
template <>
struct adl_serializer<xlb::model::ServiceKey> {
  static void to_json(json& out, const xlb::model::ServiceKey& value);
  static void from_json(const json& in, xlb::model::ServiceKey& value);
};
template <>
struct adl_serializer<xlb::api::RealRef> {
  static void to_json(json& out, const xlb::api::RealRef& value);
  static void from_json(const json& in, xlb::api::RealRef& value);
};
template <>
struct adl_serializer<xlb::api::Timestamp> {
  static void to_json(json& out, const xlb::api::Timestamp& value);
  static void from_json(const json& in, xlb::api::Timestamp& value);
};

// The shapes that are not an object of fields.
template <typename T>
struct adl_serializer<xlb::api::Nullable<T>> {
  static void to_json(json& out, const xlb::api::Nullable<T>& value) {
    out = value.value ? json(*value.value) : json(nullptr);
  }
  static void from_json(const json& in, xlb::api::Nullable<T>& value) {
    if (in.is_null()) value.value.reset();
    else value.value = in.get<T>();
  }
};
template <>
struct adl_serializer<xlb::api::ReasonCounts> {
  static void to_json(json& out, const xlb::api::ReasonCounts& value);
  static void from_json(const json& in, xlb::api::ReasonCounts& value);
};
template <>
struct adl_serializer<xlb::api::VrrpCounters> {
  static void to_json(json& out, const xlb::api::VrrpCounters& value);
  static void from_json(const json& in, xlb::api::VrrpCounters& value);
};

}  // namespace nlohmann

#endif  // XLB_CONTROLPLANE_API_CONTRACT_H_
