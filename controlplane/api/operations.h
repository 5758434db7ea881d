// What the API can ask of the daemon. The HTTP routes (routes.h) translate
// requests into these calls and their results into JSON; the daemon
// implements them on its event loop.
#ifndef XLB_CONTROLPLANE_API_OPERATIONS_H_
#define XLB_CONTROLPLANE_API_OPERATIONS_H_

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/api/contract.h"
#include "controlplane/api/http.h"
#include "controlplane/bgp/status.h"
#include "controlplane/config/model.h"
#include "controlplane/vrrp/instance.h"
#include "model/address.h"
#include "model/service.h"
#include "model/traffic.h"

namespace xlb::api {

struct RealView {
  model::RealSpec spec;       // as configured (weight: the configured one)
  uint16_t port = 0;              // effective port
  uint32_t effective_weight = 0;  // what the data plane uses (0 while down)
  RealHealth health = RealHealth::kNone;
  std::string health_detail;      // the last check's result
  std::chrono::system_clock::time_point since{};  // of the current health state
  uint64_t checks = 0;
  uint64_t local_errors = 0;      // checks not made for a reason on this host
  model::TrafficCounters counters;
  model::ConnectionCounts connections;  // in the connection table now
};

struct ServiceView {
  config::ServiceConfig config;
  std::vector<RealView> reals;
  model::TrafficCounters counters;
  std::string error;  // what could not be applied to the data plane ("" = all was)
};

struct StatusView {
  std::string version;
  std::string config_file;
  bool runtime_changes = false;  // the running state differs from the file
  std::vector<std::string> interfaces;
  // How the program is attached to each of them, in their order:
  // "libxdp-dispatcher", "libxdp-dispatcher-generic", "direct-native" or
  // "direct-generic" (dataplane::Attachment::Name).
  std::vector<std::string> attach;
  std::chrono::system_clock::time_point started{};
  size_t services = 0, reals = 0, reals_down = 0;
  std::vector<model::ReasonCounter> counters;  // by reason, in the program's order
  uint64_t conn_table_entries = 0;
  std::vector<model::TableStats> tables;  // connections, nat_replies, persistence, ...
  // Of the API socket and the metrics listener (session caps, accept errors).
  HttpServerStats api_server, metrics_server;
};

// One VIP of the bgp: section (announce: or every service's VIP).
struct BgpVipView {
  model::IpAddress vip;
  bool healthy = false;    // one of its services has a real that is up, weight > 0
  bool wanted = false;     // healthy and neither drained nor stopping: to be announced
  bool announced = false;  // FRR holds its `network` line (as of the last read)
};

// The bgp: section at work: what xlbd wants of FRR's bgpd, what bgpd holds,
// its sessions (bgp/status.h) and the driver's counters (bgp/announcer.h).
struct BgpView {
  bool configured = false;  // the running config has a bgp: section
  uint32_t local_as = 0;
  std::string router_id;
  std::string frr_pathspace;  // "" = the system's FRR
  bool drained = false;       // xlbctl bgp drain (kept across restarts)
  std::vector<BgpVipView> vips;
  std::vector<bgp::Session> sessions;
  std::chrono::system_clock::time_point sessions_time{};  // when bgpd was asked; epoch: never
  std::string sessions_error;                             // "" if that worked
  std::chrono::system_clock::time_point last_reconcile{};  // epoch: none yet
  bool last_reconcile_ok = false;
  std::string last_error;  // of the last failed vtysh call (passwords hidden)
  uint64_t announcements = 0, withdrawals = 0;  // per prefix, since xlbd started
  uint64_t frr_errors = 0, reconciles = 0;
};

// One peer of the sync: section, as this director's receiver knows it.
struct SyncPeerView {
  model::IpAddress address;
  bool up = false;          // heard within the last 3 s
  uint32_t sender_id = 0;   // its sync.node_id (0: not heard yet)
  uint64_t epoch = 0;       // its current epoch (its start, ns)
  uint64_t highest_sequence = 0;  // the highest datagram number heard in that epoch
  uint64_t datagrams_received = 0, records_received = 0;
  uint64_t gaps = 0;     // numbers that left the replay window unseen: datagrams lost
  uint64_t missing = 0;  // numbers within the window not seen yet (lost or on their way)
  double lag_p50_ms = 0, lag_p99_ms = 0;  // a record's age at sending plus our apply delay
  std::optional<double> last_heard_seconds_ago;  // nullopt: never heard
  std::map<std::string, uint64_t> dropped;       // of this peer's, by reason
};

// The sync: section at work (docs/sync-design.md): what this director sends
// of its flows, what it takes of its peers' and how that went.
struct SyncView {
  bool enabled = false;  // the running config has a sync: section
  uint32_t node_id = 0;
  uint64_t epoch = 0;    // this xlbd's start (ns), on every datagram it sends
  uint16_t port = 0;
  std::string mode;      // "batched" or "per-flow" (the data path's flow events)
  uint64_t last_sequence_sent = 0, datagrams_sent = 0, records_sent = 0;
  // The refresh walk: passes finished, REFRESH records sent (in records_sent
  // too), and how long the last whole pass took.
  uint64_t refresh_passes = 0, refresh_records = 0;
  double last_refresh_seconds = 0;
  // Records or datagrams dropped, by reason: ring_full, stale_id, send_failed,
  // unknown_peer, auth_failed, malformed, replayed, wrong_sender,
  // rate_limited, unknown_service, unknown_real, hold_full.
  std::map<std::string, uint64_t> dropped;
  // Received flows applied, by the outcome in conn_table and nat_replies
  // (xlb_sync_apply_result: inserted, refreshed, replaced, kept_own,
  // kept_newer, stale, no_room).
  std::map<std::string, uint64_t> applied;
  std::map<std::string, uint64_t> applied_reply;
  uint64_t held = 0;  // records held now for a service or real not known yet
  // Resync done, failed or timed out, or none needed: VRRP and BGP may take
  // traffic.
  bool ready = false;
  std::string resync;         // "none", "running", "done", "timed out", "failed"
  std::string resync_detail;  // e.g. "from 192.0.2.12: 10000 flows in 0.8 s"
  std::vector<SyncPeerView> peers;  // in the config's order
};

// Changes a real: its weight, or drained (weight 0).
struct RealChange {
  model::ServiceKey service;
  model::IpAddress address;
  uint16_t port = 0;  // 0: the service's port
  std::optional<uint32_t> weight;
};

class Operations {
 public:
  virtual ~Operations() = default;
  virtual StatusView Status() = 0;
  virtual std::vector<ServiceView> Services() = 0;
  virtual absl::Status AddService(const config::ServiceConfig& service) = 0;
  // Who runs exec checks: a service added at runtime is checked for them
  // as the config file's are (config::ParseServiceEntry).
  virtual uid_t ScriptUid() = 0;
  virtual absl::Status DeleteService(const model::ServiceKey& key) = 0;
  virtual absl::Status AddReal(const model::ServiceKey& key, const model::RealSpec& real) = 0;
  virtual absl::Status SetReal(const RealChange& change) = 0;
  virtual absl::Status DeleteReal(const model::ServiceKey& key, const model::IpAddress& address,
                                  uint16_t port) = 0;
  // Removes the real's entries from the flow tables now (its clients' next
  // packets are placed anew) and says how many there were.
  virtual absl::StatusOr<model::FlushedEntries> FlushReal(const model::ServiceKey& key,
                                                          const model::IpAddress& address,
                                                          uint16_t port) = 0;
  // Up to `limit` connection-table entries (of `service` when given), and
  // how many there are in all.
  virtual absl::StatusOr<model::ConnectionListing> Connections(
      const std::optional<model::ServiceKey>& service, size_t limit) = 0;
  // Writes the running state as a config file; "" = the daemon's own file.
  // Returns the path written.
  virtual absl::StatusOr<std::string> SaveConfig(const std::string& path) = 0;
  // Reads the config file again, dropping runtime changes.
  virtual absl::Status ReloadConfig() = 0;
  // Every VRRP instance, in the config's order.
  virtual std::vector<vrrp::InstanceStatus> Vrrp() = 0;
  // What the loaded program does with a frame of the flow, changing nothing
  // (the request is checked: a port, one address family).
  virtual absl::StatusOr<TraceInfo> Trace(const TraceRequest& request) = 0;
  // The bgp: section's state (configured = false without one).
  virtual BgpView Bgp() = 0;
  // Drain: every VIP withdrawn, sessions kept, packets still arriving
  // forwarded; undrain announces them again. Kept across xlbd restarts.
  // FailedPrecondition without a bgp: section.
  virtual absl::Status SetBgpDrained(bool drained) = 0;
  // The sync: section's state (enabled = false without one).
  virtual SyncView Sync() = 0;
};

}  // namespace xlb::api

#endif  // XLB_CONTROLPLANE_API_OPERATIONS_H_
