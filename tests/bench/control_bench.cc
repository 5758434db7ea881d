// Control-plane benchmark (DESIGN.md, "Measuring"): how long xlbd takes to
// put a change into the data plane's maps.
//
//  - Runtime change: `xlbctl real set 192.0.2.10:80 203.0.113.11 --weight 0`
//    (then --weight 1, alternately) against a running xlbd. The clock starts
//    just before xlbctl is spawned and stops when the pinned maps show the
//    change complete: the real's weight in `reals` is the new one AND the
//    service has switched to its rebuilt Maglev table (weight 0 takes effect
//    at the first, weight 1 only at the second). Beside it: when the xlbctl
//    process exited (the call returned), and the time of `xlbctl status`, a
//    read-only call, which is the floor: process start-up plus one API round
//    trip.
//  - Config apply: xlbd started from scratch (fresh pin directory, nothing
//    attached) with 100 services x 100 reals, and with 1 service x 3 reals
//    as the baseline, interleaved. The clock starts just before xlbd is
//    spawned and stops when every service is in `services` and the Maglev
//    table it points at has every slot set; afterwards (untimed) the maps
//    are checked to hold exactly the configured reals of every service.
//
// Every real has a real next hop: the reals' subnet is connected on xlbt0
// and each real has a permanent neighbour entry, so xlbd's netlink
// resolution succeeds as it would on a director.
//
// Needs root. main() moves the process into its own network and mount
// namespaces with a private bpffs, like the packet tests; the xlbd and
// xlbctl children inherit them, so nothing here touches the host.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fcntl.h>
#include <gflags/gflags.h>
#include <glog/logging.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/maps.h"
#include "tests/packet/sandbox.h"

DEFINE_string(xlbd, "", "the xlbd binary (default: ../../controlplane/xlbd from this binary)");
DEFINE_string(xlbctl, "", "the xlbctl binary (default: ../../controlplane/xlbctl from this binary)");
DEFINE_int32(trials, 30, "runtime changes timed (weight 0 and 1 alternately; at least 2)");
DEFINE_int32(starts, 3, "xlbd starts timed per configuration (1x3 and 100x100, interleaved)");
DEFINE_bool(json, false, "print one JSON object on stdout instead of a table");

extern char** environ;

namespace xlb::testing {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr char kVip[] = "192.0.2.10";
constexpr char kReal[] = "203.0.113.11";  // the real whose weight is changed
constexpr uint16_t kPort = 80;
constexpr int kFirstReal = 10;            // reals are 203.0.113.10 ...
constexpr int kGoalMs = 10;               // runtime changes within 10 ms
constexpr int kMaxTrials = 10000;
constexpr int kMaxStarts = 20;

// Every wait is bounded.
constexpr auto kChangeDeadline = std::chrono::seconds(2);   // call -> map change
constexpr auto kCallDeadline = std::chrono::seconds(5);     // an xlbctl process
constexpr auto kApiDeadline = std::chrono::seconds(30);     // xlbd start -> API up
constexpr auto kApplyDeadline = std::chrono::seconds(120);  // xlbd start -> maps programmed
constexpr auto kStopDeadline = std::chrono::seconds(10);    // SIGTERM -> exit

// What must be undone however the run ends.
struct Cleanup {
  std::string bpffs_dir;
  std::string temp_dir;
  std::set<pid_t> children;
  std::string log;  // the log of the xlbd being waited for, shown on failure
} g_cleanup;

// Set by SIGINT/SIGTERM; every wait loop checks it, so an interrupted run
// still stops xlbd and removes what it made.
volatile sig_atomic_t g_interrupted = 0;

void OnSignal(int) { g_interrupted = 1; }

void StopChild(pid_t pid);

void CleanupAll() {
  for (pid_t pid : std::set<pid_t>(g_cleanup.children)) StopChild(pid);
  if (!g_cleanup.bpffs_dir.empty()) {
    std::error_code ec;
    // Pins are files on the private bpffs; unmounting drops them too.
    for (auto& e : fs::directory_iterator(g_cleanup.bpffs_dir, ec)) fs::remove_all(e.path(), ec);
    LeaveSandbox(g_cleanup.bpffs_dir);
    g_cleanup.bpffs_dir.clear();
  }
  if (!g_cleanup.temp_dir.empty()) {
    std::error_code ec;
    fs::remove_all(g_cleanup.temp_dir, ec);
    g_cleanup.temp_dir.clear();
  }
}

std::string Tail(const std::string& path, size_t lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) all.push_back(line);
  std::string out;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
    out += "  " + all[i] + "\n";
  return out;
}

