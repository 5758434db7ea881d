// HttpServer under an idle flood: the session cap, eviction of idle
// connections, and the pause after accept errors. One thread: the clients
// are plain sockets, and the server's loop runs in slices between their
// steps (every wait bounded).
#include "controlplane/api/http.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace xlb::api {
namespace {

using namespace std::chrono_literals;

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "xlb-http-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "api.sock").string();
  }
  void TearDown() override {
    for (int fd : fds_) close(fd);
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Listen(int max_sessions) {
    auto s = HttpServer::ListenUnix(io_, path_, 0600, "", max_sessions, [](const HttpRequest& r) {
      HttpResponse resp;
      resp.body = "{\"path\": \"" + r.path + "\"}\n";
      return resp;
    });
    ASSERT_TRUE(s.ok()) << s.status();
    server_ = std::move(*s);
  }

  // A connected client (queued in the backlog until the loop accepts it).
  int Connect() {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << strerror(errno);
    fds_.push_back(fd);
    return fd;
  }

  void Run(std::chrono::milliseconds d) {
    io_.restart();
    io_.run_for(d);
  }

  // Whether the server closed this client: EOF or reset, without blocking.
  static bool Closed(int fd) {
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

  // Sends a request and runs the loop until the whole answer is in (5 s).
  std::string Request(int fd, const std::string& request) {
    EXPECT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    std::string answer;
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      Run(10ms);
      char buf[4096];
      ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n > 0) answer.append(buf, n);
      if (n == 0) break;
    }
    return answer;
  }

  asio::io_context io_;
  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<HttpServer> server_;
  std::vector<int> fds_;
};

// HEAD: the head of the answer GET would get (its length too), no body.
TEST_F(HttpServerTest, HeadGetsTheHeadOnly) {
  Listen(4);
  const std::string get = Request(Connect(), "GET /x HTTP/1.1\r\n\r\n");
  const std::string head = Request(Connect(), "HEAD /x HTTP/1.1\r\n\r\n");
  ASSERT_NE(get.find("\r\n\r\n"), std::string::npos) << get;
  EXPECT_EQ(head, get.substr(0, get.find("\r\n\r\n") + 4));
  EXPECT_NE(head.find("Content-Length: 15\r\n"), std::string::npos) << head;
}

// Ten idle connections over a cap of four: the oldest idle ones are closed
// for the newer, and a real request still gets its answer.
TEST_F(HttpServerTest, IdleConnectionsAreEvictedOldestFirst) {
  Listen(4);
  std::vector<int> idle;
  for (int i = 0; i < 10; ++i) idle.push_back(Connect());
  Run(200ms);
  EXPECT_EQ(server_->stats().sessions, 4);
  const int client = Connect();
  const std::string answer = Request(client, "GET /status HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(answer.substr(0, 15), "HTTP/1.1 200 OK") << answer;
  EXPECT_NE(answer.find("{\"path\": \"/status\"}"), std::string::npos) << answer;
  for (int i = 0; i < 7; ++i) EXPECT_TRUE(Closed(idle[i])) << "idle connection " << i;
  for (int i = 7; i < 10; ++i) EXPECT_FALSE(Closed(idle[i])) << "idle connection " << i;
  const HttpServerStats s = server_->stats();
  EXPECT_EQ(s.accepted, 11u);
  EXPECT_EQ(s.evicted, 7u);
  EXPECT_EQ(s.refused, 0u);
  EXPECT_EQ(s.sessions, 3);
}

// A client trickling its request body is as idle as one that sent nothing.
TEST_F(HttpServerTest, TricklingRequestsAreEvictedToo) {
  Listen(2);
  std::vector<int> slow = {Connect(), Connect()};
  const std::string head = "POST /services HTTP/1.1\r\nContent-Length: 100\r\n\r\n{";
  for (int fd : slow)
    ASSERT_EQ(send(fd, head.data(), head.size(), MSG_NOSIGNAL), ssize_t(head.size()));
  Run(200ms);
  const int client = Connect();
  EXPECT_EQ(Request(client, "GET /status HTTP/1.0\r\n\r\n").substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_TRUE(Closed(slow[0]));
  EXPECT_FALSE(Closed(slow[1]));
  EXPECT_EQ(server_->stats().evicted, 1u);
}

// Sessions being answered are never evicted: with all of them busy (their
// clients do not read a long answer), a newcomer is closed instead.
TEST_F(HttpServerTest, AnsweringSessionsAreKeptAndNewcomersRefused) {
  auto s = HttpServer::ListenUnix(io_, path_, 0600, "", 2, [](const HttpRequest&) {
    HttpResponse resp;
    resp.body.assign(16 << 20, 'x');  // more than the socket buffers
    return resp;
  });
  ASSERT_TRUE(s.ok()) << s.status();
  server_ = std::move(*s);
  std::vector<int> busy = {Connect(), Connect()};
  const std::string request = "GET /metrics HTTP/1.0\r\n\r\n";
  for (int fd : busy)
    ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL), ssize_t(request.size()));
  Run(200ms);
  const int newcomer = Connect();
  Run(200ms);
  EXPECT_TRUE(Closed(newcomer));
  EXPECT_EQ(server_->stats().refused, 1u);
  EXPECT_EQ(server_->stats().evicted, 0u);
  EXPECT_EQ(server_->stats().sessions, 2);
}

// Out of descriptors, accept fails while the connection stays queued:
// the server pauses (50 ms, doubling) instead of retrying in a spin, and
// accepts it once descriptors are free again.
TEST_F(HttpServerTest, AcceptErrorsPauseAndRecover) {
  Listen(4);
  const int client = Connect();
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  Run(50ms);  // the loop's own descriptors exist; the first connection served
  const int lowest = dup(0);
  close(lowest);
  rlimit low = saved;
  low.rlim_cur = static_cast<rlim_t>(lowest);
  const int queued = Connect();  // before the limit: this test needs its socket
  (void)queued;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  Run(1000ms);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  const uint64_t errors = server_->stats().accept_errors;
  // 50 + 100 + 200 + 400 ms fit in the second: about 5 tries, not thousands.
  EXPECT_GE(errors, 2u);
  EXPECT_LE(errors, 8u);
  Run(1200ms);  // the longest pause is 1 s
  EXPECT_EQ(server_->stats().accepted, 2u);
  EXPECT_EQ(server_->stats().accept_errors, errors);
  (void)client;
}

}  // namespace
}  // namespace xlb::api
