// The API contract end to end, without a daemon or a socket: for every
// route, xlbctl's arguments are parsed into a request, the server's routes
// answer it from a fake daemon, and xlbctl decodes and prints the answer.
#include <chrono>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controlplane/api/contract.h"
#include "controlplane/api/metrics.h"
#include "controlplane/api/operations.h"
#include "controlplane/api/routes.h"
#include "controlplane/api/status_page.h"
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
    status.attach = {"libxdp-dispatcher", "direct-generic"};
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
    up.connections = {3, 1};
    RealView down;
    down.spec = *model::ParseRealSpec("203.0.113.12");
    down.port = 80;
    down.health = RealHealth::kDown;
    down.health_detail = "connection refused";
    down.since = At(1764720009);
    down.checks = 12;
    down.local_errors = 3;
    down.counters = {400, 60000, 8};
    down.connections = {0, 2};  // down: its closing flows still in the table
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
    ServiceView tun;
    tun.config.name = "tun";
    tun.config.service.key = Key("198.51.100.30:443/tcp");
    tun.config.service.options.forward = model::Forward::kTunnel;
    tun.config.service.options.tunnel.encap = model::Encap::kGue;
    tun.config.service.options.tunnel.source = *model::ParseIpPrefix("192.0.2.128/25");
    RealView far;
    far.spec = *model::ParseRealSpec("198.51.100.99");
    far.port = 443;
    tun.reals = {far};
    services = {web, dns, tun};

    model::Connection active;
    active.protocol = model::Protocol::kTcp;
    active.client = Ip("192.0.2.7");
    active.client_port = 40000;
    active.vip = Ip("198.51.100.10");
    active.vip_port = 80;
    active.real = Ip("203.0.113.11");
    active.real_port = 8080;
    active.idle_s = 1.25;
    active.established = true;
    model::Connection closing;
    closing.protocol = model::Protocol::kUdp;
    closing.client = Ip("2001:db8::7");
    closing.client_port = 5000;
    closing.vip = Ip("2001:db8::10");
    closing.vip_port = 53;
    closing.closing = true;
    closing.nat = true;
    model::Connection half_open = active;  // SYN only
    half_open.client_port = 40001;
    half_open.established = false;
    half_open.from_peer = true;  // sync: a peer's record of its SYN
    model::Connection expired = active;
    expired.client_port = 40002;
    expired.expired = true;
    expired.idle_s = 901;
    connections = {active, closing, half_open, expired};

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

    bgp.configured = true;
    bgp.local_as = 64513;
    bgp.router_id = "192.0.2.1";
    bgp.frr_pathspace = "xlb";
    bgp.vips = {{Ip("198.51.100.10"), true, true, true}, {Ip("2001:db8::10"), false, false, false}};
    bgp.sessions = {{"192.0.2.254", 64512, "Established", 3723000, 1, 0, 2, "xlbd", "up"},
                    {"2001:db8::fe", 64512, "Active", 45000, 0, 0, 0, "xlbd", ""}};
    bgp.sessions_time = At(1764720020);
    bgp.last_reconcile = At(1764720019);
    bgp.last_error = "vtysh: % Unknown command: network 198.51.100.300/32";
    bgp.announcements = 3;
    bgp.withdrawals = 1;
    bgp.frr_errors = 1;
    bgp.reconciles = 12;

    sync.enabled = true;
    sync.node_id = 1;
    sync.epoch = 1764720000'000'000'000;
    sync.port = 8849;
    sync.mode = "batched";
    sync.last_sequence_sent = 80;
    sync.datagrams_sent = 80;
    sync.records_sent = 1200;
    sync.refresh_passes = 3;
    sync.refresh_records = 150;
    sync.last_refresh_seconds = 0.5;
    sync.dropped = {{"ring_full", 3}, {"auth_failed", 2}, {"replayed", 0}};
    sync.applied = {{"inserted", 1000}, {"refreshed", 140}, {"kept_own", 0}, {"stale", 2}};
    sync.applied_reply = {{"inserted", 20}};
    sync.held = 5;
    sync.ready = true;
    sync.resync = "done";
    sync.resync_detail = "from 192.0.2.12: 10000 flows in 0.8 s";
    SyncPeerView heard{.address = Ip("192.0.2.12"),
                       .up = true,
                       .sender_id = 2,
                       .epoch = 1764719990'000'000'000,
                       .highest_sequence = 77,
                       .datagrams_received = 77,
                       .records_received = 1150,
                       .gaps = 1,
                       .missing = 0,
                       .lag_p50_ms = 0.4,
                       .lag_p99_ms = 2.5,
                       .last_heard_seconds_ago = 0.25,
                       .dropped = {{"replayed", 1}, {"rate_limited", 0}}};
    SyncPeerView silent;  // never heard
    silent.address = Ip("2001:db8::12");
    sync.peers = {heard, silent};
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
  absl::StatusOr<model::FlushedEntries> FlushReal(const model::ServiceKey& key,
                                                  const model::IpAddress& address,
                                                  uint16_t port) override {
    calls.push_back(absl::StrCat("FlushReal ", key.ToString(), " ", address.ToString(), " port=",
                                 port));
    return model::FlushedEntries{20, 20, 1};
  }
  absl::StatusOr<model::ConnectionListing> Connections(
      const std::optional<model::ServiceKey>& service, size_t limit) override {
    calls.push_back(absl::StrCat("Connections ", service ? service->ToString() : "all", " limit=",
                                 limit));
    model::ConnectionListing out;
    out.matched = connections.size();
    for (size_t i = 0; i < connections.size() && i < limit; ++i)
      out.connections.push_back(connections[i]);
    return out;
  }
  absl::StatusOr<std::string> SaveConfig(const std::string& path) override {
    calls.push_back(absl::StrCat("SaveConfig ", path));
    return path.empty() ? "/etc/xlb/xlb.yaml" : path;
  }
  absl::Status ReloadConfig() override { return Call("ReloadConfig"); }
  std::vector<vrrp::InstanceStatus> Vrrp() override { return vrrp; }
  BgpView Bgp() override { return bgp; }
  SyncView Sync() override { return sync; }
  absl::Status SetBgpDrained(bool drained) override {
    // As xlbd without a bgp: section.
    if (!bgp.configured)
      return absl::FailedPreconditionError("no bgp: section in the configuration");
    return Call(absl::StrCat("SetBgpDrained ", drained));
  }
  absl::StatusOr<TraceInfo> Trace(const TraceRequest& r) override {
    calls.push_back(absl::StrCat("Trace ", r.flow.ToString(), " ", r.client.ToString(), " ",
                                 r.client_port, " syn=", r.syn.value_or(false),
                                 " interface=", r.interface.value_or("")));
    TraceInfo t;
    t.flow = "192.0.2.7:40000 -> 198.51.100.20:80/tcp";
    t.packet = r.syn.value_or(false) ? "syn" : "ack";
    t.interface = "eth0";
    t.verdict = "XDP_TX";
    t.service = "198.51.100.20:80/tcp";
    t.service_name = "app";
    t.chosen_by = "maglev";
    t.maglev_slot.value = 4711;
    t.real = "203.0.113.21:8080";
    t.forward = "nat";
    t.records = true;
    t.out_interface = "eth0";
    t.next_hop_mac = "02:00:00:00:01:15";
    t.source_mac = "02:00:00:00:00:d1";
    t.destination = "203.0.113.21:8080";
    t.counters = {"conn_miss", "tx"};
    return t;
  }

  absl::Status Call(std::string what) {
    calls.push_back(std::move(what));
    return absl::OkStatus();
  }

  StatusView status;
  std::vector<ServiceView> services;
  std::vector<model::Connection> connections;
  std::vector<vrrp::InstanceStatus> vrrp;
  BgpView bgp;
  SyncView sync;
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
        "interfaces: eth0 (libxdp-dispatcher) eth1 (direct-generic)\n"
        "  generic XDP runs after the kernel built the skb: much slower than native, about the "
        "kernel stack's speed\n"
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
        "  -> RemoteAddress:Port             Forward Weight Effective ActiveConn InActConn  "
        "Health\n"
        "TCP  198.51.100.10:80               maglev                        web\n"
        "  -> 203.0.113.11:8080              Route   5      5         3          1          up\n"
        "  -> 203.0.113.12:80                Route   1      0         0          2          "
        "down\n"
        "UDP  [2001:db8::10]:53              source-hash  persistent 300   dns\n"
        "  !! not applied, retrying: the real table is full\n"
        "  -> [2001:db8::11]:5353            Masq    1      0         0          0          "
        "none\n"
        "TCP  198.51.100.30:443              maglev       tunnel gue:6080  tun\n"
        "  -> 198.51.100.99:443              Tunnel  1      0         0          0          "
        "none\n"}},
      {"conns",
       {{"conns", "198.51.100.10:80"},
        xlbctl::View::kConns,
        "pro  state    fwd    idle     source                         virtual                "
        "        destination\n"
        "TCP  ACTIVE   dr     1.2      192.0.2.7:40000                198.51.100.10:80       "
        "        203.0.113.11:8080\n"
        "UDP  CLOSING  nat    0.0      [2001:db8::7]:5000             [2001:db8::10]:53      "
        "        \n"
        "TCP  SYN_RECV dr     1.2      192.0.2.7:40001                198.51.100.10:80       "
        "        203.0.113.11:8080  (a peer's copy)\n"
        "TCP  EXPIRED  dr     901.0    192.0.2.7:40002                198.51.100.10:80       "
        "        203.0.113.11:8080\n"}},
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
      {"real flush",
       {{"real", "flush", "198.51.100.10:80", "203.0.113.13:8080"},
        xlbctl::View::kFlushed,
        "20 connections removed (20 NAT reply entries, 1 persistence entries)\n"}},
      {"config save",
       {{"config", "save", "/etc/xlb/new.yaml"},
        xlbctl::View::kSaved,
        "saved to /etc/xlb/new.yaml\n"}},
      {"config reload", {{"config", "reload"}, xlbctl::View::kDone, ""}},
      {"trace",
       {{"trace", "198.51.100.20:80", "192.0.2.7:40000", "--syn", "--interface", "eth0"},
        xlbctl::View::kTrace,
        "192.0.2.7:40000 -> 198.51.100.20:80/tcp, a SYN in on eth0\n"
        "service:     198.51.100.20:80/tcp (app), nat\n"
        "real:        203.0.113.21:8080, by Maglev slot 4711; a packet would record the flow\n"
        "verdict:     XDP_TX out of eth0, to 02:00:00:00:01:15 from 02:00:00:00:00:d1\n"
        "destination: 203.0.113.21:8080 (rewritten: NAT)\n"
        "counters:    conn_miss tx\n"}},
      {"bgp",
       {{"bgp"},
        xlbctl::View::kBgp,
        "BGP: AS 64513, router id 192.0.2.1, FRR -N xlb\n"
        "drained: no\n"
        "Neighbor                       AS         State        Up/Down   Sent   Received Drops  "
        "BFD\n"
        "192.0.2.254                    64512      Established  1h02m     1      0        2      "
        "up\n"
        "2001:db8::fe                   64512      Active       45s       0      0        0      "
        "-\n"
        "  (as bgpd reported them at 2025-12-03T00:00:20Z)\n"
        "VIP                            Healthy Wanted Announced\n"
        "198.51.100.10                  yes     yes    yes\n"
        "2001:db8::10                   no      no     no\n"
        "announcements 3, withdrawals 1, FRR errors 1, reconciles 12; last reconcile "
        "2025-12-03T00:00:19Z (failed)\n"
        "last error: vtysh: % Unknown command: network 198.51.100.300/32\n"}},
      {"bgp drain",
       {{"bgp", "drain"},
        xlbctl::View::kBgpDrained,
        "drained: every VIP is withdrawn from the BGP peers; the sessions stay up and flows that "
        "still arrive are forwarded\n"}},
      {"bgp undrain",
       {{"bgp", "undrain"},
        xlbctl::View::kBgpDrained,
        "undrained: the VIPs whose services are healthy are announced again\n"}},
      {"sync",
       {{"sync"},
        xlbctl::View::kSync,
        "sync: node 1, port 8849, started 2025-12-03T00:00:00Z, flow events batched\n"
        "ready: yes, resync done: from 192.0.2.12: 10000 flows in 0.8 s\n"
        "sent: 1200 records in 80 datagrams, last sequence 80\n"
        "refresh: 150 records in 3 passes, last pass 0.5 s\n"
        "Peer                           State Sender Started               Highest    Records  "
        "  Gaps   Lag p50/p99      Heard\n"
        "192.0.2.12                     up    2      2025-12-02T23:59:50Z  77         1150     "
        "  1      0.4/2.5 ms       0.2s ago\n"
        "    dropped: replayed=1\n"
        "2001:db8::12                   down  -      -                     0          0        "
        "  0      -                never\n"
        "dropped: auth_failed=2 ring_full=3\n"
        "applied: connections inserted=1000 refreshed=140 stale=2; NAT replies inserted=20; "
        "held now 5\n"}},
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
    {"real flush", "FlushReal 198.51.100.10:80/tcp 203.0.113.13 port=8080"},
    {"config save", "SaveConfig /etc/xlb/new.yaml"},
    {"config reload", "ReloadConfig"},
    {"trace", "Trace 198.51.100.20:80/tcp 192.0.2.7 40000 syn=1 interface=eth0"},
    {"bgp drain", "SetBgpDrained 1"},
    {"bgp undrain", "SetBgpDrained 0"},
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
            "  -> [2001:db8::11]:5353                     0            0              0\n"
            "TCP  198.51.100.30:443                       0            0              0\n"
            "  -> 198.51.100.99:443                       0            0              0\n");
  EXPECT_EQ(*xlbctl::Render(xlbctl::View::kHealth, before),
            "Service                      Real                           Check  State  Since     "
            "            LocalErr  Last result\n"
            "198.51.100.10:80/tcp         203.0.113.11:8080              http   up     "
            "2025-12-03T00:00:05Z  0         HTTP 200\n"
            "198.51.100.10:80/tcp         203.0.113.12:80                http   down   "
            "2025-12-03T00:00:09Z  3         connection refused\n"
            "[2001:db8::10]:53/udp        [2001:db8::11]:5353            none   none           "
            "              0         \n"
            "198.51.100.30:443/tcp        198.51.100.99:443              none   none           "
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
            "  -> [2001:db8::11]:5353                     0            0              0\n"
            "TCP  198.51.100.30:443                       0            0              0\n"
            "  -> 198.51.100.99:443                       0            0              0\n");
}

