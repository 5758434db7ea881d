#include "controlplane/health/checker.h"
#include "controlplane/health/spawn.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "asio/ip/tcp.hpp"
#include "asio/post.hpp"
#include "asio/posix/stream_descriptor.hpp"
#include "asio/ssl/error.hpp"
#include "asio/ssl/stream.hpp"
#include "asio/steady_timer.hpp"
#include "asio/write.hpp"
#include "controlplane/config/tls.h"
#include "openssl/err.h"
#include "openssl/ssl.h"
#include "openssl/x509v3.h"

namespace xlb::health {
namespace {

using asio::ip::tcp;
using model::IpAddress;

constexpr size_t kMaxResponse = 64 * 1024;

asio::ip::address ToAsio(const IpAddress& a) {
  const std::string b = a.bytes();
  if (a.is_v4()) {
    asio::ip::address_v4::bytes_type v4;
    std::memcpy(v4.data(), b.data(), v4.size());
    return asio::ip::address_v4(v4);
  }
  asio::ip::address_v6::bytes_type v6;
  std::memcpy(v6.data(), b.data(), v6.size());
  return asio::ip::address_v6(v6);
}

std::string TimedOut(Duration timeout) {
  return absl::StrCat("timed out after ", timeout.count(), "ms");
}

// Calls the handler at most once, asynchronously when asked to.
void Post(asio::io_context& io, ProbeHandler handler, ProbeResult result) {
  asio::post(io, [handler = std::move(handler), result = std::move(result)]() mutable {
    handler(std::move(result));
  });
}

ProbeResult LocalError(std::string detail) {
  return ProbeResult{false, true, absl::StrCat(detail, " (local error, state kept)")};
}

// --- HTTP response parsing ---------------------------------------------------

// A short, printable excerpt of what a server sent, for details.
std::string Excerpt(std::string_view s) {
  s = s.substr(0, std::min(s.find_first_of("\r\n"), size_t{40}));
  std::string out(s);
  for (char& c : out) {
    if (!absl::ascii_isprint(static_cast<unsigned char>(c))) c = '?';
  }
  return out;
}

// "HTTP/1.1 503 Service Unavailable" -> 503.
std::optional<int> ParseStatusLine(std::string_view response) {
  std::string_view line = response.substr(0, response.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.substr(0, 5) != "HTTP/") return std::nullopt;
  size_t sp = line.find(' ');
  if (sp == std::string_view::npos || line.size() < sp + 4) return std::nullopt;
  std::string_view code = line.substr(sp + 1, 3);
  if (!std::all_of(code.begin(), code.end(), absl::ascii_isdigit)) return std::nullopt;
  if (line.size() > sp + 4 && line[sp + 4] != ' ') return std::nullopt;
  int status = 0;
  std::from_chars(code.data(), code.data() + code.size(), status);
  return status;
}

// Where the body starts, or npos while the headers are incomplete.
size_t BodyOffset(std::string_view response) {
  size_t crlf = response.find("\r\n\r\n");
  size_t lf = response.find("\n\n");  // tolerated from sloppy servers
  if (crlf != std::string_view::npos && (lf == std::string_view::npos || crlf < lf)) return crlf + 4;
  if (lf != std::string_view::npos) return lf + 2;
  return std::string_view::npos;
}

std::optional<size_t> ContentLength(std::string_view headers) {
  while (!headers.empty()) {
    size_t eol = headers.find('\n');
    std::string_view line = headers.substr(0, eol);
    headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos ||
        !absl::EqualsIgnoreCase(absl::string_view(line.data(), colon), "content-length")) {
      continue;
    }
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    size_t length = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), length);
    if (ec != std::errc() || end == value.data()) return std::nullopt;
    return length;
  }
  return std::nullopt;
}

// --- TLS contexts -------------------------------------------------------------

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslCtxPtr = std::shared_ptr<SSL_CTX>;

absl::Status Prefixed(const std::string& file, const absl::Status& st) {
  return absl::Status(st.code(), absl::StrCat(file, ": ", st.message()));
}

