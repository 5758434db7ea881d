#include "controlplane/xlbd/daemon.h"

#include <fcntl.h>
#include <systemd/sd-daemon.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controlplane/api/routes.h"
#include "controlplane/api/status_page.h"
#include "controlplane/bgp/wanted.h"
#include "controlplane/config/emit.h"
#include "controlplane/config/parse.h"
#include "controlplane/config/save.h"
#include "controlplane/config/scripts.h"
#include "controlplane/health/spawn.h"
#include "controlplane/reconcile/plan.h"
#include "controlplane/vrrp/addresses.h"
#include "controlplane/vrrp/vip_source.h"
#include "dataplane/conntrack.h"
#include "dataplane/stats.h"
#include "dataplane/test_run.h"
#include "dataplane/trace.h"
#include "glog/logging.h"
#include "model/names.h"
#include "model/version.h"
#include "netlink/links.h"
#include "netlink/routes.h"

namespace xlb::xlbd {
namespace {

// How often next hops are asked of the kernel again (a real's MAC can change).
constexpr auto kNexthopRefresh = std::chrono::seconds(5);
// While some are unknown (the kernel is resolving them): soon, then backing
// off to the normal period. Until then their packets need bpf_fib_lookup,
// which fails where forwarding is off, and a director holding the VIP would
// answer them itself.
constexpr auto kNexthopRetryFirst = std::chrono::milliseconds(100);
// How long a starting xlbd waits for the kernel to resolve the reals' next
// hops before it answers the API and VRRP may take VIPs: a real that does
// not answer ARP/ND must not keep the others from serving.
constexpr auto kNexthopWaitAtStart = std::chrono::seconds(3);
// A service that could not be applied is tried again after this, doubling
// up to kRetryMax.
constexpr auto kRetryFirst = std::chrono::milliseconds(1000);
constexpr auto kRetryMax = std::chrono::milliseconds(30000);
// How often the health checks' source addresses are chosen again.
constexpr auto kHealthSourceRefresh = std::chrono::seconds(5);

using model::EffectivePort;
using model::ServiceKey;

config::ServiceConfig* Find(std::vector<config::ServiceConfig>& services, const ServiceKey& key) {
  for (auto& s : services)
    if (s.service.key == key) return &s;
  return nullptr;
}

// A name a config file accepts: "tcp-192.0.2.10-80", "udp-2001.db8..10-53".
std::string DefaultName(const ServiceKey& key) {
  std::string addr = key.vip.ToString();
  for (char& c : addr)
    if (c == ':') c = '.';
  return absl::StrCat(model::NameOf(key.protocol), "-", addr, "-",
                      key.port ? std::to_string(key.port) : std::string("all"));
}

absl::Status NoService(const ServiceKey& key) {
  return absl::NotFoundError(absl::StrCat("no service ", key.ToString()));
}

// The real of `s` at address:port (port 0: the service's).
std::vector<model::RealSpec>::iterator FindReal(config::ServiceConfig& s,
                                                    const model::IpAddress& address,
                                                    uint16_t port) {
  const ServiceKey& key = s.service.key;
  uint16_t want = port ? port : key.port;
  return std::find_if(s.reals.begin(), s.reals.end(), [&](const model::RealSpec& r) {
    return r.address == address && EffectivePort(key, r) == want;
  });
}

api::HttpResponse Starting() {
  api::HttpResponse r;
  r.status = 503;
  r.body = "{\"error\": \"xlbd is starting\"}\n";
  return r;
}


}  // namespace

std::string HealthId(const ServiceKey& key, const model::RealSpec& real) {
  return absl::StrCat(key.ToString(), " ",
                      model::FormatEndpoint(real.address, EffectivePort(key, real)));
}

Daemon::Daemon(asio::io_context& io, const Options& options)
    : io_(io),
      options_(options),
      refresh_timer_(io),
      source_timer_(io),
      retry_timer_(io),
      retry_backoff_(kRetryFirst),
      heartbeat_timer_(io) {}

Daemon::~Daemon() = default;

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(asio::io_context& io, const Options& options) {
  std::unique_ptr<Daemon> d(new Daemon(io, options));
  if (auto st = d->Init(); !st.ok()) return st;
  return d;
}

absl::Status Daemon::Init() {
  auto cfg = config::LoadConfigFile(options_.config_path);
  if (!cfg.ok()) return cfg.status();
  dataplane::ProgramOptions po;
  po.pin_dir = options_.pin_dir;
  po.flood_rate = options_.flood_rate;
  po.conn_table_size = cfg->tables.connections;
  po.nat_reply_table_size = cfg->tables.nat_replies;
  po.persist_table_size = cfg->tables.persistence;
  static_assert(config::SyncConfig::kDefaultRingBytes == XLB_SYNC_RING_DEFAULT);
  po.sync_ring_bytes = cfg->sync ? cfg->sync->ring_bytes : config::SyncConfig::kDefaultRingBytes;
  // Flow events cost the data path ~5-10 % per new flow: only with sync.
  po.sync_events = cfg->sync.has_value();
  auto program = dataplane::Program::Load(po);
  if (!program.ok()) return program.status();
  loaded_tables_ = cfg->tables;
  loaded_sync_ring_bytes_ = po.sync_ring_bytes;
  program_ = std::move(*program);
  // The maps are the record of what the data plane does now: adopting them
  // keeps every flow of a daemon that was killed.
  auto table = dataplane::ServiceTable::Adopt(&program_->maps(), &resolver_);
  if (!table.ok()) return table.status();
  table_ = std::move(*table);
  cutter_ = std::make_unique<SessionCutter>(program_->maps());
  LOG(INFO) << "adopted " << table_->List().size() << " services from " << options_.pin_dir;
  // Everything that can stop this start is checked before anything changes:
  // a start that fails leaves the adopted program and maps forwarding as
  // they were, instead of half a configuration (or none).
  if (auto st = Preflight(*cfg); !st.ok())
    return absl::Status(st.code(), absl::StrCat(st.message(), "; nothing was changed: the data "
                                                "plane forwards as before (",
                                                table_->List().size(), " services adopted from ",
                                                options_.pin_dir, ")"));
  RecallHealth();
  monitor_ = std::make_unique<health::Monitor>(
      io_, [this](const std::string& id, bool up, const std::string& detail) {
        OnHealthChange(id, up, detail);
      });
  // A VIP is announced once a real of it has passed a check: no transition says so.
  monitor_->OnFirstResults([this](const std::string&) { UpdateBgp(); });
  bgp_ = std::make_unique<BgpAnnouncements>(options_.state_dir + "/bgp-drained");
  speaker_ = std::make_unique<vrrp::SpeakerThread>();
  speaker_->OnFatal([this] {
    asio::post(io_, [this] {
      failed_ = true;
      Shutdown();
    });
  });
  Heartbeat();
  speaker_->WatchMainLoop(
      [this] {
        return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(last_turn_ns_.load()));
      },
      options_.main_loop_timeout);
  if (options_.vrrp_realtime_priority > 0) {
    if (auto st = speaker_->SetRealtimePriority(options_.vrrp_realtime_priority); !st.ok()) {
      if (options_.vrrp_realtime_required) return st;
      LOG(WARNING) << st.message()
                   << "; VRRP runs with the normal scheduler, and its adverts may be late on a "
                      "loaded director";
    }
  }

