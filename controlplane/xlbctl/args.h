// xlbctl's command line: one table of commands (Commands()) that both the
// parser and the help come from. Global options (--socket, --json, --help,
// --version) are taken anywhere on the line, by every command; `--` ends the
// options. Pure: parsing is tested without a daemon.
#ifndef XLB_CONTROLPLANE_XLBCTL_ARGS_H_
#define XLB_CONTROLPLANE_XLBCTL_ARGS_H_

#include <map>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace xlb::xlbctl {

enum class View {
  kStatus, kList, kListStats, kListRate, kConns, kHealth, kVrrp, kDone, kSaved, kFlushed, kTrace,
  kBgp, kBgpDrained, kSync
};

struct CommandSpec;

// What a command line asks for.
struct Command {
  // The global options.
  std::string socket = "/run/xlb/xlbd.sock";
  bool json = false;      // JSON output: the API's answer as it is, or a local command's result
  std::string help;       // not empty: print it and exit 0 (--help, help COMMAND)
  bool version = false;   // --version

  const CommandSpec* spec = nullptr;  // the command (null for help and --version)
  std::vector<std::string> args;      // its arguments, after the command's words
  std::map<std::string, std::string> options;  // its options by name ("" for a switch)

  // What an API command asks of xlbd.
  std::string method;     // GET or POST
  std::string target;     // path and query
  nlohmann::json body;    // POST body (null for GET)
  View view = View::kDone;
};

struct Option {
  absl::string_view name;   // "--weight"
  absl::string_view value;  // what it takes, for the help ("N"); "" for a switch
  absl::string_view help;
};

struct CommandSpec {
  absl::string_view words;     // "real add"
  absl::string_view synopsis;  // what follows the words in the usage
  absl::string_view summary;   // one line
  std::vector<Option> options;
  size_t min_args = 0, max_args = 0;
  // An API command fills in method, target, body and view; a local one runs
  // without a daemon and returns the exit status (printing its own errors).
  absl::Status (*request)(Command&) = nullptr;
  int (*run)(const Command&) = nullptr;
  absl::string_view details;   // more lines for its --help ("" for none)
};

// Every command, in the order `xlbctl --help` lists them.
const std::vector<CommandSpec>& Commands();
// Accepted anywhere on the line, by every command.
const std::vector<Option>& GlobalOptions();

// `xlbctl --help`: every command; and one command's usage and options.
std::string Usage();
std::string CommandHelp(const CommandSpec& spec);

// Errors are InvalidArgument with a one-line reason naming the argument.
absl::StatusOr<Command> ParseArgs(const std::vector<std::string>& args);

}  // namespace xlb::xlbctl

#endif  // XLB_CONTROLPLANE_XLBCTL_ARGS_H_
