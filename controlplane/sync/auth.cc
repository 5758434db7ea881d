#include "controlplane/sync/auth.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "controlplane/config/read_file.h"

namespace xlb::sync {
namespace {

// OpenSSL's reason for the last failure, for an error message.
std::string OpenSslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no reason given";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};
using MacCtx = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;

}  // namespace

absl::StatusOr<Key> Key::FromBytes(absl::string_view bytes, bool allow_short) {
  if (bytes.size() < kMinKeyLen && !allow_short)
    return absl::InvalidArgumentError(
        absl::StrCat("the key has ", bytes.size(), " bytes (expected at least ", kMinKeyLen, ")"));
  if (bytes.size() > kMaxKeyLen)
    return absl::InvalidArgumentError(
        absl::StrCat("the key has ", bytes.size(), " bytes (expected at most ", kMaxKeyLen, ")"));
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) return absl::InternalError("OpenSSL has no HMAC: " + OpenSslError());
  MacCtx ctx(EVP_MAC_CTX_new(mac));
  EVP_MAC_free(mac);  // the context holds its own reference
  if (ctx == nullptr) return absl::InternalError("EVP_MAC_CTX_new: " + OpenSslError());
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_END};
  // A non-null pointer even for an empty key (RFC 4231 has none, but
  // EVP_MAC_init takes a null key as "keep the previous one").
  static const unsigned char kEmpty = 0;
  const auto* key = bytes.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(bytes.data());
  if (EVP_MAC_init(ctx.get(), key, bytes.size(), params) != 1)
    return absl::InternalError("HMAC-SHA256 key set-up: " + OpenSslError());
  return Key(std::shared_ptr<EVP_MAC_CTX>(ctx.release(), MacCtxFree()));
}

absl::StatusOr<Key> Key::LoadFile(const std::string& path) {
  absl::StatusOr<std::string> text = config::ReadSecretFile(
      path, kMaxKeyLen,
      absl::StrCat("a sync key of ", kMinKeyLen, "..", kMaxKeyLen,
                   " bytes, the same file on every director"));
  if (!text.ok()) return text.status();
  absl::StatusOr<Key> key =
      text->size() < kMinKeyLen
          ? absl::InvalidArgumentError(absl::StrCat(path, ": holds ", text->size(),
                                                    " bytes (expected at least ", kMinKeyLen,
                                                    ", e.g. head -c 32 /dev/urandom)"))
          : FromBytes(*text);
  OPENSSL_cleanse(text->data(), text->size());  // the context keeps what it needs
  return key;
}

absl::StatusOr<Tag> Key::Sign(absl::string_view data) const {
  // A copy of the keyed context: the key's pads are not hashed again, and
  // the template is only read, so concurrent calls are safe.
  MacCtx ctx(EVP_MAC_CTX_dup(keyed_.get()));
  Tag tag{};
  size_t len = 0;
  if (ctx == nullptr ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), tag.data(), &len, tag.size()) != 1 || len != tag.size())
    return absl::InternalError("HMAC-SHA256: " + OpenSslError());
  return tag;
}

bool Key::Verify(absl::string_view data, absl::string_view tag) const {
  if (tag.size() != kTagLen) return false;
  absl::StatusOr<Tag> want = Sign(data);
  return want.ok() && CRYPTO_memcmp(want->data(), tag.data(), kTagLen) == 0;
}

}  // namespace xlb::sync
