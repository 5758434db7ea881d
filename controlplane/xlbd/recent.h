// A value computed at most once per `max_age`: for the table walks behind
// status, list and the metrics (each walk reads a whole flow table, 0.15 s
// for a full default connection table), so that any number of status pages,
// scrapers and xlbctl calls cost at most one walk per table per max_age of
// xlbd's loop.
#ifndef XLB_CONTROLPLANE_XLBD_RECENT_H_
#define XLB_CONTROLPLANE_XLBD_RECENT_H_

#include <chrono>
#include <optional>

namespace xlb::xlbd {

template <typename T>
class Recent {
 public:
  explicit Recent(std::chrono::steady_clock::duration max_age) : max_age_(max_age) {}

  // The value, computed anew by `compute` when it is older than max_age.
  template <typename Compute>
  const T& Get(Compute&& compute) {
    const auto now = std::chrono::steady_clock::now();
    if (!value_ || now - computed_ >= max_age_) {
      value_ = compute();
      computed_ = now;
    }
    return *value_;
  }
  void Forget() { value_.reset(); }  // the next Get computes

 private:
  std::chrono::steady_clock::duration max_age_;
  std::optional<T> value_;
  std::chrono::steady_clock::time_point computed_;
};

}  // namespace xlb::xlbd

#endif  // XLB_CONTROLPLANE_XLBD_RECENT_H_