  // Listening before the configuration is applied, so that a socket that
  // cannot be had stops the start before it changes anything; requests are
  // answered (503 "starting") only once it is applied.
  const auto& api = cfg->api;
  auto handler = [this](const api::HttpRequest& r) {
    return ready_ ? api::Route(*this, r) : Starting();
  };
  auto server = api::HttpServer::ListenUnix(io_, api.socket, api.group.empty() ? 0600 : 0660,
                                            api.group, api.max_sessions, handler);
  if (!server.ok()) return server.status();
  api_ = std::move(*server);
  if (!api.metrics.empty()) {
    // /metrics, and the status page (/, /status.json).
    auto serve_metrics = [this](const api::HttpRequest& r) {
      return ready_ ? api::ServeMetricsListener(*this, r) : Starting();
    };
    auto metrics =
        api::HttpServer::ListenTcp(io_, api.metrics, api.metrics_max_sessions, serve_metrics);
    if (!metrics.ok()) return metrics.status();
    metrics_ = std::move(*metrics);
  }
  if (auto st = Adopt(*cfg); !st.ok()) return st;
  // A real recorded down may still have flows: made before on_down was
  // shutdown, or left by an xlbd that died during their flush.
  for (const auto& [id, down] : down_)
    if (down) CutSessions(id);
  ScheduleNexthopRefresh(kNexthopRetryFirst);
  ScheduleHealthSourceRefresh();
  ready_ = true;
  LOG(INFO) << "xlbd " << kVersion << " running: " << services_.size() << " services on "
            << interfaces_.size() << " interfaces, " << cfg->vrrp.size()
            << " VRRP instances; API on " << api.socket
            << (api.metrics.empty() ? "" : absl::StrCat("; metrics on ", api.metrics));
  return absl::OkStatus();
}

absl::Status Daemon::Preflight(const config::Config& cfg) {
  std::set<uint32_t> ifindexes;
  for (const auto& name : cfg.interfaces) {
    if (auto st = dataplane::CheckAttachable(name, options_.xdp_mode); !st.ok()) return st;
    ifindexes.insert(if_nametoindex(name.c_str()));
  }
  for (const auto& s : cfg.services)
    if (auto st = table_->CheckNatReachable(s.service, s.reals, &ifindexes); !st.ok()) return st;
  if (auto st = vrrp::Speaker::Check(cfg.vrrp); !st.ok()) return st;
  return api::CheckUnixSocketFree(cfg.api.socket);
}

absl::Status Daemon::Adopt(const config::Config& cfg) {
  absl::StatusOr<config::ScriptUser> script_user = config::ResolveScriptUser(cfg.scripts.user);
  if (!script_user.ok()) return script_user.status();
  if (script_user->defaulted_to_root) {
    static bool warned = false;  // once per run, not per reload
    LOG_IF(WARNING, !std::exchange(warned, true))
        << "scripts run as root: no scripts.user configured and no user "
        << config::kDefaultScriptUser << " (create one, or set scripts: {user: NAME})";
  }
  if (auto st = bgp_->CheckReload(cfg.bgp); !st.ok()) return st;
  if (auto st = config::CheckSyncReload(loaded_sync_ring_bytes_, cfg.sync); !st.ok()) return st;
  if (auto st = CheckSync(cfg); !st.ok()) return st;
  const config::ScriptUser previous_user = health::ScriptUserNow();
  health::SetScriptUser(*script_user);
  if (auto st = SyncInterfaces(cfg.interfaces); !st.ok()) {
    health::SetScriptUser(previous_user);
    return st;
  }
  auto previous = services_;
  auto previous_vrrp = vrrp_;
  // A reload fails when a service it changes cannot be applied; at the start
  // (checked by Preflight) a service that fails is shown and retried.
  const std::set<ServiceKey> changed =
      ready_ ? ChangedServices(previous, cfg.services) : std::set<ServiceKey>{};
  services_ = cfg.services;
  vrrp_ = cfg.vrrp;
  SyncHealth();
  absl::Status st = Reconcile(&changed);
  if (st.ok() && !ready_) AwaitNexthops();  // starting: before VRRP and the API
  // VRRP last: its instances track the services just written. Configure
  // changes nothing when it fails, so only the services roll back.
  // With a sync: section, not before the resync at start ended (a reload
  // meanwhile only updates vrrp_, which OpenSyncGate configures).
  if (!cfg.sync) sync_gate_open_ = true;
  if (st.ok() && sync_gate_open_) st = speaker_->Configure(cfg.vrrp);
  if (!st.ok() && !ready_) {
    // A start that failed past its preflight: what is written stays (never
    // a rollback to no services, which would stop every flow).
    return st;
  }
  if (!st.ok()) {
    services_ = std::move(previous);
    vrrp_ = std::move(previous_vrrp);
    health::SetScriptUser(previous_user);
    SyncHealth();
    (void)Reconcile(&changed);
    return st;
  }
  if (auto addresses = vrrp::ListAddresses(0); addresses.ok()) {
    for (const std::string& w : vrrp::VipSourceWarnings(cfg, *addresses, [](const std::string& n) {
           return static_cast<uint32_t>(if_nametoindex(n.c_str()));
         }))
      LOG(WARNING) << w;
  }
  for (const std::string& w : bgp::ConfigWarnings(cfg)) LOG(WARNING) << w;
  for (const std::string& w : config::ServiceWarnings(cfg)) LOG(WARNING) << w;
  if (!(file_config_.api == cfg.api) && ready_)
    LOG(WARNING) << "api settings changed in " << options_.config_path
                 << "; they take effect when xlbd restarts";
  if (!(cfg.tables == loaded_tables_) && !(cfg.tables == file_config_.tables))
    LOG(WARNING) << "table sizes changed in " << options_.config_path << " (connections "
                 << cfg.tables.connections << ", nat_replies " << cfg.tables.nat_replies
                 << ", persistence " << cfg.tables.persistence
                 << "); they take effect when xlbd restarts with its pins removed (the tables "
                    "pinned now keep their sizes, and their flows, until then)";
  bgp_->SetSyncReady(sync_gate_open_);  // judges no VIP before the resync ended
  bgp_->Configure(cfg.bgp, BgpVerdicts());
  AdoptSync(cfg);
  file_config_ = cfg;
  runtime_changes_ = false;
  return absl::OkStatus();
}

