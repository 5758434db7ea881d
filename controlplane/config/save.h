// Writing a configuration file for `xlbctl config save`. xlbd runs as root
// and the path comes over the API, so the write is confined: only into the
// directory of the running configuration file, never through a symlink,
// keeping the file's owner and mode (never readable by others when it holds
// VRRP secrets), durable (fsync of the file and the directory) and atomic
// (a reader sees the old file or the new one), with the previous file kept
// as PATH.bak. Anything else is refused with the reason, changing nothing.
#ifndef XLB_CONTROLPLANE_CONFIG_SAVE_H_
#define XLB_CONTROLPLANE_CONFIG_SAVE_H_

#include <string>

#include "absl/status/statusor.h"

namespace xlb::config {

// Writes `text` to `path` ("" = `running_config`; a relative path is taken
// from the running configuration's directory). `secret` says the text holds
// secrets (VRRP PASS): the file is then never group- or world-readable.
// Returns the path written.
absl::StatusOr<std::string> SaveConfigFile(const std::string& running_config,
                                           const std::string& path, const std::string& text,
                                           bool secret);

}  // namespace xlb::config

#endif  // XLB_CONTROLPLANE_CONFIG_SAVE_H_
