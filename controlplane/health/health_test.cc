// Health checks on loopback: no root, ephemeral ports, and every wait bounded
// by a deadline while the loop runs (never a bare sleep).
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <functional>
#include <map>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "asio/executor_work_guard.hpp"
#include "asio/io_context.hpp"
#include "asio/ip/tcp.hpp"
#include "asio/read.hpp"
#include "asio/read_until.hpp"
#include "asio/ssl/context.hpp"
#include "asio/ssl/stream.hpp"
#include "asio/steady_timer.hpp"
#include "asio/write.hpp"
#include "controlplane/config/tls_testing.h"
#include "controlplane/health/checker.h"
#include "controlplane/health/monitor.h"
#include "controlplane/health/spawn.h"
#include "controlplane/health/state.h"
#include "gtest/gtest.h"

namespace xlb::health {
namespace {

using namespace std::chrono_literals;
using asio::ip::tcp;
using model::IpAddress;
using Clock = std::chrono::steady_clock;

::testing::AssertionResult HasSubstr(const std::string& s, const std::string& part) {
  if (s.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << s << "' lacks '" << part << "'";
}

IpAddress Addr(const char* text) { return *IpAddress::Parse(text); }

long Ms(Clock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

// Runs the loop until done() holds; false if `limit` passes first. done() is
// also re-checked every 10 ms for conditions outside the loop (processes).
template <typename Pred>
bool RunUntil(asio::io_context& io, Pred done, Clock::duration limit = 10s) {
  auto guard = asio::make_work_guard(io);  // run_one_for blocks instead of returning at once
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    const auto now = Clock::now();
    if (now >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_one_for(std::min<Clock::duration>(deadline - now, 10ms));
  }
  return true;
}

// Runs the loop for `d` of loop time: only to show that something does NOT
// happen.
void RunFor(asio::io_context& io, Clock::duration d) {
  asio::steady_timer timer(io, d);
  bool fired = false;
  timer.async_wait([&](const asio::error_code&) { fired = true; });
  ASSERT_TRUE(RunUntil(io, [&] { return fired; }, d + 10s));
}

bool HaveIpv6Loopback() {
  try {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("::1"), 0));
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// A port nobody listens on: bound, then released.
uint16_t ClosedPort(const char* address) {
  asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address(address), 0));
  return a.local_endpoint().port();
}

// While it lives, this process can open no descriptor: the soft
// RLIMIT_NOFILE is lowered to the lowest free one (what an xlbd whose
// descriptors were taken by idle API clients sees).
class NoFreeDescriptors {
 public:
  NoFreeDescriptors() {
    EXPECT_EQ(getrlimit(RLIMIT_NOFILE, &saved_), 0);
    const int lowest = dup(0);
    EXPECT_GE(lowest, 0);
    close(lowest);
    rlimit low = saved_;
    low.rlim_cur = static_cast<rlim_t>(lowest);
    EXPECT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
    EXPECT_LT(dup(0), 0);
    EXPECT_EQ(errno, EMFILE);
  }
  ~NoFreeDescriptors() { setrlimit(RLIMIT_NOFILE, &saved_); }

