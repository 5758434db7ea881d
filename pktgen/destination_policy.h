// Where xlb-pktgen may send. By default only into the documentation ranges
// the lab uses (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
// 2001:db8::/32) and the prefixes the user adds with --allow-dst; any other
// destination only with --allow-any-destination, so that a typo cannot
// flood someone's real address.
#ifndef XLB_PKTGEN_DESTINATION_POLICY_H_
#define XLB_PKTGEN_DESTINATION_POLICY_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "model/address.h"

namespace xlb::pktgen {

class DestinationPolicy {
 public:
  // `allow_list`: "ADDR[/PREFIX]" items separated by commas (may be empty).
  static absl::StatusOr<DestinationPolicy> Create(absl::string_view allow_list, bool allow_any);

  // OK when `dst` may be sent to; otherwise an error that says how to allow it.
  absl::Status Check(const model::IpAddress& dst) const;

 private:
  struct Prefix {
    model::IpAddress network;
    int length = 0;
    std::string text;
  };
  static absl::StatusOr<Prefix> ParsePrefix(absl::string_view text);

  std::vector<Prefix> allowed_;
  bool allow_any_ = false;
};

}  // namespace xlb::pktgen

#endif  // XLB_PKTGEN_DESTINATION_POLICY_H_