[[noreturn]] void Fail(const std::string& message) {
  fprintf(stderr, "control_bench: %s\n", message.c_str());
  if (!g_cleanup.log.empty())
    fprintf(stderr, "last lines of xlbd's log (%s):\n%s", g_cleanup.log.c_str(),
            Tail(g_cleanup.log, 20).c_str());
  CleanupAll();
  exit(1);
}

void CheckInterrupted() {
  if (g_interrupted) Fail("interrupted");
}

template <typename T>
T Check(absl::StatusOr<T> v, const std::string& what) {
  if (!v.ok()) Fail(what + ": " + v.status().ToString());
  return std::move(*v);
}

double Ms(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Nearest rank.
double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p / 100 * v.size()));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

// ---- child processes --------------------------------------------------------

struct Child {
  pid_t pid = -1;
  int pidfd = -1;  // readable when the process has exited
};

// Starts `argv` with stdin from /dev/null and stdout and stderr appended to
// `log`.
Child Spawn(const std::vector<std::string>& argv, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  Child c;
  int err = posix_spawn(&c.pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) Fail("could not start " + argv[0] + ": " + strerror(err));
  g_cleanup.children.insert(c.pid);
  c.pidfd = static_cast<int>(syscall(SYS_pidfd_open, c.pid, 0));
  if (c.pidfd < 0) {
    int e = errno;
    StopChild(c.pid);
    Fail(std::string("pidfd_open: ") + strerror(e));
  }
  return c;
}

// The exit status (as waitpid gives it) if the child has exited by now.
std::optional<int> Reap(pid_t pid) {
  int status = 0;
  pid_t r = waitpid(pid, &status, WNOHANG);
  if (r == pid || (r < 0 && errno == ECHILD)) {
    g_cleanup.children.erase(pid);
    return status;
  }
  return std::nullopt;
}

// Waits until the child exits or `deadline` passes.
std::optional<int> WaitExit(Child& c, Clock::time_point deadline) {
  for (;;) {
    CheckInterrupted();
    if (auto st = Reap(c.pid)) {
      if (c.pidfd >= 0) close(c.pidfd);
      c.pidfd = -1;
      return st;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p = {c.pidfd, POLLIN, 0};
    poll(&p, 1, static_cast<int>(std::min<long>(left.count() + 1, 1000)));
  }
}

// SIGTERM, then SIGKILL when it has not exited by the deadline.
void StopChild(pid_t pid) {
  if (!g_cleanup.children.contains(pid)) return;
  kill(pid, SIGTERM);
  auto deadline = Clock::now() + kStopDeadline;
  while (Clock::now() < deadline) {
    if (Reap(pid)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  fprintf(stderr, "control_bench: process %d did not stop on SIGTERM in %llds; killing it\n", pid,
          static_cast<long long>(std::chrono::seconds(kStopDeadline).count()));
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  g_cleanup.children.erase(pid);
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by ") + strsignal(WTERMSIG(status));
  return "ended (status " + std::to_string(status) + ")";
}

std::string SelfDir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) Fail(std::string("readlink /proc/self/exe: ") + strerror(errno));
  buf[n] = 0;
  return fs::path(buf).parent_path().string();
}

std::string Binary(const std::string& flag, const std::string& name) {
  std::string path =
      flag.empty() ? (fs::path(SelfDir()) / "../../controlplane" / name).lexically_normal().string()
                   : flag;
  if (access(path.c_str(), X_OK) != 0)
    Fail(name + " not found at " + path + " (build it: ninja -C build controlplane/" + name +
         ", or give --" + name + ")");
  return path;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) Fail("could not write " + path);
}

// ---- xlbd -------------------------------------------------------------------

struct Paths {
  std::string xlbd, xlbctl, dir, bpffs;
};

std::string RealAddress(int i) { return "203.0.113." + std::to_string(kFirstReal + i); }

