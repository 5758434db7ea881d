// A small HTTP/1.1 server on the daemon's event loop, for the API (unix
// socket) and the metrics (TCP). One request per connection, bodies up to
// 1 MiB, a deadline per connection: enough for a local control API, and no
// thread of its own, so handlers run on the loop like everything else.
// A HEAD request gets the head of the handler's answer, without its body.
//
// Both listeners are open to local users, so neither may let idle
// connections use up the daemon's descriptors (the health checks need
// them): at most `max_sessions` connections are served at once; at the cap
// the oldest one still sending its request is closed for the newcomer (with
// none such, all being answered, the newcomer is closed). A connection
// lasts 10 s at most. Accept errors (out of
// descriptors or memory) are retried after a pause growing from 50 ms to
// 1 s, not in a spin.
#ifndef XLB_CONTROLPLANE_API_HTTP_H_
#define XLB_CONTROLPLANE_API_HTTP_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "asio.hpp"

namespace xlb::api {

struct HttpRequest {
  std::string method;                         // "GET", "POST", ...
  std::string path;                           // without the query
  std::map<std::string, std::string> query;   // ?a=b&c=d, percent-decoded
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // more header lines: name, value
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// Parses the head (request line and headers, up to the blank line) of a
// request; `content_length` gets its body's length. Exposed for tests.
absl::StatusOr<HttpRequest> ParseRequestHead(const std::string& head, size_t* content_length);

// An error when a process accepts connections on the unix socket `path`
// (another xlbd serving its API there): replacing it would cut that daemon
// off from its operators. A socket file nobody listens on is stale: fine.
absl::Status CheckUnixSocketFree(const std::string& path);

// Counted since the server started; for tests, logs and metrics.
struct HttpServerStats {
  uint64_t accepted = 0;
  uint64_t evicted = 0;        // closed before their whole request came, for a newcomer
  uint64_t refused = 0;        // closed on arrival: the cap was full of busy sessions
  uint64_t accept_errors = 0;  // failed accepts (each followed by a pause)
  int sessions = 0;            // open now
};

class HttpServer {
 public:
  // Listens on a unix socket (replacing a stale socket file, never a live
  // one: see CheckUnixSocketFree), with `mode`
  // and, if `group` is not empty, that group as owner.
  static absl::StatusOr<std::unique_ptr<HttpServer>> ListenUnix(asio::io_context& io,
                                                                const std::string& path,
                                                                unsigned mode,
                                                                const std::string& group,
                                                                int max_sessions,
                                                                HttpHandler handler);
  // Listens on "HOST:PORT" or "[V6]:PORT".
  static absl::StatusOr<std::unique_ptr<HttpServer>> ListenTcp(asio::io_context& io,
                                                               const std::string& address,
                                                               int max_sessions,
                                                               HttpHandler handler);
  ~HttpServer();

  HttpServerStats stats() const;

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace xlb::api

#endif  // XLB_CONTROLPLANE_API_HTTP_H_
