// Which real takes a flow (xlbctl trace): a frame of the flow, built here,
// run through the loaded program itself with BPF_PROG_TEST_RUN as a trace
// (bpf/trace.h). The program decides as it does for real traffic, and changes
// nothing: no table entry, no timestamp, no counter.
#ifndef XLB_DATAPLANE_TRACE_H_
#define XLB_DATAPLANE_TRACE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/frame_builder.h"
#include "dataplane/program.h"
#include "model/address.h"
#include "model/service.h"

namespace xlb::dataplane {

struct TraceRequest {
  model::Protocol protocol = model::Protocol::kTcp;
  model::IpAddress client, vip;
  uint16_t client_port = 0, vip_port = 0;
  // TCP: a SYN, which opens a connection (it re-selects over an entry);
  // else an ACK, a packet of an open one. UDP has no such difference.
  bool syn = false;
  uint32_t ingress_ifindex = 0;  // the interface it comes in on (0: loopback)
  frames::Mac interface_mac{};   // that interface's MAC: the frame's destination
};

struct TraceResult {
  uint32_t verdict = 0;  // XDP_TX, XDP_PASS, ...
  xlb_trace record{};    // as the program wrote it (flags, ids, slot)
  std::vector<std::string> reasons;  // the counters a real packet would bump
  std::optional<model::IpAddress> real;  // of record.real_id, if it still exists
  uint16_t real_port = 0;
  // The frame as the program left it: Ethernet addresses (the next hop),
  // destination (the real's after a NAT rewrite).
  frames::Mac dst_mac{}, src_mac{};
  model::IpAddress destination;
  uint16_t destination_port = 0;
  std::string frame_in, frame_out;  // the frame built, and as the program left it
};

absl::StatusOr<TraceResult> Trace(Program& program, const TraceRequest& request);

// "02:00:00:00:00:01"
std::string MacString(const frames::Mac& mac);

}  // namespace xlb::dataplane

#endif  // XLB_DATAPLANE_TRACE_H_
