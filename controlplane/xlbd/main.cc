// xlbd: the daemon. Reads its configuration, loads (or adopts) the XDP
// program, health-checks the reals and serves the API, on one event loop;
// VRRP runs on a thread of its own (controlplane/vrrp/speaker_thread.h).
#include <gflags/gflags.h>
#include <sys/resource.h>
#include <glog/logging.h>
#include <net/if.h>

#include <cerrno>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "asio.hpp"
#include "controlplane/config/parse.h"
#include "controlplane/vrrp/addresses.h"
#include "controlplane/vrrp/vip_source.h"
#include "controlplane/bgp/vtysh.h"
#include "controlplane/bgp/wanted.h"
#include "controlplane/xlbd/daemon.h"
#include "controlplane/xlbd/pin_lock.h"
#include "model/version.h"

DEFINE_string(config, "/etc/xlb/xlb.yaml", "the configuration file");
DEFINE_string(check_config, "", "validate this configuration file and exit (0: valid)");
DEFINE_string(pin_dir, xlb::dataplane::kDefaultPinDir, "bpffs directory of the pinned maps");
DEFINE_int32(realtime_priority, xlb::xlbd::kDefaultVrrpRealtimePriority,
             "run the VRRP thread at this SCHED_RR real-time priority (1..99; 0: the normal "
             "scheduler), so adverts go out on time on a loaded director (keepalived's "
             "vrrp_rt_priority); the rest of xlbd keeps the normal scheduler. When the default "
             "cannot be set (no CAP_SYS_NICE, a container without real-time budget) xlbd warns "
             "and goes on; a value given here must be set or xlbd does not start");
DEFINE_int64(syn_flood_rate, XLB_FLOOD_RATE_DEFAULT,
             "new flows (SYNs, first packets of unknown flows, UDP) per CPU and second past which "
             "a new flow makes no table entry: a direct-routing one is forwarded without (and "
             "recorded at a later packet), a NAT one is dropped and counted; 0: no limit (the "
             "name is kept from when it covered SYNs only)");
DEFINE_int32(main_loop_timeout_ms, 0,
             "if xlbd's main loop (health checks, map writes, the API) does not turn for this "
             "long, every VRRP instance resigns (priority 0, then silence) until it turns again, "
             "so that a backup takes the VIPs instead of a master with frozen health checks; "
             "0: half of systemd's WatchdogSec when xlbd runs under a systemd watchdog, else 3000");
DEFINE_string(xdp_mode, "native",
              "XDP mode of the program on every interface: native (in the driver, the default) "
              "or generic (skb mode: for interfaces whose driver has no native XDP, e.g. a "
              "bridge; much slower, it runs after the kernel has built the packet's skb). Either "
              "way xlbd joins libxdp's dispatcher where it loads, beside other XDP programs, and "
              "else attaches directly");
DEFINE_string(state_dir, "/var/lib/xlb",
              "where xlbd keeps what outlives it: bgp-drained (xlbctl bgp drain), so that a "
              "director drained for maintenance stays drained through restarts and reboots");
DEFINE_bool(detach_on_exit, false,
            "on SIGTERM, detach the XDP program and remove the pinned maps (by default they "
            "stay, and traffic keeps flowing until a new xlbd adopts them)");

namespace {

// gflags wants --check_config; users type --check-config, like the docs.
std::vector<std::string> DashesToUnderscores(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    std::string& a = args[i];
    if (a.rfind("--", 0) != 0) continue;
    size_t end = a.find('=');
    for (size_t j = 2; j < std::min(end, a.size()); ++j)
      if (a[j] == '-') a[j] = '_';
  }
  return args;
}

// gflags names an unknown flag as converted (bogus_flag): name it as typed.
// `args` are DashesToUnderscores' and `argv` the originals; false after
// saying which is unknown.
bool KnownFlags(const std::vector<std::string>& args, char** argv) {
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") return true;
    if (a.size() < 2 || a[0] != '-') continue;
    const size_t eq = a.find('=');
    const size_t start = a.find_first_not_of('-');
    if (start == std::string::npos) continue;  // "---": gflags says what it is
    const std::string name = a.substr(start, eq == std::string::npos ? eq : eq - start);
    gflags::CommandLineFlagInfo info;
    bool known = gflags::GetCommandLineFlagInfo(name.c_str(), &info);
    // --nodetach_on_exit: a bool's "no" form.
    if (!known && name.rfind("no", 0) == 0)
      known = gflags::GetCommandLineFlagInfo(name.substr(2).c_str(), &info) && info.type == "bool";
    if (!known) {
      const std::string typed = argv[i];
      std::cerr << "xlbd: unknown flag " << typed.substr(0, typed.find('='))
                << " (see xlbd --help)\n";
      return false;
    }
    if (eq == std::string::npos && info.type != "bool") ++i;  // its value
  }
  return true;
}

