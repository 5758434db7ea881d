#include "controlplane/bgp/vtysh.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "controlplane/health/spawn.h"

namespace xlb::bgp {
namespace {

struct Outcome {
  int exit_code = 0;
  std::string output;
};

// Waits for the child until `deadline`, then kills its group and reaps it.
int Reap(pid_t pid, absl::Time deadline) {
  int status = 0;
  for (;;) {
    const pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == pid) break;
    if (got < 0 && errno != EINTR) return -1;
    if (got == 0 && absl::Now() >= deadline) {
      kill(-pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    if (got == 0) usleep(1000);  // ends at the deadline at the latest
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

absl::StatusOr<Outcome> Run(const VtyshOptions& options, const std::vector<std::string>& args,
                            const std::string& what) {
  health::SpawnRequest request;
  request.path = options.binary;
  request.argv = {"vtysh"};
  if (!options.pathspace.empty()) request.argv.insert(request.argv.end(), {"-N", options.pathspace});
  request.argv.insert(request.argv.end(), args.begin(), args.end());
  // No PAGER and the like from xlbd's environment.
  request.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"};
  request.as_script_user = false;
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("vtysh: pipe: ", strerror(errno)));
  }
  request.output_fd = pipefd[1];
  pid_t pid = -1;
  const absl::Time deadline = absl::Now() + options.deadline;
  const int err = health::Spawn(request, &pid);
  close(pipefd[1]);
  if (err != 0) {
    close(pipefd[0]);
    return absl::InternalError(
        absl::StrCat("cannot run ", options.binary, " for ", what, ": ", strerror(err)));
  }
  Outcome outcome;
  bool timed_out = false, too_long = false;
  char buf[16384];
  for (;;) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      timed_out = true;
      break;
    }
    pollfd p{pipefd[0], POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(left))));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t n = read(pipefd[0], buf, sizeof(buf));
    if (n == 0) break;  // EOF: vtysh is done writing
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      break;
    }
    if (outcome.output.size() + static_cast<size_t>(n) > options.output_limit) {
      too_long = true;
      break;
    }
    outcome.output.append(buf, static_cast<size_t>(n));
  }
  close(pipefd[0]);
  if (timed_out || too_long) kill(-pid, SIGKILL);
  outcome.exit_code = Reap(pid, deadline);
  if (timed_out || outcome.exit_code == 128 + SIGKILL) {
    if (!too_long) {
      return absl::DeadlineExceededError(
          absl::StrCat("vtysh: ", what, " did not finish within ",
                       absl::FormatDuration(options.deadline), ": killed"));
    }
  }
  if (too_long) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "vtysh: ", what, " wrote more than ", options.output_limit, " bytes: killed"));
  }
  return outcome;
}

// FRR's lines for a failure: what is not an echo of a command, bounded.
std::string ErrorLines(const std::vector<std::string>& lines) {
  std::string text = absl::StrJoin(lines, "; ");
  if (text.size() > 400) text = text.substr(0, 400) + "...";
  return text.empty() ? "(no message)" : text;
}

}  // namespace

absl::Status Configure(const VtyshOptions& options, const std::vector<std::string>& commands) {
  if (commands.empty()) return absl::OkStatus();
  std::vector<std::string> args = {"-E"};
  for (const std::string& c : commands) args.insert(args.end(), {"-c", c});
  absl::StatusOr<Outcome> outcome =
      Run(options, args, absl::StrCat(commands.size(), " commands"));
  if (!outcome.ok()) return outcome.status();
  if (outcome->exit_code == 0) return absl::OkStatus();
  // -E prints "PROMPT# COMMAND" before each command: the last one echoed is
  // the one that failed (vtysh stops there).
  size_t next = 0;
  std::string failed = "(none echoed)";
  std::vector<std::string> messages;
  for (absl::string_view line : absl::StrSplit(outcome->output, '\n', absl::SkipWhitespace())) {
    if (next < commands.size() && absl::EndsWith(line, absl::StrCat("# ", commands[next]))) {
      failed = commands[next++];
      messages.clear();  // only what follows the failing command
      continue;
    }
    messages.emplace_back(line);
  }
  return absl::FailedPreconditionError(absl::StrCat("vtysh: '", failed, "' failed (exit ",
                                                    outcome->exit_code,
                                                    "): ", ErrorLines(messages)));
}

absl::StatusOr<std::string> Show(const VtyshOptions& options, const std::string& command) {
  absl::StatusOr<Outcome> outcome = Run(options, {"-c", command}, "'" + command + "'");
  if (!outcome.ok()) return outcome.status();
  if (outcome->exit_code != 0) {
    std::vector<std::string> lines =
        absl::StrSplit(outcome->output, '\n', absl::SkipWhitespace());
    return absl::FailedPreconditionError(absl::StrCat(
        "vtysh: '", command, "' failed (exit ", outcome->exit_code, "): ", ErrorLines(lines)));
  }
  return std::move(outcome->output);
}

}  // namespace xlb::bgp
