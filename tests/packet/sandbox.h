// A private network namespace and mount namespace for the process, so tests
// and benchmarks that load, attach and pin XDP programs touch nothing of the
// host; the kernel removes both when the process ends.
#ifndef XLB_TESTS_PACKET_SANDBOX_H_
#define XLB_TESTS_PACKET_SANDBOX_H_

#include <string>

#include "absl/status/statusor.h"
#include "dataplane/maps.h"
#include "model/service.h"

namespace xlb::testing {

// Enters the namespaces, brings lo up and makes a veth pair, xlbt0 (toward
// the clients 198.51.100.2 and 2001:db8:1::2, MAC 02:00:00:00:00:c1; its own
// MAC 02:00:00:00:00:d0) and xlbt1. With `with_bpffs`, mounts a
// private bpffs and returns its directory (a fresh one under /tmp, removed
// by LeaveSandbox); else returns "".
absl::StatusOr<std::string> EnterSandbox(bool with_bpffs);
void LeaveSandbox(const std::string& bpffs_dir);

// Makes lo (where test runs arrive) and xlbt0 redirect targets of the
// program, as attaching xlb to them would; xlbt1 stays outside. lo's MAC is
// recorded as FakeResolver::kDirectorMac, the destination of the test
// frames (lo's own is all zeros), so test runs see the MAC check at work.
absl::Status AddSandboxInterfaces(const dataplane::Maps& maps);

// Turns the service `key` (made by the service table as a DR one) into a
// tunnel service wrapping as `tunnel` says, writing the maps directly as the
// control plane will: tunnels[its id] first, then its XLB_SVC_F_TUNNEL.
absl::Status MakeTunnelService(const dataplane::Maps& maps, const model::ServiceKey& key,
                               const xlb_tunnel& tunnel);

}  // namespace xlb::testing

#endif  // XLB_TESTS_PACKET_SANDBOX_H_
