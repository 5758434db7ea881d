// A small HTTP/1.1 server on the daemon's event loop, for the API (unix
// socket) and the metrics (TCP). One request per connection, bodies up to
// 1 MiB, a deadline per connection: enough for a local control API, and no
// thread of its own, so handlers run on the loop like everything else.
#ifndef XLB_CONTROLPLANE_API_HTTP_H_
#define XLB_CONTROLPLANE_API_HTTP_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

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
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// Parses the head (request line and headers, up to the blank line) of a
// request; `content_length` gets its body's length. Exposed for tests.
absl::StatusOr<HttpRequest> ParseRequestHead(const std::string& head, size_t* content_length);

// An error when a process accepts connections on the unix socket `path`
// (another xlbd serving its API there): replacing it would cut that daemon
// off from its operators. A socket file nobody listens on is stale: fine.
absl::Status CheckUnixSocketFree(const std::string& path);

class HttpServer {
 public:
  // Listens on a unix socket (replacing a stale socket file, never a live
  // one: see CheckUnixSocketFree), with `mode`
  // and, if `group` is not empty, that group as owner.
  static absl::StatusOr<std::unique_ptr<HttpServer>> ListenUnix(asio::io_context& io,
                                                                const std::string& path,
                                                                unsigned mode,
                                                                const std::string& group,
                                                                HttpHandler handler);
  // Listens on "HOST:PORT" or "[V6]:PORT".
  static absl::StatusOr<std::unique_ptr<HttpServer>> ListenTcp(asio::io_context& io,
                                                               const std::string& address,
                                                               HttpHandler handler);
  ~HttpServer();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace xlb::api

#endif  // XLB_CONTROLPLANE_API_HTTP_H_
