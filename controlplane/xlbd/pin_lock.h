// One xlbd per pin directory. The pinned maps are the data plane's state;
// two daemons writing them (an operator typing --config for --check-config,
// a unit started twice) would undo each other's writes, and the second one's
// start-up removes the first one's VIPs and API socket. So before anything
// else xlbd takes an exclusive lock tied to the pin directory, and a second
// xlbd on the same pins exits at once, naming the one that holds it.
//
// The lock file lives in /run/xlb and is named after the pin directory's
// device and inode, not its path: the same path in two mount namespaces
// (`ip netns exec` mounts a bpffs of its own) is two data planes, and two
// paths to one directory are one. It is an open-file-description lock
// (F_OFD_SETLK): released by the kernel when xlbd ends, however it ends, and
// not by some other part of xlbd opening and closing the file.
#ifndef XLB_CONTROLPLANE_XLBD_PIN_LOCK_H_
#define XLB_CONTROLPLANE_XLBD_PIN_LOCK_H_

#include <string>

#include "absl/status/statusor.h"

namespace xlb::xlbd {

inline constexpr char kLockDir[] = "/run/xlb";

class PinLock {
 public:
  // Locks `pin_dir` (which must exist). FailedPrecondition, naming the
  // holder's PID, when another process holds it.
  static absl::StatusOr<PinLock> Acquire(const std::string& pin_dir,
                                         const std::string& lock_dir = kLockDir);
  PinLock(PinLock&& other) noexcept;
  PinLock& operator=(PinLock&& other) noexcept;
  PinLock(const PinLock&) = delete;
  PinLock& operator=(const PinLock&) = delete;
  ~PinLock();

  const std::string& path() const { return path_; }

 private:
  PinLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

}  // namespace xlb::xlbd

#endif  // XLB_CONTROLPLANE_XLBD_PIN_LOCK_H_
