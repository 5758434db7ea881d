#include "controlplane/health/monitor.h"

#include <utility>

#include "asio/steady_timer.hpp"
#include "controlplane/health/checker.h"
#include "glog/logging.h"

namespace xlb::health {
namespace {

// FNV-1a: stable across builds and runs, unlike std::hash, so a real keeps
// its slot in the interval when the daemon restarts.
uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::chrono::microseconds Spread(const std::string& id, Duration interval) {
  const auto span = std::chrono::duration_cast<std::chrono::microseconds>(interval).count();
  if (span <= 0) return std::chrono::microseconds(0);
  return std::chrono::microseconds(Fnv1a(id) % static_cast<uint64_t>(span));
}

// The check's and the tunnel probe's results as one: a failure of either
// decides; else a probe not made for a local reason makes the pair say
// nothing; else ok. The detail holds both.
ProbeResult BothPass(const ProbeResult& check, const ProbeResult& tunnel) {
  const bool failed = (!check.ok && !check.local_error) || (!tunnel.ok && !tunnel.local_error);
  ProbeResult r;
  r.local_error = !failed && (check.local_error || tunnel.local_error);
  r.ok = !failed && !r.local_error;
  r.detail = check.detail + "; " + tunnel.detail;
  return r;
}

}  // namespace

struct Monitor::Real {
  Real(asio::io_context& io, std::string id, const config::HealthCheck& check,
       const model::IpAddress& address, uint16_t real_port, bool up)
      : id(std::move(id)),
        check(check),
        address(address),
        real_port(real_port),
        state(check.rise, check.fall, up),
        timer(io) {}

  uint16_t port() const { return check.port != 0 ? check.port : real_port; }