// ---- The metrics listener's status page (status_page.h) --------------------

HttpResponse Get(Operations& ops, const std::string& method, const std::string& target) {
  size_t length = 0;
  auto request = ParseRequestHead(absl::StrCat(method, " ", target, " HTTP/1.1\r\n\r\n"), &length);
  EXPECT_TRUE(request.ok()) << request.status();
  return ServeMetricsListener(ops, *request);
}

std::string HeaderOf(const HttpResponse& r, const std::string& name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return "";
}

// The document is the API's own answers, with the keys the page binds.
TEST(StatusPage, JsonIsTheApiAnswers) {
  FakeOperations ops;
  HttpResponse r = Get(ops, "GET", "/status.json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(HeaderOf(r, "Cache-Control"), "no-store");
  const json doc = json::parse(r.body);
  for (const char* key : {"host", "sample_ms", "status", "services", "vrrp", "bgp"})
    EXPECT_TRUE(doc.contains(key)) << key;
  EXPECT_TRUE(Decode<StatusPageInfo>(doc, "status page").ok());
  auto api = [&](const char* path) {  // the API socket's answer
    size_t length = 0;
    auto request = ParseRequestHead(absl::StrCat("GET ", path, " HTTP/1.1\r\n\r\n"), &length);
    return json::parse(Route(ops, *request).body);
  };
  EXPECT_EQ(doc["services"], api("/v1/services"));
  EXPECT_EQ(doc["vrrp"], api("/v1/vrrp"));
  EXPECT_EQ(doc["status"], api("/v1/status"));
  EXPECT_EQ(doc["bgp"], api("/v1/bgp"));
  const json& real = doc["services"][0]["reals"][1];
  for (const char* key : {"address", "port", "health", "weight", "effective_weight", "since",
                          "health_detail"})
    EXPECT_TRUE(real.contains(key)) << key;
  EXPECT_EQ(real["health"], "down");
  EXPECT_TRUE(real["counters"].contains("packets") && real["counters"].contains("bytes"));
  EXPECT_EQ(doc["vrrp"][0]["state"], "MASTER");
  EXPECT_EQ(doc["vrrp"][0]["master"], "192.0.2.1");
  EXPECT_EQ(doc["vrrp"][0]["effective_priority"], 130);
}

// The page: complete without JavaScript, every bound value from the
// document, nothing from outside, values escaped.
TEST(StatusPage, HtmlRendersTheDocument) {
  FakeOperations ops;
  ops.services[0].config.name = "<script>alert(1)</script>";
  HttpResponse r = Get(ops, "GET", "/");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  const std::string& html = r.body;
  EXPECT_NE(html.find("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"),
            std::string::npos);
  EXPECT_NE(html.find("<noscript><meta http-equiv=\"refresh\" content=\"2\"></noscript>"),
            std::string::npos);
  // Outside assets: none (no src, no link, no URL with a scheme).
  for (const char* outside : {"src=", "<link", "http://", "https://", "@import", "url("})
    EXPECT_EQ(html.find(outside), std::string::npos) << outside;
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  // The script and the style carry the nonce the policy allows, and only they.
  const std::string csp = HeaderOf(r, "Content-Security-Policy");
  const size_t at = csp.find("script-src 'nonce-");
  ASSERT_NE(at, std::string::npos) << csp;
  const std::string nonce = csp.substr(at + 18, csp.find('\'', at + 18) - at - 18);
  EXPECT_EQ(nonce.size(), 32u);
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos);
  EXPECT_NE(html.find(absl::StrCat("<script nonce=\"", nonce, "\">")), std::string::npos);
  EXPECT_NE(html.find(absl::StrCat("<style nonce=\"", nonce, "\">")), std::string::npos);
  EXPECT_NE(Get(ops, "GET", "/").body, html) << "the nonce is new for every answer";
  // Every value the script updates is in the document, and the page shows it.
  const json doc = json::parse(Get(ops, "GET", "/status.json").body);
  size_t bound = 0;
  for (size_t p = html.find("data-p=\""); p != std::string::npos;
       p = html.find("data-p=\"", p + 1)) {
    const size_t end = html.find('"', p + 8);
    const std::string pointer = html.substr(p + 8, end - p - 8);
    const size_t close = html.find('>', end);
    const bool optional = html.substr(end, close - end).find("data-opt") != std::string::npos;
    if (!optional) EXPECT_TRUE(doc.contains(json::json_pointer(pointer))) << pointer;
    ++bound;
  }
  EXPECT_GT(bound, 60u);
  EXPECT_NE(html.find("data-p=\"/services/0/reals/1/health\" class=\"health\">down</b>"),
            std::string::npos);
  EXPECT_NE(html.find("data-vp=\"/services/0/reals/1/health\" data-v=\"down\""), std::string::npos);
  EXPECT_NE(html.find("data-p=\"/vrrp/0/state\" class=\"state\">MASTER</b>"), std::string::npos);
  EXPECT_NE(html.find("data-p=\"/vrrp/0/master\" class=\"master\">192.0.2.1</span>"),
            std::string::npos);
  EXPECT_NE(html.find("data-rate=\"/services/0/reals/0/counters/packets\""), std::string::npos);
  EXPECT_NE(html.find("data-rate=\"/status/counters/passed\""), std::string::npos);
  EXPECT_NE(html.find("data-count=\"/services/0/reals\" data-n=\"2\""), std::string::npos);
  // What a row is: a change reloads the page; an IPv6 real in brackets.
  EXPECT_NE(html.find("data-p=\"/services/0/service\" data-fixed>198.51.100.10:80/tcp</span>"),
            std::string::npos);
  EXPECT_NE(html.find("[<span data-p=\"/services/1/reals/0/address\" data-fixed>2001:db8::11"
                      "</span>]:<span data-p=\"/services/1/reals/0/port\" data-fixed>5353</span>"),
            std::string::npos);
  EXPECT_NE(html.find("data-p=\"/vrrp/1/name\" data-fixed>vi_2</b>"), std::string::npos);
  // The BGP card: the sessions' states, the VIPs announced or not, drained.
  EXPECT_NE(html.find("<h2>BGP <span data-p=\"/bgp/configured\" hidden data-fixed>true</span>"),
            std::string::npos);
  EXPECT_NE(html.find("data-p=\"/bgp/sessions/0/neighbor\" data-fixed>192.0.2.254</b>"),
            std::string::npos);
  EXPECT_NE(html.find("data-vp=\"/bgp/sessions/1/state\" data-v=\"Active\""), std::string::npos);
  EXPECT_NE(html.find("data-p=\"/bgp/sessions/0/state\" class=\"state\">Established</b>"),
            std::string::npos);
  EXPECT_NE(html.find("data-p=\"/bgp/vips/1/vip\" data-fixed>2001:db8::10</b>"),
            std::string::npos);
  EXPECT_NE(html.find("data-p=\"/bgp/vips/0/announced\" class=\"announced\">true</b>"),
            std::string::npos);
  EXPECT_NE(html.find("data-p=\"/bgp/drained\" class=\"drained\">false</b>"),
            std::string::npos);
  EXPECT_NE(html.find("data-count=\"/bgp/sessions\" data-n=\"2\""), std::string::npos);
  // The connection counts' columns, bound whether or not the answer has them yet.
  for (const char* key : {"active_connections", "inactive_connections"})
    EXPECT_NE(html.find(absl::StrCat("data-p=\"/services/0/reals/0/", key, "\" data-opt")),
              std::string::npos)
        << key;
}

