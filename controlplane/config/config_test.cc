// The YAML configuration: parsing into the model, every validation error
// (with the "FILE:LINE: FIELD:" prefix an operator relies on), the emitter's
// round trip, and the example files under config/.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "controlplane/config/emit.h"
#include "controlplane/config/parse.h"
#include "controlplane/config/tls_testing.h"
#include "model/address.h"
#include "model/service.h"
#include "gtest/gtest.h"
#include "tests/support/status_assertions.h"

namespace xlb::config {
namespace {

using model::Forward;
using model::IpAddress;
using model::Protocol;
using model::RealSpec;
using model::Scheduler;

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

// ParseConfig must fail with InvalidArgument, a message starting with
// `prefix` and containing each of `words`.
testing::AssertionResult Fails(const std::string& yaml, const std::string& prefix,
                               const std::vector<std::string>& words = {}) {
  return testing_support::IsInvalidArgument(ParseConfig(yaml, "xlb.yaml").status(), prefix, words);
}

void ExpectRoundTrip(const Config& c);

Config Parses(const std::string& yaml) {
  absl::StatusOr<Config> c = ParseConfig(yaml, "xlb.yaml");
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : Config{};
}

// A valid one-service file, lines 1-5; what a test appends starts at line 6.
std::string Svc(const std::string& more = "") {
  return "interfaces: [eth0]\n"      // 1
         "services:\n"               // 2
         "  - name: web\n"           // 3
         "    vip: 198.51.100.20\n"  // 4
         "    port: 80\n" +          // 5
         more;
}

constexpr char kIssueExample[] = R"(interfaces: [eth0]                 # where the XDP program runs
api: {socket: /run/xlb/xlbd.sock, metrics: "127.0.0.1:9470", group: xlbadm}
services:
  - name: pg-rw
    vip: 198.51.100.10
    port: 5432
    protocol: tcp
    forward: dr
    scheduler: maglev
    persistence: {timeout: 0s, netmask: 32}
    table_size: 65537
    drop_fragments: false
    timeouts: {tcp: 900s, tcp_fin: 120s, udp: 300s}
    reals:
      - {address: 203.0.113.11, port: 5432, weight: 100}
    health: {type: http, port: 8008, path: /primary, expect: [200], body: "", interval: 1s, timeout: 500ms, rise: 2, fall: 2}
)";

TEST(ParseConfig, IssueExample) {
  Config c = Parses(kIssueExample);
  Config want;
  want.interfaces = {"eth0"};
  want.api = {"/run/xlb/xlbd.sock", "xlbadm", "127.0.0.1:9470"};
  ServiceConfig s;
  s.name = "pg-rw";
  s.service.key = {Ip("198.51.100.10"), 5432, Protocol::kTcp};
  s.service.options.persistence_netmask = 32;
  s.reals = {RealSpec{Ip("203.0.113.11"), 5432, 100}};
  s.health.type = HealthType::kHttp;
  s.health.port = 8008;
  s.health.path = "/primary";
  want.services = {s};
  EXPECT_EQ(c, want);
}

TEST(ParseConfig, Defaults) {
  Config c = Parses("interfaces: [eth0, eth1]\n");
  EXPECT_EQ(c.interfaces, (std::vector<std::string>{"eth0", "eth1"}));
  EXPECT_EQ(c.api, ApiConfig{});
  EXPECT_TRUE(c.services.empty());
  EXPECT_TRUE(Parses("interfaces: [eth0]\nservices: []\napi: {}\n").services.empty());
  EXPECT_TRUE(Parses("interfaces: [eth0]\nservices:\n").services.empty());

  c = Parses(Svc("    reals:\n      - {address: 203.0.113.1}\n"));
  ASSERT_EQ(c.services.size(), 1u);
  const ServiceConfig& s = c.services[0];
  EXPECT_EQ(s.name, "web");
  EXPECT_EQ(s.service.key.ToString(), "198.51.100.20:80/tcp");
  EXPECT_EQ(s.service.options, model::ServiceOptions{});
  EXPECT_EQ(s.service.options.forward, Forward::kDr);
  EXPECT_EQ(s.service.options.scheduler, Scheduler::kMaglev);
  EXPECT_EQ(s.service.options.table_size, 65537u);
  EXPECT_EQ(s.service.options.persistence_netmask, -1);
  EXPECT_EQ(s.reals, (std::vector<RealSpec>{{Ip("203.0.113.1"), 0, 1}}));
  EXPECT_EQ(s.health, HealthCheck{});
  EXPECT_EQ(s.health.type, HealthType::kNone);
}

TEST(ParseConfig, HealthDefaultsPerType) {
  HealthCheck h = Parses(Svc("    health: {type: http}\n")).services.at(0).health;
  EXPECT_EQ(h.type, HealthType::kHttp);
  EXPECT_EQ(h.path, "/");
  EXPECT_EQ(h.expect, std::vector<int>{200});
  EXPECT_EQ(h.interval, Duration(1000));
  EXPECT_EQ(h.timeout, Duration(500));
  EXPECT_EQ(h.rise, 2);
  EXPECT_EQ(h.fall, 2);
  h = Parses(Svc("    health: {type: exec, command: 'pg_isready -q'}\n")).services.at(0).health;
  EXPECT_EQ(h.type, HealthType::kExec);
  EXPECT_EQ(h.command, "pg_isready -q");
}

TEST(ParseConfig, AllPortsNatUdpIpv6) {
  Config c = Parses(R"(interfaces: [eth0]
services:
  - name: dns
    vip: 2001:db8::53
    port: "*"
    protocol: udp
    forward: nat
    scheduler: source-hash
    persistence: {timeout: 5m, netmask: 64}
    table_size: 251
    drop_fragments: true
    timeouts: {udp: 30s}
    reals:
      - {address: "2001:db8::1", weight: 0}
      - {address: 2001:db8::2, port: 0, weight: 65535}
    health: {type: tcp, port: 53, interval: 2s, timeout: 2s, rise: 1, fall: 100}
)");
  ASSERT_EQ(c.services.size(), 1u);
  const model::Service& s = c.services[0].service;
  EXPECT_EQ(s.key.ToString(), "[2001:db8::53]:*/udp");
  EXPECT_TRUE(s.options.all_ports);
  EXPECT_EQ(s.options.forward, Forward::kNat);
  EXPECT_EQ(s.options.scheduler, Scheduler::kSourceHash);
  EXPECT_EQ(s.options.persistence_timeout_s, 300u);
  EXPECT_EQ(s.options.persistence_netmask, 64);
  EXPECT_EQ(s.options.table_size, 251u);
  EXPECT_TRUE(s.options.drop_fragments);
  EXPECT_EQ(s.options.udp_timeout_s, 30u);
  EXPECT_EQ(s.options.tcp_timeout_s, 900u);
  EXPECT_EQ(c.services[0].reals.at(1).weight, 65535u);
  EXPECT_EQ(c.services[0].health.port, 53);
}

TEST(ParseConfig, SameVipPortOtherProtocolIsAnotherService) {
  EXPECT_EQ(Parses(Svc("  - name: web-udp\n    vip: 198.51.100.20\n    port: 80\n"
                       "    protocol: udp\n"))
                .services.size(),
            2u);
}

// ---- unknown keys, at every level ----

TEST(ParseConfigErrors, UnknownKeys) {
  EXPECT_TRUE(Fails("interfaces: [eth0]\nvrrpp: {}\n",
                    "xlb.yaml:2: vrrpp: unknown key (expected one of: interfaces, api, tables, scripts, "
                    "services, vrrp, bgp, sync)"));
  EXPECT_TRUE(
      Fails("interfaces: [eth0]\napi:\n  socket: /x.sock\n  colour: red\n",
            "xlb.yaml:4: api.colour: unknown key (expected one of: socket, metrics, group, "
            "max_sessions, metrics_max_sessions)"));
  EXPECT_TRUE(
      Fails(Svc("    colour: red\n"),
            "xlb.yaml:6: services[0].colour: unknown key (expected one of: name, vip, port,",
            {"health"}));
  EXPECT_TRUE(Fails(Svc("    persistence: {timeout: 60s, mask: 24}\n"),
                    "xlb.yaml:6: services[0].persistence.mask: unknown key (expected one of: "
                    "timeout, netmask)"));
  EXPECT_TRUE(Fails(Svc("    timeouts:\n      tcp: 60s\n      fin: 10s\n"),
                    "xlb.yaml:8: services[0].timeouts.fin: unknown key (expected one of: tcp, "
                    "tcp_fin, udp)"));
  EXPECT_TRUE(Fails(Svc("    reals:\n      - {address: 203.0.113.1, wieght: 2}\n"),
                    "xlb.yaml:7: services[0].reals[0].wieght: unknown key (expected one of: "
                    "address, port, weight)"));
  EXPECT_TRUE(Fails(Svc("    health:\n      type: tcp\n      intervall: 2s\n"),
                    "xlb.yaml:8: services[0].health.intervall: unknown key (expected one of: type,",
                    {"interval", "fall"}));
}

// ---- values ----

TEST(ParseConfigErrors, BadDuration) {
  EXPECT_TRUE(Fails(Svc("    health:\n      type: tcp\n      interval: 5x\n"),
                    "xlb.yaml:8: services[0].health.interval: '5x' is not a duration (expected "
                    "e.g. 500ms, 1s, 2m)"));
  EXPECT_TRUE(Fails(Svc("    persistence: {timeout: 10}\n"),
                    "xlb.yaml:6: services[0].persistence.timeout: '10' has no unit"));
  EXPECT_TRUE(Fails(Svc("    timeouts: {tcp: 1500ms}\n"),
                    "xlb.yaml:6: services[0].timeouts.tcp: '1500ms' is not a whole number of "
                    "seconds"));
  EXPECT_TRUE(Fails(Svc("    timeouts: {tcp_fin: 0s}\n"),
                    "xlb.yaml:6: services[0].timeouts.tcp_fin: '0s' is too short (expected at "
                    "least 1s)"));
  EXPECT_TRUE(Fails(Svc("    timeouts: {udp: 100000000h}\n"),
                    "xlb.yaml:6: services[0].timeouts.udp: '100000000h' is too long"));
  EXPECT_TRUE(Fails(Svc("    health: {type: tcp, timeout: -1s}\n"),
                    "xlb.yaml:6: services[0].health.timeout: '-1s' is negative"));
}

TEST(ParseConfigErrors, BadPort) {
  const std::string head = "interfaces: [eth0]\nservices:\n  - name: web\n    vip: 198.51.100.20\n";
  EXPECT_TRUE(Fails(head + "    port: abc\n",
                    "xlb.yaml:5: services[0].port: 'abc' is not a port (expected 1..65535, or "
                    "\"*\" for all ports)"));
  EXPECT_TRUE(
      Fails(head + "    port: 70000\n", "xlb.yaml:5: services[0].port: '70000' is not a port"));
  EXPECT_TRUE(Fails(head + "    port: 0\n", "xlb.yaml:5: services[0].port: '0' is not a port"));
  EXPECT_TRUE(Fails(head + "    port: -80\n", "xlb.yaml:5: services[0].port: '-80' is not a port"));
  EXPECT_TRUE(Fails(head + "    port: [80, 443]\n",
                    "xlb.yaml:5: services[0].port: is a list (expected 1..65535"));
  EXPECT_TRUE(Fails(head + "    port:\n", "xlb.yaml:5: services[0].port: has no value"));
  EXPECT_TRUE(Fails(Svc("    reals:\n      - {address: 203.0.113.1, port: 70000}\n"),
                    "xlb.yaml:7: services[0].reals[0].port: 70000 is out of range (expected "
                    "0..65535)"));
  EXPECT_TRUE(Fails(Svc("    health: {type: tcp, port: http}\n"),
                    "xlb.yaml:6: services[0].health.port: 'http' is not a number (expected "
                    "0..65535)"));
}

TEST(ParseConfigErrors, UnquotedStarPortIsASyntaxErrorWithAHint) {
  EXPECT_TRUE(
      Fails("interfaces: [eth0]\nservices:\n  - name: all\n    vip: 198.51.100.20\n"
            "    port: *\n",
            "xlb.yaml:5: YAML syntax: ", {"alias", "port: \"*\""}));
}

TEST(ParseConfigErrors, BadChoices) {
  EXPECT_TRUE(Fails(Svc("    protocol: sctp\n"),
                    "xlb.yaml:6: services[0].protocol: 'sctp' is not one of: tcp, udp"));
  EXPECT_TRUE(Fails(Svc("    forward: tun\n"),
                    "xlb.yaml:6: services[0].forward: 'tun' is not one of: dr, nat"));
  EXPECT_TRUE(Fails(Svc("    scheduler: wrr\n"),
                    "xlb.yaml:6: services[0].scheduler: 'wrr' is not one of: maglev, source-hash"));
  EXPECT_TRUE(Fails(Svc("    health: {type: icmp}\n"),
                    "xlb.yaml:6: services[0].health.type: 'icmp' is not one of: none, tcp, http, "
                    "https, exec"));
  EXPECT_TRUE(Fails(Svc("    drop_fragments: maybe\n"),
                    "xlb.yaml:6: services[0].drop_fragments: 'maybe' is not true or false"));
}

TEST(ParseConfigErrors, WrongTypes) {
  EXPECT_TRUE(Fails("interfaces: eth0\n",
                    "xlb.yaml:1: interfaces: is a single value (expected a list of interface "
                    "names, e.g. [eth0])"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\nservices: {name: web}\n",
                    "xlb.yaml:2: services: is a map (expected a list of services)"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\nservices:\n  - web\n",
                    "xlb.yaml:3: services[0]: is a single value (expected a map with keys: name,"));
  EXPECT_TRUE(
      Fails("interfaces: [eth0]\nservices:\n  - name: [web]\n    vip: 198.51.100.20\n"
            "    port: 80\n",
            "xlb.yaml:3: services[0].name: is a list (expected a name"));
  EXPECT_TRUE(Fails("- interfaces\n", "xlb.yaml:1: (top level): is a list (expected a map"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\napi: /run/xlb.sock\n",
                    "xlb.yaml:2: api: is a single value (expected a map with keys: socket,"));
  EXPECT_TRUE(Fails(Svc("    reals: 203.0.113.1\n"),
                    "xlb.yaml:6: services[0].reals: is a single value (expected a list of"));
  EXPECT_TRUE(Fails(Svc("    health: {type: http, expect: 200}\n"),
                    "xlb.yaml:6: services[0].health.expect: is a single value (expected a list "
                    "of HTTP status codes"));
}

TEST(ParseConfigErrors, BadNamesAndAddresses) {
  EXPECT_TRUE(
      Fails("interfaces: [eth0]\nservices:\n  - name: pg rw\n    vip: 198.51.100.20\n"
            "    port: 80\n",
            "xlb.yaml:3: services[0].name: 'pg rw' is not a name (expected letters, "
            "digits"));
  EXPECT_TRUE(
      Fails("interfaces: [eth0]\nservices:\n  - name: web\n    vip: 198.51.100.300\n"
            "    port: 80\n",
            "xlb.yaml:4: services[0].vip: '198.51.100.300' is not an IP address"));
  EXPECT_TRUE(Fails(Svc("    reals:\n      - {address: db1}\n"),
                    "xlb.yaml:7: services[0].reals[0].address: 'db1' is not an IP address"));
  EXPECT_TRUE(Fails("interfaces: [eth0, eth0/1]\n",
                    "xlb.yaml:1: interfaces[1]: 'eth0/1' is not an interface name"));
  EXPECT_TRUE(Fails("interfaces: [averyveryverylongname]\n",
                    "xlb.yaml:1: interfaces[0]: 'averyveryverylongname' is not an interface name",
                    {"15 characters"}));
}

TEST(ParseConfigErrors, Api) {
  EXPECT_TRUE(Fails("interfaces: [eth0]\napi: {metrics: 'localhost:9470'}\n",
                    "xlb.yaml:2: api.metrics: 'localhost:9470' is not ADDRESS:PORT"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\napi: {metrics: ':9470'}\n",
                    "xlb.yaml:2: api.metrics: ':9470' is not ADDRESS:PORT"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\napi: {metrics: '127.0.0.1:0'}\n",
                    "xlb.yaml:2: api.metrics: '127.0.0.1:0' is not ADDRESS:PORT"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\napi: {metrics: '::1:9470'}\n",
                    "xlb.yaml:2: api.metrics: '::1:9470' is not ADDRESS:PORT"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\napi: {socket: xlbd.sock}\n",
                    "xlb.yaml:2: api.socket: 'xlbd.sock' is not an absolute path"));
  EXPECT_TRUE(
      Fails(absl::StrCat("interfaces: [eth0]\napi: {socket: /", std::string(120, 'x'), "}\n"),
            "xlb.yaml:2: api.socket: is 121 bytes long (expected at most 107"));
  Config c = Parses("interfaces: [eth0]\napi: {metrics: '[::1]:9470', group: ''}\n");
  EXPECT_EQ(c.api.metrics, "[::1]:9470");
  EXPECT_EQ(c.api.socket, "/run/xlb/xlbd.sock");
  EXPECT_EQ(Parses("interfaces: [eth0]\napi: {metrics: ''}\n").api.metrics, "");
}

TEST(ParseConfig, ApiSessionCaps) {
  Config c = Parses("interfaces: [eth0]\n");
  EXPECT_EQ(c.api.max_sessions, 64);
  EXPECT_EQ(c.api.metrics_max_sessions, 64);
  c = Parses("interfaces: [eth0]\napi: {max_sessions: 8, metrics_max_sessions: 4096}\n");
  EXPECT_EQ(c.api.max_sessions, 8);
  EXPECT_EQ(c.api.metrics_max_sessions, 4096);
  EXPECT_TRUE(Fails("interfaces: [eth0]\napi:\n  max_sessions: 0\n",
                    "xlb.yaml:3: api.max_sessions: 0 is out of range (expected 1..4096)"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\napi: {metrics_max_sessions: 5000}\n",
                    "xlb.yaml:2: api.metrics_max_sessions: 5000 is out of range (expected 1..4096)"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\napi: {max_sessions: many}\n",
                    "xlb.yaml:2: api.max_sessions: 'many' is not a number (expected 1..4096)"));
}

// ---- missing keys: reported at the line of the map that lacks them ----

TEST(ParseConfigErrors, Tables) {
  EXPECT_TRUE(Fails("interfaces: [eth0]\ntables:\n  connections: 100\n",
                    "xlb.yaml:3: tables.connections: 100 is out of range (expected "
                    "1024..67108864)"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\ntables:\n  persistence: 67108865\n",
                    "xlb.yaml:3: tables.persistence: 67108865 is out of range"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\ntables:\n  nat_replies: lots\n",
                    "xlb.yaml:3: tables.nat_replies: 'lots' is not a number"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\ntables:\n  conns: 4096\n",
                    "xlb.yaml:3: tables.conns: unknown key (expected one of: connections, "
                    "nat_replies, persistence)"));
}

TEST(ParseConfigErrors, MissingRequiredKeys) {
  EXPECT_TRUE(Fails("services: []\n",
                    "xlb.yaml:1: interfaces: missing (required: a list of "
                    "interface names, e.g. [eth0])"));
  EXPECT_TRUE(Fails("", "xlb.yaml:1: interfaces: missing"));
  EXPECT_TRUE(Fails("# nothing yet\n", "xlb.yaml:1: interfaces: missing"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\nservices:\n  - vip: 198.51.100.20\n    port: 80\n",
                    "xlb.yaml:3: services[0].name: missing (required"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\nservices:\n  - name: web\n    port: 80\n",
                    "xlb.yaml:3: services[0].vip: missing (required: an IPv4 or IPv6 address)"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\nservices:\n  - name: web\n    vip: 198.51.100.20\n",
                    "xlb.yaml:3: services[0].port: missing (required: 1..65535, or \"*\" for all "
                    "ports)"));
  EXPECT_TRUE(Fails(Svc("    reals:\n      - {port: 80}\n"),
                    "xlb.yaml:7: services[0].reals[0].address: missing (required"));
}

// ---- duplicates ----

TEST(ParseConfigErrors, Duplicates) {
  EXPECT_TRUE(Fails(Svc("  - name: web\n    vip: 198.51.100.21\n    port: 80\n"),
                    "xlb.yaml:6: services[1].name: 'web' is used twice (first at line 3)"));
  EXPECT_TRUE(Fails(Svc("  - name: web2\n    vip: 198.51.100.20\n    port: 80\n"),
                    "xlb.yaml:6: services[1]: 198.51.100.20:80/tcp is used twice (first at line "
                    "3)"));
  EXPECT_TRUE(Fails(Svc("    reals:\n      - {address: 203.0.113.1}\n"
                        "      - {address: 203.0.113.1, port: 80, weight: 3}\n"),
                    "xlb.yaml:8: services[0].reals[1]: 203.0.113.1:80 is listed twice (first at "
                    "line 7)"));
  EXPECT_TRUE(Fails("interfaces:\n  - eth0\n  - eth1\n  - eth0\n",
                    "xlb.yaml:4: interfaces[2]: 'eth0' is listed twice (first at line 2)"));
  EXPECT_TRUE(
      Fails(Svc("    port: 81\n"), "xlb.yaml:6: services[0].port: given twice (first at line 5)"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\ninterfaces: [eth1]\n",
                    "xlb.yaml:2: interfaces: given twice (first at line 1)"));
}

// ---- on_down ----

TEST(ParseConfig, OnDown) {
  EXPECT_EQ(Parses(Svc()).services.at(0).on_down, OnDown::kKeep);
  EXPECT_EQ(Parses(Svc("    on_down: keep\n")).services.at(0).on_down, OnDown::kKeep);
  const Config c = Parses(Svc("    on_down: shutdown\n"));
  EXPECT_EQ(c.services.at(0).on_down, OnDown::kShutdown);
  ExpectRoundTrip(c);
  EXPECT_NE(ToYaml(c).find("    on_down: shutdown\n"), std::string::npos) << ToYaml(c);
  // The default is not written (saved files stay as they were).
  EXPECT_EQ(ToYaml(Parses(Svc())).find("on_down"), std::string::npos);
}

TEST(ParseConfigErrors, OnDown) {
  EXPECT_TRUE(Fails(Svc("    on_down: close\n"),
                    "xlb.yaml:6: services[0].on_down: 'close' is not one of: keep, shutdown"));
  EXPECT_TRUE(Fails(Svc("    on_down: [shutdown]\n"), "xlb.yaml:6: services[0].on_down:"));
}

// ---- forward: tunnel ----

TEST(ParseConfig, Tunnel) {
  // Defaults: ipip, port 6080 (unused), no prefix (the director's address),
  // MTU from the egress link (0), MSS clamped.
  Config c = Parses(Svc("    forward: tunnel\n"));
  const model::ServiceOptions& o = c.services.at(0).service.options;
  EXPECT_EQ(o.forward, Forward::kTunnel);
  EXPECT_EQ(o.tunnel, model::TunnelOptions{});
  EXPECT_EQ(o.tunnel.encap, model::Encap::kIpip);
  EXPECT_EQ(o.tunnel.gue_port, 6080);
  EXPECT_FALSE(o.tunnel.source.has_value());
  EXPECT_EQ(o.tunnel.mtu, 0);
  EXPECT_TRUE(o.tunnel.mss_clamp);
  ExpectRoundTrip(c);
  EXPECT_NE(ToYaml(c).find("    forward: tunnel\n    encap: ipip\n"), std::string::npos)
      << ToYaml(c);

  c = Parses(Svc("    forward: tunnel\n    encap: gue\n    gue_port: 7000\n"
                 "    tunnel_source: 192.0.2.128/25\n    tunnel_mtu: 1500\n    mss_clamp: false\n"
                 "    reals:\n      - {address: 198.51.100.99}\n"
                 "      - {address: 203.0.113.1, port: 80}\n"));
  const model::TunnelOptions& t = c.services.at(0).service.options.tunnel;
  EXPECT_EQ(t.encap, model::Encap::kGue);
  EXPECT_EQ(t.gue_port, 7000);
  ASSERT_TRUE(t.source.has_value());
  EXPECT_EQ(t.source->ToString(), "192.0.2.128/25");
  EXPECT_EQ(t.mtu, 1500);
  EXPECT_FALSE(t.mss_clamp);
  ExpectRoundTrip(c);
  const std::string yaml = ToYaml(c);
  for (const char* line : {"    encap: gue\n", "    gue_port: 7000\n",
                           "    tunnel_source: 192.0.2.128/25\n", "    tunnel_mtu: 1500\n",
                           "    mss_clamp: false\n"})
    EXPECT_NE(yaml.find(line), std::string::npos) << line << yaml;

  c = Parses("interfaces: [eth0]\nservices:\n  - name: v6\n    vip: 2001:db8::10\n    port: 80\n"
             "    forward: tunnel\n    encap: gue\n    tunnel_source: 2001:db8:ff::/112\n"
             "    tunnel_mtu: 1328\n    reals:\n      - {address: 2001:db8:2::1}\n");
  EXPECT_EQ(c.services.at(0).service.options.tunnel.source->ToString(), "2001:db8:ff::/112");
  ExpectRoundTrip(c);
  // A single address is a prefix of one.
  EXPECT_EQ(Parses(Svc("    forward: tunnel\n    tunnel_source: 192.0.2.7\n"))
                .services.at(0).service.options.tunnel.source->ToString(),
            "192.0.2.7/32");
  // Nothing tunnel-specific is written for other services.
  EXPECT_EQ(ToYaml(Parses(Svc())).find("encap"), std::string::npos);
}

TEST(ServiceWarnings, IpipWithoutASourcePrefix) {
  EXPECT_TRUE(ServiceWarnings(Parses(Svc())).empty());
  EXPECT_TRUE(ServiceWarnings(Parses(Svc("    forward: tunnel\n    encap: gue\n"))).empty());
  EXPECT_TRUE(
      ServiceWarnings(Parses(Svc("    forward: tunnel\n    tunnel_source: 192.0.2.0/24\n")))
          .empty());
  const std::vector<std::string> w = ServiceWarnings(Parses(Svc("    forward: tunnel\n")));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("service web (198.51.100.20:80/tcp): encap ipip without tunnel_source"),
            std::string::npos)
      << w[0];
}