// A client context for `tls`, from the PEM contents loaded with the config.
// An error here is this host's (no memory, or a check that was never loaded
// from its files), never the real's.
absl::StatusOr<SslCtxPtr> BuildContext(const config::TlsCheck& tls) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()), SslCtxFree());
  if (!ctx) return absl::ResourceExhaustedError(config::OpenSslError("SSL_CTX_new failed"));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), tls.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (tls.verify && tls.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1)
      return absl::InternalError(
          absl::StrCat("the system's trust store: ", config::OpenSslError("not loaded")));
  } else if (tls.verify) {
    if (tls.ca_pem.empty())
      return absl::FailedPreconditionError(absl::StrCat(tls.ca_file, " was not loaded"));
    auto certs = config::ReadPemCertificates(tls.ca_pem);
    if (!certs.ok()) return Prefixed(tls.ca_file, certs.status());
    X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
    for (const config::X509Ptr& cert : *certs) {
      if (X509_STORE_add_cert(store, cert.get()) != 1)
        return absl::ResourceExhaustedError(config::OpenSslError("X509_STORE_add_cert failed"));
    }
  }
  if (!tls.client_cert.empty()) {
    if (tls.cert_pem.empty() || tls.key_pem.empty())
      return absl::FailedPreconditionError(absl::StrCat(tls.client_cert, " was not loaded"));
    auto certs = config::ReadPemCertificates(tls.cert_pem);
    if (!certs.ok()) return Prefixed(tls.client_cert, certs.status());
    auto key = config::ReadPemPrivateKey(tls.key_pem);
    if (!key.ok()) return Prefixed(tls.client_key, key.status());
    // use_certificate and add1_chain_cert take references of their own.
    bool ok = SSL_CTX_use_certificate(ctx.get(), certs->front().get()) == 1 &&
              SSL_CTX_use_PrivateKey(ctx.get(), key->get()) == 1 &&
              SSL_CTX_check_private_key(ctx.get()) == 1;
    for (size_t i = 1; ok && i < certs->size(); ++i)
      ok = SSL_CTX_add1_chain_cert(ctx.get(), (*certs)[i].get()) == 1;
    if (!ok)
      return absl::InternalError(
          absl::StrCat(tls.client_cert, ": ", config::OpenSslError("not usable")));
  }
  return ctx;
}

// Contexts are built once per distinct TlsCheck (CA and certificate parsing
// is the costly part of a TLS client), not per probe. The loop's thread is
// the only user; a few configs' worth are kept, then the cache starts over
// (probes in flight hold their own reference).
absl::StatusOr<SslCtxPtr> ContextFor(const config::TlsCheck& tls) {
  constexpr size_t kMaxContexts = 32;
  thread_local std::vector<std::pair<config::TlsCheck, SslCtxPtr>> cache;
  for (const auto& [key, ctx] : cache)
    if (key == tls) return ctx;
  absl::StatusOr<SslCtxPtr> ctx = BuildContext(tls);
  if (!ctx.ok()) return ctx;
  if (cache.size() >= kMaxContexts) cache.clear();
  cache.emplace_back(tls, *ctx);
  return ctx;
}

// "TLS: certificate verify failed: unable to get local issuer certificate".
std::string TlsFailure(SSL* ssl, const asio::error_code& ec) {
  if (ec.category() == asio::error::get_ssl_category()) {
    const long verify = ssl != nullptr ? SSL_get_verify_result(ssl) : X509_V_OK;
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    std::string text = reason != nullptr ? reason : ec.message();
    if (verify != X509_V_OK && ERR_GET_REASON(static_cast<unsigned long>(ec.value())) ==
                                   SSL_R_CERTIFICATE_VERIFY_FAILED)
      absl::StrAppend(&text, ": ", X509_verify_cert_error_string(verify));
    return absl::StrCat("TLS: ", text);
  }
  if (ec == asio::ssl::error::stream_truncated) return "TLS: connection closed without close_notify";
  return ec.message();
}

// --- TCP and HTTP(S) ---------------------------------------------------------

struct HttpRequest {
  std::string path;
  std::vector<int> expect;
  std::string body;
};

// What a probe needs of an https check: the shared context, and the name.
struct TlsClient {
  SslCtxPtr ctx;
  std::string server_name;  // "" = the real's address
  bool verify = true;
};

