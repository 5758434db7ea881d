// `xlbctl import keepalived FILE`: the xlb YAML on stdout, what was not
// carried over on stderr, one "FILE:LINE: not carried over: ..." line each,
// so that an editor can jump to them. With --json, one object on stdout:
// {"source": FILE, "config": the YAML, "notes": [{"line": N, "text": ...}]}.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "controlplane/config/emit.h"
#include "controlplane/offline/keepalived.h"
#include "controlplane/xlbctl/local_commands.h"
#include "nlohmann/json.hpp"

namespace xlb::xlbctl {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  // A directory opens as a stream and reads as empty: say what it is.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory, not a file"));
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": cannot read: ", std::strerror(errno)));
  return text.str();
}

}  // namespace

int RunImport(const Command& command) {
  const std::string& path = command.args.at(0);
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    std::cerr << "xlbctl: " << text.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<migrate::KeepalivedImport> imported = migrate::ImportKeepalived(*text, path);
  if (!imported.ok()) {
    std::cerr << "xlbctl: " << imported.status().message() << "\n";
    return 1;
  }
  if (command.json) {
    nlohmann::json notes = nlohmann::json::array();
    for (const migrate::ImportNote& note : imported->notes)
      notes.push_back({{"line", note.line}, {"text", note.text}});
    std::cout << nlohmann::json{{"source", path},
                                {"config", config::ToYaml(imported->config)},
                                {"notes", notes}}
                     .dump(2)
              << "\n";
    return 0;
  }
  std::cout << "# Imported from " << path << " by xlbctl import keepalived; "
            << imported->notes.size() << " note(s) on what was not carried over went to stderr.\n"
            << config::ToYaml(imported->config);
  for (const migrate::ImportNote& note : imported->notes)
    std::cerr << path << ":" << note.line << ": not carried over: " << note.text << "\n";
  return 0;
}

}  // namespace xlb::xlbctl