TEST(ParseConfigErrors, Tunnel) {
  // Every tunnel key without forward: tunnel, named with its line.
  for (const std::string key : {"encap: gue", "gue_port: 6080", "tunnel_source: 192.0.2.0/24",
                                "tunnel_mtu: 1500", "mss_clamp: false"})
    EXPECT_TRUE(Fails(Svc("    " + key + "\n"),
                      "xlb.yaml:6: services[0]." + key.substr(0, key.find(':')) +
                          ": only for forward: tunnel (forward is dr)"));
  EXPECT_TRUE(Fails(Svc("    forward: nat\n    tunnel_mtu: 1500\n"),
                    "xlb.yaml:7: services[0].tunnel_mtu: only for forward: tunnel (forward is "
                    "nat)"));
  const std::string tun = "    forward: tunnel\n";
  EXPECT_TRUE(Fails(Svc(tun + "    encap: gre\n"),
                    "xlb.yaml:7: services[0].encap: 'gre' is not one of: ipip, gue"));
  EXPECT_TRUE(Fails(Svc(tun + "    gue_port: 6081\n"),
                    "xlb.yaml:7: services[0].gue_port: only for encap: gue (encap is ipip)"));
  EXPECT_TRUE(Fails(Svc(tun + "    encap: gue\n    gue_port: 0\n"),
                    "xlb.yaml:8: services[0].gue_port: 0 is out of range (expected 1..65535)"));
  EXPECT_TRUE(Fails(Svc(tun + "    encap: gue\n    gue_port: 65536\n"),
                    "xlb.yaml:8: services[0].gue_port: 65536 is out of range"));
  EXPECT_TRUE(Fails(Svc(tun + "    tunnel_source: 2001:db8:ff::/112\n"),
                    "xlb.yaml:7: services[0].tunnel_source: '2001:db8:ff::/112' is IPv6 but the "
                    "VIP is IPv4 (expected the VIP's family)"));
  EXPECT_TRUE(Fails(Svc(tun + "    tunnel_source: 192.0.2.130/25\n"),
                    "xlb.yaml:7: services[0].tunnel_source: '192.0.2.130/25' has host bits set "
                    "(the prefix is 192.0.2.128/25)"));
  EXPECT_TRUE(Fails(Svc(tun + "    tunnel_source: 192.0.2.0/33\n"),
                    "xlb.yaml:7: services[0].tunnel_source: '192.0.2.0/33' has a bad length"));
  EXPECT_TRUE(Fails(Svc(tun + "    tunnel_source: example.com/24\n"),
                    "xlb.yaml:7: services[0].tunnel_source: 'example.com/24' is not a prefix"));
  // 576 + 20 (IPv4, ipip), 576 + 28 (gue), 1280 + 40 (IPv6); at most 9216.
  EXPECT_TRUE(Fails(Svc(tun + "    tunnel_mtu: 595\n"),
                    "xlb.yaml:7: services[0].tunnel_mtu: 595 is out of range "
                    "(expected 596..9216)"));
  Parses(Svc(tun + "    tunnel_mtu: 596\n"));
  EXPECT_TRUE(Fails(Svc(tun + "    encap: gue\n    tunnel_mtu: 600\n"),
                    "xlb.yaml:8: services[0].tunnel_mtu: 600 is out of range "
                    "(expected 604..9216)"));
  EXPECT_TRUE(Fails(Svc(tun + "    tunnel_mtu: 9217\n"),
                    "xlb.yaml:7: services[0].tunnel_mtu: 9217 is out of range"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\nservices:\n  - name: v6\n    vip: 2001:db8::10\n"
                    "    port: 80\n    forward: tunnel\n    tunnel_mtu: 1319\n",
                    "xlb.yaml:7: services[0].tunnel_mtu: 1319 is out of range "
                    "(expected 1320..9216)"));
  EXPECT_TRUE(Fails(Svc(tun + "    mss_clamp: maybe\n"), "xlb.yaml:7: services[0].mss_clamp:"));
  // The packet is the client's: no other port on the real, as for DR.
  EXPECT_TRUE(Fails(Svc(tun + "    reals:\n      - {address: 203.0.113.1, port: 8080}\n"),
                    "xlb.yaml:8: services[0].reals[0]: real 203.0.113.1:8080 of service "
                    "198.51.100.20:80/tcp: a tunnel cannot change the port to 8080 (use forward "
                    "nat)"));
  // No 4in6 or 6in4.
  EXPECT_TRUE(Fails(Svc(tun + "    reals:\n      - {address: 2001:db8::1}\n"),
                    "xlb.yaml:8: services[0].reals[0]: ", {"an IPv6 real for an IPv4 VIP"}));
}

// health: {through_tunnel: true}: a tunnel service's check, written back when set.
TEST(ParseConfig, HealthThroughTunnel) {
  Config c = Parses(Svc("    forward: tunnel\n    encap: gue\n"
                        "    health: {type: tcp, through_tunnel: true}\n"));
  EXPECT_TRUE(c.services.at(0).health.through_tunnel);
  ExpectRoundTrip(c);
  EXPECT_NE(ToYaml(c).find("      through_tunnel: true\n"), std::string::npos) << ToYaml(c);
  c = Parses(Svc("    forward: tunnel\n    health: {type: exec, command: 'true', "
                 "through_tunnel: false}\n"));
  EXPECT_FALSE(c.services.at(0).health.through_tunnel);
  EXPECT_EQ(ToYaml(c).find("through_tunnel"), std::string::npos) << ToYaml(c);
  EXPECT_FALSE(Parses(Svc("    forward: tunnel\n    health: {type: tcp}\n"))
                   .services.at(0).health.through_tunnel);
}

TEST(ParseConfigErrors, HealthThroughTunnel) {
  EXPECT_TRUE(Fails(Svc("    health:\n      type: tcp\n      through_tunnel: true\n"),
                    "xlb.yaml:8: services[0].health.through_tunnel: only for forward: tunnel "
                    "(forward is dr)"));
  EXPECT_TRUE(Fails(Svc("    forward: nat\n    health: {type: http, through_tunnel: true}\n"),
                    "xlb.yaml:7: services[0].health.through_tunnel: only for forward: tunnel "
                    "(forward is nat)"));
  // Beside a check, not instead of one.
  EXPECT_TRUE(Fails(Svc("    forward: tunnel\n    health: {through_tunnel: true}\n"),
                    "xlb.yaml:7: services[0].health.through_tunnel: only for a health check"));
  EXPECT_TRUE(Fails(Svc("    forward: tunnel\n    health: {type: tcp, through_tunnel: yes please}\n"),
                    "xlb.yaml:7: services[0].health.through_tunnel:"));
}

// ---- health checks ----

TEST(ParseConfig, HealthSource) {
  HealthCheck h =
      Parses(Svc("    health: {type: tcp, source: 198.51.100.2}\n")).services.at(0).health;
  EXPECT_EQ(h.source, Ip("198.51.100.2"));
  EXPECT_EQ(Parses(Svc("    health: {type: http}\n")).services.at(0).health.source, std::nullopt);
  ExpectRoundTrip(Parses(Svc("    health: {type: http, source: 198.51.100.2}\n")));
}

TEST(ParseConfigErrors, HealthSource) {
  EXPECT_TRUE(Fails(Svc("    health: {type: tcp, source: 2001:db8::2}\n"),
                    "xlb.yaml:6: services[0].health.source: 2001:db8::2 is IPv6 but the VIP and "
                    "its reals are IPv4"));
  EXPECT_TRUE(Fails(Svc("    health:\n      type: tcp\n      source: 198.51.100.20\n"),
                    "xlb.yaml:8: services[0].health.source: 198.51.100.20 is the service's VIP"));
  EXPECT_TRUE(Fails(Svc("    health: {type: tcp, source: eth0}\n"),
                    "xlb.yaml:6: services[0].health.source: 'eth0' is not an IP address"));
  EXPECT_TRUE(Fails(Svc("    health: {type: exec, command: x, source: 198.51.100.2}\n"),
                    "xlb.yaml:6: services[0].health.source: only for type tcp, http or https"));
  EXPECT_TRUE(Fails(Svc("    health: {source: 198.51.100.2}\n"),
                    "xlb.yaml:6: services[0].health.source: only for a health check"));
}