// One connection with a deadline. Every completion handler holds a
// shared_ptr, so the probe lives until the last of them has run; done_ makes
// the first outcome (result or deadline) the only one reported.
//
// With TLS, the same HTTP exchange runs over a TLS stream on the socket,
// after a handshake; everything else (deadline, source, errors) is shared.
class SocketProbe : public std::enable_shared_from_this<SocketProbe> {
 public:
  SocketProbe(asio::io_context& io, const IpAddress& address, uint16_t port, Duration timeout,
              std::optional<HttpRequest> http, ProbeHandler handler, const ProbeSource& source,
              std::optional<TlsClient> tls = std::nullopt)
      : socket_(io),
        source_(source),
        deadline_(io),
        address_(address),
        endpoint_(ToAsio(address), port),
        name_(model::FormatEndpoint(address, port)),
        timeout_(timeout),
        http_(std::move(http)),
        tls_(std::move(tls)),
        handler_(std::move(handler)) {
    if (http_) {
      if (http_->path.empty()) http_->path = "/";
      if (http_->expect.empty()) http_->expect = {200};
      const std::string host = port == 80 ? (address.is_v4() ? address.ToString()
                                                             : absl::StrCat("[", address.ToString(), "]"))
                                          : name_;
      request_ = absl::StrCat("GET ", http_->path, " HTTP/1.0\r\nHost: ", host,
                              "\r\nUser-Agent: xlb-health\r\nAccept: */*\r\nConnection: close\r\n\r\n");
    }
  }

