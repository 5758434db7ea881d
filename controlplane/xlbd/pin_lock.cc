#include "controlplane/xlbd/pin_lock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace xlb::xlbd {
namespace {

// What the holder wrote: "PID PIN_DIR\n".
std::string Holder(int fd) {
  char buf[4096];
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return "another process";
  std::string text(buf, static_cast<size_t>(n));
  absl::string_view pid = absl::StripAsciiWhitespace(text.substr(0, text.find(' ')));
  int value = 0;
  if (!absl::SimpleAtoi(pid, &value) || value <= 0) return "another process";
  return absl::StrCat("xlbd pid ", value);
}

}  // namespace

absl::StatusOr<PinLock> PinLock::Acquire(const std::string& pin_dir, const std::string& lock_dir) {
  struct stat st;
  if (stat(pin_dir.c_str(), &st) != 0)
    return absl::ErrnoToStatus(errno, absl::StrCat("pin directory ", pin_dir));
  std::error_code ec;
  std::filesystem::create_directories(lock_dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("create ", lock_dir, ": ", ec.message()));
  const std::string path = absl::StrCat(lock_dir, "/pins-", major(st.st_dev), ".",
                                        minor(st.st_dev), "-", st.st_ino, ".lock");
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open lock file ", path));
  struct flock lock = {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  if (fcntl(fd, F_OFD_SETLK, &lock) != 0) {
    const int err = errno;
    std::string holder = Holder(fd);
    close(fd);
    if (err == EAGAIN || err == EACCES)
      return absl::FailedPreconditionError(absl::StrCat(
          holder, " already runs on the pin directory ", pin_dir, " (lock ", path,
          "); a second xlbd would fight it over the maps, the VIPs and the API socket, so "
          "this one changes nothing and exits"));
    return absl::ErrnoToStatus(err, absl::StrCat("lock ", path));
  }
  const std::string who = absl::StrCat(getpid(), " ", pin_dir, "\n");
  if (ftruncate(fd, 0) != 0 || pwrite(fd, who.data(), who.size(), 0) != static_cast<ssize_t>(who.size())) {
    const int err = errno;
    close(fd);
    return absl::ErrnoToStatus(err, absl::StrCat("write lock file ", path));
  }
  return PinLock(fd, path);
}

PinLock::PinLock(PinLock&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

PinLock& PinLock::operator=(PinLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

// The file stays: removing it would race with a new xlbd that opened it
// and is about to lock it. Closing releases the lock.
PinLock::~PinLock() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace xlb::xlbd
