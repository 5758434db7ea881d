// xlbctl's human output: ipvsadm-like tables from the API's JSON.
#ifndef XLB_CONTROLPLANE_XLBCTL_RENDER_H_
#define XLB_CONTROLPLANE_XLBCTL_RENDER_H_

#include <string>

#include "controlplane/xlbctl/args.h"
#include "nlohmann/json.hpp"

namespace xlb::xlbctl {

std::string Render(View view, const nlohmann::json& answer);
// `before` and `after` are /v1/services answers `seconds` apart.
std::string RenderRate(const nlohmann::json& before, const nlohmann::json& after, double seconds);

}  // namespace xlb::xlbctl

#endif  // XLB_CONTROLPLANE_XLBCTL_RENDER_H_
