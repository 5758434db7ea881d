#include "controlplane/health/tunnel_probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "asio/post.hpp"
#include "controlplane/health/tunnel_echo.h"
#include "glog/logging.h"
#include "model/names.h"
#include "model/unique_fd.h"

namespace xlb::health {
namespace {

using model::IpAddress;

constexpr char kPayloadTag[] = "xlb tunnel check";  // 16 bytes, readable in a capture
constexpr int kMaxReadsPerWakeup = 64;               // the loop's other work goes on
constexpr size_t kReadSize = 512;                    // the filter's snap length

union SockAddr {
  sockaddr sa;
  sockaddr_in in;
  sockaddr_in6 in6;
};

socklen_t Fill(SockAddr& s, const IpAddress& a, uint16_t port) {
  std::memset(&s, 0, sizeof(s));
  const std::string b = a.bytes();
  if (a.is_v4()) {
    s.in.sin_family = AF_INET;
    s.in.sin_port = htons(port);
    std::memcpy(&s.in.sin_addr, b.data(), 4);
    return sizeof(s.in);
  }
  s.in6.sin6_family = AF_INET6;
  s.in6.sin6_port = htons(port);
  std::memcpy(&s.in6.sin6_addr, b.data(), 16);
  return sizeof(s.in6);
}

IpAddress AddressOf(const SockAddr& s) {
  uint32_t words[4] = {};
  if (s.sa.sa_family == AF_INET) {
    std::memcpy(words, &s.in.sin_addr, 4);
    return IpAddress::FromWords(model::Family::kV4, words);
  }
  std::memcpy(words, &s.in6.sin6_addr, 16);
  return IpAddress::FromWords(model::Family::kV6, words);
}

ProbeResult Failed(int err, std::string what) {
  std::string detail = absl::StrCat(what, ": ", std::strerror(err));
  if (IsLocalError(err)) return ProbeResult{false, true, detail + " (local error, state kept)"};
  return ProbeResult{false, false, std::move(detail)};
}

// The address the kernel would send from toward `real` (a UDP socket's
// connect chooses it without sending anything).
std::optional<IpAddress> KernelSource(const IpAddress& real, int* err) {
  model::UniqueFd fd(socket(real.is_v4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  SockAddr to;
  const socklen_t len = Fill(to, real, 9);
  SockAddr local;
  socklen_t local_len = sizeof(local);
  if (fd.get() < 0 || connect(fd.get(), &to.sa, len) != 0 ||
      getsockname(fd.get(), &local.sa, &local_len) != 0) {
    *err = errno;
    return std::nullopt;
  }
  return AddressOf(local);
}

// Sends `inner` through the tunnel to `real`; "" or, with *err, what failed
// (*local: a failure that says nothing about the real, whatever the errno).
std::string SendEncapsulated(const TunnelTarget& t, const IpAddress& real,
                             const std::optional<IpAddress>& bind_to, const std::string& inner,
                             int* err, bool* local) {
  const int family = real.is_v4() ? AF_INET : AF_INET6;
  const bool gue = t.encap == model::Encap::kGue;
  // IPIP / 6in6: a raw socket of protocol 4 / 41 sends its data behind an
  // IP header of that protocol: the inner packet is the data.
  const int type = gue ? SOCK_DGRAM : SOCK_RAW;
  const int protocol = gue ? 0 : real.is_v4() ? IPPROTO_IPIP : IPPROTO_IPV6;
  const std::string what =
      gue ? absl::StrCat("socket(", real.is_v4() ? "AF_INET" : "AF_INET6", ", SOCK_DGRAM)")
          : real.is_v4() ? "socket(AF_INET, SOCK_RAW, IPPROTO_IPIP)"
                         : "socket(AF_INET6, SOCK_RAW, IPPROTO_IPV6)";
  model::UniqueFd fd(socket(family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol));
  if (fd.get() < 0) {
    *err = errno;
    *local = true;  // this director's socket: nothing about the real
    return what;
  }
  SockAddr addr;
  if (bind_to) {
    const socklen_t len = Fill(addr, *bind_to, 0);
    if (bind(fd.get(), &addr.sa, len) != 0) {
      *err = errno;
      return absl::StrCat("bind to ", bind_to->ToString());
    }
  }
  // Raw IPv6 sockets take the protocol in the port field: it must be 0 or
  // the socket's own.
  const socklen_t len = Fill(addr, real, gue ? t.gue_port : 0);
  if (sendto(fd.get(), inner.data(), inner.size(), MSG_DONTWAIT, &addr.sa, len) !=
      static_cast<ssize_t>(inner.size())) {
    *err = errno;
    return absl::StrCat("send to ", real.ToString());
  }
  return "";
}

// Not secret: it makes a reply that was not caused by this prober (an old
// xlbd's, another host's with our id) unlikely to match by chance.
std::string RandomCookie() {
  std::random_device random;  // getrandom(2)
  std::string cookie;
  for (int i = 0; i < 2; ++i) {
    const uint32_t v = random();
    cookie.append(reinterpret_cast<const char*>(&v), sizeof(v));
  }
  return cookie;
}

std::string Ms(std::chrono::steady_clock::duration d) {
  return absl::StrFormat("%.1fms", std::chrono::duration<double, std::milli>(d).count());
}

}  // namespace

std::string TunnelName(const TunnelTarget& t) {
  if (t.encap == model::Encap::kGue) return absl::StrCat("gue:", t.gue_port);
  return std::string(model::NameOf(t.encap));
}

std::shared_ptr<TunnelProber> TunnelProber::Create(asio::io_context& io) {
  return std::shared_ptr<TunnelProber>(new TunnelProber(io));
}

TunnelProber::TunnelProber(asio::io_context& io)
    : io_(io), id_(static_cast<uint16_t>(getpid())), cookie_(RandomCookie()) {}

TunnelProber::~TunnelProber() = default;

std::string TunnelProber::OpenReceiver() {
  if (receiver_) return "";
  // Protocol 0 receives nothing until bound: the filter is in place first,
  // so that no packet of another kind is ever queued.
  model::UniqueFd fd(socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return absl::StrCat("socket(AF_PACKET): ", std::strerror(errno));
  std::vector<sock_filter> code = EchoReplyFilter(id_);
  sock_fprog prog{static_cast<unsigned short>(code.size()), code.data()};
  if (setsockopt(fd.get(), SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0)
    return absl::StrCat("packet socket filter: ", std::strerror(errno));
  sockaddr_ll ll{};
  ll.sll_family = AF_PACKET;
  ll.sll_protocol = htons(ETH_P_ALL);
  ll.sll_ifindex = 0;  // every interface: the reply may come in on any
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&ll), sizeof(ll)) != 0)
    return absl::StrCat("bind packet socket: ", std::strerror(errno));
  receiver_.emplace(io_, fd.release());
  WaitForReplies();
  return "";
}

void TunnelProber::WaitForReplies() {
  receiver_->async_wait(asio::posix::stream_descriptor::wait_read,
                        [weak = weak_from_this()](const asio::error_code& ec) {
                          auto self = weak.lock();
                          if (ec || self == nullptr || !self->receiver_) return;
                          self->OnReadable();
                        });
}

void TunnelProber::OnReadable() {
  std::array<char, kReadSize> buf;
  for (int i = 0; i < kMaxReadsPerWakeup; ++i) {
    const ssize_t n = recv(receiver_->native_handle(), buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        LOG_EVERY_N(WARNING, 100) << "health through the tunnel: read: " << std::strerror(errno);
      }
      break;
    }
    OnReply(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
  WaitForReplies();
}

void TunnelProber::OnReply(std::string_view packet) {
  std::optional<EchoPacket> reply = ParseEchoReply(packet);
  auto it = reply ? pending_.find(reply->sequence) : pending_.end();
  // Unreadable, another address, id or payload, or a probe already over.
  if (it == pending_.end() || *reply != it->second.reply) {
    ++ignored_;
    LOG_EVERY_N(INFO, 100) << "health through the tunnel: ignored a packet that answers no probe"
                           << (reply ? " from " + reply->source.ToString() : std::string())
                           << " (" << ignored_ << " so far, logged every 100th)";
    return;
  }
  const Pending& p = it->second;
  Finish(reply->sequence,
         ProbeResult{true, false,
                     absl::StrCat("tunnel ", p.tunnel, ": echo reply from ",
                                  p.reply.source.ToString(), " in ",
                                  Ms(std::chrono::steady_clock::now() - p.sent))});
}

void TunnelProber::Finish(uint16_t sequence, ProbeResult result) {
  auto it = pending_.find(sequence);
  if (it == pending_.end()) return;
  ProbeHandler handler = std::move(it->second.handler);
  pending_.erase(it);  // cancels its deadline
  // Posted: a handler may start the next probe, which changes pending_.
  asio::post(io_, [handler = std::move(handler), result = std::move(result)]() mutable {
    handler(std::move(result));
  });
}

void TunnelProber::Probe(const TunnelTarget& target, const IpAddress& real,
                         const ProbeSource& source, Duration timeout, ProbeHandler handler) {
  const std::string tunnel = TunnelName(target);
  auto fail_now = [&](ProbeResult r) {
    r.detail = absl::StrCat("tunnel ", tunnel, ": ", r.detail);
    asio::post(io_, [handler = std::move(handler), r = std::move(r)]() mutable {
      handler(std::move(r));
    });
  };
  if (std::string error = OpenReceiver(); !error.empty()) {
    // EPERM (no CAP_NET_RAW) and the like say nothing about the real: a
    // director that cannot probe must not take its reals out (every one of
    // them at once) but say why, as for the other local errors.
    return fail_now(ProbeResult{false, true, error + " (local error, state kept)"});
  }
  int err = 0;
  std::optional<IpAddress> from = source;
  if (!from) {
    from = KernelSource(real, &err);
    if (!from) return fail_now(Failed(err, absl::StrCat("source toward ", real.ToString())));
  }
  // A sequence number no probe in flight has (at most 65536 tries).
  uint32_t tries = 0;
  while (pending_.contains(next_sequence_) && ++tries <= 0xffff) ++next_sequence_;
  if (pending_.contains(next_sequence_))
    return fail_now(ProbeResult{false, true, "65536 probes in flight (local error, state kept)"});
  const uint16_t sequence = next_sequence_++;

  EchoPacket request{*from, target.vip, id_, sequence, kPayloadTag + cookie_};
  const std::string inner = BuildEchoRequest(request);
  bool local = false;
  if (std::string what = SendEncapsulated(target, real, source, inner, &err, &local);
      !what.empty()) {
    ProbeResult r = Failed(err, what);
    if (local && !r.local_error) r = {false, true, r.detail + " (local error, state kept)"};
    return fail_now(std::move(r));
  }

  Pending& p = pending_[sequence];
  p.reply = ReplyTo(request);
  p.tunnel = tunnel;
  p.sent = std::chrono::steady_clock::now();
  p.timeout = timeout;
  p.handler = std::move(handler);
  p.deadline = std::make_unique<asio::steady_timer>(io_, timeout);
  p.deadline->async_wait([weak = weak_from_this(), sequence](const asio::error_code& ec) {
    auto self = weak.lock();
    if (ec || self == nullptr) return;
    auto it = self->pending_.find(sequence);
    if (it == self->pending_.end()) return;
    const Pending& p = it->second;
    self->Finish(sequence, ProbeResult{false, false,
                                       absl::StrCat("tunnel ", p.tunnel, ": no echo reply from ",
                                                    p.reply.source.ToString(), " within ",
                                                    p.timeout.count(), "ms")});
  });
}

}  // namespace xlb::health
