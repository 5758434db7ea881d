#include "controlplane/api/http.h"

#include <grp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <list>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "glog/logging.h"

namespace xlb::api {
namespace {

constexpr size_t kMaxHead = 16 * 1024;
constexpr size_t kMaxBody = 1024 * 1024;
constexpr auto kDeadline = std::chrono::seconds(10);

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
  }
  return "Status";
}

// The answer on the wire; without its body for a HEAD request (its length
// is still the body's, as for GET).
std::string Serialize(const HttpResponse& r, bool head_only) {
  std::string out = absl::StrCat("HTTP/1.1 ", r.status, " ", Reason(r.status),
                                 "\r\nContent-Type: ", r.content_type,
                                 "\r\nContent-Length: ", r.body.size());
  for (const auto& [name, value] : r.headers) absl::StrAppend(&out, "\r\n", name, ": ", value);
  absl::StrAppend(&out, "\r\nConnection: close\r\n\r\n");
  if (!head_only) out += r.body;
  return out;
}

// What the sessions of one server share with it, and outlives it while any
// of them, or an accept or retry handler, is still pending.
struct ServerState {
  class SessionBase {
   public:
    virtual ~SessionBase() = default;
    virtual void Evict() = 0;
    bool answering = false;  // its whole request has arrived
  };

  explicit ServerState(asio::io_context& io) : retry(io) {}

  std::string name;  // for logs: "API socket /run/xlb/xlbd.sock"
  HttpHandler handler;
  size_t max_sessions = 64;
  std::list<SessionBase*> sessions;  // open ones, oldest first
  HttpServerStats stats;
  asio::steady_timer retry;  // the pause after an accept error
  std::chrono::milliseconds backoff{0};
  bool closed = false;  // the HttpServer is gone: accept no more

  // Floods are logged once per 10 s per server, with running totals.
  bool ShouldLog() {
    const auto now = std::chrono::steady_clock::now();
    if (logged && now - last_log < std::chrono::seconds(10)) return false;
    logged = true;
    last_log = now;
    return true;
  }
  bool logged = false;
  std::chrono::steady_clock::time_point last_log;
};

constexpr std::chrono::milliseconds kFirstBackoff{50};
constexpr std::chrono::milliseconds kMaxBackoff{1000};

// One connection: read the head, then the body, answer, close.
template <typename Socket>
class Session : public ServerState::SessionBase,
                public std::enable_shared_from_this<Session<Socket>> {
 public:
  Session(Socket socket, std::shared_ptr<ServerState> server)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), server_(std::move(server)) {
    server_->sessions.push_back(this);
    position_ = std::prev(server_->sessions.end());
  }
  ~Session() override { Close(); }

  void Start() {
    timer_.expires_after(kDeadline);
    timer_.async_wait([self = this->shared_from_this()](std::error_code ec) {
      if (!ec) self->Close();
    });
    ReadHead();
  }

  // Pending operations end with an error and drop their references.
  void Evict() override { Close(); }

 private:
  void Close() {
    if (!open_) return;
    open_ = false;
    server_->sessions.erase(position_);
    std::error_code ignored;
    socket_.close(ignored);
    timer_.cancel();
  }

  void ReadHead() {
    asio::async_read_until(
        socket_, asio::dynamic_buffer(buffer_, kMaxHead), "\r\n\r\n",
        [self = this->shared_from_this()](std::error_code ec, size_t n) {
          if (ec) return self->Fail(ec == asio::error::not_found ? 413 : 0, "request head too long");
          std::string head = self->buffer_.substr(0, n);
          self->buffer_.erase(0, n);
          size_t length = 0;
          auto req = ParseRequestHead(head, &length);
          if (!req.ok()) return self->Fail(400, std::string(req.status().message()));
          if (length > kMaxBody) return self->Fail(413, "request body over 1 MiB");
          self->request_ = std::move(*req);
          self->ReadBody(length);
        });
  }

  void ReadBody(size_t length) {
    if (buffer_.size() >= length) {
      request_.body = buffer_.substr(0, length);
      answering = true;
      return Answer(server_->handler(request_));
    }
    asio::async_read(socket_, asio::dynamic_buffer(buffer_), asio::transfer_exactly(length - buffer_.size()),
                     [self = this->shared_from_this(), length](std::error_code ec, size_t) {
                       if (ec) return self->Fail(0, "");
                       self->ReadBody(length);
                     });
  }

  void Fail(int status, const std::string& why) {
    if (status == 0 || !open_) return Close();
    HttpResponse r;
    r.status = status;
    r.body = absl::StrCat("{\"error\": \"", why, "\"}\n");
    Answer(r);
  }

  void Answer(const HttpResponse& r) {
    out_ = Serialize(r, request_.method == "HEAD");
    asio::async_write(socket_, asio::buffer(out_),
                      [self = this->shared_from_this()](std::error_code, size_t) {
                        std::error_code ignored;
                        self->socket_.shutdown(Socket::shutdown_both, ignored);
                        self->Close();
                      });
  }

  Socket socket_;
  asio::steady_timer timer_;
  std::shared_ptr<ServerState> server_;
  std::list<ServerState::SessionBase*>::iterator position_;
  bool open_ = true;
  std::string buffer_, out_;
  HttpRequest request_;
};