 private:
  rlimit saved_{};
};

// A tiny HTTP server on the test's loop: reads a request, sends the canned
// response, closes (unless keep_open). Silent: accepts and never answers.
class TestServer {
 public:
  explicit TestServer(asio::io_context& io, const char* address = "127.0.0.1")
      : acceptor_(io, tcp::endpoint(asio::ip::make_address(address), 0)) {
    Accept();
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void Respond(std::string response, bool keep_open = false) {
    response_ = std::move(response);
    keep_open_ = keep_open;
    silent_ = false;
  }
  void Silent() { silent_ = true; }

  int accepted() const { return static_cast<int>(accept_times_.size()); }
  const std::vector<Clock::time_point>& accept_times() const { return accept_times_; }
  int closed_by_client() const { return closed_by_client_; }
  const std::string& last_request() const { return last_request_; }
  // The source address of each accepted connection.
  const std::vector<std::string>& peers() const { return peers_; }

 private:
  struct Conn {
    explicit Conn(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    std::string in;
  };

  void Accept() {
    acceptor_.async_accept([this](const asio::error_code& ec, tcp::socket socket) {
      if (ec) return;
      accept_times_.push_back(Clock::now());
      asio::error_code peer_ec;
      const tcp::endpoint peer = socket.remote_endpoint(peer_ec);
      peers_.push_back(peer_ec ? std::string("?") : peer.address().to_string());
      auto conn = std::make_shared<Conn>(std::move(socket));
      held_.push_back(conn);
      if (silent_) {
        WatchClose(conn);
      } else {
        Serve(conn);
      }
      Accept();
    });
  }

  // Reads until the client gives up on us.
  void WatchClose(std::shared_ptr<Conn> conn) {
    asio::async_read(conn->socket, asio::dynamic_buffer(conn->in),
                     [this, conn](const asio::error_code& ec, size_t) {
                       if (ec != asio::error::operation_aborted) ++closed_by_client_;
                     });
  }

  void Serve(std::shared_ptr<Conn> conn) {
    asio::async_read_until(
        conn->socket, asio::dynamic_buffer(conn->in), "\r\n\r\n",
        [this, conn](const asio::error_code& ec, size_t) {
          if (ec) return;  // a TCP probe: connected and left
          last_request_ = conn->in;
          auto out = std::make_shared<std::string>(response_);
          asio::async_write(conn->socket, asio::buffer(*out),
                            [this, conn, out](const asio::error_code&, size_t) {
                              if (keep_open_) return WatchClose(conn);
                              asio::error_code ignored;
                              conn->socket.shutdown(tcp::socket::shutdown_send, ignored);
                              conn->socket.close(ignored);
                            });
        });
  }

  tcp::acceptor acceptor_;
  std::string response_ = "HTTP/1.0 200 OK\r\n\r\nleader";
  bool keep_open_ = false;
  bool silent_ = false;
  std::vector<std::shared_ptr<Conn>> held_;
  std::vector<Clock::time_point> accept_times_;
  int closed_by_client_ = 0;
  std::string last_request_;
  std::vector<std::string> peers_;
};

struct Outcome {
  int calls = 0;
  ProbeResult result;
  Clock::duration took{};
};

// Starts one probe, runs the loop until its handler ran, then drains what
// is left ready to run (cancelled timers, aborted reads) to show it is not
// called again.
Outcome RunProbe(asio::io_context& io, const std::function<void(ProbeHandler)>& start) {
  auto out = std::make_shared<Outcome>();
  const auto t0 = Clock::now();
  start([out, t0](ProbeResult r) {
    ++out->calls;
    out->result = std::move(r);
    out->took = Clock::now() - t0;
  });
  EXPECT_EQ(out->calls, 0) << "handler called from inside the Probe call";
  EXPECT_TRUE(RunUntil(io, [&] { return out->calls > 0; }));
  io.restart();
  io.poll();
  EXPECT_EQ(out->calls, 1);
  return *out;
}

// ---- HealthState -------------------------------------------------------------

struct StateCase {
  int rise, fall;
  bool initially_up;
  std::string results;  // S = success, F = failure
  std::string up;       // up() after each: 1 or 0
  int consecutive;      // at the end
};

class HealthStateTest : public ::testing::TestWithParam<StateCase> {};

TEST_P(HealthStateTest, Sequence) {
  const StateCase& c = GetParam();
  HealthState s(c.rise, c.fall, c.initially_up);
  EXPECT_EQ(s.up(), c.initially_up);
  EXPECT_EQ(s.consecutive(), 0);
  bool was_up = c.initially_up;
  for (size_t i = 0; i < c.results.size(); ++i) {
    const bool changed = s.Record(c.results[i] == 'S');
    const bool want_up = c.up[i] == '1';
    EXPECT_EQ(s.up(), want_up) << "after result " << i << " of " << c.results;
    EXPECT_EQ(changed, want_up != was_up) << "Record's return after result " << i << " of " << c.results;
    was_up = s.up();
  }
  EXPECT_EQ(s.consecutive(), c.consecutive);
}

INSTANTIATE_TEST_SUITE_P(
    Table, HealthStateTest,
    ::testing::Values(
        StateCase{2, 2, true, "FFSS", "1001", 2},          // down after fall, up after rise
        StateCase{2, 3, true, "FFSFFF", "111110", 3},      // a success resets the failure streak
        StateCase{3, 2, false, "SSFSSS", "000001", 3},     // a failure resets the success streak
        StateCase{2, 2, true, "SSSS", "1111", 4},          // up stays up
        StateCase{2, 2, false, "FFFF", "0000", 4},         // down stays down
        StateCase{1, 1, true, "FSFS", "0101", 1},          // rise = fall = 1: every result counts
        StateCase{0, -1, true, "FSFS", "0101", 1},         // below 1 counts as 1
        StateCase{2, 2, true, "FFFSFSS", "1000001", 2},    // failures beyond fall change nothing
        StateCase{1, 5, true, "FFFFSFFFFF", "1111111110", 5}));

TEST(HealthState, InitiallyUpByDefault) {
  HealthState s(3, 3);
  EXPECT_TRUE(s.up());
  EXPECT_FALSE(s.Record(false));
  EXPECT_EQ(s.consecutive(), 1);
  EXPECT_FALSE(s.last_success());
}

// ---- ProbeTcp ----------------------------------------------------------------

TEST(ProbeTcp, ListeningPortIsOk) {
  asio::io_context io;
  TestServer server(io);
  Outcome o = RunProbe(io, [&](ProbeHandler h) {
    ProbeTcp(io, Addr("127.0.0.1"), server.port(), 500ms, std::move(h));
  });
  EXPECT_TRUE(o.result.ok) << o.result.detail;
  EXPECT_TRUE(HasSubstr(o.result.detail, "connected to 127.0.0.1:"));
  EXPECT_TRUE(RunUntil(io, [&] { return server.accepted() == 1; }));
}

TEST(ProbeTcp, LeavesFromTheSourceGiven) {
  asio::io_context io;
  TestServer server(io);
  Outcome o = RunProbe(io, [&](ProbeHandler h) {
    ProbeTcp(io, Addr("127.0.0.1"), server.port(), 500ms, std::move(h), Addr("127.0.0.2"));
  });
  EXPECT_TRUE(o.result.ok) << o.result.detail;
  ASSERT_TRUE(RunUntil(io, [&] { return server.accepted() == 1; }));
  EXPECT_EQ(server.peers().at(0), "127.0.0.2");
  // check.source wins over the one computed for the real.
  config::HealthCheck check;
  check.type = config::HealthType::kHttp;
  check.source = Addr("127.0.0.3");
  Outcome http = RunProbe(io, [&](ProbeHandler h) {
    Probe(io, check, Addr("127.0.0.1"), server.port(), std::move(h), Addr("127.0.0.2"));
  });
  EXPECT_TRUE(http.result.ok) << http.result.detail;
  ASSERT_TRUE(RunUntil(io, [&] { return server.accepted() == 2; }));
  EXPECT_EQ(server.peers().at(1), "127.0.0.3");
}

TEST(ProbeTcp, ASourceThatIsNotLocalFails) {
  asio::io_context io;
  TestServer server(io);
  Outcome o = RunProbe(io, [&](ProbeHandler h) {
    ProbeTcp(io, Addr("127.0.0.1"), server.port(), 500ms, std::move(h), Addr("192.0.2.1"));
  });
  EXPECT_FALSE(o.result.ok);
  EXPECT_EQ(o.result.detail, "connect to 127.0.0.1:" + std::to_string(server.port()) +
                                 " from 192.0.2.1: Cannot assign requested address");
  EXPECT_EQ(o.calls, 1);
}

TEST(ProbeTcp, ClosedPortIsRefused) {
  asio::io_context io;
  const uint16_t port = ClosedPort("127.0.0.1");
  Outcome o = RunProbe(io, [&](ProbeHandler h) {
    ProbeTcp(io, Addr("127.0.0.1"), port, 500ms, std::move(h));
  });
  EXPECT_FALSE(o.result.ok);
  EXPECT_EQ(o.result.detail, "connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

TEST(ProbeTcp, Ipv6) {
  if (!HaveIpv6Loopback()) GTEST_SKIP() << "no IPv6 loopback";
  asio::io_context io;
  TestServer server(io, "::1");
  Outcome ok = RunProbe(io, [&](ProbeHandler h) {
    ProbeTcp(io, Addr("::1"), server.port(), 500ms, std::move(h));
  });
  EXPECT_TRUE(ok.result.ok) << ok.result.detail;
  const uint16_t closed = ClosedPort("::1");
  Outcome refused = RunProbe(io, [&](ProbeHandler h) {
    ProbeTcp(io, Addr("::1"), closed, 500ms, std::move(h));
  });
  EXPECT_FALSE(refused.result.ok);
  EXPECT_EQ(refused.result.detail, "connect to [::1]:" + std::to_string(closed) + ": Connection refused");
}

// ---- ProbeHttp ---------------------------------------------------------------

ProbeResult Http(asio::io_context& io, TestServer& server, std::vector<int> expect = {200},
                 std::string body = "", std::string path = "/", Duration timeout = 1000ms) {
  return RunProbe(io, [&](ProbeHandler h) {
           ProbeHttp(io, Addr("127.0.0.1"), server.port(), timeout, path, expect, body, std::move(h));
         })
      .result;
}

TEST(ProbeHttp, OkWithBodyAndRequestShape) {
  asio::io_context io;
  TestServer server(io);
  server.Respond("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nrole: leader\n");
  ProbeResult r = Http(io, server, {200}, "leader", "/primary");
  EXPECT_TRUE(r.ok) << r.detail;
  EXPECT_EQ(r.detail, "HTTP 200");
  const std::string host = "Host: 127.0.0.1:" + std::to_string(server.port()) + "\r\n";
  EXPECT_EQ(server.last_request().rfind("GET /primary HTTP/1.0\r\n", 0), 0u) << server.last_request();
  EXPECT_TRUE(HasSubstr(server.last_request(), host));
}

TEST(ProbeHttp, BodyMismatch) {
  asio::io_context io;
  TestServer server(io);
  server.Respond("HTTP/1.0 200 OK\r\n\r\nrole: replica\n");
  ProbeResult r = Http(io, server, {200}, "leader");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "HTTP 200, body lacks 'leader'");
}

TEST(ProbeHttp, BodyIsNotTheHeaders) {
  asio::io_context io;
  TestServer server(io);
  server.Respond("HTTP/1.0 200 OK\r\nX-Role: leader\r\n\r\nreplica");
  EXPECT_FALSE(Http(io, server, {200}, "leader").ok);
}

TEST(ProbeHttp, StatusNotExpected) {
  asio::io_context io;
  TestServer server(io);
  server.Respond("HTTP/1.1 503 Service Unavailable");  // no headers, no body: just closes
  ProbeResult r = Http(io, server);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "HTTP 503 (expected 200)");
}

TEST(ProbeHttp, ExpectList) {
  asio::io_context io;
  TestServer server(io);
  server.Respond("HTTP/1.1 503 Service Unavailable\r\n\r\n{\"role\": \"replica\"}");
  EXPECT_TRUE(Http(io, server, {200, 503}).ok);
  EXPECT_TRUE(Http(io, server, {200, 503}, "replica").ok);
  server.Respond("HTTP/1.1 204 No Content\r\n\r\n");
  ProbeResult r = Http(io, server, {200, 503});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "HTTP 204 (expected 200, 503)");
  EXPECT_FALSE(Http(io, server, {}).ok);  // empty list means {200}
  server.Respond("HTTP/1.0 200 OK\r\n\r\n");
  EXPECT_TRUE(Http(io, server, {}).ok);
}

TEST(ProbeHttp, Garbage) {
  asio::io_context io;
  TestServer server(io);
  server.Respond("SSH-2.0-OpenSSH_9.2\r\n");
  ProbeResult r = Http(io, server);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(HasSubstr(r.detail, "not an HTTP response: 'SSH-2.0-OpenSSH_9.2'"));
  server.Respond("HTTP/1.0 2x0 OK\r\n\r\n");
  EXPECT_TRUE(HasSubstr(Http(io, server).detail, "not an HTTP response"));
  server.Respond("");
  EXPECT_TRUE(HasSubstr(Http(io, server).detail, "connection closed without a response"));
}

TEST(ProbeHttp, NeverAnswersTimesOut) {
  asio::io_context io;
  TestServer server(io);
  server.Silent();
  Outcome o = RunProbe(io, [&](ProbeHandler h) {
    ProbeHttp(io, Addr("127.0.0.1"), server.port(), 300ms, "/primary", {200}, "", std::move(h));
  });
  EXPECT_FALSE(o.result.ok);
  EXPECT_EQ(o.result.detail,
            "GET http://127.0.0.1:" + std::to_string(server.port()) + "/primary: timed out after 300ms");
  EXPECT_GE(o.took, 300ms);
  EXPECT_LT(o.took, 2s);
  // The probe closed its socket on timeout.
  EXPECT_TRUE(RunUntil(io, [&] { return server.closed_by_client() == 1; }));
}

TEST(ProbeHttp, ContentLengthEndsAKeptOpenConnection) {
  asio::io_context io;
  TestServer server(io);
  server.Respond("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nleader", /*keep_open=*/true);
  Outcome o = RunProbe(io, [&](ProbeHandler h) {
    ProbeHttp(io, Addr("127.0.0.1"), server.port(), 2000ms, "/", {200}, "leader", std::move(h));
  });
  EXPECT_TRUE(o.result.ok) << o.result.detail;
  EXPECT_LT(o.took, 1s);
}

TEST(ProbeHttp, ResponseCappedAt64KiB) {
  asio::io_context io;
  TestServer server(io);
  server.Respond("HTTP/1.0 200 OK\r\n\r\n" + std::string(100 * 1024, 'x') + "leader");
  ProbeResult r = Http(io, server, {200}, "leader");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.detail, "HTTP 200, body lacks 'leader'");
  EXPECT_TRUE(Http(io, server, {200}, "xxx").ok);
}

TEST(ProbeHttp, Ipv6HostHeader) {
  if (!HaveIpv6Loopback()) GTEST_SKIP() << "no IPv6 loopback";
  asio::io_context io;
  TestServer server(io, "::1");
  Outcome o = RunProbe(io, [&](ProbeHandler h) {
    ProbeHttp(io, Addr("::1"), server.port(), 1000ms, "/", {200}, "leader", std::move(h));
  });
  EXPECT_TRUE(o.result.ok) << o.result.detail;
  EXPECT_TRUE(HasSubstr(server.last_request(), "Host: [::1]:" + std::to_string(server.port()) + "\r\n"));
}

TEST(ProbeHttp, ConnectRefused) {
  asio::io_context io;
  const uint16_t port = ClosedPort("127.0.0.1");
  Outcome o = RunProbe(io, [&](ProbeHandler h) {
    ProbeHttp(io, Addr("127.0.0.1"), port, 500ms, "/", {200}, "", std::move(h));
  });
  EXPECT_FALSE(o.result.ok);
  EXPECT_TRUE(HasSubstr(o.result.detail, "Connection refused"));
}

// ---- ProbeHttps --------------------------------------------------------------

namespace pki = config::testing_tls;

// An HTTPS server on the test's loop with a certificate made by the test:
// answers one canned response per connection, then closes. Optionally
// demands a client certificate of `client_ca`; Stall() accepts TCP and
// never answers the ClientHello.
class TlsTestServer {
 public:
  TlsTestServer(asio::io_context& io, const pki::Identity& id,
                const pki::Identity* client_ca = nullptr)
      : ctx_(asio::ssl::context::tls_server),
        acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    ctx_.use_certificate_chain(asio::buffer(id.cert_pem));
    ctx_.use_private_key(asio::buffer(id.key_pem), asio::ssl::context::pem);
    if (client_ca) {
      ctx_.add_certificate_authority(asio::buffer(client_ca->cert_pem));
      ctx_.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    }
    Accept();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void Stall() { stall_ = true; }
  const std::string& last_request() const { return last_request_; }
  const std::string& last_sni() const { return last_sni_; }
  int handshakes() const { return handshakes_; }

