// Program benchmark: ns/packet of xlb's XDP program under BPF_PROG_TEST_RUN,
// path by path, beside the floor (xlb_floor_tx: swap MACs, XDP_TX) measured
// in the same run, as a ratio (DESIGN.md, "Measuring").
//
// Method. Every path is timed the same way: batches of N calls with
// repeat=1 (a repeat>1 call would rerun the program on the frame it already
// rewrote), each call's time being the kernel's own `duration` (it excludes
// the syscall and the copying of the frame in and out). A batch's figure is
// the mean over its calls; a path's figure is the median of its batches.
// Batches are interleaved path by path (floor, hit, new, pass, floor, ...)
// so that the noise of a shared machine falls on all paths alike. One
// untimed round warms caches and fills the connection table first.
//
// Needs root. main() moves the process into its own network and mount
// namespaces, like the packet tests, so nothing here touches the host.
#include <bpf/libbpf.h>
#include <gflags/gflags.h>
#include <glog/logging.h>
#include <linux/bpf.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bpf/baseline.skel.h"
#include "dataplane/program.h"
#include "dataplane/service_table.h"
#include "dataplane/stats.h"
#include "dataplane/test_run.h"
#include "tests/packet/fake_resolver.h"
#include "tests/packet/packet_builder.h"
#include "tests/packet/sandbox.h"

DEFINE_int32(batches, 20, "timed batches per path (at least 10)");
DEFINE_int32(calls, 2000, "repeat=1 calls per batch");
DEFINE_int32(conn_table_size, XLB_CONN_TABLE_DEFAULT,
             "connection-table entries (to see what a small, cache-resident table costs)");
DEFINE_bool(sync_per_flow, false,
            "dr_new_flow_sync with one ring record per flow event (the fallback of kernels "
            "without BPF_F_TIMER_CPU_PIN) instead of batches");
DEFINE_bool(json, false, "print one JSON object on stdout instead of a table");

