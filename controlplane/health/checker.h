// One health probe of one real, asynchronous on the daemon's event loop:
// a TCP connect, an HTTP GET (plain or TLS), or a command. Each call starts one probe and
// calls its handler exactly once, never from inside the call itself, and
// never later than the timeout (plus the loop's own latency).
//
// The probe keeps what it needs alive by itself; the caller may forget about
// it. To ignore a result that comes after the caller lost interest, the
// handler should hold weak state (see monitor.cc).
#ifndef XLB_CONTROLPLANE_HEALTH_CHECKER_H_
#define XLB_CONTROLPLANE_HEALTH_CHECKER_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "asio/io_context.hpp"
#include "controlplane/config/model.h"
#include "model/address.h"

namespace xlb::health {

using Duration = std::chrono::milliseconds;  // the same type as config::Duration

// A probe that could not be made for a reason on this host (out of
// descriptors, memory, buffers or local ports; a command that could not be
// started) says nothing about the real: it is `local_error`, neither up nor
// down, and must not count towards rise or fall.
struct ProbeResult {
  bool ok = false;
  bool local_error = false;  // then ok is false and means nothing
  // Why, for logs and the API: "connect to 203.0.113.11:8008: Connection
  // refused", "HTTP 503 (expected 200)", "timed out after 500ms", ...
  std::string detail;
};

using ProbeHandler = std::function<void(ProbeResult)>;

// The address a probe's connection leaves from; nullopt: the kernel's
// choice. Bound explicitly, so that no VIP on the director (which the kernel
// might prefer; see controlplane/vrrp/vip_source.h) becomes the source.
using ProbeSource = std::optional<model::IpAddress>;

// Whether a failed socket(), bind(), connect() or spawn with this errno is
// this host's fault (EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL, EAGAIN).
bool IsLocalError(int err);

// ok once a TCP connection to address:port is established; it is then closed.
void ProbeTcp(asio::io_context& io, const model::IpAddress& address, uint16_t port,
              Duration timeout, ProbeHandler handler, const ProbeSource& source = std::nullopt);

// An HTTP/1.0 GET of `path` (Host: the address, with the port unless 80).
// The response is read until the server closes (or Content-Length is
// reached, or 64 KiB). ok iff the status is in `expect` (empty: {200}) and
// `body` is empty or a substring of the response body.
void ProbeHttp(asio::io_context& io, const model::IpAddress& address, uint16_t port,
               Duration timeout, const std::string& path, const std::vector<int>& expect,
               const std::string& body, ProbeHandler handler,
               const ProbeSource& source = std::nullopt);

// The same GET over TLS (verified as `tls` says, from the PEM contents it
// holds: see config::TlsCheck). A failed handshake or verification is a
// failed probe with the reason ("TLS: certificate verify failed: unable to
// get local issuer certificate"); a TLS context or SSL object this host
// cannot make (out of memory, files never loaded) is a local_error. The
// timeout bounds the whole probe, handshake included.
void ProbeHttps(asio::io_context& io, const model::IpAddress& address, uint16_t port,
                Duration timeout, const std::string& path, const std::vector<int>& expect,
                const std::string& body, const config::TlsCheck& tls, ProbeHandler handler,
                const ProbeSource& source = std::nullopt);

// Runs `/bin/sh -c command` as the script user (spawn.h: SpawnScript), in a
// process group of its own, with the fixed script environment plus
// XLB_REAL_ADDRESS and XLB_REAL_PORT, stdin and stdout/stderr on /dev/null
// and no other inherited descriptors. ok iff it exits with status 0; if it
// cannot be started, the result is a local_error. On timeout the whole
// group is killed (SIGKILL); once the shell has exited, whatever it left
// behind in its group is killed too. The shell is always reaped, without
// blocking the loop.
void ProbeExec(asio::io_context& io, const std::string& command,
               const model::IpAddress& address, uint16_t port, Duration timeout,
               ProbeHandler handler);

// Runs commands (ProbeExec) one at a time, in the order given: the next
// starts once the previous one has ended or been killed at `timeout`. For
// notify scripts, which must see an instance's states in order. Pending
// commands still run if the owner drops the queue.
class ScriptQueue : public std::enable_shared_from_this<ScriptQueue> {
 public:
  using Done = std::function<void(const std::string& command, const ProbeResult&)>;
  static std::shared_ptr<ScriptQueue> Create(asio::io_context& io, Duration timeout);

  // XLB_REAL_ADDRESS is `address`, XLB_REAL_PORT 0.
  void Push(std::string command, const model::IpAddress& address, Done done);
  size_t pending() const { return pending_.size(); }
  bool running() const { return running_; }

 private:
  ScriptQueue(asio::io_context& io, Duration timeout) : io_(io), timeout_(timeout) {}
  void StartNext();

  struct Item {
    std::string command;
    model::IpAddress address;
    Done done;
  };
  asio::io_context& io_;
  Duration timeout_;
  std::deque<Item> pending_;
  bool running_ = false;
};

// Dispatches on check.type; the port is check.port, or real_port if that is
// 0; tcp, http and https leave from check.source, else from `source`. kNone answers
// ok ("no health check") without doing anything.
void Probe(asio::io_context& io, const config::HealthCheck& check,
           const model::IpAddress& address, uint16_t real_port, ProbeHandler handler,
           const ProbeSource& source = std::nullopt);

}  // namespace xlb::health

#endif  // XLB_CONTROLPLANE_HEALTH_CHECKER_H_
