// What xlb-pktgen sends: TCP SYNs or UDP datagrams to one destination
// (VIP:PORT) from ranges of source addresses and ports, one flow per
// (address, port) pair. Parsing and validation of the user's text, pure.
#ifndef XLB_PKTGEN_TRAFFIC_H_
#define XLB_PKTGEN_TRAFFIC_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/address.h"
#include "model/service.h"

extern "C" {
#include "pktgen/pktgen_abi.h"
}

namespace xlb::pktgen {

using Mac = std::array<uint8_t, 6>;

// "02:00:00:00:00:01" (six hex bytes separated by ':' or '-').
absl::StatusOr<Mac> ParseMac(absl::string_view text);
std::string FormatMac(const Mac& mac);

// Consecutive source addresses: they differ in their last 32 bits only.
struct AddressRange {
  model::IpAddress first;
  uint32_t count = 1;
};
inline constexpr uint32_t kMaxAddresses = 1u << 24;

// "ADDR", "FIRST-LAST" or "ADDR/PREFIX" (every address of the prefix; an
// IPv6 prefix at least /104).
absl::StatusOr<AddressRange> ParseAddressRange(absl::string_view text);

struct PortRange {
  uint16_t first = 1024;
  uint32_t count = 64512;  // 1024-65535
};

// "PORT" or "FIRST-LAST", ports 1..65535.
absl::StatusOr<PortRange> ParsePortRange(absl::string_view text);

struct Traffic {
  Mac src_mac{}, dst_mac{};
  AddressRange src;
  PortRange sport;
  model::ServiceKey dst;  // address, port, tcp (SYN) or udp
  // Bytes per frame without the FCS; a TCP SYN is padded to it, a UDP
  // datagram gets a payload that fills it. 0: the smallest frame, the
  // headers padded to Ethernet's minimum of 60.
  uint32_t frame_size = 0;
};

inline constexpr uint32_t kMaxFrameSize = 1514;

// Bytes of Ethernet, IP and TCP/UDP headers of a frame of `t`.
uint32_t HeadersSize(const Traffic& t);
// The size of `t`'s frames (frame_size, or its default).
uint32_t FrameSize(const Traffic& t);

// Errors name the field: family mismatch, sizes, port 0.
absl::Status Validate(const Traffic& t);

// Number of distinct flows (source address x source port).
uint64_t FlowCount(const Traffic& t);

// Flow `index`'s source address and port (the one definition, shared with
// the BPF program, is in pktgen_abi.h).
model::IpAddress FlowSource(const Traffic& t, uint64_t index);
uint16_t FlowSourcePort(const Traffic& t, uint64_t index);

// The ranges of `t` as pktgen.bpf.c takes them (the offsets left 0).
xlb_pktgen_flows FlowRanges(const Traffic& t);

// "flows 65536 (256 addresses x 256 ports) 198.51.100.0-... -> 192.0.2.10:80/udp"
std::string Describe(const Traffic& t);

}  // namespace xlb::pktgen

#endif  // XLB_PKTGEN_TRAFFIC_H_
