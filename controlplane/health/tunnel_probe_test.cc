// The through-tunnel probe's packets (tunnel_echo.h: the echo request, the
// reply's parser, the packet socket's filter, run here by a small classic
// BPF interpreter) and the prober's failure without CAP_NET_RAW. Sending
// and receiving through a real tunnel: tests/lab/tunnel_health_test.sh.
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "asio/io_context.hpp"
#include "controlplane/health/monitor.h"
#include "controlplane/health/tunnel_echo.h"
#include "controlplane/health/tunnel_probe.h"
#include "gtest/gtest.h"

namespace xlb::health {
namespace {

using model::IpAddress;

IpAddress Ip(const char* s) { return *IpAddress::Parse(s); }

uint8_t At(const std::string& s, size_t i) { return static_cast<uint8_t>(s.at(i)); }
uint16_t Be16(const std::string& s, size_t i) {
  return static_cast<uint16_t>(At(s, i) << 8 | At(s, i + 1));
}
void Set16(std::string& s, size_t i, uint16_t v) {
  s.at(i) = static_cast<char>(v >> 8);
  s.at(i + 1) = static_cast<char>(v & 0xff);
}

// RFC 1071 from scratch (not model/inet_checksum.h, which the code uses):
// the sum of a correctly checksummed range folds to 0xffff.
uint16_t Folded(const std::string& s, uint32_t sum = 0) {
  for (size_t i = 0; i < s.size(); i += 2)
    sum += static_cast<uint32_t>(At(s, i) << 8 | (i + 1 < s.size() ? At(s, i + 1) : 0));
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}
uint32_t Pseudo6(const std::string& packet) {  // source, destination, length, 58
  uint32_t sum = 0;
  for (size_t i = 8; i < 40; i += 2) sum += Be16(packet, i);
  return sum + static_cast<uint32_t>(packet.size() - 40) + 58;
}

const EchoPacket kRequest4{Ip("192.0.2.1"), Ip("198.51.100.10"), 0x1234, 7, "xlb tunnel check"};
const EchoPacket kRequest6{Ip("2001:db8::1"), Ip("2001:db8:100::10"), 0x1234, 65535, "abc"};

// What the real sends back: addresses swapped, type 0 / 129, checksums redone.
std::string Reply(const EchoPacket& request) {
  std::string p = BuildEchoRequest(ReplyTo(request));
  const bool v4 = request.source.is_v4();
  const size_t icmp = v4 ? 20 : 40;
  p[icmp] = static_cast<char>(v4 ? 0 : 129);
  Set16(p, icmp + 2, 0);
  std::string body = p.substr(icmp);
  Set16(p, icmp + 2, static_cast<uint16_t>(~Folded(body, v4 ? 0 : Pseudo6(p))));
  return p;
}

IpAddress AddressAt4(const std::string& s, size_t i) {
  uint32_t word = 0;
  std::memcpy(&word, s.data() + i, 4);
  const uint32_t words[4] = {word, 0, 0, 0};
  return IpAddress::FromWords(model::Family::kV4, words);
}

// The IPv4 header checksum redone (the ICMP part left as it is).
std::string Fix4Header(std::string p) {
  const size_t ihl = (At(p, 0) & 0xf) * 4u;
  Set16(p, 10, 0);
  Set16(p, 10, static_cast<uint16_t>(~Folded(p.substr(0, ihl))));
  return p;
}

// IPv4 checksums redone after a change.
std::string Fix4(std::string p) {
  const size_t ihl = (At(p, 0) & 0xf) * 4u;
  Set16(p, 10, 0);
  Set16(p, 10, static_cast<uint16_t>(~Folded(p.substr(0, ihl))));
  Set16(p, ihl + 2, 0);
  Set16(p, ihl + 2, static_cast<uint16_t>(~Folded(p.substr(ihl, Be16(p, 2) - ihl))));
  return p;
}

TEST(TunnelEcho, RequestV4) {
  const std::string p = BuildEchoRequest(kRequest4);
  ASSERT_EQ(p.size(), 20u + 8 + 16);
  EXPECT_EQ(At(p, 0), 0x45);
  EXPECT_EQ(Be16(p, 2), p.size());
  EXPECT_EQ(Be16(p, 6), 0x4000);  // DF
  EXPECT_EQ(At(p, 8), 64);
  EXPECT_EQ(At(p, 9), 1);
  EXPECT_EQ(p.substr(12, 4), kRequest4.source.bytes());
  EXPECT_EQ(p.substr(16, 4), kRequest4.destination.bytes());
  EXPECT_EQ(Folded(p.substr(0, 20)), 0xffff);
  EXPECT_EQ(At(p, 20), 8);  // echo request
  EXPECT_EQ(At(p, 21), 0);
  EXPECT_EQ(Be16(p, 24), 0x1234);
  EXPECT_EQ(Be16(p, 26), 7);
  EXPECT_EQ(p.substr(28), "xlb tunnel check");
  EXPECT_EQ(Folded(p.substr(20)), 0xffff);
}

TEST(TunnelEcho, RequestV6) {
  const std::string p = BuildEchoRequest(kRequest6);
  ASSERT_EQ(p.size(), 40u + 8 + 3);
  EXPECT_EQ(At(p, 0), 0x60);
  EXPECT_EQ(Be16(p, 4), 11);
  EXPECT_EQ(At(p, 6), 58);
  EXPECT_EQ(At(p, 7), 64);
  EXPECT_EQ(p.substr(8, 16), kRequest6.source.bytes());
  EXPECT_EQ(p.substr(24, 16), kRequest6.destination.bytes());
  EXPECT_EQ(At(p, 40), 128);
  EXPECT_EQ(Be16(p, 44), 0x1234);
  EXPECT_EQ(Be16(p, 46), 65535);
  EXPECT_EQ(Folded(p.substr(40), Pseudo6(p)), 0xffff);  // odd length: padded
}

TEST(TunnelEcho, ParsesTheReply) {
  for (const EchoPacket& request : {kRequest4, kRequest6}) {
    SCOPED_TRACE(request.source.ToString());
    std::optional<EchoPacket> r = ParseEchoReply(Reply(request));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, ReplyTo(request));
    EXPECT_EQ(r->source, request.destination);
    // Link-layer padding after the IP length is not payload.
    r = ParseEchoReply(Reply(request) + std::string(6, '\0'));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, ReplyTo(request));
  }
  // IPv4 options are skipped.
  std::string p = Reply(kRequest4);
  p.insert(20, std::string("\x01\x01\x01\x00", 4));
  p[0] = 0x46;
  Set16(p, 2, static_cast<uint16_t>(p.size()));
  std::optional<EchoPacket> r = ParseEchoReply(Fix4(p));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, ReplyTo(kRequest4));
}