std::string Dashed(std::string name) {
  std::replace(name.begin(), name.end(), '_', '-');
  return name;
}

// `xlbd --help`: xlbd's flags, then glog's, as users type them (--pin-dir;
// gflags' own help prints the names as defined, --pin_dir). --helpfull
// still shows gflags' full list.
void PrintHelp() {
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);
  // The flags defined in a file `wanted`, or named in `names`.
  auto print = [&](auto&& wanted, std::set<std::string> names) {
    for (const gflags::CommandLineFlagInfo& f : flags) {
      if (!wanted(f.filename) && !names.contains(f.name)) continue;
      const std::string value = f.type == "bool"     ? ""
                                : f.type == "string" ? " VALUE"
                                                     : " N";
      std::cout << "  --" << Dashed(f.name) << value << "\n      " << f.description
                << " (default: " << (f.default_value.empty() ? "\"\"" : f.default_value)
                << ")\n";
    }
  };
  std::cout << "usage: xlbd [--config FILE] [OPTIONS]\n"
               "       xlbd --check-config FILE\n"
               "       xlbd --help | --version\n"
               "Options (one dash or two; --name=value or --name value; '_' for '-' works "
               "too):\n";
  print([](const std::string& file) { return file == __FILE__; }, {});
  std::cout << "Logging (glog's flags; logs go to stderr):\n";
  print([](const std::string&) { return false; }, {"v", "vmodule", "minloglevel"});
  std::cout << "--helpfull: every flag, glog's and gflags' too, in gflags' spelling.\n";
}

// Descriptors run out first under load (one per API or metrics client, per
// health probe in flight, per notify): take all the hard limit allows. The
// soft default of 1024 is for select(), which xlbd does not use.
void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    PLOG(WARNING) << "getrlimit(RLIMIT_NOFILE)";
    return;
  }
  const rlim_t before = limit.rlim_cur;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      PLOG(WARNING) << "raising the open files limit from " << before << " to " << limit.rlim_max;
      return;
    }
  }
  LOG(INFO) << "open files limit " << limit.rlim_cur << " (was " << before << ")";
}

}  // namespace

