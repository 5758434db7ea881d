// Writes a Config back as YAML (for `xlbctl config save`): the shape
// ParseConfig reads, so that ParseConfig(ToYaml(c)) == c for every config
// ParseConfig returns.
#ifndef XLB_CONTROLPLANE_CONFIG_EMIT_H_
#define XLB_CONTROLPLANE_CONFIG_EMIT_H_

#include <string>
#include <vector>

#include "controlplane/config/model.h"

namespace xlb::config {

// The whole file. Defaults that help reading (protocol, forward, scheduler,
// the health check) are written out; the rarely changed ones (table size,
// timeouts, persistence, drop_fragments) only when they differ.
std::string ToYaml(const Config& config);

// Only a `vrrp:` section, as ToYaml writes it (for `xlbctl vrrp plan`): a
// top-level key to put beside interfaces: and services: in a config file.
std::string VrrpSectionToYaml(const std::vector<VrrpInstance>& instances);

// In the largest unit that is exact: "500ms", "1s", "90s", "2m", "1h", "0s".
std::string FormatDuration(Duration d);

}  // namespace xlb::config

#endif  // XLB_CONTROLPLANE_CONFIG_EMIT_H_
