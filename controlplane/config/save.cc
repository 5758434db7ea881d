#include "controlplane/config/save.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"

namespace xlb::config {
namespace {

std::string Dirname(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string Basename(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

absl::StatusOr<std::string> RealDir(const std::string& dir) {
  char buf[PATH_MAX];
  if (realpath(dir.c_str(), buf) == nullptr)
    return absl::ErrnoToStatus(errno, absl::StrCat("directory ", dir));
  return std::string(buf);
}

absl::Status Refuse(const std::string& path, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("config save ", path, ": ", why));
}

}  // namespace

absl::StatusOr<std::string> SaveConfigFile(const std::string& running_config,
                                           const std::string& path, const std::string& text,
                                           bool secret) {
  const std::string home_dir = Dirname(running_config);
  std::string target = path.empty() ? running_config : path;
  if (target[0] != '/') target = absl::StrCat(home_dir, "/", target);
  const std::string name = Basename(target);
  if (name.empty() || name == "." || name == "..")
    return Refuse(target, "not a file name");
  auto home = RealDir(home_dir);
  if (!home.ok()) return home.status();
  auto dir = RealDir(Dirname(target));
  if (!dir.ok()) return Refuse(target, std::string(dir.status().message()));
  if (*dir != *home)
    return Refuse(target, absl::StrCat("only files in the running configuration's directory (",
                                       *home, ") may be written"));
  const int dirfd = open(dir->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", *dir));
  absl::Cleanup close_dir = [dirfd] { close(dirfd); };

  // What is there now: a regular file (keep its owner and mode), or nothing.
  struct stat old;
  mode_t mode = 0644;
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  const bool exists = fstatat(dirfd, name.c_str(), &old, AT_SYMLINK_NOFOLLOW) == 0;
  if (!exists && errno != ENOENT) return absl::ErrnoToStatus(errno, absl::StrCat("stat ", target));
  if (exists) {
    if (S_ISLNK(old.st_mode)) return Refuse(target, "is a symlink; xlbd does not write through one");
    if (!S_ISREG(old.st_mode)) return Refuse(target, "is not a regular file");
    mode = old.st_mode & 07777;
    uid = old.st_uid;
    gid = old.st_gid;
  }
  if (secret) mode &= 0700;  // PASS secrets: for the owner only

  const std::string tmp_name = absl::StrCat(".", name, ".xlb-save.", getpid());
  unlinkat(dirfd, tmp_name.c_str(), 0);  // left by a killed save
  const int fd = openat(dirfd, tmp_name.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("create ", *dir, "/", tmp_name));
  bool committed = false;
  absl::Cleanup drop_tmp = [&] {
    if (!committed) unlinkat(dirfd, tmp_name.c_str(), 0);
  };
  absl::Status st;
  for (size_t done = 0; st.ok() && done < text.size();) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) st = absl::ErrnoToStatus(errno, absl::StrCat("write ", target));
    else done += static_cast<size_t>(n);
  }
  if (st.ok() && exists && fchown(fd, uid, gid) != 0)
    st = absl::ErrnoToStatus(errno, absl::StrCat("keep the owner of ", target));
  if (st.ok() && fchmod(fd, mode) != 0)
    st = absl::ErrnoToStatus(errno, absl::StrCat("set the mode of ", target));
  if (st.ok() && fsync(fd) != 0) st = absl::ErrnoToStatus(errno, absl::StrCat("fsync ", target));
  close(fd);
  if (!st.ok()) return st;
  if (exists) {
    // The previous file stays as PATH.bak (a hard link: the name PATH is
    // never missing).
    const std::string bak = name + ".bak";
    struct stat b;
    if (fstatat(dirfd, bak.c_str(), &b, AT_SYMLINK_NOFOLLOW) == 0) {
      if (!S_ISREG(b.st_mode) && !S_ISLNK(b.st_mode))
        return Refuse(target, absl::StrCat(bak, " exists and is not a regular file"));
      if (unlinkat(dirfd, bak.c_str(), 0) != 0)
        return absl::ErrnoToStatus(errno, absl::StrCat("remove the old ", *dir, "/", bak));
    }
    if (linkat(dirfd, name.c_str(), dirfd, bak.c_str(), 0) != 0)
      return absl::ErrnoToStatus(errno, absl::StrCat("keep ", target, " as ", bak));
  }
  if (renameat(dirfd, tmp_name.c_str(), dirfd, name.c_str()) != 0)
    return absl::ErrnoToStatus(errno, absl::StrCat("rename into ", target));
  committed = true;
  if (fsync(dirfd) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("fsync ", *dir));
  return absl::StrCat(*dir, "/", name);
}

}  // namespace xlb::config