// A config of `services` DR services on port 80 (VIP 192.0.2.10 when there
// is one, else 192.0.2.1, .2, ...), each with the reals 203.0.113.10 ...
std::string Config(const std::string& socket, int services, int reals) {
  std::ostringstream y;
  y << "interfaces: [xlbt0]\n"
    << "api: {socket: " << socket << ", metrics: \"\"}\n"
    << "services:\n";
  for (int s = 0; s < services; ++s) {
    y << "  - name: svc" << s << "\n"
      << "    vip: " << (services == 1 ? std::string(kVip) : "192.0.2." + std::to_string(s + 1))
      << "\n"
      << "    port: " << kPort << "\n"
      << "    health: {type: none}\n"
      << "    reals:\n";
    for (int r = 0; r < reals; ++r) y << "      - {address: " << RealAddress(r) << "}\n";
  }
  return y.str();
}

struct Xlbd {
  Child child;
  std::string socket, pin_dir, log;
};

// Starts xlbd on `config` with a fresh pin directory.
Xlbd StartXlbd(const Paths& p, const std::string& name, int services, int reals) {
  Xlbd d;
  d.socket = p.dir + "/" + name + ".sock";
  d.pin_dir = p.bpffs + "/" + name;
  d.log = p.dir + "/" + name + ".log";
  const std::string config = p.dir + "/" + name + ".yaml";
  WriteFile(config, Config(d.socket, services, reals));
  std::error_code ec;
  fs::remove_all(d.pin_dir, ec);
  g_cleanup.log = d.log;
  // --detach-on-exit: the next start finds nothing attached or pinned.
  d.child = Spawn({p.xlbd, "--config", config, "--pin-dir", d.pin_dir, "--detach-on-exit"}, d.log);
  return d;
}

void CheckAlive(Xlbd& d) {
  CheckInterrupted();
  if (auto st = Reap(d.child.pid)) {
    d.child.pid = -1;
    Fail("xlbd " + DescribeExit(*st));
  }
}

bool Connects(const std::string& socket) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un a = {};
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof(a.sun_path), "%s", socket.c_str());
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