int main(int argc, char** argv) {
  FLAGS_logtostderr = true;
  gflags::SetUsageMessage("xlbd --config FILE | --check-config FILE");
  gflags::SetVersionString(xlb::kVersion);
  std::vector<std::string> args = DashesToUnderscores(argc, argv);
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--") break;
    if (args[i] == "--help" || args[i] == "-help" || args[i] == "-h" ||
        args[i] == "--helpshort" || args[i] == "-helpshort") {
      PrintHelp();
      return 0;
    }
  }
  if (!KnownFlags(args, argv)) return 1;
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  int cargc = static_cast<int>(cargs.size());
  char** cargv = cargs.data();
  gflags::ParseCommandLineFlags(&cargc, &cargv, true);
  google::InitGoogleLogging(argv[0]);
  if (cargc > 1) {
    std::cerr << "xlbd: unexpected argument '" << cargv[1] << "' (see --help)\n";
    return 2;
  }

  if (!FLAGS_check_config.empty()) {
    auto cfg = xlb::config::LoadConfigFile(FLAGS_check_config);
    if (!cfg.ok()) {
      std::cerr << cfg.status().message() << "\n";
      return 1;
    }
    std::cout << FLAGS_check_config << ": valid, " << cfg->services.size() << " services, "
              << cfg->vrrp.size() << " VRRP instances"
              << (cfg->bgp ? absl::StrCat(", BGP to ", cfg->bgp->neighbors.size(), " neighbours")
                           : "")
              << "\n";
    for (const std::string& w : xlb::bgp::ConfigWarnings(*cfg))
      std::cerr << FLAGS_check_config << ": warning: " << w << "\n";
    for (const std::string& w : xlb::config::ServiceWarnings(*cfg))
      std::cerr << FLAGS_check_config << ": warning: " << w << "\n";
    if (cfg->bgp && access(xlb::bgp::VtyshOptions{}.binary.c_str(), X_OK) != 0)
      std::cerr << FLAGS_check_config << ": warning: bgp: " << xlb::bgp::VtyshOptions{}.binary
                << " is missing: xlbd drives FRR's bgpd with it (install frr)\n";
    // Against this machine's addresses: what would make a VIP the source of
    // the director's own traffic to its reals. Warnings only.
    if (auto addresses = xlb::vrrp::ListAddresses(0); addresses.ok()) {
      for (const std::string& w :
           xlb::vrrp::VipSourceWarnings(*cfg, *addresses, [](const std::string& name) {
             return static_cast<uint32_t>(if_nametoindex(name.c_str()));
           }))
        std::cerr << FLAGS_check_config << ": warning: " << w << "\n";
    }
    return 0;
  }

  if (FLAGS_realtime_priority < 0 || FLAGS_realtime_priority > 99) {
    std::cerr << "xlbd: --realtime-priority " << FLAGS_realtime_priority
              << " is out of range (expected 1..99, or 0 for the normal scheduler)\n";
    return 2;
  }
  if (FLAGS_syn_flood_rate < 0 || FLAGS_syn_flood_rate > 1000000000) {
    std::cerr << "xlbd: --syn-flood-rate " << FLAGS_syn_flood_rate
              << " is out of range (0..1000000000 new flows per CPU and second; 0: no limit)\n";
    return 2;
  }

  xlb::dataplane::AttachMode xdp_mode;
  if (FLAGS_xdp_mode == "native") {
    xdp_mode = xlb::dataplane::AttachMode::kNative;
  } else if (FLAGS_xdp_mode == "generic") {
    xdp_mode = xlb::dataplane::AttachMode::kGeneric;
  } else {
    std::cerr << "xlbd: --xdp-mode '" << FLAGS_xdp_mode
              << "' is not a mode (expected native or generic)\n";
    return 2;
  }

  RaiseFileLimit();
  // First of all: one xlbd per pin directory (pin_lock.h). A second one
  // exits here, before it has touched the maps, the VIPs or the API socket.
  if (auto st = xlb::dataplane::EnsureBpffsDir(FLAGS_pin_dir); !st.ok()) {
    LOG(ERROR) << "xlbd could not start: " << st.message();
    return 1;
  }
  auto lock = xlb::xlbd::PinLock::Acquire(FLAGS_pin_dir);
  if (!lock.ok()) {
    LOG(ERROR) << "xlbd could not start: " << lock.status().message();
    return 1;
  }

  asio::io_context io;
  xlb::xlbd::Options options;
  options.config_path = FLAGS_config;
  options.pin_dir = FLAGS_pin_dir;
  options.state_dir = FLAGS_state_dir;
  options.detach_on_exit = FLAGS_detach_on_exit;
  options.xdp_mode = xdp_mode;
  options.vrrp_realtime_priority = FLAGS_realtime_priority;
  options.flood_rate = static_cast<uint32_t>(FLAGS_syn_flood_rate);
  options.vrrp_realtime_required =
      !gflags::GetCommandLineFlagInfoOrDie("realtime_priority").is_default;
  uint64_t watchdog_usec = 0;
  if (sd_watchdog_enabled(0, &watchdog_usec) > 0)
    options.systemd_watchdog = std::chrono::microseconds(watchdog_usec);
  if (FLAGS_main_loop_timeout_ms < 0 || FLAGS_main_loop_timeout_ms > 3600000) {
    std::cerr << "xlbd: --main-loop-timeout-ms " << FLAGS_main_loop_timeout_ms
              << " is out of range (0..3600000)\n";
    return 2;
  }
  if (FLAGS_main_loop_timeout_ms > 0)
    options.main_loop_timeout = std::chrono::milliseconds(FLAGS_main_loop_timeout_ms);
  else if (watchdog_usec > 0)
    options.main_loop_timeout = std::chrono::milliseconds(std::max<uint64_t>(watchdog_usec / 2000, 1));
  auto daemon = xlb::xlbd::Daemon::Start(io, options);
  if (!daemon.ok()) {
    LOG(ERROR) << "xlbd could not start: " << daemon.status().message();
    return 1;
  }
  sd_notify(0, "READY=1");
  asio::signal_set reload(io, SIGHUP);
  std::function<void()> wait_reload = [&] {
    reload.async_wait([&](std::error_code ec, int) {
      if (ec) return;
      (*daemon)->Reload();
      wait_reload();
    });
  };
  wait_reload();
  asio::signal_set stop(io, SIGTERM, SIGINT);
  stop.async_wait([&](std::error_code ec, int) {
    if (ec) return;
    reload.cancel();
    (*daemon)->Shutdown();
  });
  // An exception that escapes a handler ends xlbd as SIGTERM does (the VRRP
  // masters resign, the data plane keeps forwarding), and non-zero, so
  // systemd restarts it and the new xlbd adopts the maps.
  int rc = 0;
  try {
    io.run();
  } catch (const std::exception& e) {
    LOG(ERROR) << "exception escaped xlbd's main loop: " << e.what() << "; stopping as on SIGTERM";
    rc = 1;
  } catch (...) {
    LOG(ERROR) << "an exception of unknown type escaped xlbd's main loop; stopping as on SIGTERM";
    rc = 1;
  }
  if (rc != 0) {
    reload.cancel();
    stop.cancel();
    (*daemon)->Shutdown();
  }
  return rc != 0 || (*daemon)->failed() ? 1 : 0;
}
