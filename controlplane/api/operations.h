// What the API can ask of the daemon. The HTTP routes (routes.h) translate
// requests into these calls and their results into JSON; the daemon
// implements them on its event loop.
#ifndef XLB_CONTROLPLANE_API_OPERATIONS_H_
#define XLB_CONTROLPLANE_API_OPERATIONS_H_

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/api/contract.h"
#include "controlplane/api/http.h"
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
};

}  // namespace xlb::api

#endif  // XLB_CONTROLPLANE_API_OPERATIONS_H_