// Makes room for one more session: closes the oldest one still waiting for
// its request (an idle or trickling connection costs its owner nothing, so
// such ones must never keep a real client out). False if all are busy
// answering (a client that does not read a long answer, until the deadline).
bool MakeRoom(ServerState& server) {
  if (server.sessions.size() < server.max_sessions) return true;
  for (ServerState::SessionBase* s : server.sessions) {
    if (s->answering) continue;
    s->Evict();
    ++server.stats.evicted;
    LOG_IF(WARNING, server.ShouldLog())
        << server.name << ": " << server.max_sessions
        << " connections open, closed the oldest idle one (" << server.stats.evicted
        << " evicted, " << server.stats.refused << " refused so far)";
    return true;
  }
  ++server.stats.refused;
  LOG_IF(WARNING, server.ShouldLog())
      << server.name << ": " << server.max_sessions << " connections busy, refused a new one ("
      << server.stats.refused << " refused so far)";
  return false;
}

template <typename Acceptor>
void Accept(Acceptor& acceptor, std::shared_ptr<ServerState> server) {
  acceptor.async_accept([&acceptor, server](std::error_code ec, auto socket) {
    // Closed: `acceptor` may be gone already.
    if (server->closed || ec == asio::error::operation_aborted) return;
    if (ec) {
      // EMFILE, ENFILE, ENOBUFS, ENOMEM, ...: the pending connection stays
      // queued, so retrying at once would spin. Pause, longer each time.
      ++server->stats.accept_errors;
      server->backoff = std::min(kMaxBackoff, server->backoff.count() == 0 ? kFirstBackoff
                                                                           : server->backoff * 2);
      LOG_IF(WARNING, server->ShouldLog())
          << server->name << ": accept: " << ec.message() << " (" << server->stats.accept_errors
          << " errors so far); retrying in " << server->backoff.count() << "ms";
      server->retry.expires_after(server->backoff);
      server->retry.async_wait([&acceptor, server](std::error_code ec) {
        if (server->closed || ec) return;
        Accept(acceptor, server);
      });
      return;
    }
    server->backoff = std::chrono::milliseconds(0);
    ++server->stats.accepted;
    if (MakeRoom(*server)) {
      std::make_shared<Session<decltype(socket)>>(std::move(socket), server)->Start();
    } else {
      std::error_code ignored;
      socket.close(ignored);
    }
    Accept(acceptor, server);
  });
}

std::shared_ptr<ServerState> NewState(asio::io_context& io, std::string name, int max_sessions,
                                      HttpHandler handler) {
  auto state = std::make_shared<ServerState>(io);
  state->name = std::move(name);
  state->max_sessions = static_cast<size_t>(std::max(max_sessions, 1));
  state->handler = std::move(handler);
  return state;
}

}  // namespace

absl::StatusOr<HttpRequest> ParseRequestHead(const std::string& head, size_t* content_length) {
  *content_length = 0;
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  if (lines.empty()) return absl::InvalidArgumentError("empty request");
  std::vector<absl::string_view> first = absl::StrSplit(lines[0], ' ');
  if (first.size() != 3 || !absl::StartsWith(first[2], "HTTP/1."))
    return absl::InvalidArgumentError("malformed request line");
  HttpRequest r;
  r.method = std::string(first[0]);
  absl::string_view target = first[1];
  if (auto q = target.find('?'); q != absl::string_view::npos) {
    for (absl::string_view kv : absl::StrSplit(target.substr(q + 1), '&', absl::SkipEmpty())) {
      auto eq = kv.find('=');
      r.query[PercentDecode(kv.substr(0, eq))] =
          eq == absl::string_view::npos ? "" : PercentDecode(kv.substr(eq + 1));
    }
    target = target.substr(0, q);
  }
  r.path = PercentDecode(target);
  for (size_t i = 1; i < lines.size(); ++i) {
    auto colon = lines[i].find(':');
    if (colon == absl::string_view::npos) continue;
    if (absl::AsciiStrToLower(absl::StripAsciiWhitespace(lines[i].substr(0, colon))) ==
        "content-length") {
      if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)), content_length))
        return absl::InvalidArgumentError("bad Content-Length");
    }
  }
  return r;
}