TEST(StatusPage, ReadOnlyAndOnlyItsPaths) {
  FakeOperations ops;
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"})
    for (const char* path : {"/", "/status.json", "/metrics", "/v1/status", "/nope"}) {
      HttpResponse r = Get(ops, method, path);
      EXPECT_EQ(r.status, 405) << method << " " << path;
      EXPECT_EQ(HeaderOf(r, "Allow"), "GET, HEAD");
    }
  for (const char* path :
       {"/nope", "/index.html", "/v1/status", "/status.json/x", "//", "/metrics/"})
    EXPECT_EQ(Get(ops, "GET", path).status, 404) << path;
  for (const char* method : {"GET", "HEAD"}) {
    EXPECT_EQ(Get(ops, method, "/").status, 200);
    EXPECT_EQ(Get(ops, method, "/status.json?x=1").status, 200);
    HttpResponse m = Get(ops, method, "/metrics");
    EXPECT_EQ(m.status, 200);
    EXPECT_EQ(m.content_type, "text/plain; version=0.0.4");
    EXPECT_NE(m.body.find("xlb_real_health{"), std::string::npos);
  }
  EXPECT_TRUE(ops.calls.empty()) << ops.calls[0];
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
       ".tables[].unrecorded .version .xdp .xdp[].attach .xdp[].interface"},
      {"services",
       "[].check [].counters [].counters.bytes [].counters.new_flows [].counters.packets "
       "[].error [].forward [].name [].on_down [].persistence [].port [].protocol [].reals "
       "[].reals[].active_connections [].reals[].address [].reals[].checks [].reals[].counters "
       "[].reals[].counters.bytes [].reals[].counters.new_flows [].reals[].counters.packets "
       "[].reals[].effective_weight [].reals[].health [].reals[].health_detail "
       "[].reals[].inactive_connections [].reals[].local_errors [].reals[].port "
       "[].reals[].since [].reals[].weight [].scheduler [].service [].table_size [].tunnel "
       "[].tunnel.encap [].tunnel.gue_port [].tunnel.mss_clamp [].tunnel.mtu [].tunnel.source "
       "[].vip"},
      {"conns",
       ".connections .connections[].client .connections[].forward .connections[].from_peer "
       ".connections[].idle_s "
       ".connections[].protocol .connections[].real .connections[].state "
       ".connections[].virtual .remaining .total"},
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
      {"real flush", ".connections .nat_replies .persistence"},
      {"config save", ".ok .path"},
      {"config reload", ".ok"},
      {"trace",
       ".chosen_by .counters .destination .flow .forward .interface .maglev_slot .next_hop_mac "
       ".out_interface .packet .real .records .service .service_name .source_mac .verdict"},
      {"bgp",
       ".announcements .configured .drained .frr_errors .frr_pathspace .last_error .last_reconcile "
       ".last_reconcile_ok .local_as .reconciles .router_id .sessions .sessions[].bfd "
       ".sessions[].connections_dropped .sessions[].description .sessions[].neighbor "
       ".sessions[].prefixes_received .sessions[].prefixes_sent .sessions[].remote_as "
       ".sessions[].state .sessions[].uptime_ms .sessions_error .sessions_time .vips "
       ".vips[].announced .vips[].healthy .vips[].vip .vips[].wanted .withdrawals"},
      {"bgp drain", ".drained .ok"},
      {"bgp undrain", ".drained .ok"},
      {"sync",
       ".applied .applied.inserted .applied.kept_own .applied.refreshed .applied.stale "
       ".applied_reply .applied_reply.inserted .datagrams_sent .dropped .dropped.auth_failed "
       ".dropped.replayed .dropped.ring_full .enabled .epoch .held .last_refresh_s "
       ".last_sequence_sent .mode "
       ".node_id .peers .peers[].address .peers[].datagrams_received .peers[].dropped "
       ".peers[].dropped.rate_limited .peers[].dropped.replayed .peers[].epoch .peers[].gaps "
       ".peers[].highest_sequence .peers[].lag_p50_ms .peers[].lag_p99_ms "
       ".peers[].last_heard_s .peers[].missing .peers[].records_received .peers[].sender_id "
       ".peers[].up .port .ready .records_sent .refresh_passes .refresh_records .resync "
       ".resync_detail"},
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
  // Counts by reason or outcome: maps, any key may be absent.
  static const std::set<std::string> kMaps = {"status.counters", "sync.dropped", "sync.applied",
                                              "sync.applied_reply", "sync.peers[0].dropped"};
  if (!j.is_object() || kMaps.contains(at)) return;
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
        endpoint.spec.path == kRealDel.spec.path || endpoint.spec.path == kRealFlush.spec.path)
      request.body = R"({"service": "198.51.100.1:80", "real": "203.0.113.1", "weight": 2})";
    if (endpoint.spec.path == kTrace.spec.path)
      request.body = R"({"flow": "198.51.100.1:80", "client": "192.0.2.7", "client_port": 1})";
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
  RoundTrip(BgpRequest{});
  RoundTrip(BgpDrainRequest{});
  RoundTrip(BgpUndrainRequest{});
  RoundTrip(SyncRequest{});
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
                              .health = nlohmann::json{{"type", "http"}, {"expect", {200, 204}}},
                              .on_down = config::OnDown::kShutdown});
  RoundTrip(ServiceAddRequest{.service = Key("198.51.100.20:443/tcp"),
                              .forward = model::Forward::kTunnel,
                              .encap = model::Encap::kGue,
                              .gue_port = 7000,
                              .tunnel_source = "192.0.2.128/25",
                              .tunnel_mtu = 1500,
                              .mss_clamp = false});
  RoundTrip(ServiceDelRequest{Key("198.51.100.20:443/tcp")});
  RoundTrip(RealAddRequest{Key("198.51.100.20:443/tcp"), {Ip("2001:db8::1"), 8443}, 7});
  RoundTrip(RealAddRequest{Key("198.51.100.20:443/tcp"), {Ip("203.0.113.1"), 0}, std::nullopt});
  RoundTrip(RealSetRequest{Key("198.51.100.20:443/tcp"), {Ip("203.0.113.1"), 80}, 3, std::nullopt});
  RoundTrip(
      RealSetRequest{Key("198.51.100.20:443/tcp"), {Ip("203.0.113.1"), 80}, std::nullopt, true});
  RoundTrip(RealDelRequest{Key("198.51.100.20:443/tcp"), {Ip("203.0.113.1"), 0}});
  RoundTrip(RealFlushRequest{Key("198.51.100.20:443/tcp"), {Ip("2001:db8::1"), 8443}});
  RoundTrip(ConfigSaveRequest{"/etc/xlb/new.yaml"});
  RoundTrip(ConfigSaveRequest{});
  RoundTrip(ConfigReloadRequest{});
  RoundTrip(TraceRequest{Key("[2001:db8::10]:53/udp"), Ip("2001:db8::7"), 5000, std::nullopt,
                         std::nullopt});
  RoundTrip(TraceRequest{Key("198.51.100.10:80/tcp"), Ip("192.0.2.7"), 40000, true, "eth1"});
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
       "forward is dr, nat or tunnel, not 'tun'"},
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
       "timeout, rise, fall, through_tunnel)"},
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
      {{"POST", "/v1/real/flush", {}, R"({"service": "198.51.100.1:80"})"}, 400,
       R"(missing string field "real")"},
      {{"POST", "/v1/real/flush", {}, R"({"service": "198.51.100.1:80", "real": "nope"})"}, 400,
       "real 'nope': 'nope' is not an IPv4 or IPv6 address (expected ADDR[:PORT][@WEIGHT])"},
      {{"POST", "/v1/config/save", {}, R"({"path": 1})"}, 400,
       "bad request body: [json.exception.type_error.302] type must be string, but is number"},
      {{"POST", "/v1/config/reload", {}, "[1]"}, 400, "the body is not a JSON object"},
      {{"POST", "/v1/nothing", {}, "{}"}, 404, "no such operation: POST /v1/nothing"},
      {{"GET", "/v1/service/add", {}, ""}, 404, "no such resource: GET /v1/service/add"},
      {{"PUT", "/v1/status", {}, ""}, 405, "method PUT not allowed"},
      {{"GET", "/v1/conns", {{"limit", "x"}}, ""}, 400, "limit must be a number"},
      {{"GET", "/v1/conns", {{"service", "nope"}}, ""}, 400,
       "service 'nope': no port (expected VIP:PORT[/tcp|udp])"},
      {{"POST", "/v1/trace", {}, R"({"flow": "198.51.100.1:80", "client": "192.0.2.7"})"}, 400,
       R"(missing field "client_port")"},
      {{"POST", "/v1/trace", {},
        R"({"flow": "198.51.100.1:80", "client": "192.0.2.7", "client_port": 70000})"},
       400, "client port 70000 is not in 1..65535"},
      {{"POST", "/v1/trace", {},
        R"({"flow": "198.51.100.1:*", "client": "192.0.2.7", "client_port": 7})"},
       400, "flow 198.51.100.1:*/tcp: a trace needs the port the client sends to, not *"},
      {{"POST", "/v1/trace", {},
        R"({"flow": "198.51.100.1:80", "client": "2001:db8::7", "client_port": 7})"},
       400, "client 2001:db8::7 and VIP 198.51.100.1 are not of one address family"},
      {{"POST", "/v1/trace", {},
        R"({"flow": "198.51.100.1:80", "client": "nowhere", "client_port": 7})"},
       400, "'nowhere' is not an IPv4 or IPv6 address"},
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