  void Start() {
    if (tls_) {
      if (std::optional<ProbeResult> error = SetUpTls()) {
        asio::post(socket_.get_executor(), [self = shared_from_this(), error = *error] {
          self->Finish(error);
        });
        return;
      }
    }
    if (source_) {
      if (std::string error = Bind(); !error.empty()) {
        // Never from inside the call: the caller's handler may not expect it.
        asio::post(socket_.get_executor(), [self = shared_from_this(), error] {
          self->Finish(false, error);
        });
        return;
      }
    }
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (ec) return;  // cancelled: the probe finished first
      self->Finish(false, absl::StrCat(self->Doing(), ": ", TimedOut(self->timeout_)));
    });
    // async_connect opens the socket itself and reports failures (e.g. no
    // IPv6) through the handler, so nothing here completes synchronously.
    socket_.async_connect(endpoint_, [self = shared_from_this()](const asio::error_code& ec) {
      self->OnConnect(ec);
    });
  }

 private:
  // Opens the socket bound to source_ ("" or why not).
  std::string Bind() {
    const tcp::endpoint local(ToAsio(*source_), 0);
    asio::error_code ec;
    socket_.open(local.protocol(), ec);
    if (!ec) {
      // The port is chosen at connect time, per destination: binding does
      // not use up the source's ports.
      const int one = 1;
      setsockopt(socket_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
      socket_.bind(local, ec);
    }
    if (!ec) return "";
    return absl::StrCat("connect to ", name_, " from ", source_->ToString(), ": ", ec.message());
  }

  // The TLS stream over socket_, set to verify the real's name: nullopt, or
  // a local error (no memory for the SSL object).
  std::optional<ProbeResult> SetUpTls() {
    ERR_clear_error();
    SSL* ssl = SSL_new(tls_->ctx.get());
    if (ssl == nullptr)
      return LocalError(absl::StrCat("TLS: SSL_new: ", config::OpenSslError("out of memory")));
    // The name to verify: server_name, else the address the probe connects
    // to (which must then be an IP SAN of the certificate).
    const std::string name = tls_->server_name.empty() ? address_.ToString() : tls_->server_name;
    const bool is_ip = IpAddress::Parse(name).ok();
    bool ok = true;
    // SNI carries host names only (RFC 6066: no address literals).
    if (!is_ip) ok = SSL_set_tlsext_host_name(ssl, name.c_str()) == 1;
    if (ok && tls_->verify) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      if (is_ip) {
        ok = X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) == 1;
      } else {
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0) == 1;
      }
    }
    if (!ok) {
      SSL_free(ssl);
      return LocalError(
          absl::StrCat("TLS: setting the name ", name, ": ", config::OpenSslError("out of memory")));
    }
    tls_stream_.emplace(socket_, ssl);  // takes ownership of ssl
    return std::nullopt;
  }

  std::string Doing() const {
    if (!http_ || !connected_) return absl::StrCat("connect to ", name_);
    if (tls_ && !handshaken_) return absl::StrCat("TLS handshake with ", name_);
    return absl::StrCat("GET ", tls_ ? "https://" : "http://", name_, http_->path);
  }

  // Runs f on the stream the HTTP exchange goes over: the TLS stream or
  // the plain socket.
  template <typename F>
  void OnStream(F&& f) {
    if (tls_stream_)
      f(*tls_stream_);
    else
      f(socket_);
  }

  void OnConnect(const asio::error_code& ec) {
    if (done_) return;
    if (ec) return FinishWithError(absl::StrCat("connect to ", name_), ec);
    connected_ = true;
    if (!http_) return Finish(true, absl::StrCat("connected to ", name_));
    if (!tls_stream_) return Send();
    tls_stream_->async_handshake(asio::ssl::stream_base::client,
                                 [self = shared_from_this()](const asio::error_code& ec) {
                                   if (self->done_) return;
                                   // The reason alone: "TLS: certificate verify failed: ..."
                                   if (ec) return self->FinishWithError("", ec);
                                   self->handshaken_ = true;
                                   self->Send();
                                 });
  }

  void Send() {
    OnStream([this](auto& stream) {
      asio::async_write(stream, asio::buffer(request_),
                        [self = shared_from_this()](const asio::error_code& ec, size_t) {
                          if (self->done_) return;
                          if (ec) return self->FinishWithError(self->Doing(), ec);
                          self->Read();
                        });
    });
  }

  void Read() {
    OnStream([this](auto& stream) {
      stream.async_read_some(asio::buffer(chunk_),
                             [self = shared_from_this()](const asio::error_code& ec, size_t n) {
                               self->OnRead(ec, n);
                             });
    });
  }

  void OnRead(const asio::error_code& ec, size_t n) {
    if (done_) return;
    response_.append(chunk_.data(), std::min(n, kMaxResponse - response_.size()));
    // A TLS server that closes without close_notify ends the response too
    // (HTTP/1.0 reads until the close; the length is checked below).
    const bool closed = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
    if (closed || response_.size() >= kMaxResponse) return Evaluate();
    if (ec) {
      // A reset right after a complete answer still counts as the answer.
      if (response_.empty()) return FinishWithError(Doing(), ec);
      return Evaluate();
    }
    // Servers that keep the connection open despite HTTP/1.0 are done once
    // Content-Length bytes of body have arrived.
    if (size_t body = BodyOffset(response_); body != std::string::npos) {
      std::optional<size_t> length = ContentLength(std::string_view(response_).substr(0, body));
      if (length && response_.size() - body >= *length) return Evaluate();
    }
    Read();
  }

  void Evaluate() {
    if (response_.empty()) {
      return Finish(false, absl::StrCat(Doing(), ": connection closed without a response"));
    }
    std::optional<int> status = ParseStatusLine(response_);
    if (!status) {
      return Finish(false, absl::StrCat(Doing(), ": not an HTTP response: '", Excerpt(response_), "'"));
    }
    if (std::find(http_->expect.begin(), http_->expect.end(), *status) == http_->expect.end()) {
      return Finish(false, absl::StrCat("HTTP ", *status, " (expected ", absl::StrJoin(http_->expect, ", "), ")"));
    }
    if (!http_->body.empty()) {
      size_t offset = BodyOffset(response_);
      std::string_view body =
          offset == std::string::npos ? std::string_view() : std::string_view(response_).substr(offset);
      if (body.find(http_->body) == std::string_view::npos) {
        return Finish(false, absl::StrCat("HTTP ", *status, ", body lacks '", http_->body, "'"));
      }
    }
    Finish(true, absl::StrCat("HTTP ", *status));
  }

  // doing: what failed ("" for a TLS handshake: its reason says it).
  void FinishWithError(const std::string& doing, const asio::error_code& ec) {
    const bool tls = ec.category() == asio::error::get_ssl_category() ||
                     ec == asio::ssl::error::stream_truncated;
    const std::string what =
        tls ? TlsFailure(tls_stream_ ? tls_stream_->native_handle() : nullptr, ec) : ec.message();
    std::string detail = doing.empty() ? what : absl::StrCat(doing, ": ", what);
    if (ec.category() == asio::system_category() && IsLocalError(ec.value()))
      return Finish(LocalError(std::move(detail)));
    // OpenSSL out of memory (or out of descriptors, reported as a system
    // error through it) is this host's trouble too.
    if (ec.category() == asio::error::get_ssl_category()) {
      const unsigned long e = static_cast<unsigned long>(ec.value());
      if (ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE ||
          (ERR_SYSTEM_ERROR(e) && IsLocalError(ERR_GET_REASON(e))))
        return Finish(LocalError(std::move(detail)));
    }
    Finish(false, std::move(detail));
  }

  void Finish(bool ok, std::string detail) { Finish(ProbeResult{ok, false, std::move(detail)}); }

  void Finish(ProbeResult result) {
    if (done_) return;
    done_ = true;
    deadline_.cancel();
    asio::error_code ignored;
    socket_.close(ignored);  // also aborts whatever is still pending on it
    ProbeHandler handler = std::move(handler_);
    handler(std::move(result));
  }

  tcp::socket socket_;
  ProbeSource source_;
  asio::steady_timer deadline_;
  IpAddress address_;
  tcp::endpoint endpoint_;
  std::string name_;  // "203.0.113.11:8008", "[2001:db8::11]:8008"
  Duration timeout_;
  std::optional<HttpRequest> http_;
  std::optional<TlsClient> tls_;
  std::optional<asio::ssl::stream<tcp::socket&>> tls_stream_;  // https, once set up
  ProbeHandler handler_;
  std::string request_;
  std::string response_;
  std::array<char, 4096> chunk_;
  bool connected_ = false;
  bool handshaken_ = false;
  bool done_ = false;
};

