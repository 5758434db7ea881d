// The key that authenticates sync messages between directors (issue #16,
// docs/sync-design.md): HMAC-SHA256 through OpenSSL's EVP_MAC, the 32-byte
// tag never truncated, compared in constant time. Pure: no sockets, no clocks.
#ifndef XLB_CONTROLPLANE_SYNC_AUTH_H_
#define XLB_CONTROLPLANE_SYNC_AUTH_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct evp_mac_ctx_st;

namespace xlb::sync {

inline constexpr size_t kTagLen = 32;  // HMAC-SHA256, not truncated
// A shorter key would be weaker than the tag; a longer one is hashed by
// HMAC anyway, and the cap keeps a wrong path (a log) out of memory.
inline constexpr size_t kMinKeyLen = 32;
inline constexpr size_t kMaxKeyLen = 1024;

using Tag = std::array<uint8_t, kTagLen>;

// An HMAC-SHA256 key, set up once (OpenSSL keeps the inner and outer pads'
// digest states in a template context) and reused for every message: each
// Sign/Verify works on a copy of that context, so a Key is immutable and
// may be shared between threads. Copies share the context.
class Key {
 public:
  // The key is the bytes as they are (binary or text: every director reads
  // the same file). At least kMinKeyLen bytes unless `allow_short` (the
  // RFC 4231 vectors use short keys; xlbd never does).
  static absl::StatusOr<Key> FromBytes(absl::string_view bytes, bool allow_short = false);

  // The file named by sync.key_file: refused, with the path and the reason,
  // unless it is a regular file of xlbd's user that others cannot read and
  // its group cannot write (config::ReadSecretFile, the rule of BGP's
  // password_file) and it holds kMinKeyLen..kMaxKeyLen bytes.
  static absl::StatusOr<Key> LoadFile(const std::string& path);

  // The tag of `data` (the datagram up to its tag). Fails only if OpenSSL
  // does (out of memory).
  absl::StatusOr<Tag> Sign(absl::string_view data) const;
  // True iff `tag` is kTagLen bytes and equals Sign(data); compared with
  // CRYPTO_memcmp, so the time taken does not tell how much of it matched.
  bool Verify(absl::string_view data, absl::string_view tag) const;

 private:
  explicit Key(std::shared_ptr<evp_mac_ctx_st> keyed) : keyed_(std::move(keyed)) {}
  std::shared_ptr<evp_mac_ctx_st> keyed_;  // EVP_MAC_CTX, initialised with the key
};

}  // namespace xlb::sync

#endif  // XLB_CONTROLPLANE_SYNC_AUTH_H_
