#include "tests/packet/sandbox.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "absl/status/status.h"
#include "dataplane/interface_macs.h"
#include "tests/packet/fake_resolver.h"

namespace xlb::testing {

absl::StatusOr<std::string> EnterSandbox(bool with_bpffs) {
  if (geteuid() != 0) return absl::PermissionDeniedError("needs root (BPF, namespaces)");
  if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0)
    return absl::ErrnoToStatus(errno, "unshare network and mount namespaces");
  // Mounts made from here on stay in this namespace.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return absl::ErrnoToStatus(errno, "make / private");
  // xlbt0 leads to the clients (198.51.100.2, 2001:db8:1::2, MAC ..:c1),
  // so NAT replies have a FIB route and a neighbour (bpf_fib_lookup wants
  // forwarding on); xlbt1 is an interface xlb is not attached to.
  if (system("ip link set lo up && "
             "ip link add xlbt0 address 02:00:00:00:00:d0 type veth peer name xlbt1 && "
             "ip link set xlbt0 up && ip link set xlbt1 up && "
             "sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 && "
             "ip addr add 198.51.100.1/24 dev xlbt0 && "
             "ip addr add 2001:db8:1::1/64 dev xlbt0 nodad && "
             "ip neigh replace 198.51.100.2 lladdr 02:00:00:00:00:c1 dev xlbt0 nud permanent && "
             "ip neigh replace 2001:db8:1::2 lladdr 02:00:00:00:00:c1 dev xlbt0 nud permanent") !=
      0)
    return absl::InternalError("could not set up lo and the xlbt0/xlbt1 veth pair");
  if (!with_bpffs) return std::string();
  char dir[] = "/tmp/xlb-sandbox-bpffs.XXXXXX";
  if (!mkdtemp(dir)) return absl::ErrnoToStatus(errno, "mkdtemp");
  if (mount("bpf", dir, "bpf", 0, "mode=0700") != 0) {
    int err = errno;
    rmdir(dir);
    return absl::ErrnoToStatus(err, "mount bpffs");
  }
  return std::string(dir);
}

void LeaveSandbox(const std::string& bpffs_dir) {
  if (bpffs_dir.empty()) return;
  umount(bpffs_dir.c_str());
  rmdir(bpffs_dir.c_str());
}

absl::Status AddSandboxInterfaces(const dataplane::Maps& maps) {
  for (uint32_t ifindex : {1u, if_nametoindex("xlbt0")})
    if (auto st = maps.tx_ports.Update(&ifindex, &ifindex); !st.ok()) return st;
  return dataplane::RecordInterfaceMac(maps, 1, FakeResolver::kDirectorMac);
}

absl::Status MakeTunnelService(const dataplane::Maps& maps, const model::ServiceKey& key,
                               const xlb_tunnel& tunnel) {
  xlb_service_key sk{};
  for (int i = 0; i < 4; ++i) sk.addr[i] = key.vip.words()[i];
  sk.port = htons(key.port);
  sk.proto = static_cast<uint8_t>(key.protocol);
  sk.family = static_cast<uint8_t>(key.vip.family());
  xlb_service svc;
  auto found = maps.services.Lookup(&sk, &svc);
  if (!found.ok()) return found.status();
  if (!*found) return absl::NotFoundError("no service " + key.ToString() + " in the map");
  if (auto st = maps.tunnels.Update(&svc.id, &tunnel); !st.ok()) return st;
  svc.flags |= XLB_SVC_F_TUNNEL;
  return maps.services.Update(&sk, &svc);
}

}  // namespace xlb::testing