TEST(ParseConfigErrors, HealthCombinations) {
  EXPECT_TRUE(Fails(Svc("    health: {type: http, command: /bin/true}\n"),
                    "xlb.yaml:6: services[0].health.command: only for type exec (type is http)"));
  EXPECT_TRUE(Fails(Svc("    health:\n      type: exec\n      interval: 5s\n"),
                    "xlb.yaml:7: services[0].health.command: missing (required: a shell command "
                    "for type exec)"));
  EXPECT_TRUE(Fails(Svc("    health: {type: exec, command: '  '}\n"),
                    "xlb.yaml:6: services[0].health.command: is empty"));
  EXPECT_TRUE(Fails(Svc("    health:\n      type: tcp\n      interval: 1s\n      timeout: 2s\n"),
                    "xlb.yaml:9: services[0].health.timeout: 2s is longer than the interval 1s "
                    "(expected 0 < timeout <= interval)"));
  EXPECT_TRUE(Fails(Svc("    health: {type: tcp, interval: 200ms}\n"),
                    "xlb.yaml:6: services[0].health.interval: 200ms is shorter than the default "
                    "timeout 500ms"));
  EXPECT_TRUE(Fails(Svc("    health: {type: tcp, interval: 0s, timeout: 0s}\n"),
                    "xlb.yaml:6: services[0].health.interval: must be more than 0s"));
  EXPECT_TRUE(Fails(Svc("    health: {type: tcp, timeout: 0ms}\n"),
                    "xlb.yaml:6: services[0].health.timeout: must be more than 0s"));
  EXPECT_TRUE(Fails(Svc("    health:\n      type: tcp\n      rise: 0\n"),
                    "xlb.yaml:8: services[0].health.rise: 0 is out of range (expected 1..100)"));
  EXPECT_TRUE(Fails(Svc("    health: {type: tcp, fall: 101}\n"),
                    "xlb.yaml:6: services[0].health.fall: 101 is out of range (expected 1..100)"));
  EXPECT_TRUE(Fails(Svc("    health: {type: tcp, path: /health}\n"),
                    "xlb.yaml:6: services[0].health.path: only for type http or https (type is tcp)"));
  EXPECT_TRUE(Fails(Svc("    health: {type: exec, command: x, expect: [200]}\n"),
                    "xlb.yaml:6: services[0].health.expect: only for type http or https (type is exec)"));
  EXPECT_TRUE(Fails(Svc("    health: {port: 8008, path: /health}\n"),
                    "xlb.yaml:6: services[0].health.port: only for a health check (set type:"));
  EXPECT_TRUE(Fails(Svc("    health: {type: http, path: health}\n"),
                    "xlb.yaml:6: services[0].health.path: 'health' is not an HTTP path"));
  EXPECT_TRUE(Fails(Svc("    health: {type: http, expect: []}\n"),
                    "xlb.yaml:6: services[0].health.expect: is empty"));
  EXPECT_TRUE(Fails(Svc("    health:\n      type: http\n      expect: [200, 99]\n"),
                    "xlb.yaml:8: services[0].health.expect[1]: 99 is out of range (expected "
                    "100..599)"));
  EXPECT_TRUE(
      Fails("interfaces: [eth0]\nservices:\n  - name: all\n    vip: 198.51.100.20\n"
            "    port: '*'\n    health:\n      type: http\n",
            "xlb.yaml:7: services[0].health.port: an all-ports service has no port to "
            "check"));
  // An exec check need not use a port; a tcp one with a port is fine.
  Parses(
      "interfaces: [eth0]\nservices:\n  - name: all\n    vip: 198.51.100.20\n    port: '*'\n"
      "    health: {type: exec, command: /bin/true}\n");
  Parses(
      "interfaces: [eth0]\nservices:\n  - name: all\n    vip: 198.51.100.20\n    port: '*'\n"
      "    health: {type: tcp, port: 22}\n");
}

// ---- what the data plane would refuse ----

TEST(ParseConfigErrors, DataPlaneRules) {
  EXPECT_TRUE(Fails(Svc("    reals:\n      - {address: 203.0.113.1, port: 8080}\n"),
                    "xlb.yaml:7: services[0].reals[0]: real 203.0.113.1:8080 of service "
                    "198.51.100.20:80/tcp: direct routing cannot change the port to 8080 (use "
                    "forward nat)"));
  Parses(Svc("    forward: nat\n    reals:\n      - {address: 203.0.113.1, port: 8080}\n"));
  EXPECT_TRUE(
      Fails("interfaces: [eth0]\nservices:\n  - name: all\n    vip: 198.51.100.20\n"
            "    port: '*'\n    forward: nat\n    reals:\n"
            "      - {address: 203.0.113.1, port: 8080}\n",
            "xlb.yaml:8: services[0].reals[0]: ", {"all-ports service keeps the client's port"}));
  EXPECT_TRUE(Fails(Svc("    reals:\n      - {address: 203.0.113.1, weight: 70000}\n"),
                    "xlb.yaml:7: services[0].reals[0].weight: 70000 is out of range (expected "
                    "0..65535)"));
  EXPECT_TRUE(Fails(Svc("    table_size: 65536\n"),
                    "xlb.yaml:6: services[0].table_size: 65536 is not a prime in [7, 1048573]"));
  EXPECT_TRUE(Fails(Svc("    table_size: 5\n"),
                    "xlb.yaml:6: services[0].table_size: 5 is not a prime in [7, 1048573]"));
  EXPECT_TRUE(Fails(Svc("    table_size: 2097143\n"),
                    "xlb.yaml:6: services[0].table_size: 2097143 is not a prime in [7, 1048573]"));
  EXPECT_TRUE(
      Fails(Svc("    table_size: 7\n    reals:\n" +
                std::string("      - {address: 203.0.113.1}\n      - {address: 203.0.113.2}\n"
                            "      - {address: 203.0.113.3}\n      - {address: 203.0.113.4}\n"
                            "      - {address: 203.0.113.5}\n      - {address: 203.0.113.6}\n"
                            "      - {address: 203.0.113.7}\n      - {address: 203.0.113.8}\n")),
            "xlb.yaml:7: services[0].reals: ", {"8 reals exceed table size 7"}));
  EXPECT_TRUE(Fails(Svc("    reals:\n      - {address: 2001:db8::1}\n"),
                    "xlb.yaml:7: services[0].reals[0]: ", {"an IPv6 real for an IPv4 VIP"}));
  EXPECT_TRUE(Fails(Svc("    persistence: {timeout: 60s, netmask: 33}\n"),
                    "xlb.yaml:6: services[0].persistence.netmask: 33 is out of range (expected "
                    "0..32)"));
  Parses(
      "interfaces: [eth0]\nservices:\n  - name: v6\n    vip: 2001:db8::10\n    port: 80\n"
      "    persistence: {timeout: 60s, netmask: 64}\n");
}

TEST(ParseConfigErrors, Limits) {
  EXPECT_TRUE(Fails("interfaces: []\n",
                    "xlb.yaml:1: interfaces: is empty (expected a list of interface names, e.g. "
                    "[eth0])"));
  EXPECT_TRUE(Fails("interfaces:\n", "xlb.yaml:1: interfaces: is empty"));
  std::string many = "interfaces: [";
  for (int i = 0; i < 65; ++i) many += absl::StrCat(i ? ", " : "", "eth", i);
  EXPECT_TRUE(Fails(many + "]\n", "xlb.yaml:1: interfaces: 65 interfaces, over the 64"));
  std::string services = "interfaces: [eth0]\nservices:\n";
  for (int i = 0; i < 1024; ++i)
    absl::StrAppend(&services, "  - {name: s", i, ", vip: 198.51.100.20, port: ", i + 1, "}\n");
  EXPECT_TRUE(Fails(services, "xlb.yaml:2: services: 1024 services, over the 1023"));
}

TEST(ParseConfigErrors, YamlSyntax) {
  EXPECT_TRUE(Fails("interfaces: [eth0\nservices: []\n",
                    "xlb.yaml:2: YAML syntax: ", {"end of sequence flow not found"}));
  EXPECT_TRUE(Fails("interfaces:\n  - eth0\n - eth1\n", "xlb.yaml:3: YAML syntax: "));
  EXPECT_TRUE(Fails("interfaces: [eth0]\nservices:\n  - name: v6\n    vip: 2001:db8::\n",
                    "xlb.yaml:4: YAML syntax: illegal map value", {"quote"}));
  EXPECT_TRUE(Fails("interfaces: [eth0]\n---\ninterfaces: [eth1]\n",
                    "xlb.yaml:3: (top level): a second YAML document"));
  // A ',' outside [ ] or { }: yaml-cpp's LoadAll made documents at it forever
  // (found by tests/fuzz/config.cc); now an error with its line, at once.
  EXPECT_TRUE(Fails(",", "xlb.yaml:1: YAML syntax: unexpected ','"));
  EXPECT_TRUE(Fails("[eth0]\n, x\n", "xlb.yaml:2: YAML syntax: unexpected ','"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\n---\n,\n", "xlb.yaml:3: (top level): a second YAML document"));
  // Bytes that are not UTF-8 would be saved back (ToYaml) as U+FFFD (found by
  // tests/fuzz/config.cc): refused, with their line.
  EXPECT_TRUE(Fails("interfaces: [eth0]\napi:\n  socket: /run/\xff.sock\n",
                    "xlb.yaml:3: not UTF-8 text (column 16)"));
  for (const char* bad : {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\x80"})
    EXPECT_TRUE(Fails(absl::StrCat("interfaces: [eth0]\n# ", bad, "\n"), "xlb.yaml:2: not UTF-8"))
        << absl::CEscape(bad);
  auto utf8 = ParseConfig("interfaces: [eth0]  # \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n", "x.yaml");
  EXPECT_TRUE(utf8.ok()) << utf8.status();
}

TEST(LoadConfigFile, MissingFile) {
  absl::StatusOr<Config> c = LoadConfigFile("/nonexistent/xlb.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(c.status().message(), "/nonexistent/xlb.yaml"));
  EXPECT_TRUE(absl::StrContains(c.status().message(), "No such file or directory")) << c.status();
  c = LoadConfigFile("/");  // a directory opens, but does not read
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "Is a directory")) << c.status();
}

// Scripts (exec checks, exec tracks, notify) are checked when a file is
// loaded (xlbd --check-config, start, reload): they must exist, and nobody
// but root and the script user may change them or a directory on their path.
class ScriptSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/xlb-scripts-XXXXXX";  // root's, 0700, in sticky /tmp
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Script(dir_ + "/ok.sh");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static void Script(const std::string& path) {
    std::ofstream(path) << "#!/bin/sh\nexit 0\n";
    chmod(path.c_str(), 0755);
  }

  // Loads a config whose exec check runs `command`: "" if it loads, else the error.
  std::string Load(const std::string& command, const std::string& scripts = "") {
    const std::string path = dir_ + "/xlb.yaml";
    std::ofstream(path) << "interfaces: [eth0]\n" << scripts
                        << "services:\n  - name: web\n    vip: 198.51.100.20\n    port: 80\n"
                           "    reals: [{address: 203.0.113.1}]\n"
                           "    health: {type: exec, command: '" << command << "'}\n";
    absl::StatusOr<Config> c = LoadConfigFile(path);
    return c.ok() ? "" : std::string(c.status().message());
  }

  std::string dir_;
};

TEST_F(ScriptSecurityTest, SafeScriptsLoad) {
  EXPECT_EQ(Load(dir_ + "/ok.sh --port 80"), "");
  EXPECT_EQ(Load("test -e /etc/passwd"), "");  // a name on the fixed PATH
  chmod(dir_.c_str(), 01777);  // sticky: others cannot replace root's file
  EXPECT_EQ(Load(dir_ + "/ok.sh"), "");
  // Owned by the script user: fine when it is that user.
  chmod(dir_.c_str(), 0755);
  ASSERT_EQ(chown((dir_ + "/ok.sh").c_str(), 65534, 65534), 0);
  EXPECT_EQ(Load(dir_ + "/ok.sh", "scripts: {user: nobody}\n"), "");
  // ParseConfig alone looks at no file.
  EXPECT_TRUE(ParseConfig("interfaces: [eth0]\nservices:\n  - {name: w, vip: 198.51.100.20, "
                          "port: 80, health: {type: exec, command: /nonexistent}}\n", "x.yaml").ok());
}

TEST_F(ScriptSecurityTest, UnsafeScriptsAreRefused) {
  const std::string at = dir_ + "/xlb.yaml:7: services[0].health.command: ";
  chmod(dir_.c_str(), 0777);
  EXPECT_EQ(Load(dir_ + "/ok.sh"), at + "script " + dir_ + "/ok.sh is refused: " + dir_ +
                                       " is writable by anyone (mode 0777)");
  chmod(dir_.c_str(), 0775);
  EXPECT_EQ(Load(dir_ + "/ok.sh"), at + "script " + dir_ + "/ok.sh is refused: " + dir_ +
                                       " is writable by its group (mode 0775)");
  chmod(dir_.c_str(), 0700);
  chmod((dir_ + "/ok.sh").c_str(), 0757);
  EXPECT_TRUE(absl::StrContains(Load(dir_ + "/ok.sh"), "ok.sh is writable by anyone (mode 0757)"));
  chmod((dir_ + "/ok.sh").c_str(), 0755);
  // In a sticky directory, an entry of another user is not safe.
  chmod(dir_.c_str(), 01777);
  ASSERT_EQ(chown((dir_ + "/ok.sh").c_str(), 65534, 65534), 0);
  EXPECT_TRUE(absl::StrContains(Load(dir_ + "/ok.sh"), "ok.sh is owned by uid 65534, not root"));
  // Through a symlink: the target's directories count too.
  chmod(dir_.c_str(), 0700);
  ASSERT_EQ(chown((dir_ + "/ok.sh").c_str(), 0, 0), 0);
  std::filesystem::create_directory(dir_ + "/open");
  chmod((dir_ + "/open").c_str(), 0777);
  Script(dir_ + "/open/real.sh");
  std::filesystem::create_symlink(dir_ + "/open/real.sh", dir_ + "/link.sh");
  EXPECT_TRUE(absl::StrContains(Load(dir_ + "/link.sh"),
                                dir_ + "/open is writable by anyone (mode 0777)"));
  // Missing, relative, a shell builtin, an unknown user.
  EXPECT_TRUE(absl::StrContains(Load(dir_ + "/missing.sh"),
                                "script " + dir_ + "/missing.sh: No such file or directory"));
  EXPECT_TRUE(absl::StrContains(Load("./ok.sh"), "'./ok.sh' is a relative path"));
  EXPECT_TRUE(absl::StrContains(Load("exit 0"), at + "'exit' is not a file on /usr/local/sbin:"));
  EXPECT_EQ(Load(dir_ + "/ok.sh", "scripts: {user: no-such-user}\n"),
            dir_ + "/xlb.yaml:2: scripts.user: user 'no-such-user' does not exist");
}

// ---- https checks ----

TEST(ParseConfig, HttpsCheck) {
  Config c = Parses(Svc(
      "    health: {type: https, port: 8008, path: /primary, ca_file: /etc/xlb/ca.pem,\n"
      "             server_name: pg1.example.com, client_cert: /etc/xlb/c.pem,\n"
      "             client_key: /etc/xlb/c.key}\n"));
  const HealthCheck& h = c.services[0].health;
  EXPECT_EQ(h.type, HealthType::kHttps);
  EXPECT_EQ(h.path, "/primary");
  EXPECT_EQ(h.expect, std::vector<int>{200});
  EXPECT_EQ(h.tls.ca_file, "/etc/xlb/ca.pem");
  EXPECT_EQ(h.tls.server_name, "pg1.example.com");
  EXPECT_EQ(h.tls.client_cert, "/etc/xlb/c.pem");
  EXPECT_EQ(h.tls.client_key, "/etc/xlb/c.key");
  EXPECT_TRUE(h.tls.verify);
  EXPECT_EQ(h.tls.ca_pem, "");  // ParseConfig reads no file
  // Defaults: the system's trust store, the real's address as the name.
  const HealthCheck d = Parses(Svc("    health: {type: https}\n")).services[0].health;
  EXPECT_EQ(d.tls, TlsCheck{});
  EXPECT_TRUE(d.tls.verify);
  EXPECT_FALSE(Parses(Svc("    health: {type: https, verify: false, server_name: 203.0.113.1}\n"))
                   .services[0].health.tls.verify);
  ExpectRoundTrip(c);
  ExpectRoundTrip(Parses(Svc("    health: {type: https, verify: false}\n")));
}

TEST(ParseConfigErrors, HttpsCheck) {
  EXPECT_TRUE(Fails(Svc("    health: {type: http, ca_file: /ca.pem}\n"),
                    "xlb.yaml:6: services[0].health.ca_file: only for type https (type is http)"));
  EXPECT_TRUE(Fails(Svc("    health: {type: tcp, verify: false}\n"),
                    "xlb.yaml:6: services[0].health.verify: only for type https (type is tcp)"));
  EXPECT_TRUE(Fails(Svc("    health: {type: https, verify: no}\n"),
                    "xlb.yaml:6: services[0].health.verify: 'no' is not true or false"));
  EXPECT_TRUE(Fails(Svc("    health: {type: https, ca_file: ca.pem}\n"),
                    "xlb.yaml:6: services[0].health.ca_file: 'ca.pem' is not an absolute path"));
  EXPECT_TRUE(Fails(Svc("    health: {type: https, verify: false, ca_file: /ca.pem}\n"),
                    "xlb.yaml:6: services[0].health.ca_file: is unused with verify: false"));
  EXPECT_TRUE(Fails(Svc("    health:\n      type: https\n      client_cert: /c.pem\n"),
                    "xlb.yaml:7: services[0].health.client_key: missing (required with client_cert"));
  EXPECT_TRUE(Fails(Svc("    health:\n      type: https\n      client_key: /c.key\n"),
                    "xlb.yaml:8: services[0].health.client_key: without client_cert"));
  EXPECT_TRUE(Fails(Svc("    health: {type: https, server_name: 'a b'}\n"),
                    "xlb.yaml:6: services[0].health.server_name: 'a b' is not a host name or an IP"));
  EXPECT_TRUE(Fails(Svc("    health: {type: https, server_name: a..b}\n"),
                    "xlb.yaml:6: services[0].health.server_name: 'a..b' is not"));
}

// The PEM files of https checks are read and checked when a file is loaded
// (start, reload, --check-config); their contents are kept in the config.
class TlsFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/xlb-tls-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ca_ = testing_tls::Make("test CA", nullptr);
    client_ = testing_tls::Make("xlb", &ca_);
    Write("ca.pem", ca_.cert_pem);
    Write("client.pem", client_.cert_pem);
    Write("client.key", client_.key_pem);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }

  // Loads a config with an https check of these keys (line 7 onwards).
  absl::StatusOr<Config> Load(const std::string& keys) {
    const std::string path = dir_ + "/xlb.yaml";
    std::ofstream(path) << "interfaces: [eth0]\nservices:\n  - name: web\n    vip: 198.51.100.20\n"
                           "    port: 80\n    health:\n      type: https\n" << keys;
    return LoadConfigFile(path);
  }
  std::string Error(const std::string& keys) {
    absl::StatusOr<Config> c = Load(keys);
    return c.ok() ? "" : std::string(c.status().message());
  }

  std::string dir_;
  testing_tls::Identity ca_, client_;
};