// `conns --limit N` lists N and says how many more there are, in the
// table and in the JSON; no line when nothing was left out.
TEST(ContractTest, ConnsSaysHowManyMore) {
  FakeOperations ops;
  auto command = xlbctl::ParseArgs({"conns", "--limit", "1"});
  ASSERT_TRUE(command.ok()) << command.status();
  auto answer = nlohmann::json::parse(Serve(ops, *command).body);
  EXPECT_EQ(ops.calls, std::vector<std::string>{"Connections all limit=1"});
  EXPECT_EQ(answer["connections"].size(), 1u);
  EXPECT_EQ(answer["total"], 4);
  EXPECT_EQ(answer["remaining"], 3);
  EXPECT_EQ(*xlbctl::Render(xlbctl::View::kConns, answer),
            "pro  state    fwd    idle     source                         virtual                "
            "        destination\n"
            "TCP  ACTIVE   dr     1.2      192.0.2.7:40000                198.51.100.10:80       "
            "        203.0.113.11:8080\n"
            "... 3 more of 4 (xlbctl conns --limit N shows more)\n");
  auto all = nlohmann::json::parse(Serve(ops, *xlbctl::ParseArgs({"conns", "--limit", "4"})).body);
  EXPECT_EQ(all["remaining"], 0);
  EXPECT_EQ(xlbctl::Render(xlbctl::View::kConns, all)->find("more"), std::string::npos);
}

