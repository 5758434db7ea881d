// The API contract end to end, without a daemon or a socket: for every
// route, xlbctl's arguments are parsed into a request, the server's routes
// answer it from a fake daemon, and xlbctl decodes and prints the answer.
#include <chrono>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controlplane/api/contract.h"
#include "controlplane/api/operations.h"
#include "controlplane/api/routes.h"
#include "controlplane/xlbctl/args.h"
#include "controlplane/xlbctl/render.h"
#include "gtest/gtest.h"

namespace xlb::api {
namespace {

model::IpAddress Ip(const char* text) { return *model::IpAddress::Parse(text); }
model::ServiceKey Key(const char* text) { return *model::ParseServiceKey(text); }
std::chrono::system_clock::time_point At(int64_t unix_seconds) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds));
}

class FakeOperations : public Operations {
 public:
  FakeOperations() {
    status.version = "0.1.0";
    status.config_file = "/etc/xlb/xlb.yaml";
    status.runtime_changes = true;
    status.interfaces = {"eth0", "eth1"};
    status.started = At(1764720000);
    status.services = 2;
    status.reals = 3;
    status.reals_down = 1;
    status.counters = {{"passed", 10}, {"conn_hit", 7}, {"malformed", 0}};
    status.conn_table_entries = 42;
    status.tables = {{"connections", 1048576, 42, 1, 2}, {"nat_replies", 1024, 0, 0, 0}};

    ServiceView web;
    web.config.name = "web";
    web.config.service.key = Key("198.51.100.10:80/tcp");
    web.config.health.type = config::HealthType::kHttp;
    web.counters = {1000, 150000, 20};
    RealView up;
    up.spec = *model::ParseRealSpec("203.0.113.11:8080@5");
    up.port = 8080;
    up.effective_weight = 5;
    up.health = RealHealth::kUp;
    up.health_detail = "HTTP 200";
    up.since = At(1764720005);
    up.checks = 12;
    up.counters = {600, 90000, 12};
    RealView down;
    down.spec = *model::ParseRealSpec("203.0.113.12");
    down.port = 80;
    down.health = RealHealth::kDown;
    down.health_detail = "connection refused";
    down.since = At(1764720009);
    down.checks = 12;
    down.local_errors = 3;
    down.counters = {400, 60000, 8};
    web.reals = {up, down};
    ServiceView dns;
    dns.config.name = "dns";
    dns.config.service.key = Key("[2001:db8::10]:53/udp");
    dns.config.service.options.forward = model::Forward::kNat;
    dns.config.service.options.scheduler = model::Scheduler::kSourceHash;
    dns.config.service.options.persistence_timeout_s = 300;
    dns.error = "the real table is full";
    RealView v6;
    v6.spec = *model::ParseRealSpec("[2001:db8::11]:5353");
    v6.port = 5353;
    dns.reals = {v6};
    services = {web, dns};

    model::Connection active;
    active.protocol = model::Protocol::kTcp;
    active.client = Ip("192.0.2.7");
    active.client_port = 40000;
    active.vip = Ip("198.51.100.10");
    active.vip_port = 80;
    active.real = Ip("203.0.113.11");
    active.real_port = 8080;
    active.idle_s = 1.25;
    model::Connection closing;
    closing.protocol = model::Protocol::kUdp;
    closing.client = Ip("2001:db8::7");
    closing.client_port = 5000;
    closing.vip = Ip("2001:db8::10");
    closing.vip_port = 53;
    closing.closing = true;
    closing.nat = true;
    connections = {active, closing};

    vrrp::InstanceStatus master;
    master.config.name = "vi_1";
    master.config.interface = "eth0";
    master.config.vrid = 51;
    master.config.priority = 150;
    master.config.advert_interval = config::Duration(100);
    master.config.unicast_peers = {Ip("192.0.2.2")};
    master.config.addresses = {{Ip("198.51.100.10"), 32}, {Ip("2001:db8::10"), 128}};
    master.config.track = {{config::VrrpTrack::kService, "web", 20}};
    master.state = vrrp::State::kMaster;
    master.reason = vrrp::Reason::kMasterDown;
    master.effective_priority = 130;
    master.master = Ip("192.0.2.1");
    master.master_priority = 130;
    master.source = Ip("192.0.2.1");
    master.master_adver_interval = config::Duration(100);
    master.since = At(1764720010);
    master.tracks = {{master.config.track[0], false}};
    master.track_why = "service web down (-20)";
    master.transitions = 2;
    master.counters.adverts_sent = 900;
    master.counters.adverts_received = 3;
    master.counters.unknown_peer = 1;
    master.counters.dropped[static_cast<size_t>(vrrp::DecodeError::kBadTtl)] = 4;
    master.counters.dropped[static_cast<size_t>(vrrp::DecodeError::kTooLong)] = 2;
    master.counters.timers_late = 1;
    master.counters.max_timer_late_ms = 250;
    vrrp::InstanceStatus backup;
    backup.config.name = "vi_2";
    backup.config.interface = "eth1";
    backup.config.vrid = 52;
    backup.config.version = 2;
    backup.source = Ip("192.0.2.1");
    vrrp = {master, backup};
  }