absl::Status Daemon::SyncInterfaces(const std::vector<std::string>& wanted) {
  for (const auto& i : wanted) {
    if (std::find(interfaces_.begin(), interfaces_.end(), i) != interfaces_.end()) continue;
    const bool generic = options_.xdp_mode == dataplane::AttachMode::kGeneric;
    if (auto st = program_->Attach(i, options_.xdp_mode, dataplane::AttachVia::kLibxdpOrDirect);
        !st.ok()) {
      if (!generic && absl::IsUnimplemented(st))  // EOPNOTSUPP: no native XDP in the driver
        return absl::Status(st.code(), absl::StrCat(
            st.message(), ": the driver of ", i, " has no native XDP (a bridge, a bond, some "
            "virtual or older NIC drivers); xlbd --xdp-mode=generic runs xlb there in generic "
            "mode, which is much slower (about the kernel stack's speed)"));
      return st;
    }
    const auto how = program_->AttachedTo(i);
    LOG(INFO) << "XDP program attached to " << i << ": " << (how ? how->Name() : "?")
              << (how && how->dispatcher ? " (beside any other program libxdp attaches there)"
                                         : " (the interface's only XDP program)");
    if (generic)
      LOG(WARNING) << "XDP generic mode on " << i << " (--xdp-mode=generic): xlb runs after the "
                   << "kernel has built each packet's skb, which is much slower than native mode, "
                   << "about the kernel stack's speed; for interfaces without native XDP only";
    interfaces_.push_back(i);
  }
  for (auto it = interfaces_.begin(); it != interfaces_.end();) {
    if (std::find(wanted.begin(), wanted.end(), *it) != wanted.end()) {
      ++it;
      continue;
    }
    if (auto st = program_->Detach(*it); !st.ok()) return st;
    LOG(INFO) << "XDP program detached from " << *it;
    it = interfaces_.erase(it);
  }
  return absl::OkStatus();
}

void Daemon::SyncHealth() {
  auto addresses = vrrp::ListAddresses(0);
  if (!addresses.ok()) {
    LOG_EVERY_N(WARNING, 100) << "health check sources: " << addresses.status()
                              << " (logged every 100th)";
  }
  config::Config running;
  running.services = services_;
  running.vrrp = vrrp_;
  const std::set<model::IpAddress> vips = vrrp::ConfiguredVips(running);
  std::map<model::IpAddress, std::optional<model::IpAddress>> chosen;  // per real address
  auto source_toward = [&](const model::IpAddress& real) {
    if (auto it = chosen.find(real); it != chosen.end()) return it->second;
    std::optional<model::IpAddress> source;
    if (addresses.ok()) {
      if (auto route = netlink::RouteTowards(real); route.ok() && route->ifindex != 0)
        source = vrrp::ChooseSource(*addresses, route->ifindex, route->next_hop, vips);
    }
    return chosen[real] = source;
  };
  std::set<std::string> ids;
  for (const auto& s : services_) {
    // The through-tunnel probe leaves from the same address as tcp/http ones.
    const bool probes_connect =
        config::ConnectsToReal(s.health.type) || s.health.through_tunnel;
    std::optional<health::TunnelTarget> tunnel;
    if (s.health.through_tunnel && s.service.options.forward == model::Forward::kTunnel)
      tunnel = health::TunnelTarget{s.service.key.vip, s.service.options.tunnel.encap,
                                    s.service.options.tunnel.gue_port};
    for (const auto& r : s.reals) {
      std::string id = HealthId(s.service.key, r);
      ids.insert(id);
      std::optional<model::IpAddress> source;
      if (probes_connect && !s.health.source) {
        source = source_toward(r.address);
        auto [known, added] = health_sources_.try_emplace(id, source);
        if (added || known->second != source) {
          known->second = source;
          if (source)
            LOG(INFO) << "real " << id << ": health checks leave from " << source->ToString();
          else
            LOG(WARNING) << "real " << id << ": the director has no address of its own (one "
                         << "that is not a VIP) on the way to it; its health checks leave "
                         << "from the kernel's choice, which may be a VIP";
        }
      }
            // A new id starts as down_ says (RecallHealth); the monitor then decides.
      monitor_->Set(id, s.health, r.address, EffectivePort(s.service.key, r), source,
                    /*initially_up=*/!down_[id], tunnel);
      down_[id] = !monitor_->Up(id).value_or(true);
    }
  }
  for (const auto& id : monitor_->Ids())
    if (!ids.contains(id)) monitor_->Remove(id);
  std::erase_if(down_, [&](const auto& entry) { return !ids.contains(entry.first); });
  std::erase_if(health_sources_, [&](const auto& entry) { return !ids.contains(entry.first); });
}

void Daemon::ScheduleHealthSourceRefresh() {
  source_timer_.expires_after(kHealthSourceRefresh);
  source_timer_.async_wait([this](std::error_code ec) {
    if (ec) return;
    SyncHealth();
    ScheduleHealthSourceRefresh();
  });
}