// The metrics carry the service's name, and each real's connections as
// node_exporter's ipvs collector has them (README maps the names).
TEST(ContractTest, MetricsNameTheServiceAndCountConnections) {
  FakeOperations ops;
  const std::string metrics = RenderMetrics(ops.status, ops.services, {}, ops.bgp, ops.sync);
  const std::string real = "service=\"web\",vip=\"198.51.100.10\",port=\"80\",protocol=\"tcp\","
                           "real=\"203.0.113.12\",real_port=\"80\"";
  for (const std::string& line : std::vector<std::string>{
           "# TYPE xlb_real_active_connections gauge", "# TYPE xlb_real_inactive_connections gauge",
        "xlb_real_active_connections{" + real + "} 0",
        "xlb_real_inactive_connections{" + real + "} 2",
        "xlb_service_packets_total{service=\"dns\",vip=\"2001:db8::10\",port=\"53\","
        "protocol=\"udp\"} 0",
        "xlb_table_capacity{table=\"connections\"} 1048576",
        "xlb_table_entries{table=\"connections\"} 42"})
    EXPECT_NE(metrics.find("\n" + line + "\n"), std::string::npos) << line << "\n" << metrics;
}

// With a bgp: section: each session's state and BFD, each VIP, the counters.
TEST(ContractTest, MetricsOfBgp) {
  FakeOperations ops;
  ops.bgp.drained = true;
  const std::string metrics = RenderMetrics(ops.status, ops.services, {}, ops.bgp, ops.sync);
  for (const std::string& line : std::vector<std::string>{
           "# TYPE xlb_bgp_session_established gauge",
           "xlb_bgp_session_established{neighbor=\"192.0.2.254\"} 1",
           "xlb_bgp_session_established{neighbor=\"2001:db8::fe\"} 0",
           "# TYPE xlb_bgp_session_bfd_up gauge",
           "xlb_bgp_session_bfd_up{neighbor=\"192.0.2.254\"} 1",
           "# TYPE xlb_bgp_vip_announced gauge", "xlb_bgp_vip_announced{vip=\"198.51.100.10\"} 1",
           "xlb_bgp_vip_announced{vip=\"2001:db8::10\"} 0", "xlb_bgp_prefixes_announced 1",
           "# TYPE xlb_bgp_announcements_total counter", "xlb_bgp_announcements_total 3",
           "xlb_bgp_withdrawals_total 1", "xlb_bgp_frr_errors_total 1", "xlb_bgp_drained 1"})
    EXPECT_NE(metrics.find("\n" + line + "\n"), std::string::npos) << line << "\n" << metrics;
  // No BFD on the IPv6 session: no sample rather than a "down".
  EXPECT_EQ(metrics.find("xlb_bgp_session_bfd_up{neighbor=\"2001:db8::fe\"}"), std::string::npos);
  ops.bgp.drained = false;
  EXPECT_NE(RenderMetrics(ops.status, ops.services, {}, ops.bgp, ops.sync).find("\nxlb_bgp_drained 0\n"),
            std::string::npos);
}