// The prober takes a reply only if it equals ReplyTo(its request): another
// source (not the VIP), destination, id, sequence or payload is not it.
TEST(TunnelEcho, OnlyTheExactReplyAnswers) {
  const EchoPacket want = ReplyTo(kRequest4);
  std::vector<EchoPacket> others(5, want);
  others[0].source = Ip("192.0.2.99");  // the real's own address, say
  others[1].destination = Ip("192.0.2.2");
  others[2].id ^= 1;
  others[3].sequence ^= 1;
  others[4].payload[0] ^= 1;
  for (const EchoPacket& other : others) {
    std::optional<EchoPacket> r = ParseEchoReply(Reply(ReplyTo(other)));
    ASSERT_TRUE(r.has_value());
    EXPECT_NE(*r, want);
  }
}

TEST(TunnelEcho, RefusesWhatIsNotAnEchoReply) {
  std::vector<std::pair<const char*, std::string>> cases;
  cases.emplace_back("empty", "");
  cases.emplace_back("request v4", BuildEchoRequest(kRequest4));
  cases.emplace_back("request v6", BuildEchoRequest(kRequest6));
  std::string p = Reply(kRequest4);
  p[20] = 3;  // destination unreachable
  cases.emplace_back("unreachable", Fix4(p));
  p = Reply(kRequest4);
  p[21] = 1;  // code 1
  cases.emplace_back("code", Fix4(p));
  p = Reply(kRequest4);
  p[9] = 17;
  cases.emplace_back("udp", Fix4(p));
  p = Reply(kRequest4);
  Set16(p, 6, 0x2000);  // MF
  cases.emplace_back("first fragment", Fix4(p));
  p = Reply(kRequest4);
  Set16(p, 6, 0x0001);
  cases.emplace_back("later fragment", Fix4(p));
  p = Reply(kRequest4);
  p[27] ^= 1;
  cases.emplace_back("icmp checksum", p);
  p = Reply(kRequest4);
  p[8] ^= 1;
  cases.emplace_back("ip checksum", p);
  p = Reply(kRequest6);
  p[47] ^= 1;
  cases.emplace_back("icmpv6 checksum", p);
  p = Reply(kRequest6);
  p[6] = 0;  // a hop-by-hop header first
  cases.emplace_back("v6 extension header", p);
  p = Reply(kRequest4);
  p[0] = 0x44;
  cases.emplace_back("ihl 4", p);
  p = Reply(kRequest4);
  p[0] = 0x55;
  cases.emplace_back("version 5", p);
  p = Reply(kRequest4);
  Set16(p, 2, static_cast<uint16_t>(p.size() + 1));
  cases.emplace_back("v4 total length past the end", p);
  p = Reply(kRequest6);
  Set16(p, 4, static_cast<uint16_t>(p.size() - 39));
  cases.emplace_back("v6 payload length past the end", p);
  for (const auto& [name, packet] : cases)
    EXPECT_FALSE(ParseEchoReply(packet).has_value()) << name;
  // Every truncation of a good reply.
  for (const EchoPacket& request : {kRequest4, kRequest6}) {
    const std::string whole = Reply(request);
    for (size_t len = 0; len < whole.size(); ++len)
      EXPECT_FALSE(ParseEchoReply(whole.substr(0, len)).has_value()) << "length " << len;
  }
}

