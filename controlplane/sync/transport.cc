#include "controlplane/sync/transport.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "model/unique_fd.h"

namespace xlb::sync {
namespace {

socklen_t ToSockaddr(const model::IpAddress& address, uint16_t port, sockaddr_storage& out) {
  out = {};
  const std::string bytes = address.bytes();
  if (address.is_v4()) {
    auto& sin = reinterpret_cast<sockaddr_in&>(out);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    std::memcpy(&sin.sin_addr, bytes.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto& sin6 = reinterpret_cast<sockaddr_in6&>(out);
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(port);
  std::memcpy(&sin6.sin6_addr, bytes.data(), 16);
  return sizeof(sockaddr_in6);
}

std::optional<model::IpAddress> FromSockaddr(const sockaddr_storage& in) {
  uint32_t words[4] = {};
  if (in.ss_family == AF_INET) {
    std::memcpy(words, &reinterpret_cast<const sockaddr_in&>(in).sin_addr, 4);
    return model::IpAddress::FromWords(model::Family::kV4, words);
  }
  if (in.ss_family == AF_INET6) {
    std::memcpy(words, &reinterpret_cast<const sockaddr_in6&>(in).sin6_addr, 16);
    return model::IpAddress::FromWords(model::Family::kV6, words);
  }
  return std::nullopt;
}

absl::Status Errno(absl::string_view what) {
  return absl::InternalError(absl::StrCat("sync: ", what, ": ", std::strerror(errno)));
}

absl::Status SetInt(int fd, int level, int name, int value, absl::string_view what) {
  if (setsockopt(fd, level, name, &value, sizeof(value)) != 0) return Errno(what);
  return absl::OkStatus();
}

// The interface that has `address` (for IPV6_JOIN_GROUP / IPV6_MULTICAST_IF).
absl::StatusOr<unsigned> InterfaceOf(const model::IpAddress& address) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return Errno("getifaddrs");
  std::optional<unsigned> index;
  for (ifaddrs* i = list; i != nullptr && !index; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    sockaddr_storage ss{};
    std::memcpy(&ss, i->ifa_addr,
                i->ifa_addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
    if (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6) {
      if (FromSockaddr(ss) == address) index = if_nametoindex(i->ifa_name);
    }
  }
  freeifaddrs(list);
  if (!index || *index == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("sync: source ", address.ToString(), " is on no interface of this host"));
  }
  return *index;
}

// Membership of the group, TTL, interface and loop of multicast sending.
absl::Status SetUpMulticast(int fd, const TransportOptions& o, const model::IpAddress& group) {
  const std::string where = absl::StrCat(" for group ", group.ToString());
  if (group.is_v4()) {
    ip_mreqn mreq{};
    std::memcpy(&mreq.imr_multiaddr, group.bytes().data(), 4);
    if (o.source) std::memcpy(&mreq.imr_address, o.source->bytes().data(), 4);
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) != 0) {
      return Errno(absl::StrCat("cannot join", where));
    }
    if (o.source && setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq)) != 0) {
      return Errno(absl::StrCat("IP_MULTICAST_IF ", o.source->ToString(), where));
    }
    if (auto s = SetInt(fd, IPPROTO_IP, IP_MULTICAST_TTL, o.multicast_ttl,
                        absl::StrCat("IP_MULTICAST_TTL ", o.multicast_ttl, where));
        !s.ok()) {
      return s;
    }
    return SetInt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, o.multicast_loop ? 1 : 0,
                  absl::StrCat("IP_MULTICAST_LOOP", where));
  }
  unsigned ifindex = 0;  // none: the route's
  if (o.source) {
    absl::StatusOr<unsigned> i = InterfaceOf(*o.source);
    if (!i.ok()) return i.status();
    ifindex = *i;
  }
  ipv6_mreq mreq{};
  std::memcpy(&mreq.ipv6mr_multiaddr, group.bytes().data(), 16);
  mreq.ipv6mr_interface = ifindex;
  if (setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof(mreq)) != 0) {
    return Errno(absl::StrCat("cannot join", where));
  }
  if (ifindex != 0) {
    if (auto s = SetInt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, static_cast<int>(ifindex),
                        absl::StrCat("IPV6_MULTICAST_IF ", o.source->ToString(), where));
        !s.ok()) {
      return s;
    }
  }
  if (auto s = SetInt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, o.multicast_ttl,
                      absl::StrCat("IPV6_MULTICAST_HOPS ", o.multicast_ttl, where));
      !s.ok()) {
    return s;
  }
  return SetInt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, o.multicast_loop ? 1 : 0,
                absl::StrCat("IPV6_MULTICAST_LOOP", where));
}

}  // namespace

std::optional<model::IpAddress> SourceToward(const model::IpAddress& peer, uint16_t port) {
  sockaddr_storage ss;
  const socklen_t len = ToSockaddr(peer, port, ss);
  model::UniqueFd fd(socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0 || connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
    return std::nullopt;
  sockaddr_storage local{};
  socklen_t local_len = sizeof(local);
  if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &local_len) != 0)
    return std::nullopt;
  return FromSockaddr(local);
}

