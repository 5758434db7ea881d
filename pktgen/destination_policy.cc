#include "pktgen/destination_policy.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace xlb::pktgen {

using model::IpAddress;

namespace {
constexpr const char* kLabRanges[] = {"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24",
                                      "2001:db8::/32"};
}  // namespace

absl::StatusOr<DestinationPolicy::Prefix> DestinationPolicy::ParsePrefix(absl::string_view text) {
  Prefix p;
  p.text = std::string(text);
  absl::string_view addr_text = text;
  int length = -1;
  if (auto slash = text.find('/'); slash != absl::string_view::npos) {
    addr_text = text.substr(0, slash);
    if (!absl::SimpleAtoi(text.substr(slash + 1), &length))
      return absl::InvalidArgumentError(
          absl::StrCat("--allow-dst '", text, "': bad prefix length"));
  }
  auto addr = model::IpAddress::Parse(addr_text);
  if (!addr.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("--allow-dst '", text, "': ", addr.status().message()));
  if (length < 0) length = addr->max_prefix_len();
  if (length > addr->max_prefix_len())
    return absl::InvalidArgumentError(absl::StrCat(
        "--allow-dst '", text, "': prefix length above ", addr->max_prefix_len()));
  p.length = length;
  p.network = addr->Masked(length);
  return p;
}

absl::StatusOr<DestinationPolicy> DestinationPolicy::Create(absl::string_view allow_list,
                                                            bool allow_any) {
  DestinationPolicy policy;
  policy.allow_any_ = allow_any;
  for (const char* range : kLabRanges) policy.allowed_.push_back(*ParsePrefix(range));
  for (absl::string_view item : absl::StrSplit(allow_list, ',', absl::SkipWhitespace())) {
    auto p = ParsePrefix(absl::StripAsciiWhitespace(item));
    if (!p.ok()) return p.status();
    policy.allowed_.push_back(*p);
  }
  return policy;
}

absl::Status DestinationPolicy::Check(const model::IpAddress& dst) const {
  if (allow_any_) return absl::OkStatus();
  for (const Prefix& p : allowed_)
    if (p.network.family() == dst.family() && dst.Masked(p.length) == p.network)
      return absl::OkStatus();
  std::vector<std::string> names;
  for (const Prefix& p : allowed_) names.push_back(p.text);
  return absl::PermissionDeniedError(absl::StrCat(
      "destination ", dst.ToString(), " is outside the addresses allowed (",
      absl::StrJoin(names, ", "),
      "); add it with --allow-dst ADDR[/PREFIX], or pass --allow-any-destination"));
}

}  // namespace xlb::pktgen
