// Reading a whole file that the config names (the config itself, PEM files),
// with a cap so that a wrong path (/dev/zero, a log) cannot exhaust memory.
#ifndef XLB_CONTROLPLANE_CONFIG_READ_FILE_H_
#define XLB_CONTROLPLANE_CONFIG_READ_FILE_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace xlb::config {

// The contents of `path`, at most `max_bytes`; errors name the path and say
// what it should have been ("larger than N bytes (expected WHAT)").
absl::StatusOr<std::string> ReadWholeFile(const std::string& path, size_t max_bytes,
                                          absl::string_view expected);

// The same for a file that holds a secret (a BGP password), refused unless
// only its owner could have written it and nobody else can read it: a
// regular file owned by the user xlbd runs as (root), not writable by its
// group, no access for others (mode 0600 or 0640). Checked on the opened
// file, so a file swapped after the check is not read.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path, size_t max_bytes,
                                           absl::string_view expected);

}  // namespace xlb::config

#endif  // XLB_CONTROLPLANE_CONFIG_READ_FILE_H_