  StatusView Status() override { return status; }
  std::vector<ServiceView> Services() override { return services; }
  absl::Status AddService(const config::ServiceConfig& s) override {
    const auto& o = s.service.options;
    return Call(absl::StrCat("AddService ", s.service.key.ToString(), " name=", s.name,
                             " nat=", o.forward == model::Forward::kNat,
                             " sh=", o.scheduler == model::Scheduler::kSourceHash,
                             " persistence=", o.persistence_timeout_s,
                             " netmask=", o.persistence_netmask, " table=", o.table_size,
                             " tcp=", o.tcp_timeout_s, " udp=", o.udp_timeout_s,
                             " health=", config::HealthTypeName(s.health.type), ":",
                             s.health.port, s.health.path, " every ",
                             s.health.interval.count(), "ms"));
  }
  uid_t ScriptUid() override { return 0; }
  absl::Status DeleteService(const model::ServiceKey& key) override {
    return Call(absl::StrCat("DeleteService ", key.ToString()));
  }
  absl::Status AddReal(const model::ServiceKey& key, const model::RealSpec& real) override {
    return Call(absl::StrCat("AddReal ", key.ToString(), " ", real.address.ToString(), " port=",
                             real.port, " weight=", real.weight));
  }
  absl::Status SetReal(const RealChange& c) override {
    return Call(absl::StrCat("SetReal ", c.service.ToString(), " ", c.address.ToString(),
                             " port=", c.port, " weight=", c.weight ? int(*c.weight) : -1));
  }
  absl::Status DeleteReal(const model::ServiceKey& key, const model::IpAddress& address,
                          uint16_t port) override {
    return Call(absl::StrCat("DeleteReal ", key.ToString(), " ", address.ToString(), " port=",
                             port));
  }
  absl::StatusOr<std::vector<model::Connection>> Connections(
      const std::optional<model::ServiceKey>& service, size_t limit) override {
    calls.push_back(absl::StrCat("Connections ", service ? service->ToString() : "all", " limit=",
                                 limit));
    return connections;
  }
  absl::StatusOr<std::string> SaveConfig(const std::string& path) override {
    calls.push_back(absl::StrCat("SaveConfig ", path));
    return path.empty() ? "/etc/xlb/xlb.yaml" : path;
  }
  absl::Status ReloadConfig() override { return Call("ReloadConfig"); }
  std::vector<vrrp::InstanceStatus> Vrrp() override { return vrrp; }

  absl::Status Call(std::string what) {
    calls.push_back(std::move(what));
    return absl::OkStatus();
  }

  StatusView status;
  std::vector<ServiceView> services;
  std::vector<model::Connection> connections;
  std::vector<vrrp::InstanceStatus> vrrp;
  std::vector<std::string> calls;  // what was asked, one line per call
};

// xlbctl's request, answered by the server's routes.
HttpResponse Serve(Operations& ops, const xlbctl::Command& c) {
  size_t length = 0;
  auto request = ParseRequestHead(absl::StrCat(c.method, " ", c.target, " HTTP/1.1\r\n\r\n"),
                                  &length);
  EXPECT_TRUE(request.ok()) << request.status();
  if (!c.body.is_null()) request->body = c.body.dump();
  return Route(ops, *request);
}

// One case per route of the table: xlbctl's words for it, and what xlbctl
// prints of the answer (from the fake above; "" for the changes).
struct Case {
  std::vector<std::string> args;
  xlbctl::View view;
  std::string printed;
};

