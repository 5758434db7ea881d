// xlb-dp: a low-level tool over the data-plane library, for the lab, the
// demo and debugging: load and attach the XDP program, define services and
// reals, read counters and the connection table. Every call is a new process
// that adopts the pinned maps, as a restarted daemon would.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "dataplane/conntrack.h"
#include "dataplane/frame_builder.h"
#include "dataplane/program.h"
#include "dataplane/service_table.h"
#include "dataplane/stats.h"
#include "dataplane/test_run.h"
#include "dataplane/xdp_query.h"
#include "model/names.h"

namespace xlb::dataplane {
namespace {

constexpr char kUsage[] = R"(usage: xlb-dp [--pin-dir DIR] COMMAND ...
  attach IFNAME... [--generic] [--syn-flood-rate N]
                                   load the program (adopting pinned maps) and attach it
  detach IFNAME...                 detach xlb's program
  unpin                            remove the pinned maps
  service add VIP:PORT[/tcp|udp] [--forward dr|nat|tunnel] [--scheduler maglev|source-hash] [--persistence SECONDS]
                                 [--encap ipip|gue] [--tunnel-source PREFIX] (tunnel)
                                 [--netmask PREFIX] [--table-size PRIME] [--drop-fragments]
                                 [--tcp-timeout S] [--tcp-fin-timeout S] [--udp-timeout S]
  service del VIP:PORT[/proto]
  real set VIP:PORT[/proto] [ADDR[:PORT][@WEIGHT] | [V6ADDR]:PORT[@WEIGHT] ...]   the complete set
  list [--stats]                   services, reals (and counters)
  stats                            global counters
  conns [--limit N]                connection-table entries
  synload IFNAME VIP:PORT [--rate N] [--seconds S]
                                   new TCP flows into the XDP program attached to IFNAME,
                                   without the wire: one BPF_PROG_TEST_RUN per SYN (default
                                   100000/s for 3 s), clients 203.0.113.1-254, ports 1024-65535
VIP:PORT may be VIP:* for an all-ports service. Default pin dir: /sys/fs/bpf/xlb.
)";

struct Args {
  std::vector<std::string> words;
  size_t pos = 0;
  bool empty() const { return pos >= words.size(); }
  std::string next() { return pos < words.size() ? words[pos++] : ""; }
};

absl::Status UsageError(const std::string& why) { return absl::InvalidArgumentError(why); }

absl::StatusOr<uint32_t> Number(const std::string& flag, const std::string& value) {
  uint32_t n;
  if (!absl::SimpleAtoi(value, &n)) return UsageError(flag + " wants a number, not '" + value + "'");
  return n;
}

struct Session {
  std::string pin_dir = kDefaultPinDir;
  Maps maps;
  NetlinkNexthopResolver resolver;
  std::unique_ptr<ServiceTable> table;

