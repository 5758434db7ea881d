// The throughput benchmark's floor forwarder (scripts/bench/throughput.sh):
// attaches xlb_floor_redirect (bpf/baseline.bpf.c) to --in, natively,
// redirecting every frame untouched out of the --out interfaces in turn,
// and keeps it attached until SIGINT/SIGTERM or --seconds. The attachment
// is a bpf_link: it goes away with this process, however it ends.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gflags/gflags.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "bpf/baseline.skel.h"
#include "pktgen/stop_signals.h"

DEFINE_string(in, "", "the interface the frames arrive on");
DEFINE_string(out, "", "the interfaces to send them out of, IF,IF,...");
DEFINE_double(seconds, 600, "detach after this long at the latest (a bound, 1..3600)");

namespace {

int Fail(const std::string& message) {
  fprintf(stderr, "floor_forwarder: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage("floor_forwarder --in IF --out IF,IF,...");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (argc > 1) return Fail(std::string("unexpected argument ") + argv[1]);
  if (FLAGS_seconds < 1 || FLAGS_seconds > 3600) return Fail("--seconds: 1..3600");
  xlb::pktgen::StopSignals stop;
  const unsigned in = if_nametoindex(FLAGS_in.c_str());
  if (in == 0) return Fail("--in: no interface named '" + FLAGS_in + "'");
  std::vector<unsigned> outs;
  for (absl::string_view name : absl::StrSplit(FLAGS_out, ',', absl::SkipEmpty())) {
    const unsigned ifindex = if_nametoindex(std::string(name).c_str());
    if (ifindex == 0) return Fail("--out: no interface named '" + std::string(name) + "'");
    outs.push_back(ifindex);
  }
  if (outs.empty() || outs.size() > 64) return Fail("--out: name 1..64 interfaces");

  baseline_bpf* skel = baseline_bpf__open();
  if (!skel) return Fail("open bpf/baseline.bpf.o");
  const_cast<uint32_t&>(skel->rodata->floor_port_count) = static_cast<uint32_t>(outs.size());
  if (baseline_bpf__load(skel) != 0) return Fail("load bpf/baseline.bpf.o");
  for (uint32_t slot = 0; slot < outs.size(); ++slot)
    if (bpf_map_update_elem(bpf_map__fd(skel->maps.floor_ports), &slot, &outs[slot], BPF_ANY) != 0)
      return Fail("fill floor_ports");
  LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = XDP_FLAGS_DRV_MODE);
  int link = bpf_link_create(bpf_program__fd(skel->progs.xlb_floor_redirect), in, BPF_XDP, &opts);
  if (link < 0) return Fail("attach xlb_floor_redirect to " + FLAGS_in + " (native XDP)");
  fprintf(stderr, "floor_forwarder: ready, %s -> %s\n", FLAGS_in.c_str(), FLAGS_out.c_str());
  stop.WaitFor(std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::duration<double>(FLAGS_seconds)));
  close(link);
  baseline_bpf__destroy(skel);
  return 0;
}