const std::map<std::string_view, Case>& Cases() {
  static const auto* cases = new std::map<std::string_view, Case>{
      {"status",
       {{"status"},
        xlbctl::View::kStatus,
        "xlbd 0.1.0, running since 2025-12-03T00:00:00Z\n"
        "config: /etc/xlb/xlb.yaml (plus runtime changes: `xlbctl config save` keeps them)\n"
        "interfaces: eth0 eth1\n"
        "services: 2, reals: 3 (1 down)\n"
        "connection table: 42 entries\n"
        "tables:\n"
        "  connections: 42/1048576 (0.0%), 1 failed inserts, 2 not recorded (flood)\n"
        "  nat_replies: 0/1024 (0.0%), 0 failed inserts, 0 not recorded (flood)\n"
        "packets: conn_hit=7 malformed=0 passed=10\n"}},
      {"services",
       {{"list"},
        xlbctl::View::kList,
        "Prot LocalAddress:Port              Scheduler    Flags            Name\n"
        "  -> RemoteAddress:Port             Forward Weight Effective Health\n"
        "TCP  198.51.100.10:80               maglev                        web\n"
        "  -> 203.0.113.11:8080              Route   5      5         up\n"
        "  -> 203.0.113.12:80                Route   1      0         down\n"
        "UDP  [2001:db8::10]:53              source-hash  persistent 300   dns\n"
        "  !! not applied, retrying: the real table is full\n"
        "  -> [2001:db8::11]:5353            Masq    1      0         none\n"}},
      {"conns",
       {{"conns", "198.51.100.10:80"},
        xlbctl::View::kConns,
        "pro  state    fwd   idle     source                         virtual                "
        "        destination\n"
        "TCP  ACTIVE   dr    1.2      192.0.2.7:40000                198.51.100.10:80       "
        "        203.0.113.11:8080\n"
        "UDP  CLOSING  nat   0.0      [2001:db8::7]:5000             [2001:db8::10]:53      "
        "        \n"}},
      {"vrrp",
       {{"vrrp"},
        xlbctl::View::kVrrp,
        "Name             Interface  VRID State      Priority Master                     Advert"
        "  Since\n"
        "vi_1             eth0       51   MASTER     130/150  192.0.2.1 (130)            100ms "
        "  2025-12-03T00:00:10Z\n"
        "    v3 from 192.0.2.1, addresses 198.51.100.10/32 2001:db8::10/128\n"
        "    adverts sent 900, received 3, state changes 2; dropped: bad_checksum=0 bad_ttl=4 "
        "bad_auth=0 bad_length=0 wrong_vrid=0 unknown_peer=1 too_long=2\n"
        "    timers late by more than an advert interval: 1 (longest 250 ms): this thread lacks "
        "CPU, see xlbd --realtime-priority\n"
        "    tracking: service web down (-20)\n"
        "vi_2             eth1       52   INIT       0/100    -                          1000ms"
        "  \n"
        "    v2 from 192.0.2.1, addresses \n"
        "    adverts sent 0, received 0, state changes 0; dropped: bad_checksum=0 bad_ttl=0 "
        "bad_auth=0 bad_length=0 wrong_vrid=0 unknown_peer=0\n"}},
      {"service add",
       {{"service", "add", "198.51.100.20:443", "--forward", "nat", "--scheduler", "source-hash",
         "--persistence", "60", "--name", "tls", "--persistence-netmask", "24", "--tcp-timeout",
         "20m", "--health-type", "http", "--health-port", "8080", "--health-path", "/ready",
         "--health-interval", "2s"},
        xlbctl::View::kDone,
        ""}},
      {"service del", {{"service", "del", "198.51.100.20:443"}, xlbctl::View::kDone, ""}},
      {"real add",
       {{"real", "add", "198.51.100.10:80", "203.0.113.13:8080", "--weight", "7"},
        xlbctl::View::kDone,
        ""}},
      {"real set",
       {{"real", "set", "198.51.100.10:80", "203.0.113.13:8080", "--drain"},
        xlbctl::View::kDone,
        ""}},
      {"real del",
       {{"real", "del", "198.51.100.10:80", "203.0.113.13:8080"}, xlbctl::View::kDone, ""}},
      {"config save",
       {{"config", "save", "/etc/xlb/new.yaml"},
        xlbctl::View::kSaved,
        "saved to /etc/xlb/new.yaml\n"}},
      {"config reload", {{"config", "reload"}, xlbctl::View::kDone, ""}},
  };
  return *cases;
}