  absl::Status Open() {
    auto m = Maps::OpenPinned(pin_dir);
    if (!m.ok()) return m.status();
    maps = std::move(*m);
    auto t = ServiceTable::Adopt(&maps, &resolver);
    if (!t.ok()) return t.status();
    table = std::move(*t);
    return absl::OkStatus();
  }
};

absl::Status Attach(Session& s, Args& a) {
  std::vector<std::string> ifs;
  AttachMode mode = AttachMode::kNative;
  ProgramOptions o;
  o.pin_dir = s.pin_dir;
  while (!a.empty()) {
    std::string w = a.next();
    if (w == "--generic") {
      mode = AttachMode::kGeneric;
    } else if (w == "--syn-flood-rate") {
      auto n = Number(w, a.next());
      if (!n.ok()) return n.status();
      o.flood_rate = *n;
    } else {
      ifs.push_back(w);
    }
  }
  if (ifs.empty()) return UsageError("attach: name at least one interface");
  auto prog = Program::Load(o);
  if (!prog.ok()) return prog.status();
  for (const auto& i : ifs) {
    if (mode == AttachMode::kGeneric)
      std::cerr << "xlb-dp: warning: generic XDP mode on " << i << " is slow; for tests only\n";
    if (auto st = (*prog)->Attach(i, mode); !st.ok()) return st;
    std::cout << "attached to " << i << "\n";
  }
  return absl::OkStatus();
}

absl::Status Detach(Session& s, Args& a) {
  if (a.empty()) return UsageError("detach: name at least one interface");
  auto maps = Maps::OpenPinned(s.pin_dir);
  while (!a.empty()) {
    std::string i = a.next();
    if (auto st = DetachXlb(i, maps.ok() ? &*maps : nullptr); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::Status ServiceCmd(Session& s, Args& a) {
  std::string verb = a.next();
  auto key = model::ParseServiceKey(a.next());
  if (!key.ok()) return key.status();
  if (verb == "del") {
    if (!a.empty()) return UsageError("service del: unexpected '" + a.next() + "'");
    if (auto st = s.Open(); !st.ok()) return st;
    return s.table->Delete(*key);
  }
  if (verb != "add") return UsageError("service: 'add' or 'del', not '" + verb + "'");
  model::Service svc{*key, {}};
  svc.options.all_ports = key->port == 0;
  while (!a.empty()) {
    std::string flag = a.next();
    if (flag == "--drop-fragments") {
      svc.options.drop_fragments = true;
      continue;
    }
    if (a.empty()) return UsageError(flag + " wants a value");
    std::string value = a.next();
    if (flag == "--forward") {
      auto forward = model::ParseEnum<model::Forward>(value);
      if (!forward.ok()) return UsageError(absl::StrCat("--", forward.status().message()));
      svc.options.forward = *forward;
      continue;
    }
    if (flag == "--encap") {
      auto encap = model::ParseEnum<model::Encap>(value);
      if (!encap.ok()) return UsageError(absl::StrCat("--", encap.status().message()));
      svc.options.tunnel.encap = *encap;
      continue;
    }
    if (flag == "--tunnel-source") {
      auto prefix = model::ParseIpPrefix(value);
      if (!prefix.ok()) return UsageError(absl::StrCat("--tunnel-source: ", prefix.status().message()));
      svc.options.tunnel.source = *prefix;
      continue;
    }
    if (flag == "--scheduler") {
      auto scheduler = model::ParseEnum<model::Scheduler>(value);
      if (!scheduler.ok()) return UsageError(absl::StrCat("--", scheduler.status().message()));
      svc.options.scheduler = *scheduler;
      continue;
    }
    auto n = Number(flag, value);
    if (!n.ok()) return n.status();
    if (flag == "--persistence") svc.options.persistence_timeout_s = *n;
    else if (flag == "--netmask") svc.options.persistence_netmask = static_cast<int>(*n);
    else if (flag == "--table-size") svc.options.table_size = *n;
    else if (flag == "--tcp-timeout") svc.options.tcp_timeout_s = *n;
    else if (flag == "--tcp-fin-timeout") svc.options.tcp_fin_timeout_s = *n;
    else if (flag == "--udp-timeout") svc.options.udp_timeout_s = *n;
    else return UsageError("service add: unknown option " + flag);
  }
  if (auto st = s.Open(); !st.ok()) return st;
  // Keep existing reals' definitions; only the options change.
  return s.table->Upsert(svc);
}

absl::Status RealCmd(Session& s, Args& a) {
  std::string verb = a.next();
  if (verb != "set") return UsageError("real: only 'set' (the complete set of reals)");
  auto key = model::ParseServiceKey(a.next());
  if (!key.ok()) return key.status();
  std::vector<model::RealSpec> reals;
  while (!a.empty()) {
    auto r = model::ParseRealSpec(a.next());
    if (!r.ok()) return r.status();
    reals.push_back(*r);
  }
  if (auto st = s.Open(); !st.ok()) return st;
  if (auto st = s.table->SetReals(*key, reals); !st.ok()) return st;
  // A real the kernel has not resolved yet is asked for (ARP/ND) by the
  // library; give it a moment, then write the answer, so the packet path
  // need not fall back to the FIB.
  for (int i = 0; i < 20; ++i) {
    auto state = s.table->Get(*key);
    if (!state.ok()) return state.status();
    bool all = true;
    for (const auto& r : state->reals) all &= r.nexthop.has_value();
    if (all) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (auto st = s.table->SetReals(*key, reals); !st.ok()) return st;
  }
  std::cerr << "xlb-dp: warning: some reals of " << key->ToString()
            << " have no resolved next hop yet; their packets use the kernel FIB\n";
  return absl::OkStatus();
}

absl::Status List(Session& s, Args& a) {
  bool stats = false;
  while (!a.empty()) {
    std::string w = a.next();
    if (w == "--stats") stats = true;
    else return UsageError("list: unknown option " + w);
  }
  if (auto st = s.Open(); !st.ok()) return st;
  std::cout << absl::StrFormat("%-4s %-28s %-12s %s\n", "", "Service / Real", "Weight",
                               stats ? "Packets        Bytes  NewFlows" : "Options");
  for (const auto& svc : s.table->List()) {
    const auto& o = svc.service.options;
    std::string opts = absl::StrCat(model::NameOf(o.forward), " ", model::NameOf(o.scheduler));
    if (o.persistence_timeout_s) absl::StrAppend(&opts, " persistent ", o.persistence_timeout_s);
    if (o.drop_fragments) absl::StrAppend(&opts, " drop-fragments");
    std::string figures = opts;
    if (stats) {
      auto c = ReadServiceCounters(s.maps, svc.id);
      if (!c.ok()) return c.status();
      figures = absl::StrFormat("%7u %12u %9u", c->packets, c->bytes, c->new_flows);
    }
    std::cout << absl::StrFormat("%-4s %-28s %-12s %s\n", svc.service.key.protocol == model::Protocol::kUdp ? "UDP" : "TCP",
                                 svc.service.key.ToString(), "", figures);
    for (const auto& r : svc.reals) {
      std::string rf = r.nexthop ? "" : "(next hop via FIB)";
      if (stats) {
        auto c = ReadRealCounters(s.maps, r.id);
        if (!c.ok()) return c.status();
        rf = absl::StrFormat("%7u %12u %9u", c->packets, c->bytes, c->new_flows);
      }
      std::cout << absl::StrFormat(
          "  -> %-28s %-12u %s\n",
          model::FormatEndpoint(r.spec.address, model::EffectivePort(svc.service.key, r.spec)), r.spec.weight,
          rf);
    }
  }
  return absl::OkStatus();
}

absl::Status Stats(Session& s) {
  if (auto st = s.Open(); !st.ok()) return st;
  auto g = ReadGlobalCounters(s.maps);
  if (!g.ok()) return g.status();
  for (int i = 0; i < XLB_STAT__COUNT; ++i)
    std::cout << absl::StrFormat("%-16s %u\n", GlobalStatName(i), (*g)[i]);
  return absl::OkStatus();
}

absl::Status Conns(Session& s, Args& a) {
  uint32_t limit = 1000;
  while (!a.empty()) {
    std::string w = a.next();
    if (w != "--limit" || a.empty()) return UsageError("conns: only --limit N");
    auto n = Number(w, a.next());
    if (!n.ok()) return n.status();
    limit = *n;
  }
  if (auto st = s.Open(); !st.ok()) return st;
  auto listing = ListConnections(s.maps, limit, std::nullopt);
  if (!listing.ok()) return listing.status();
  std::cout << absl::StrFormat("%-5s %-8s %-8s %-28s %-28s %s\n", "pro", "state", "idle", "source",
                               "virtual", "destination");
  for (const auto& c : listing->connections)
    std::cout << absl::StrFormat(
        "%-5s %-8s %-8.1f %-28s %-28s %s\n", model::NameOf(c.protocol).data(),
        absl::AsciiStrToUpper(model::NameOf(model::StateOf(c))), c.idle_s,
        model::FormatEndpoint(c.client, c.client_port),
        model::FormatEndpoint(c.vip, c.vip_port),
        c.real ? model::FormatEndpoint(*c.real, c.real_port) : std::string("(real gone)"));
  // Never silently short: say what the limit left out.
  if (listing->matched > listing->connections.size())
    std::cout << "... " << listing->matched - listing->connections.size() << " more of "
              << listing->matched << " (--limit N shows more)\n";
  return absl::OkStatus();
}

// The load of `scripts/bench.sh sync`: new flows at a set rate into the
// program xlbd attached (found by the interface, as `ip link` shows it), each
// SYN a repeat=1 test run, so the program makes the entry and its flow event
// as for a packet off the wire; a 2-core VM's veths could not carry 100k
// new flows/s. Paced per millisecond; prints what it achieved as JSON.
absl::Status SynLoad(Args& a) {
  std::string ifname = a.next();
  auto key = model::ParseServiceKey(a.next());
  if (ifname.empty() || !key.ok()) return UsageError("synload: IFNAME VIP:PORT [--rate N] [--seconds S]");
  uint32_t rate = 100000, seconds = 3;
  while (!a.empty()) {
    std::string flag = a.next();
    auto n = Number(flag, a.next());
    if (!n.ok()) return n.status();
    if (flag == "--rate") rate = *n;
    else if (flag == "--seconds") seconds = *n;
    else return UsageError("synload: unknown option " + flag);
  }
  constexpr uint32_t kPorts = 65536 - 1024, kHosts = 254;
  if (rate == 0 || seconds == 0 || uint64_t{rate} * seconds > uint64_t{kPorts} * kHosts)
    return UsageError(absl::StrCat("synload: --rate x --seconds must be 1..", kPorts * kHosts,
                                   " (distinct flows)"));
  if (!key->vip.is_v4()) return UsageError("synload: an IPv4 VIP");
  auto ifindex = IfIndex(ifname);
  if (!ifindex.ok()) return ifindex.status();
  auto attached = QueryAttached(*ifindex, ifname);
  if (!attached.ok()) return attached.status();
  if (attached->id == 0) return absl::NotFoundError("synload: no XDP program on " + ifname);
  int fd = bpf_prog_get_fd_by_id(attached->id);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open program ", attached->id));
  frames::Mac mac{};
  if (FILE* f = fopen(("/sys/class/net/" + ifname + "/address").c_str(), "r")) {
    unsigned m[6];
    if (fscanf(f, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) == 6)
      for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(m[i]);
    fclose(f);
  }
  // Every frame first, so the pace is the test runs'.
  const uint64_t total = uint64_t{rate} * seconds;
  std::vector<std::string> syns;
  syns.reserve(total);
  std::vector<model::IpAddress> clients;
  for (uint32_t h = 1; h <= kHosts; ++h)
    clients.push_back(*model::IpAddress::Parse(absl::StrCat("203.0.113.", h)));
  frames::Frame f;
  f.dst = mac;
  f.daddr = key->vip;
  f.dport = key->port;
  f.tcp_flags = frames::kSyn;
  f.l4_payload = "";
  for (uint64_t i = 0; i < total; ++i) {
    f.saddr = clients[i / kPorts];
    f.sport = static_cast<uint16_t>(1024 + i % kPorts);
    syns.push_back(frames::Build(f));
  }
  uint64_t sent = 0, tx = 0, failed = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::seconds(seconds);
  for (auto now = start; now < end && sent < total; now = std::chrono::steady_clock::now()) {
    uint64_t due = std::min<uint64_t>(
        total, rate * std::chrono::duration_cast<std::chrono::microseconds>(now - start).count() /
                   1000000 + rate / 1000);
    if (sent >= due) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      continue;
    }
    due = std::min<uint64_t>(due, sent + rate / 100 + 1);  // behind: catch up 10 ms at a time
    for (; sent < due; ++sent) {
      auto run = TestRun(fd, syns[sent], *ifindex, 1);
      if (!run.ok()) ++failed;
      else if (run->verdict == XDP_TX || run->verdict == XDP_REDIRECT) ++tx;
    }
  }
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  close(fd);
  std::cout << absl::StrFormat(
      "{\"sent\": %d, \"seconds\": %.3f, \"per_s\": %.0f, \"forwarded\": %d, \"failed\": %d}\n",
      sent, took, sent / took, tx, failed);
  if (failed) return absl::InternalError(absl::StrCat(failed, " test runs failed"));
  return absl::OkStatus();
}

absl::Status Run(Args& a) {
  Session s;
  if (a.words.size() >= 2 && a.words[0] == "--pin-dir") {
    s.pin_dir = a.words[1];
    a.pos = 2;
  }
  std::string cmd = a.next();
  if (cmd == "attach") return Attach(s, a);
  if (cmd == "detach") return Detach(s, a);
  if (cmd == "unpin") return UnpinMaps(s.pin_dir);
  if (cmd == "service") return ServiceCmd(s, a);
  if (cmd == "real") return RealCmd(s, a);
  if (cmd == "list") return List(s, a);
  if (cmd == "stats") return Stats(s);
  if (cmd == "conns") return Conns(s, a);
  if (cmd == "synload") return SynLoad(a);
  return UsageError(cmd.empty() ? "no command" : "unknown command '" + cmd + "'");
}

}  // namespace
}  // namespace xlb::dataplane

int main(int argc, char** argv) {
  xlb::dataplane::Args a;
  for (int i = 1; i < argc; ++i) a.words.push_back(argv[i]);
  if (a.words.empty() || a.words[0] == "--help" || a.words[0] == "-h") {
    std::cout << xlb::dataplane::kUsage;
    return a.words.empty() ? 2 : 0;
  }
  auto st = xlb::dataplane::Run(a);
  if (!st.ok()) {
    std::cerr << "xlb-dp: " << st.message() << "\n";
    return absl::IsInvalidArgument(st) ? 2 : 1;
  }
  return 0;
}
