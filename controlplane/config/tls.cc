#include "controlplane/config/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "controlplane/config/read_file.h"

namespace xlb::config {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr MemoryBio(absl::string_view pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

}  // namespace

std::string OpenSslError(absl::string_view fallback) {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  const char* reason = e == 0 ? nullptr : ERR_reason_error_string(e);
  return reason != nullptr ? std::string(reason) : std::string(fallback);
}

absl::StatusOr<std::string> ReadPemFile(const std::string& path) {
  return ReadWholeFile(path, kMaxPemFile, "a PEM file");
}

absl::StatusOr<std::vector<X509Ptr>> ReadPemCertificates(absl::string_view pem) {
  std::vector<X509Ptr> certs;
  BioPtr bio = MemoryBio(pem);
  if (!bio) return absl::ResourceExhaustedError("out of memory");
  ERR_clear_error();
  for (;;) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    certs.push_back(std::move(cert));
  }
  // The loop ends at the end of the input (PEM_R_NO_START_LINE) or at
  // something that is not a certificate.
  const unsigned long e = ERR_peek_last_error();
  const bool at_end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
  if (e != 0 && !at_end) {
    return absl::InvalidArgumentError(absl::StrCat(
        "certificate ", certs.size() + 1, " does not parse: ", OpenSslError("bad PEM")));
  }
  ERR_clear_error();
  if (certs.empty())
    return absl::InvalidArgumentError(
        "no PEM certificate (expected -----BEGIN CERTIFICATE-----)");
  return certs;
}

absl::StatusOr<PkeyPtr> ReadPemPrivateKey(absl::string_view pem) {
  // PEM_read_bio_PrivateKey would say "unsupported" of a certificate.
  if (!absl::StrContains(pem, "PRIVATE KEY-----"))
    return absl::InvalidArgumentError("no PEM private key (expected -----BEGIN PRIVATE KEY-----)");
  if (absl::StrContains(pem, "ENCRYPTED"))
    return absl::InvalidArgumentError(
        "the private key is encrypted (expected one without a passphrase)");
  BioPtr bio = MemoryBio(pem);
  if (!bio) return absl::ResourceExhaustedError("out of memory");
  ERR_clear_error();
  // A callback that gives no passphrase: never a prompt on the terminal.
  PkeyPtr key(PEM_read_bio_PrivateKey(
      bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
  if (!key) {
    const unsigned long e = ERR_peek_last_error();
    if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
      ERR_clear_error();
      return absl::InvalidArgumentError(
          "no PEM private key (expected -----BEGIN PRIVATE KEY-----)");
    }
    return absl::InvalidArgumentError(
        absl::StrCat("the private key does not parse: ", OpenSslError("bad PEM")));
  }
  return key;
}

absl::Status CheckKeyMatches(X509* cert, EVP_PKEY* key) {
  ERR_clear_error();
  if (X509_check_private_key(cert, key) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("the private key is not the certificate's");
  }
  return absl::OkStatus();
}

}  // namespace xlb::config