absl::Status Daemon::Reconcile(const std::set<ServiceKey>* watched) {
  std::vector<reconcile::DesiredService> desired;
  // VRRP tracks a service as up while some real takes new connections.
  std::map<std::string, bool> up;
  for (const auto& s : services_) {
    reconcile::DesiredService d{s.service, s.reals};
    bool any = false;
    for (auto& r : d.reals) {
      if (down_[HealthId(s.service.key, r)]) {
        r.weight = 0;
        r.health_down = true;  // recorded in the maps for the next xlbd
      }
      any |= r.weight > 0;
    }
    up[s.name] = any;
    desired.push_back(std::move(d));
  }
  KeepNexthopsResolved(/*always=*/false);
  auto changes = reconcile::Plan(table_->List(), desired);
  for (const auto& c : changes) VLOG(1) << reconcile::Describe(c);
  auto failed = reconcile::Apply(changes, *table_);
  if (speaker_) speaker_->SetServices(std::move(up));
  if (!changes.empty() && table_->UnknownNexthops() > 0) ScheduleNexthopRefresh(kNexthopRetryFirst);
  RecordServiceErrors(failed);
  UpdateBgp();
  absl::Status first;
  for (const auto& [key, st] : failed)
    if (first.ok() && (watched == nullptr || watched->contains(key))) first = st;
  return first;
}

// What failed stays on its service (xlbctl list, the API, a metric) and is
// tried again with backoff until it applies; the others go on meanwhile.
void Daemon::RecordServiceErrors(const std::map<ServiceKey, absl::Status>& failed) {
  for (auto it = service_errors_.begin(); it != service_errors_.end();) {
    const bool gone = !Find(services_, it->first);
    if (failed.contains(it->first) && !gone) {
      ++it;
      continue;
    }
    if (!gone)
      LOG(INFO) << "service " << it->first.ToString() << ": applied after "
                << it->second.attempts << " attempts";
    it = service_errors_.erase(it);
  }
  for (const auto& [key, st] : failed) {
    auto [e, added] = service_errors_.try_emplace(key);
    ++e->second.attempts;
    if (added || e->second.message != st.message())
      LOG(ERROR) << "service " << key.ToString() << ": " << st.message()
                 << "; the other services go on, and this is tried again";
    if (added) e->second.since = std::chrono::system_clock::now();
    e->second.message = std::string(st.message());
  }
  if (service_errors_.empty()) {
    retry_timer_.cancel();
    retry_backoff_ = kRetryFirst;
    return;
  }
  if (retry_armed_) return;
  retry_armed_ = true;
  retry_timer_.expires_after(retry_backoff_);
  retry_backoff_ = std::min<std::chrono::milliseconds>(retry_backoff_ * 2, kRetryMax);
  retry_timer_.async_wait([this](std::error_code ec) {
    retry_armed_ = false;
    if (ec) return;
    (void)Reconcile();
  });
}

// The services whose configuration differs between two running sets: a
// change (reload, API call) fails only when one of these failed.
std::set<ServiceKey> Daemon::ChangedServices(const std::vector<config::ServiceConfig>& before,
                                             const std::vector<config::ServiceConfig>& after) {
  std::set<ServiceKey> changed;
  std::map<ServiceKey, const config::ServiceConfig*> old;
  for (const auto& s : before) old[s.service.key] = &s;
  for (const auto& s : after) {
    auto it = old.find(s.service.key);
    if (it == old.end() || !(*it->second == s)) changed.insert(s.service.key);
  }
  return changed;
}

absl::Status Daemon::Mutate(
    const std::string& what,
    const std::function<absl::Status(std::vector<config::ServiceConfig>&)>& change) {
  auto next = services_;
  if (auto st = change(next); !st.ok()) return st;
  const std::set<ServiceKey> changed = ChangedServices(services_, next);
  auto previous = std::move(services_);
  services_ = std::move(next);
  SyncHealth();
  if (auto st = Reconcile(&changed); !st.ok()) {
    services_ = std::move(previous);
    SyncHealth();
    if (auto back = Reconcile(&changed); !back.ok())
      LOG(ERROR) << "could not return to the previous state: " << back;
    return st;
  }
  runtime_changes_ = true;
  LOG(INFO) << "runtime change: " << what;
  return absl::OkStatus();
}

std::set<netlink::Gateway> Daemon::NatGateways() {
  // Bounded: a director's routers, not a full table's worth of next hops.
  constexpr size_t kMaxGateways = 64;
  const bool nat = std::any_of(services_.begin(), services_.end(), [](const auto& s) {
    return s.service.options.forward == model::Forward::kNat;
  });
  if (!nat) return {};
  std::set<uint32_t> attached;
  for (const auto& i : interfaces_)
    if (const uint32_t ifindex = if_nametoindex(i.c_str()); ifindex != 0) attached.insert(ifindex);
  auto gateways = netlink::MainTableGateways();
  if (!gateways.ok()) {
    // Once; the entries made before are kept. Forwarding is unaffected, but
    // a new VRRP master may drop NAT replies until its routers are resolved.
    LOG_IF(WARNING, !std::exchange(gateways_failed_, true))
        << "finding the routers toward NAT clients: " << gateways.status()
        << "; their neighbour entries are not kept resolved";
    return kept_gateways_;
  }
  gateways_failed_ = false;
  std::set<netlink::Gateway> out;
  for (const netlink::Gateway& g : *gateways) {
    if (!attached.contains(g.ifindex)) continue;
    if (out.size() == kMaxGateways) {
      LOG_FIRST_N(WARNING, 1) << "more than " << kMaxGateways
                              << " routers toward NAT clients: only the first are kept resolved";
      break;
    }
    out.insert(g);
  }
  return out;
}

