// The one way xlbd starts a process: exec health checks, exec tracks and
// notify scripts all go through SpawnScript, so they all run as the script
// user (config `scripts: {user}`), with the same small fixed environment;
// FRR's vtysh (controlplane/bgp/vtysh.h) goes through Spawn, as root, with
// its output on a pipe.
#ifndef XLB_CONTROLPLANE_HEALTH_SPAWN_H_
#define XLB_CONTROLPLANE_HEALTH_SPAWN_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "controlplane/config/scripts.h"

namespace xlb::health {

// Whom scripts run as from now on (thread-safe: the VRRP thread spawns
// notifies). Until set: root.
void SetScriptUser(const config::ScriptUser& user);
config::ScriptUser ScriptUserNow();

// Everything a script gets, nothing inherited from xlbd (NOTIFY_SOCKET and
// the like must not leak): PATH (config::kScriptPath), HOME, USER, LOGNAME,
// LANG=C.UTF-8, then `extra` ("NAME=value").
std::vector<std::string> ScriptEnvironment(const config::ScriptUser& user,
                                           const std::vector<std::string>& extra);

// What to start and how.
struct SpawnRequest {
  std::string path;               // the program, absolute
  std::vector<std::string> argv;  // argv[0] first
  std::vector<std::string> env;   // the whole environment ("NAME=value")
  bool as_script_user = true;     // false: keep xlbd's own user (root)
  int output_fd = -1;             // stdout goes there; -1: /dev/null
  int error_fd = -1;              // stderr goes there (may be output_fd); -1: /dev/null
};

// Starts the request's program in a process group of its own, stdin on
// /dev/null, stdout on output_fd, stderr on error_fd (each -1: /dev/null), no other
// descriptor, default signal handling and the normal scheduler. Returns 0
// and the pid, or the errno value of what failed (also in the child before
// exec: fork, pipe, setgroups, setgid, setuid, exec). The caller reaps it.
int Spawn(const SpawnRequest& request, pid_t* pid);

// Spawn of `/bin/sh -c command` as the script user, output on /dev/null,
// environment ScriptEnvironment(user, extra_env).
int SpawnScript(const std::string& command, const std::vector<std::string>& extra_env, pid_t* pid);

}  // namespace xlb::health

#endif  // XLB_CONTROLPLANE_HEALTH_SPAWN_H_
