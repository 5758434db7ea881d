// xlbctl's command line, turned into one API request and a way to show its
// answer. Pure: parsing is tested without a daemon.
#ifndef XLB_CONTROLPLANE_XLBCTL_ARGS_H_
#define XLB_CONTROLPLANE_XLBCTL_ARGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace xlb::xlbctl {

enum class View {
  kStatus, kList, kListStats, kListRate, kConns, kHealth, kVrrp, kDone, kSaved, kFlushed, kTrace
};

struct Command {
  std::string socket = "/run/xlb/xlbd.sock";
  bool json = false;      // print the API's JSON as it is
  std::string method;     // GET or POST
  std::string target;     // path and query
  nlohmann::json body;    // POST body (null for GET)
  View view = View::kDone;
};

extern const char kUsage[];

// Errors are InvalidArgument with a one-line reason naming the argument.
absl::StatusOr<Command> ParseArgs(const std::vector<std::string>& args);

}  // namespace xlb::xlbctl

#endif  // XLB_CONTROLPLANE_XLBCTL_ARGS_H_
