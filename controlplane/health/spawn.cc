#include "controlplane/health/spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace xlb::health {
namespace {

std::mutex script_user_mutex;
config::ScriptUser& ScriptUserLocked() {
  static config::ScriptUser user;
  return user;
}

// In the child between fork and exec only async-signal-safe calls (xlbd
// has threads; any lock may be held by a thread that no longer exists
// here): raw system calls, no allocation. An error is written to `report`
// (close-on-exec, so a successful exec closes it with nothing written).
[[noreturn]] void Child(int report, const char* path, const char* const* argv,
                        const char* const* envp, int output, int error, bool switch_user, uid_t uid, gid_t gid, const gid_t* groups,
                        size_t ngroups) {
  auto fail = [report](int err) {
    while (write(report, &err, sizeof(err)) < 0 && errno == EINTR) {
    }
    _exit(127);
  };
  if (setpgid(0, 0) != 0) fail(errno);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);  // EINVAL for some: fine
  }
  // The normal scheduler even when spawned by xlbd's real-time VRRP thread.
  sched_param normal{};
  sched_setscheduler(0, SCHED_OTHER, &normal);
  const int null = open("/dev/null", O_RDWR);
  if (null < 0) fail(errno);
  if (dup2(null, 0) < 0 || dup2(output >= 0 ? output : null, 1) < 0 ||
      dup2(error >= 0 ? error : null, 2) < 0) {
    fail(errno);
  }
  // Sockets, BPF maps and the like are not the script's business (asio
  // does not open its descriptors close-on-exec); keep only `report`.
  if (report > 3) syscall(SYS_close_range, 3u, static_cast<unsigned>(report - 1), 0u);
  syscall(SYS_close_range, static_cast<unsigned>(report + 1), ~0u, 0u);
  if (switch_user) {
    // Raw calls: glibc's wrappers would try to change every thread's ids.
    if (syscall(SYS_setgroups, ngroups, groups) != 0) fail(errno);
    if (syscall(SYS_setresgid, gid, gid, gid) != 0) fail(errno);
    if (syscall(SYS_setresuid, uid, uid, uid) != 0) fail(errno);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execve(path, const_cast<char* const*>(argv), const_cast<char* const*>(envp));
  fail(errno);
  _exit(127);
}

}  // namespace

void SetScriptUser(const config::ScriptUser& user) {
  std::lock_guard<std::mutex> lock(script_user_mutex);
  ScriptUserLocked() = user;
}

config::ScriptUser ScriptUserNow() {
  std::lock_guard<std::mutex> lock(script_user_mutex);
  return ScriptUserLocked();
}

std::vector<std::string> ScriptEnvironment(const config::ScriptUser& user,
                                           const std::vector<std::string>& extra) {
  std::vector<std::string> env = {absl::StrCat("PATH=", config::kScriptPath),
                                  absl::StrCat("HOME=", user.home),
                                  absl::StrCat("USER=", user.name),
                                  absl::StrCat("LOGNAME=", user.name), "LANG=C.UTF-8"};
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

int SpawnScript(const std::string& command, const std::vector<std::string>& extra_env, pid_t* pid) {
  SpawnRequest request;
  request.path = "/bin/sh";
  request.argv = {"sh", "-c", command};
  request.env = ScriptEnvironment(ScriptUserNow(), extra_env);
  return Spawn(request, pid);
}

int Spawn(const SpawnRequest& request, pid_t* pid) {
  const config::ScriptUser user = ScriptUserNow();
  // Everything the child needs is made here, before fork.
  std::vector<const char*> envp;
  for (const std::string& var : request.env) envp.push_back(var.c_str());
  envp.push_back(nullptr);
  std::vector<const char*> argv;
  for (const std::string& arg : request.argv) argv.push_back(arg.c_str());
  argv.push_back(nullptr);
  // As root, always set the script user's ids (also root's own groups);
  // otherwise only the current user can be had.
  const bool switch_user = request.as_script_user && geteuid() == 0;
  if (request.as_script_user && !switch_user && user.uid != geteuid()) return EPERM;

  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) return errno;
  // No signal handler of xlbd's may run in the child before it has reset
  // them all.
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  const pid_t child = fork();
  if (child == 0) {
    close(report[0]);
    Child(report[1], request.path.c_str(), argv.data(), envp.data(), request.output_fd,
          request.error_fd,
          switch_user, user.uid, user.gid, user.groups.data(),
          user.groups.size());
  }
  const int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  close(report[1]);
  if (child < 0) {
    close(report[0]);
    return fork_errno;
  }
  int err = 0;
  ssize_t n;
  do {
    n = read(report[0], &err, sizeof(err));
  } while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n == sizeof(err)) {
    // It exits at once; reap it here rather than hand back a failure's pid.
    while (waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
    return err != 0 ? err : ECHILD;
  }
  *pid = child;
  return 0;
}

}  // namespace xlb::health