// ---- the packet socket's filter, run as the kernel would ----

struct Skb {
  std::string data;  // from the IP header (SOCK_DGRAM)
  uint16_t protocol = ETH_P_IP;
  uint8_t pkttype = PACKET_HOST;
};

// A classic BPF interpreter for the instructions EchoReplyFilter uses; a
// load past the end returns 0 (drops), as the kernel's does.
uint32_t RunFilter(const std::vector<sock_filter>& prog, const Skb& skb) {
  uint32_t a = 0, x = 0;
  auto load = [&](uint32_t off, int size, bool* ok) -> uint32_t {
    if (off == static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_PKTTYPE)) return skb.pkttype;
    if (off == static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_PROTOCOL)) return skb.protocol;
    if (off + size > skb.data.size()) {
      *ok = false;
      return 0;
    }
    uint32_t v = 0;
    for (int i = 0; i < size; ++i) v = v << 8 | static_cast<uint8_t>(skb.data[off + i]);
    return v;
  };
  for (size_t pc = 0; pc < prog.size() && pc < 1000; ++pc) {
    const sock_filter& in = prog[pc];
    bool ok = true;
    switch (in.code) {
      case BPF_LD | BPF_B | BPF_ABS: a = load(in.k, 1, &ok); break;
      case BPF_LD | BPF_H | BPF_ABS: a = load(in.k, 2, &ok); break;
      case BPF_LD | BPF_H | BPF_IND: a = load(x + in.k, 2, &ok); break;
      case BPF_LDX | BPF_B | BPF_MSH: x = (load(in.k, 1, &ok) & 0xf) * 4; break;
      case BPF_LDX | BPF_W | BPF_IMM: x = in.k; break;
      case BPF_JMP | BPF_JEQ | BPF_K: pc += a == in.k ? in.jt : in.jf; break;
      case BPF_JMP | BPF_JSET | BPF_K: pc += (a & in.k) ? in.jt : in.jf; break;
      case BPF_JMP | BPF_JA: pc += in.k; break;
      case BPF_RET | BPF_K: return in.k;
      default: ADD_FAILURE() << "instruction " << pc << " code " << in.code; return 0;
    }
    if (!ok) return 0;
  }
  ADD_FAILURE() << "ran off the end";
  return 0;
}

