// The periodic health checks of every real, on the daemon's one event loop.
// Each real has its own check (interval, timeout, rise, fall) and state; the
// daemon hears about transitions through one callback, and reads the rest
// (for the API) with Snapshot().
//
// Scheduling: a real's first probe starts after a fixed fraction of its
// interval derived from its id, so hundreds of reals configured at once do
// not all fire together; each next probe starts `interval` after the
// previous one STARTED (a slow real is not probed less often), but never
// while its previous probe is still running (then it starts as soon as that
// one ends).
//
// Not thread-safe: call it on the loop's thread, like everything else in
// xlbd.
#ifndef XLB_CONTROLPLANE_HEALTH_MONITOR_H_
#define XLB_CONTROLPLANE_HEALTH_MONITOR_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "asio/io_context.hpp"
#include "controlplane/config/model.h"
#include "controlplane/health/checker.h"
#include "controlplane/health/state.h"
#include "controlplane/health/tunnel_probe.h"
#include "model/address.h"

namespace xlb::health {

struct RealHealth {
  std::string id;
  config::HealthType type = config::HealthType::kNone;
  model::IpAddress address;
  uint16_t port = 0;        // the port probed (the check's, or the real's)
  bool up = true;
  bool last_ok = true;      // the latest probe's result (true before any)
  std::string last_detail;  // and why; "" before the first probe
  std::chrono::system_clock::time_point since;  // when `up` last changed (or monitoring began)
  uint64_t checks = 0;      // probes completed
  uint64_t passes = 0;      // of them, the ones that passed
  // Probes that failed for a reason on this host (out of descriptors, ...):
  // not counted in `checks` and not towards rise/fall; the state is kept.
  uint64_t local_errors = 0;
  std::string last_local_error;  // the latest one's detail ("" before any)
};

class Monitor {
 public:
  // Called once per transition, from the event loop, with the reason (the
  // detail of the probe that decided it).
  using TransitionCallback =
      std::function<void(const std::string& id, bool up, const std::string& detail)>;

  Monitor(asio::io_context& io, TransitionCallback on_change);
  // Called, from the event loop, when a real's first probe completes and
  // when its first passing one does (checks or passes reaching 1), which no
  // transition marks: what BGP waits for before it announces a VIP.
  void OnFirstResults(std::function<void(const std::string& id)> callback) {
    on_first_results_ = std::move(callback);
  }
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // Starts checking one real, e.g. id "pg-rw 203.0.113.11:5432". Setting it
  // again with the same check, address and port changes nothing (its state
  // and schedule go on); with anything different, its checking restarts
  // (streak reset), keeping whether it is up so a config reload does not
  // flap it. A new real starts up, or down with initially_up false (a real
  // the maps record as down when xlbd restarted): then it takes `rise`
  // passing checks, not one, to come up. With type kNone nothing runs and
  // the real is up; if that brings a down real up, on_change is called from
  // within Set. `source`: where tcp and http probes leave from unless the
  // check says (ProbeSource); a change of it alone applies from the next
  // probe on and restarts nothing. `tunnel` (with check.through_tunnel): the
  // through-tunnel probe (tunnel_probe.h) runs beside each check, from the
  // same source, and a check passes only if both do; a change of it restarts
  // the real's checking as a new check does.
  void Set(const std::string& id, const config::HealthCheck& check,
           const model::IpAddress& address, uint16_t real_port,
           const ProbeSource& source = std::nullopt, bool initially_up = true,
           const std::optional<TunnelTarget>& tunnel = std::nullopt);
  // Stops checking it: no callback about it after this returns, even from a
  // probe still in flight.
  void Remove(const std::string& id);

  // nullopt for an unknown id.
  std::optional<bool> Up(const std::string& id) const;
  std::vector<std::string> Ids() const;
  // Sorted by id.
  std::vector<RealHealth> Snapshot() const;

 private:
  struct Real;

  void Schedule(const std::shared_ptr<Real>& real);
  void ArmTimer(const std::shared_ptr<Real>& real);
  void OnTimer(const std::shared_ptr<Real>& real);
  void StartProbe(const std::shared_ptr<Real>& real);
  void OnResult(const std::shared_ptr<Real>& real, ProbeResult result);
  void CountTunnel(const std::shared_ptr<Real>& real, int delta);

  asio::io_context& io_;
  TransitionCallback on_change_;
  std::function<void(const std::string& id)> on_first_results_;
  // shared_ptr so that timers and probes hold only weak_ptrs: dropping a
  // Real from here (Remove, Set with a new check, ~Monitor) is enough to
  // silence everything still pending for it.
  std::map<std::string, std::shared_ptr<Real>> reals_;
  // While some real has a tunnel probe: the packet socket stays open only
  // then (its filter runs on every packet the host receives).
  std::shared_ptr<TunnelProber> tunnel_prober_;
  size_t tunnel_reals_ = 0;
};

}  // namespace xlb::health

#endif  // XLB_CONTROLPLANE_HEALTH_MONITOR_H_