void Daemon::KeepNexthopsResolved(bool always) {
  std::set<model::IpAddress> reals;
  for (const auto& s : services_)
    for (const auto& r : s.reals) reals.insert(r.address);
  std::set<netlink::Gateway> gateways = NatGateways();
  if (!always && reals == kept_resolved_ && gateways == kept_gateways_) return;
  auto made = resolver_.KeepResolved({reals.begin(), reals.end()}, {gateways.begin(), gateways.end()});
  if (!made.ok()) {
    // Once, not every refresh (e.g. a kernel before 5.16 refuses managed entries).
    LOG_IF(WARNING, !keep_resolved_failed_)
        << "keeping the reals' next hops resolved: " << made.status()
        << "; their next hops are resolved when first asked for";
    keep_resolved_failed_ = true;
    return;
  }
  keep_resolved_failed_ = false;
  kept_resolved_ = std::move(reals);
  if (gateways != kept_gateways_) {
    std::vector<std::string> names;
    for (const netlink::Gateway& g : gateways)
      names.push_back(absl::StrCat(g.address.ToString(), " dev ", netlink::InterfaceName(g.ifindex)));
    LOG(INFO) << "NAT replies: keeping the routers toward clients resolved: "
              << (names.empty() ? "none" : absl::StrJoin(names, ", "));
  }
  kept_gateways_ = std::move(gateways);
  if (*made > 0) VLOG(1) << *made << " managed neighbour entries made for the reals' next hops";
}

void Daemon::AwaitNexthops() {
  const auto deadline = std::chrono::steady_clock::now() + kNexthopWaitAtStart;
  const auto t0 = std::chrono::steady_clock::now();
  // Bounded by the deadline: 3 s in steps of 10 ms.
  while (table_->UnknownNexthops() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (auto st = table_->RefreshNexthops(); !st.ok()) {
      LOG(WARNING) << "next hop refresh: " << st;
      break;
    }
  }
  const auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  if (table_->UnknownNexthops() == 0) {
    VLOG(1) << "every real's next hop resolved in " << took.count() << " ms";
    return;
  }
  for (const auto& service : table_->List())
    for (const auto& r : service.reals)
      if (!r.nexthop)
        LOG(WARNING) << "real " << r.spec.address.ToString() << " of " << service.service.key.ToString()
                     << ": next hop not resolved after " << took.count()
                     << " ms (no ARP/ND answer?); going on, its packets use the kernel's FIB "
                        "until it is";
}

void Daemon::RecallHealth() {
  size_t n = 0;
  for (const auto& service : table_->List()) {
    for (const auto& r : service.reals) {
      if (!r.spec.health_down) continue;
      down_[HealthId(service.service.key, r.spec)] = true;
      ++n;
    }
  }
  if (n > 0)
    LOG(INFO) << n << " reals were down when the previous xlbd stopped; they stay down until "
                      "they pass their rise checks";
}

void Daemon::OnHealthChange(const std::string& id, bool up, const std::string& detail) {
  down_[id] = !up;
  if (up)
    LOG(INFO) << "real " << id << " is up: " << detail;
  else
    LOG(WARNING) << "real " << id << " is down: " << detail << "; it takes no new connections";
  (void)Reconcile();  // a service that fails is logged, shown and retried
  // After the reconcile: the real takes no new flows now, so its clients'
  // next packets, placed anew, reach another real.
  if (!up) CutSessions(id);
}

void Daemon::CutSessions(const std::string& id) {
  if (!cutter_) return;  // stopping
  for (const auto& s : services_) {
    if (s.on_down != config::OnDown::kShutdown) continue;
    for (const auto& r : s.reals) {
      if (HealthId(s.service.key, r) != id) continue;
      auto in_maps = RealInMaps(s.service.key, r);
      if (!in_maps.ok())
        LOG(ERROR) << "real " << id << " is down, its connections cannot be cut "
                   << "(on_down: shutdown): " << in_maps.status();
      else
        cutter_->Cut(id, in_maps->id, in_maps->gen);
      return;
    }
  }
}

absl::StatusOr<dataplane::RealState> Daemon::RealInMaps(const ServiceKey& key,
                                                        const model::RealSpec& real) const {
  auto state = table_->Get(key);
  if (!state.ok()) return state.status();
  const uint16_t port = EffectivePort(key, real);
  for (const auto& rs : state->reals)
    if (rs.spec.address == real.address && EffectivePort(key, rs.spec) == port) return rs;
  return absl::FailedPreconditionError(
      absl::StrCat("real ", model::FormatEndpoint(real.address, port), " of ", key.ToString(),
                   " is not in the data plane (see xlbctl list)"));
}

void Daemon::ScheduleNexthopRefresh(std::chrono::milliseconds retry) {
  const bool unknown = table_->UnknownNexthops() > 0;
  refresh_timer_.expires_after(unknown ? retry : std::chrono::milliseconds(kNexthopRefresh));
  refresh_timer_.async_wait([this, unknown, retry](std::error_code ec) {
    if (ec) return;
    // Routes may have changed: the reals' (always, when all are known) and
    // the NAT routers' (a route dump, at most every few seconds).
    KeepNexthopsResolved(/*always=*/!unknown);
    if (auto st = table_->RefreshNexthops(); !st.ok()) LOG(WARNING) << "next hop refresh: " << st;
    ScheduleNexthopRefresh(unknown ? std::min<std::chrono::milliseconds>(retry * 2, kNexthopRefresh)
                                   : kNexthopRetryFirst);
  });
}

void Daemon::Reload() {
  auto cfg = config::LoadConfigFile(options_.config_path);
  if (!cfg.ok()) {
    LOG(ERROR) << "reload refused, still running the previous configuration: " << cfg.status();
    return;
  }
  if (*cfg == file_config_) {
    LOG(INFO) << "reload: " << options_.config_path << " is unchanged"
              << (runtime_changes_ ? "; runtime changes are kept" : "");
    return;
  }
  if (auto st = Adopt(*cfg); !st.ok()) {
    LOG(ERROR) << "reload refused, still running the previous configuration: " << st;
    return;
  }
  LOG(INFO) << "reloaded " << options_.config_path << ": " << services_.size() << " services";
}

// Every turn of the main loop's timers shows here: the VRRP thread watches
// it, and systemd's watchdog hears of it (WATCHDOG=1) only from here, so a
// loop that hangs is restarted by systemd while its VIPs go to a backup.
void Daemon::Heartbeat() {
  const auto now = std::chrono::steady_clock::now();
  last_turn_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count());
  if (options_.systemd_watchdog.count() > 0 && now - last_notified_ >= options_.systemd_watchdog / 2) {
    sd_notify(0, "WATCHDOG=1");
    last_notified_ = now;
  }
  heartbeat_timer_.expires_after(std::min<std::chrono::milliseconds>(
      std::chrono::milliseconds(100), options_.main_loop_timeout / 4));
  heartbeat_timer_.async_wait([this](std::error_code ec) {
    if (!ec) Heartbeat();
  });
}