namespace xlb::testing {
namespace {

using model::IpAddress;

constexpr char kVip[] = "192.0.2.10";
constexpr char kNotVip[] = "192.0.2.20";  // an address with no service
constexpr char kNatVip[] = "192.0.2.30";  // a NAT service: port 80 -> reals' 8080
constexpr char kTunVip[] = "192.0.2.40";  // a tunnel service (IPIP, source prefix, MSS clamp)
constexpr char kClient[] = "198.51.100.2";
constexpr uint16_t kHitPort = 40000;       // the established flow's client port
// New flows: each SYN of the run is a flow never seen before (its own client
// address and port), so every one is a miss and an insert into the
// connection table, as a new connection is. Up to this many, then repeats.
constexpr size_t kMaxNewFlows = 1 << 20;

// Upper bounds that keep a run short whatever the flags say.
constexpr int kMaxBatches = 1000;
constexpr int kMaxCalls = 1000000;

[[noreturn]] void Fail(const std::string& message) {
  fprintf(stderr, "program_bench: %s\n", message.c_str());
  exit(1);
}

template <typename T>
T Check(absl::StatusOr<T> v, const std::string& what) {
  if (!v.ok()) Fail(what + ": " + v.status().ToString());
  return std::move(*v);
}

void Check(const absl::Status& s, const std::string& what) {
  if (!s.ok()) Fail(what + ": " + s.ToString());
}


std::string TcpFrom(const std::string& src, const char* dst, uint16_t sport, uint8_t flags) {
  Frame f;
  f.saddr = *model::IpAddress::Parse(src);
  f.daddr = *model::IpAddress::Parse(dst);
  f.sport = sport;
  f.dport = 80;
  f.tcp_flags = flags;
  return Build(f);
}

std::string Tcp(const char* dst, uint16_t sport, uint8_t flags) {
  return TcpFrom(kClient, dst, sport, flags);
}

// One measured path: a program, the frames it is fed in turn, the verdict
// every call must return, and its goal as a ratio to the floor (0: none).
struct Path {
  const char* name;
  int prog_fd;
  std::vector<std::string> frames;
  uint32_t want_verdict;
  double goal;
  std::vector<double> batch_ns;  // mean ns per call of each timed batch
  size_t next = 0;               // the next frame: runs continue where the last stopped
  // A ring of flow events read after each batch, untimed, as xlbd reads it
  // (a ring nobody reads fills, and a full ring is another, cheaper path).
  ring_buffer* events = nullptr;
};

// Runs `calls` repeat=1 calls of `path`, checking every verdict; returns the
// mean kernel-measured duration per call.
double RunBatch(Path& path, int calls) {
  uint64_t total_ns = 0;
  for (int i = 0; i < calls; ++i) {
    const size_t index = path.next++ % path.frames.size();
    const std::string& frame = path.frames[index];
    auto r = dataplane::TestRun(path.prog_fd, frame, 0, 1);
    if (!r.ok()) Fail(std::string(path.name) + ": " + r.status().ToString());
    if (r->verdict != path.want_verdict)
      Fail(std::string(path.name) + ": verdict " + dataplane::XdpVerdictName(r->verdict) + " (" +
           std::to_string(r->verdict) + "), want " + dataplane::XdpVerdictName(path.want_verdict) +
           " (frame " + std::to_string(index) + ")");
    total_ns += r->duration_ns;
  }
  if (path.events && ring_buffer__consume(path.events) < 0)
    Fail(std::string(path.name) + ": could not read the ring of flow events");
  return static_cast<double>(total_ns) / calls;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double Round(double v, double scale) { return static_cast<double>(llround(v * scale)) / scale; }

// Runs `frames` once each and checks that the global counter `stat` went up
// by exactly their number and `other` not at all: the path is the one its
// name says (a "hit" really hits the connection table, a SYN really misses).
void CheckCounters(dataplane::Program& prog, Path& path, int stat, int other) {
  auto before = Check(dataplane::ReadGlobalCounters(prog.maps()), "read counters");
  const uint64_t n = std::min<size_t>(path.frames.size(), 256);
  RunBatch(path, static_cast<int>(n));
  auto after = Check(dataplane::ReadGlobalCounters(prog.maps()), "read counters");
  if (after[stat] - before[stat] != n || after[other] != before[other])
    Fail(std::string(path.name) + ": counter " + std::string(dataplane::GlobalStatName(stat)) +
         " went up by " + std::to_string(after[stat] - before[stat]) + " (want " +
         std::to_string(n) + ") and " + std::string(dataplane::GlobalStatName(other)) + " by " +
         std::to_string(after[other] - before[other]) + " (want 0)");
}

int Main() {
  if (FLAGS_batches < 10 || FLAGS_batches > kMaxBatches)
    Fail("--batches must be between 10 and " + std::to_string(kMaxBatches));
  if (FLAGS_calls < 1 || FLAGS_calls > kMaxCalls)
    Fail("--calls must be between 1 and " + std::to_string(kMaxCalls));

  // The floor.
  std::unique_ptr<baseline_bpf, decltype(&baseline_bpf__destroy)> baseline(
      baseline_bpf__open_and_load(), &baseline_bpf__destroy);
  if (!baseline) Fail("could not load the baseline program (bpf/baseline.bpf.c)");
  int floor_fd = bpf_program__fd(baseline->progs.xlb_floor_tx);

  // xlb: no pins, default map sizes, one service with three reals.
  dataplane::ProgramOptions options;
  options.pin_dir = "";
  options.conn_table_size = FLAGS_conn_table_size;
  options.nat_reply_table_size = FLAGS_conn_table_size;  // one reply entry per NAT flow
  // Every SYN of dr_new_flow makes its entry, as a new connection's does:
  // the SYN flood rule (bpf/flood.h) would stop that after the first
  // 100000 of a second and measure another path.
  options.flood_rate = 0;
  auto prog = Check(dataplane::Program::Load(options), "load the xlb program");
  FakeResolver resolver;
  Check(AddSandboxInterfaces(prog->maps()), "redirect targets");
  auto table = Check(dataplane::ServiceTable::Adopt(&prog->maps(), &resolver), "adopt maps");
  model::Service service{Check(model::ParseServiceKey("192.0.2.10:80/tcp"), "key"), {}};
  Check(table->Upsert(service), "add service 192.0.2.10:80/tcp");
  std::vector<model::RealSpec> reals;
  for (const char* r : {"203.0.113.11", "203.0.113.12", "203.0.113.13"}) {
    model::RealSpec spec;
    spec.address = *model::IpAddress::Parse(r);
    reals.push_back(spec);
  }
  Check(table->SetReals(service.key, reals), "set reals");
  model::Service nat{Check(model::ParseServiceKey("192.0.2.30:80/tcp"), "key"), {}};
  nat.options.forward = model::Forward::kNat;
  Check(table->Upsert(nat), "add service 192.0.2.30:80/tcp");
  for (auto& r : reals) r.port = 8080;
  Check(table->SetReals(nat.key, reals), "set NAT reals");

  // The tunnel service: DR's reals, wrapped in IPIP from 192.0.2.128/25.
  model::Service tun{Check(model::ParseServiceKey("192.0.2.40:80/tcp"), "key"), {}};
  Check(table->Upsert(tun), "add service 192.0.2.40:80/tcp");
  for (auto& r : reals) r.port = 0;
  Check(table->SetReals(tun.key, reals), "set tunnel reals");
  xlb_tunnel ipip{};
  ipip.flags = XLB_TUN_F_MSS_CLAMP;
  ipip.src[0] = model::IpAddress::Parse("192.0.2.128")->words()[0];
  ipip.src_hostmask[0] = model::IpAddress::Parse("0.0.0.127")->words()[0];
  ipip.mtu = 1500;
  ipip.mss = 1440;
  ipip.overhead = 20;
  Check(MakeTunnelService(prog->maps(), tun.key, ipip), "make 192.0.2.40:80/tcp a tunnel");

  // The same DR service alone in two more programs, with flow events for
  // sync on (bpf/sync.h; batched where the kernel has BPF_F_TIMER_CPU_PIN)
  // and off: dr_new_flow_sync and its twin dr_new_flow_nosync, whose tables
  // see the same flows (the first program's table also takes tun_new_flow's).
  struct DrProgram {
    std::unique_ptr<dataplane::Program> prog;
    std::unique_ptr<dataplane::ServiceTable> table;
  };
  auto dr_program = [&](bool sync) {
    dataplane::ProgramOptions o = options;
    o.sync_events = sync;
    o.sync_per_flow = FLAGS_sync_per_flow;
    DrProgram d;
    d.prog = Check(dataplane::Program::Load(o), "load the xlb program (sync twin)");
    Check(AddSandboxInterfaces(d.prog->maps()), "redirect targets (sync twin)");
    d.table = Check(dataplane::ServiceTable::Adopt(&d.prog->maps(), &resolver), "adopt maps");
    Check(d.table->Upsert(service), "add service 192.0.2.10:80/tcp (sync twin)");
    Check(d.table->SetReals(service.key, reals), "set reals (sync twin)");
    return d;
  };
  for (auto& r : reals) r.port = 0;
  DrProgram with_sync = dr_program(true), without_sync = dr_program(false);
  dataplane::Program* sync_prog = with_sync.prog.get();
  std::unique_ptr<ring_buffer, decltype(&ring_buffer__free)> events(
      ring_buffer__new(sync_prog->maps().flow_events.fd(),
                       [](void*, void*, size_t) { return 0; }, nullptr, nullptr),
      &ring_buffer__free);
  if (!events) Fail("open the ring of flow events");

  const std::string ack = Tcp(kVip, kHitPort, kAck);
  // Enough distinct new flows for the checks, the warm-up and every batch.
  const size_t new_flows =
      std::min<size_t>(kMaxNewFlows, static_cast<size_t>(FLAGS_batches + 1) * FLAGS_calls + 256);
  std::vector<std::string> syns, tun_syns;
  syns.reserve(new_flows);
  tun_syns.reserve(new_flows);
  for (size_t i = 0; i < new_flows; ++i) {
    std::string client = "198.51.100." + std::to_string(2 + i / 50000);
    syns.push_back(TcpFrom(client, kVip, static_cast<uint16_t>(10000 + i % 50000), kSyn));
    tun_syns.push_back(TcpFrom(client, kTunVip, static_cast<uint16_t>(10000 + i % 50000), kSyn));
  }

  std::vector<Path> paths = {
      {"floor", floor_fd, {ack}, XDP_TX, 0, {}},
      {"dr_conn_hit", prog->prog_fd(), {ack}, XDP_TX, 2.0, {}},
      {"dr_new_flow", prog->prog_fd(), syns, XDP_TX, 3.0, {}},
      {"not_vip_pass", prog->prog_fd(), {Tcp(kNotVip, kHitPort, kAck)}, XDP_PASS, 1.3, {}},
      {"nat_conn_hit", prog->prog_fd(), {Tcp(kNatVip, kHitPort, kAck)}, XDP_TX, 2.5, {}},
      {"nat_reply", prog->prog_fd(), {}, XDP_REDIRECT, 2.5, {}},
      {"tun_conn_hit", prog->prog_fd(), {Tcp(kTunVip, kHitPort, kAck)}, XDP_TX, 0, {}},
      {"tun_new_flow", prog->prog_fd(), tun_syns, XDP_TX, 0, {}},
      {"dr_new_flow_sync", sync_prog->prog_fd(), syns, XDP_TX, 0, {}, 0, events.get()},
      {"dr_new_flow_nosync", without_sync.prog->prog_fd(), syns, XDP_TX, 0, {}},
  };

  // The established flow: its SYN once, then its ACKs find it. The ACK must
  // go to one of the three reals with nothing but its MACs changed.
  Path open{"dr_conn_hit (SYN)", prog->prog_fd(), {Tcp(kVip, kHitPort, kSyn)}, XDP_TX, 0, {}};
  RunBatch(open, 1);
  auto first = Check(dataplane::TestRun(prog->prog_fd(), ack), "dr_conn_hit");
  uint8_t real = static_cast<uint8_t>(first.packet.size() > 5 ? first.packet[5] : 0);
  if (first.verdict != XDP_TX || real < 11 || real > 13 ||
      first.packet.substr(0, 6) != std::string(reinterpret_cast<const char*>(
                                                    FakeResolver::RealMac(real).data()), 6) ||
      first.packet.substr(12) != ack.substr(12))
    Fail("dr_conn_hit: the ACK was not forwarded to a real by DR");
  // The NAT flow likewise; its reply comes from the real the ACK went to.
  Path nat_open{"nat_conn_hit (SYN)", prog->prog_fd(), {Tcp(kNatVip, kHitPort, kSyn)}, XDP_TX, 0,
                {}};
  RunBatch(nat_open, 1);
  auto to_real = Check(dataplane::TestRun(prog->prog_fd(), paths[4].frames[0]), "nat_conn_hit");
  if (to_real.verdict != XDP_TX || to_real.packet.size() < 38 ||
      to_real.packet.substr(36, 2) != std::string("\x1f\x90", 2))
    Fail("nat_conn_hit: the ACK was not rewritten to a real's port 8080");
  Frame reply;
  reply.saddr = model::IpAddress::FromWords(
      model::Family::kV4, reinterpret_cast<const uint32_t*>(to_real.packet.data() + 30));
  reply.daddr = *model::IpAddress::Parse(kClient);
  reply.sport = 8080;
  reply.dport = kHitPort;
  reply.tcp_flags = kAck;
  paths[5].frames = {Build(reply)};
  // The tunnel flow likewise: its ACK goes out wrapped (IPIP, 20 bytes more).
  Path tun_open{"tun_conn_hit (SYN)", prog->prog_fd(), {Tcp(kTunVip, kHitPort, kSyn)}, XDP_TX, 0,
                {}};
  RunBatch(tun_open, 1);
  auto wrapped = Check(dataplane::TestRun(prog->prog_fd(), paths[6].frames[0]), "tun_conn_hit");
  if (wrapped.verdict != XDP_TX || wrapped.packet.size() != paths[6].frames[0].size() + 20 ||
      wrapped.packet[23] != 4)
    Fail("tun_conn_hit: the ACK was not wrapped in IPIP");
  CheckCounters(*prog, paths[1], XLB_STAT_CONN_HIT, XLB_STAT_CONN_MISS);
  CheckCounters(*prog, paths[6], XLB_STAT_CONN_HIT, XLB_STAT_CONN_MISS);
  CheckCounters(*prog, paths[7], XLB_STAT_CONN_MISS, XLB_STAT_CONN_HIT);
  CheckCounters(*prog, paths[4], XLB_STAT_CONN_HIT, XLB_STAT_CONN_MISS);
  CheckCounters(*prog, paths[5], XLB_STAT_NAT_REPLY, XLB_STAT_NAT_UNMATCHED);
  CheckCounters(*prog, paths[2], XLB_STAT_CONN_MISS, XLB_STAT_CONN_HIT);
  CheckCounters(*prog, paths[3], XLB_STAT_PASSED, XLB_STAT_TX);
  // dr_new_flow_sync: new flows, and their events reach the ring.
  CheckCounters(*sync_prog, paths[8], XLB_STAT_CONN_MISS, XLB_STAT_CONN_HIT);
  CheckCounters(*sync_prog, paths[8], XLB_STAT_CONN_MISS, XLB_STAT_SYNC_RING_FULL);
  CheckCounters(*without_sync.prog, paths[9], XLB_STAT_CONN_MISS, XLB_STAT_SYNC_EVENTS);

  // One untimed round, then the timed rounds, interleaved.
  for (auto& p : paths) RunBatch(p, FLAGS_calls);
  for (int b = 0; b < FLAGS_batches; ++b)
    for (auto& p : paths) p.batch_ns.push_back(RunBatch(p, FLAGS_calls));

  const double floor_ns = Round(Median(paths[0].batch_ns), 10);
  if (floor_ns <= 0) Fail("the floor measured 0 ns: the kernel's clock is too coarse here");
  auto sync_counters = Check(dataplane::ReadGlobalCounters(sync_prog->maps()), "read counters");
  if (sync_counters[XLB_STAT_SYNC_EVENTS] == 0 || sync_counters[XLB_STAT_SYNC_RING_FULL] != 0)
    Fail("dr_new_flow_sync: " + std::to_string(sync_counters[XLB_STAT_SYNC_EVENTS]) +
         " flow events sent, " + std::to_string(sync_counters[XLB_STAT_SYNC_RING_FULL]) +
         " dropped on a full ring (want some, and none)");
  // Issue #16: flow events may add at most 15 % to a new flow. Against the
  // twin (same table state), and against dr_new_flow as printed above.
  const double sync_ratio = Round(Median(paths[8].batch_ns) / Median(paths[9].batch_ns), 100);
  const double sync_vs_dr = Round(Median(paths[8].batch_ns) / Median(paths[2].batch_ns), 100);

  if (FLAGS_json) {
    printf("{\"floor_ns\": %.1f, \"paths\": {", floor_ns);
    for (size_t i = 1; i < paths.size(); ++i) {
      double ns = Round(Median(paths[i].batch_ns), 10);
      printf("%s\"%s\": {\"ns\": %.1f, \"ratio\": %.2f}", i > 1 ? ", " : "", paths[i].name, ns,
             Round(ns / floor_ns, 100));
    }
    printf("}, \"sync_mode\": \"%s\", \"dr_new_flow_sync_vs_nosync\": %.2f, "
           "\"dr_new_flow_sync_vs_dr_new_flow\": %.2f}\n",
           dataplane::SyncModeName(sync_prog->sync_mode()), sync_ratio, sync_vs_dr);
    return 0;
  }

  printf("xlb program cost, BPF_PROG_TEST_RUN, repeat=1 calls, kernel-measured duration\n");
  printf("median of %d interleaved batches x %d calls; min..max of the batch means\n\n",
         FLAGS_batches, FLAGS_calls);
  printf("%-18s %8s %17s %7s %7s  %s\n", "path", "ns/pkt", "batches min..max", "ratio", "goal",
         "");
  for (const auto& p : paths) {
    double ns = Round(Median(p.batch_ns), 10);
    double ratio = Round(ns / floor_ns, 100);
    auto [lo, hi] = std::minmax_element(p.batch_ns.begin(), p.batch_ns.end());
    char range[32];
    snprintf(range, sizeof(range), "%.1f..%.1f", *lo, *hi);
    if (p.goal == 0) {
      printf("%-18s %8.1f %17s %7.2f %7s\n", p.name, ns, range, ratio, "-");
      continue;
    }
    char goal[16];
    snprintf(goal, sizeof(goal), "<=%.1f", p.goal);
    printf("%-18s %8.1f %17s %7.2f %7s  %s\n", p.name, ns, range, ratio, goal,
           ratio <= p.goal ? "met" : "NOT met");
  }
  printf("\nflow events (%s): dr_new_flow_sync / dr_new_flow_nosync %.2f (goal <= 1.15: %s), "
         "/ dr_new_flow %.2f\n",
         dataplane::SyncModeName(sync_prog->sync_mode()), sync_ratio,
         sync_ratio <= 1.15 ? "met" : "NOT met", sync_vs_dr);
  return 0;
}

}  // namespace
}  // namespace xlb::testing

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "program_bench [--batches N] [--calls N] [--json]: ns/packet of the XDP program's paths "
      "under BPF_PROG_TEST_RUN beside the floor (needs root)");
  FLAGS_logtostderr = true;                  // no log files
  FLAGS_minloglevel = google::GLOG_WARNING;  // the library's INFO lines are not results
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  if (argc > 1) {
    fprintf(stderr, "program_bench: unexpected argument '%s' (see --help)\n", argv[1]);
    return 1;
  }
  if (geteuid() != 0) {
    fprintf(stderr, "program_bench needs root (BPF_PROG_TEST_RUN, namespaces)\n");
    return 1;
  }
  // Nothing is attached, pinned or mounted on the host.
  if (auto st = xlb::testing::EnterSandbox(/*with_bpffs=*/false); !st.ok()) {
    fprintf(stderr, "program_bench: %s\n", std::string(st.status().message()).c_str());
    return 1;
  }
  return xlb::testing::Main();
}