// What the fake was asked, per case that changes something.
const std::map<std::string_view, std::string> kCalls = {
    {"conns", "Connections 198.51.100.10:80/tcp limit=10000"},
    {"service add",
     "AddService 198.51.100.20:443/tcp name=tls nat=1 sh=1 persistence=60 netmask=24 "
     "table=65537 tcp=1200 udp=300 health=http:8080/ready every 2000ms"},
    {"service del", "DeleteService 198.51.100.20:443/tcp"},
    {"real add", "AddReal 198.51.100.10:80/tcp 203.0.113.13 port=8080 weight=7"},
    {"real set", "SetReal 198.51.100.10:80/tcp 203.0.113.13 port=8080 weight=0"},
    {"real del", "DeleteReal 198.51.100.10:80/tcp 203.0.113.13 port=8080"},
    {"config save", "SaveConfig /etc/xlb/new.yaml"},
    {"config reload", "ReloadConfig"},
};

// A route added to the table without a case here fails this test.
TEST(ContractTest, EveryRouteHasACase) {
  for (const RouteSpec& route : kRoutes)
    EXPECT_TRUE(Cases().contains(route.verb)) << "no test case for route '" << route.verb << "'";
  EXPECT_EQ(Cases().size(), kRoutes.size());
}

// For every route: xlbctl's request reaches its handler, and the answer
// decodes and prints as it always did.
TEST(ContractTest, EveryRouteFromXlbctlToXlbctl) {
  for (const RouteSpec& route : kRoutes) {
    SCOPED_TRACE(route.verb);
    auto it = Cases().find(route.verb);
    if (it == Cases().end()) continue;  // EveryRouteHasACase says so
    const Case& c = it->second;
    auto command = xlbctl::ParseArgs(c.args);
    ASSERT_TRUE(command.ok()) << command.status();
    EXPECT_EQ(command->method, route.method);
    EXPECT_EQ(command->target.substr(0, command->target.find('?')), route.path);
    EXPECT_EQ(command->view, c.view);
    FakeOperations ops;
    HttpResponse answer = Serve(ops, *command);
    EXPECT_EQ(answer.status, route.ok_status) << answer.body;
    auto printed = xlbctl::Render(c.view, nlohmann::json::parse(answer.body));
    ASSERT_TRUE(printed.ok()) << printed.status();
    EXPECT_EQ(*printed, c.printed);
    auto call = kCalls.find(route.verb);
    EXPECT_EQ(ops.calls, call == kCalls.end() ? std::vector<std::string>{}
                                              : std::vector<std::string>{call->second});
  }
}

// `list --stats`, `health` and `list --rate` print the same answer as `list`.
TEST(ContractTest, OtherViewsOfTheServices) {
  FakeOperations ops;
  auto before = nlohmann::json::parse(Route(ops, {"GET", "/v1/services", {}, ""}).body);
  EXPECT_EQ(*xlbctl::Render(xlbctl::View::kListStats, before),
            "Prot LocalAddress:Port                   Conns      Packets          Bytes\n"
            "  -> RemoteAddress:Port            \n"
            "TCP  198.51.100.10:80                       20         1000         150000\n"
            "  -> 203.0.113.11:8080                      12          600          90000\n"
            "  -> 203.0.113.12:80                         8          400          60000\n"
            "UDP  [2001:db8::10]:53                       0            0              0\n"
            "  -> [2001:db8::11]:5353                     0            0              0\n");
  EXPECT_EQ(*xlbctl::Render(xlbctl::View::kHealth, before),
            "Service                      Real                           Check  State  Since     "
            "            LocalErr  Last result\n"
            "198.51.100.10:80/tcp         203.0.113.11:8080              http   up     "
            "2025-12-03T00:00:05Z  0         HTTP 200\n"
            "198.51.100.10:80/tcp         203.0.113.12:80                http   down   "
            "2025-12-03T00:00:09Z  3         connection refused\n"
            "[2001:db8::10]:53/udp        [2001:db8::11]:5353            none   none           "
            "              0         \n");
  ops.services[0].counters.packets += 500;
  ops.services[0].reals[1].counters.bytes += 3000;
  auto after = nlohmann::json::parse(Route(ops, {"GET", "/v1/services", {}, ""}).body);
  EXPECT_EQ(*xlbctl::RenderRate(before, after, 2.0),
            "Prot LocalAddress:Port                     CPS          PPS            BPS\n"
            "  -> RemoteAddress:Port            \n"
            "TCP  198.51.100.10:80                        0          250              0\n"
            "  -> 203.0.113.11:8080                       0            0              0\n"
            "  -> 203.0.113.12:80                         0            0           1500\n"
            "UDP  [2001:db8::10]:53                       0            0              0\n"
            "  -> [2001:db8::11]:5353                     0            0              0\n");
}