TEST_F(TlsFilesTest, ContentsAreLoaded) {
  absl::StatusOr<Config> c = Load("      ca_file: " + dir_ + "/ca.pem\n      client_cert: " + dir_ +
                                  "/client.pem\n      client_key: " + dir_ + "/client.key\n");
  ASSERT_TRUE(c.ok()) << c.status();
  const TlsCheck& t = c->services[0].health.tls;
  EXPECT_EQ(t.ca_pem, ca_.cert_pem);
  EXPECT_EQ(t.cert_pem, client_.cert_pem);
  EXPECT_EQ(t.key_pem, client_.key_pem);
  // Saved, then loaded again: the same config, contents included.
  Write("xlb.yaml", ToYaml(*c));
  absl::StatusOr<Config> again = LoadConfigFile(dir_ + "/xlb.yaml");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *c);
  // A reload reads the files again: a new CA makes another config.
  Write("ca.pem", testing_tls::Make("another CA", nullptr).cert_pem);
  again = LoadConfigFile(dir_ + "/xlb.yaml");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_NE(again->services[0].health.tls.ca_pem, ca_.cert_pem);
  EXPECT_FALSE(*again == *c);
}

TEST_F(TlsFilesTest, BadFilesAreRefusedWithFileLineAndField) {
  const std::string at = dir_ + "/xlb.yaml:";
  EXPECT_EQ(Error("      ca_file: " + dir_ + "/missing.pem\n"),
            at + "8: services[0].health.ca_file: " + dir_ +
                "/missing.pem: cannot open: No such file or directory");
  Write("junk.pem", "not a certificate\n");
  EXPECT_EQ(Error("      ca_file: " + dir_ + "/junk.pem\n"),
            at + "8: services[0].health.ca_file: " + dir_ +
                "/junk.pem: no PEM certificate (expected -----BEGIN CERTIFICATE-----)");
  // A key where a certificate belongs, and the other way round.
  EXPECT_TRUE(absl::StrContains(Error("      ca_file: " + dir_ + "/client.key\n"),
                                "ca_file: " + dir_ + "/client.key: no PEM certificate"));
  EXPECT_EQ(Error("      client_cert: " + dir_ + "/client.pem\n      client_key: " + dir_ +
                  "/client.pem\n"),
            at + "9: services[0].health.client_key: " + dir_ +
                "/client.pem: no PEM private key (expected -----BEGIN PRIVATE KEY-----)");
  // A key that is not the certificate's.
  Write("other.key", testing_tls::Make("x", &ca_).key_pem);
  EXPECT_EQ(Error("      client_cert: " + dir_ + "/client.pem\n      client_key: " + dir_ +
                  "/other.key\n"),
            at + "9: services[0].health.client_key: " + dir_ +
                "/other.key: the private key is not the certificate's (" + dir_ + "/client.pem)");
  // One that would need a passphrase.
  Write("locked.key", "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n");
  EXPECT_TRUE(absl::StrContains(
      Error("      client_cert: " + dir_ + "/client.pem\n      client_key: " + dir_ + "/locked.key\n"),
      "client_key: " + dir_ + "/locked.key: the private key is encrypted"));
  // A certificate cut short.
  Write("cut.pem", ca_.cert_pem.substr(0, ca_.cert_pem.size() / 2));
  EXPECT_TRUE(absl::StrContains(Error("      ca_file: " + dir_ + "/cut.pem\n"),
                                "ca_file: " + dir_ + "/cut.pem: "));
  EXPECT_TRUE(absl::StrContains(Error("      ca_file: " + dir_ + "\n"), "Is a directory"));
  // Unreadable (as a user other than root would see it) is not checked
  // here: tests run as root, for whom mode 000 still reads.
}

// Every notify hook is checked as `notify` is.
TEST_F(ScriptSecurityTest, NotifyHooksAreChecked) {
  auto load = [&](const std::string& key, const std::string& command) {
    const std::string path = dir_ + "/xlb.yaml";
    std::ofstream(path) << "interfaces: [eth0]\nvrrp:\n  - name: v\n    interface: eth0\n"
                           "    vrid: 1\n    addresses: [198.51.100.10]\n    "
                        << key << ": '" << command << "'\n";
    absl::StatusOr<Config> c = LoadConfigFile(path);
    return c.ok() ? "" : std::string(c.status().message());
  };
  for (const std::string key :
       {"notify", "notify_master", "notify_backup", "notify_fault", "notify_stop",
        "notify_keepalived"}) {
    chmod(dir_.c_str(), 0700);
    EXPECT_EQ(load(key, dir_ + "/ok.sh"), "") << key;
    chmod(dir_.c_str(), 0777);
    EXPECT_EQ(load(key, dir_ + "/ok.sh"),
              dir_ + "/xlb.yaml:7: vrrp[0]." + key + ": script " + dir_ + "/ok.sh is refused: " +
                  dir_ + " is writable by anyone (mode 0777)")
        << key;
  }
  chmod(dir_.c_str(), 0700);
  EXPECT_EQ(load("notify_master", dir_ + "/ok.sh master"), "");  // the first word is the script
  EXPECT_TRUE(absl::StrContains(load("notify_backup", dir_ + "/missing.sh backup"),
                                "vrrp[0].notify_backup: script " + dir_ +
                                    "/missing.sh: No such file or directory"));
}

TEST(LoadConfigFile, ErrorsNameThePath) {
  const std::string path = testing::TempDir() + "/config_test_bad.yaml";
  std::ofstream(path) << "interfaces: [eth0]\nservices:\n  - name: web\n    vip: nowhere\n";
  absl::StatusOr<Config> c = LoadConfigFile(path);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StartsWith(c.status().message(), path + ":4: services[0].vip: ")) << c.status();
  std::ofstream(path) << "interfaces: [eth0]\n";
  c = LoadConfigFile(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->interfaces, std::vector<std::string>{"eth0"});
  std::remove(path.c_str());
}

// A wrong path that never ends (or a huge log) is refused, not read into memory.
TEST(LoadConfigFile, EndlessFileIsRefused) {
  absl::StatusOr<Config> c = LoadConfigFile("/dev/zero");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "/dev/zero: larger than 67108864 bytes (expected an xlb YAML configuration)");
}

// ---- durations ----

TEST(ParseDuration, Valid) {
  EXPECT_EQ(*ParseDuration("500ms"), Duration(500));
  EXPECT_EQ(*ParseDuration("1s"), Duration(1000));
  EXPECT_EQ(*ParseDuration("2m"), Duration(120000));
  EXPECT_EQ(*ParseDuration("1h"), Duration(3600000));
  EXPECT_EQ(*ParseDuration("0s"), Duration(0));
  EXPECT_EQ(*ParseDuration("0ms"), Duration(0));
  EXPECT_EQ(*ParseDuration("1.5s"), Duration(1500));
  EXPECT_EQ(*ParseDuration("1.500s"), Duration(1500));
  EXPECT_EQ(*ParseDuration("0.001s"), Duration(1));
  EXPECT_EQ(*ParseDuration("0.5m"), Duration(30000));
  EXPECT_EQ(*ParseDuration("900s"), Duration(900000));
}

TEST(ParseDuration, Invalid) {
  auto message = [](const char* text) {
    absl::StatusOr<Duration> d = ParseDuration(text);
    EXPECT_FALSE(d.ok()) << text;
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(d.status().message());
  };
  EXPECT_EQ(message("5x"), "'5x' is not a duration (expected e.g. 500ms, 1s, 2m)");
  EXPECT_EQ(message("5"), "'5' has no unit (expected e.g. 500ms, 1s, 2m)");
  EXPECT_EQ(message("-1s"), "'-1s' is negative (expected e.g. 500ms, 1s, 2m)");
  EXPECT_EQ(message("1.0005s"),
            "'1.0005s' is finer than a millisecond (expected e.g. 500ms, 1s, 2m)");
  EXPECT_TRUE(absl::StrContains(message("0.5ms"), "finer than a millisecond"));
  EXPECT_TRUE(absl::StrContains(message("99999999999999999999h"), "too long"));
  EXPECT_TRUE(absl::StrContains(message("9999999999999999h"), "too long"));
  for (const char* bad : {"", "s", "ms", ".5s", "1.s", "1 s", " 1s", "1s ", "1S", "1sec", "1m30s",
                          "1e3ms", "+1s", "0x10s"})
    EXPECT_TRUE(absl::StrContains(message(bad), "is not a duration") ||
                absl::StrContains(message(bad), "has no unit"))
        << bad;
}

TEST(FormatDuration, ShortestExactUnit) {
  EXPECT_EQ(FormatDuration(Duration(0)), "0s");
  EXPECT_EQ(FormatDuration(Duration(500)), "500ms");
  EXPECT_EQ(FormatDuration(Duration(1500)), "1500ms");
  EXPECT_EQ(FormatDuration(Duration(1000)), "1s");
  EXPECT_EQ(FormatDuration(Duration(90000)), "90s");
  EXPECT_EQ(FormatDuration(Duration(120000)), "2m");
  EXPECT_EQ(FormatDuration(Duration(7200000)), "2h");
}

// ---- the emitter ----

void ExpectRoundTrip(const Config& c) {
  const std::string yaml = ToYaml(c);
  absl::StatusOr<Config> back = ParseConfig(yaml, "saved.yaml");
  ASSERT_TRUE(back.ok()) << back.status() << "\n" << yaml;
  EXPECT_EQ(*back, c) << yaml;
  EXPECT_EQ(ToYaml(*back), yaml);
}

TEST(ToYaml, Golden) {
  Config c =
      Parses(Svc("    reals:\n      - {address: 203.0.113.1}\n"
                 "    health: {type: tcp, interval: 2s}\n"));
  EXPECT_EQ(ToYaml(c), R"(interfaces: [eth0]
api:
  socket: /run/xlb/xlbd.sock
  metrics: 127.0.0.1:9470
  group: ""
  max_sessions: 64
  metrics_max_sessions: 64
scripts:
  user: ""
services:
  - name: web
    vip: 198.51.100.20
    port: 80
    protocol: tcp
    forward: dr
    scheduler: maglev
    reals:
      - {address: 203.0.113.1, weight: 1}
    health:
      type: tcp
      port: 0
      interval: 2s
      timeout: 500ms
      rise: 2
      fall: 2
)");
}

TEST(ToYaml, RoundTrips) {
  ExpectRoundTrip(Parses("interfaces: [eth0]\n"));
  ExpectRoundTrip(
      Parses("interfaces: [eth0, eth1]\napi: {socket: /tmp/x.sock, metrics: '', "
             "group: 'adm in'}\n"));
  ExpectRoundTrip(Parses(kIssueExample));
  ExpectRoundTrip(Parses(Svc()));
  ExpectRoundTrip(Parses("interfaces: [eth0]\napi: {max_sessions: 8, metrics_max_sessions: 4096}\n"));
}

// Built in code rather than parsed, with strings YAML would misread if
// written plain (null, true, numbers, '#', ': ').
TEST(ToYaml, RoundTripsAwkwardStrings) {
  Config c;
  c.interfaces = {"eth0", "123", "true"};
  c.api.group = "null";
  c.api.metrics = "";
  ServiceConfig s;
  s.service.key = {Ip("198.51.100.20"), 80, Protocol::kTcp};
  s.health.type = HealthType::kHttp;
  s.health.path = "/check?x=1#frag";
  s.health.expect = {200, 204, 301};
  s.health.body = "status: ok # yes";
  s.health.port = 8080;
  s.health.interval = Duration(1500);
  s.health.timeout = Duration(250);
  s.name = "null";
  s.reals = {{Ip("203.0.113.1"), 0, 7}, {Ip("203.0.113.2"), 80, 0}};
  c.services.push_back(s);
  s.name = "1e3";
  s.service.key.port = 81;
  s.reals = {{Ip("203.0.113.1"), 81, 7}};
  s.health = HealthCheck{};
  s.health.type = HealthType::kExec;
  s.health.command = "test \"$(curl -s http://x/)\" = 'ok' && exit 0\n";
  c.services.push_back(s);
  s.name = "https";
  s.service.key.port = 82;
  s.reals = {{Ip("203.0.113.1"), 82, 1}};
  s.health = HealthCheck{};
  s.health.type = HealthType::kHttps;
  s.health.tls.ca_file = "/etc/xlb/ca: #1.pem";
  s.health.tls.server_name = "2001:db8::";
  s.health.tls.client_cert = "/true";
  s.health.tls.client_key = "/null";
  c.services.push_back(s);
  ExpectRoundTrip(c);
}

TEST(ToYaml, RoundTripsAll) {
  Config c = Parses(R"(interfaces: [eth0]
api: {metrics: "[::1]:9470"}
services:
  - name: dns
    vip: "2001:db8::"
    port: "*"
    protocol: udp
    forward: nat
    scheduler: source-hash
    persistence: {timeout: 1h, netmask: 0}
    table_size: 1048573
    drop_fragments: true
    timeouts: {tcp: 2m, tcp_fin: 1s, udp: 90s}
    reals:
      - {address: "::1", weight: 0}
      - {address: 2001:db8::2, weight: 65535}
    health: {type: exec, command: "dig @127.0.0.1 example.org | grep -q 'status: NOERROR'", port: 53, interval: 1500ms, timeout: 1500ms, rise: 100, fall: 1}
  - name: "null"
    vip: 198.51.100.20
    port: 443
    persistence: {timeout: 300s}
    reals: []
    health: {type: http, path: "/a", body: "", expect: [200, 503]}
)");
  ASSERT_EQ(c.services.size(), 2u);
  EXPECT_EQ(c.services[1].name, "null");
  ExpectRoundTrip(c);
}

// ---- vrrp ----

// A valid file with one service and one VRRP instance, lines 1-9 without
// the instance's addresses; VrrpFile() adds them at line 10, so what a test
// appends starts at line 11.
std::string VrrpHead(const std::string& more = "") {
  return "interfaces: [eth0]\n"      // 1
         "services:\n"               // 2
         "  - name: pg-rw\n"         // 3
         "    vip: 198.51.100.10\n"  // 4
         "    port: 5432\n"          // 5
         "vrrp:\n"                   // 6
         "  - name: vip-a\n"         // 7
         "    interface: eth0\n"     // 8
         "    vrid: 51\n" +          // 9
         more;
}
std::string VrrpFile(const std::string& more = "") {
  return VrrpHead("    addresses: [198.51.100.10/24]\n" + more);
}

constexpr char kVrrpIssueExample[] = R"(interfaces: [eth0]
services:
  - name: pg-rw
    vip: 198.51.100.10
    port: 5432
vrrp:
  - name: vip-a
    interface: eth0
    vrid: 51
    priority: 150
    version: 3                       # 3 (default) or 2
    advert_interval: 100ms           # v3: centiseconds, 10ms..40.95s; v2: whole seconds
    preempt: true
    preempt_delay: 0s
    unicast: {source: 198.51.100.2, peers: [198.51.100.3, 198.51.100.4]}   # optional
    addresses: [198.51.100.10/24]
    track:
      - {service: pg-rw, weight: 50}         # priority drops by weight while the service has no healthy real
      - {interface: eth0, weight: 0}         # weight 0: the instance goes to fault while the link is down
      - {exec: /usr/local/bin/check.sh, interval: 1s, weight: 20, rise: 2, fall: 2}
    notify: /usr/local/bin/notify.sh         # called with: instance name, new state, priority
  - name: vip-b
    interface: eth1
    vrid: 51
    version: 2
    advert_interval: 1s
    accept: true
    auth: {type: pass, secret: "pass1234"}   # v2 only
    addresses: [198.51.100.11]
)";

TEST(ParseConfig, Tables) {
  const Config defaults = Parses("interfaces: [eth0]\n");
  EXPECT_EQ(defaults.tables.connections, model::kConnTableDefault);
  EXPECT_EQ(defaults.tables.nat_replies, model::kConnTableDefault);
  EXPECT_EQ(defaults.tables.persistence, model::kPersistTableDefault);
  const Config c =
      Parses("interfaces: [eth0]\ntables: {connections: 1048576, nat_replies: 4096}\n");
  EXPECT_EQ(c.tables.connections, 1048576u);
  EXPECT_EQ(c.tables.nat_replies, 4096u);
  EXPECT_EQ(c.tables.persistence, model::kPersistTableDefault);
  ExpectRoundTrip(c);
  ExpectRoundTrip(Parses("interfaces: [eth0]\ntables: {persistence: 2048}\n"));
}

TEST(ParseVrrp, IssueExample) {
  Config c = Parses(kVrrpIssueExample);
  VrrpInstance a;
  a.name = "vip-a";
  a.interface = "eth0";
  a.vrid = 51;
  a.priority = 150;
  a.version = 3;
  a.advert_interval = Duration(100);
  a.preempt = true;
  a.preempt_delay = Duration(0);
  a.unicast_source = Ip("198.51.100.2");
  a.unicast_peers = {Ip("198.51.100.3"), Ip("198.51.100.4")};
  a.addresses = {{Ip("198.51.100.10"), 24}};
  a.track = {VrrpTrack{VrrpTrack::kService, "pg-rw", 50},
             VrrpTrack{VrrpTrack::kInterface, "eth0", 0},
             VrrpTrack{VrrpTrack::kExec, "/usr/local/bin/check.sh", 20, Duration(1000), 2, 2}};
  a.notify = "/usr/local/bin/notify.sh";
  VrrpInstance b;
  b.name = "vip-b";
  b.interface = "eth1";
  b.vrid = 51;  // the same vrid on another interface is fine
  b.version = 2;
  b.accept = true;
  b.auth_secret = "pass1234";
  b.addresses = {{Ip("198.51.100.11"), 32}};
  ASSERT_EQ(c.vrrp.size(), 2u);
  EXPECT_EQ(c.vrrp[0], a);
  EXPECT_EQ(c.vrrp[1], b);
  EXPECT_EQ(c.services.size(), 1u);
}

