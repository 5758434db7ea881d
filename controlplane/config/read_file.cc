#include "controlplane/config/read_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace xlb::config {
namespace {

// Reads the open `fd` to its end and closes it.
absl::StatusOr<std::string> ReadAll(int fd, const std::string& path, size_t max_bytes,
                                    absl::string_view expected) {
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return absl::ErrnoToStatus(err, absl::StrCat(path, ": cannot read"));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > max_bytes) {
      close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": larger than ", max_bytes, " bytes (expected ", expected, ")"));
    }
  }
  close(fd);
  return text;
}

}  // namespace

absl::StatusOr<std::string> ReadWholeFile(const std::string& path, size_t max_bytes,
                                          absl::string_view expected) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot open"));
  return ReadAll(fd, path, max_bytes, expected);
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path, size_t max_bytes,
                                           absl::string_view expected) {
  // O_NONBLOCK: a FIFO put there must not hang the load; it is refused below.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot open"));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);
    return absl::ErrnoToStatus(err, absl::StrCat(path, ": cannot stat"));
  }
  const std::string mode = absl::StrFormat("%04o", st.st_mode & 07777);
  std::string wrong;
  if (!S_ISREG(st.st_mode))
    wrong = "is not a regular file";
  else if (st.st_uid != geteuid())
    wrong = absl::StrCat("is owned by uid ", st.st_uid, ", not ",
                         geteuid() == 0 ? "root" : absl::StrCat("uid ", geteuid()),
                         " (expected the owner xlbd runs as)");
  else if (st.st_mode & S_IRWXO)
    wrong =
        absl::StrCat("can be read or changed by others (mode ", mode, "; expected 0600 or 0640)");
  else if (st.st_mode & S_IWGRP)
    wrong = absl::StrCat("is writable by its group (mode ", mode, "; expected 0600 or 0640)");
  if (!wrong.empty()) {
    close(fd);
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": ", wrong, ": it holds a secret (", expected, ")"));
  }
  return ReadAll(fd, path, max_bytes, expected);
}

}  // namespace xlb::config
