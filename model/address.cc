#include "model/address.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace xlb::model {

absl::StatusOr<IpAddress> IpAddress::Parse(absl::string_view text) {
  std::string s(text);
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.words_.data()) == 1) {
    a.family_ = Family::kV4;
    return a;
  }
  if (inet_pton(AF_INET6, s.c_str(), a.words_.data()) == 1) {
    a.family_ = Family::kV6;
    return a;
  }
  return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not an IPv4 or IPv6 address"));
}

IpAddress IpAddress::FromWords(Family family, const uint32_t words[4]) {
  IpAddress a;
  a.family_ = family;
  for (int i = 0; i < 4; ++i) a.words_[i] = (family == Family::kV4 && i > 0) ? 0 : words[i];
  return a;
}

void IpAddress::CopyTo(uint32_t out[4]) const { std::memcpy(out, words_.data(), 16); }

std::string IpAddress::bytes() const {
  return {reinterpret_cast<const char*>(words_.data()), is_v4() ? 4u : 16u};
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(is_v4() ? AF_INET : AF_INET6, words_.data(), buf, sizeof(buf));
  return buf;
}

IpAddress IpAddress::Masked(int prefix_len) const {
  IpAddress m = *this;
  for (int i = 0; i < 4; ++i) {
    int bits = prefix_len - 32 * i;
    uint32_t host_mask = bits >= 32 ? 0xffffffffu : bits <= 0 ? 0 : ~0u << (32 - bits);
    m.words_[i] &= htonl(host_mask);
  }
  return m;
}

bool IpAddress::is_multicast() const {
  const uint8_t first = static_cast<uint8_t>(bytes()[0]);
  return is_v4() ? (first & 0xf0) == 0xe0 : first == 0xff;
}

std::string FormatEndpoint(const IpAddress& address, uint16_t port) {
  return address.is_v4() ? absl::StrCat(address.ToString(), ":", port)
                         : absl::StrCat("[", address.ToString(), "]:", port);
}

}  // namespace xlb::model
