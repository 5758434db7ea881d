// PEM certificates and keys for https health checks (config::TlsCheck): read
// once here, both to check the files when a config is loaded and to build
// the probes' TLS contexts (health/checker.cc), so that what the parser
// accepts is exactly what the probe can use.
#ifndef XLB_CONTROLPLANE_CONFIG_TLS_H_
#define XLB_CONTROLPLANE_CONFIG_TLS_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace xlb::config {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// The largest PEM file read (a full CA bundle is about 200 KiB).
inline constexpr size_t kMaxPemFile = 1 << 20;

// The contents of a file of at most kMaxPemFile bytes; the error names the
// path and the errno text ("/etc/xlb/ca.pem: cannot open: No such file or
// directory").
absl::StatusOr<std::string> ReadPemFile(const std::string& path);

// Every certificate in `pem`, in order; an error if there is none or one
// does not parse ("no PEM certificate (expected -----BEGIN CERTIFICATE-----)").
absl::StatusOr<std::vector<X509Ptr>> ReadPemCertificates(absl::string_view pem);

// The one private key in `pem` (unencrypted: xlbd asks nobody for a
// passphrase).
absl::StatusOr<PkeyPtr> ReadPemPrivateKey(absl::string_view pem);

// OK if `key` is the private key of `cert`.
absl::Status CheckKeyMatches(X509* cert, EVP_PKEY* key);

// The first queued OpenSSL error's reason ("certificate verify failed"), or
// `fallback`; clears the queue.
std::string OpenSslError(absl::string_view fallback);

}  // namespace xlb::config

#endif  // XLB_CONTROLPLANE_CONFIG_TLS_H_