TEST(TunnelEcho, FilterKeepsOurRepliesOnly) {
  const auto filter = EchoReplyFilter(0x1234);
  auto keeps = [&](const Skb& skb) { return RunFilter(filter, skb) > 0; };
  EXPECT_TRUE(keeps({Reply(kRequest4)}));
  EXPECT_TRUE(keeps({Reply(kRequest6), ETH_P_IPV6}));
  EXPECT_GE(RunFilter(filter, {Reply(kRequest4)}), 512u);
  // With IPv4 options (the ICMP header found behind them).
  std::string p = Reply(kRequest4);
  p.insert(20, std::string(8, '\x01'));
  p[0] = 0x47;
  Set16(p, 2, static_cast<uint16_t>(p.size()));
  EXPECT_TRUE(keeps({Fix4(p)}));

  EchoPacket other = kRequest4;
  other.id = 0x1235;
  EXPECT_FALSE(keeps({Reply(other)}));
  other = kRequest6;
  other.id = 0x4321;
  EXPECT_FALSE(keeps({Reply(other), ETH_P_IPV6}));
  EXPECT_FALSE(keeps({Reply(kRequest4), ETH_P_IP, PACKET_OUTGOING}));
  EXPECT_FALSE(keeps({BuildEchoRequest(kRequest4)}));
  EXPECT_FALSE(keeps({BuildEchoRequest(kRequest6), ETH_P_IPV6}));
  EXPECT_FALSE(keeps({Reply(kRequest6), ETH_P_IP}));  // the protocol decides
  EXPECT_FALSE(keeps({Reply(kRequest4), ETH_P_ARP}));
  p = Reply(kRequest4);
  Set16(p, 6, 0x2000);
  EXPECT_FALSE(keeps({p}));
  p = Reply(kRequest4);
  p[9] = 6;
  EXPECT_FALSE(keeps({p}));
  p = Reply(kRequest6);
  p[6] = 0;
  EXPECT_FALSE(keeps({p, ETH_P_IPV6}));
  // Cut before the id: dropped by the load past the end.
  EXPECT_FALSE(keeps({Reply(kRequest4).substr(0, 25)}));
  EXPECT_FALSE(keeps({Reply(kRequest6).substr(0, 45), ETH_P_IPV6}));
  EXPECT_FALSE(keeps({""}));
}

// ---- the prober, in a child process of its own ----

// Runs `body` in a forked child that first entered a new user namespace
// (and, with `own_netns`, a new network namespace: then it has CAP_NET_RAW
// there and nothing it sends leaves it); returns what `body` returned.
std::string InChild(bool own_netns, const std::function<std::string()>& body) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  const pid_t pid = fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    close(fds[0]);
    std::string out = unshare(CLONE_NEWUSER | (own_netns ? CLONE_NEWNET : 0)) != 0
                          ? std::string("unshare: ") + std::strerror(errno)
                          : body();
    (void)!write(fds[1], out.data(), out.size());
    _exit(0);
  }
  close(fds[1]);
  std::string got;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;) got.append(buf, n);
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  return got;
}

std::string Describe(const std::optional<ProbeResult>& r) {
  if (!r) return "no result";
  return absl::StrCat("ok=", r->ok, " local=", r->local_error, " ", r->detail);
}

// Without CAP_NET_RAW over the network namespace (a user namespace of its
// own, root or not), a probe ends at once as a local error (it says nothing
// about the real), naming the socket and EPERM.
TEST(TunnelProber, WithoutCapNetRawTheProbeIsALocalErrorWithTheReason) {
  EXPECT_EQ(InChild(false, [] {
              asio::io_context io;
              auto prober = TunnelProber::Create(io);
              std::optional<ProbeResult> result;
              prober->Probe(TunnelTarget{Ip("198.51.100.10")}, Ip("192.0.2.20"), Ip("192.0.2.1"),
                            Duration(200), [&](ProbeResult r) { result = std::move(r); });
              io.run_for(std::chrono::seconds(2));
              return Describe(result);
            }),
            "ok=0 local=1 tunnel ipip: socket(AF_PACKET): Operation not permitted (local error, "
            "state kept)");
}

