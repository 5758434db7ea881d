// xlb-tunnel-probe: plays a tunnelling director and a client at once, for
// the xlb-decap lab test. It sends a TCP SYN from CLIENT to VIP:PORT,
// encapsulated (IPIP or GUE) from OUTER_SRC to the real at OUTER_DST,
// through a raw IP socket, and captures the answer on IFACE (AF_PACKET):
// the real's SYN-ACK must come from the VIP, unencapsulated, to the client.
// With --handshake it goes on as TCP would (ACK, then data, each
// encapsulated), reads the server's banner, sends a line and reads its echo,
// then resets the connection.
//
//   xlb-tunnel-probe --iface IFACE --encap ipip|gue [--gue-port N] [--gue-variant 0|1]
//       --outer-src ADDR --outer-dst ADDR --client ADDR --vip ADDR --port N
//       [--client-port N] [--handshake] [--timeout-ms N]
//
// Prints what it saw, one line each ("syn-ack from VIP:PORT", "banner
// NAME", "echo ok"); exit 0 when everything came, 1 on a timeout or a wrong
// answer, 2 on a usage error. Frames are built by dataplane/frame_builder.
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "dataplane/frame_builder.h"
#include "tests/lab/tools/tool_common.h"

namespace xlb::lab {
namespace {

using namespace ::xlb::dataplane::frames;  // NOLINT
using Clock = std::chrono::steady_clock;

constexpr char kProg[] = "xlb-tunnel-probe";
constexpr char kUsage[] =
    "usage: xlb-tunnel-probe --iface IFACE --encap ipip|gue [--gue-port N] [--gue-variant 0|1]\n"
    "  --outer-src ADDR --outer-dst ADDR --client ADDR --vip ADDR --port N\n"
    "  [--client-port N] [--handshake] [--timeout-ms N]\n";

struct Options {
  std::string iface, encap;
  uint16_t gue_port = 6080;
  int gue_variant = 1;
  model::IpAddress outer_src, outer_dst, client, vip;
  uint16_t port = 0, client_port = 40123;
  bool handshake = false;
  int timeout_ms = 3000;
};

model::IpAddress Addr(const std::string& flag, const char* v) {
  auto a = model::IpAddress::Parse(v);
  if (!a.ok()) UsageError(kProg, flag + " '" + v + "': not an address");
  return *a;
}

uint16_t Port(const std::string& flag, const char* v) {
  int n = atoi(v);
  if (n <= 0 || n > 65535) UsageError(kProg, flag + " '" + v + "': not a port");
  return static_cast<uint16_t>(n);
}

Options Parse(int argc, char** argv) {
  Options o;
  bool have[4] = {};
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (IsHelp(a)) ExitUsage(kUsage, true);
    if (a == "--handshake") {
      o.handshake = true;
      continue;
    }
    if (i + 1 >= argc) UsageError(kProg, a + " wants a value");
    const char* v = argv[++i];
    if (a == "--iface") o.iface = v;
    else if (a == "--encap") o.encap = v;
    else if (a == "--gue-port") o.gue_port = Port(a, v);
    else if (a == "--gue-variant") o.gue_variant = atoi(v);
    else if (a == "--outer-src") o.outer_src = Addr(a, v), have[0] = true;
    else if (a == "--outer-dst") o.outer_dst = Addr(a, v), have[1] = true;
    else if (a == "--client") o.client = Addr(a, v), have[2] = true;
    else if (a == "--vip") o.vip = Addr(a, v), have[3] = true;
    else if (a == "--port") o.port = Port(a, v);
    else if (a == "--client-port") o.client_port = Port(a, v);
    else if (a == "--timeout-ms") o.timeout_ms = atoi(v);
    else UsageError(kProg, "unknown option " + a);
  }
  if (o.iface.empty() || (o.encap != "ipip" && o.encap != "gue") || !have[0] || !have[1] ||
      !have[2] || !have[3] || o.port == 0 || (o.gue_variant != 0 && o.gue_variant != 1) ||
      o.timeout_ms <= 0 || o.timeout_ms > 60000)
    ExitUsage(kUsage, false);
  if (o.outer_src.is_v4() != o.outer_dst.is_v4() || o.client.is_v4() != o.vip.is_v4())
    UsageError(kProg, "the outer addresses, and the inner ones, must be of one family each");
  return o;
}

class Probe {
 public:
  explicit Probe(const Options& o) : o_(o) {
    // Capture first, so that no answer can come before we listen.
    capture_ = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (capture_ < 0) Fatal(kProg, "AF_PACKET socket");
    sockaddr_ll ll = {};
    ll.sll_family = AF_PACKET;
    ll.sll_protocol = htons(ETH_P_ALL);
    ll.sll_ifindex = static_cast<int>(if_nametoindex(o.iface.c_str()));
    if (ll.sll_ifindex == 0) UsageError(kProg, "--iface " + o.iface + ": no such interface");
    if (bind(capture_, reinterpret_cast<sockaddr*>(&ll), sizeof(ll)) != 0)
      Fatal(kProg, "bind to " + o.iface);
    send_ = socket(o.outer_dst.is_v4() ? AF_INET : AF_INET6, SOCK_RAW, IPPROTO_RAW);
    if (send_ < 0) Fatal(kProg, "raw IP socket");
  }