// --- exec ----------------------------------------------------------------------

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exit status ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return absl::StrCat("killed by signal ", WTERMSIG(status), " (", strsignal(WTERMSIG(status)), ")");
  }
  return absl::StrCat("wait status ", status);
}

// Owns the child until it is reaped. The exit is awaited on a pidfd (readable
// once the process has exited) registered with the loop; waitpid then only
// collects a zombie and never blocks.
class ExecProbe : public std::enable_shared_from_this<ExecProbe> {
 public:
  ExecProbe(asio::io_context& io, Duration timeout, ProbeHandler handler)
      : io_(io), pidfd_(io), deadline_(io), timeout_(timeout), handler_(std::move(handler)) {}

  ~ExecProbe() {
    // Only when the loop is torn down with the child still running: reap it
    // here rather than leave a zombie (SIGKILL makes the wait short).
    if (pid_ > 0 && !reaped_) {
      kill(-pid_, SIGKILL);
      while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  }

  void Start(const std::string& command, const IpAddress& address, uint16_t port) {
    if (int err = Spawn(command, address, port); err != 0) {
      done_ = true;
      return Post(io_, std::move(handler_),
                  LocalError(absl::StrCat("start /bin/sh: ", std::strerror(err))));
    }
    int fd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
    if (fd < 0) {
      // Kernel older than 5.3: no way to wait without blocking; give up on
      // this probe but leave nothing behind.
      int err = errno;
      kill(-pid_, SIGKILL);
      while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
      }
      reaped_ = true;
      done_ = true;
      return Post(io_, std::move(handler_),
                  LocalError(absl::StrCat("pidfd_open: ", std::strerror(err))));
    }
    pidfd_.assign(fd);
    WaitForExit();
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = shared_from_this()](const asio::error_code& ec) {
      if (ec || self->done_) return;
      // The shell is still unreaped, so its pid (= the group id) is still
      // ours: killing the group cannot hit anybody else. The pending pidfd
      // wait reaps it.
      kill(-self->pid_, SIGKILL);
      self->Finish(false, absl::StrCat("command ", TimedOut(self->timeout_), ", killed"));
    });
  }

 private:
  // Returns 0 or an errno value.
  int Spawn(const std::string& command, const IpAddress& address, uint16_t port) {
    return SpawnScript(command,
                       {absl::StrCat("XLB_REAL_ADDRESS=", address.ToString()),
                        absl::StrCat("XLB_REAL_PORT=", port)},
                       &pid_);
  }

  void WaitForExit() {
    pidfd_.async_wait(asio::posix::stream_descriptor::wait_read,
                      [self = shared_from_this()](const asio::error_code& ec) {
                        if (!ec) self->OnExit();
                      });
  }

  void OnExit() {
    // Readiness is only a hint: asio can hand a stale event of a closed
    // descriptor to the next one that reuses its slot. Check, without
    // reaping, that the shell really has exited.
    siginfo_t info{};
    int w;
    do {
      w = waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT);
    } while (w < 0 && errno == EINTR);
    if (w == 0 && info.si_pid == 0) return WaitForExit();
    // It has exited but is not reaped yet, so its group id is still
    // reserved: kill what it left running (`cmd &`), then reap it.
    kill(-pid_, SIGKILL);
    int status = 0;
    pid_t r;
    do {
      r = waitpid(pid_, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return WaitForExit();  // cannot happen after waitid; be safe
    reaped_ = true;
    if (r < 0) {
      // Someone else reaped it (SIGCHLD ignored?): the status is lost.
      return Finish(LocalError(absl::StrCat("waitpid: ", std::strerror(errno))));
    }
    Finish(WIFEXITED(status) && WEXITSTATUS(status) == 0, DescribeExit(status));
  }

  void Finish(bool ok, std::string detail) { Finish(ProbeResult{ok, false, std::move(detail)}); }

  void Finish(ProbeResult result) {
    if (done_) return;
    done_ = true;
    deadline_.cancel();
    ProbeHandler handler = std::move(handler_);
    handler(std::move(result));
  }

  asio::io_context& io_;
  asio::posix::stream_descriptor pidfd_;
  asio::steady_timer deadline_;
  Duration timeout_;
  ProbeHandler handler_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  bool done_ = false;
};

}  // namespace