// A monitor with a through-tunnel real whose probe cannot be made (no
// CAP_NET_RAW): the real is not taken out for it (a director without the
// capability would take out every such real at once), each round is counted
// as a local error with the reason, and the monitor goes on checking.
TEST(TunnelProber, MonitorKeepsTheRealWhenTheProbeCannotBeMade) {
  const std::string got = InChild(false, [] {
    asio::io_context io;
    std::vector<std::string> changes;
    Monitor monitor(io, [&](const std::string& id, bool up, const std::string& detail) {
      changes.push_back(id + (up ? " up: " : " down: ") + detail);
    });
    config::HealthCheck check;
    check.type = config::HealthType::kExec;
    check.command = "true";
    check.interval = Duration(50);
    check.timeout = Duration(40);
    check.fall = 2;
    check.through_tunnel = true;
    monitor.Set("r", check, Ip("192.0.2.20"), 80, Ip("192.0.2.1"), true,
                TunnelTarget{Ip("198.51.100.10"), model::Encap::kGue, 6080});
    io.run_for(std::chrono::seconds(1));
    const auto snapshot = monitor.Snapshot();
    if (snapshot.empty()) return std::string("no snapshot");
    for (const auto& c : changes)
      if (c.find("tunnel") != std::string::npos) return "changed for the tunnel: " + c;
    if (snapshot[0].local_errors < 3)
      return absl::StrCat("only ", snapshot[0].local_errors, " local errors: ",
                          snapshot[0].last_local_error);
    return snapshot[0].last_local_error;
  });
  EXPECT_TRUE(got.ends_with(
      "tunnel gue:6080: socket(AF_PACKET): Operation not permitted (local error, state kept)"))
      << got;
}

// ---- the whole exchange, over loopback in a network namespace of its own ----

constexpr char kDirector[] = "192.0.2.1", kReal[] = "192.0.2.20", kVip[] = "198.51.100.10";

// lo up with kDirector and kReal on it (ioctl: no netlink library here).
std::string LoopbackUp() {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "socket";
  ifreq ifr{};
  std::strcpy(ifr.ifr_name, "lo");
  std::string error;
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) error = "SIOCGIFFLAGS";
  ifr.ifr_flags |= IFF_UP;
  if (error.empty() && ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) error = "SIOCSIFFLAGS";
  const std::pair<const char*, const char*> addresses[] = {{"lo", kDirector}, {"lo:1", kReal}};
  for (const auto& [name, address] : addresses) {
    ifreq a{};
    std::strcpy(a.ifr_name, name);
    auto* in = reinterpret_cast<sockaddr_in*>(&a.ifr_addr);
    in->sin_family = AF_INET;
    inet_pton(AF_INET, address, &in->sin_addr);
    if (error.empty() && ioctl(fd, SIOCSIFADDR, &a) != 0) error = std::string("SIOCSIFADDR ") + name;
  }
  close(fd);
  return error.empty() ? "" : error + ": " + std::strerror(errno);
}

// Plays the real's side: calls `start` (which sends the probe) and waits,
// running the loop, for the probe's encapsulated echo on lo; returns the
// echo request inside it.
std::optional<EchoPacket> CatchProbe(asio::io_context& io, bool gue,
                                     const std::function<void()>& start) {
  const int sniff = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_IP));
  if (sniff < 0) return std::nullopt;
  start();  // once the sniffer listens
  std::optional<EchoPacket> request;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!request && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(5));
    char buf[512];
    for (ssize_t n; !request && (n = recv(sniff, buf, sizeof(buf), 0)) > 0;) {
      const std::string p(buf, static_cast<size_t>(n));
      // Outer IPv4 to the real, protocol 4 (IPIP) or UDP to 6080 (GUE).
      const size_t inner = gue ? 28 : 20;
      if (p.size() < inner + 28 || p.substr(16, 4) != Ip(kReal).bytes() ||
          At(p, 9) != (gue ? 17 : 4) || (gue && Be16(p, 22) != 6080) || At(p, inner + 20) != 8)
        continue;
      request = EchoPacket{AddressAt4(p, inner + 12), AddressAt4(p, inner + 16),
                           Be16(p, inner + 24), Be16(p, inner + 26), p.substr(inner + 28)};
    }
  }
  close(sniff);
  return request;
}