  // Sends one segment client -> VIP, encapsulated.
  void Send(uint8_t flags, uint32_t seq, uint32_t ack, const std::string& payload) {
    Frame inner;
    inner.saddr = o_.client;
    inner.daddr = o_.vip;
    inner.sport = o_.client_port;
    inner.dport = o_.port;
    inner.tcp_flags = flags;
    inner.tcp_seq = seq;
    inner.tcp_ack = ack;
    inner.l4_payload = payload;
    Frame outer;
    outer.saddr = o_.outer_src;
    outer.daddr = o_.outer_dst;
    if (o_.encap == "ipip") {
      outer.proto = o_.vip.is_v4() ? 4 : 41;
      outer.raw_l4 = IpPart(inner);
    } else {
      outer.proto = kUdp;
      outer.sport = static_cast<uint16_t>(50000 + o_.client_port % 10000);
      outer.dport = o_.gue_port;
      std::string header;
      if (o_.gue_variant == 0) header = {0, static_cast<char>(o_.vip.is_v4() ? 4 : 41), 0, 0};
      outer.l4_payload = header + IpPart(inner);
    }
    const std::string packet = IpPart(outer);
    sockaddr_storage to = {};
    socklen_t len;
    if (o_.outer_dst.is_v4()) {
      auto* s = reinterpret_cast<sockaddr_in*>(&to);
      s->sin_family = AF_INET;
      memcpy(&s->sin_addr, o_.outer_dst.bytes().data(), 4);
      len = sizeof(*s);
    } else {
      auto* s = reinterpret_cast<sockaddr_in6*>(&to);
      s->sin6_family = AF_INET6;
      memcpy(&s->sin6_addr, o_.outer_dst.bytes().data(), 16);
      len = sizeof(*s);
    }
    if (sendto(send_, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&to), len) !=
        static_cast<ssize_t>(packet.size()))
      Fatal(kProg, "send to " + o_.outer_dst.ToString());
  }

  struct Segment {
    uint8_t flags = 0;
    uint32_t seq = 0, ack = 0;
    std::string payload;
  };