bool IsLocalError(int err) {
  switch (err) {
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
    case EADDRNOTAVAIL:
    case EAGAIN:  // spawn: out of processes
      return true;
  }
  return false;
}

void ProbeTcp(asio::io_context& io, const IpAddress& address, uint16_t port, Duration timeout,
              ProbeHandler handler, const ProbeSource& source) {
  std::make_shared<SocketProbe>(io, address, port, timeout, std::nullopt, std::move(handler),
                                source)
      ->Start();
}

void ProbeHttp(asio::io_context& io, const IpAddress& address, uint16_t port, Duration timeout,
               const std::string& path, const std::vector<int>& expect, const std::string& body,
               ProbeHandler handler, const ProbeSource& source) {
  std::make_shared<SocketProbe>(io, address, port, timeout, HttpRequest{path, expect, body},
                                std::move(handler), source)
      ->Start();
}

void ProbeHttps(asio::io_context& io, const IpAddress& address, uint16_t port, Duration timeout,
                const std::string& path, const std::vector<int>& expect, const std::string& body,
                const config::TlsCheck& tls, ProbeHandler handler, const ProbeSource& source) {
  absl::StatusOr<SslCtxPtr> ctx = ContextFor(tls);
  if (!ctx.ok()) {
    return Post(io, std::move(handler),
                LocalError(absl::StrCat("TLS context: ", ctx.status().message())));
  }
  std::make_shared<SocketProbe>(io, address, port, timeout, HttpRequest{path, expect, body},
                                std::move(handler), source,
                                TlsClient{*std::move(ctx), tls.server_name, tls.verify})
      ->Start();
}

void ProbeExec(asio::io_context& io, const std::string& command, const IpAddress& address,
               uint16_t port, Duration timeout, ProbeHandler handler) {
  std::make_shared<ExecProbe>(io, timeout, std::move(handler))->Start(command, address, port);
}

std::shared_ptr<ScriptQueue> ScriptQueue::Create(asio::io_context& io, Duration timeout) {
  return std::shared_ptr<ScriptQueue>(new ScriptQueue(io, timeout));
}

void ScriptQueue::Push(std::string command, const IpAddress& address, Done done) {
  pending_.push_back(Item{std::move(command), address, std::move(done)});
  if (!running_) StartNext();
}

void ScriptQueue::StartNext() {
  if (pending_.empty()) {
    running_ = false;
    return;
  }
  running_ = true;
  Item item = std::move(pending_.front());
  pending_.pop_front();
  ProbeExec(io_, item.command, item.address, 0, timeout_,
            [self = shared_from_this(), command = item.command,
             done = std::move(item.done)](ProbeResult r) {
              if (done) done(command, r);
              self->StartNext();
            });
}

void Probe(asio::io_context& io, const config::HealthCheck& check, const IpAddress& address,
           uint16_t real_port, ProbeHandler handler, const ProbeSource& source) {
  const uint16_t port = check.port != 0 ? check.port : real_port;
  const ProbeSource& from = check.source ? check.source : source;
  switch (check.type) {
    case config::HealthType::kNone:
      return Post(io, std::move(handler), ProbeResult{true, false, "no health check"});
    case config::HealthType::kTcp:
      return ProbeTcp(io, address, port, check.timeout, std::move(handler), from);
    case config::HealthType::kHttp:
      return ProbeHttp(io, address, port, check.timeout, check.path, check.expect, check.body,
                       std::move(handler), from);
    case config::HealthType::kHttps:
      return ProbeHttps(io, address, port, check.timeout, check.path, check.expect, check.body,
                        check.tls, std::move(handler), from);
    case config::HealthType::kExec:
      return ProbeExec(io, check.command, address, port, check.timeout, std::move(handler));
  }
  Post(io, std::move(handler), ProbeResult{false, false, "unknown health check type"});
}

}  // namespace xlb::health