// Without a bgp: section: /v1/bgp says so and xlbctl bgp too (exit 0, as
// `xlbctl vrrp` with no instances); drain and undrain are refused with
// xlbd's reason as 409, which xlbctl prints (exit 1); no BGP metrics at all;
// the status page has no BGP card.
TEST(ContractTest, BgpNotConfigured) {
  FakeOperations ops;
  ops.bgp = {};
  auto command = xlbctl::ParseArgs({"bgp"});
  ASSERT_TRUE(command.ok()) << command.status();
  HttpResponse r = Serve(ops, *command);
  ASSERT_EQ(r.status, 200) << r.body;
  auto answer = nlohmann::json::parse(r.body);
  EXPECT_EQ(answer["configured"], false);
  EXPECT_EQ(answer["vips"], nlohmann::json::array());
  EXPECT_EQ(answer["sessions_time"], "");
  EXPECT_EQ(*xlbctl::Render(xlbctl::View::kBgp, answer),
            "BGP: not configured (xlbd's configuration has no bgp: section)\n");
  for (const char* verb : {"drain", "undrain"}) {
    auto change = xlbctl::ParseArgs({"bgp", verb});
    ASSERT_TRUE(change.ok()) << change.status();
    HttpResponse refused = Serve(ops, *change);
    EXPECT_EQ(refused.status, 409) << verb;
    auto error = Decode<ErrorAnswer>(nlohmann::json::parse(refused.body), "error");
    ASSERT_TRUE(error.ok()) << refused.body;
    EXPECT_EQ(error->error, "no bgp: section in the configuration");
  }
  EXPECT_TRUE(ops.calls.empty()) << ops.calls[0];
  const std::string metrics = RenderMetrics(ops.status, ops.services, {}, ops.bgp, ops.sync);
  EXPECT_EQ(metrics.find("xlb_bgp_"), std::string::npos) << metrics;
  const std::string html = RenderStatusPage(json(StatusPageOf(ops)), "n");
  EXPECT_EQ(html.find("<h2>BGP"), std::string::npos);
  EXPECT_NE(html.find("<span data-p=\"/bgp/configured\" hidden data-fixed>false</span>"),
            std::string::npos);
}

