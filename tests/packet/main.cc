// main() of the packet tests: a sandbox (private network and mount
// namespaces, a private bpffs) and a veth pair that tests redirect to.
#include <cstdio>
#include <cstdlib>

#include "gtest/gtest.h"
#include "tests/packet/sandbox.h"

namespace xlb::testing {
std::string g_bpffs;
}

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  auto bpffs = xlb::testing::EnterSandbox(/*with_bpffs=*/true);
  if (!bpffs.ok()) {
    fprintf(stderr, "packet tests: %s\n", std::string(bpffs.status().message()).c_str());
    return 1;
  }
  xlb::testing::g_bpffs = *bpffs;
  // xlbt0 leads to the clients (198.51.100.2, 2001:db8:1::2, MAC ..:c1),
  // so NAT replies have a FIB route and a neighbour; bpf_fib_lookup wants
  // forwarding on.
  if (system("ip link add xlbt0 address 02:00:00:00:00:d0 type veth peer name xlbt1 && "
             "ip link set xlbt0 up && ip link set xlbt1 up && "
             "sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 && "
             "ip addr add 198.51.100.1/24 dev xlbt0 && "
             "ip addr add 2001:db8:1::1/64 dev xlbt0 nodad && "
             "ip neigh replace 198.51.100.2 lladdr 02:00:00:00:00:c1 dev xlbt0 nud permanent && "
             "ip neigh replace 2001:db8:1::2 lladdr 02:00:00:00:00:c1 dev xlbt0 nud permanent") !=
      0) {
    fprintf(stderr, "packet tests: could not set up the test veth pair\n");
    return 1;
  }
  int rc = RUN_ALL_TESTS();
  xlb::testing::LeaveSandbox(*bpffs);
  return rc;
}
