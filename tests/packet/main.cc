// main() of the packet tests: a sandbox (private network and mount
// namespaces, a private bpffs, a veth pair; see sandbox.h).
#include <cstdio>

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
  int rc = RUN_ALL_TESTS();
  xlb::testing::LeaveSandbox(*bpffs);
  return rc;
}