// With a sync: section: what was sent, each peer's records, gaps, state and
// lag, the drops by reason, the apply outcomes per table, ready and held.
TEST(ContractTest, MetricsOfSync) {
  FakeOperations ops;
  const std::string metrics = RenderMetrics(ops.status, ops.services, {}, ops.bgp, ops.sync);
  for (const std::string& line : std::vector<std::string>{
           "# TYPE xlb_sync_records_sent_total counter", "xlb_sync_records_sent_total 1200",
           "# TYPE xlb_sync_datagrams_sent_total counter", "xlb_sync_datagrams_sent_total 80",
           "# TYPE xlb_sync_refresh_records_total counter", "xlb_sync_refresh_records_total 150",
           "# TYPE xlb_sync_records_received_total counter",
           "xlb_sync_records_received_total{peer=\"192.0.2.12\"} 1150",
           "xlb_sync_records_received_total{peer=\"2001:db8::12\"} 0",
           "# TYPE xlb_sync_dropped_total counter", "xlb_sync_dropped_total{reason=\"ring_full\"} 3",
           "xlb_sync_dropped_total{reason=\"auth_failed\"} 2",
           "xlb_sync_dropped_total{reason=\"replayed\"} 0",
           "# TYPE xlb_sync_applied_total counter",
           "xlb_sync_applied_total{table=\"conn\",outcome=\"inserted\"} 1000",
           "xlb_sync_applied_total{table=\"conn\",outcome=\"stale\"} 2",
           "xlb_sync_applied_total{table=\"nat_reply\",outcome=\"inserted\"} 20",
           "# TYPE xlb_sync_seq_gaps_total counter",
           "xlb_sync_seq_gaps_total{peer=\"192.0.2.12\"} 1",
           "# TYPE xlb_sync_peer_up gauge", "xlb_sync_peer_up{peer=\"192.0.2.12\"} 1",
           "xlb_sync_peer_up{peer=\"2001:db8::12\"} 0", "# TYPE xlb_sync_lag_seconds gauge",
           "xlb_sync_lag_seconds{peer=\"192.0.2.12\",quantile=\"0.5\"} 0.0004",
           "xlb_sync_lag_seconds{peer=\"192.0.2.12\",quantile=\"0.99\"} 0.0025",
           "# TYPE xlb_sync_ready gauge", "xlb_sync_ready 1", "# TYPE xlb_sync_held gauge",
           "xlb_sync_held 5"})
    EXPECT_NE(metrics.find("\n" + line + "\n"), std::string::npos) << line << "\n" << metrics;
  ops.sync.ready = false;
  EXPECT_NE(RenderMetrics(ops.status, ops.services, {}, ops.bgp, ops.sync).find("\nxlb_sync_ready 0\n"),
            std::string::npos);
}

