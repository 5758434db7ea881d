// ResyncServer and ResyncClient over the loopback: a copy served whole, the
// next peer asked when one refuses, a non-peer and a wrong key refused and
// counted, the deadline kept.
#include "controlplane/xlbd/sync_resync.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace xlb::xlbd {
namespace {

using std::chrono::milliseconds;

model::IpAddress Ip(const char* text) { return model::IpAddress::Parse(text).value(); }
sync::Key TestKey() { return sync::Key::FromBytes(std::string(32, 's')).value(); }
sync::Key OtherKey() { return sync::Key::FromBytes(std::string(32, 'o')).value(); }

// A TCP port free on 127.0.0.1 now.
uint16_t FreePort() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

std::vector<sync::FlowRecord> Records(size_t n) {
  std::vector<sync::FlowRecord> out;
  for (size_t i = 0; i < n; ++i) {
    sync::FlowRecord r;
    r.type = sync::RecordType::kRefresh;
    r.client_port = static_cast<uint16_t>(1024 + i % 60000);
    r.flow_dport = r.svc_port = r.real_port = 80;
    r.client = Ip("203.0.113.7");
    r.vip = Ip("198.51.100.10");
    r.real = Ip("192.0.2.21");
    out.push_back(r);
  }
  return out;
}

struct Asker {
  asio::io_context io;
  std::vector<sync::FlowRecord> got;
  bool done = false;
  std::unique_ptr<ResyncClient> client;

  void Ask(std::vector<model::IpAddress> peers, uint16_t port, sync::Key key,
           milliseconds timeout = milliseconds(5000)) {
    client = ResyncClient::Start(
        io, peers, port, std::nullopt, std::move(key), 7, timeout,
        [this](const std::vector<sync::FlowRecord>& r) {
          got.insert(got.end(), r.begin(), r.end());
        },
        [this] { done = true; });
    for (int i = 0; i < 1000 && !done; ++i) io.run_for(milliseconds(10));
  }
};

std::unique_ptr<ResyncServer> Serve(asio::io_context& io, uint16_t port,
                                    std::vector<model::IpAddress> peers, sync::Key key,
                                    size_t records) {
  auto server = ResyncServer::Start(io, Ip("127.0.0.1"), model::Family::kV4, port, peers,
                                    std::move(key), 9, [records] { return Records(records); });
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

TEST(Resync, ACopyServedWholeInChunks) {
  Asker run;
  const uint16_t port = FreePort();
  auto server = Serve(run.io, port, {Ip("127.0.0.1")}, TestKey(), 2500);
  run.Ask({Ip("127.0.0.1")}, port, TestKey());
  ASSERT_TRUE(run.done);
  EXPECT_EQ(run.client->state(), "done") << run.client->detail();
  EXPECT_NE(run.client->detail().find("from 127.0.0.1: 2500 flows in"), std::string::npos)
      << run.client->detail();
  EXPECT_EQ(run.got, Records(2500));
  EXPECT_EQ(server->counters().served, 1u);
}

TEST(Resync, AnEmptyTableIsACompleteCopy) {
  Asker run;
  const uint16_t port = FreePort();
  auto server = Serve(run.io, port, {Ip("127.0.0.1")}, TestKey(), 0);
  run.Ask({Ip("127.0.0.1")}, port, TestKey());
  EXPECT_EQ(run.client->state(), "done") << run.client->detail();
  EXPECT_TRUE(run.got.empty());
}

TEST(Resync, TheNextPeerIsAskedWhenOneRefuses) {
  Asker run;
  const uint16_t port = FreePort();
  auto server = Serve(run.io, port, {Ip("127.0.0.1")}, TestKey(), 5);
  run.Ask({Ip("127.0.0.2"), Ip("127.0.0.1")}, port, TestKey());  // nobody on 127.0.0.2
  EXPECT_EQ(run.client->state(), "done") << run.client->detail();
  EXPECT_EQ(run.got.size(), 5u);
}

TEST(Resync, EveryPeerRefusingFailsAtOnce) {
  Asker run;
  const auto start = std::chrono::steady_clock::now();
  run.Ask({Ip("127.0.0.1"), Ip("127.0.0.2")}, FreePort(), TestKey());
  EXPECT_EQ(run.client->state(), "failed");
  EXPECT_NE(run.client->detail().find("no peer answered (127.0.0.1: Connection refused; "
                                      "127.0.0.2: Connection refused)"),
            std::string::npos)
      << run.client->detail();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(Resync, ANonPeerIsClosedAndCounted) {
  Asker run;
  const uint16_t port = FreePort();
  auto server = Serve(run.io, port, {Ip("127.0.0.3")}, TestKey(), 5);
  run.Ask({Ip("127.0.0.1")}, port, TestKey());
  EXPECT_EQ(run.client->state(), "failed") << run.client->detail();
  EXPECT_TRUE(run.got.empty());
  EXPECT_EQ(server->counters().not_peer, 1u);
  EXPECT_EQ(server->counters().served, 0u);
}

TEST(Resync, AnotherKeyGetsNothing) {
  Asker run;
  const uint16_t port = FreePort();
  auto server = Serve(run.io, port, {Ip("127.0.0.1")}, TestKey(), 5);
  run.Ask({Ip("127.0.0.1")}, port, OtherKey());
  EXPECT_EQ(run.client->state(), "failed") << run.client->detail();
  EXPECT_TRUE(run.got.empty());
  EXPECT_EQ(server->counters().bad_request, 1u);
}

TEST(Resync, APeerThatNeverAnswersTimesOut) {
  Asker run;
  const uint16_t port = FreePort();
  // Accepts and says nothing.
  asio::ip::tcp::acceptor mute(run.io,
                               asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  asio::ip::tcp::socket held(run.io);
  mute.async_accept(held, [](std::error_code) {});
  run.Ask({Ip("127.0.0.1")}, port, TestKey(), milliseconds(300));
  EXPECT_EQ(run.client->state(), "timed out");
  EXPECT_EQ(run.client->detail(), "timed out after 0.3 s (0 applied); taking traffic anyway");
}

TEST(Resync, AMulticastGroupHasNobodyToAsk) {
  Asker run;
  run.Ask({Ip("233.252.0.1")}, FreePort(), TestKey());
  EXPECT_TRUE(run.done);
  EXPECT_EQ(run.client->state(), "none");
}

}  // namespace
}  // namespace xlb::xlbd