 private:
  struct Conn {
    Conn(tcp::socket s, asio::ssl::context& ctx) : stream(std::move(s), ctx) {}
    asio::ssl::stream<tcp::socket> stream;
    std::string in;
  };

  void Accept() {
    acceptor_.async_accept([this](const asio::error_code& ec, tcp::socket socket) {
      if (ec) return;
      auto conn = std::make_shared<Conn>(std::move(socket), ctx_);
      held_.push_back(conn);
      if (!stall_) Serve(conn);
      Accept();
    });
  }

  void Serve(std::shared_ptr<Conn> conn) {
    conn->stream.async_handshake(asio::ssl::stream_base::server, [this, conn](const asio::error_code& ec) {
      if (ec) return;
      ++handshakes_;
      const char* sni = SSL_get_servername(conn->stream.native_handle(), TLSEXT_NAMETYPE_host_name);
      last_sni_ = sni ? sni : "";
      asio::async_read_until(conn->stream, asio::dynamic_buffer(conn->in), "\r\n\r\n",
                             [this, conn](const asio::error_code& ec, size_t) {
                               if (ec) return;
                               last_request_ = conn->in;
                               asio::async_write(conn->stream, asio::buffer(response_),
                                                 [conn](const asio::error_code&, size_t) {
                                                   asio::error_code ignored;
                                                   conn->stream.lowest_layer().close(ignored);
                                                 });
                             });
    });
  }

  asio::ssl::context ctx_;
  tcp::acceptor acceptor_;
  const std::string response_ = "HTTP/1.0 200 OK\r\n\r\nrole: leader\n";
  bool stall_ = false;
  std::vector<std::shared_ptr<Conn>> held_;
  std::string last_request_, last_sni_;
  int handshakes_ = 0;
};

class ProbeHttpsTest : public ::testing::Test {
 protected:
  ProbeHttpsTest()
      : ca_(pki::Make("test CA", nullptr)),
        other_ca_(pki::Make("another CA", nullptr)),
        server_id_(pki::Make("pg1", &ca_, "IP:127.0.0.1,DNS:pg1.example.com")) {
    trusting_.ca_file = "/test/ca.pem";
    trusting_.ca_pem = ca_.cert_pem;
  }

  Outcome Https(uint16_t port, const config::TlsCheck& tls, Duration timeout = 2000ms) {
    return RunProbe(io_, [&](ProbeHandler h) {
      ProbeHttps(io_, Addr("127.0.0.1"), port, timeout, "/primary", {200}, "leader", tls, std::move(h));
    });
  }

