#include "controlplane/sync/transport.h"

#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "model/unique_fd.h"

namespace xlb::sync {
namespace {

using namespace std::chrono_literals;

model::IpAddress Ip(const char* text) { return *model::IpAddress::Parse(text); }

// A UDP port free on `address` now (bound to 0, read, closed).
uint16_t FreePort(const model::IpAddress& address) {
  const int af = address.is_v4() ? AF_INET : AF_INET6;
  model::UniqueFd fd(socket(af, SOCK_DGRAM, 0));
  sockaddr_storage ss{};
  ss.ss_family = static_cast<sa_family_t>(af);
  socklen_t len = af == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return 0;
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
  return ntohs(af == AF_INET ? reinterpret_cast<sockaddr_in&>(ss).sin_port
                             : reinterpret_cast<sockaddr_in6&>(ss).sin6_port);
}

struct Received {
  model::IpAddress source;
  std::string bytes;
};

// Runs `io` until `done` or 5 s.
template <typename Done>
bool RunUntil(asio::io_context& io, Done done) {
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!done() && std::chrono::steady_clock::now() < deadline) io.run_one_for(100ms);
  return done();
}

// Two endpoints on one address: each sends to the other's port.
struct Pair {
  std::unique_ptr<Transport> a, b;
  std::vector<Received> at_b;
};

void OpenPair(asio::io_context& io, const TransportOptions& base, Pair& pair) {
  const model::IpAddress& on = base.source ? *base.source : base.peers[0];
  const uint16_t pa = FreePort(on), pb = FreePort(on);
  ASSERT_NE(pa, 0);
  ASSERT_NE(pb, 0);
  TransportOptions oa = base, ob = base;
  oa.port = ob.peer_port = pa;
  ob.port = oa.peer_port = pb;
  absl::StatusOr<std::unique_ptr<Transport>> a = Transport::Open(io, oa);
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<std::unique_ptr<Transport>> b = Transport::Open(io, ob);
  ASSERT_TRUE(b.ok()) << b.status();
  pair.a = std::move(*a);
  pair.b = std::move(*b);
  pair.b->Start([&pair](const model::IpAddress& source, absl::string_view bytes) {
    pair.at_b.push_back({source, std::string(bytes)});
  });
}

void ExpectUnicastExchange(const char* address) {
  asio::io_context io;
  TransportOptions o;
  o.source = Ip(address);
  o.peers = {Ip(address)};
  Pair pair;
  ASSERT_NO_FATAL_FAILURE(OpenPair(io, o, pair));
  pair.a->Send("one");
  pair.a->Send(std::string(9000, 'x'));
  ASSERT_TRUE(RunUntil(io, [&] { return pair.at_b.size() == 2; }));
  EXPECT_EQ(pair.at_b[0].source, Ip(address));
  EXPECT_EQ(pair.at_b[0].bytes, "one");
  EXPECT_EQ(pair.at_b[1].bytes.size(), 9000u);
  EXPECT_EQ(pair.a->counters().datagrams_sent, 2u);
  EXPECT_EQ(pair.a->counters().send_failed, 0u);
  EXPECT_EQ(pair.b->counters().datagrams_received, 2u);
}

TEST(Transport, UnicastV4) { ExpectUnicastExchange("127.0.0.1"); }
TEST(Transport, UnicastV6) { ExpectUnicastExchange("::1"); }

TEST(Transport, DrainsAtMost64DatagramsPerWakeup) {
  asio::io_context io;
  TransportOptions o;
  o.source = o.peers.emplace_back(Ip("127.0.0.1"));
  Pair pair;
  ASSERT_NO_FATAL_FAILURE(OpenPair(io, o, pair));
  for (int i = 0; i < 100; ++i) pair.a->Send(std::to_string(i));
  ASSERT_EQ(pair.a->counters().datagrams_sent, 100u);
  // Loopback delivers at once: one handler run reads one batch.
  ASSERT_EQ(io.poll_one(), 1u);
  EXPECT_EQ(pair.at_b.size(), kMaxDatagramsPerWakeup);
  ASSERT_TRUE(RunUntil(io, [&] { return pair.at_b.size() == 100; }));
  EXPECT_EQ(pair.at_b[99].bytes, "99");
}

TEST(Transport, ReceiveBufferEnlarged) {
  asio::io_context io;
  TransportOptions o;
  o.source = Ip("127.0.0.1");
  o.peers = {*o.source};
  o.port = FreePort(*o.source);
  absl::StatusOr<std::unique_ptr<Transport>> t = Transport::Open(io, o);
  ASSERT_TRUE(t.ok()) << t.status();
  int size = 0;
  socklen_t len = sizeof(size);
  ASSERT_EQ(getsockopt((*t)->native_handle(), SOL_SOCKET, SO_RCVBUF, &size, &len), 0);
  // The kernel doubles what is set; without CAP_NET_ADMIN, rmem_max caps it.
  if (geteuid() == 0) {
    EXPECT_GE(size, 2 * kReceiveBufferBytes);
  }
}

TEST(Transport, ErrorsNameTheAddress) {
  asio::io_context io;
  TransportOptions o;
  o.source = Ip("127.0.0.1");
  o.peers = {*o.source};
  o.port = FreePort(*o.source);
  absl::StatusOr<std::unique_ptr<Transport>> first = Transport::Open(io, o);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::unique_ptr<Transport>> second = Transport::Open(io, o);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(),
            "sync: cannot bind 127.0.0.1:" + std::to_string(o.port) + ": Address already in use");