void Daemon::Shutdown() {
  LOG(INFO) << "stopping";
  sd_notify(0, "STOPPING=1");
  heartbeat_timer_.cancel();
  // First, while the data plane still forwards: the routers stop sending
  // (BGP), the backups take the VIPs over after their skew time instead of
  // the whole master-down interval (VRRP).
  const std::chrono::milliseconds withdraw_delay =
      bgp_ ? bgp_->WithdrawForShutdown() : std::chrono::milliseconds(0);
  if (speaker_) speaker_->Shutdown();
  // The peers taking the VIPs over get the flows of the last moments.
  if (sync_) sync_->FlushForShutdown();
  sync_.reset();
  if (withdraw_delay.count() > 0) {
    LOG(INFO) << "bgp: forwarding " << withdraw_delay.count()
              << " ms more while the routers move the traffic away (bgp.withdraw_delay)";
    std::this_thread::sleep_for(withdraw_delay);
  }
  refresh_timer_.cancel();
  source_timer_.cancel();
  cutter_.reset();  // a flush under way stops between two batches
  api_.reset();
  metrics_.reset();
  monitor_.reset();
  if (options_.detach_on_exit) {
    for (const auto& i : interfaces_)
      if (auto st = program_->Detach(i); !st.ok()) LOG(ERROR) << st;
    if (auto st = program_->Unpin(); !st.ok()) LOG(ERROR) << st;
    if (auto st = resolver_.KeepResolved({}); !st.ok())
      LOG(ERROR) << "removing xlb's neighbour entries: " << st.status();
    LOG(INFO) << "XDP program detached and maps unpinned";
  } else {
    LOG(INFO) << "the XDP program keeps forwarding; a new xlbd adopts its maps";
  }
  io_.stop();
}

api::StatusView Daemon::Status() {
  api::StatusView s;
  s.version = kVersion;
  s.config_file = options_.config_path;
  s.runtime_changes = runtime_changes_;
  if (api_) s.api_server = api_->stats();
  if (metrics_) s.metrics_server = metrics_->stats();
  s.interfaces = interfaces_;
  for (const auto& i : interfaces_) {
    const auto how = program_->AttachedTo(i);
    s.attach.push_back(how ? how->Name() : "");
  }
  s.started = started_;
  s.services = services_.size();
  for (const auto& svc : services_) s.reals += svc.reals.size();
  for (const auto& [id, down] : down_) s.reals_down += down;
  dataplane::GlobalCounters counters{};
  if (auto g = dataplane::ReadGlobalCounters(program_->maps()); g.ok()) counters = *g;
  s.counters = dataplane::NamedCounters(counters);
  s.tables = table_stats_.Get([&] {
    auto t = dataplane::ReadTableStats(program_->maps(), counters);
    if (t.ok()) return std::move(*t);
    LOG_EVERY_N(WARNING, 100) << "status: " << t.status();
    return std::vector<model::TableStats>{};
  });
  // Both halves of NAT flows, as when they shared one table.
  if (s.tables.size() >= 2) s.conn_table_entries = s.tables[0].entries + s.tables[1].entries;
  return s;
}

std::vector<api::ServiceView> Daemon::Services() {
  std::map<std::string, health::RealHealth> health;
  for (auto& h : monitor_->Snapshot()) health[h.id] = h;
  // One walk of the connection table for every real's counts.
  const auto& connections = connection_counts_.Get([&] {
    auto counted = dataplane::CountConnectionsByReal(program_->maps());
    if (counted.ok()) return std::move(*counted);
    LOG_EVERY_N(WARNING, 100) << "counting connections: " << counted.status();
    return std::unordered_map<uint32_t, model::ConnectionCounts>{};
  });
  std::vector<api::ServiceView> out;
  for (const auto& s : services_) {
    api::ServiceView v;
    v.config = s;
    if (auto e = service_errors_.find(s.service.key); e != service_errors_.end())
      v.error = absl::StrCat(e->second.message, " (", e->second.attempts, " attempts)");
    auto state = table_->Get(s.service.key);
    if (state.ok()) {
      if (auto c = dataplane::ReadServiceCounters(program_->maps(), state->id); c.ok())
        v.counters = *c;
    }
    for (const auto& r : s.reals) {
      api::RealView rv;
      rv.spec = r;
      rv.port = EffectivePort(s.service.key, r);
      const std::string id = HealthId(s.service.key, r);
      if (auto h = health.find(id); h != health.end() && s.health.type != config::HealthType::kNone) {
        rv.health = h->second.up ? api::RealHealth::kUp : api::RealHealth::kDown;
        rv.health_detail = h->second.last_detail;
        rv.since = h->second.since;
        rv.checks = h->second.checks;
        rv.local_errors = h->second.local_errors;
      }
      if (state.ok()) {
        for (const auto& rs : state->reals) {
          if (rs.spec.address != r.address || EffectivePort(s.service.key, rs.spec) != rv.port)
            continue;
          rv.effective_weight = rs.spec.weight;
          if (auto c = dataplane::ReadRealCounters(program_->maps(), rs.id); c.ok()) rv.counters = *c;
          if (auto c = connections.find(rs.id); c != connections.end()) rv.connections = c->second;
        }
      }
      v.reals.push_back(rv);
    }
    out.push_back(std::move(v));
  }
  return out;
}

uid_t Daemon::ScriptUid() { return health::ScriptUserNow().uid; }

absl::Status Daemon::AddService(const config::ServiceConfig& service) {
  return Mutate(absl::StrCat("service ", service.service.key.ToString(), " added"), [&](std::vector<config::ServiceConfig>& services) -> absl::Status {
    if (Find(services, service.service.key))
      return absl::AlreadyExistsError(absl::StrCat("service ", service.service.key.ToString(),
                                                   " exists"));
    config::ServiceConfig s = service;
    if (s.name.empty()) s.name = DefaultName(s.service.key);
    if (!config::IsServiceName(s.name))
      return absl::InvalidArgumentError(absl::StrCat(
          "'", s.name, "' is not a service name (letters, digits, '_', '.', '-')"));
    for (const auto& other : services)
      if (other.name == s.name)
        return absl::AlreadyExistsError(absl::StrCat("a service is named '", s.name, "' already"));
    services.push_back(std::move(s));
    return absl::OkStatus();
  });
}

