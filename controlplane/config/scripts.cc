#include "controlplane/config/scripts.h"

#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace xlb::config {
namespace {

// The owner and mode rules for one entry on a script's path.
absl::Status CheckEntry(const std::string& path, uid_t uid) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0)
    return absl::NotFoundError(absl::StrCat(path, ": ", std::strerror(errno)));
  if (st.st_uid != 0 && st.st_uid != uid)
    return absl::PermissionDeniedError(
        absl::StrCat(path, " is owned by uid ", st.st_uid, ", not root or the script user"));
  if (S_ISLNK(st.st_mode)) return absl::OkStatus();  // its mode means nothing
  // A sticky directory: others may add entries but not replace ours (their
  // owner is checked as the next entry).
  if (S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX)) return absl::OkStatus();
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return absl::PermissionDeniedError(absl::StrFormat(
        "%s is writable by %s (mode %04o)", path,
        (st.st_mode & S_IWOTH) ? "anyone" : "its group", st.st_mode & 07777));
  return absl::OkStatus();
}

// Every prefix of an absolute path, then the path: "/", "/a", "/a/b".
absl::Status CheckChain(const std::string& path, uid_t uid) {
  if (auto st = CheckEntry("/", uid); !st.ok()) return st;
  std::string prefix;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    absl::StrAppend(&prefix, "/", part);
    if (auto st = CheckEntry(prefix, uid); !st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ScriptUser> ResolveScriptUser(const std::string& name) {
  const std::string wanted = name.empty() ? kDefaultScriptUser : name;
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  const int err = getpwnam_r(wanted.c_str(), &pw, buf.data(), buf.size(), &found);
  if (found == nullptr) {
    if (name.empty()) {
      ScriptUser root;
      root.home = "/root";
      root.defaulted_to_root = true;
      return root;
    }
    return absl::NotFoundError(
        absl::StrCat("user '", name, "' does not exist",
                     err != 0 ? absl::StrCat(" (", std::strerror(err), ")") : ""));
  }
  ScriptUser u;
  u.name = pw.pw_name;
  u.uid = pw.pw_uid;
  u.gid = pw.pw_gid;
  u.home = pw.pw_dir != nullptr && pw.pw_dir[0] == '/' ? pw.pw_dir : "/";
  int n = 64;
  std::vector<gid_t> groups(n);
  while (getgrouplist(u.name.c_str(), u.gid, groups.data(), &n) < 0 && n < 65536)
    groups.resize(n *= 2);
  groups.resize(n > 0 ? static_cast<size_t>(n) : 0);
  u.groups = std::move(groups);
  return u;
}

absl::StatusOr<std::string> ScriptFile(const std::string& command) {
  absl::string_view c = absl::StripLeadingAsciiWhitespace(command);
  const size_t end = c.find_first_of(" \t\n");
  const std::string word(c.substr(0, end));
  if (word.empty()) return absl::InvalidArgumentError("is empty (expected a command)");
  if (word.find('/') != std::string::npos) {
    if (word[0] != '/')
      return absl::InvalidArgumentError(
          absl::StrCat("'", word, "' is a relative path (expected an absolute path or a name on ",
                       kScriptPath, ")"));
    return word;
  }
  for (absl::string_view dir : absl::StrSplit(kScriptPath, ':')) {
    std::string candidate = absl::StrCat(dir, "/", word);
    struct stat st {};
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return candidate;
  }
  return absl::NotFoundError(absl::StrCat("'", word, "' is not a file on ", kScriptPath,
                                          " (a script must be a file; shell builtins are not)"));
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

absl::Status CheckScript(const std::string& command, uid_t uid) {
  absl::StatusOr<std::string> file = ScriptFile(command);
  if (!file.ok()) return file.status();
  return CheckScriptFile(*file, uid);
}

absl::Status CheckScriptFile(const std::string& path, uid_t uid) {
  const std::string* file = &path;
  char real[PATH_MAX];
  if (realpath(file->c_str(), real) == nullptr)
    return absl::NotFoundError(absl::StrCat("script ", *file, ": ", std::strerror(errno)));
  struct stat st {};
  if (stat(real, &st) != 0 || !S_ISREG(st.st_mode))
    return absl::InvalidArgumentError(absl::StrCat("script ", *file, " is not a regular file"));
  for (const std::string& path : {*file, std::string(real)}) {
    if (absl::Status s = CheckChain(path, uid); !s.ok())
      return absl::PermissionDeniedError(
          absl::StrCat("script ", *file, " is refused: ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace xlb::config