  TransportOptions mixed = o;
  mixed.peers = {Ip("2001:db8::12")};
  EXPECT_EQ(Transport::Open(io, mixed).status().message(),
            "sync: peer 2001:db8::12 is not of the family of the source 127.0.0.1");
  mixed.peers = {Ip("233.252.0.1"), Ip("192.0.2.12")};
  EXPECT_EQ(Transport::Open(io, mixed).status().message(),
            "sync: multicast group 233.252.0.1 among other peers (one group, or unicast)");
  mixed.peers = {};
  EXPECT_EQ(Transport::Open(io, mixed).status().message(), "sync: no peers");
}

TEST(Transport, SendFailuresCountedNotThrown) {
  asio::io_context io;
  TransportOptions o;
  o.source = Ip("127.0.0.1");
  // Not reachable from a socket bound to 127.0.0.1: sendto fails (EINVAL).
  o.peers = {Ip("192.0.2.12")};
  o.port = FreePort(*o.source);
  absl::StatusOr<std::unique_ptr<Transport>> t = Transport::Open(io, o);
  ASSERT_TRUE(t.ok()) << t.status();
  (*t)->Send("x");
  EXPECT_EQ((*t)->counters().send_failed, 1u);
  EXPECT_EQ((*t)->counters().datagrams_sent, 0u);
}

// In a child process in a network namespace of its own (root only), with
// its loopback up: nothing of the group leaves it. Returns what failed, or "".
// `exchange`: also a datagram from one member to another over lo.
std::string MulticastInPrivateNamespace(const char* source, const char* group, bool exchange) {
  if (unshare(CLONE_NEWNET) != 0) return std::string("unshare: ") + std::strerror(errno);
  model::UniqueFd s(socket(AF_INET, SOCK_DGRAM, 0));
  ifreq ifr{};
  std::strcpy(ifr.ifr_name, "lo");
  ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_MULTICAST;
  if (ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) return "lo up failed";

  asio::io_context io;
  TransportOptions o;
  o.source = Ip(source);
  o.peers = {Ip(group)};
  o.multicast_ttl = 1;
  // Default options: our own multicast is not looped back.
  {
    o.port = FreePort(*o.source);
    absl::StatusOr<std::unique_ptr<Transport>> t = Transport::Open(io, o);
    if (!t.ok()) return std::string(t.status().message());
    int loop = -1, ttl = -1;
    socklen_t len = sizeof(int);
    const int fd = (*t)->native_handle();
    const bool v4 = o.source->is_v4();
    getsockopt(fd, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_MULTICAST_LOOP : IPV6_MULTICAST_LOOP,
               &loop, &len);
    len = sizeof(int);
    getsockopt(fd, v4 ? IPPROTO_IP : IPPROTO_IPV6,
               v4 ? IP_MULTICAST_TTL : IPV6_MULTICAST_HOPS, &ttl, &len);
    if (loop != 0) return "multicast loop is on: " + std::to_string(loop);
    if (ttl != 1) return "multicast TTL is " + std::to_string(ttl);
    // Sent from the source's interface (lo: index 1).
    if (v4) {
      in_addr via{};
      len = sizeof(via);
      getsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &via, &len);
      if (via.s_addr != htonl(INADDR_LOOPBACK)) return "IP_MULTICAST_IF is not 127.0.0.1";
    } else {
      int via = -1;
      len = sizeof(via);
      getsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &via, &len);
      if (via != 1) return "IPV6_MULTICAST_IF is " + std::to_string(via) + ", not lo";
    }
    o.multicast_ttl = 3;
    o.port = FreePort(*o.source);
    t = Transport::Open(io, o);
    if (!t.ok()) return std::string(t.status().message());
    len = sizeof(int);
    getsockopt((*t)->native_handle(), v4 ? IPPROTO_IP : IPPROTO_IPV6,
               v4 ? IP_MULTICAST_TTL : IPV6_MULTICAST_HOPS, &ttl, &len);
    if (ttl != 3) return "multicast TTL is " + std::to_string(ttl) + ", not 3";
  }
  if (!exchange) return "";
  // Two members on one host need the loop.
  o.multicast_loop = true;
  Pair pair;
  OpenPair(io, o, pair);
  if (!pair.a || !pair.b) return "cannot open the pair";
  pair.a->Send("to the group");
  if (pair.a->counters().send_failed != 0) return "sending to the group failed";
  if (!RunUntil(io, [&] { return !pair.at_b.empty(); })) return "nothing came through the group";
  if (pair.at_b[0].bytes != "to the group") return "wrong bytes";
  if (pair.at_b[0].source != Ip(source)) return "from " + pair.at_b[0].source.ToString();
  return "";
}

void ExpectMulticastInPrivateNamespace(const char* source, const char* group, bool exchange) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (a network namespace of its own)";
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    const std::string failure = MulticastInPrivateNamespace(source, group, exchange);
    (void)!write(fds[1], failure.data(), failure.size());
    _exit(failure.empty() ? 0 : 1);
  }
  close(fds[1]);
  std::string failure;
  char buf[256];
  for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;) failure.append(buf, n);
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << failure;
}

TEST(Transport, MulticastV4InAPrivateNamespace) {
  ExpectMulticastInPrivateNamespace("127.0.0.1", "233.252.0.1", true);  // MCAST-TEST-NET
}

TEST(Transport, MulticastV6InAPrivateNamespace) {
  // The socket options only: IPv6 multicast is not delivered over lo (sent,
  // never received, even with a multicast route on lo); two members would
  // need a veth pair between two namespaces.
  ExpectMulticastInPrivateNamespace("::1", "ff05::db8:1", false);
}

}  // namespace
}  // namespace xlb::sync