  asio::io_context io_;
  pki::Identity ca_, other_ca_, server_id_;
  config::TlsCheck trusting_;  // trusts ca_ only
};

TEST_F(ProbeHttpsTest, VerifiedCertificateIsOk) {
  TlsTestServer server(io_, server_id_);
  Outcome o = Https(server.port(), trusting_);
  EXPECT_TRUE(o.result.ok) << o.result.detail;
  EXPECT_EQ(o.result.detail, "HTTP 200");
  EXPECT_EQ(server.last_request().rfind("GET /primary HTTP/1.0\r\n", 0), 0u) << server.last_request();
  EXPECT_EQ(server.last_sni(), "");  // an address is no SNI
  // By name: sent as SNI, verified against the DNS SAN.
  config::TlsCheck named = trusting_;
  named.server_name = "pg1.example.com";
  o = Https(server.port(), named);
  EXPECT_TRUE(o.result.ok) << o.result.detail;
  EXPECT_EQ(server.last_sni(), "pg1.example.com");
}

TEST_F(ProbeHttpsTest, UnknownIssuerIsDownWithTheReason) {
  TlsTestServer server(io_, server_id_);
  config::TlsCheck other = trusting_;
  other.ca_pem = other_ca_.cert_pem;
  Outcome o = Https(server.port(), other);
  EXPECT_FALSE(o.result.ok);
  EXPECT_FALSE(o.result.local_error);
  EXPECT_EQ(o.result.detail, "TLS: certificate verify failed: unable to get local issuer certificate");
  EXPECT_EQ(server.handshakes(), 0);
  // The system's trust store (the default) knows no test CA either.
  o = Https(server.port(), config::TlsCheck{});
  EXPECT_FALSE(o.result.ok);
  EXPECT_EQ(o.result.detail, "TLS: certificate verify failed: unable to get local issuer certificate");
}

TEST_F(ProbeHttpsTest, WrongNameIsDown) {
  TlsTestServer server(io_, server_id_);
  config::TlsCheck named = trusting_;
  named.server_name = "pg2.example.com";
  Outcome o = Https(server.port(), named);
  EXPECT_FALSE(o.result.ok);
  EXPECT_EQ(o.result.detail, "TLS: certificate verify failed: hostname mismatch");
  // With no server_name, the real's address must be an IP SAN.
  pki::Identity dns_only = pki::Make("pg1", &ca_, "DNS:pg1.example.com");
  TlsTestServer server2(io_, dns_only);
  o = Https(server2.port(), trusting_);
  EXPECT_FALSE(o.result.ok);
  EXPECT_EQ(o.result.detail, "TLS: certificate verify failed: IP address mismatch");
  named.server_name = "127.0.0.1";  // an address given as the name: the same
  EXPECT_FALSE(Https(server2.port(), named).result.ok);
}

TEST_F(ProbeHttpsTest, VerifyFalseAcceptsAnyCertificate) {
  pki::Identity stranger = pki::Make("stranger", &other_ca_, "DNS:elsewhere.example.org");
  TlsTestServer server(io_, stranger);
  config::TlsCheck unverified;
  unverified.verify = false;
  Outcome o = Https(server.port(), unverified);
  EXPECT_TRUE(o.result.ok) << o.result.detail;
  EXPECT_FALSE(Https(server.port(), trusting_).result.ok);
}

TEST_F(ProbeHttpsTest, ClientCertificateWhenTheServerDemandsOne) {
  TlsTestServer server(io_, server_id_, /*client_ca=*/&ca_);
  Outcome o = Https(server.port(), trusting_);
  EXPECT_FALSE(o.result.ok);
  EXPECT_FALSE(o.result.local_error);
  // TLS 1.3: the server refuses after the client's handshake is done.
  EXPECT_EQ(o.result.detail, "GET https://127.0.0.1:" + std::to_string(server.port()) +
                                 "/primary: TLS: tlsv13 alert certificate required");
  pki::Identity client = pki::Make("xlb", &ca_);
  config::TlsCheck with_cert = trusting_;
  with_cert.client_cert = "/test/client.pem";
  with_cert.client_key = "/test/client.key";
  with_cert.cert_pem = client.cert_pem;
  with_cert.key_pem = client.key_pem;
  o = Https(server.port(), with_cert);
  EXPECT_TRUE(o.result.ok) << o.result.detail;
  // One the server's CA did not sign is refused.
  pki::Identity foreign = pki::Make("xlb", &other_ca_);
  with_cert.cert_pem = foreign.cert_pem;
  with_cert.key_pem = foreign.key_pem;
  EXPECT_FALSE(Https(server.port(), with_cert).result.ok);
}

TEST_F(ProbeHttpsTest, StalledHandshakeIsBoundedByTheTimeout) {
  TlsTestServer server(io_, server_id_);
  server.Stall();
  Outcome o = Https(server.port(), trusting_, 300ms);
  EXPECT_FALSE(o.result.ok);
  EXPECT_EQ(o.result.detail, "TLS handshake with 127.0.0.1:" + std::to_string(server.port()) +
                                 ": timed out after 300ms");
  EXPECT_GE(o.took, 300ms);
  EXPECT_LT(o.took, 2s);
}

TEST_F(ProbeHttpsTest, PlainHttpServerIsDown) {
  // What a plain HTTP server answers to a ClientHello.
  tcp::acceptor plain(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket conn(io_);
  const std::string answer = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";
  plain.async_accept(conn, [&](const asio::error_code& ec) {
    if (!ec) asio::async_write(conn, asio::buffer(answer), [&](const asio::error_code&, size_t) {
      asio::error_code ignored;
      conn.close(ignored);
    });
  });
  Outcome o = Https(plain.local_endpoint().port(), trusting_);
  EXPECT_FALSE(o.result.ok);
  EXPECT_FALSE(o.result.local_error);
  EXPECT_EQ(o.result.detail, "TLS: wrong version number");
}

// What this host cannot set up (here: a check whose files were never
// loaded, as ParseConfig leaves them) says nothing about the real.
TEST_F(ProbeHttpsTest, ContextThatCannotBeMadeIsALocalError) {
  TlsTestServer server(io_, server_id_);
  config::TlsCheck unloaded;
  unloaded.ca_file = "/test/ca.pem";
  Outcome o = Https(server.port(), unloaded);
  EXPECT_FALSE(o.result.ok);
  EXPECT_TRUE(o.result.local_error);
  EXPECT_TRUE(HasSubstr(o.result.detail, "TLS context: /test/ca.pem was not loaded")) << o.result.detail;
  EXPECT_EQ(server.handshakes(), 0);
}

TEST_F(ProbeHttpsTest, OutOfDescriptorsIsALocalError) {
  TlsTestServer server(io_, server_id_);
  ASSERT_TRUE(Https(server.port(), trusting_).result.ok);  // the context is cached from here on
  Outcome o = RunProbe(io_, [&](ProbeHandler h) {
    NoFreeDescriptors exhausted;
    ProbeHttps(io_, Addr("127.0.0.1"), server.port(), 500ms, "/", {200}, "", trusting_, std::move(h));
  });
  EXPECT_FALSE(o.result.ok);
  EXPECT_TRUE(o.result.local_error) << o.result.detail;
}

TEST_F(ProbeHttpsTest, ProbeDispatchesHttps) {
  TlsTestServer server(io_, server_id_);
  config::HealthCheck check;
  check.type = config::HealthType::kHttps;
  check.path = "/primary";
  check.tls = trusting_;
  check.timeout = 2000ms;
  Outcome o = RunProbe(io_, [&](ProbeHandler h) {
    Probe(io_, check, Addr("127.0.0.1"), server.port(), std::move(h));
  });
  EXPECT_TRUE(o.result.ok) << o.result.detail;
}

TEST(ProbeTcp, OutOfDescriptorsIsALocalError) {
  asio::io_context io;
  const uint16_t port = ClosedPort("127.0.0.1");
  asio::steady_timer warm_up(io);  // the loop's own descriptors exist before
  Outcome o = RunProbe(io, [&](ProbeHandler h) {
    NoFreeDescriptors exhausted;
    ProbeTcp(io, Addr("127.0.0.1"), port, 500ms, std::move(h));
  });
  EXPECT_FALSE(o.result.ok);
  EXPECT_TRUE(o.result.local_error);
  EXPECT_TRUE(HasSubstr(o.result.detail, "Too many open files")) << o.result.detail;
  // A real failure is not one.
  o = RunProbe(io, [&](ProbeHandler h) { ProbeTcp(io, Addr("127.0.0.1"), port, 500ms, std::move(h)); });
  EXPECT_FALSE(o.result.ok);
  EXPECT_FALSE(o.result.local_error);
}

TEST(ProbeHealth, LocalErrnos) {
  for (int e : {EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL}) EXPECT_TRUE(IsLocalError(e)) << e;
  for (int e : {ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, ENETUNREACH, ECONNRESET})
    EXPECT_FALSE(IsLocalError(e)) << e;
}

// ---- ProbeExec ---------------------------------------------------------------

class ProbeExecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "xlb-health-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    // Every child was reaped.
    errno = 0;
    EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);
    EXPECT_EQ(errno, ECHILD);
  }

  Outcome Exec(const std::string& command, Duration timeout = 2000ms, const char* address = "127.0.0.1",
               uint16_t port = 8008) {
    return RunProbe(io_, [&](ProbeHandler h) {
      ProbeExec(io_, command, Addr(address), port, timeout, std::move(h));
    });
  }

  pid_t ReadPid(const std::string& name) {
    std::ifstream in(dir_ / name);
    pid_t pid = 0;
    in >> pid;
    return pid;
  }

  // Not running: no /proc entry, or a zombie that is not ours to reap (an
  // orphan handed to init).
  static bool Gone(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return true;
    std::string line;
    std::getline(stat, line);
    const size_t paren = line.rfind(')');
    return paren != std::string::npos && line.size() > paren + 2 && line[paren + 2] == 'Z';
  }
  static bool NoProcEntry(pid_t pid) {
    return !std::filesystem::exists("/proc/" + std::to_string(pid));
  }

  asio::io_context io_;
  std::filesystem::path dir_;
};

TEST_F(ProbeExecTest, ExitZeroIsOk) {
  Outcome o = Exec("exit 0");
  EXPECT_TRUE(o.result.ok);
  EXPECT_EQ(o.result.detail, "exit status 0");
}

