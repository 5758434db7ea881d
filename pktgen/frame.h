// The frames xlb-pktgen sends: Ethernet, IPv4 or IPv6, a TCP SYN or a UDP
// datagram, checksums complete (a director after XDP forwards them as they
// are). Pure functions of the traffic and the flow index.
#ifndef XLB_PKTGEN_FRAME_H_
#define XLB_PKTGEN_FRAME_H_

#include <cstdint>
#include <string>

#include "pktgen/traffic.h"

namespace xlb::pktgen {

// Writes flow `index`'s frame (FrameSize(t) bytes) to `out`. `t` must be
// valid (Validate).
void WriteFrame(const Traffic& t, uint64_t index, uint8_t* out);
std::string BuildFrame(const Traffic& t, uint64_t index);

// What pktgen.bpf.c needs to turn any frame into flow i's: the ranges, how
// many bytes of headers it restores from flow 0's frame (header_len), and
// where the source address, port and checksums sit.
xlb_pktgen_flows BpfFlows(const Traffic& t);

}  // namespace xlb::pktgen

#endif  // XLB_PKTGEN_FRAME_H_
