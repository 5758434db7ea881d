#include "tests/packet/sandbox.h"

#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "absl/status/status.h"

namespace xlb::testing {

absl::StatusOr<std::string> EnterSandbox(bool with_bpffs) {
  if (geteuid() != 0) return absl::PermissionDeniedError("needs root (BPF, namespaces)");
  if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0)
    return absl::ErrnoToStatus(errno, "unshare network and mount namespaces");
  // Mounts made from here on stay in this namespace.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return absl::ErrnoToStatus(errno, "make / private");
  if (system("ip link set lo up") != 0) return absl::InternalError("could not bring lo up");
  if (!with_bpffs) return std::string();
  char dir[] = "/tmp/xlb-sandbox-bpffs.XXXXXX";
  if (!mkdtemp(dir)) return absl::ErrnoToStatus(errno, "mkdtemp");
  if (mount("bpf", dir, "bpf", 0, "mode=0700") != 0) {
    int err = errno;
    rmdir(dir);
    return absl::ErrnoToStatus(err, "mount bpffs");
  }
  return std::string(dir);
}

void LeaveSandbox(const std::string& bpffs_dir) {
  if (bpffs_dir.empty()) return;
  umount(bpffs_dir.c_str());
  rmdir(bpffs_dir.c_str());
}

}  // namespace xlb::testing
