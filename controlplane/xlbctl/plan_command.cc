#include <iostream>

#include "controlplane/xlbctl/local_commands.h"

namespace xlb::xlbctl {

int RunVrrpPlan(const std::vector<std::string>&) {
  std::cerr << "xlbctl: vrrp plan is not implemented yet\n";
  return 1;
}

}  // namespace xlb::xlbctl
