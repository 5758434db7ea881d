// What an xlbd configuration says, once read and validated: an immutable
// value the rest of the daemon works from. The YAML file (config/*.yaml at
// the top of the repo shows examples) is read by config/parse.h.
#ifndef XLB_CONTROLPLANE_CONFIG_MODEL_H_
#define XLB_CONTROLPLANE_CONFIG_MODEL_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "model/address.h"
#include "model/capacity.h"
#include "model/names.h"
#include "model/service.h"

namespace xlb::config {

using Duration = std::chrono::milliseconds;

enum class HealthType { kNone, kTcp, kHttp, kHttps, kExec };


// Whether the check connects to the real from the director (and so leaves
// from a source address): tcp, http, https.
inline bool ConnectsToReal(HealthType t) {
  return t == HealthType::kTcp || t == HealthType::kHttp || t == HealthType::kHttps;
}

// GET over HTTP or HTTPS: path, expect and body apply to both.
inline bool IsHttp(HealthType t) { return t == HealthType::kHttp || t == HealthType::kHttps; }

// https: how the real's certificate is checked, and the one xlb shows.
struct TlsCheck {
  std::string ca_file;      // PEM CA certificates; "" = the system's trust store
  std::string server_name;  // SNI and the name verified; "" = the real's address (an IP SAN)
  std::string client_cert;  // PEM certificate (then its chain) shown when asked; "" = none
  std::string client_key;   // client_cert's PEM private key (both or neither)
  bool verify = true;       // false: any certificate is accepted (warned at load)
  // The files' contents as read when the file was loaded (LoadConfigFile;
  // ParseConfig leaves them empty). Probes use these, so a file changed or
  // removed later changes nothing until a reload reads it again; being part
  // of ==, a reload that reads new contents restarts the check.
  std::string ca_pem, cert_pem, key_pem;

  bool operator==(const TlsCheck&) const = default;
};

struct HealthCheck {
  HealthType type = HealthType::kNone;
  uint16_t port = 0;              // 0: the real's port
  std::string path = "/";         // http(s): the path to GET
  std::vector<int> expect = {200};  // http(s): status codes that mean "up"
  std::string body;               // http(s): a substring the body must hold ("" = any)
  TlsCheck tls;                   // https
  std::string command;            // exec: run with /bin/sh -c; exit 0 = up
  // tcp, http(s): the address probes leave from (one of the VIP's family);
  // unset: the egress interface's own address toward the real, never a VIP.
  std::optional<model::IpAddress> source;
  Duration interval = Duration(1000);
  Duration timeout = Duration(500);
  int rise = 2;                   // successes in a row that bring a real up
  int fall = 2;                   // failures in a row that take it down
  // forward: tunnel only: a second probe, an ICMP echo to the VIP sent
  // encapsulated as the service's packets are (health/tunnel_probe.h), runs
  // beside the check; the real is up only while both pass.
  bool through_tunnel = false;

  bool operator==(const HealthCheck&) const = default;
};

// What happens to a real's established flows when its health check fails.
// kKeep: they go on (it only takes no new ones), as IPVS and HAProxy do by
// default. kShutdown: they are removed from the flow tables, so each
// client's next packet reaches a healthy real, which resets it, and the
// client reconnects at once (HAProxy's on-marked-down shutdown-sessions,
// as Patroni's HAProxy example uses for the primary).
enum class OnDown { kKeep, kShutdown };

struct ServiceConfig {
  std::string name;                         // unique; used by track and in logs
  model::Service service;               // key and data-plane options
  std::vector<model::RealSpec> reals;   // configured weights
  HealthCheck health;
  OnDown on_down = OnDown::kKeep;

  bool operator==(const ServiceConfig&) const = default;
};

inline constexpr int kMaxApiSessions = 4096;

struct ApiConfig {
  std::string socket = "/run/xlb/xlbd.sock";  // HTTP/JSON API, mode 0600
  std::string group;                          // if set: this group may use it too (0660)
  std::string metrics = "127.0.0.1:9470";     // Prometheus text; "" = off
  // Connections served at once on the socket / the metrics listener; at the
  // cap the oldest one still sending its request is dropped for the new one,
  // so an idle flood by a local user cannot lock out real clients nor eat
  // the descriptors the health checks need.
  int max_sessions = 64;                      // 1..kMaxApiSessions
  int metrics_max_sessions = 64;              // 1..kMaxApiSessions

  bool operator==(const ApiConfig&) const = default;
};

// What lowers a VRRP instance's priority (or puts it in fault).
struct VrrpTrack {
  enum Kind { kService, kInterface, kExec };
  Kind kind = kService;
  std::string target;         // service name, interface name or command
  int weight = 0;             // priority drop while down; 0 = fault while down
  Duration interval{1000};    // exec: time between runs
  int rise = 1;               // exec: successes in a row that count as up
  int fall = 1;               // exec: failures in a row that count as down

