// A private network namespace and mount namespace for the process, so tests
// and benchmarks that load, attach and pin XDP programs touch nothing of the
// host; the kernel removes both when the process ends.
#ifndef XLB_TESTS_PACKET_SANDBOX_H_
#define XLB_TESTS_PACKET_SANDBOX_H_

#include <string>

#include "absl/status/statusor.h"

namespace xlb::testing {

// Enters the namespaces and brings lo up. With `with_bpffs`, mounts a
// private bpffs and returns its directory (a fresh one under /tmp, removed
// by LeaveSandbox); else returns "".
absl::StatusOr<std::string> EnterSandbox(bool with_bpffs);
void LeaveSandbox(const std::string& bpffs_dir);

}  // namespace xlb::testing

#endif  // XLB_TESTS_PACKET_SANDBOX_H_