TEST_F(ProbeExecTest, NotStartedIsALocalError) {
  asio::steady_timer warm_up(io_);
  Outcome o = RunProbe(io_, [&](ProbeHandler h) {
    NoFreeDescriptors exhausted;
    ProbeExec(io_, "exit 1", Addr("127.0.0.1"), 80, 2000ms, std::move(h));
  });
  EXPECT_FALSE(o.result.ok);
  EXPECT_TRUE(o.result.local_error) << o.result.detail;
}

// Notify scripts of an instance: one at a time, in order, even when each
// takes a while and they are queued at once.
TEST_F(ProbeExecTest, ScriptQueueRunsInOrderOneAtATime) {
  const std::string log = (dir_ / "log").string();
  auto queue = ScriptQueue::Create(io_, 2000ms);
  std::vector<std::string> done;
  for (int i = 1; i <= 3; ++i) {
    queue->Push("echo start " + std::to_string(i) + " >> " + log + "; sleep 0.2; echo end " +
                    std::to_string(i) + " >> " + log,
                Addr("127.0.0.1"),
                [&done](const std::string& command, const ProbeResult& r) {
                  done.push_back(r.ok ? "ok" : r.detail);
                });
  }
  // A hung one is killed at the timeout, and the next runs after it.
  auto short_queue = ScriptQueue::Create(io_, 100ms);
  std::vector<std::string> short_done;
  short_queue->Push("sleep 5", Addr("127.0.0.1"),
                    [&](const std::string&, const ProbeResult& r) { short_done.push_back(r.detail); });
  short_queue->Push("exit 0", Addr("127.0.0.1"),
                    [&](const std::string&, const ProbeResult& r) { short_done.push_back(r.detail); });
  queue.reset();  // pending ones still run
  ASSERT_TRUE(RunUntil(io_, [&] { return done.size() == 3 && short_done.size() == 2; }, 10s));
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "start 1\nend 1\nstart 2\nend 2\nstart 3\nend 3\n");
  EXPECT_EQ(done, (std::vector<std::string>{"ok", "ok", "ok"}));
  EXPECT_EQ(short_done, (std::vector<std::string>{"command timed out after 100ms, killed", "exit status 0"}));
}

TEST_F(ProbeExecTest, ExitStatus) {
  Outcome o = Exec("exit 3");
  EXPECT_FALSE(o.result.ok);
  EXPECT_EQ(o.result.detail, "exit status 3");
  EXPECT_EQ(Exec("/nonexistent/check").result.detail, "exit status 127");
}

TEST_F(ProbeExecTest, KilledBySignal) {
  Outcome o = Exec("kill -TERM $$");
  EXPECT_FALSE(o.result.ok);
  EXPECT_TRUE(HasSubstr(o.result.detail, "killed by signal 15"));
}

TEST_F(ProbeExecTest, Environment) {
  EXPECT_TRUE(Exec("test \"$XLB_REAL_PORT\" = 8008 && test \"$XLB_REAL_ADDRESS\" = 127.0.0.1").result.ok);
  EXPECT_TRUE(Exec("test \"$XLB_REAL_ADDRESS\" = 2001:db8::11 && test \"$XLB_REAL_PORT\" = 5432", 2000ms,
                   "2001:db8::11", 5432)
                  .result.ok);
  // Nothing of the daemon's own environment is passed on: a fixed one.
  setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1);
  setenv("XLB_HEALTH_TEST_VAR", "kept", 1);
  setenv("PATH", "/nonexistent", 1);
  const std::string out = (dir_ / "env").string();
  EXPECT_TRUE(Exec("env | sort > " + out).result.ok);
  unsetenv("NOTIFY_SOCKET");
  unsetenv("XLB_HEALTH_TEST_VAR");
  setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
  std::ifstream in(out);
  std::string env((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(env,
            "HOME=/\nLANG=C.UTF-8\nLOGNAME=root\n"
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
            "PWD=" + std::filesystem::current_path().string() + "\n"
            "USER=root\nXLB_REAL_ADDRESS=127.0.0.1\nXLB_REAL_PORT=8008\n");
}

// As the configured script user: its uid, gid and groups, and its HOME.
TEST_F(ProbeExecTest, RunsAsTheScriptUser) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch users";
  config::ScriptUser nobody;
  nobody.name = "nobody";
  nobody.uid = 65534;
  nobody.gid = 65534;
  nobody.groups = {65534};
  nobody.home = "/nonexistent";
  SetScriptUser(nobody);
  std::filesystem::create_directory(dir_ / "out");
  std::filesystem::permissions(dir_ / "out", std::filesystem::perms::all);  // nobody writes here
  std::filesystem::permissions(dir_, std::filesystem::perms::others_exec,
                               std::filesystem::perm_options::add);
  const std::string out = (dir_ / "out" / "id").string();
  Outcome o = Exec("echo $(id -u) $(id -g) $(id -G) $USER $HOME > " + out);
  SetScriptUser(config::ScriptUser{});
  EXPECT_TRUE(o.result.ok) << o.result.detail;
  std::ifstream in(out);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "65534 65534 65534 nobody /nonexistent");
  // Root again afterwards.
  EXPECT_TRUE(Exec("test $(id -u) = 0").result.ok);
}

TEST_F(ProbeExecTest, StdioAndDescriptors) {
  // stdin is /dev/null: read hits EOF at once.
  EXPECT_TRUE(Exec("if read x; then exit 1; fi; exit 0").result.ok);
  // Output goes nowhere (and does not break anything).
  EXPECT_TRUE(Exec("echo out; echo err >&2").result.ok);
  // A descriptor the daemon left open without close-on-exec is not inherited.
  int fd = open("/dev/null", O_RDONLY);  // deliberately no O_CLOEXEC
  ASSERT_GE(fd, 3);
  EXPECT_TRUE(Exec("test -e /proc/$$/fd/2 && test ! -e /proc/$$/fd/" + std::to_string(fd)).result.ok);
  close(fd);
}

TEST_F(ProbeExecTest, TimeoutKillsTheGroupAndReaps) {
  const std::string sh = (dir_ / "sh").string(), bg = (dir_ / "bg").string();
  Outcome o = Exec("sleep 5 & echo $! > " + bg + "; echo $$ > " + sh + "; wait", 200ms);
  EXPECT_FALSE(o.result.ok);
  EXPECT_EQ(o.result.detail, "command timed out after 200ms, killed");
  EXPECT_GE(o.took, 200ms);
  EXPECT_LT(o.took, 2s);
  const pid_t sh_pid = ReadPid("sh"), bg_pid = ReadPid("bg");
  ASSERT_GT(sh_pid, 0);
  ASSERT_GT(bg_pid, 0);
  // The shell is reaped by the probe (no zombie left: no /proc entry), and
  // the sleep it started died with its group.
  EXPECT_TRUE(RunUntil(io_, [&] { return NoProcEntry(sh_pid) && Gone(bg_pid); }, 5s));
}

TEST_F(ProbeExecTest, LeftoversOfASuccessfulCheckAreKilled) {
  const std::string bg = (dir_ / "bg").string();
  Outcome o = Exec("sleep 5 & echo $! > " + bg + "; exit 0");
  EXPECT_TRUE(o.result.ok) << o.result.detail;
  const pid_t bg_pid = ReadPid("bg");
  ASSERT_GT(bg_pid, 0);
  EXPECT_TRUE(RunUntil(io_, [&] { return Gone(bg_pid); }, 5s));
}

TEST_F(ProbeExecTest, BackToBack) {
  // Each probe's pidfd reuses the previous one's descriptor (and asio's slot
  // for it); a stale readiness must not pass for the new child's exit.
  for (int i = 0; i < 20; ++i) {
    Outcome o = Exec("exit 0");
    ASSERT_TRUE(o.result.ok) << "probe " << i << ": " << o.result.detail;
  }
}

TEST_F(ProbeExecTest, LoopDestroyedWhileRunning) {
  auto io = std::make_unique<asio::io_context>();
  const std::string sh = (dir_ / "sh").string();
  bool called = false;
  ProbeExec(*io, "echo $$ > " + sh + "; sleep 5", Addr("127.0.0.1"), 80, 5000ms,
            [&](ProbeResult) { called = true; });
  pid_t pid = 0;
  ASSERT_TRUE(RunUntil(*io, [&] { return (pid = ReadPid("sh")) > 0; }));
  io.reset();  // drops the pending waits: the probe kills and reaps on its way out
  EXPECT_FALSE(called);
  EXPECT_TRUE(NoProcEntry(pid));
}

