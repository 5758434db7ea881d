// xlbd's core: owns the XDP program and its maps, the running configuration
// (the file plus runtime changes), the health monitor, the VRRP speaker and
// the API servers, all on one event loop but VRRP, which has a thread of its
// own (vrrp/speaker_thread.h). Every change, whatever its source (a reload,
// an API call, a health transition), ends in Reconcile(), the one writer of
// the maps.
#ifndef XLB_CONTROLPLANE_XLBD_DAEMON_H_
#define XLB_CONTROLPLANE_XLBD_DAEMON_H_

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "asio.hpp"
#include "controlplane/api/http.h"
#include "controlplane/api/operations.h"
#include "controlplane/config/model.h"
#include "controlplane/health/monitor.h"
#include "controlplane/vrrp/speaker_thread.h"
#include "controlplane/xlbd/bgp_announcements.h"
#include "controlplane/xlbd/recent.h"
#include "controlplane/xlbd/session_cutter.h"
#include "controlplane/xlbd/sync_link.h"
#include "dataplane/nexthop.h"
#include "dataplane/program.h"
#include "dataplane/service_table.h"

namespace xlb::xlbd {

// Above every normal thread, below the kernel's threaded interrupts (50).
constexpr int kDefaultVrrpRealtimePriority = 10;

struct Options {
  std::string config_path;
  std::string pin_dir = dataplane::kDefaultPinDir;
  bool detach_on_exit = false;  // else the program and maps stay: traffic goes on
  int vrrp_realtime_priority = kDefaultVrrpRealtimePriority;  // SCHED_RR of the VRRP thread; 0: none
  bool vrrp_realtime_required = false;  // else a priority that cannot be set is a warning
  uint32_t flood_rate = XLB_FLOOD_RATE_DEFAULT;  // dataplane::ProgramOptions
  // kNative or kGeneric (--xdp-mode): never generic unless asked for.
  dataplane::AttachMode xdp_mode = dataplane::AttachMode::kNative;
  // The main loop must turn within this, else every VRRP instance resigns
  // until it turns again (vrrp/speaker_thread.h, WatchMainLoop).
  std::chrono::milliseconds main_loop_timeout{3000};
  // systemd's watchdog (sd_watchdog_enabled): WATCHDOG=1 from the main loop
  // at half this interval; 0: none.
  std::chrono::microseconds systemd_watchdog{0};
  // Where xlbd keeps what must outlive it (a BGP drain: bgp-drained).
  std::string state_dir = "/var/lib/xlb";
};

class Daemon : public api::Operations {
 public:
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(asio::io_context& io, const Options& options);
  ~Daemon() override;

  // SIGHUP: read the file again. A bad file is logged and changes nothing;
  // an unchanged file keeps the runtime changes; a changed one replaces them.
  void Reload();
  // SIGTERM: resign every VRRP instance (priority 0, so backups take over
  // at once) and release its VIPs; stop serving; detach only with
  // --detach-on-exit.
  void Shutdown();
  // An exception escaped xlbd's VRRP thread (which then resigned): the
  // daemon stopped as on SIGTERM, and main exits non-zero.
  bool failed() const { return failed_; }

  // api::Operations
  api::StatusView Status() override;
  std::vector<api::ServiceView> Services() override;
  absl::Status AddService(const config::ServiceConfig& service) override;
  uid_t ScriptUid() override;
  absl::Status DeleteService(const model::ServiceKey& key) override;
  absl::Status AddReal(const model::ServiceKey& key, const model::RealSpec& real) override;
  absl::Status SetReal(const api::RealChange& change) override;
  absl::Status DeleteReal(const model::ServiceKey& key, const model::IpAddress& address,
                          uint16_t port) override;
  absl::StatusOr<model::FlushedEntries> FlushReal(const model::ServiceKey& key,
                                                  const model::IpAddress& address,
                                                  uint16_t port) override;
  absl::StatusOr<model::ConnectionListing> Connections(
      const std::optional<model::ServiceKey>& service, size_t limit) override;
  absl::StatusOr<std::string> SaveConfig(const std::string& path) override;
  absl::Status ReloadConfig() override;
  std::vector<vrrp::InstanceStatus> Vrrp() override;
  absl::StatusOr<api::TraceInfo> Trace(const api::TraceRequest& request) override;
  api::BgpView Bgp() override;
  absl::Status SetBgpDrained(bool drained) override;
  api::SyncView Sync() override;