// Sends whole IPv4 packets (IP_HDRINCL) to the director; "" or the error.
std::string SendToDirector(const std::vector<std::string>& packets) {
  const int raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
  if (raw < 0) return std::string("socket: ") + std::strerror(errno);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  inet_pton(AF_INET, kDirector, &to.sin_addr);
  std::string error;
  for (const std::string& packet : packets)
    if (error.empty() && sendto(raw, packet.data(), packet.size(), 0,
                                reinterpret_cast<sockaddr*>(&to), sizeof(to)) < 0)
      error = std::string("sendto: ") + std::strerror(errno);
  close(raw);
  return error;
}

// Runs the loop until `done` or 2 s.
void RunUntil(asio::io_context& io, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (!done() && std::chrono::steady_clock::now() < deadline)
    io.run_for(std::chrono::milliseconds(5));
}

// Hostile and wrong replies first: another source (the real's own address),
// another payload, a later sequence, cut after the id, an ICMP error. The
// four that pass the filter are read and ignored, the probe still waits;
// then the right one answers it.
TEST(TunnelProber, TakesTheExactReplyOnlyOverLoopback) {
  for (bool gue : {false, true}) {
    SCOPED_TRACE(gue ? "gue" : "ipip");
    const std::string got = InChild(true, [gue] {
      if (std::string e = LoopbackUp(); !e.empty()) return "lo: " + e;
      asio::io_context io;
      auto prober = TunnelProber::Create(io);
      std::optional<ProbeResult> result;
      TunnelTarget target{Ip(kVip), gue ? model::Encap::kGue : model::Encap::kIpip, 6080};
      std::optional<EchoPacket> request = CatchProbe(io, gue, [&] {
        prober->Probe(target, Ip(kReal), Ip(kDirector), Duration(1500),
                      [&](ProbeResult r) { result = std::move(r); });
      });
      if (!request) return std::string("no encapsulated echo seen on lo");
      std::vector<EchoPacket> wrong(3, ReplyTo(*request));
      wrong[0].source = Ip(kReal);
      wrong[1].payload.back() ^= 1;
      wrong[2].sequence += 1;
      std::vector<std::string> packets;
      for (const EchoPacket& w : wrong) packets.push_back(Reply(ReplyTo(w)));
      std::string cut = Reply(*request);
      cut.resize(20 + 6);  // up to the id
      Set16(cut, 2, static_cast<uint16_t>(cut.size()));
      packets.push_back(Fix4Header(cut));
      std::string icmp_error = Reply(*request);
      icmp_error[20] = 3;  // destination unreachable
      packets.push_back(Fix4(icmp_error));
      if (std::string e = SendToDirector(packets); !e.empty()) return e;
      RunUntil(io, [&] { return prober->ignored() >= 4 || result.has_value(); });
      std::string out = absl::StrCat("after the wrong ones: ", Describe(result), ", ignored ",
                                     prober->ignored(), "; ");
      if (std::string e = SendToDirector({Reply(*request)}); !e.empty()) return e;
      RunUntil(io, [&] { return result.has_value(); });
      return absl::StrCat(out, Describe(result), ", ignored ", prober->ignored());
    });
    EXPECT_TRUE(got.starts_with(absl::StrCat("after the wrong ones: no result, ignored 4; ok=1 "
                                             "local=0 tunnel ",
                                             gue ? "gue:6080" : "ipip", ": echo reply from ",
                                             kVip, " in ")))
        << got;
    EXPECT_TRUE(got.ends_with(", ignored 4")) << got;
  }
}

// Nobody answers (the real's stack has no tunnel): failed at the timeout.
TEST(TunnelProber, NoReplyFailsAtTheTimeout) {
  const std::string got = InChild(true, [] {
    if (std::string e = LoopbackUp(); !e.empty()) return "lo: " + e;
    asio::io_context io;
    auto prober = TunnelProber::Create(io);
    std::optional<ProbeResult> result;
    prober->Probe(TunnelTarget{Ip(kVip)}, Ip(kReal), Ip(kDirector), Duration(200),
                  [&](ProbeResult r) { result = std::move(r); });
    io.run_for(std::chrono::seconds(1));
    return Describe(result);
  });
  EXPECT_EQ(got, absl::StrCat("ok=0 local=0 tunnel ipip: no echo reply from ", kVip,
                              " within 200ms"));
}

}  // namespace
}  // namespace xlb::health
