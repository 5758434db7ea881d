// The one spelling of each enum's values, for parsing and for printing: the
// config file, the API's JSON, xlbctl's arguments and its output all go
// through these tables, so a value is named the same way everywhere.
#ifndef XLB_MODEL_NAMES_H_
#define XLB_MODEL_NAMES_H_

#include <array>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "model/service.h"

namespace xlb::model {

// Specialised per enum: kWhat (what a value is called in an error) and
// kValues (each value with its name; the first is the default).
template <typename E>
struct EnumNames;

template <>
struct EnumNames<Protocol> {
  static constexpr absl::string_view kWhat = "protocol";
  static constexpr std::array<std::pair<Protocol, absl::string_view>, 2> kValues{
      {{Protocol::kTcp, "tcp"}, {Protocol::kUdp, "udp"}}};
};

template <>
struct EnumNames<Forward> {
  static constexpr absl::string_view kWhat = "forward";
  static constexpr std::array<std::pair<Forward, absl::string_view>, 3> kValues{
      {{Forward::kDr, "dr"}, {Forward::kNat, "nat"}, {Forward::kTunnel, "tunnel"}}};
};

template <>
struct EnumNames<Encap> {
  static constexpr absl::string_view kWhat = "encap";
  static constexpr std::array<std::pair<Encap, absl::string_view>, 2> kValues{
      {{Encap::kIpip, "ipip"}, {Encap::kGue, "gue"}}};
};

template <>
struct EnumNames<Scheduler> {
  static constexpr absl::string_view kWhat = "scheduler";
  static constexpr std::array<std::pair<Scheduler, absl::string_view>, 2> kValues{
      {{Scheduler::kMaglev, "maglev"}, {Scheduler::kSourceHash, "source-hash"}}};
};

template <typename E>
inline absl::string_view NameOf(E value) {
  for (const auto& [v, name] : EnumNames<E>::kValues)
    if (v == value) return name;
  return "unknown";
}

template <typename E>
inline std::optional<E> EnumFromName(absl::string_view name) {
  for (const auto& [v, n] : EnumNames<E>::kValues)
    if (n == name) return v;
  return std::nullopt;
}

// "dr or nat", "a, b or c": the accepted names, for error messages.
template <typename E>
std::string NameChoices() {
  std::string out;
  const auto& values = EnumNames<E>::kValues;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += i + 1 == values.size() ? " or " : ", ";
    out.append(values[i].second.data(), values[i].second.size());
  }
  return out;
}

// The value named `name`, or an error such as "forward is dr or nat, not 'x'".
template <typename E>
absl::StatusOr<E> ParseEnum(absl::string_view name) {
  if (auto v = EnumFromName<E>(name)) return *v;
  return absl::InvalidArgumentError(
      absl::StrCat(EnumNames<E>::kWhat, " is ", NameChoices<E>(), ", not '", name, "'"));
}

}  // namespace xlb::model

#endif  // XLB_MODEL_NAMES_H_