 private:
  Daemon(asio::io_context& io, const Options& options);
  absl::Status Init();
  // What Init checks before it changes anything (see Init).
  absl::Status Preflight(const config::Config& config);
  // Makes `config` the running one: interfaces, services, health.
  absl::Status Adopt(const config::Config& config);
  absl::Status SyncInterfaces(const std::vector<std::string>& wanted);
  // Gives the monitor every real's check, and the address its probes leave
  // from (vrrp::ChooseSource; asked of the kernel again on every call).
  void SyncHealth();
  // SyncHealth every few seconds: the director's addresses and routes change
  // under it.
  void ScheduleHealthSourceRefresh();
  // Writes the desired state into the maps, service by service. Returns the
  // first error among the `watched` services (none: every error is only
  // recorded); every error is recorded on its service and retried.
  absl::Status Reconcile(const std::set<model::ServiceKey>* watched = nullptr);
  void RecordServiceErrors(const std::map<model::ServiceKey, absl::Status>& failed);
  static std::set<model::ServiceKey> ChangedServices(
      const std::vector<config::ServiceConfig>& before,
      const std::vector<config::ServiceConfig>& after);
  // Runs `change` on a copy of the running services; keeps it only if the
  // data plane accepted it.
  absl::Status Mutate(const std::string& what,
                      const std::function<absl::Status(std::vector<config::ServiceConfig>&)>& change);
  // Has the kernel keep every real's next hop resolved (managed neighbour
  // entries, dataplane/nexthop.h), and with a NAT service the routers toward
  // the clients too (NatGateways); when either changed, or `always`.
  void KeepNexthopsResolved(bool always);
  // With a NAT service: the gateways of the main table's routes out of the
  // attached interfaces. A NAT reply leaves from a VIP, which is local on a
  // VRRP master: without its router's MAC the kernel drops it as a martian
  // and never resolves that router, so it must be resolved beforehand.
  std::set<netlink::Gateway> NatGateways();
  // Starting: waits, bounded (kNexthopWaitAtStart), until every real's next
  // hop is resolved and written, so that no connection meets a director that
  // cannot forward it yet; logs the reals still unresolved.
  void AwaitNexthops();
  // Marks the reals the adopted maps record as down (XLB_REAL_F_HEALTH_DOWN)
  // in down_, so health monitoring starts them down: a restart does not send
  // traffic to a dead real for fall x interval.
  void RecallHealth();
  void OnHealthChange(const std::string& id, bool up, const std::string& detail);
  // on_down: shutdown: has the cutter remove the flows of the real with
  // health id `id` (down) from the flow tables, when its service says so.
  void CutSessions(const std::string& id);
  // Every service's verdicts for BGP (the reals' health and weights), and
  // UpdateBgp gives them to it.
  std::vector<bgp::ServiceVerdicts> BgpVerdicts() const;
  void UpdateBgp();
  // The sync: section of a start or reload: checked (the key) before
  // anything changes, applied (the link started, replaced or stopped) after.
  absl::Status CheckSync(const config::Config& config);
  void AdoptSync(const config::Config& config);
  // The resync at start ended (or there is none): VRRP instances start, BGP
  // may announce (docs/sync-design.md "Gates").
  void OpenSyncGate();
  // The data plane's id and generation of `real` of `key`.
  absl::StatusOr<dataplane::RealState> RealInMaps(const model::ServiceKey& key,
                                                  const model::RealSpec& real) const;

  // Next refresh of the reals' next hops: in `retry` while some are unknown
  // (doubling up to the normal period), else after the normal period.
  void ScheduleNexthopRefresh(std::chrono::milliseconds retry);

  asio::io_context& io_;
  Options options_;
  std::chrono::system_clock::time_point started_ = std::chrono::system_clock::now();
  config::Config file_config_;                    // as last read from the file
  config::TablesConfig loaded_tables_;            // the sizes the program was loaded with
  uint32_t loaded_sync_ring_bytes_ = 0;           // the ring flow_events's, likewise
  std::vector<config::ServiceConfig> services_;   // running: file + runtime changes
  bool runtime_changes_ = false;
  std::vector<std::string> interfaces_;           // attached
  dataplane::NetlinkNexthopResolver resolver_;
  std::unique_ptr<dataplane::Program> program_;
  std::unique_ptr<dataplane::ServiceTable> table_;
  std::unique_ptr<SessionCutter> cutter_;         // on_down: shutdown; before program_ goes
  std::unique_ptr<health::Monitor> monitor_;
  std::map<std::string, bool> down_;              // health id -> down
  // The table walks behind Services() and Status(), at most one a second.
  Recent<std::unordered_map<uint32_t, model::ConnectionCounts>> connection_counts_{
      std::chrono::seconds(1)};
  Recent<std::vector<model::TableStats>> table_stats_{std::chrono::seconds(1)};
  std::set<model::IpAddress> kept_resolved_;  // reals given to KeepResolved last
  std::set<netlink::Gateway> kept_gateways_;      // and the routers toward NAT clients
  bool keep_resolved_failed_ = false;             // its last call failed (logged once)
  bool gateways_failed_ = false;                  // the last route dump failed (logged once)
  std::vector<config::VrrpInstance> vrrp_;        // running: whose addresses are VIPs too
  // Health id -> the source its probes leave from (nullopt: none of the
  // director's own was found), as last logged.
  std::map<std::string, std::optional<model::IpAddress>> health_sources_;
  std::unique_ptr<vrrp::SpeakerThread> speaker_;  // VRRP, on a thread of its own
  std::unique_ptr<BgpAnnouncements> bgp_;         // the bgp: section; bgpd driven off the loop
  std::unique_ptr<SyncLink> sync_;                // the sync: section; none without one
  // False from a start with a sync: section until its resync ended: VRRP
  // is not configured and BGP judges no VIP meanwhile.
  bool sync_gate_open_ = false;
  std::unique_ptr<api::HttpServer> api_, metrics_;
  asio::steady_timer refresh_timer_;
  asio::steady_timer source_timer_;
  // Services the last reconcile could not apply, tried again with backoff.
  struct ServiceError {
    std::string message;
    std::chrono::system_clock::time_point since;
    uint64_t attempts = 0;
  };
  std::map<model::ServiceKey, ServiceError> service_errors_;
  asio::steady_timer retry_timer_;
  std::chrono::milliseconds retry_backoff_;  // kRetryFirst, doubling
  bool retry_armed_ = false;
  // The main loop's pulse, read by the VRRP thread's watchdog.
  void Heartbeat();
  std::atomic<int64_t> last_turn_ns_{0};
  std::chrono::steady_clock::time_point last_notified_{};
  asio::steady_timer heartbeat_timer_;
  bool failed_ = false;
  bool ready_ = false;  // the configuration is applied: the API answers
};

// The health id of a real of a service: "VIP:PORT/proto ADDR:PORT".
std::string HealthId(const model::ServiceKey& key, const model::RealSpec& real);

}  // namespace xlb::xlbd

#endif  // XLB_CONTROLPLANE_XLBD_DAEMON_H_