absl::Status Daemon::DeleteService(const ServiceKey& key) {
  return Mutate(absl::StrCat("service ", key.ToString(), " deleted"), [&](std::vector<config::ServiceConfig>& services) -> absl::Status {
    auto it = std::find_if(services.begin(), services.end(),
                           [&](const config::ServiceConfig& s) { return s.service.key == key; });
    if (it == services.end()) return NoService(key);
    services.erase(it);
    return absl::OkStatus();
  });
}

absl::Status Daemon::AddReal(const ServiceKey& key, const model::RealSpec& real) {
  return Mutate(absl::StrCat("real ", model::FormatEndpoint(real.address, EffectivePort(key, real)),
                             " added to ", key.ToString(), " with weight ", real.weight),
                [&](std::vector<config::ServiceConfig>& services) -> absl::Status {
    config::ServiceConfig* s = Find(services, key);
    if (!s) return NoService(key);
    if (FindReal(*s, real.address, real.port) != s->reals.end())
      return absl::AlreadyExistsError(absl::StrCat(
          "service ", key.ToString(), " has real ",
          model::FormatEndpoint(real.address, EffectivePort(key, real)), " already"));
    s->reals.push_back(real);
    return model::ValidateReals(s->service, s->reals);
  });
}

absl::Status Daemon::SetReal(const api::RealChange& change) {
  return Mutate(absl::StrCat("real ", change.address.ToString(), " of ", change.service.ToString(),
                             " set to weight ", change.weight.value_or(0)),
                [&](std::vector<config::ServiceConfig>& services) -> absl::Status {
    config::ServiceConfig* s = Find(services, change.service);
    if (!s) return NoService(change.service);
    auto r = FindReal(*s, change.address, change.port);
    if (r == s->reals.end())
      return absl::NotFoundError(absl::StrCat("service ", change.service.ToString(), " has no real ",
                                              change.address.ToString()));
    if (change.weight) r->weight = *change.weight;
    return model::ValidateReals(s->service, s->reals);
  });
}

absl::Status Daemon::DeleteReal(const ServiceKey& key, const model::IpAddress& address,
                                uint16_t port) {
  return Mutate(absl::StrCat("real ", address.ToString(), " removed from ", key.ToString()), [&](std::vector<config::ServiceConfig>& services) -> absl::Status {
    config::ServiceConfig* s = Find(services, key);
    if (!s) return NoService(key);
    auto r = FindReal(*s, address, port);
    if (r == s->reals.end())
      return absl::NotFoundError(
          absl::StrCat("service ", key.ToString(), " has no real ", address.ToString()));
    s->reals.erase(r);
    return absl::OkStatus();
  });
}

absl::StatusOr<model::FlushedEntries> Daemon::FlushReal(const ServiceKey& key,
                                                        const model::IpAddress& address,
                                                        uint16_t port) {
  config::ServiceConfig* s = Find(services_, key);
  if (!s) return NoService(key);
  auto r = FindReal(*s, address, port);
  if (r == s->reals.end())
    return absl::NotFoundError(absl::StrCat("service ", key.ToString(), " has no real ",
                                            model::FormatEndpoint(address, port ? port : key.port)));
  auto in_maps = RealInMaps(key, *r);
  if (!in_maps.ok()) return in_maps.status();
  // Here, not on the cutter: the answer says how many. It holds the loop for
  // as long as the walk (docs/man/xlbctl.8).
  auto flushed = dataplane::FlushReal(program_->maps(), in_maps->id, in_maps->gen);
  connection_counts_.Forget();
  table_stats_.Forget();
  if (flushed.ok())
    LOG(INFO) << "real " << HealthId(key, *r) << " flushed on request: " << flushed->connections
              << " connections, " << flushed->nat_replies << " NAT reply and "
              << flushed->persistence << " persistence entries removed";
  return flushed;
}

absl::StatusOr<model::ConnectionListing> Daemon::Connections(
    const std::optional<ServiceKey>& service, size_t limit) {
  if (service && !Find(services_, *service)) return NoService(*service);
  return dataplane::ListConnections(program_->maps(), limit, service);
}

absl::StatusOr<std::string> Daemon::SaveConfig(const std::string& path) {
  config::Config running = file_config_;
  running.interfaces = interfaces_;
  running.services = services_;
  const bool secret = std::any_of(running.vrrp.begin(), running.vrrp.end(),
                                  [](const config::VrrpInstance& v) { return !v.auth_secret.empty(); });
  auto target = config::SaveConfigFile(options_.config_path, path, config::ToYaml(running), secret);
  if (!target.ok()) return target.status();
  std::error_code ec;
  if (std::filesystem::equivalent(*target, options_.config_path, ec)) {
    file_config_ = running;
    runtime_changes_ = false;
  }
  LOG(INFO) << "running configuration saved to " << *target;
  return *target;
}

std::vector<vrrp::InstanceStatus> Daemon::Vrrp() { return speaker_->Status(); }

