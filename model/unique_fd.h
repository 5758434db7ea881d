// A file descriptor closed when it goes out of scope (sockets opened and
// configured step by step, any step of which may fail).
#ifndef XLB_MODEL_UNIQUE_FD_H_
#define XLB_MODEL_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace xlb::model {

class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) close(fd_);
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  // Hands the descriptor over: no longer closed here.
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace xlb::model

#endif  // XLB_MODEL_UNIQUE_FD_H_
