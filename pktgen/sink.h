// The sink: sink.bpf.c attached (native XDP, through a bpf_link, so it goes
// away with the process) to the interfaces of a real server, counting what
// arrives per interface and dropping it, or passing it up.
#ifndef XLB_PKTGEN_SINK_H_
#define XLB_PKTGEN_SINK_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "pktgen/stop_signals.h"

namespace xlb::pktgen {

struct SinkOptions {
  std::vector<std::string> interfaces;
  double warmup_s = 0;     // attached but not counted yet
  double duration_s = 10;  // the counted window (the bound of a run)
  uint64_t until_count = 0;  // >0: the window ends once this many arrived
  bool pass = false;       // XDP_PASS instead of XDP_DROP
};

struct SinkCount {
  std::string interface;
  uint64_t packets = 0;
  uint64_t bytes = 0;
  double seconds = 0;  // the counted window
  double pps() const { return seconds > 0 ? packets / seconds : 0; }
};

// Attaches, calls `ready` (the interfaces now have the program), counts
// for the window, detaches. SIGINT/SIGTERM end the window early.
absl::StatusOr<std::vector<SinkCount>> RunSink(const SinkOptions& options, StopSignals& stop,
                                                const std::function<void()>& ready);

}  // namespace xlb::pktgen

#endif  // XLB_PKTGEN_SINK_H_