absl::Status CheckUnixSocketFree(const std::string& path) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path))
    return absl::InvalidArgumentError(absl::StrCat("API socket path ", path, " is too long"));
  path.copy(addr.sun_path, path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket(AF_UNIX)");
  const bool live = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  if (live)
    return absl::FailedPreconditionError(absl::StrCat(
        "API socket ", path, " is in use: another process (another xlbd?) serves it"));
  return absl::OkStatus();
}

struct HttpServer::Impl {
  std::shared_ptr<ServerState> state;
  std::unique_ptr<asio::local::stream_protocol::acceptor> unix_acceptor;
  std::unique_ptr<asio::ip::tcp::acceptor> tcp_acceptor;
  std::string unix_path;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  impl_->state->closed = true;
  impl_->state->retry.cancel();
  std::error_code ignored;
  if (impl_->unix_acceptor) {
    impl_->unix_acceptor->close(ignored);
    unlink(impl_->unix_path.c_str());
  }
  if (impl_->tcp_acceptor) impl_->tcp_acceptor->close(ignored);
}

HttpServerStats HttpServer::stats() const {
  HttpServerStats s = impl_->state->stats;
  s.sessions = static_cast<int>(impl_->state->sessions.size());
  return s;
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::ListenUnix(asio::io_context& io,
                                                                   const std::string& path,
                                                                   unsigned mode,
                                                                   const std::string& group,
                                                                   int max_sessions,
                                                                   HttpHandler handler) {
  auto impl = std::make_unique<Impl>();
  impl->state = NewState(io, absl::StrCat("API socket ", path), max_sessions, std::move(handler));
  impl->unix_path = path;
  gid_t gid = static_cast<gid_t>(-1);
  if (!group.empty()) {
    struct group* g = getgrnam(group.c_str());
    if (!g) return absl::NotFoundError(absl::StrCat("API socket group '", group, "' does not exist"));
    gid = g->gr_gid;
  }
  // Like systemd's RuntimeDirectory: the socket's directory may not exist
  // yet on a fresh boot (/run is a tmpfs).
  std::error_code dir_ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), dir_ec);
  if (auto st = CheckUnixSocketFree(path); !st.ok()) return st;
  unlink(path.c_str());  // a socket left by a killed daemon
  std::error_code ec;
  impl->unix_acceptor = std::make_unique<asio::local::stream_protocol::acceptor>(io);
  impl->unix_acceptor->open(asio::local::stream_protocol(), ec);
  if (!ec) impl->unix_acceptor->bind(asio::local::stream_protocol::endpoint(path), ec);
  if (!ec) impl->unix_acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("API socket ", path, ": ", ec.message()));
  if (chmod(path.c_str(), mode) != 0 || (gid != static_cast<gid_t>(-1) && chown(path.c_str(), -1, gid) != 0))
    return absl::ErrnoToStatus(errno, absl::StrCat("set owner/mode of ", path));
  Accept(*impl->unix_acceptor, impl->state);
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::ListenTcp(asio::io_context& io,
                                                                  const std::string& address,
                                                                  int max_sessions,
                                                                  HttpHandler handler) {
  std::string host, port;
  if (!address.empty() && address[0] == '[') {
    auto close = address.find("]:");
    if (close == std::string::npos)
      return absl::InvalidArgumentError(absl::StrCat("'", address, "' is not [V6ADDR]:PORT"));
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    auto colon = address.rfind(':');
    if (colon == std::string::npos)
      return absl::InvalidArgumentError(absl::StrCat("'", address, "' is not HOST:PORT"));
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  uint32_t p = 0;
  std::error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  if (ec || !absl::SimpleAtoi(port, &p) || p > 65535)
    return absl::InvalidArgumentError(absl::StrCat("'", address, "' is not ADDRESS:PORT"));
  auto impl = std::make_unique<Impl>();
  impl->state = NewState(io, absl::StrCat("metrics listener ", address), max_sessions,
                         std::move(handler));
  asio::ip::tcp::endpoint ep(ip, static_cast<uint16_t>(p));
  impl->tcp_acceptor = std::make_unique<asio::ip::tcp::acceptor>(io);
  impl->tcp_acceptor->open(ep.protocol(), ec);
  if (!ec) impl->tcp_acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->tcp_acceptor->bind(ep, ec);
  if (!ec) impl->tcp_acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("listen on ", address, ": ", ec.message()));
  Accept(*impl->tcp_acceptor, impl->state);
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

}  // namespace xlb::api
