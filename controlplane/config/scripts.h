// Who runs exec health checks, exec tracks and notify scripts, and whether a
// script is safe to run as root or that user (keepalived's script_user and
// enable_script_security): xlbd refuses a script that anyone else could
// change.
#ifndef XLB_CONTROLPLANE_CONFIG_SCRIPTS_H_
#define XLB_CONTROLPLANE_CONFIG_SCRIPTS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace xlb::config {

// The only PATH scripts get, and where a bare command name is looked up.
inline constexpr char kScriptPath[] =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
// The user scripts run as when the configuration names none, if it exists.
inline constexpr char kDefaultScriptUser[] = "xlb_script";

struct ScriptUser {
  std::string name = "root";
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary, as initgroups would set them
  std::string home = "/";
  bool defaulted_to_root = false;  // none configured and no xlb_script user

  bool operator==(const ScriptUser&) const = default;
};

// `name` "" means xlb_script if that user exists, else root. A named user
// that does not exist is an error.
absl::StatusOr<ScriptUser> ResolveScriptUser(const std::string& name);

// The file a command runs: its first word, looked up in kScriptPath when it
// has no '/'. Errors: empty, relative, not found.
absl::StatusOr<std::string> ScriptFile(const std::string& command);

// OK when the script of `command` exists and neither it nor any directory on
// its path (as written and once symlinks are resolved) can be changed by
// anyone but root and `uid`: owned by root or uid, not group-writable, not
// writable by others (a sticky directory such as /tmp is fine: its entries
// are checked by their owner). The error names the path and why.
absl::Status CheckScript(const std::string& command, uid_t uid);
// The same for a file given whole (a notify script's path may hold spaces).
absl::Status CheckScriptFile(const std::string& file, uid_t uid);

// `s` as one word for /bin/sh: single-quoted, every ' written '\''.
std::string ShellQuote(const std::string& s);

}  // namespace xlb::config

#endif  // XLB_CONTROLPLANE_CONFIG_SCRIPTS_H_