TEST(ParseVrrp, Defaults) {
  EXPECT_TRUE(Parses("interfaces: [eth0]\n").vrrp.empty());
  EXPECT_TRUE(Parses("interfaces: [eth0]\nvrrp:\n").vrrp.empty());
  EXPECT_TRUE(Parses("interfaces: [eth0]\nvrrp: []\n").vrrp.empty());
  Config c = Parses(VrrpFile());
  ASSERT_EQ(c.vrrp.size(), 1u);
  const VrrpInstance& v = c.vrrp[0];
  EXPECT_EQ(v.priority, 100);
  EXPECT_EQ(v.version, 3);
  EXPECT_EQ(v.advert_interval, Duration(1000));
  EXPECT_TRUE(v.preempt);
  EXPECT_EQ(v.preempt_delay, Duration(0));
  EXPECT_FALSE(v.accept);
  EXPECT_EQ(v.auth_secret, "");
  EXPECT_FALSE(v.unicast_source.has_value());
  EXPECT_TRUE(v.unicast_peers.empty());
  EXPECT_TRUE(v.track.empty());
  EXPECT_EQ(v.notify, "");
  // A vrrp section needs no services; the prefix defaults to the whole address.
  c = Parses("interfaces: [eth0]\nvrrp:\n  - {name: v6, interface: eth0, vrid: 1, "
             "addresses: [\"2001:db8::10\", 2001:db8::11/64]}\n");
  ASSERT_EQ(c.vrrp.size(), 1u);
  EXPECT_EQ(c.vrrp[0].addresses,
            (std::vector<std::pair<IpAddress, int>>{{Ip("2001:db8::10"), 128},
                                                    {Ip("2001:db8::11"), 64}}));
  // Track defaults: weight 0 (fault), exec every second, rise and fall 1.
  VrrpTrack t = Parses(VrrpFile("    track: [{exec: /bin/true}]\n")).vrrp.at(0).track.at(0);
  EXPECT_EQ(t, (VrrpTrack{VrrpTrack::kExec, "/bin/true", 0, Duration(1000), 1, 1}));
  // Unicast without a source (the interface's address is used).
  c = Parses(VrrpFile("    unicast: {peers: [198.51.100.3]}\n"));
  EXPECT_FALSE(c.vrrp.at(0).unicast_source.has_value());
  EXPECT_EQ(c.vrrp.at(0).unicast_peers, std::vector<IpAddress>{Ip("198.51.100.3")});
  // The limits themselves.
  Parses(VrrpFile("    advert_interval: 10ms\n    priority: 255\n"));
  Parses(VrrpFile("    advert_interval: 40.95s\n    priority: 1\n"));
  Parses(VrrpFile("    version: 2\n    advert_interval: 255s\n"
                  "    auth: {type: pass, secret: x}\n"));
  Parses(VrrpFile("    version: 2\n    advert_interval: 1s\n"));
}

TEST(ParseVrrpErrors, UnknownKeys) {
  EXPECT_TRUE(Fails(VrrpFile("    garp_delay: 5s\n"),
                    "xlb.yaml:11: vrrp[0].garp_delay: unknown key (expected one of: name, "
                    "interface, vrid,",
                    {"accept", "notify"}));
  EXPECT_TRUE(Fails(VrrpFile("    version: 2\n    auth: {type: pass, secret: x, kind: y}\n"),
                    "xlb.yaml:12: vrrp[0].auth.kind: unknown key (expected one of: type, secret)"));
  EXPECT_TRUE(Fails(VrrpFile("    unicast: {src: 198.51.100.2, peers: [198.51.100.3]}\n"),
                    "xlb.yaml:11: vrrp[0].unicast.src: unknown key (expected one of: source, "
                    "peers)"));
  EXPECT_TRUE(Fails(VrrpFile("    track:\n      - {service: pg-rw, wieght: 5}\n"),
                    "xlb.yaml:12: vrrp[0].track[0].wieght: unknown key (expected one of: service, "
                    "interface, exec, weight, interval, rise, fall)"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\nvrrp: {name: x}\n",
                    "xlb.yaml:2: vrrp: is a map (expected a list of VRRP instances)"));
}