TEST_F(ProbeExecTest, ManyAtOnceDoNotBlockTheLoop) {
  // 50 three-second commands in parallel: if waiting blocked, this would
  // take 150 s; a timer on the same loop must fire meanwhile, before any
  // command ends. (Three seconds, not one: starting 50 processes took over a
  // second of the loop under ASan on a loaded 2-core machine, and the first
  // one-second sleeps had ended before the timer could fire.)
  int done = 0, ok = 0;
  for (int i = 0; i < 50; ++i) {
    ProbeExec(io_, "sleep 3", Addr("127.0.0.1"), 80, 8000ms, [&](ProbeResult r) {
      ++done;
      ok += r.ok;
    });
  }
  bool ticked = false;
  asio::steady_timer tick(io_, 100ms);
  tick.async_wait([&](const asio::error_code&) { ticked = true; });
  const auto t0 = Clock::now();
  ASSERT_TRUE(RunUntil(io_, [&] { return ticked; }));
  EXPECT_EQ(done, 0);
  ASSERT_TRUE(RunUntil(io_, [&] { return done == 50; }));
  EXPECT_EQ(ok, 50);
  EXPECT_LT(Clock::now() - t0, 10s);
}

// ---- Monitor -----------------------------------------------------------------

struct Transition {
  std::string id;
  bool up;
  std::string detail;
};

class MonitorTest : public ::testing::Test {
 protected:
  MonitorTest()
      : monitor_(std::make_unique<Monitor>(io_, [this](const std::string& id, bool up,
                                                       const std::string& detail) {
          transitions_.push_back({id, up, detail});
          if (on_change_) on_change_(id, up);
        })) {}

  RealHealth Get(const std::string& id) {
    for (RealHealth& r : monitor_->Snapshot()) {
      if (r.id == id) return r;
    }
    ADD_FAILURE() << "no real " << id;
    return {};
  }

  static config::HealthCheck Check(config::HealthType type, Duration interval, Duration timeout,
                                   int rise, int fall) {
    config::HealthCheck c;
    c.type = type;
    c.interval = interval;
    c.timeout = timeout;
    c.rise = rise;
    c.fall = fall;
    return c;
  }

  asio::io_context io_;
  std::vector<Transition> transitions_;
  std::function<void(const std::string&, bool)> on_change_;
  std::unique_ptr<Monitor> monitor_;
};

TEST_F(MonitorTest, DownAfterFallUpAfterRise) {
  TestServer server(io_);
  const std::string id = "pg-rw 127.0.0.1:" + std::to_string(server.port());
  auto check = Check(config::HealthType::kHttp, 50ms, 40ms, /*rise=*/2, /*fall=*/3);
  check.path = "/primary";
  monitor_->Set(id, check, Addr("127.0.0.1"), server.port());
  EXPECT_EQ(monitor_->Up(id), true);
  ASSERT_TRUE(RunUntil(io_, [&] { return Get(id).checks >= 2; }));
  RealHealth before = Get(id);
  EXPECT_TRUE(before.up);
  EXPECT_TRUE(before.last_ok);
  EXPECT_EQ(before.last_detail, "HTTP 200");
  EXPECT_EQ(before.type, config::HealthType::kHttp);
  EXPECT_TRUE(transitions_.empty());

  // The server stops answering: down after `fall` failed probes, once.
  server.Silent();
  const uint64_t at_silence = Get(id).checks;
  const auto t0 = Clock::now();
  ASSERT_TRUE(RunUntil(io_, [&] { return !transitions_.empty(); }));
  const auto took_down = Clock::now() - t0;
  EXPECT_EQ(transitions_[0].id, id);
  EXPECT_FALSE(transitions_[0].up);
  EXPECT_TRUE(HasSubstr(transitions_[0].detail, "timed out after 40ms"));
  RealHealth down = Get(id);
  EXPECT_FALSE(down.up);
  EXPECT_FALSE(down.last_ok);
  EXPECT_GT(down.since, before.since);
  // 3 failures, plus perhaps one probe that was already past the server's
  // accept when it went silent.
  EXPECT_GE(down.checks - at_silence, 3u);
  EXPECT_LE(down.checks - at_silence, 4u);
  EXPECT_GE(took_down, 100ms);  // 3 probes are at least 2 intervals apart
  std::cout << "down after " << Ms(took_down) << " ms, " << down.checks - at_silence << " probes\n";

  // Back after `rise` successes.
  server.Respond("HTTP/1.0 200 OK\r\n\r\nleader");
  const uint64_t at_recovery = Get(id).checks;
  ASSERT_TRUE(RunUntil(io_, [&] { return transitions_.size() >= 2; }));
  EXPECT_TRUE(transitions_[1].up);
  EXPECT_EQ(transitions_[1].detail, "HTTP 200");
  EXPECT_GE(Get(id).checks - at_recovery, 2u);
  EXPECT_EQ(monitor_->Up(id), true);

  // Steady: no more callbacks.
  const uint64_t now = Get(id).checks;
  ASSERT_TRUE(RunUntil(io_, [&] { return Get(id).checks >= now + 5; }));
  EXPECT_EQ(transitions_.size(), 2u);
}

// BGP announces a VIP only once a real of it passed a check: the monitor
// says when a real's first probe completes and when its first passes,
// which no transition marks (a real starts up and stays up).
TEST_F(MonitorTest, FirstResultAndFirstPassAreReported) {
  TestServer server(io_);
  std::vector<std::pair<std::string, uint64_t>> firsts;  // id, passes at the call
  monitor_->OnFirstResults([&](const std::string& id) { firsts.push_back({id, Get(id).passes}); });
  const std::string id = "web 127.0.0.1:" + std::to_string(server.port());
  server.Silent();  // the first probes fail (fall 3: still up)
  auto check = Check(config::HealthType::kHttp, 30ms, 20ms, 1, 3);
  check.path = "/";
  monitor_->Set(id, check, Addr("127.0.0.1"), server.port());
  ASSERT_TRUE(RunUntil(io_, [&] { return Get(id).checks >= 1; }));
  ASSERT_EQ(firsts.size(), 1u);
  EXPECT_EQ(firsts[0].second, 0u);
  EXPECT_TRUE(transitions_.empty());
  server.Respond("HTTP/1.0 200 OK\r\n\r\n");
  ASSERT_TRUE(RunUntil(io_, [&] { return Get(id).passes >= 3; }));
  ASSERT_EQ(firsts.size(), 2u);  // the first pass; none after
  EXPECT_EQ(firsts[1], std::make_pair(id, uint64_t{1}));
  EXPECT_TRUE(Get(id).up);
}

// A real the maps record as down when xlbd restarted starts down: no
// traffic until `rise` checks pass, not after fall x interval of guessing up.
TEST_F(MonitorTest, RealStartedDownComesUpOnlyAfterRise) {
  TestServer server(io_);
  const std::string id = "web 127.0.0.1:" + std::to_string(server.port());
  server.Silent();
  monitor_->Set(id, Check(config::HealthType::kHttp, 30ms, 20ms, /*rise=*/3, /*fall=*/1),
                Addr("127.0.0.1"), server.port(), std::nullopt, /*initially_up=*/false);
  EXPECT_EQ(monitor_->Up(id), false);
  EXPECT_FALSE(Get(id).last_ok);
  EXPECT_TRUE(HasSubstr(Get(id).last_detail, "down when xlbd started"));
  // Failing checks keep it down without a transition (it was never up).
  ASSERT_TRUE(RunUntil(io_, [&] { return Get(id).checks >= 2; }));
  EXPECT_EQ(monitor_->Up(id), false);
  EXPECT_TRUE(transitions_.empty());
  // Fixed: up after exactly `rise` passing checks.
  server.Respond("HTTP/1.0 200 OK\r\n\r\nok");
  const uint64_t at_fix = Get(id).checks;
  ASSERT_TRUE(RunUntil(io_, [&] { return !transitions_.empty(); }));
  EXPECT_TRUE(transitions_[0].up);
  EXPECT_GE(Get(id).checks - at_fix, 3u);
  EXPECT_LE(Get(id).checks - at_fix, 4u);  // one probe may have been past accept when fixed
  // Setting it again (a reload) keeps its state; initially_up is for new reals.
  monitor_->Set(id, Check(config::HealthType::kHttp, 30ms, 20ms, 3, 1), Addr("127.0.0.1"),
                server.port(), std::nullopt, /*initially_up=*/false);
  EXPECT_EQ(monitor_->Up(id), true);
  // Without a check a real is up whatever the record said.
  monitor_->Set("dns 127.0.0.1:53", config::HealthCheck{}, Addr("127.0.0.1"), 53,
                std::nullopt, /*initially_up=*/false);
  EXPECT_EQ(monitor_->Up("dns 127.0.0.1:53"), true);
}

