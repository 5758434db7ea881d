// Reads an xlbd YAML configuration into a validated Config. config/xlb.yaml
// at the top of the repo shows every key.
//
// Every error is absl::InvalidArgumentError with a message of the form
//   "FILE:LINE: FIELD: what is wrong (what is expected)"
// e.g. "xlb.yaml:14: services[0].health.interval: '5x' is not a duration
// (expected e.g. 500ms, 1s, 2m)", so an operator can go straight to the line.
// A Config that parses is one the data plane will accept: nothing that would
// fail when it is applied is left for later, except what depends on the
// machine (interfaces that exist, the API group, routes to NAT reals).
#ifndef XLB_CONTROLPLANE_CONFIG_PARSE_H_
#define XLB_CONTROLPLANE_CONFIG_PARSE_H_

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controlplane/config/model.h"
#include "yaml-cpp/yaml.h"

namespace xlb::config {

// Parses `yaml_text`; `file_name` is only used in error messages.
absl::StatusOr<Config> ParseConfig(const std::string& yaml_text, const std::string& file_name);

// Reads and parses the file at `path`. A file that cannot be read gives an
// error naming the path and the errno text (NotFound, PermissionDenied, ...).
// Unlike ParseConfig, it also checks what depends on the machine about
// scripts: scripts.user exists, and each exec check, exec track and notify
// script exists and can be changed by nobody but root and that user
// (config/scripts.h); errors name the field's line.
absl::StatusOr<Config> LoadConfigFile(const std::string& path);

// One service as an entry of the file's services: list (a YAML map with
// the same keys), checked exactly as ParseConfig checks one: for `xlbctl
// service add` and the API's service/add, so that a value is accepted or
// refused with the same words everywhere. An error is "NAME: what is wrong",
// NAME being name_of(the field's path in the service), e.g. of
// "health.interval", "timeouts.tcp", "persistence.netmask" (a list item:
// "health.expect[1]"), or of "" for the service as a whole; an empty NAME is
// left out. With `script_uid`, also what LoadConfigFile checks on the machine
// (an exec check's script, for that user; the https files, read in).
using FieldNamer = std::function<std::string(const std::string& path)>;
absl::StatusOr<ServiceConfig> ParseServiceEntry(const YAML::Node& service,
                                                const FieldNamer& name_of,
                                                std::optional<uid_t> script_uid);

// "500ms", "1s", "1.5s", "2m", "1h", "0s": a non-negative number and a unit
// (ms, s, m, h), exact to the millisecond. The error message quotes `text`
// and says what is expected, without a field name.
absl::StatusOr<Duration> ParseDuration(absl::string_view text);

// OK if `text` is well-formed UTF-8, else InvalidArgument "FILE:LINE: not
// UTF-8 text (column N)": YAML is Unicode text, and bytes that are not would
// be written back (ToYaml) as U+FFFD.
absl::Status CheckUtf8(absl::string_view text, const std::string& file_name);

// What a valid configuration should still change, one line each, e.g. a
// tunnel service with encap ipip and no tunnel_source: one outer source, and
// NICs hash IPIP on the outer addresses only (docs/tunnel-design.md), or
// a service whose idle timeout is under three sync.refresh periods.
std::vector<std::string> ServiceWarnings(const Config& config);

// What a reload may not change in the sync: section: ring_bytes sizes the
// pinned ring flow_events, made when xlbd starts with `loaded_ring_bytes`
// (SyncConfig::kDefaultRingBytes without a sync: section then).
// FailedPrecondition naming the key, else OK (no section: OK).
absl::Status CheckSyncReload(uint32_t loaded_ring_bytes, const std::optional<SyncConfig>& next);

// Letters, digits, '_', '.' and '-', at least one: a service name.
bool IsServiceName(absl::string_view name);

}  // namespace xlb::config

#endif  // XLB_CONTROLPLANE_CONFIG_PARSE_H_
