// gtest assertions on absl::Status errors, shared by the unit tests whose
// inputs are refused with a one-line message (config, keepalived import).
#ifndef XLB_TESTS_SUPPORT_STATUS_ASSERTIONS_H_
#define XLB_TESTS_SUPPORT_STATUS_ASSERTIONS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace xlb::testing_support {

// `status` is InvalidArgument with a message starting with `prefix` and
// containing each of `words`; on success the message is the result's text.
inline ::testing::AssertionResult IsInvalidArgument(const absl::Status& status,
                                                    const std::string& prefix,
                                                    const std::vector<std::string>& words = {}) {
  if (status.ok()) return ::testing::AssertionFailure() << "accepted, expected error " << prefix;
  const std::string msg(status.message());
  if (status.code() != absl::StatusCode::kInvalidArgument)
    return ::testing::AssertionFailure() << "code " << status.code() << ": " << msg;
  if (!absl::StartsWith(msg, prefix))
    return ::testing::AssertionFailure()
           << "message '" << msg << "' does not start with '" << prefix << "'";
  for (const std::string& w : words)
    if (!absl::StrContains(msg, w))
      return ::testing::AssertionFailure() << "message '" << msg << "' lacks '" << w << "'";
  return ::testing::AssertionSuccess() << msg;
}

}  // namespace xlb::testing_support

#endif  // XLB_TESTS_SUPPORT_STATUS_ASSERTIONS_H_