absl::StatusOr<std::unique_ptr<Transport>> Transport::Open(asio::io_context& io,
                                                           const TransportOptions& o) {
  if (o.peers.empty()) return absl::InvalidArgumentError("sync: no peers");
  if (o.port == 0) return absl::InvalidArgumentError("sync: port 0");
  const model::Family family = o.source ? o.source->family() : o.peers[0].family();
  const bool multicast = o.peers.size() == 1 && o.peers[0].is_multicast();
  for (const model::IpAddress& peer : o.peers) {
    if (peer.family() != family) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sync: peer ", peer.ToString(), " is not of the family of ",
          o.source ? "the source " + o.source->ToString() : "the first peer"));
    }
    if (peer.is_multicast() && !multicast) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sync: multicast group ", peer.ToString(), " among other peers (one group, or unicast)"));
    }
  }
  if (o.multicast_ttl < 1 || o.multicast_ttl > 255) {
    return absl::InvalidArgumentError(
        absl::StrCat("sync: multicast TTL ", o.multicast_ttl, " not within 1..255"));
  }

  const int af = family == model::Family::kV4 ? AF_INET : AF_INET6;
  model::UniqueFd fd(socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Errno(af == AF_INET ? "socket(AF_INET)" : "socket(AF_INET6)");
  if (af == AF_INET6) {
    if (auto s = SetInt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY"); !s.ok()) return s;
  }
  // FORCE passes net.core.rmem_max with CAP_NET_ADMIN; without it, what the sysctl allows.
  if (!SetInt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, kReceiveBufferBytes, "SO_RCVBUFFORCE").ok()) {
    if (auto s = SetInt(fd.get(), SOL_SOCKET, SO_RCVBUF, kReceiveBufferBytes, "SO_RCVBUF");
        !s.ok()) {
      return s;
    }
  }

  // Bound to the group when multicast (only its datagrams come in; Linux
  // then takes the source of what we send from the interface), else to the
  // source, else to any address.
  const uint32_t any[4] = {};
  const model::IpAddress bind_to = multicast ? o.peers[0]
                                   : o.source ? *o.source
                                              : model::IpAddress::FromWords(family, any);
  sockaddr_storage local{};
  const socklen_t local_len = ToSockaddr(bind_to, o.port, local);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&local), local_len) != 0) {
    const int err = errno;
    return absl::Status(
        err == EADDRINUSE ? absl::StatusCode::kAlreadyExists : absl::StatusCode::kInternal,
        absl::StrCat("sync: cannot bind ", model::FormatEndpoint(bind_to, o.port), ": ",
                     std::strerror(err)));
  }
  if (multicast) {
    if (absl::Status s = SetUpMulticast(fd.get(), o, o.peers[0]); !s.ok()) return s;
  }

  std::vector<sockaddr_storage> destinations(o.peers.size());
  socklen_t destination_len = 0;
  for (size_t i = 0; i < o.peers.size(); ++i) {
    destination_len = ToSockaddr(o.peers[i], o.peer_port != 0 ? o.peer_port : o.port,
                                 destinations[i]);
  }
  return std::unique_ptr<Transport>(
      new Transport(io, fd.release(), std::move(destinations), destination_len));
}

Transport::Transport(asio::io_context& io, int fd, std::vector<sockaddr_storage> destinations,
                     socklen_t destination_len)
    : socket_(io, fd),
      fd_(fd),
      destinations_(std::move(destinations)),
      destination_len_(destination_len) {}

Transport::~Transport() { *alive_ = false; }

void Transport::Send(absl::string_view datagram) {
  for (const sockaddr_storage& to : destinations_) {
    const ssize_t n = sendto(fd_, datagram.data(), datagram.size(),
                             MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&to),
                             destination_len_);
    if (n == static_cast<ssize_t>(datagram.size())) {
      ++counters_.datagrams_sent;
      continue;
    }
    ++counters_.send_failed;
    LOG_EVERY_N(WARNING, 1000) << "sync: send to " << FromSockaddr(to)->ToString() << " failed: "
                               << (n < 0 ? std::strerror(errno) : "short write") << " ("
                               << counters_.send_failed << " failures so far, logged every 1000th)";
  }
}

void Transport::Start(Handler handler) {
  CHECK(!handler_) << "Transport::Start called twice";
  handler_ = std::move(handler);
  buffers_.resize(kMaxDatagramsPerWakeup * kMaxDatagramLen);
  Wait();
}

void Transport::Wait() {
  socket_.async_wait(asio::posix::stream_descriptor::wait_read,
                     [this, alive = alive_](const asio::error_code& ec) {
                       if (ec || !*alive) return;
                       OnReadable();
                     });
}

void Transport::OnReadable() {
  std::array<mmsghdr, kMaxDatagramsPerWakeup> msgs{};
  std::array<iovec, kMaxDatagramsPerWakeup> iov{};
  std::array<sockaddr_storage, kMaxDatagramsPerWakeup> from{};
  for (size_t i = 0; i < kMaxDatagramsPerWakeup; ++i) {
    iov[i] = {buffers_.data() + i * kMaxDatagramLen, kMaxDatagramLen};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
  }
  int n;
  do {
    n = recvmmsg(fd_, msgs.data(), kMaxDatagramsPerWakeup, MSG_DONTWAIT,
                 nullptr);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
    ++counters_.receive_errors;
    LOG_EVERY_N(WARNING, 1000) << "sync: receive: " << std::strerror(errno);
  }
  // Handlers may destroy the Transport: keep the flag to tell.
  std::shared_ptr<bool> alive = alive_;
  for (int i = 0; i < n; ++i) {
    ++counters_.datagrams_received;
    if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ++counters_.truncated;
    std::optional<model::IpAddress> source = FromSockaddr(from[i]);
    if (!source) continue;
    handler_(*source, absl::string_view(static_cast<const char*>(iov[i].iov_base),
                                        std::min<size_t>(msgs[i].msg_len, kMaxDatagramLen)));
    if (!*alive) return;
  }
  Wait();
}

}  // namespace xlb::sync