// Without a sync: section: /v1/sync answers 200 with "enabled": false and
// the rest empty, xlbctl sync says so (exit 0, as bgp), no sync metrics.
TEST(ContractTest, SyncNotConfigured) {
  FakeOperations ops;
  ops.sync = {};
  auto command = xlbctl::ParseArgs({"sync"});
  ASSERT_TRUE(command.ok()) << command.status();
  HttpResponse r = Serve(ops, *command);
  ASSERT_EQ(r.status, 200) << r.body;
  auto answer = nlohmann::json::parse(r.body);
  EXPECT_EQ(answer["enabled"], false);
  EXPECT_EQ(answer["peers"], nlohmann::json::array());
  EXPECT_EQ(answer["dropped"], nlohmann::json::object());
  EXPECT_EQ(*xlbctl::Render(xlbctl::View::kSync, answer),
            "sync: not configured (xlbd's configuration has no sync: section)\n");
  EXPECT_TRUE(ops.calls.empty()) << ops.calls[0];
  const std::string metrics = RenderMetrics(ops.status, ops.services, {}, ops.bgp, ops.sync);
  EXPECT_EQ(metrics.find("xlb_sync_"), std::string::npos) << metrics;
}

// A resync under way holds VRRP and BGP back: xlbctl sync says why.
TEST(ContractTest, SyncNotReadyDuringResync) {
  FakeOperations ops;
  auto printed = [&] {
    auto text = xlbctl::Render(xlbctl::View::kSync,
                               json::parse(Route(ops, {"GET", "/v1/sync", {}, ""}).body));
    EXPECT_TRUE(text.ok()) << text.status();
    return text.value_or("");
  };
  ops.sync.ready = false;
  ops.sync.resync = "running";
  ops.sync.resync_detail = "from 192.0.2.12";
  EXPECT_NE(printed().find("\nready: no (VRRP and BGP wait until the resync ends), resync "
                           "running: from 192.0.2.12\n"),
            std::string::npos)
      << printed();
  ops.sync.ready = true;
  ops.sync.resync = "none";
  ops.sync.resync_detail = "";
  EXPECT_NE(printed().find("\nready: yes, no resync\n"), std::string::npos) << printed();
}

}  // namespace
}  // namespace xlb::api