  bool operator==(const VrrpTrack&) const = default;
};


// Gratuitous ARPs / unsolicited neighbour advertisements when becoming
// master: `count` of each address back to back, then `repeat` more bursts
// `interval` apart (keepalived's garp_master_repeat 5 and garp_master_delay
// 5s: switches that missed the first burst, or flushed their tables, learn
// the new master from the second).
struct VrrpGarp {
  int count = 5;                  // 1..100 per burst
  int repeat = 1;                 // 0..100 more bursts
  Duration interval{5000};        // between bursts, 10ms..1h

  bool operator==(const VrrpGarp&) const = default;
};

// One VRRP instance (keepalived's vrrp_instance): RFC 5798 (v3) or 3768 (v2).
struct VrrpInstance {
  std::string name;                   // unique; given to notify and in logs
  std::string interface;              // where adverts are sent and the addresses live
  uint8_t vrid = 0;                   // 1..255, unique per interface
  uint8_t priority = 100;             // 1..255 (255: the address owner)
  int version = 3;                    // 3 or 2
  Duration advert_interval{1000};     // v3: centiseconds; v2: whole seconds
  bool preempt = true;
  Duration preempt_delay{0};
  bool accept = false;                // accept mode: a non-owner master takes their traffic
  std::string auth_secret;            // v2 PASS; "" = none
  std::optional<model::IpAddress> unicast_source;
  std::vector<model::IpAddress> unicast_peers;  // empty: multicast
  std::vector<std::pair<model::IpAddress, int>> addresses;  // address, prefix length
  std::vector<VrrpTrack> track;
  std::string notify;                 // called with: instance name, new state, priority
  // keepalived's notify scripts, for the scripts people already have:
  // command lines (run with /bin/sh -c), "" = none. notify_STATE runs on
  // entering that state (stop: the instance stops) with only its own
  // arguments; notify_keepalived runs on every change with INSTANCE, the
  // name, the state (MASTER, BACKUP, FAULT, STOP) and the priority appended.
  std::string notify_master;
  std::string notify_backup;
  std::string notify_fault;
  std::string notify_stop;
  std::string notify_keepalived;
  VrrpGarp garp;

  bool operator==(const VrrpInstance&) const = default;
};

// Entries of the data plane's flow tables (LRU hashes). Read when xlbd
// starts: maps pinned with other sizes are refused (the operator removes the
// pins, which resets the tables), and a change on reload waits for a restart.
struct TablesConfig {
  static constexpr uint32_t kMin = 1024;
  static constexpr uint32_t kMax = 1u << 26;  // 64 Mi entries: ~8 GiB of connections
  uint32_t connections = model::kConnTableDefault;
  uint32_t nat_replies = model::kConnTableDefault;  // one per NAT flow
  uint32_t persistence = model::kPersistTableDefault;

  bool operator==(const TablesConfig&) const = default;
};

// Exec health checks, exec tracks and notify scripts run as this user, with
// a small fixed environment (controlplane/config/scripts.h).
struct ScriptsConfig {
  std::string user;  // "" = xlb_script if that user exists, else root

  bool operator==(const ScriptsConfig&) const = default;
};

// BGP (issue #14): the VIPs announced to routers through FRR's bgpd, so
// that N directors share them by ECMP. xlbd never opens a BGP session
// itself. Timers are FRR's, in whole seconds; the defaults are FRR's
// datacenter profile (keepalive 3s, hold 9s) and bfdd's (300ms x 3).
struct BgpBfd {
  Duration interval{300};  // transmit and receive, 10ms..60s
  int multiplier = 3;      // missed packets that mean down, 2..255

  bool operator==(const BgpBfd&) const = default;
};

struct BgpNeighbor {
  model::IpAddress address;     // IPv4 or IPv6, not a VIP, unique
  uint32_t asn = 0;             // its AS (== bgp.asn: iBGP)
  std::string password_file;    // TCP MD5 password (RFC 2385) in a file; "" = none
  // password_file's contents as read when the file was loaded (LoadConfigFile;
  // ParseConfig leaves it empty); never written back by ToYaml. Part of ==,
  // so a reload that reads a new password counts as a change.
  std::string password;
  bool bfd = false;             // a BFD session (bgp.bfd) drops the routes fast
  Duration hold_time{9000};     // 0s, or 3s..65535s; default: bgp.hold_time
  Duration keepalive{3000};     // at most hold_time / 3; default: bgp.keepalive