  // The next segment VIP:PORT -> client:client_port, unencapsulated, with
  // `flags` set (and payload when `want_data`), until the deadline.
  // With `seq`, only a segment that starts there (not a retransmission).
  std::optional<Segment> Receive(uint8_t flags, bool want_data, Clock::time_point deadline,
                                 std::optional<uint32_t> seq = std::nullopt) {
    char buf[2048];
    while (Clock::now() < deadline) {
      const int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
      pollfd p = {capture_, POLLIN, 0};
      if (poll(&p, 1, left > 0 ? left : 1) <= 0) continue;
      sockaddr_ll from = {};
      socklen_t flen = sizeof(from);
      ssize_t n = recvfrom(capture_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &flen);
      if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING) continue;
      auto s = Match(std::string(buf, static_cast<size_t>(n)));
      if (s && (s->flags & flags) == flags && (!want_data || !s->payload.empty()) &&
          (!seq || s->seq == *seq))
        return s;
    }
    return std::nullopt;
  }

 private:
  std::optional<Segment> Match(const std::string& f) {
    if (f.size() < 14) return std::nullopt;
    const auto* b = reinterpret_cast<const uint8_t*>(f.data());
    const uint16_t type = (b[12] << 8) | b[13];
    size_t l4 = 0, end = 0;
    std::string src, dst;
    if (type == ETH_P_IP && o_.vip.is_v4() && f.size() >= 34) {
      if (b[23] != kTcp) return std::nullopt;
      l4 = 14 + (b[14] & 0xf) * 4;
      end = 14 + ((b[16] << 8) | b[17]);
      src = f.substr(26, 4), dst = f.substr(30, 4);
    } else if (type == ETH_P_IPV6 && !o_.vip.is_v4() && f.size() >= 54) {
      if (b[20] != kTcp) return std::nullopt;
      l4 = 54;
      end = 54 + ((b[18] << 8) | b[19]);
      src = f.substr(22, 16), dst = f.substr(38, 16);
    } else {
      return std::nullopt;
    }
    if (end > f.size() || l4 + 20 > end) return std::nullopt;
    if (src != o_.vip.bytes() || dst != o_.client.bytes()) return std::nullopt;
    const uint16_t sport = (b[l4] << 8) | b[l4 + 1], dport = (b[l4 + 2] << 8) | b[l4 + 3];
    if (sport != o_.port || dport != o_.client_port) return std::nullopt;
    auto word = [&](size_t at) {
      return (uint32_t{b[at]} << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
    };
    Segment s;
    s.seq = word(l4 + 4);
    s.ack = word(l4 + 8);
    s.flags = b[l4 + 13];
    const size_t data = l4 + (b[l4 + 12] >> 4) * 4;
    if (data <= end) s.payload = f.substr(data, end - data);
    return s;
  }

  Options o_;
  int capture_ = -1, send_ = -1;
};

int Run(const Options& o) {
  Probe probe(o);
  const auto deadline = Clock::now() + std::chrono::milliseconds(o.timeout_ms);
  const std::string vip = model::FormatEndpoint(o.vip, o.port);
  const uint32_t isn = 1000;
  probe.Send(kSyn, isn, 0, "");
  auto synack = probe.Receive(kSyn | kAck, false, deadline);
  if (!synack || synack->ack != isn + 1) {
    fprintf(stderr, "%s: no SYN-ACK from %s to the client within %d ms\n", kProg, vip.c_str(),
            o.timeout_ms);
    return 1;
  }
  printf("syn-ack from %s\n", vip.c_str());
  if (!o.handshake) {
    probe.Send(kRst, isn + 1, 0, "");
    return 0;
  }
  uint32_t seq = isn + 1, ack = synack->seq + 1;
  probe.Send(kAck, seq, ack, "");
  auto banner = probe.Receive(kAck, true, deadline, ack);
  if (!banner) {
    fprintf(stderr, "%s: no banner from %s within %d ms\n", kProg, vip.c_str(), o.timeout_ms);
    return 1;
  }
  std::string name = banner->payload;
  while (!name.empty() && name.back() == '\n') name.pop_back();
  printf("banner %s\n", name.c_str());
  ack = banner->seq + static_cast<uint32_t>(banner->payload.size());
  const std::string line = "through the tunnel\n";
  probe.Send(kAck | kPsh, seq, ack, line);
  seq += static_cast<uint32_t>(line.size());
  auto echo = probe.Receive(kAck, true, deadline, ack);
  if (!echo || echo->payload != line) {
    fprintf(stderr, "%s: no echo from %s within %d ms%s\n", kProg, vip.c_str(), o.timeout_ms,
            echo ? " (other data)" : "");
    return 1;
  }
  printf("echo ok\n");
  probe.Send(kRst | kAck, seq, echo->seq + static_cast<uint32_t>(echo->payload.size()), "");
  return 0;
}

}  // namespace
}  // namespace xlb::lab

int main(int argc, char** argv) {
  auto o = xlb::lab::Parse(argc, argv);
  return xlb::lab::Run(o);
}
