// Commands xlbctl runs on its own, without a daemon: they read files or
// arguments and print a configuration. Each returns the process exit status
// (0 done, 1 failed, 2 bad arguments) and prints its own errors.
#ifndef XLB_CONTROLPLANE_XLBCTL_LOCAL_COMMANDS_H_
#define XLB_CONTROLPLANE_XLBCTL_LOCAL_COMMANDS_H_

#include <string>
#include <vector>

namespace xlb::xlbctl {

// `xlbctl import keepalived FILE`: `args` are the words after "import".
int RunImport(const std::vector<std::string>& args);
// `xlbctl vrrp plan ...`: `args` are the words after "plan".
int RunVrrpPlan(const std::vector<std::string>& args);

}  // namespace xlb::xlbctl

#endif  // XLB_CONTROLPLANE_XLBCTL_LOCAL_COMMANDS_H_