// The keys of an answer, as paths: "[].reals[].address".
void KeyPaths(const nlohmann::json& j, const std::string& at, std::set<std::string>& out) {
  if (j.is_array()) {
    for (const auto& e : j) KeyPaths(e, at + "[]", out);
  } else if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      out.insert(at + "." + k);
      KeyPaths(v, at + "." + k, out);
    }
  }
}

// Every answer's keys, pinned: renaming one in the contract fails here (the
// lab's scripts and users' scripts read them), not only in xlbctl.
TEST(ContractTest, AnswerKeysArePinned) {
  const std::map<std::string_view, std::string> expected = {
      {"status",
       ".config_file .conn_table_entries .counters .counters.conn_hit .counters.malformed "
       ".counters.passed .interfaces .reals .reals_down .runtime_changes .services .started "
       ".tables .tables[].capacity .tables[].entries .tables[].insert_failures .tables[].name "
       ".tables[].unrecorded .version"},
      {"services",
       "[].check [].counters [].counters.bytes [].counters.new_flows [].counters.packets "
       "[].error [].forward [].name [].persistence [].port [].protocol [].reals "
       "[].reals[].address [].reals[].checks [].reals[].counters [].reals[].counters.bytes "
       "[].reals[].counters.new_flows [].reals[].counters.packets [].reals[].effective_weight "
       "[].reals[].health [].reals[].health_detail [].reals[].local_errors [].reals[].port "
       "[].reals[].since [].reals[].weight [].scheduler [].service [].table_size [].vip"},
      {"conns", "[].client [].forward [].idle_s [].protocol [].real [].state [].virtual"},
      {"vrrp",
       "[].addresses [].advert_interval_ms [].counters [].counters.address_errors "
       "[].counters.adverts_received [].counters.adverts_sent [].counters.bad_address_family "
       "[].counters.bad_auth [].counters.bad_checksum [].counters.bad_interval "
       "[].counters.bad_ip_header [].counters.bad_length [].counters.bad_ttl "
       "[].counters.bad_type [].counters.bad_version [].counters.max_timer_late_ms "
       "[].counters.not_vrrp [].counters.priority_zero_received [].counters.priority_zero_sent "
       "[].counters.reannounced [].counters.send_errors [].counters.state_changes "
       "[].counters.timers_late [].counters.too_long [].counters.too_short "
       "[].counters.unknown_peer [].counters.wrong_vrid [].effective_priority [].interface "
       "[].master [].master_advert_interval_ms [].master_priority [].name [].preempt "
       "[].priority [].reason [].since [].source [].state [].track_why [].tracks "
       "[].tracks[].kind [].tracks[].target [].tracks[].up [].tracks[].weight "
       "[].unicast_peers [].version [].vrid"},
      {"service add", ".ok"},
      {"service del", ".ok"},
      {"real add", ".ok"},
      {"real set", ".ok"},
      {"real del", ".ok"},
      {"config save", ".ok .path"},
      {"config reload", ".ok"},
  };
  for (const RouteSpec& route : kRoutes) {
    auto it = Cases().find(route.verb);
    if (it == Cases().end()) continue;
    FakeOperations ops;
    auto answer = nlohmann::json::parse(Serve(ops, *xlbctl::ParseArgs(it->second.args)).body);
    std::set<std::string> keys;
    KeyPaths(answer, "", keys);
    EXPECT_EQ(absl::StrJoin(keys, " "), expected.at(route.verb)) << route.verb;
  }
}