void WaitForApi(Xlbd& d, Clock::time_point start) {
  while (!Connects(d.socket)) {
    CheckAlive(d);
    if (Clock::now() - start > kApiDeadline)
      Fail("xlbd's API did not come up on " + d.socket + " within " +
           std::to_string(std::chrono::seconds(kApiDeadline).count()) + " s");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void StopXlbd(Xlbd& d) {
  if (d.child.pid > 0) StopChild(d.child.pid);
  if (d.child.pidfd >= 0) close(d.child.pidfd);
  d.child = {};
  std::error_code ec;
  fs::remove_all(d.pin_dir, ec);
  g_cleanup.log.clear();
}

// ---- maps -------------------------------------------------------------------

xlb_service_key ServiceKey(const std::string& vip) {
  xlb_service_key k = {};
  if (inet_pton(AF_INET, vip.c_str(), &k.addr[0]) != 1) Fail("bad VIP " + vip);
  k.port = htons(kPort);
  k.proto = IPPROTO_TCP;
  k.family = XLB_FAMILY_V4;
  return k;
}

std::vector<std::pair<xlb_service_key, xlb_service>> ListServices(const dataplane::Maps& maps) {
  std::vector<std::pair<xlb_service_key, xlb_service>> out;
  xlb_service_key key, next;
  bool first = true;
  for (;;) {
    if (!Check(maps.services.NextKey(first ? nullptr : &key, &next), "iterate services")) break;
    first = false;
    key = next;
    xlb_service v;
    if (Check(maps.services.Lookup(&key, &v), "read services")) out.push_back({key, v});
    if (out.size() > XLB_MAX_SERVICES) Fail("services map: iteration does not end");
  }
  return out;
}

// Reads every slot of a Maglev table (an inner map, by id) in batches.
std::vector<uint32_t> ReadTable(uint32_t map_id, uint32_t size) {
  int fd = bpf_map_get_fd_by_id(map_id);
  if (fd < 0) Fail("open Maglev table map " + std::to_string(map_id) + ": " + strerror(errno));
  std::vector<uint32_t> keys(size), values(size), out(size, 0);
  uint32_t done = 0, in_batch = 0, out_batch = 0;
  bool first = true;
  while (done < size) {
    uint32_t count = size - done;
    int rc = bpf_map_lookup_batch(fd, first ? nullptr : &in_batch, &out_batch, keys.data() + done,
                                  values.data() + done, &count, nullptr);
    if (rc != 0 && errno != ENOENT) {
      int e = errno;
      close(fd);
      Fail("read Maglev table map " + std::to_string(map_id) + ": " + strerror(e));
    }
    done += count;
    if (rc != 0) break;
    in_batch = out_batch;
    first = false;
  }
  close(fd);
  if (done != size) Fail("Maglev table map " + std::to_string(map_id) + ": read " +
                         std::to_string(done) + " of " + std::to_string(size) + " slots");
  for (uint32_t i = 0; i < done; ++i)
    if (keys[i] < size) out[keys[i]] = values[i];
  return out;
}

// The map id of the Maglev table the service's packets use now.
std::optional<uint32_t> ActiveTableId(const dataplane::Maps& maps, const xlb_service& s) {
  uint32_t outer = s.id * 2 + (s.active_table & 1), id = 0;
  if (!Check(maps.maglev_tables.Lookup(&outer, &id), "read maglev_tables") || id == 0)
    return std::nullopt;
  return id;
}

std::vector<std::pair<uint32_t, xlb_real>> ListReals(const dataplane::Maps& maps) {
  std::vector<std::pair<uint32_t, xlb_real>> out;
  for (uint32_t id = 1; id < XLB_MAX_REALS; ++id) {
    xlb_real r;
    if (Check(maps.reals.Lookup(&id, &r), "read reals") && r.service_id != 0 &&
        !(r.flags & XLB_REAL_F_RETIRED))
      out.push_back({id, r});
  }
  return out;
}

// ---- runtime change ---------------------------------------------------------

struct ChangeResult {
  std::vector<double> to_map_ms, weight_ms, call_ms, status_ms;
};

ChangeResult RuntimeChanges(const Paths& p) {
  Xlbd d = StartXlbd(p, "change", 1, 3);
  WaitForApi(d, Clock::now());
  auto maps = Check(dataplane::Maps::OpenPinned(d.pin_dir), "open the pinned maps");

  const xlb_service_key skey = ServiceKey(kVip);
  xlb_service svc;
  if (!Check(maps.services.Lookup(&skey, &svc), "read services"))
    Fail(std::string("service ") + kVip + ":80 is not in the services map");
  in_addr real_addr;
  inet_pton(AF_INET, kReal, &real_addr);
  uint32_t real_id = 0;
  for (const auto& [id, r] : ListReals(maps))
    if (r.service_id == svc.id && r.family == XLB_FAMILY_V4 && r.addr[0] == real_addr.s_addr)
      real_id = id;
  if (real_id == 0) Fail(std::string("real ") + kReal + " of " + kVip + ":80 is not in reals");
  xlb_real real;
  Check(maps.reals.Lookup(&real_id, &real), "read reals");
  if (real.weight != 1) Fail("real " + std::string(kReal) + " starts with weight " +
                             std::to_string(real.weight) + ", want 1");
  if (!(real.flags & XLB_REAL_F_NEXTHOP))
    Fail(std::string("real ") + kReal + " has no resolved next hop: the sandbox's neighbours "
         "did not take");

  const std::string service = std::string(kVip) + ":" + std::to_string(kPort);
  const std::string ctl_log = p.dir + "/xlbctl.log";
  ChangeResult res;
  for (int t = 0; t < FLAGS_trials; ++t) {
    const uint32_t want = t % 2 ? 1 : 0;
    Check(maps.services.Lookup(&skey, &svc), "read services");
    const uint32_t table_before = svc.active_table;

    const auto t0 = Clock::now();
    Child ctl = Spawn({p.xlbctl, "--socket", d.socket, "real", "set", service, kReal, "--weight",
                       std::to_string(want)},
                      ctl_log);
    std::optional<Clock::time_point> weight_at, table_at, exit_at;
    std::optional<int> exit_status;
    while (!weight_at || !table_at) {
      CheckInterrupted();
      const auto now = Clock::now();
      if (!weight_at && Check(maps.reals.Lookup(&real_id, &real), "read reals") &&
          real.weight == want)
        weight_at = now;
      if (!table_at && Check(maps.services.Lookup(&skey, &svc), "read services") &&
          svc.active_table != table_before)
        table_at = now;
      if (!exit_at) {
        if ((exit_status = Reap(ctl.pid))) exit_at = now;
      }
      if (now - t0 > kChangeDeadline) {
        Fail("trial " + std::to_string(t) + ": weight " + std::to_string(want) + " of " + kReal +
             (weight_at ? " reached reals, but the service did not switch Maglev tables"
                        : " did not reach the reals map") +
             " within 2 s" +
             (exit_status ? "; xlbctl " + DescribeExit(*exit_status) + ":\n" + Tail(ctl_log, 5)
                          : ""));
      }
    }
    if (!exit_at) {
      exit_status = WaitExit(ctl, t0 + kCallDeadline);
      exit_at = Clock::now();
      if (!exit_status) Fail("xlbctl real set did not return within 5 s");
    }
    if (ctl.pidfd >= 0) close(ctl.pidfd);
    if (!WIFEXITED(*exit_status) || WEXITSTATUS(*exit_status) != 0)
      Fail("xlbctl real set " + DescribeExit(*exit_status) + ":\n" + Tail(ctl_log, 5));
    res.weight_ms.push_back(Ms(t0, *weight_at));
    res.to_map_ms.push_back(Ms(t0, std::max(*weight_at, *table_at)));
    res.call_ms.push_back(Ms(t0, *exit_at));

    // The floor: a read-only call, process start-up and one round trip.
    const auto s0 = Clock::now();
    Child st = Spawn({p.xlbctl, "--socket", d.socket, "status"}, ctl_log);
    auto status = WaitExit(st, s0 + kCallDeadline);
    const auto s1 = Clock::now();
    if (!status) Fail("xlbctl status did not return within 5 s");
    if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0)
      Fail("xlbctl status " + DescribeExit(*status) + ":\n" + Tail(ctl_log, 5));
    res.status_ms.push_back(Ms(s0, s1));
    CheckAlive(d);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  StopXlbd(d);
  return res;
}

// ---- config apply -----------------------------------------------------------

// Starts xlbd from scratch on `services` x `reals`; returns the ms from just
// before it was spawned until the maps hold every service with a full
// Maglev table.
double ApplyOnce(const Paths& p, const std::string& name, int services, int reals) {
  const auto t0 = Clock::now();
  Xlbd d = StartXlbd(p, name, services, reals);
  std::optional<dataplane::Maps> maps;
  // A service's table is read in full only when the service's map entry
  // changed since the last look (a new table was published).
  std::map<std::pair<uint32_t, uint32_t>, uint64_t> checked;  // (id, gen) -> last value seen
  std::set<std::pair<uint32_t, uint32_t>> full;
  std::optional<Clock::time_point> done;
  while (!done) {
    CheckAlive(d);
    if (Clock::now() - t0 > kApplyDeadline)
      Fail(name + ": the maps did not hold " + std::to_string(services) + " services with full " +
           "Maglev tables within " +
           std::to_string(std::chrono::seconds(kApplyDeadline).count()) + " s (" +
           std::to_string(full.size()) + " had)");
    if (!maps) {
      // Until xlbd has pinned every map this fails; keep trying.
      if (auto m = dataplane::Maps::OpenPinned(d.pin_dir); m.ok()) maps = std::move(*m);
    }
    if (maps) {
      auto list = ListServices(*maps);
      size_t n_full = 0;
      for (const auto& [key, v] : list) {
        const std::pair<uint32_t, uint32_t> sid{v.id, v.gen};
        const uint64_t seen = (uint64_t{v.active_table} << 32) | v.table_size;
        auto it = checked.find(sid);
        if (it == checked.end() || it->second != seen) {
          checked[sid] = seen;
          full.erase(sid);
          if (auto table = ActiveTableId(*maps, v)) {
            auto slots = ReadTable(*table, v.table_size);
            if (std::find(slots.begin(), slots.end(), 0u) == slots.end()) full.insert(sid);
          }
        }
        n_full += full.contains(sid);
      }
      if (list.size() == static_cast<size_t>(services) && n_full == list.size()) done = Clock::now();
    }
    if (!done) std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  const double ms = Ms(t0, *done);

  // Untimed: the maps hold exactly what was configured. Every service has
  // `reals` live reals with weight 1 and a next hop, and its table names
  // each of them and nothing else.
  std::map<uint32_t, std::set<uint32_t>> reals_of;  // service id -> real ids
  for (const auto& [id, r] : ListReals(*maps)) {
    if (r.weight != 1 || !(r.flags & XLB_REAL_F_NEXTHOP))
      Fail(name + ": real id " + std::to_string(id) + " has weight " + std::to_string(r.weight) +
           (r.flags & XLB_REAL_F_NEXTHOP ? "" : " and no resolved next hop"));
    reals_of[r.service_id].insert(id);
  }
  auto list = ListServices(*maps);
  if (list.size() != static_cast<size_t>(services))
    Fail(name + ": " + std::to_string(list.size()) + " services in the map after the apply");
  for (const auto& [key, v] : list) {
    const auto& ids = reals_of[v.id];
    auto table = ActiveTableId(*maps, v);
    if (!table) Fail(name + ": service id " + std::to_string(v.id) + " lost its table");
    auto slots = ReadTable(*table, v.table_size);
    std::set<uint32_t> used(slots.begin(), slots.end());
    if (ids.size() != static_cast<size_t>(reals) || used != ids)
      Fail(name + ": service id " + std::to_string(v.id) + " has " + std::to_string(ids.size()) +
           " reals in the map and " + std::to_string(used.size()) +
           " distinct ids in its table, want " + std::to_string(reals) + " of each, the same");
  }
  // xlbd serves its API once the config is applied; stopping it then is a
  // clean stop (it detaches and unpins).
  WaitForApi(d, t0);
  maps.reset();
  StopXlbd(d);
  return ms;
}

// ---- setup and output -------------------------------------------------------

// The reals' subnet is connected on xlbt0 and every real has a permanent
// neighbour entry (MAC 02:00:00:00:01:NN, NN its last octet in hex).
void AddRealNeighbours(const std::string& dir, int reals) {
  std::ostringstream batch;
  batch << "address add 203.0.113.1/24 dev xlbt0\n";
  for (int r = 0; r < reals; ++r) {
    char mac[32];
    snprintf(mac, sizeof(mac), "02:00:00:00:01:%02x", kFirstReal + r);
    batch << "neigh replace " << RealAddress(r) << " lladdr " << mac
          << " dev xlbt0 nud permanent\n";
  }
  const std::string file = dir + "/neighbours.batch";
  WriteFile(file, batch.str());
  if (system(("ip -batch " + file + " >&2").c_str()) != 0)
    Fail("could not add the reals' subnet and neighbours on xlbt0");
}

int Main(const std::string& bpffs) {
  if (FLAGS_trials < 2 || FLAGS_trials > kMaxTrials)
    Fail("--trials must be between 2 and " + std::to_string(kMaxTrials));
  if (FLAGS_starts < 1 || FLAGS_starts > kMaxStarts)
    Fail("--starts must be between 1 and " + std::to_string(kMaxStarts));
  Paths p;
  p.xlbd = Binary(FLAGS_xlbd, "xlbd");
  p.xlbctl = Binary(FLAGS_xlbctl, "xlbctl");
  p.bpffs = bpffs;
  char dir[] = "/tmp/xlb-control-bench.XXXXXX";
  if (!mkdtemp(dir)) Fail(std::string("mkdtemp: ") + strerror(errno));
  p.dir = g_cleanup.temp_dir = dir;
  AddRealNeighbours(p.dir, 100);

  ChangeResult change = RuntimeChanges(p);

  std::vector<double> apply_small, apply_large;
  for (int i = 0; i < FLAGS_starts; ++i) {
    apply_small.push_back(ApplyOnce(p, "apply-1x3-" + std::to_string(i), 1, 3));
    apply_large.push_back(ApplyOnce(p, "apply-100x100-" + std::to_string(i), 100, 100));
  }

  const double to_map = Median(change.to_map_ms), to_map_p90 = Percentile(change.to_map_ms, 90);
  const double weight = Median(change.weight_ms), call = Median(change.call_ms);
  const double status = Median(change.status_ms);
  const double small = Median(apply_small), large = Median(apply_large);

  if (FLAGS_json) {
    printf("{\"set_weight_to_map_ms\": %.1f, \"set_weight_to_map_p90_ms\": %.1f, "
           "\"xlbctl_call_ms\": %.1f, \"xlbctl_status_ms\": %.1f, \"apply_1x3_ms\": %.1f, "
           "\"apply_100x100_ms\": %.1f, \"trials\": %d}\n",
           to_map, to_map_p90, call, status, small, large, FLAGS_trials);
    return 0;
  }
  auto range = [](const std::vector<double>& v) {
    auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    char s[48];
    snprintf(s, sizeof(s), "%.1f..%.1f", *lo, *hi);
    return std::string(s);
  };
  printf("xlb control plane: xlbd and xlbctl as processes, in a private namespace\n");
  printf("runtime change: %d calls of `xlbctl real set %s:%d %s --weight 0|1`, alternately;\n"
         "apply: xlbd started from scratch, %d times per configuration, interleaved\n\n",
         FLAGS_trials, kVip, kPort, kReal, FLAGS_starts);
  printf("%-26s %8s %16s  %s\n", "figure", "ms", "min..max", "");
  printf("%-26s %8.1f %16s  %s\n", "set_weight_to_map", to_map, range(change.to_map_ms).c_str(),
         "median: xlbctl spawned -> weight in `reals` and Maglev table switched");
  printf("%-26s %8.1f %16s  %s\n", "set_weight_to_map_p90", to_map_p90, "", "90th percentile");
  printf("%-26s %8.1f %16s  %s\n", "  weight in `reals` only", weight,
         range(change.weight_ms).c_str(), "median: the first of the two map writes");
  printf("%-26s %8.1f %16s  %s\n", "xlbctl_call", call, range(change.call_ms).c_str(),
         "median: xlbctl spawned -> exited (the call returned)");
  printf("%-26s %8.1f %16s  %s\n", "xlbctl_status", status, range(change.status_ms).c_str(),
         "median: `xlbctl status`, read-only: process start-up + one API call");
  printf("%-26s %8.1f %16s  %s\n", "apply_1x3", small, range(apply_small).c_str(),
         "median: xlbd spawned -> 1 service x 3 reals in the maps");
  printf("%-26s %8.1f %16s  %s\n", "apply_100x100", large, range(apply_large).c_str(),
         "median: xlbd spawned -> 100 services x 100 reals in the maps");
  printf("\ngoal: a runtime change in the data plane within %d ms of the call: median %.1f ms, "
         "p90 %.1f ms -> %s\n",
         kGoalMs, to_map, to_map_p90, to_map <= kGoalMs ? "met" : "NOT met");
  return 0;
}

}  // namespace
}  // namespace xlb::testing

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "control_bench [--trials N] [--starts N] [--json] [--xlbd PATH] [--xlbctl PATH]: "
      "time from `xlbctl real set --weight` to the map change, and from xlbd's start to its "
      "config in the maps (needs root)");
  FLAGS_logtostderr = true;
  FLAGS_minloglevel = google::GLOG_WARNING;
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  if (argc > 1) {
    fprintf(stderr, "control_bench: unexpected argument '%s' (see --help)\n", argv[1]);
    return 1;
  }
  if (geteuid() != 0) {
    fprintf(stderr, "control_bench needs root (BPF, namespaces)\n");
    return 1;
  }
  // Nothing is attached, pinned or mounted on the host; xlbd and xlbctl
  // inherit the namespaces.
  auto bpffs = xlb::testing::EnterSandbox(/*with_bpffs=*/true);
  if (!bpffs.ok()) {
    fprintf(stderr, "control_bench: %s\n", std::string(bpffs.status().message()).c_str());
    return 1;
  }
  xlb::testing::g_cleanup.bpffs_dir = *bpffs;
  struct sigaction sa = {};
  sa.sa_handler = xlb::testing::OnSignal;  // no SA_RESTART: poll() returns at once
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  int rc = xlb::testing::Main(*bpffs);
  xlb::testing::CleanupAll();
  return rc;
}
