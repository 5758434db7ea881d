// For the bgp tests only: the captured FRR outputs in this folder
// (capture.sh says how they were made), and the state xlbd would want for
// running_config_owned.txt.
#ifndef XLB_CONTROLPLANE_BGP_TESTDATA_SAMPLES_H_
#define XLB_CONTROLPLANE_BGP_TESTDATA_SAMPLES_H_

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "controlplane/bgp/desired.h"
#include "gtest/gtest.h"

namespace xlb::bgp::samples {

// The path of testdata/NAME (meson sets XLB_SOURCE_ROOT for the tests).
inline std::string Path(const std::string& name) {
  const char* root = std::getenv("XLB_SOURCE_ROOT");
  return std::string(root ? root : ".") + "/controlplane/bgp/testdata/" + name;
}

// Its text; a missing or empty sample fails the test that reads it.
inline std::string Text(const std::string& name) {
  std::ifstream in(Path(name));
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_FALSE(s.str().empty()) << "no sample " << Path(name);
  return s.str();
}

// What running_config_owned.txt holds, as xlbd would want it.
inline Desired AsCaptured() {
  Desired d;
  d.local_as = 64513;
  d.router_id = "192.0.2.1";
  d.neighbors = {{"192.0.2.2", 64512, "s3cret", true, 3, 9, true},
                 {"2001:db8:1::2", 64512, "", true, 5, 15, false}};
  d.bfd = {100, 3};  // bfdd's profile xlbd
  d.vips = {"203.0.113.10", "203.0.113.11", "2001:db8:100::1"};
  d.announce = {"203.0.113.10", "2001:db8:100::1"};
  return d;
}

}  // namespace xlb::bgp::samples

#endif  // XLB_CONTROLPLANE_BGP_TESTDATA_SAMPLES_H_
