// Commands xlbctl runs on its own, without a daemon: they read files or
// arguments and print a configuration. Each returns the process exit status
// (0 done, 1 failed, 2 bad arguments) and prints its own errors. Their
// arguments and options are parsed by args.h's table, like every command's.
#ifndef XLB_CONTROLPLANE_XLBCTL_LOCAL_COMMANDS_H_
#define XLB_CONTROLPLANE_XLBCTL_LOCAL_COMMANDS_H_

#include "absl/strings/string_view.h"
#include <vector>

#include "controlplane/xlbctl/args.h"

namespace xlb::xlbctl {

// `xlbctl import keepalived FILE`.
int RunImport(const Command& command);
// `xlbctl vrrp plan ...`, its options and the lines of its --help.
int RunVrrpPlan(const Command& command);
std::vector<Option> VrrpPlanOptions();
extern const absl::string_view kVrrpPlanDetails;

}  // namespace xlb::xlbctl

#endif  // XLB_CONTROLPLANE_XLBCTL_LOCAL_COMMANDS_H_
