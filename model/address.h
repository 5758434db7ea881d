// An IPv4 or IPv6 address in the form the BPF maps use (4 big-endian words).
#ifndef XLB_MODEL_ADDRESS_H_
#define XLB_MODEL_ADDRESS_H_

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace xlb::model {

enum class Family : uint8_t { kV4 = 4, kV6 = 6 };

class IpAddress {
 public:
  IpAddress() = default;
  // "198.51.100.10" or "2001:db8::10" (no brackets, no prefix).
  static absl::StatusOr<IpAddress> Parse(absl::string_view text);
  static IpAddress FromWords(Family family, const uint32_t words[4]);

  Family family() const { return family_; }
  bool is_v4() const { return family_ == Family::kV4; }
  // Word 0 holds an IPv4 address; the rest are zero.
  const std::array<uint32_t, 4>& words() const { return words_; }
  void CopyTo(uint32_t out[4]) const;
  // Network-order bytes: 4 for IPv4, 16 for IPv6.
  std::string bytes() const;
  std::string ToString() const;
  // The address masked to its first `prefix_len` bits.
  IpAddress Masked(int prefix_len) const;
  int max_prefix_len() const { return is_v4() ? 32 : 128; }
  // 224.0.0.0/4 or ff00::/8.
  bool is_multicast() const;

  auto operator<=>(const IpAddress&) const = default;

 private:
  Family family_ = Family::kV4;
  std::array<uint32_t, 4> words_{};  // network byte order
};

// "ADDR:PORT" with ADDR an IPv4 address, or "[ADDR]:PORT" for IPv6.
std::string FormatEndpoint(const IpAddress& address, uint16_t port);

}  // namespace xlb::model

#endif  // XLB_MODEL_ADDRESS_H_
