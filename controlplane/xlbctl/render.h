// xlbctl's human output: ipvsadm-like tables from the API's answers, read
// through the API's contract (controlplane/api/contract.h): an answer that
// does not fit it is an error, never a table with blanks.
#ifndef XLB_CONTROLPLANE_XLBCTL_RENDER_H_
#define XLB_CONTROLPLANE_XLBCTL_RENDER_H_

#include <string>

#include "absl/status/statusor.h"
#include "controlplane/xlbctl/args.h"
#include "nlohmann/json.hpp"

namespace xlb::xlbctl {

absl::StatusOr<std::string> Render(View view, const nlohmann::json& answer);
// `before` and `after` are /v1/services answers `seconds` apart.
absl::StatusOr<std::string> RenderRate(const nlohmann::json& before, const nlohmann::json& after,
                                       double seconds);

}  // namespace xlb::xlbctl

#endif  // XLB_CONTROLPLANE_XLBCTL_RENDER_H_