TEST_F(MonitorTest, ANewSourceAppliesWithoutRestartingTheStreak) {
  TestServer server(io_);
  const std::string id = "web 127.0.0.1:" + std::to_string(server.port());
  const auto check = Check(config::HealthType::kTcp, 20ms, 20ms, 1, 1);
  monitor_->Set(id, check, Addr("127.0.0.1"), server.port(), Addr("127.0.0.2"));
  ASSERT_TRUE(RunUntil(io_, [&] { return Get(id).checks >= 2; }));
  const RealHealth before = Get(id);
  monitor_->Set(id, check, Addr("127.0.0.1"), server.port(), Addr("127.0.0.3"));
  ASSERT_TRUE(RunUntil(io_, [&] { return server.peers().back() == "127.0.0.3"; }));
  EXPECT_EQ(server.peers().front(), "127.0.0.2");
  const RealHealth after = Get(id);
  EXPECT_GT(after.checks, before.checks);  // counted on: not a new real
  EXPECT_EQ(after.since, before.since);
  EXPECT_TRUE(transitions_.empty());
}

TEST_F(MonitorTest, TransitionSaysWhy) {
  TestServer server(io_);
  server.Respond("HTTP/1.1 503 Service Unavailable\r\n\r\n");
  const std::string id = "pg-rw 127.0.0.1:" + std::to_string(server.port());
  monitor_->Set(id, Check(config::HealthType::kHttp, 20ms, 500ms, 1, 1), Addr("127.0.0.1"), server.port());
  ASSERT_TRUE(RunUntil(io_, [&] { return !transitions_.empty(); }));
  EXPECT_FALSE(transitions_[0].up);
  EXPECT_EQ(transitions_[0].detail, "HTTP 503 (expected 200)");
}

TEST_F(MonitorTest, ExecCheck) {
  char dir_template[] = "/tmp/xlb-health-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::filesystem::path flag = std::filesystem::path(dir_template) / "healthy";
  std::ofstream(flag).put('\n');
  auto check = Check(config::HealthType::kExec, 30ms, 1000ms, 1, 1);
  check.command = "test -e " + flag.string() + " && test \"$XLB_REAL_PORT\" = 5432";
  monitor_->Set("db 127.0.0.1:5432", check, Addr("127.0.0.1"), 5432);
  ASSERT_TRUE(RunUntil(io_, [&] { return Get("db 127.0.0.1:5432").checks >= 2; }));
  EXPECT_TRUE(Get("db 127.0.0.1:5432").last_ok) << Get("db 127.0.0.1:5432").last_detail;
  std::filesystem::remove(flag);
  ASSERT_TRUE(RunUntil(io_, [&] { return transitions_.size() == 1; }));
  EXPECT_FALSE(transitions_[0].up);
  EXPECT_EQ(transitions_[0].detail, "exit status 1");
  std::ofstream(flag).put('\n');
  ASSERT_TRUE(RunUntil(io_, [&] { return transitions_.size() == 2; }));
  EXPECT_TRUE(transitions_[1].up);
  monitor_.reset();
  std::filesystem::remove_all(dir_template);
}

// Out of descriptors, a real's checks cannot be made: that says nothing
// about the real, which keeps its state (up here, though its port is
// closed), while the errors are counted. Once descriptors are free, the
// same checks take it down.
TEST_F(MonitorTest, LocalErrorsKeepTheState) {
  const uint16_t port = ClosedPort("127.0.0.1");
  const std::string id = "web 127.0.0.1:" + std::to_string(port);
  monitor_->Set(id, Check(config::HealthType::kTcp, 20ms, 100ms, 1, 1), Addr("127.0.0.1"), port);
  {
    NoFreeDescriptors exhausted;
    ASSERT_TRUE(RunUntil(io_, [&] { return Get(id).local_errors >= 5; }));
  }
  RealHealth r = Get(id);
  EXPECT_TRUE(r.up);
  EXPECT_EQ(r.checks, 0u);
  EXPECT_TRUE(transitions_.empty());
  EXPECT_TRUE(HasSubstr(r.last_local_error, "Too many open files"));
  ASSERT_TRUE(RunUntil(io_, [&] { return !transitions_.empty(); }));
  EXPECT_FALSE(transitions_[0].up);
  EXPECT_TRUE(HasSubstr(transitions_[0].detail, "Connection refused"));
}

TEST_F(MonitorTest, TypeNoneIsAlwaysUp) {
  monitor_->Set("dns 127.0.0.1:53", config::HealthCheck{}, Addr("127.0.0.1"), 53);
  RunFor(io_, 200ms);
  RealHealth r = Get("dns 127.0.0.1:53");
  EXPECT_TRUE(r.up);
  EXPECT_EQ(r.checks, 0u);
  EXPECT_EQ(r.type, config::HealthType::kNone);
  EXPECT_EQ(r.last_detail, "no health check");
  EXPECT_TRUE(transitions_.empty());
}

TEST_F(MonitorTest, RemoveSilencesAProbeInFlight) {
  TestServer server(io_);
  server.Silent();
  const std::string id = "web 127.0.0.1:" + std::to_string(server.port());
  monitor_->Set(id, Check(config::HealthType::kHttp, 50ms, 100ms, 1, 1), Addr("127.0.0.1"), server.port());
  ASSERT_TRUE(RunUntil(io_, [&] { return server.accepted() == 1; }));
  monitor_->Remove(id);
  EXPECT_EQ(monitor_->Up(id), std::nullopt);
  EXPECT_TRUE(monitor_->Snapshot().empty());
  // The probe still ends (its own timeout closes the connection)...
  ASSERT_TRUE(RunUntil(io_, [&] { return server.closed_by_client() == 1; }));
  RunFor(io_, 200ms);
  // ... but nobody hears about it, and no new probe starts.
  EXPECT_TRUE(transitions_.empty());
  EXPECT_EQ(server.accepted(), 1);
}

TEST_F(MonitorTest, DestroyWithProbesInFlight) {
  TestServer server(io_);
  server.Silent();
  for (int i = 0; i < 5; ++i) {
    monitor_->Set("web #" + std::to_string(i), Check(config::HealthType::kHttp, 50ms, 100ms, 1, 1),
                  Addr("127.0.0.1"), server.port());
  }
  ASSERT_TRUE(RunUntil(io_, [&] { return server.accepted() >= 5; }));
  monitor_.reset();
  ASSERT_TRUE(RunUntil(io_, [&] { return server.closed_by_client() >= 5; }));
  EXPECT_TRUE(transitions_.empty());
}