  bool operator==(const BgpNeighbor&) const = default;
};

struct BgpConfig {
  static constexpr uint32_t kAsTrans = 23456;  // RFC 6793: a stand-in, never a real AS
  uint32_t asn = 0;                 // local AS, required
  model::IpAddress router_id;       // IPv4 dotted quad, required (see xlb.yaml(5))
  std::vector<model::IpAddress> announce;  // VIPs to announce; empty = every service's VIP
  bool next_hop_self = true;
  Duration hold_time{9000};         // the neighbours' default
  Duration keepalive{3000};         // the neighbours' default
  BgpBfd bfd;                       // the profile of neighbours with bfd: true
  std::vector<BgpNeighbor> neighbors;  // at least one
  // Which FRR: vtysh -N NAME (FRR's pathspace, /var/run/frr/NAME); "" = the
  // system's one.
  std::string frr_pathspace;
  // On SIGTERM: after the VIPs are withdrawn, how long xlbd keeps forwarding
  // before it stops, for the routers to update their forwarding (0s..1m).
  Duration withdraw_delay{1000};

  bool operator==(const BgpConfig&) const = default;
};

// Flow-state sync (issue #16, docs/sync-design.md): this director's flow
// table sent to its peers over UDP, theirs applied here, so that a flow
// survives moving to another director. No sync: section: nothing is sent.
struct SyncConfig {
  // Bounds of mtu: IPv4's minimum datagram, and a jumbo frame.
  static constexpr uint32_t kMinMtu = 576;
  static constexpr uint32_t kMaxMtu = 9216;
  // Bytes of the data path's ring flow_events (pinned; the kernel wants a
  // power of two that is a multiple of the page). The default is
  // XLB_SYNC_RING_DEFAULT (bpf/xlb_abi.h), which config/ cannot include.
  static constexpr uint32_t kDefaultRingBytes = 4u << 20;
  static constexpr uint32_t kMinRingBytes = 64u << 10;
  static constexpr uint32_t kMaxRingBytes = 256u << 20;
  static constexpr uint16_t kDefaultPort = 8849;  // not IPVS's 8848

  // The other directors: unicast addresses, or exactly one multicast group;
  // all of one family, at least one, none twice.
  std::vector<model::IpAddress> peers;
  uint16_t port = kDefaultPort;                 // UDP, ours and the peers'
  std::string key_file;                         // absolute path; read by xlbd, not here
  std::optional<model::IpAddress> source;       // unset: chosen at run time
  uint32_t node_id = 0;                         // 0: derived at run time
  uint32_t mtu = 1500;                          // of a datagram, kMinMtu..kMaxMtu
  Duration refresh{60'000};                     // walker period, 5s..1h
  Duration resync_timeout{10'000};              // 1s..5m
  uint32_t ring_bytes = kDefaultRingBytes;      // a restart applies a change
  int multicast_ttl = 1;                        // 1..255; a multicast group only

  bool operator==(const SyncConfig&) const = default;
};

struct Config {
  std::vector<std::string> interfaces;  // where the XDP program runs
  ApiConfig api;
  TablesConfig tables;
  ScriptsConfig scripts;
  std::vector<ServiceConfig> services;
  std::vector<VrrpInstance> vrrp;
  std::optional<BgpConfig> bgp;  // no bgp: section: none
  std::optional<SyncConfig> sync;  // no sync: section: no flow-state sync

  bool operator==(const Config&) const = default;
};

}  // namespace xlb::config

// The names of the config's enums (model/names.h): the config file, the
// API's JSON and xlbctl's output spell them from these tables.
namespace xlb::model {

template <>
struct EnumNames<config::HealthType> {
  static constexpr absl::string_view kWhat = "health check type";
  static constexpr std::array<std::pair<config::HealthType, absl::string_view>, 5> kValues{
      {{config::HealthType::kNone, "none"},
       {config::HealthType::kTcp, "tcp"},
       {config::HealthType::kHttp, "http"},
       {config::HealthType::kHttps, "https"},
       {config::HealthType::kExec, "exec"}}};
};

template <>
struct EnumNames<config::OnDown> {
  static constexpr absl::string_view kWhat = "on_down";
  static constexpr std::array<std::pair<config::OnDown, absl::string_view>, 2> kValues{
      {{config::OnDown::kKeep, "keep"}, {config::OnDown::kShutdown, "shutdown"}}};
};

template <>
struct EnumNames<config::VrrpTrack::Kind> {
  static constexpr absl::string_view kWhat = "track kind";
  static constexpr std::array<std::pair<config::VrrpTrack::Kind, absl::string_view>, 3> kValues{
      {{config::VrrpTrack::kService, "service"},
       {config::VrrpTrack::kInterface, "interface"},
       {config::VrrpTrack::kExec, "exec"}}};
};

}  // namespace xlb::model

namespace xlb::config {

// For the callers that want a C string (the tables' names are literals).
inline const char* HealthTypeName(HealthType t) { return model::NameOf(t).data(); }
inline const char* VrrpTrackKindName(VrrpTrack::Kind k) { return model::NameOf(k).data(); }

}  // namespace xlb::config

#endif  // XLB_CONTROLPLANE_CONFIG_MODEL_H_