// Every key of every answer is needed by the decoder: one missing is an
// error, never a blank in a table. (The drop reasons of a VRRP instance's
// counters are a map: any may be absent.)
bool IsDropCounter(const std::string& name) {
  for (int i = 1; i < static_cast<int>(vrrp::DecodeError::kCount); ++i)
    if (name == vrrp::DropCounterName(static_cast<vrrp::DecodeError>(i))) return true;
  return false;
}

template <typename T>
void EachKeyIsRequired(const nlohmann::json& answer, nlohmann::json& j, const std::string& at) {
  if (j.is_array() && !j.empty()) return EachKeyIsRequired<T>(answer, j[0], at + "[0]");
  if (!j.is_object() || at == "status.counters") return;  // packets by reason: a map
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  for (const std::string& key : keys) {
    if (at.starts_with("vrrp") && at.ends_with(".counters") && IsDropCounter(key)) continue;
    nlohmann::json value = j[key];
    j.erase(key);
    auto decoded = Decode<T>(answer, "answer");
    EXPECT_FALSE(decoded.ok()) << "decoded without " << at << "." << key;
    if (!decoded.ok())
      EXPECT_NE(decoded.status().message().find(key), std::string::npos) << decoded.status();
    j[key] = value;
    EachKeyIsRequired<T>(answer, j[key], at + "." + key);
  }
}

TEST(ContractTest, AnswersMissingAKeyDoNotDecode) {
  FakeOperations ops;
  auto run = [&](auto endpoint) {
    using Resp = typename decltype(endpoint)::Response;
    HttpRequest request{std::string(endpoint.spec.method), std::string(endpoint.spec.path), {},
                        endpoint.spec.method == "GET" ? "" : "{}"};
    if (endpoint.spec.path == kServiceAdd.spec.path || endpoint.spec.path == kServiceDel.spec.path)
      request.body = R"({"service": "198.51.100.1:80"})";
    if (endpoint.spec.path == kRealSet.spec.path || endpoint.spec.path == kRealAdd.spec.path ||
        endpoint.spec.path == kRealDel.spec.path)
      request.body = R"({"service": "198.51.100.1:80", "real": "203.0.113.1", "weight": 2})";
    HttpResponse r = Route(ops, request);
    ASSERT_EQ(r.status, endpoint.spec.ok_status) << endpoint.spec.verb << ": " << r.body;
    nlohmann::json answer = nlohmann::json::parse(r.body);
    ASSERT_TRUE(Decode<Resp>(answer, "answer").ok()) << endpoint.spec.verb;
    // Decoding and encoding again gives the same JSON: nothing is lost.
    EXPECT_EQ(nlohmann::json(*Decode<Resp>(answer, "answer")), answer) << endpoint.spec.verb;
    nlohmann::json copy = answer;
    EachKeyIsRequired<Resp>(copy, copy, std::string(endpoint.spec.verb));
  };
  std::apply([&](const auto&... endpoint) { (run(endpoint), ...); }, kEndpoints);
}

// What xlbctl says of an answer that lacks a key (an older or newer xlbd).
TEST(ContractTest, XlbctlRefusesAnAnswerWithoutAKey) {
  FakeOperations ops;
  auto services = nlohmann::json::parse(Route(ops, {"GET", "/v1/services", {}, ""}).body);
  services[1].erase("reals");
  auto printed = xlbctl::Render(xlbctl::View::kList, services);
  ASSERT_FALSE(printed.ok());
  EXPECT_EQ(printed.status().message(),
            "xlbd's answer is not what this xlbctl expects (missing field \"reals\")");
  auto status = nlohmann::json::parse(Route(ops, {"GET", "/v1/status", {}, ""}).body);
  status["started"] = "yesterday";
  EXPECT_FALSE(xlbctl::Render(xlbctl::View::kStatus, status).ok());
}

// Each request survives its trip through JSON.
template <typename T>
void RoundTrip(const T& request) {
  nlohmann::json j = request;
  auto back = Decode<T>(j, "request");
  ASSERT_TRUE(back.ok()) << back.status() << " " << j.dump();
  EXPECT_EQ(nlohmann::json(*back), j);
  EXPECT_TRUE(*back == request) << j.dump();
}