TEST_F(MonitorTest, SetKeepsOrRestarts) {
  TestServer server(io_);
  const uint16_t closed = ClosedPort("127.0.0.1");
  const std::string id = "web 127.0.0.1:" + std::to_string(closed);
  auto check = Check(config::HealthType::kTcp, 30ms, 500ms, /*rise=*/1, /*fall=*/2);
  monitor_->Set(id, check, Addr("127.0.0.1"), closed);
  ASSERT_TRUE(RunUntil(io_, [&] { return transitions_.size() == 1; }));
  EXPECT_FALSE(transitions_[0].up);
  EXPECT_TRUE(HasSubstr(transitions_[0].detail, "Connection refused"));
  const RealHealth down = Get(id);

  // The same check again: state, counters and schedule go on.
  monitor_->Set(id, check, Addr("127.0.0.1"), closed);
  RealHealth same = Get(id);
  EXPECT_FALSE(same.up);
  EXPECT_EQ(same.checks, down.checks);
  EXPECT_EQ(same.since, down.since);
  ASSERT_TRUE(RunUntil(io_, [&] { return Get(id).checks >= down.checks + 3; }));
  EXPECT_EQ(transitions_.size(), 1u);

  // A different check (another port): restarts, still down until it rises.
  auto fixed = check;
  fixed.port = server.port();
  monitor_->Set(id, fixed, Addr("127.0.0.1"), closed);
  EXPECT_EQ(monitor_->Up(id), false);
  ASSERT_TRUE(RunUntil(io_, [&] { return transitions_.size() == 2; }));
  EXPECT_TRUE(transitions_[1].up);
  EXPECT_TRUE(HasSubstr(transitions_[1].detail, "connected to 127.0.0.1:" + std::to_string(server.port())));
  EXPECT_EQ(Get(id).port, server.port());

  // Down again, then the check is dropped (type none): up at once, said so.
  monitor_->Set(id, check, Addr("127.0.0.1"), closed);
  ASSERT_TRUE(RunUntil(io_, [&] { return transitions_.size() == 3; }));
  monitor_->Set(id, config::HealthCheck{}, Addr("127.0.0.1"), closed);
  ASSERT_EQ(transitions_.size(), 4u);
  EXPECT_TRUE(transitions_[3].up);
  EXPECT_EQ(transitions_[3].detail, "no health check");
  const uint64_t checks = Get(id).checks;
  RunFor(io_, 150ms);
  EXPECT_EQ(Get(id).checks, checks);
  EXPECT_EQ(transitions_.size(), 4u);
}

// A reload that read another CA file hands the monitor a check with other
// PEM contents: that restarts it, with the new CA.
TEST_F(MonitorTest, HttpsCheckTakesTheCaOfTheLatestLoad) {
  const pki::Identity ca = pki::Make("test CA", nullptr);
  const pki::Identity other = pki::Make("another CA", nullptr);
  TlsTestServer server(io_, pki::Make("pg1", &ca, "IP:127.0.0.1"));
  const std::string id = "pg 127.0.0.1:" + std::to_string(server.port());
  auto check = Check(config::HealthType::kHttps, 30ms, 1000ms, /*rise=*/1, /*fall=*/1);
  check.path = "/primary";
  check.tls.ca_file = "/etc/xlb/ca.pem";
  check.tls.ca_pem = other.cert_pem;
  monitor_->Set(id, check, Addr("127.0.0.1"), server.port());
  ASSERT_TRUE(RunUntil(io_, [&] { return transitions_.size() == 1; }));
  EXPECT_FALSE(transitions_[0].up);
  EXPECT_EQ(transitions_[0].detail,
            "TLS: certificate verify failed: unable to get local issuer certificate");
  EXPECT_EQ(Get(id).type, config::HealthType::kHttps);
  check.tls.ca_pem = ca.cert_pem;  // the same path, new contents
  monitor_->Set(id, check, Addr("127.0.0.1"), server.port());
  ASSERT_TRUE(RunUntil(io_, [&] { return transitions_.size() == 2; }));
  EXPECT_TRUE(transitions_[1].up);
  EXPECT_EQ(transitions_[1].detail, "HTTP 200");
}

TEST_F(MonitorTest, CallbackMayRemoveOrSet) {
  const uint16_t closed = ClosedPort("127.0.0.1");
  auto check = Check(config::HealthType::kTcp, 20ms, 500ms, 1, 1);
  monitor_->Set("a", check, Addr("127.0.0.1"), closed);
  monitor_->Set("b", check, Addr("127.0.0.1"), closed);
  on_change_ = [&](const std::string& id, bool) {
    if (id == "a") monitor_->Remove("a");
    if (id == "b") monitor_->Set("b", config::HealthCheck{}, Addr("127.0.0.1"), closed);
  };
  ASSERT_TRUE(RunUntil(io_, [&] { return transitions_.size() >= 3; }));  // a down, b down, b up
  RunFor(io_, 100ms);
  EXPECT_EQ(transitions_.size(), 3u);
  EXPECT_EQ(monitor_->Ids(), std::vector<std::string>{"b"});
  EXPECT_EQ(monitor_->Up("b"), true);
}

TEST_F(MonitorTest, NextProbeStartsIntervalAfterThePreviousStarted) {
  TestServer server(io_);
  server.Silent();  // every probe takes its full 60 ms timeout
  monitor_->Set("slow", Check(config::HealthType::kHttp, 100ms, 60ms, 1, 100), Addr("127.0.0.1"),
                server.port());
  ASSERT_TRUE(RunUntil(io_, [&] { return server.accepted() >= 7; }));
  std::vector<long> gaps;
  for (size_t i = 1; i < server.accept_times().size(); ++i) {
    gaps.push_back(Ms(server.accept_times()[i] - server.accept_times()[i - 1]));
  }
  std::vector<long> sorted = gaps;
  std::sort(sorted.begin(), sorted.end());
  for (long g : gaps) EXPECT_GE(g, 80);
  // Start to start: ~100 ms, where end to start would be ~160 ms.
  EXPECT_LT(sorted[sorted.size() / 2], 140) << ::testing::PrintToString(gaps);
}

TEST_F(MonitorTest, NeverTwoProbesOfOneRealAtOnce) {
  TestServer server(io_);
  server.Silent();  // each probe takes 150 ms, the interval is 50 ms
  monitor_->Set("slow", Check(config::HealthType::kHttp, 50ms, 150ms, 1, 100), Addr("127.0.0.1"),
                server.port());
  ASSERT_TRUE(RunUntil(io_, [&] { return Get("slow").checks >= 4; }));
  // One connection at a time: each accepted after the previous one closed.
  EXPECT_EQ(server.accepted(), server.closed_by_client() + 1);
  std::vector<long> gaps;
  for (size_t i = 1; i < server.accept_times().size(); ++i) {
    gaps.push_back(Ms(server.accept_times()[i] - server.accept_times()[i - 1]));
  }
  for (long g : gaps) EXPECT_GE(g, 140) << ::testing::PrintToString(gaps);
  // ...and the late probe starts as soon as the previous one ended.
  std::sort(gaps.begin(), gaps.end());
  EXPECT_LT(gaps[gaps.size() / 2], 220);
}

TEST_F(MonitorTest, ThreeHundredRealsOnOneLoop) {
  TestServer server(io_);
  constexpr int kReals = 300;
  auto check = Check(config::HealthType::kTcp, 100ms, 1000ms, 2, 2);
  for (int i = 0; i < kReals; ++i) {
    monitor_->Set("svc-" + std::to_string(i / 10) + " 127.0.0.1:" + std::to_string(server.port()) + " #" +
                      std::to_string(i),
                  check, Addr("127.0.0.1"), server.port());
  }
  const auto t0 = Clock::now();
  // When each real's first probe completed, seen from the loop.
  std::map<std::string, Clock::time_point> first_done;
  uint64_t total = 0;
  Clock::time_point last_look;
  auto all_checked = [&](uint64_t n) {
    // A Snapshot of 300 after every handler would cost more than the probes.
    if (Clock::now() - last_look < 2ms) return false;
    last_look = Clock::now();
    bool all = true;
    total = 0;
    for (const RealHealth& r : monitor_->Snapshot()) {
      total += r.checks;
      if (r.checks >= 1) first_done.emplace(r.id, Clock::now());
      if (r.checks < n) all = false;
    }
    return all;
  };
  ASSERT_TRUE(RunUntil(io_, [&] { return all_checked(1); }));
  const auto first = Clock::now() - t0;
  ASSERT_TRUE(RunUntil(io_, [&] { return all_checked(3); }));
  const auto third = Clock::now() - t0;
  auto [earliest, latest] = std::minmax_element(first_done.begin(), first_done.end(),
                                                [](auto& a, auto& b) { return a.second < b.second; });
  const auto span = latest->second - earliest->second;
  std::cout << kReals << " reals: all probed once after " << Ms(first) << " ms (first probes spread over "
            << Ms(span) << " ms), three times after " << Ms(third) << " ms; " << total << " probes\n";
  // Spread over the first interval, not all at once; and all done in time.
  EXPECT_GE(span, 50ms);
  EXPECT_LT(first, 1s);
  EXPECT_LT(third, 2s);  // ~ spread + 2 intervals
  for (const RealHealth& r : monitor_->Snapshot()) {
    EXPECT_TRUE(r.up && r.last_ok) << r.id << ": " << r.last_detail;
  }
  EXPECT_TRUE(transitions_.empty());
}

}  // namespace
}  // namespace xlb::health
