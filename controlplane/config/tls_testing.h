// For tests only: a throwaway PKI made with the OpenSSL API (P-256 keys,
// certificates valid from an hour ago for a day), as PEM text.
#ifndef XLB_CONTROLPLANE_CONFIG_TLS_TESTING_H_
#define XLB_CONTROLPLANE_CONFIG_TLS_TESTING_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <string>

#include "controlplane/config/tls.h"

namespace xlb::config::testing_tls {

struct Identity {
  std::string cert_pem;
  std::string key_pem;
  PkeyPtr key;
  X509Ptr cert;
};

inline std::string ToPem(X509* cert, EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (cert != nullptr) PEM_write_bio_X509(bio, cert);
  if (key != nullptr) PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

inline void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// issuer null: a self-signed CA. sans: "IP:127.0.0.1,DNS:pg1.example.com"
// ("" for none).
inline Identity Make(const std::string& cn, const Identity* issuer, const std::string& sans = "") {
  static std::atomic<long> serial{1};
  Identity id;
  id.key.reset(EVP_EC_gen("P-256"));
  id.cert.reset(X509_new());
  X509* c = id.cert.get();
  X509_set_version(c, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c), serial++);
  X509_gmtime_adj(X509_getm_notBefore(c), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c), 86400);
  X509_NAME* name = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer->cert.get()) : name);
  X509_set_pubkey(c, id.key.get());
  X509* issuer_cert = issuer ? issuer->cert.get() : c;
  if (issuer == nullptr) {
    AddExtension(c, issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(c, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    AddExtension(c, issuer_cert, NID_subject_key_identifier, "hash");
  } else {
    AddExtension(c, issuer_cert, NID_basic_constraints, "CA:FALSE");
    AddExtension(c, issuer_cert, NID_authority_key_identifier, "keyid");
    if (!sans.empty()) AddExtension(c, issuer_cert, NID_subject_alt_name, sans);
  }
  X509_sign(c, issuer ? issuer->key.get() : id.key.get(), EVP_sha256());
  id.cert_pem = ToPem(c, nullptr);
  id.key_pem = ToPem(nullptr, id.key.get());
  return id;
}

}  // namespace xlb::config::testing_tls

#endif  // XLB_CONTROLPLANE_CONFIG_TLS_TESTING_H_