TEST(ContractTest, RequestsRoundTrip) {
  RoundTrip(StatusRequest{});
  RoundTrip(ServicesRequest{});
  RoundTrip(VrrpRequest{});
  RoundTrip(ServiceAddRequest{Key("[2001:db8::20]:443/udp"), "tls", model::Forward::kNat,
                              model::Scheduler::kSourceHash, 60, 24, 251});
  RoundTrip(ServiceAddRequest{Key("198.51.100.20:*/tcp")});
  // The keys of service/add, pinned: API clients write them.
  EXPECT_EQ(nlohmann::json(ServiceAddRequest{Key("198.51.100.20:443/tcp"), "web",
                                             model::Forward::kNat, model::Scheduler::kMaglev,
                                             60, 24, 251, true, nlohmann::json::object(),
                                             nlohmann::json::object()})
                .dump(),
            R"({"drop_fragments":true,"forward":"nat","health":{},"name":"web","netmask":24,)"
            R"("persistence":60,"scheduler":"maglev","service":"198.51.100.20:443/tcp",)"
            R"("table_size":251,"timeouts":{}})");
  RoundTrip(ServiceAddRequest{.service = Key("198.51.100.20:443/tcp"),
                              .drop_fragments = true,
                              .timeouts = nlohmann::json{{"tcp", "15m"}, {"udp", "1m"}},
                              .health = nlohmann::json{{"type", "http"}, {"expect", {200, 204}}}});
  RoundTrip(ServiceDelRequest{Key("198.51.100.20:443/tcp")});
  RoundTrip(RealAddRequest{Key("198.51.100.20:443/tcp"), {Ip("2001:db8::1"), 8443}, 7});
  RoundTrip(RealAddRequest{Key("198.51.100.20:443/tcp"), {Ip("203.0.113.1"), 0}, std::nullopt});
  RoundTrip(RealSetRequest{Key("198.51.100.20:443/tcp"), {Ip("203.0.113.1"), 80}, 3, std::nullopt});
  RoundTrip(
      RealSetRequest{Key("198.51.100.20:443/tcp"), {Ip("203.0.113.1"), 80}, std::nullopt, true});
  RoundTrip(RealDelRequest{Key("198.51.100.20:443/tcp"), {Ip("203.0.113.1"), 0}});
  RoundTrip(ConfigSaveRequest{"/etc/xlb/new.yaml"});
  RoundTrip(ConfigSaveRequest{});
  RoundTrip(ConfigReloadRequest{});
  // The query of `conns`.
  for (const ConnsQuery& q : {ConnsQuery{}, ConnsQuery{Key("[2001:db8::10]:53/udp"), 5}}) {
    size_t length = 0;
    auto head = ParseRequestHead(absl::StrCat("GET /v1/conns", q.ToQuery(), " HTTP/1.1\r\n\r\n"),
                                 &length);
    ASSERT_TRUE(head.ok()) << head.status();
    auto back = ConnsQuery::FromQuery(head->query);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->service, q.service);
    EXPECT_EQ(back->limit, q.limit);
  }
}

