// One HTTP request to xlbd's API over its unix socket.
#ifndef XLB_CONTROLPLANE_XLBCTL_CLIENT_H_
#define XLB_CONTROLPLANE_XLBCTL_CLIENT_H_

#include <string>

#include "absl/status/statusor.h"

namespace xlb::xlbctl {

struct Answer {
  int status = 0;
  std::string body;
};

// A deadline of 10 s covers connecting, sending and reading.
absl::StatusOr<Answer> Call(const std::string& socket, const std::string& method,
                            const std::string& target, const std::string& body);

}  // namespace xlb::xlbctl

#endif  // XLB_CONTROLPLANE_XLBCTL_CLIENT_H_
