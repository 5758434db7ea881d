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
  if (system("ip link add xlbt0 type veth peer name xlbt1 && "
             "ip link set xlbt0 up && ip link set xlbt1 up") != 0) {
    fprintf(stderr, "packet tests: could not create the test veth pair\n");
    return 1;
  }
  int rc = RUN_ALL_TESTS();
  xlb::testing::LeaveSandbox(*bpffs);
  return rc;
}