  const std::string id;
  const config::HealthCheck check;
  const model::IpAddress address;
  const uint16_t real_port;
  ProbeSource source;
  std::optional<TunnelTarget> tunnel;  // with check.through_tunnel
  HealthState state;
  bool last_ok = true;
  std::string last_detail;
  std::chrono::system_clock::time_point since = std::chrono::system_clock::now();
  uint64_t checks = 0;
  uint64_t passes = 0;
  uint64_t local_errors = 0;
  std::string last_local_error;
  std::chrono::steady_clock::time_point last_local_log{};  // rate of its warnings
  asio::steady_timer timer;  // the next probe's start
  bool probing = false;      // a probe is in flight
  bool due = false;          // the next start came while probing
};

Monitor::Monitor(asio::io_context& io, TransitionCallback on_change)
    : io_(io), on_change_(std::move(on_change)) {}

// Destroying the Reals cancels their timers; their handlers and those of
// probes in flight find the weak_ptr expired.
Monitor::~Monitor() = default;

void Monitor::Set(const std::string& id, const config::HealthCheck& check,
                  const model::IpAddress& address, uint16_t real_port,
                  const ProbeSource& source, bool initially_up,
                  const std::optional<TunnelTarget>& tunnel) {
  const std::optional<TunnelTarget> wanted_tunnel =
      check.through_tunnel && check.type != config::HealthType::kNone ? tunnel : std::nullopt;
  std::shared_ptr<Real> old;
  if (auto it = reals_.find(id); it != reals_.end()) {
    Real& r = *it->second;
    if (r.check == check && r.address == address && r.real_port == real_port &&
        r.tunnel == wanted_tunnel) {
      r.source = source;
      return;
    }
    old = it->second;
  }
  const bool none = check.type == config::HealthType::kNone;
  if (check.type == config::HealthType::kHttps && !check.tls.verify)
    LOG(WARNING) << "real " << id << ": https check with verify: false accepts any certificate";
  auto real = std::make_shared<Real>(io_, id, check, address, real_port,
                                     none || (old == nullptr ? initially_up : old->state.up()));
  real->source = source;
  real->tunnel = wanted_tunnel;
  bool came_up = false;
  if (old != nullptr) {
    real->checks = old->checks;
    real->passes = old->passes;
    real->last_ok = old->last_ok;
    real->last_detail = old->last_detail;
    real->since = old->since;
    real->local_errors = old->local_errors;
    real->last_local_error = old->last_local_error;
    if (!old->state.up() && real->state.up()) {
      came_up = true;
      real->since = std::chrono::system_clock::now();
    }
  }
  if (none) {
    real->last_ok = true;
    real->last_detail = "no health check";
  } else if (old == nullptr && !initially_up) {
    real->last_ok = false;
    real->last_detail = "down when xlbd started (recorded in the maps)";
  }
  // Replacing the old Real drops the only strong reference to it: its timer
  // is cancelled and its probe in flight, if any, will be ignored.
  CountTunnel(real, +1);  // first: a prober kept through the swap stays open
  if (old != nullptr) CountTunnel(old, -1);
  reals_[id] = real;
  if (!none) Schedule(real);
  if (came_up) on_change_(id, true, "no health check");
}

void Monitor::Remove(const std::string& id) {
  auto it = reals_.find(id);
  if (it == reals_.end()) return;
  CountTunnel(it->second, -1);
  reals_.erase(it);
}

void Monitor::CountTunnel(const std::shared_ptr<Real>& real, int delta) {
  if (!real->tunnel) return;
  tunnel_reals_ += delta;
  if (tunnel_reals_ == 0) tunnel_prober_.reset();  // closes the packet socket
}

std::optional<bool> Monitor::Up(const std::string& id) const {
  auto it = reals_.find(id);
  if (it == reals_.end()) return std::nullopt;
  return it->second->state.up();
}

std::vector<std::string> Monitor::Ids() const {
  std::vector<std::string> ids;
  ids.reserve(reals_.size());
  for (const auto& [id, real] : reals_) ids.push_back(id);
  return ids;
}

std::vector<RealHealth> Monitor::Snapshot() const {
  std::vector<RealHealth> out;
  out.reserve(reals_.size());
  for (const auto& [id, r] : reals_) {
    out.push_back(RealHealth{r->id, r->check.type, r->address, r->port(), r->state.up(),
                             r->last_ok, r->last_detail, r->since, r->checks, r->passes,
                             r->local_errors, r->last_local_error});
  }
  return out;
}

void Monitor::Schedule(const std::shared_ptr<Real>& real) {
  real->timer.expires_after(Spread(real->id, real->check.interval));
  ArmTimer(real);
}

void Monitor::ArmTimer(const std::shared_ptr<Real>& real) {
  real->timer.async_wait([this, weak = std::weak_ptr<Real>(real)](const asio::error_code& ec) {
    std::shared_ptr<Real> r = weak.lock();
    if (ec || r == nullptr) return;
    OnTimer(r);
  });
}

void Monitor::OnTimer(const std::shared_ptr<Real>& real) {
  if (real->probing) {
    real->due = true;  // OnResult starts it
    return;
  }
  StartProbe(real);
}

void Monitor::StartProbe(const std::shared_ptr<Real>& real) {
  real->probing = true;
  real->due = false;
  // Measured from this start, not from the end of the probe.
  real->timer.expires_after(real->check.interval);
  ArmTimer(real);
  auto done = [this, weak = std::weak_ptr<Real>(real)](ProbeResult result) {
    std::shared_ptr<Real> r = weak.lock();
    if (r == nullptr) return;  // removed or restarted meanwhile
    OnResult(r, std::move(result));
  };
  if (!real->tunnel) {
    Probe(io_, real->check, real->address, real->real_port, std::move(done), real->source);
    return;
  }
  // Both at once; the later one to finish reports the pair.
  struct Pair {
    std::optional<ProbeResult> check, tunnel;
  };
  auto pair = std::make_shared<Pair>();
  auto one = [pair, done](bool is_tunnel, ProbeResult result) {
    (is_tunnel ? pair->tunnel : pair->check) = std::move(result);
    if (pair->check && pair->tunnel) done(BothPass(*pair->check, *pair->tunnel));
  };
  if (tunnel_prober_ == nullptr) tunnel_prober_ = TunnelProber::Create(io_);
  Probe(io_, real->check, real->address, real->real_port,
        [one](ProbeResult r) { one(false, std::move(r)); }, real->source);
  tunnel_prober_->Probe(*real->tunnel, real->address, real->check.source ? real->check.source
                                                                         : real->source,
                        real->check.timeout, [one](ProbeResult r) { one(true, std::move(r)); });
}

void Monitor::OnResult(const std::shared_ptr<Real>& real, ProbeResult result) {
  real->probing = false;
  if (result.local_error) {
    // Says nothing about the real: its state and streak stay as they are.
    ++real->local_errors;
    real->last_local_error = std::move(result.detail);
    const auto now = std::chrono::steady_clock::now();
    if (real->local_errors == 1 || now - real->last_local_log >= std::chrono::seconds(10)) {
      real->last_local_log = now;  // at most every 10 s per real
      LOG(WARNING) << "health " << real->id << ": " << real->last_local_error << " ("
                   << real->local_errors << " local errors of this real so far)";
    }
    if (real->due) StartProbe(real);
    return;
  }
  ++real->checks;
  if (result.ok) ++real->passes;
  const bool first = real->checks == 1 || (result.ok && real->passes == 1);
  real->last_ok = result.ok;
  real->last_detail = std::move(result.detail);
  const bool changed = real->state.Record(result.ok);
  if (changed) real->since = std::chrono::system_clock::now();
  if (real->due) StartProbe(real);
  // Last: the callbacks may Set, Remove, or read a Snapshot; `real` stays
  // alive through them, and nothing here touches the map afterwards.
  if (changed) on_change_(real->id, real->state.up(), real->last_detail);
  if (first && on_first_results_) on_first_results_(real->id);
}

}  // namespace xlb::health
