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
  std::string output;  // stdout (and stderr, unless separate)
  std::string errors;  // stderr, when separate
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

// Runs vtysh with `args`; stderr into Outcome::errors if `separate_stderr`
// (a `show`'s JSON must not get vtysh's warnings), else in order with stdout
// (-E's echoes and the `%` lines they explain).
absl::StatusOr<Outcome> Run(const VtyshOptions& options, const std::vector<std::string>& args,
                            const std::string& what, bool separate_stderr) {
  health::SpawnRequest request;
  request.path = options.binary;
  request.argv = {"vtysh"};
  if (!options.pathspace.empty()) request.argv.insert(request.argv.end(), {"-N", options.pathspace});
  request.argv.insert(request.argv.end(), args.begin(), args.end());
  // No PAGER and the like from xlbd's environment.
  request.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"};
  request.as_script_user = false;
  int out[2] = {-1, -1}, err[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) != 0 || (separate_stderr && pipe2(err, O_CLOEXEC) != 0)) {
    const int e = errno;
    for (int fd : {out[0], out[1]}) {
      if (fd >= 0) close(fd);
    }
    return absl::InternalError(absl::StrCat("vtysh: pipe: ", strerror(e)));
  }
  request.output_fd = out[1];
  request.error_fd = separate_stderr ? err[1] : out[1];
  pid_t pid = -1;
  const absl::Time deadline = absl::Now() + options.deadline;
  const int spawn_err = health::Spawn(request, &pid);
  close(out[1]);
  if (separate_stderr) close(err[1]);
  Outcome outcome;
  // Both streams until EOF on each, the deadline, or the limit (together).
  pollfd fds[2] = {{out[0], POLLIN, 0}, {separate_stderr ? err[0] : -1, POLLIN, 0}};
  std::string* sinks[2] = {&outcome.output, &outcome.errors};
  if (spawn_err != 0) {
    for (const pollfd& p : fds) {
      if (p.fd >= 0) close(p.fd);
    }
    return absl::InternalError(
        absl::StrCat("cannot run ", options.binary, " for ", what, ": ", strerror(spawn_err)));
  }
  bool timed_out = false, too_long = false;
  char buf[16384];
  while ((fds[0].fd >= 0 || fds[1].fd >= 0) && !too_long) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      timed_out = true;
      break;
    }
    const int ready =
        poll(fds, 2, static_cast<int>(std::max<int64_t>(1, absl::ToInt64Milliseconds(left))));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    for (int i = 0; i < 2 && !too_long; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) {  // EOF (or an error): this stream is done
        close(fds[i].fd);
        fds[i].fd = -1;
        continue;
      }
      if (outcome.output.size() + outcome.errors.size() + static_cast<size_t>(n) >
          options.output_limit) {
        too_long = true;
        break;
      }
      sinks[i]->append(buf, static_cast<size_t>(n));
    }
  }
  for (const pollfd& p : fds) {
    if (p.fd >= 0) close(p.fd);
  }
  if (timed_out || too_long) kill(-pid, SIGKILL);
  outcome.exit_code = Reap(pid, deadline);
  if (too_long) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "vtysh: ", what, " wrote more than ", options.output_limit, " bytes: killed"));
  }
  if (timed_out || outcome.exit_code == 128 + SIGKILL) {
    return absl::DeadlineExceededError(absl::StrCat("vtysh: ", what, " did not finish within ",
                                                    absl::FormatDuration(options.deadline),
                                                    ": killed"));
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

std::string Redacted(const std::string& text) {
  static const std::string kWord = "password ";
  std::string out;
  size_t at = 0;
  for (size_t found; (found = text.find(kWord, at)) != std::string::npos;) {
    const size_t secret = found + kWord.size();
    size_t end = secret;
    while (end < text.size() && text[end] != ' ' && text[end] != '\n' && text[end] != ';') ++end;
    absl::StrAppend(&out, absl::string_view(text).substr(at, secret - at), "<hidden>");
    at = end;
  }
  absl::StrAppend(&out, absl::string_view(text).substr(at));
  return out;
}

absl::Status Configure(const VtyshOptions& options, const std::vector<std::string>& commands) {
  if (commands.empty()) return absl::OkStatus();
  std::vector<std::string> args = {"-E"};
  for (const std::string& c : commands) args.insert(args.end(), {"-c", c});
  absl::StatusOr<Outcome> outcome =
      Run(options, args, absl::StrCat(commands.size(), " commands"), /*separate_stderr=*/false);
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
  return absl::FailedPreconditionError(
      Redacted(absl::StrCat("vtysh: '", failed, "' failed (exit ", outcome->exit_code,
                            "): ", ErrorLines(messages))));
}

absl::StatusOr<std::string> Show(const VtyshOptions& options, const std::string& command) {
  absl::StatusOr<Outcome> outcome =
      Run(options, {"-c", command}, "'" + command + "'", /*separate_stderr=*/true);
  if (!outcome.ok()) return outcome.status();
  if (outcome->exit_code != 0) {
    std::vector<std::string> lines = absl::StrSplit(
        absl::StrCat(outcome->errors, "\n", outcome->output), '\n', absl::SkipWhitespace());
    return absl::FailedPreconditionError(absl::StrCat(
        "vtysh: '", command, "' failed (exit ", outcome->exit_code, "): ", ErrorLines(lines)));
  }
  return std::move(outcome->output);
}

}  // namespace xlb::bgp
