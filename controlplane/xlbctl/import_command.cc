#include <iostream>

#include "controlplane/xlbctl/local_commands.h"

namespace xlb::xlbctl {

int RunImport(const std::vector<std::string>&) {
  std::cerr << "xlbctl: import is not implemented yet\n";
  return 1;
}

}  // namespace xlb::xlbctl