absl::StatusOr<api::TraceInfo> Daemon::Trace(const api::TraceRequest& request) {
  dataplane::TraceRequest t;
  t.protocol = request.flow.protocol;
  t.vip = request.flow.vip;
  t.vip_port = request.flow.port;
  t.client = request.client;
  t.client_port = static_cast<uint16_t>(request.client_port);
  t.syn = request.syn.value_or(false) && t.protocol == model::Protocol::kTcp;
  // The frame comes in where real traffic does: the interface decides
  // XDP_TX against XDP_REDIRECT, and the FIB lookups start from it.
  std::string interface;
  if (request.interface) {
    if (std::find(interfaces_.begin(), interfaces_.end(), *request.interface) == interfaces_.end())
      return absl::InvalidArgumentError(absl::StrCat("xlb is not attached to '", *request.interface,
                                                     "' (attached: ",
                                                     absl::StrJoin(interfaces_, " "), ")"));
    interface = *request.interface;
  } else if (!interfaces_.empty()) {
    interface = interfaces_.front();
  }
  if (!interface.empty()) {
    t.ingress_ifindex = if_nametoindex(interface.c_str());
    if (t.ingress_ifindex == 0)
      return absl::FailedPreconditionError(absl::StrCat("interface ", interface, " is gone"));
    auto mac = netlink::InterfaceMac(t.ingress_ifindex);
    if (!mac.ok()) return mac.status();
    std::copy(mac->begin(), mac->end(), t.interface_mac.begin());
  }
  auto r = dataplane::Trace(*program_, t);
  if (!r.ok()) return r.status();

  api::TraceInfo out;
  out.flow = absl::StrCat(model::FormatEndpoint(t.client, t.client_port), " -> ",
                          request.flow.ToString());
  out.packet = t.protocol == model::Protocol::kUdp ? "udp" : t.syn ? "syn" : "ack";
  out.interface = interface;
  out.verdict = dataplane::XdpVerdictName(r->verdict);
  const uint32_t flags = r->record.flags;
  if (flags & XLB_TRACE_F_SERVICE) {
    for (const auto& s : table_->List()) {
      if (s.id != r->record.service_id) continue;
      out.service = s.service.key.ToString();
      if (const auto* c = Find(services_, s.service.key)) out.service_name = c->name;
      out.forward = std::string(model::NameOf(s.service.options.forward));
    }
  }
  if (flags & XLB_TRACE_F_MAGLEV) out.maglev_slot.value = r->record.maglev_slot;
  if (r->real) {
    out.real = model::FormatEndpoint(*r->real, r->real_port);
    out.chosen_by = flags & XLB_TRACE_F_CONN_HIT      ? "connection"
                    : flags & XLB_TRACE_F_PERSIST_HIT ? "persistence"
                                                      : "maglev";
    out.destination = model::FormatEndpoint(r->destination, r->destination_port);
  }
  out.records = flags & XLB_TRACE_F_WOULD_RECORD;
  if (r->record.out_ifindex) {
    char name[IF_NAMESIZE] = {};
    out.out_interface = if_indextoname(r->record.out_ifindex, name)
                            ? name
                            : absl::StrCat("ifindex ", r->record.out_ifindex);
    out.next_hop_mac = dataplane::MacString(r->dst_mac);
    out.source_mac = dataplane::MacString(r->src_mac);
  }
  out.counters = r->reasons;
  return out;
}

absl::Status Daemon::ReloadConfig() {
  auto cfg = config::LoadConfigFile(options_.config_path);
  if (!cfg.ok()) return cfg.status();
  if (auto st = Adopt(*cfg); !st.ok()) return st;
  LOG(INFO) << "reloaded " << options_.config_path << " on request; runtime changes dropped";
  return absl::OkStatus();
}

api::BgpView Daemon::Bgp() { return bgp_->View(); }

absl::Status Daemon::SetBgpDrained(bool drained) { return bgp_->SetDrained(drained); }

// Not wired yet: the sender and receiver fill this in (docs/sync-design.md).
api::SyncView Daemon::Sync() { return sync_ ? sync_->View() : api::SyncView{}; }

absl::Status Daemon::CheckSync(const config::Config& cfg) {
  if (!cfg.sync) return absl::OkStatus();
  // The data path emits flow events only if it was loaded with them.
  if (program_->sync_mode() == dataplane::SyncMode::kOff)
    return absl::FailedPreconditionError(
        "sync: the section was added, but the data path was loaded without flow events; it "
        "takes effect when xlbd restarts");
  return SyncLink::LoadKey(*cfg.sync).status();
}

void Daemon::OpenSyncGate() {
  if (std::exchange(sync_gate_open_, true)) return;
  LOG(INFO) << "sync: ready; VRRP instances start and BGP announces by health from now on";
  if (auto st = speaker_->Configure(vrrp_); !st.ok()) LOG(ERROR) << "vrrp: " << st;
  bgp_->SetSyncReady(true);
}

void Daemon::AdoptSync(const config::Config& cfg) {
  if (!cfg.sync) {
    if (sync_) LOG(INFO) << "sync: section removed; the data path records flow events until "
                            "xlbd restarts (nobody reads them)";
    sync_.reset();
    return;
  }
  auto key = SyncLink::LoadKey(*cfg.sync);  // checked by CheckSync
  if (!key.ok()) {
    LOG(ERROR) << key.status();
    OpenSyncGate();
    return;
  }
  // An unchanged section with the same key keeps its link (its counters,
  // the peers' view of its sequence); the key file is read on every reload.
  if (sync_ && *cfg.sync == sync_->config() && sync_->SameKey(*key)) return;
  sync_.reset();  // its port is the new link's
  // Starting (the gate still closed): ask the peers for their flows first.
  const bool resync = !sync_gate_open_;
  if (resync)
    LOG(INFO) << "sync: VRRP and BGP wait for the resync (at most "
              << cfg.sync->resync_timeout.count() / 1000.0 << " s)";
  auto link = SyncLink::Start(io_, *cfg.sync, *key, program_.get(), table_.get(), resync,
                              [this] { OpenSyncGate(); });
  if (!link.ok()) {
    LOG(ERROR) << link.status() << "; flows are not shared with the peers until a reload fixes it";
    OpenSyncGate();
    return;
  }
  sync_ = std::move(*link);
}

void Daemon::UpdateBgp() {
  if (bgp_ && bgp_->configured()) bgp_->Update(BgpVerdicts());
}

std::vector<bgp::ServiceVerdicts> Daemon::BgpVerdicts() const {
  std::map<std::string, health::RealHealth> health;
  if (monitor_)
    for (auto& h : monitor_->Snapshot()) health.emplace(h.id, std::move(h));
  std::vector<bgp::ServiceVerdicts> services;
  for (const auto& s : services_) {
    bgp::ServiceVerdicts v{s.service.key.vip, {}};
    for (const auto& r : s.reals) {
      const std::string id = HealthId(s.service.key, r);
      auto d = down_.find(id);
      const bool down = d != down_.end() && d->second;
      auto h = health.find(id);
      const bool unchecked = h == health.end() || h->second.type == config::HealthType::kNone;
      v.reals.push_back({.takes_traffic = !down && r.weight > 0,
                         .passed = unchecked || h->second.passes > 0,
                         .judged = unchecked || down || h->second.checks > 0});
    }
    services.push_back(std::move(v));
  }
  return services;
}

}  // namespace xlb::xlbd