// Bad requests: the same errors, word for word, as before the contract.
TEST(ContractTest, BadRequests) {
  struct Bad {
    HttpRequest request;
    int status;
    std::string error;
  } cases[] = {
      {{"POST", "/v1/service/add", {}, R"({"name": "x"})"},
       400, R"(missing string field "service")"},
      {{"POST", "/v1/service/add", {}, R"({"service": 5})"},
       400, R"(missing string field "service")"},
      {{"POST", "/v1/service/add", {}, R"({"service": "198.51.100.1"})"}, 400,
       "service '198.51.100.1': no port (expected VIP:PORT[/tcp|udp])"},
      {{"POST", "/v1/service/add", {}, R"({"service": "198.51.100.1:80", "name": 3})"}, 400,
       "bad request body: [json.exception.type_error.302] type must be string, but is number"},
      {{"POST", "/v1/service/add", {}, R"({"service": "198.51.100.1:80", "forward": "tun"})"}, 400,
       "forward is dr or nat, not 'tun'"},
      {{"POST", "/v1/service/add", {}, R"({"service": "198.51.100.1:80", "scheduler": "rr"})"}, 400,
       "scheduler is maglev or source-hash, not 'rr'"},
      {{"POST", "/v1/service/add", {}, R"({"service": "198.51.100.1:80", "persistence": -1})"}, 400,
       R"("persistence" must be a non-negative integer)"},
      {{"POST", "/v1/service/add", {}, R"({"service": "198.51.100.1:80", "table_size": 100})"}, 400,
       "table_size: 100 is not a prime in [7, 1048573] (e.g. 65537, 131071, 1021)"},
      // The config's own checks, naming the request's keys.
      {{"POST", "/v1/service/add", {}, R"({"service": "198.51.100.1:80", "netmask": 40})"}, 400,
       "netmask: 40 is out of range (expected 0..32)"},
      {{"POST", "/v1/service/add", {},
        R"({"service": "198.51.100.1:80", "timeouts": {"tcp": "1.5s"}})"},
       400, "timeouts.tcp: '1.5s' is not a whole number of seconds (expected e.g. 900s, 2m)"},
      {{"POST", "/v1/service/add", {},
        R"({"service": "198.51.100.1:80", "timeouts": {"sctp": "1s"}})"},
       400, "timeouts.sctp: unknown key (expected one of: tcp, tcp_fin, udp)"},
      {{"POST", "/v1/service/add", {},
        R"({"service": "198.51.100.1:80",)"
        R"( "health": {"type": "http", "interval": "1s", "timeout": "2s"}})"},
       400, "health.timeout: 2s is longer than the interval 1s (expected 0 < timeout <= interval)"},
      {{"POST", "/v1/service/add", {},
        R"({"service": "198.51.100.1:80",)"
        R"( "health": {"type": "exec", "command": "/nonexistent/check"}})"},
       400, "health.command: script /nonexistent/check: No such file or directory"},
      {{"POST", "/v1/service/add", {},
        R"({"service": "198.51.100.1:80", "health": {"type": "http", "expect": [200, 700]}})"},
       400, "health.expect[1]: 700 is out of range (expected 100..599)"},
      {{"POST", "/v1/service/add", {}, R"({"service": "198.51.100.1:80", "health": 5})"}, 400,
       "health: is a single value (expected a map with keys: type, port, path, expect, body, "
       "ca_file, server_name, client_cert, client_key, verify, command, source, interval, "
       "timeout, rise, fall)"},
      {{"POST", "/v1/real/add", {}, R"({"service": "198.51.100.1:80"})"}, 400,
       R"(missing string field "real")"},
      {{"POST", "/v1/real/add", {}, R"({"service": "198.51.100.1:80", "real": "203.0.113.1@3"})"},
       400, R"(give the weight as "weight", not in "real")"},
      {{"POST", "/v1/real/add", {},
        R"({"service": "198.51.100.1:80", "real": "203.0.113.1", "weight": -2})"},
       400, R"("weight" must be a non-negative integer)"},
      {{"POST", "/v1/real/set", {}, R"({"service": "198.51.100.1:80", "real": "203.0.113.1"})"},
       400, R"(real/set needs "weight" or "drain": true)"},
      {{"POST", "/v1/real/set", {},
        R"({"service": "198.51.100.1:80", "real": "203.0.113.1", "drain": "yes"})"},
       400,
       "bad request body: [json.exception.type_error.302] type must be boolean, but is string"},
      {{"POST", "/v1/config/save", {}, R"({"path": 1})"}, 400,
       "bad request body: [json.exception.type_error.302] type must be string, but is number"},
      {{"POST", "/v1/config/reload", {}, "[1]"}, 400, "the body is not a JSON object"},
      {{"POST", "/v1/nothing", {}, "{}"}, 404, "no such operation: POST /v1/nothing"},
      {{"GET", "/v1/service/add", {}, ""}, 404, "no such resource: GET /v1/service/add"},
      {{"PUT", "/v1/status", {}, ""}, 405, "method PUT not allowed"},
      {{"GET", "/v1/conns", {{"limit", "x"}}, ""}, 400, "limit must be a number"},
      {{"GET", "/v1/conns", {{"service", "nope"}}, ""}, 400,
       "service 'nope': no port (expected VIP:PORT[/tcp|udp])"},
  };
  for (const auto& c : cases) {
    FakeOperations ops;
    HttpResponse r = Route(ops, c.request);
    EXPECT_EQ(r.status, c.status) << c.request.path << " " << c.request.body;
    auto error = Decode<ErrorAnswer>(nlohmann::json::parse(r.body), "error");
    ASSERT_TRUE(error.ok()) << r.body;
    EXPECT_EQ(error->error, c.error);
    EXPECT_TRUE(ops.calls.empty()) << "bad input changed something: " << ops.calls[0];
  }
}

}  // namespace
}  // namespace xlb::api
