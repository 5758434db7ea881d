// Running an XDP program on one packet with BPF_PROG_TEST_RUN: the packet
// tests and the program benchmark both use it.
#ifndef XLB_DATAPLANE_TEST_RUN_H_
#define XLB_DATAPLANE_TEST_RUN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace xlb::dataplane {

struct TestRunResult {
  uint32_t verdict = 0;   // XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT, ...
  std::string packet;     // the frame as the program left it
  std::string meta;       // its XDP metadata as the program left it
  uint32_t duration_ns = 0;  // kernel-measured mean per repetition
};

// `ingress_ifindex` 0 leaves the kernel's default (the loopback device).
// `meta`: the frame's XDP metadata (data_meta..data; a multiple of 4 bytes,
// at most 32), "" for none, as a NIC's frames have.
absl::StatusOr<TestRunResult> TestRun(int prog_fd, const std::string& packet,
                                      uint32_t ingress_ifindex = 0, uint32_t repeat = 1,
                                      const std::string& meta = "");

// "XDP_TX", "XDP_PASS", ...
const char* XdpVerdictName(uint32_t verdict);

}  // namespace xlb::dataplane

#endif  // XLB_DATAPLANE_TEST_RUN_H_