TEST(ParseVrrpErrors, NamesAndInterfaces) {
  EXPECT_TRUE(Fails("interfaces: [eth0]\nvrrp:\n  - {interface: eth0, vrid: 1, addresses: "
                    "[198.51.100.10]}\n",
                    "xlb.yaml:3: vrrp[0].name: missing (required"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\nvrrp:\n  - {name: 'vip a', interface: eth0, vrid: 1, "
                    "addresses: [198.51.100.10]}\n",
                    "xlb.yaml:3: vrrp[0].name: 'vip a' is not a name (expected letters"));
  EXPECT_TRUE(Fails(VrrpFile("  - {name: vip-a, interface: eth0, vrid: 52, addresses: "
                             "[198.51.100.11]}\n"),
                    "xlb.yaml:11: vrrp[1].name: 'vip-a' is used twice (first at line 7)"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\nvrrp:\n  - {name: a, vrid: 1, addresses: "
                    "[198.51.100.10]}\n",
                    "xlb.yaml:3: vrrp[0].interface: missing (required: an interface name"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\nvrrp:\n  - {name: a, interface: eth0:1, vrid: 1, "
                    "addresses: [198.51.100.10]}\n",
                    "xlb.yaml:3: vrrp[0].interface: 'eth0:1' is not an interface name"));
}

TEST(ParseVrrpErrors, VridPriorityVersion) {
  EXPECT_TRUE(Fails("interfaces: [eth0]\nvrrp:\n  - {name: a, interface: eth0, "
                    "addresses: [198.51.100.10]}\n",
                    "xlb.yaml:3: vrrp[0].vrid: missing (required: 1..255)"));
  EXPECT_TRUE(Fails(VrrpHead("    vrid: 0\n"), "xlb.yaml:10: vrrp[0].vrid: given twice"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\nvrrp:\n  - {name: a, interface: eth0, vrid: 0, "
                    "addresses: [198.51.100.10]}\n",
                    "xlb.yaml:3: vrrp[0].vrid: 0 is out of range (expected 1..255)"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\nvrrp:\n  - {name: a, interface: eth0, vrid: 256, "
                    "addresses: [198.51.100.10]}\n",
                    "xlb.yaml:3: vrrp[0].vrid: 256 is out of range (expected 1..255)"));
  EXPECT_TRUE(Fails(VrrpFile("  - name: vip-b\n    interface: eth0\n    vrid: 51\n"
                             "    addresses: [198.51.100.11]\n"),
                    "xlb.yaml:11: vrrp[1].vrid: 51 is used twice on eth0 (first at line 7",
                    {"vip-a", "unique per interface"}));
  EXPECT_TRUE(Fails(VrrpFile("    priority: 0\n"),
                    "xlb.yaml:11: vrrp[0].priority: 0 is out of range (expected 1..255)"));
  EXPECT_TRUE(Fails(VrrpFile("    priority: 256\n"),
                    "xlb.yaml:11: vrrp[0].priority: 256 is out of range (expected 1..255)"));
  EXPECT_TRUE(Fails(VrrpFile("    version: 4\n"),
                    "xlb.yaml:11: vrrp[0].version: '4' is not one of: 2, 3"));
}

TEST(ParseVrrpErrors, AdvertInterval) {
  EXPECT_TRUE(Fails(VrrpFile("    advert_interval: 15ms\n"),
                    "xlb.yaml:11: vrrp[0].advert_interval: 15ms is not a multiple of 10ms",
                    {"centiseconds", "10ms..40.95s"}));
  EXPECT_TRUE(Fails(VrrpFile("    advert_interval: 0s\n"),
                    "xlb.yaml:11: vrrp[0].advert_interval: 0s is out of range (expected "
                    "10ms..40.95s for version 3)"));
  EXPECT_TRUE(Fails(VrrpFile("    advert_interval: 40960ms\n"),
                    "xlb.yaml:11: vrrp[0].advert_interval: 40960ms is out of range"));
  EXPECT_TRUE(Fails(VrrpFile("    advert_interval: 1x\n"),
                    "xlb.yaml:11: vrrp[0].advert_interval: '1x' is not a duration"));
  EXPECT_TRUE(Fails(VrrpFile("    version: 2\n    advert_interval: 100ms\n"),
                    "xlb.yaml:12: vrrp[0].advert_interval: 100ms is not a whole number of "
                    "seconds (version 2 counts in seconds; expected 1s..255s)"));
  EXPECT_TRUE(Fails(VrrpFile("    version: 2\n    advert_interval: 256s\n"),
                    "xlb.yaml:12: vrrp[0].advert_interval: 256s is out of range (expected "
                    "1s..255s for version 2)"));
  EXPECT_TRUE(Fails(VrrpFile("    version: 2\n    advert_interval: 0s\n"),
                    "xlb.yaml:12: vrrp[0].advert_interval: 0s is out of range"));
  EXPECT_TRUE(Fails(VrrpFile("    preempt: yes\n"),
                    "xlb.yaml:11: vrrp[0].preempt: 'yes' is not true or false"));
  EXPECT_TRUE(Fails(VrrpFile("    accept: 1\n"),
                    "xlb.yaml:11: vrrp[0].accept: '1' is not true or false"));
  EXPECT_TRUE(Fails(VrrpFile("    preempt_delay: 5\n"),
                    "xlb.yaml:11: vrrp[0].preempt_delay: '5' has no unit"));
}

TEST(ParseVrrpErrors, Auth) {
  EXPECT_TRUE(Fails(VrrpFile("    auth: {type: pass, secret: x}\n"),
                    "xlb.yaml:11: vrrp[0].auth: only for version 2 (version is 3 by default",
                    {"RFC 5798"}));
  EXPECT_TRUE(Fails(VrrpFile("    version: 3\n    auth: {type: pass, secret: x}\n"),
                    "xlb.yaml:12: vrrp[0].auth: only for version 2 (version is 3;"));
  EXPECT_TRUE(Fails(VrrpFile("    version: 2\n    auth: {type: ah, secret: x}\n"),
                    "xlb.yaml:12: vrrp[0].auth.type: 'ah' is not supported",
                    {"keepalived's AH", "expected pass"}));
  EXPECT_TRUE(Fails(VrrpFile("    version: 2\n    auth: {type: md5, secret: x}\n"),
                    "xlb.yaml:12: vrrp[0].auth.type: 'md5' is not pass"));
  EXPECT_TRUE(Fails(VrrpFile("    version: 2\n    auth: {secret: x}\n"),
                    "xlb.yaml:12: vrrp[0].auth.type: missing (required: pass)"));
  EXPECT_TRUE(Fails(VrrpFile("    version: 2\n    auth: {type: pass}\n"),
                    "xlb.yaml:12: vrrp[0].auth.secret: missing (required: a password of 1..8 "
                    "characters)"));
  EXPECT_TRUE(Fails(VrrpFile("    version: 2\n    auth: {type: pass, secret: ''}\n"),
                    "xlb.yaml:12: vrrp[0].auth.secret: is empty (expected 1..8 characters"));
  EXPECT_TRUE(Fails(VrrpFile("    version: 2\n    auth:\n      type: pass\n"
                             "      secret: verysecret\n"),
                    "xlb.yaml:14: vrrp[0].auth.secret: is 10 characters long (expected 1..8",
                    {"keepalived silently truncates"}));
}

TEST(ParseVrrpErrors, Addresses) {
  EXPECT_TRUE(Fails(VrrpHead(), "xlb.yaml:7: vrrp[0].addresses: missing (required: a list of "
                                "ADDRESS/PREFIX"));
  EXPECT_TRUE(Fails(VrrpHead("    addresses: []\n"),
                    "xlb.yaml:10: vrrp[0].addresses: is empty (expected a list of "
                    "ADDRESS/PREFIX"));
  EXPECT_TRUE(Fails(VrrpHead("    addresses: 198.51.100.10/24\n"),
                    "xlb.yaml:10: vrrp[0].addresses: is a single value (expected a list"));
  EXPECT_TRUE(Fails(VrrpHead("    addresses:\n      - 198.51.100.10/24\n      - vip\n"),
                    "xlb.yaml:12: vrrp[0].addresses[1]: 'vip' is not an address (expected "
                    "ADDRESS/PREFIX"));
  EXPECT_TRUE(Fails(VrrpHead("    addresses: [198.51.100.10/33]\n"),
                    "xlb.yaml:10: vrrp[0].addresses[0]: '198.51.100.10/33' has a bad prefix "
                    "length (expected 1..32 for IPv4)"));
  EXPECT_TRUE(Fails(VrrpHead("    addresses: [198.51.100.10/]\n"),
                    "xlb.yaml:10: vrrp[0].addresses[0]: '198.51.100.10/' has a bad prefix"));
  EXPECT_TRUE(Fails(VrrpHead("    addresses: [198.51.100.10/0]\n"),
                    "xlb.yaml:10: vrrp[0].addresses[0]: '198.51.100.10/0' has a bad prefix"));
  EXPECT_TRUE(Fails(VrrpHead("    addresses: [\"2001:db8::1/129\"]\n"),
                    "xlb.yaml:10: vrrp[0].addresses[0]: '2001:db8::1/129' has a bad prefix "
                    "length (expected 1..128 for IPv6)"));
  EXPECT_TRUE(Fails(VrrpHead("    addresses: [198.51.100.10/24, 2001:db8::1/64]\n"),
                    "xlb.yaml:10: vrrp[0].addresses[1]: '2001:db8::1/64' is IPv6 but "
                    "vrrp[0].addresses[0] is IPv4 (expected one family per instance)"));
  EXPECT_TRUE(Fails(VrrpHead("    addresses:\n      - 198.51.100.10/24\n"
                             "      - 198.51.100.10/32\n"),
                    "xlb.yaml:12: vrrp[0].addresses[1]: 198.51.100.10 is listed twice (first at "
                    "line 11)"));
  EXPECT_TRUE(Fails(VrrpHead("    version: 2\n    addresses: [2001:db8::1/64]\n"),
                    "xlb.yaml:10: vrrp[0].version: version 2 is IPv4 only (RFC 3768)",
                    {"IPv6", "expected version 3"}));
}

TEST(ParseVrrpErrors, Unicast) {
  EXPECT_TRUE(Fails(VrrpFile("    unicast: {source: 2001:db8::2, peers: [198.51.100.3]}\n"),
                    "xlb.yaml:11: vrrp[0].unicast.source: 2001:db8::2 is IPv6 but the addresses "
                    "are IPv4 (expected one family per instance)"));
  EXPECT_TRUE(Fails(VrrpFile("    unicast:\n      peers:\n        - 198.51.100.3\n"
                             "        - 2001:db8::3\n"),
                    "xlb.yaml:14: vrrp[0].unicast.peers[1]: 2001:db8::3 is IPv6 but the "
                    "addresses are IPv4"));
  EXPECT_TRUE(Fails(VrrpFile("    unicast: {source: 198.51.100.2}\n"),
                    "xlb.yaml:11: vrrp[0].unicast.peers: missing (required: a list of peer "
                    "addresses"));
  EXPECT_TRUE(Fails(VrrpFile("    unicast: {peers: []}\n"),
                    "xlb.yaml:11: vrrp[0].unicast.peers: is empty"));
  EXPECT_TRUE(Fails(VrrpFile("    unicast: {peers: [198.51.100.3, 198.51.100.3]}\n"),
                    "xlb.yaml:11: vrrp[0].unicast.peers[1]: 198.51.100.3 is listed twice"));
  EXPECT_TRUE(Fails(VrrpFile("    unicast: {source: 198.51.100.3, peers: [198.51.100.3]}\n"),
                    "xlb.yaml:11: vrrp[0].unicast.peers[0]: 198.51.100.3 is the source itself"));
  EXPECT_TRUE(Fails(VrrpFile("    unicast: {peers: [peer1]}\n"),
                    "xlb.yaml:11: vrrp[0].unicast.peers[0]: 'peer1' is not an IP address"));
}

TEST(ParseVrrpErrors, Track) {
  EXPECT_TRUE(Fails(VrrpFile("    track:\n      - {service: pg-ro, weight: 50}\n"),
                    "xlb.yaml:12: vrrp[0].track[0].service: 'pg-ro' is not a service (known: "
                    "pg-rw)"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\nvrrp:\n  - name: a\n    interface: eth0\n    vrid: 1\n"
                    "    addresses: [198.51.100.10]\n    track: [{service: web}]\n",
                    "xlb.yaml:7: vrrp[0].track[0].service: 'web' is not a service (no services "
                    "are configured)"));
  EXPECT_TRUE(Fails(VrrpFile("    track: [{service: pg-rw, weight: 255}]\n"),
                    "xlb.yaml:11: vrrp[0].track[0].weight: 255 is out of range (expected "
                    "0..254)"));
  EXPECT_TRUE(Fails(VrrpFile("    track: [{service: pg-rw, weight: -5}]\n"),
                    "xlb.yaml:11: vrrp[0].track[0].weight: '-5' is not a number (expected "
                    "0..254)"));
  EXPECT_TRUE(Fails(VrrpFile("    track: [{interface: 'eth 0'}]\n"),
                    "xlb.yaml:11: vrrp[0].track[0].interface: 'eth 0' is not an interface name"));
  EXPECT_TRUE(Fails(VrrpFile("    track: [{exec: ' '}]\n"),
                    "xlb.yaml:11: vrrp[0].track[0].exec: is empty (expected a shell command)"));
  EXPECT_TRUE(Fails(VrrpFile("    track: [{exec: /bin/true, interval: 0s}]\n"),
                    "xlb.yaml:11: vrrp[0].track[0].interval: must be more than 0s"));
  EXPECT_TRUE(Fails(VrrpFile("    track: [{exec: /bin/true, rise: 0}]\n"),
                    "xlb.yaml:11: vrrp[0].track[0].rise: 0 is out of range (expected 1..100)"));
  EXPECT_TRUE(Fails(VrrpFile("    track: [{exec: /bin/true, fall: 101}]\n"),
                    "xlb.yaml:11: vrrp[0].track[0].fall: 101 is out of range (expected 1..100)"));
  EXPECT_TRUE(Fails(VrrpFile("    track: [{service: pg-rw, interval: 2s}]\n"),
                    "xlb.yaml:11: vrrp[0].track[0].interval: only for an exec track (this one "
                    "tracks service pg-rw)"));
  EXPECT_TRUE(Fails(VrrpFile("    track: [{interface: eth0, rise: 2}]\n"),
                    "xlb.yaml:11: vrrp[0].track[0].rise: only for an exec track"));
  EXPECT_TRUE(Fails(VrrpFile("    track: [{service: pg-rw, interface: eth0}]\n"),
                    "xlb.yaml:11: vrrp[0].track[0].interface: a track watches one thing"));
  EXPECT_TRUE(Fails(VrrpFile("    track: [{weight: 10}]\n"),
                    "xlb.yaml:11: vrrp[0].track[0]: tracks nothing (expected one of: service, "
                    "interface, exec)"));
  EXPECT_TRUE(Fails(VrrpFile("    track:\n      - {interface: eth0}\n      - {interface: eth0, "
                             "weight: 5}\n"),
                    "xlb.yaml:13: vrrp[0].track[1]: interface 'eth0' is tracked twice (first at "
                    "line 12)"));
}

TEST(ParseVrrpErrors, Notify) {
  EXPECT_TRUE(Fails(VrrpFile("    notify: notify.sh\n"),
                    "xlb.yaml:11: vrrp[0].notify: 'notify.sh' is not an absolute path"));
  EXPECT_TRUE(Fails(VrrpFile("    notify: ''\n"),
                    "xlb.yaml:11: vrrp[0].notify: '' is not an absolute path"));
  EXPECT_TRUE(Fails(VrrpFile("    notify: [/bin/a]\n"),
                    "xlb.yaml:11: vrrp[0].notify: is a list (expected an absolute path"));
}

// keepalived's notify scripts: command lines, each validated like an exec
// track's command.
TEST(ParseVrrp, KeepalivedNotifies) {
  const VrrpInstance v = Parses(VrrpFile(
      "    notify_master: \"/etc/keepalived/notify.sh master 'a b'\"\n"
      "    notify_backup: /etc/keepalived/notify.sh backup\n"
      "    notify_fault: /etc/keepalived/fault.sh\n"
      "    notify_stop: stop-haproxy.sh\n"
      "    notify_keepalived: /etc/keepalived/notify-all.sh --log\n")).vrrp.at(0);
  EXPECT_EQ(v.notify_master, "/etc/keepalived/notify.sh master 'a b'");
  EXPECT_EQ(v.notify_backup, "/etc/keepalived/notify.sh backup");
  EXPECT_EQ(v.notify_fault, "/etc/keepalived/fault.sh");
  EXPECT_EQ(v.notify_stop, "stop-haproxy.sh");
  EXPECT_EQ(v.notify_keepalived, "/etc/keepalived/notify-all.sh --log");
  EXPECT_EQ(v.notify, "");
  const VrrpInstance none = Parses(VrrpFile()).vrrp.at(0);
  EXPECT_EQ(none.notify_master + none.notify_backup + none.notify_fault + none.notify_stop +
                none.notify_keepalived,
            "");
}

TEST(ParseVrrpErrors, KeepalivedNotifies) {
  for (const std::string key :
       {"notify_master", "notify_backup", "notify_fault", "notify_stop", "notify_keepalived"}) {
    const std::string at = "xlb.yaml:11: vrrp[0]." + key + ": ";
    EXPECT_TRUE(Fails(VrrpFile("    " + key + ": ''\n"),
                      at + "is empty (expected a command line, e.g. \"/usr/local/bin/notify.sh "
                           "master\")"))
        << key;
    EXPECT_TRUE(Fails(VrrpFile("    " + key + ": \"/bin/a\\n/bin/b\"\n"),
                      at + "holds a control character such as a newline"))
        << key;
    EXPECT_TRUE(Fails(VrrpFile("    " + key + ": [/bin/a]\n"),
                      at + "is a list (expected a command line"))
        << key;
  }
}

TEST(ParseVrrp, Garp) {
  // keepalived's defaults: 5 at once, 5 more after 5 s.
  EXPECT_EQ(Parses(VrrpFile()).vrrp.at(0).garp, (VrrpGarp{5, 1, Duration(5000)}));
  EXPECT_EQ(Parses(VrrpFile("    garp: {count: 1, repeat: 0}\n")).vrrp.at(0).garp,
            (VrrpGarp{1, 0, Duration(5000)}));
  EXPECT_EQ(Parses(VrrpFile("    garp: {count: 100, repeat: 100, interval: 10ms}\n")).vrrp.at(0).garp,
            (VrrpGarp{100, 100, Duration(10)}));
  EXPECT_TRUE(Fails(VrrpFile("    garp: {count: 0}\n"), "xlb.yaml:11: vrrp[0].garp.count:"));
  EXPECT_TRUE(Fails(VrrpFile("    garp: {repeat: 101}\n"), "xlb.yaml:11: vrrp[0].garp.repeat:"));
  EXPECT_TRUE(Fails(VrrpFile("    garp: {interval: 5ms}\n"),
                    "xlb.yaml:11: vrrp[0].garp.interval: 5ms is out of range (expected 10ms..1h)"));
  EXPECT_TRUE(Fails(VrrpFile("    garp: {delay: 1s}\n"),
                    "xlb.yaml:11: vrrp[0].garp.delay: unknown key (expected one of: count, "
                    "repeat, interval)"));
}

TEST(ToYaml, RoundTripsVrrp) {
  ExpectRoundTrip(Parses(kVrrpIssueExample));
  ExpectRoundTrip(Parses(VrrpFile("    garp: {count: 2, repeat: 3, interval: 250ms}\n")));
  ExpectRoundTrip(Parses(VrrpFile()));
  ExpectRoundTrip(Parses(
      "interfaces: [eth0]\nvrrp:\n  - {name: v6, interface: eth0, vrid: 1, preempt: false, "
      "preempt_delay: 1500ms, advert_interval: 40.95s, addresses: [\"2001:db8::\", "
      "2001:db8::11/64], unicast: {source: \"fe80::1\", peers: [\"fe80::2\"]}}\n"));
  // Built in code, with strings YAML would misread if written plain.
  Config c;
  c.interfaces = {"eth0"};
  ServiceConfig s;
  s.name = "true";
  s.service.key = {Ip("198.51.100.20"), 80, Protocol::kTcp};
  c.services.push_back(s);
  VrrpInstance v;
  v.name = "null";
  v.interface = "123";
  v.vrid = 255;
  v.priority = 255;
  v.version = 2;
  v.advert_interval = Duration(255000);
  v.auth_secret = "1e3 #: x";
  v.addresses = {{Ip("198.51.100.10"), 1}};
  v.track = {VrrpTrack{VrrpTrack::kService, "true", 254},
             VrrpTrack{VrrpTrack::kExec, "test \"$(cat /x)\" = 'ok: yes' # c", 0, Duration(1), 100,
                       100}};
  v.notify = "/usr/local/bin/notify #1.sh";
  v.notify_master = "/bin/notify.sh master 'a: b' \"#2\"";
  v.notify_backup = "/bin/notify.sh backup";
  v.notify_fault = "true";
  v.notify_stop = "/bin/stop.sh";
  v.notify_keepalived = "/bin/notify-all.sh";
  c.vrrp.push_back(v);
  ExpectRoundTrip(c);
  ExpectRoundTrip(Parses(VrrpFile("    notify_stop: /bin/stop.sh\n")));
}

// ---- bgp ----

constexpr char kNeighbor[] = "    - {address: 198.51.100.254, asn: 64512}\n";

// Svc() (lines 1-5) and a bgp: section: line 6 "bgp:", then `keys` (by
// default asn at 7 and router_id at 8), then "  neighbors:" and `neighbors`.
std::string Bgp(const std::string& keys = "", const std::string& neighbors = kNeighbor,
                const std::string& head = "  asn: 64513\n  router_id: 198.51.100.1\n") {
  return Svc() + "bgp:\n" + head + keys + "  neighbors:\n" + neighbors;
}

TEST(ParseBgp, Example) {
  Config c = Parses(Svc() + R"(  - {name: web6, vip: "2001:db8::20", port: 443}
bgp:
  asn: 4200000001
  router_id: 198.51.100.1
  announce: [198.51.100.20, "2001:db8::20"]
  next_hop_self: false
  hold_time: 30s
  keepalive: 10s
  bfd: {interval: 100ms, multiplier: 5}
  frr_pathspace: d1
  withdraw_delay: 500ms
  neighbors:
    - {address: 198.51.100.254, asn: 64512, password_file: /etc/xlb/bgp.pass, bfd: true}
    - {address: "2001:db8::fe", asn: 4200000001, hold_time: 9s, keepalive: 3s}
)");
  ASSERT_TRUE(c.bgp.has_value());
  const BgpConfig& b = *c.bgp;
  EXPECT_EQ(b.asn, 4200000001u);
  EXPECT_EQ(b.router_id, Ip("198.51.100.1"));
  EXPECT_EQ(b.announce, (std::vector<IpAddress>{Ip("198.51.100.20"), Ip("2001:db8::20")}));
  EXPECT_FALSE(b.next_hop_self);
  EXPECT_EQ(b.hold_time, Duration(30000));
  EXPECT_EQ(b.keepalive, Duration(10000));
  EXPECT_EQ(b.bfd, (BgpBfd{Duration(100), 5}));
  EXPECT_EQ(b.frr_pathspace, "d1");
  EXPECT_EQ(b.withdraw_delay, Duration(500));
  ASSERT_EQ(b.neighbors.size(), 2u);
  const BgpNeighbor& v4 = b.neighbors[0];
  EXPECT_EQ(v4.address, Ip("198.51.100.254"));
  EXPECT_EQ(v4.asn, 64512u);
  EXPECT_EQ(v4.password_file, "/etc/xlb/bgp.pass");
  EXPECT_EQ(v4.password, "");  // ParseConfig reads no file
  EXPECT_TRUE(v4.bfd);
  EXPECT_EQ(v4.hold_time, Duration(30000));  // the section's
  EXPECT_EQ(v4.keepalive, Duration(10000));
  const BgpNeighbor& v6 = b.neighbors[1];
  EXPECT_EQ(v6.address, Ip("2001:db8::fe"));
  EXPECT_EQ(v6.asn, 4200000001u);  // iBGP
  EXPECT_FALSE(v6.bfd);
  EXPECT_EQ(v6.hold_time, Duration(9000));
  EXPECT_EQ(v6.keepalive, Duration(3000));
  ExpectRoundTrip(c);
}

TEST(ParseBgp, Defaults) {
  EXPECT_FALSE(Parses(Svc()).bgp.has_value());
  Config c = Parses(Bgp());
  ASSERT_TRUE(c.bgp.has_value());
  const BgpConfig& b = *c.bgp;
  EXPECT_TRUE(b.announce.empty());  // every service's VIP
  EXPECT_TRUE(b.next_hop_self);
  EXPECT_EQ(b.hold_time, Duration(9000));
  EXPECT_EQ(b.keepalive, Duration(3000));
  EXPECT_EQ(b.bfd, BgpBfd{});
  EXPECT_EQ(b.bfd, (BgpBfd{Duration(300), 3}));
  EXPECT_EQ(b.frr_pathspace, "");
  EXPECT_EQ(b.withdraw_delay, Duration(1000));
  ASSERT_EQ(b.neighbors.size(), 1u);
  EXPECT_EQ(b.neighbors[0].password_file, "");
  EXPECT_FALSE(b.neighbors[0].bfd);
  EXPECT_EQ(b.neighbors[0].hold_time, Duration(9000));
  EXPECT_EQ(b.neighbors[0].keepalive, Duration(3000));
  EXPECT_EQ(Parses(Bgp("  announce: all\n")), c);
  // Timers 0s: no hold timer and no keepalives (RFC 4271), as FRR allows.
  Config zero = Parses(Bgp("  hold_time: 0s\n  keepalive: 0s\n"));
  EXPECT_EQ(zero.bgp->neighbors[0].hold_time, Duration(0));
  // The limits themselves.
  Parses(Bgp("  hold_time: 3s\n  keepalive: 1s\n"));
  Parses(Bgp("  hold_time: 65535s\n  keepalive: 21845s\n"));
  Parses(Bgp("", "", "  asn: 1\n  router_id: 198.51.100.1\n") + kNeighbor);
  Parses(Bgp("", "", "  asn: 4294967294\n  router_id: 198.51.100.1\n") + kNeighbor);
  Parses(Bgp("  bfd: {interval: 10ms, multiplier: 2}\n",
             "    - {address: 198.51.100.254, asn: 64512, bfd: true}\n"));
  Parses(Bgp("  bfd: {interval: 60s, multiplier: 255}\n",
             "    - {address: 198.51.100.254, asn: 64512, bfd: true}\n"));
}

TEST(ParseBgpErrors, Section) {
  EXPECT_TRUE(Fails(Svc("bgp:\n  zz: 1\n"), "xlb.yaml:7: bgp.zz: unknown key (expected one of: "
                                          "asn, router_id, announce"));
  EXPECT_TRUE(Fails(Svc("bgp: [1]\n"), "xlb.yaml:6: bgp: is a list (expected a map"));
  EXPECT_TRUE(Fails(Svc("bgp:\n"), "xlb.yaml:6: bgp.asn: missing (required"));
  EXPECT_TRUE(Fails(Bgp("", kNeighbor, "  asn: 64513\n"), "xlb.yaml:7: bgp.router_id: missing"));
  EXPECT_TRUE(Fails(Svc("bgp:\n  asn: 64513\n  router_id: 198.51.100.1\n"),
                    "xlb.yaml:7: bgp.neighbors: missing (required: a list of {address, asn}"));
  EXPECT_TRUE(Fails(Bgp("", ""), "xlb.yaml:9: bgp.neighbors: is empty (expected a list"));
  EXPECT_TRUE(Fails(Bgp("  frr_pathspace: ../etc\n"),
                    "xlb.yaml:9: bgp.frr_pathspace: '../etc' is not an FRR pathspace name"));
  EXPECT_TRUE(Fails(Bgp("  frr_pathspace: .hidden\n"), "xlb.yaml:9: bgp.frr_pathspace: '.hidden'"));
  EXPECT_TRUE(Fails(Bgp("  frr_pathspace: a b\n"), "xlb.yaml:9: bgp.frr_pathspace: 'a b'"));
  EXPECT_TRUE(Fails(Bgp("  withdraw_delay: 61s\n"),
                    "xlb.yaml:9: bgp.withdraw_delay: 61s is out of range (expected 0s..1m)"));
  EXPECT_TRUE(Fails(Bgp("  next_hop_self: yes\n"),
                    "xlb.yaml:9: bgp.next_hop_self: 'yes' is not true or false"));
}

TEST(ParseBgpErrors, AsNumbers) {
  auto local = [](const std::string& asn) {
    return Bgp("", kNeighbor, "  asn: " + asn + "\n  router_id: 198.51.100.1\n");
  };
  EXPECT_TRUE(Fails(local("0"), "xlb.yaml:7: bgp.asn: AS 0 is reserved (RFC 7607"));
  EXPECT_TRUE(Fails(local("23456"), "xlb.yaml:7: bgp.asn: 23456 is AS_TRANS", {"RFC 6793"}));
  EXPECT_TRUE(Fails(local("65535"), "xlb.yaml:7: bgp.asn: 65535 is reserved (RFC 7300"));
  EXPECT_TRUE(Fails(local("4294967295"), "xlb.yaml:7: bgp.asn: 4294967295 is reserved"));
  EXPECT_TRUE(Fails(local("4294967296"), "xlb.yaml:7: bgp.asn: 4294967296 is out of range "
                                         "(expected 0..4294967295)"));
  EXPECT_TRUE(Fails(local("1.10"), "xlb.yaml:7: bgp.asn: '1.10' is not a number"));
  EXPECT_TRUE(Fails(local("-1"), "xlb.yaml:7: bgp.asn: '-1' is not a number"));
  EXPECT_TRUE(Fails(Bgp("", "    - {address: 198.51.100.254, asn: 0}\n"),
                    "xlb.yaml:10: bgp.neighbors[0].asn: AS 0 is reserved"));
  EXPECT_TRUE(Fails(Bgp("", "    - {address: 198.51.100.254, asn: 23456}\n"),
                    "xlb.yaml:10: bgp.neighbors[0].asn: 23456 is AS_TRANS"));
  EXPECT_TRUE(Fails(Bgp("", "    - {address: 198.51.100.254}\n"),
                    "xlb.yaml:10: bgp.neighbors[0].asn: missing (required"));
}

TEST(ParseBgpErrors, RouterId) {
  auto id = [](const std::string& router_id) {
    return Bgp("", kNeighbor, "  asn: 64513\n  router_id: " + router_id + "\n");
  };
  EXPECT_TRUE(Fails(id("0.0.0.0"), "xlb.yaml:8: bgp.router_id: 0.0.0.0 is not a router id"));
  EXPECT_TRUE(Fails(id("2001:db8::1"), "xlb.yaml:8: bgp.router_id: 2001:db8::1 is IPv6",
                    {"RFC 6286"}));
  EXPECT_TRUE(Fails(id("198.51.100.20"),
                    "xlb.yaml:8: bgp.router_id: 198.51.100.20 is the VIP of a service, the same "
                    "on every director"));
  EXPECT_TRUE(Fails(id("router1"), "xlb.yaml:8: bgp.router_id: 'router1' is not an IP address"));
}

TEST(ParseBgpErrors, Announce) {
  EXPECT_TRUE(Fails(Bgp("  announce: [198.51.100.99]\n"),
                    "xlb.yaml:9: bgp.announce[0]: 198.51.100.99 is not the VIP of any service "
                    "(VIPs: 198.51.100.20)"));
  EXPECT_TRUE(Fails(Bgp("  announce: [198.51.100.20, 198.51.100.20]\n"),
                    "xlb.yaml:9: bgp.announce[1]: 198.51.100.20 is listed twice (first at line 9)"));
  EXPECT_TRUE(Fails(Bgp("  announce: []\n"), "xlb.yaml:9: bgp.announce: is empty (expected all, "
                                             "or a list of VIPs"));
  EXPECT_TRUE(Fails(Bgp("  announce: every\n"), "xlb.yaml:9: bgp.announce: 'every' is not all"));
  EXPECT_TRUE(Fails(Bgp("  announce: {vip: 1}\n"), "xlb.yaml:9: bgp.announce: is a map"));
  EXPECT_TRUE(Fails("interfaces: [eth0]\nbgp:\n  asn: 64513\n  router_id: 198.51.100.1\n"
                    "  announce: [198.51.100.20]\n  neighbors: [{address: 198.51.100.254, asn: 1}]\n",
                    "xlb.yaml:5: bgp.announce[0]: 198.51.100.20 is not the VIP of any service "
                    "(no services are configured)"));
}

TEST(ParseBgpErrors, Neighbors) {
  auto neighbor = [](const std::string& entry) { return Bgp("", "    - " + entry + "\n"); };
  EXPECT_TRUE(Fails(neighbor("{asn: 64512}"), "xlb.yaml:10: bgp.neighbors[0].address: missing"));
  EXPECT_TRUE(Fails(neighbor("{address: 198.51.100.254, asn: 1, zz: 1}"),
                    "xlb.yaml:10: bgp.neighbors[0].zz: unknown key (expected one of: address, asn"));
  EXPECT_TRUE(Fails(Bgp("", std::string(kNeighbor) + "    - {address: 198.51.100.254, asn: 7}\n"),
                    "xlb.yaml:11: bgp.neighbors[1].address: 198.51.100.254 is listed twice "
                    "(first at line 10)"));
  // The same address written another way is the same neighbour.
  EXPECT_TRUE(Fails(Bgp("", "    - {address: '2001:db8::fe', asn: 1}\n"
                            "    - {address: '2001:0db8:0::fe', asn: 1}\n"),
                    "xlb.yaml:11: bgp.neighbors[1].address: 2001:db8::fe is listed twice"));
  EXPECT_TRUE(Fails(neighbor("{address: 198.51.100.20, asn: 1}"),
                    "xlb.yaml:10: bgp.neighbors[0].address: 198.51.100.20 is the VIP of a service"));
  EXPECT_TRUE(Fails(neighbor("{address: 198.51.100.1, asn: 1}"),
                    "xlb.yaml:10: bgp.neighbors[0].address: 198.51.100.1 is bgp.router_id"));
  EXPECT_TRUE(Fails(neighbor("{address: 0.0.0.0, asn: 1}"), "xlb.yaml:10: bgp.neighbors[0].address: "
                                                            "0.0.0.0 is unspecified"));
  EXPECT_TRUE(Fails(neighbor("{address: '::', asn: 1}"), "xlb.yaml:10: bgp.neighbors[0].address: "
                                                         ":: is unspecified"));
  EXPECT_TRUE(Fails(neighbor("{address: 224.0.0.5, asn: 1}"), "xlb.yaml:10: bgp.neighbors[0]."
                                                              "address: 224.0.0.5 is multicast"));
  EXPECT_TRUE(Fails(neighbor("{address: 'fe80::1', asn: 1}"),
                    "xlb.yaml:10: bgp.neighbors[0].address: fe80::1 is link-local"));
  EXPECT_TRUE(Fails(neighbor("{address: 127.0.0.1, asn: 1}"),
                    "xlb.yaml:10: bgp.neighbors[0].address: 127.0.0.1 is a loopback address"));
  EXPECT_TRUE(Fails(neighbor("{address: 198.51.100.254, asn: 1, password: s3cret}"),
                    "xlb.yaml:10: bgp.neighbors[0].password: is not accepted in the "
                    "configuration (put the password in a file",
                    {"password_file"}));
  EXPECT_TRUE(Fails(neighbor("{address: 198.51.100.254, asn: 1, password_file: bgp.pass}"),
                    "xlb.yaml:10: bgp.neighbors[0].password_file: 'bgp.pass' is not an absolute "
                    "path"));
  EXPECT_TRUE(Fails(neighbor("{address: 198.51.100.254, asn: 1, bfd: 1}"),
                    "xlb.yaml:10: bgp.neighbors[0].bfd: '1' is not true or false"));
}

TEST(ParseBgpErrors, Timers) {
  EXPECT_TRUE(Fails(Bgp("  hold_time: 2s\n"), "xlb.yaml:9: bgp.hold_time: 2s is out of range "
                                              "(expected 0s, or 3s..65535s"));
  EXPECT_TRUE(Fails(Bgp("  hold_time: 65536s\n"), "xlb.yaml:9: bgp.hold_time: 65536s is out of "
                                                  "range"));
  EXPECT_TRUE(Fails(Bgp("  hold_time: 9500ms\n"),
                    "xlb.yaml:9: bgp.hold_time: 9500ms is not a whole number of seconds"));
  EXPECT_TRUE(Fails(Bgp("  keepalive: 21846s\n"), "xlb.yaml:9: bgp.keepalive: 21846s is out of "
                                                  "range (expected at most 21845s"));
  EXPECT_TRUE(Fails(Bgp("  hold_time: 6s\n"),
                    "xlb.yaml:9: bgp.hold_time: keepalive 3s with hold_time 6s (expected 1s <= "
                    "keepalive <= hold_time / 3"));
  EXPECT_TRUE(Fails(Bgp("  hold_time: 9s\n  keepalive: 4s\n"),
                    "xlb.yaml:10: bgp.keepalive: keepalive 4s with hold_time 9s"));
  EXPECT_TRUE(Fails(Bgp("  keepalive: 0s\n"), "xlb.yaml:9: bgp.keepalive: keepalive 0s with "
                                              "hold_time 9s"));
  EXPECT_TRUE(Fails(Bgp("  hold_time: 0s\n"), "xlb.yaml:9: bgp.hold_time: keepalive 3s with "
                                              "hold_time 0s (expected keepalive: 0s"));
  EXPECT_TRUE(Fails(Bgp("  keepalive: soon\n"), "xlb.yaml:9: bgp.keepalive: 'soon' is not a "
                                                "duration"));
  // A neighbour's own timers, with the section's as the other half.
  EXPECT_TRUE(Fails(Bgp("", "    - {address: 198.51.100.254, asn: 1, hold_time: 3s}\n"),
                    "xlb.yaml:10: bgp.neighbors[0].hold_time: keepalive 3s with hold_time 3s"));
  EXPECT_TRUE(Fails(Bgp("", "    - {address: 198.51.100.254, asn: 1, keepalive: 5s}\n"),
                    "xlb.yaml:10: bgp.neighbors[0].keepalive: keepalive 5s with hold_time 9s"));
  EXPECT_TRUE(Fails(Bgp("", "    - {address: 198.51.100.254, asn: 1, hold_time: 1s}\n"),
                    "xlb.yaml:10: bgp.neighbors[0].hold_time: 1s is out of range"));
  Config c = Parses(Bgp("", "    - {address: 198.51.100.254, asn: 1, hold_time: 3s, keepalive: 1s}\n"));
  EXPECT_EQ(c.bgp->neighbors[0].hold_time, Duration(3000));
  EXPECT_EQ(c.bgp->neighbors[0].keepalive, Duration(1000));
  EXPECT_EQ(c.bgp->hold_time, Duration(9000));
}

TEST(ParseBgpErrors, Bfd) {
  const std::string with_bfd = "    - {address: 198.51.100.254, asn: 64512, bfd: true}\n";
  EXPECT_TRUE(Fails(Bgp("  bfd: {interval: 9ms}\n", with_bfd),
                    "xlb.yaml:9: bgp.bfd.interval: 9ms is out of range (expected 10ms..60s"));
  EXPECT_TRUE(Fails(Bgp("  bfd: {interval: 61s}\n", with_bfd),
                    "xlb.yaml:9: bgp.bfd.interval: 61s is out of range"));
  EXPECT_TRUE(Fails(Bgp("  bfd: {multiplier: 1}\n", with_bfd),
                    "xlb.yaml:9: bgp.bfd.multiplier: 1 is out of range (expected 2..255)"));
  EXPECT_TRUE(Fails(Bgp("  bfd: {zz: 1}\n", with_bfd),
                    "xlb.yaml:9: bgp.bfd.zz: unknown key (expected one of: interval, multiplier)"));
  EXPECT_TRUE(Fails(Bgp("  bfd: true\n", with_bfd), "xlb.yaml:9: bgp.bfd: is a single value"));
  EXPECT_TRUE(Fails(Bgp("  bfd: {interval: 100ms}\n"),
                    "xlb.yaml:9: bgp.bfd: is unused: no neighbour has bfd: true"));
}

TEST(ToYaml, RoundTripsBgp) {
  ExpectRoundTrip(Parses(Bgp()));
  ExpectRoundTrip(Parses(Bgp("  frr_pathspace: '1e3'\n  withdraw_delay: 0s\n")));
  ExpectRoundTrip(Parses(Bgp("  announce: [198.51.100.20]\n  next_hop_self: false\n"
                             "  hold_time: 0s\n  keepalive: 0s\n  bfd: {interval: 50ms}\n",
                             "    - {address: 198.51.100.254, asn: 64512, bfd: true, "
                             "password_file: '/etc/xlb/bgp: #1.pass'}\n"
                             "    - {address: '2001:db8::fe', asn: 4294967294, hold_time: 90s, "
                             "keepalive: 30s}\n"
                             "    - {address: '2001:db8::fd', asn: 1, keepalive: 0s}\n")));
  // A neighbour's timers are written only where they differ from the section's.
  const std::string yaml = ToYaml(Parses(Bgp(
      "", "    - {address: 198.51.100.254, asn: 64512, hold_time: 9s, keepalive: 2s}\n")));
  EXPECT_TRUE(absl::StrContains(yaml, R"(bgp:
  asn: 64513
  router_id: 198.51.100.1
  announce: all
  next_hop_self: true
  hold_time: 9s
  keepalive: 3s
  frr_pathspace: ""
  withdraw_delay: 1s
  neighbors:
    - {address: 198.51.100.254, asn: 64512, bfd: false, keepalive: 2s}
)")) << yaml;
}

// ---- sync ----

// Svc() (lines 1-5), then line 6 "sync:", line 7 the peers, line 8 the key
// file, then `keys` from line 9.
std::string Sync(const std::string& keys = "",
                 const std::string& peers = "[192.0.2.12, 192.0.2.13]") {
  return Svc() + "sync:\n  peers: " + peers + "\n  key_file: /etc/xlb/sync.key\n" + keys;
}

TEST(ParseSync, Defaults) {
  EXPECT_FALSE(Parses(Svc()).sync.has_value());
  Config c = Parses(Sync());
  ASSERT_TRUE(c.sync.has_value());
  const SyncConfig& s = *c.sync;
  EXPECT_EQ(s.peers, (std::vector<IpAddress>{Ip("192.0.2.12"), Ip("192.0.2.13")}));
  EXPECT_EQ(s.port, 8849);
  EXPECT_EQ(s.key_file, "/etc/xlb/sync.key");
  EXPECT_FALSE(s.source.has_value());
  EXPECT_EQ(s.node_id, 0u);
  EXPECT_EQ(s.mtu, 1500u);
  EXPECT_EQ(s.refresh, Duration(60'000));
  EXPECT_EQ(s.resync_timeout, Duration(10'000));
  EXPECT_EQ(s.ring_bytes, 4194304u);
  EXPECT_EQ(s.multicast_ttl, 1);
  ExpectRoundTrip(c);
}

TEST(ParseSync, EveryKeyAndTheLimits) {
  Config c = Parses(Sync("  port: 9000\n  source: 192.0.2.11\n  node_id: 7\n  mtu: 9000\n"
                         "  refresh: 30s\n  resync_timeout: 1m\n  ring_bytes: 65536\n"));
  const SyncConfig& s = *c.sync;
  EXPECT_EQ(s.port, 9000);
  EXPECT_EQ(s.source, Ip("192.0.2.11"));
  EXPECT_EQ(s.node_id, 7u);
  EXPECT_EQ(s.mtu, 9000u);
  EXPECT_EQ(s.refresh, Duration(30'000));
  EXPECT_EQ(s.resync_timeout, Duration(60'000));
  EXPECT_EQ(s.ring_bytes, 65536u);
  ExpectRoundTrip(c);
  ExpectRoundTrip(Parses(Sync("  port: 1\n  node_id: 4294967295\n  mtu: 576\n  refresh: 5s\n"
                              "  resync_timeout: 1s\n  ring_bytes: 268435456\n")));
  ExpectRoundTrip(Parses(Sync("  port: 65535\n  mtu: 9216\n  refresh: 1h\n  resync_timeout: 5m\n",
                              "[\"2001:db8::12\"]")));
  // One multicast group, IPv4 or IPv6, with its TTL.
  Config group = Parses(Sync("  multicast_ttl: 255\n  source: 192.0.2.11\n", "[233.252.0.1]"));
  EXPECT_EQ(group.sync->peers, std::vector<IpAddress>{Ip("233.252.0.1")});
  EXPECT_EQ(group.sync->multicast_ttl, 255);
  ExpectRoundTrip(group);
  ExpectRoundTrip(Parses(Sync("  multicast_ttl: 1\n", "[\"ff15::1\"]")));
  ExpectRoundTrip(
      Parses(Svc("sync:\n  peers: [192.0.2.12]\n  key_file: '/etc/xlb/sync: #1.key'\n")));
}

TEST(ParseSyncErrors, Section) {
  EXPECT_TRUE(Fails(Sync("  zz: 1\n"), "xlb.yaml:9: sync.zz: unknown key (expected one of: "
                                       "peers, port, key_file, source"));
  EXPECT_TRUE(Fails(Svc("sync: [1]\n"), "xlb.yaml:6: sync: is a list (expected a map"));
  EXPECT_TRUE(Fails(Svc("sync:\n"), "xlb.yaml:6: sync.peers: missing (required"));
  EXPECT_TRUE(Fails(Svc("sync:\n  peers: [192.0.2.12]\n"),
                    "xlb.yaml:7: sync.key_file: missing (required: an absolute path"));
  EXPECT_TRUE(Fails(Sync("  port: 8850\n  port: 8851\n"),
                    "xlb.yaml:10: sync.port: given twice (first at line 9)"));
}

TEST(ParseSyncErrors, Peers) {
  EXPECT_TRUE(Fails(Sync("", "[]"), "xlb.yaml:7: sync.peers: is empty (expected a list of the "
                                    "other directors' addresses"));
  EXPECT_TRUE(Fails(Sync("", "192.0.2.12"), "xlb.yaml:7: sync.peers: is a single value"));
  EXPECT_TRUE(Fails(Sync("", "[192.0.2.300]"),
                    "xlb.yaml:7: sync.peers[0]: '192.0.2.300' is not an IP address"));
  EXPECT_TRUE(Fails(Sync("", "[192.0.2.12, 192.0.2.12]"),
                    "xlb.yaml:7: sync.peers[1]: 192.0.2.12 is listed twice (first at line 7)"));
  EXPECT_TRUE(Fails(Sync("", "[0.0.0.0]"), "xlb.yaml:7: sync.peers[0]: 0.0.0.0 is unspecified"));
  EXPECT_TRUE(Fails(Sync("", "[127.0.0.1]"),
                    "xlb.yaml:7: sync.peers[0]: 127.0.0.1 is a loopback address"));
  EXPECT_TRUE(Fails(Sync("", "[\"fe80::1\"]"), "xlb.yaml:7: sync.peers[0]: fe80::1 is link-local"));
  // One family.
  EXPECT_TRUE(Fails(Sync("", "[192.0.2.12, \"2001:db8::13\"]"),
                    "xlb.yaml:7: sync.peers[1]: 2001:db8::13 is IPv6 and 192.0.2.12 is IPv4 "
                    "(expected peers of one family)"));
  // Unicast addresses, or one multicast group: never both, never two groups.
  const std::string only_group =
      " is a multicast group, which must be the only peer (expected either unicast addresses "
      "or one group)";
  EXPECT_TRUE(Fails(Sync("", "[192.0.2.12, 233.252.0.1]"),
                    "xlb.yaml:7: sync.peers[1]: 233.252.0.1" + only_group));
  EXPECT_TRUE(Fails(Sync("", "[233.252.0.1, 192.0.2.12]"),
                    "xlb.yaml:7: sync.peers[1]: 233.252.0.1" + only_group));
  EXPECT_TRUE(Fails(Sync("", "[233.252.0.1, 233.252.0.2]"),
                    "xlb.yaml:7: sync.peers[1]: 233.252.0.2" + only_group));
  EXPECT_TRUE(Fails(Sync("", "[\"ff15::1\", \"2001:db8::12\"]"),
                    "xlb.yaml:7: sync.peers[1]: ff15::1" + only_group));
  // The TTL only with a group.
  EXPECT_TRUE(Fails(Sync("  multicast_ttl: 2\n"),
                    "xlb.yaml:9: sync.multicast_ttl: is unused: the peers are unicast"));
  EXPECT_TRUE(Fails(Sync("  multicast_ttl: 0\n", "[233.252.0.1]"),
                    "xlb.yaml:9: sync.multicast_ttl: 0 is out of range (expected 1..255)"));
  EXPECT_TRUE(Fails(Sync("  multicast_ttl: 256\n", "[233.252.0.1]"),
                    "xlb.yaml:9: sync.multicast_ttl: 256 is out of range (expected 1..255)"));
}

TEST(ParseSyncErrors, KeyFileAndSource) {
  const std::string peers = "[192.0.2.12, 192.0.2.13]";
  auto with_key = [&](const std::string& key) {
    return Svc() + "sync:\n  peers: " + peers + "\n  key_file: " + key + "\n";
  };
  EXPECT_TRUE(Fails(with_key("sync.key"), "xlb.yaml:8: sync.key_file: 'sync.key' is not an "
                                          "absolute path, e.g. /etc/xlb/sync.key"));
  EXPECT_TRUE(Fails(with_key("\"\""), "xlb.yaml:8: sync.key_file: '' is not an absolute path"));
  EXPECT_TRUE(Fails(with_key(""), "xlb.yaml:8: sync.key_file: has no value (expected an "
                                  "absolute path"));
  // ParseConfig does not read the key (xlbd does, at start and on reload).
  EXPECT_TRUE(ParseConfig(with_key("/nonexistent/sync.key"), "xlb.yaml").ok());
  EXPECT_TRUE(Fails(Sync("  source: 192.0.2.13\n"),
                    "xlb.yaml:9: sync.source: 192.0.2.13 is also a peer (line 7)"));
  EXPECT_TRUE(Fails(Sync("  source: \"2001:db8::11\"\n"),
                    "xlb.yaml:9: sync.source: 2001:db8::11 is IPv6 and the peers are IPv4"));
  EXPECT_TRUE(
      Fails(Sync("  source: 0.0.0.0\n"), "xlb.yaml:9: sync.source: 0.0.0.0 is unspecified"));
  EXPECT_TRUE(Fails(Sync("  source: 233.252.0.1\n"),
                    "xlb.yaml:9: sync.source: 233.252.0.1 is multicast or reserved"));
}

TEST(ParseSyncErrors, NumbersAndDurations) {
  EXPECT_TRUE(Fails(Sync("  port: 0\n"), "xlb.yaml:9: sync.port: 0 is out of range (expected "
                                         "1..65535)"));
  EXPECT_TRUE(Fails(Sync("  port: 65536\n"), "xlb.yaml:9: sync.port: 65536 is out of range"));
  EXPECT_TRUE(Fails(Sync("  node_id: 0\n"), "xlb.yaml:9: sync.node_id: 0 is out of range "
                                            "(expected 1..4294967295)"));
  EXPECT_TRUE(Fails(Sync("  node_id: 4294967296\n"), "xlb.yaml:9: sync.node_id: 4294967296 is "
                                                     "out of range"));
  EXPECT_TRUE(Fails(Sync("  mtu: 575\n"), "xlb.yaml:9: sync.mtu: 575 is out of range (expected "
                                          "576..9216)"));
  EXPECT_TRUE(Fails(Sync("  mtu: 9217\n"), "xlb.yaml:9: sync.mtu: 9217 is out of range"));
  EXPECT_TRUE(Fails(Sync("  refresh: 4s\n"), "xlb.yaml:9: sync.refresh: 4s is out of range "
                                             "(expected 5s..1h)"));
  EXPECT_TRUE(Fails(Sync("  refresh: 61m\n"), "xlb.yaml:9: sync.refresh: 61m is out of range"));
  EXPECT_TRUE(Fails(Sync("  refresh: 1x\n"), "xlb.yaml:9: sync.refresh: '1x' is not a duration"));
  EXPECT_TRUE(Fails(Sync("  resync_timeout: 999ms\n"),
                    "xlb.yaml:9: sync.resync_timeout: 999ms is out of range (expected 1s..5m)"));
  EXPECT_TRUE(Fails(Sync("  resync_timeout: 301s\n"),
                    "xlb.yaml:9: sync.resync_timeout: 301s is out of range"));
  EXPECT_TRUE(Fails(Sync("  ring_bytes: 32768\n"), "xlb.yaml:9: sync.ring_bytes: 32768 is out "
                                                   "of range (expected 65536..268435456)"));
  EXPECT_TRUE(Fails(Sync("  ring_bytes: 536870912\n"),
                    "xlb.yaml:9: sync.ring_bytes: 536870912 is out of range"));
  EXPECT_TRUE(Fails(Sync("  ring_bytes: 3000000\n"),
                    "xlb.yaml:9: sync.ring_bytes: 3000000 is not a power of two"));
}

TEST(ServiceWarnings, SyncRefreshAgainstTheShortestIdleTimeout) {
  // Defaults: tcp 900s, refresh 60s.
  EXPECT_TRUE(ServiceWarnings(Parses(Sync())).empty());
  EXPECT_TRUE(ServiceWarnings(Parses(Sync("  refresh: 5m\n"))).empty());  // 3 x 5m = 900s
  const std::vector<std::string> w = ServiceWarnings(Parses(Sync("  refresh: 301s\n")));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(w[0], "service web (198.51.100.20:80/tcp): timeouts.tcp 15m is "
                                     "less than three times sync.refresh (301s)"))
      << w[0];
  // A UDP service's own timeout counts (udp 300s: at most 100s).
  const std::string udp = "    protocol: udp\n    timeouts: {tcp: 1h, udp: 90s}\n";
  EXPECT_TRUE(ServiceWarnings(Parses(Svc(udp))).empty());  // no sync: no warning
  std::string with_sync = Svc(udp) + "sync:\n  peers: [192.0.2.12]\n  key_file: /k\n";
  const std::vector<std::string> u = ServiceWarnings(Parses(with_sync));
  ASSERT_EQ(u.size(), 1u);
  EXPECT_TRUE(absl::StrContains(u[0], "timeouts.udp 90s is less than three times sync.refresh "
                                      "(1m)"))
      << u[0];
  EXPECT_TRUE(ServiceWarnings(Parses(with_sync + "  refresh: 30s\n")).empty());
}

TEST(CheckSyncReload, RingBytesNeedARestart) {
  const Config c = Parses(Sync());
  EXPECT_TRUE(CheckSyncReload(SyncConfig::kDefaultRingBytes, c.sync).ok());
  // The section removed.
  EXPECT_TRUE(CheckSyncReload(SyncConfig::kDefaultRingBytes, std::nullopt).ok());
  EXPECT_TRUE(CheckSyncReload(1u << 20, std::nullopt).ok());
  // Everything else may change.
  const Config changed =
      Parses(Sync("  port: 9000\n  mtu: 9000\n  refresh: 10s\n", "[233.252.0.1]"));
  EXPECT_TRUE(CheckSyncReload(SyncConfig::kDefaultRingBytes, changed.sync).ok());
  const absl::Status st = CheckSyncReload(1u << 20, c.sync);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_TRUE(absl::StartsWith(st.message(), "sync.ring_bytes: 4194304 instead of 1048576: "))
      << st;
  EXPECT_TRUE(absl::StrContains(st.message(), "restart xlbd")) << st;
  // Adding the section with another size than the ring loaded without it.
  EXPECT_EQ(CheckSyncReload(SyncConfig::kDefaultRingBytes,
                            Parses(Sync("  ring_bytes: 65536\n")).sync)
                .code(),
            absl::StatusCode::kFailedPrecondition);
}

// A neighbour's password file is read when a file is loaded (start, reload,
// --check-config), and only if nobody but its owner, the user xlbd runs as,
// could have written it and nobody else can read it.
class BgpPasswordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/xlb-bgp-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    pass_ = dir_ + "/bgp.pass";
    Password("s3cret!\n", 0600);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void Password(const std::string& text, mode_t mode) {
    std::ofstream(pass_, std::ios::trunc) << text;
    chmod(pass_.c_str(), mode);
  }
  // The neighbour's password_file at line 10.
  absl::StatusOr<Config> Load() {
    std::ofstream(dir_ + "/xlb.yaml")
        << Bgp("", "    - {address: 198.51.100.254, asn: 64512, password_file: " + pass_ + "}\n");
    return LoadConfigFile(dir_ + "/xlb.yaml");
  }
  std::string Error() {
    absl::StatusOr<Config> c = Load();
    return c.ok() ? "" : std::string(c.status().message());
  }

  std::string dir_, pass_;
};

TEST_F(BgpPasswordTest, ContentsAreLoadedAndNeverWrittenBack) {
  absl::StatusOr<Config> c = Load();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->bgp->neighbors[0].password, "s3cret!");  // without the newline
  const std::string yaml = ToYaml(*c);
  EXPECT_FALSE(absl::StrContains(yaml, "s3cret")) << yaml;
  EXPECT_TRUE(absl::StrContains(yaml, "password_file: " + pass_)) << yaml;
  // A new password makes another config (a reload sees the change).
  Password("0th3r", 0640);
  absl::StatusOr<Config> again = Load();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->bgp->neighbors[0].password, "0th3r");
  EXPECT_FALSE(*again == *c);
  Password(std::string(80, 'x'), 0600);
  EXPECT_EQ(Error(), "");
}

TEST_F(BgpPasswordTest, BadFilesAreRefusedWithFileLineAndField) {
  const std::string at = dir_ + "/xlb.yaml:10: bgp.neighbors[0].password_file: " + pass_ + ": ";
  Password("s3cret\n", 0644);
  EXPECT_EQ(Error(), at + "can be read or changed by others (mode 0644; expected 0600 or 0640): "
                          "it holds a secret (a BGP password, one line of 1..80 characters)");
  Password("s3cret\n", 0620);
  EXPECT_TRUE(absl::StartsWith(Error(), at + "is writable by its group (mode 0620")) << Error();
  Password("", 0600);
  EXPECT_TRUE(absl::StartsWith(Error(), at + "is empty")) << Error();
  Password("\n", 0600);
  EXPECT_TRUE(absl::StartsWith(Error(), at + "is empty")) << Error();
  Password(std::string(81, 'x'), 0600);
  EXPECT_TRUE(absl::StartsWith(Error(), at + "holds 81 characters (expected 1..80")) << Error();
  for (const char* bad : {"two words", "two\nlines\n", "tab\t", "crlf\r\n"}) {
    Password(bad, 0600);
    EXPECT_TRUE(absl::StartsWith(Error(), at + "holds a space, a control character or a second "
                                               "line")) << bad << ": " << Error();
  }
  ASSERT_EQ(chown(pass_.c_str(), 65534, 65534), 0);
  Password("s3cret", 0600);
  EXPECT_TRUE(absl::StartsWith(Error(), at + "is owned by uid 65534, not")) << Error();
  std::filesystem::remove(pass_);
  EXPECT_EQ(Error(), dir_ + "/xlb.yaml:10: bgp.neighbors[0].password_file: " + pass_ +
                         ": cannot open: No such file or directory");
  std::filesystem::create_directory(pass_);
  EXPECT_TRUE(absl::StartsWith(Error(), at + "is not a regular file")) << Error();
}

// ---- the example files ----

std::string SourceRoot() {
  const char* root = std::getenv("XLB_SOURCE_ROOT");
  return root ? root : "";
}

TEST(ExampleFiles, Parse) {
  const std::string root = SourceRoot();
  ASSERT_FALSE(root.empty()) << "set XLB_SOURCE_ROOT to the repository root (the directory "
                                "holding config/xlb.yaml)";

  std::ifstream in(root + "/config/xlb.yaml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  absl::StatusOr<Config> xlb = ParseConfig(text, "xlb.yaml");
  ASSERT_TRUE(xlb.ok()) << xlb.status();
  ASSERT_EQ(xlb->services.size(), 1u);
  EXPECT_EQ(xlb->services[0].service.options.forward, Forward::kDr);
  EXPECT_EQ(xlb->services[0].health.type, HealthType::kTcp);
  // It shows the defaults: only the netmask written out differs from them.
  model::ServiceOptions defaults;
  defaults.persistence_netmask = 32;
  EXPECT_EQ(xlb->services[0].service.options, defaults);
  EXPECT_EQ(xlb->api, ApiConfig{});
  ASSERT_EQ(xlb->vrrp.size(), 1u);
  const VrrpInstance& v = xlb->vrrp[0];
  EXPECT_EQ(v.vrid, 51);
  EXPECT_EQ(v.version, 3);
  EXPECT_EQ(v.addresses, (std::vector<std::pair<IpAddress, int>>{{Ip("198.51.100.20"), 24}}));
  EXPECT_EQ(v.track, (std::vector<VrrpTrack>{{VrrpTrack::kService, "web", 50},
                                             {VrrpTrack::kInterface, "eth0", 0}}));
  ExpectRoundTrip(*xlb);
  // The commented v2 PASS instance parses too, once uncommented.
  const size_t legacy = text.find("  # - name: vip-legacy");
  ASSERT_NE(legacy, std::string::npos);
  std::string uncommented = text.substr(0, legacy);
  for (size_t at = legacy; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(at, end - at);
    if (absl::StartsWith(line, "  # ")) line = "  " + line.substr(4);
    absl::StrAppend(&uncommented, line, "\n");
    at = end + 1;
  }
  Config both = Parses(uncommented);
  ASSERT_EQ(both.vrrp.size(), 2u);
  EXPECT_EQ(both.vrrp[1].version, 2);
  EXPECT_EQ(both.vrrp[1].auth_secret, "pass1234");
  // So do the commented bgp: and sync: sections (each up to a blank line).
  auto uncommented_section = [&](const std::string& name) {
    const size_t at = text.find("\n# " + name + ":\n");
    EXPECT_NE(at, std::string::npos) << name;
    if (at == std::string::npos) return std::string();
    size_t end = text.find("\n\n", at + 1);
    end = end == std::string::npos ? text.size() : end + 1;
    std::string out = text.substr(0, at + 1);
    for (absl::string_view line : absl::StrSplit(text.substr(at + 1, end - at - 1), '\n'))
      absl::StrAppend(&out, absl::StartsWith(line, "# ") ? line.substr(2) : line, "\n");
    return out + text.substr(end);
  };
  Config bgp = Parses(uncommented_section("bgp"));
  ASSERT_TRUE(bgp.bgp.has_value());
  EXPECT_EQ(bgp.bgp->asn, 64513u);
  EXPECT_TRUE(bgp.bgp->announce.empty());
  ASSERT_EQ(bgp.bgp->neighbors.size(), 2u);
  EXPECT_TRUE(bgp.bgp->neighbors[0].bfd);
  EXPECT_EQ(bgp.bgp->neighbors[1].hold_time, Duration(30000));
  ExpectRoundTrip(bgp);
  Config sync = Parses(uncommented_section("sync"));
  ASSERT_TRUE(sync.sync.has_value());
  EXPECT_EQ(sync.sync->peers, (std::vector<IpAddress>{Ip("192.0.2.12"), Ip("192.0.2.13")}));
  EXPECT_EQ(sync.sync->source, Ip("192.0.2.11"));
  EXPECT_EQ(sync.sync->node_id, 11u);
  ExpectRoundTrip(sync);

  absl::StatusOr<Config> patroni = LoadConfigFile(root + "/config/patroni.yaml");
  ASSERT_TRUE(patroni.ok()) << patroni.status();
  ASSERT_EQ(patroni->services.size(), 2u);
  const char* paths[] = {"/primary", "/replica"};
  for (size_t i = 0; i < 2; ++i) {
    const ServiceConfig& s = patroni->services[i];
    SCOPED_TRACE(s.name);
    EXPECT_EQ(s.service.key.vip, Ip("198.51.100.10"));
    EXPECT_EQ(s.service.key.port, 5002 + i);
    EXPECT_EQ(s.service.options.forward, Forward::kNat);
    EXPECT_EQ(s.reals, (std::vector<RealSpec>{{Ip("203.0.113.11"), 5432, 1},
                                              {Ip("203.0.113.12"), 5432, 1},
                                              {Ip("203.0.113.13"), 5432, 1}}));
    EXPECT_EQ(s.health.type, HealthType::kHttp);
    EXPECT_EQ(s.health.port, 8008);
    EXPECT_EQ(s.health.path, paths[i]);
    EXPECT_EQ(s.health.expect, std::vector<int>{200});
  }
  EXPECT_EQ(patroni->services[0].name, "pg-primary");
  EXPECT_EQ(patroni->services[1].name, "pg-replicas");
  // HAProxy's on-marked-down shutdown-sessions for the leader only.
  EXPECT_EQ(patroni->services[0].on_down, OnDown::kShutdown);
  EXPECT_EQ(patroni->services[1].on_down, OnDown::kKeep);
  ASSERT_EQ(patroni->vrrp.size(), 1u);
  EXPECT_EQ(patroni->vrrp[0].addresses,
            (std::vector<std::pair<IpAddress, int>>{{Ip("198.51.100.10"), 24}}));
  EXPECT_EQ(patroni->vrrp[0].track.at(0), (VrrpTrack{VrrpTrack::kService, "pg-primary", 50}));
  ExpectRoundTrip(*patroni);
}

// config/three-directors: the same services everywhere, and every VIP has
// exactly one master (the highest priority) and distinct priorities.
TEST(ExampleFiles, ThreeDirectors) {
  const std::string root = SourceRoot();
  ASSERT_FALSE(root.empty()) << "set XLB_SOURCE_ROOT to the repository root";
  std::vector<Config> directors;
  for (int i = 1; i <= 3; ++i) {
    absl::StatusOr<Config> c =
        LoadConfigFile(absl::StrCat(root, "/config/three-directors/d", i, ".yaml"));
    ASSERT_TRUE(c.ok()) << c.status();
    directors.push_back(*c);
  }
  for (const Config& c : directors) {
    EXPECT_EQ(c.services, directors[0].services);
    ASSERT_EQ(c.vrrp.size(), 6u);
  }
  std::vector<int> masters(3, 0);
  for (size_t v = 0; v < 6; ++v) {
    std::set<int> priorities;
    int best = 0, master = -1;
    for (int d = 0; d < 3; ++d) {
      const VrrpInstance& inst = directors[d].vrrp[v];
      EXPECT_EQ(inst.vrid, directors[0].vrrp[v].vrid);
      EXPECT_EQ(inst.addresses, directors[0].vrrp[v].addresses);
      priorities.insert(inst.priority);
      if (inst.priority > best) best = inst.priority, master = d;
    }
    EXPECT_EQ(priorities.size(), 3u) << "VIP " << v;
    ++masters[master];
  }
  EXPECT_EQ(masters, (std::vector<int>{2, 2, 2}));
}

}  // namespace
}  // namespace xlb::config
