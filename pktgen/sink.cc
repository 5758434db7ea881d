#include "pktgen/sink.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "dataplane/maps.h"
#include "pktgen/engine.h"
#include "pktgen/sink.skel.h"

extern "C" {
#include "pktgen/pktgen_abi.h"
}

namespace xlb::pktgen {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(10);

struct SkelDeleter {
  void operator()(xlb_sink_bpf* s) const { xlb_sink_bpf__destroy(s); }
};

struct Attached {
  std::string name;
  uint32_t ifindex = 0;
  int link_fd = -1;
};

// Packets and bytes of `ifindex`, summed over CPUs.
absl::StatusOr<xlb_pktgen_sink_count> Read(int map_fd, uint32_t ifindex) {
  std::vector<xlb_pktgen_sink_count> per_cpu(dataplane::PossibleCpus());
  if (bpf_map_lookup_elem(map_fd, &ifindex, per_cpu.data()) != 0)
    return absl::ErrnoToStatus(errno, absl::StrCat("read the sink counters of ifindex ", ifindex));
  xlb_pktgen_sink_count sum = {};
  for (const auto& c : per_cpu) {
    sum.packets += c.packets;
    sum.bytes += c.bytes;
  }
  return sum;
}

}  // namespace

absl::StatusOr<std::vector<SinkCount>> RunSink(const SinkOptions& options, StopSignals& stop,
                                                const std::function<void()>& ready) {
  if (options.interfaces.empty())
    return absl::InvalidArgumentError("--interface: name at least one interface");
  if (options.interfaces.size() > XLB_PKTGEN_SINK_MAX_INTERFACES)
    return absl::InvalidArgumentError(
        absl::StrCat("--interface: at most ", XLB_PKTGEN_SINK_MAX_INTERFACES, " interfaces"));
  if (!(options.duration_s > 0) || options.duration_s > kMaxDurationS)
    return absl::InvalidArgumentError(absl::StrCat(
        "--duration ", options.duration_s, ": must be above 0 and at most ", kMaxDurationS));
  if (options.warmup_s < 0 || options.warmup_s > kMaxDurationS)
    return absl::InvalidArgumentError(
        absl::StrCat("--warmup ", options.warmup_s, ": must be 0..", kMaxDurationS));

  std::vector<Attached> attached;
  for (const auto& name : options.interfaces) {
    unsigned ifindex = if_nametoindex(name.c_str());
    if (ifindex == 0)
      return absl::NotFoundError(absl::StrCat("--interface: no interface named '", name, "'"));
    attached.push_back({name, ifindex, -1});
  }

  std::unique_ptr<xlb_sink_bpf, SkelDeleter> skel(xlb_sink_bpf__open());
  if (!skel) return absl::ErrnoToStatus(errno, "open the sink XDP program");
  const_cast<uint32_t&>(skel->rodata->verdict) = options.pass ? XDP_PASS : XDP_DROP;
  if (int err = xlb_sink_bpf__load(skel.get()); err != 0)
    return absl::ErrnoToStatus(-err, "load the sink XDP program");
  const int map_fd = bpf_map__fd(skel->maps.sink_counts);
  const int prog_fd = bpf_program__fd(skel->progs.xlb_pktgen_sink);

  // Closing a link detaches the program: on every return, and when the
  // process dies.
  absl::Cleanup detach = [&attached] {
    for (auto& a : attached)
      if (a.link_fd >= 0) close(a.link_fd);
  };
  std::vector<xlb_pktgen_sink_count> zeros(dataplane::PossibleCpus());
  for (auto& a : attached) {
    if (bpf_map_update_elem(map_fd, &a.ifindex, zeros.data(), BPF_NOEXIST) != 0)
      return absl::ErrnoToStatus(errno, absl::StrCat("--interface ", a.name, ": named twice?"));
    LIBBPF_OPTS(bpf_link_create_opts, link_opts, .flags = XDP_FLAGS_DRV_MODE);
    a.link_fd = bpf_link_create(prog_fd, a.ifindex, BPF_XDP, &link_opts);
    if (a.link_fd < 0) {
      int err = errno;
      return absl::ErrnoToStatus(
          err, absl::StrCat("attach the sink to ", a.name, " (native XDP)",
                            err == EBUSY || err == EEXIST ? ": it has an XDP program already" : ""));
    }
  }
  ready();

  std::vector<SinkCount> counts;
  if (stop.WaitFor(std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::duration<double>(options.warmup_s)))) {
    for (const auto& a : attached) counts.push_back({a.name, 0, 0, 0});
    return counts;
  }
  std::vector<xlb_pktgen_sink_count> base;
  for (const auto& a : attached) {
    auto c = Read(map_fd, a.ifindex);
    if (!c.ok()) return c.status();
    base.push_back(*c);
  }
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(options.duration_s));
  std::vector<xlb_pktgen_sink_count> now(attached.size());
  Clock::time_point last_read;
  for (;;) {
    uint64_t total = 0;
    for (size_t i = 0; i < attached.size(); ++i) {
      auto c = Read(map_fd, attached[i].ifindex);
      if (!c.ok()) return c.status();
      now[i] = *c;
      total += c->packets - base[i].packets;
    }
    const Clock::time_point t = last_read = Clock::now();
    if (t >= end || (options.until_count != 0 && total >= options.until_count)) break;
    if (stop.WaitFor(std::min<Clock::duration>(kPollInterval, end - t))) break;
  }
  const double seconds = std::chrono::duration<double>(last_read - start).count();
  for (size_t i = 0; i < attached.size(); ++i)
    counts.push_back({attached[i].name, now[i].packets - base[i].packets,
                      now[i].bytes - base[i].bytes, seconds});
  return counts;
}

}  // namespace xlb::pktgen
