#include "controlplane/vrrp/io.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace xlb::vrrp {
namespace {

using model::Family;
using model::IpAddress;

constexpr size_t kMaxPacket = 8192;  // 20 + 8 + 255 * 16 fits

absl::Status Errno(int err, const std::string& where, absl::string_view what) {
  return absl::ErrnoToStatus(err, absl::StrCat(where, ": ", what));
}

// The largest datagram that can be an advert: 255 addresses, with (IPv4)
// the longest IP header and VRRPv2's authentication data.
constexpr size_t kMaxAdvertIpv4 = 60 + kHeaderLen + 255 * 4 + kAuthDataLen;
constexpr size_t kMaxAdvertIpv6Payload = kHeaderLen + 255 * 16;
static_assert(kMaxAdvertIpv4 <= kMaxPacket && kMaxAdvertIpv6Payload <= kMaxPacket);

// A classic BPF socket filter that lets through only what may be an advert:
// TTL (hop limit) 255 (RFC 5798 5.1.1.3: nothing from off-link) and no
// longer than the largest advert. The rest (a flood of big or off-link
// datagrams from anywhere) is dropped by the kernel before it is queued, so
// it costs the speaker no wake-up, no read and no receive-buffer space that
// adverts need. SKF_NET_OFF reaches the IP header for both families (an
// IPv6 raw socket's data starts after it). A reassembled datagram carries
// its whole length in the header, so one that was fragmented is caught by
// its length (the XDP program drops fragments before that).
absl::Status AttachAdvertFilter(int fd, bool v4, const std::string& where) {
  const uint32_t ttl_at = v4 ? 8 : 7;           // iphdr.ttl / ipv6hdr.hop_limit
  const uint32_t length_at = v4 ? 2 : 4;        // tot_len / payload_len
  const uint32_t max_length = v4 ? kMaxAdvertIpv4 : kMaxAdvertIpv6Payload;
  sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, static_cast<uint32_t>(SKF_NET_OFF) + ttl_at),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kVrrpTtl, 0, 3),
      BPF_STMT(BPF_LD | BPF_H | BPF_ABS, static_cast<uint32_t>(SKF_NET_OFF) + length_at),
      BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, max_length, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, 0x40000),  // the whole datagram
      BPF_STMT(BPF_RET | BPF_K, 0),        // dropped
  };
  sock_fprog prog = {static_cast<unsigned short>(sizeof(code) / sizeof(code[0])), code};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0)
    return Errno(errno, where, "SO_ATTACH_FILTER");
  return absl::OkStatus();
}

IpAddress FromBytes(Family family, const void* bytes) {
  uint32_t words[4] = {};
  std::memcpy(words, bytes, family == Family::kV4 ? 4 : 16);
  return IpAddress::FromWords(family, words);
}

absl::Status SetInt(int fd, int level, int name, int value, const std::string& where,
                    absl::string_view what) {
  if (setsockopt(fd, level, name, &value, sizeof(value)) != 0) return Errno(errno, where, what);
  return absl::OkStatus();
}

}  // namespace

IpAddress VrrpMulticastGroup(Family family) {
  return *IpAddress::Parse(family == Family::kV4 ? "224.0.0.18" : "ff02::12");
}

absl::StatusOr<std::unique_ptr<Channel>> Channel::Open(asio::io_context& io,
                                                       const ChannelOptions& options) {
  const bool v4 = options.family == Family::kV4;
  const std::string where =
      absl::StrCat("VRRP ", v4 ? "IPv4" : "IPv6", " socket on ", options.ifname);
  if (options.ifname.empty() || options.ifname.size() >= IF_NAMESIZE)
    return absl::InvalidArgumentError(absl::StrCat(where, ": bad interface name"));
  if (options.source && options.source->family() != options.family)
    return absl::InvalidArgumentError(absl::StrCat(where, ": source ", options.source->ToString(),
                                                   " is of the wrong family"));
  const int ifindex = static_cast<int>(if_nametoindex(options.ifname.c_str()));
  if (ifindex == 0) return Errno(errno, where, "no such interface");

  const int fd = socket(v4 ? AF_INET : AF_INET6, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
                        kIpProtoVrrp);
  if (fd < 0) return Errno(errno, where, "socket");
  // From here the Channel owns fd, so every early return closes it.
  std::unique_ptr<Channel> channel(new Channel(io, options, ifindex, fd));
  if (auto st = AttachAdvertFilter(fd, v4, where); !st.ok()) return st;

  if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, options.ifname.c_str(),
                 options.ifname.size()) != 0)
    return Errno(errno, where, "SO_BINDTODEVICE");
  if (v4) {
    if (auto st = SetInt(fd, IPPROTO_IP, IP_HDRINCL, 1, where, "IP_HDRINCL"); !st.ok()) return st;
    ip_mreqn mreq = {};
    mreq.imr_ifindex = ifindex;
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq)) != 0)
      return Errno(errno, where, "IP_MULTICAST_IF");
    if (auto st = SetInt(fd, IPPROTO_IP, IP_MULTICAST_TTL, kVrrpTtl, where, "IP_MULTICAST_TTL");
        !st.ok())
      return st;
    if (auto st = SetInt(fd, IPPROTO_IP, IP_TTL, kVrrpTtl, where, "IP_TTL"); !st.ok()) return st;
    if (auto st = SetInt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 0, where, "IP_MULTICAST_LOOP");
        !st.ok())
      return st;
    if (options.join_multicast) {
      const std::string group = VrrpMulticastGroup(Family::kV4).bytes();
      std::memcpy(&mreq.imr_multiaddr, group.data(), 4);
      if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) != 0)
        return Errno(errno, where, "join 224.0.0.18");
    }
  } else {
    // IPV6_CHECKSUM is off by default for raw sockets other than ICMPv6;
    // leave it so: the codec's checksum goes out as it is.
    if (auto st = SetInt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex, where, "IPV6_MULTICAST_IF");
        !st.ok())
      return st;
    if (auto st = SetInt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, kVrrpTtl, where,
                         "IPV6_MULTICAST_HOPS");
        !st.ok())
      return st;
    if (auto st =
            SetInt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, kVrrpTtl, where, "IPV6_UNICAST_HOPS");
        !st.ok())
      return st;
    if (auto st = SetInt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0, where, "IPV6_MULTICAST_LOOP");
        !st.ok())
      return st;
    if (auto st = SetInt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, where, "IPV6_RECVHOPLIMIT");
        !st.ok())
      return st;
    if (auto st = SetInt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, where, "IPV6_RECVPKTINFO");
        !st.ok())
      return st;
    if (options.join_multicast) {
      ipv6_mreq mreq = {};
      const std::string group = VrrpMulticastGroup(Family::kV6).bytes();
      std::memcpy(&mreq.ipv6mr_multiaddr, group.data(), 16);
      mreq.ipv6mr_interface = ifindex;
      if (setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) != 0)
        return Errno(errno, where, "join ff02::12");
    }
  }
  return channel;
}

Channel::Channel(asio::io_context& io, ChannelOptions options, int ifindex, int fd)
    : options_(std::move(options)), ifindex_(ifindex), descriptor_(io, fd) {}

Channel::~Channel() { Close(); }

void Channel::Close() {
  if (!descriptor_.is_open()) return;
  asio::error_code ignored;
  descriptor_.cancel(ignored);
  descriptor_.close(ignored);  // closing drops the group memberships
}

std::string Channel::Where() const {
  return absl::StrCat("VRRP ", options_.family == Family::kV4 ? "IPv4" : "IPv6", " socket on ",
                      options_.ifname);
}

absl::Status Channel::Send(absl::string_view data, const IpAddress& dst) {
  if (!descriptor_.is_open()) return absl::FailedPreconditionError(Where() + ": closed");
  if (dst.family() != options_.family)
    return absl::InvalidArgumentError(
        absl::StrCat(Where(), ": destination ", dst.ToString(), " is of the wrong family"));
  const int fd = descriptor_.native_handle();
  const std::string dst_bytes = dst.bytes();
  iovec iov = {const_cast<char*>(data.data()), data.size()};
  msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  sockaddr_in sin = {};
  sockaddr_in6 sin6 = {};
  if (options_.family == Family::kV4) {
    if (data.size() < kIpv4HeaderLen)
      return absl::InvalidArgumentError(absl::StrCat(Where(), ": not an IPv4 packet"));
    sin.sin_family = AF_INET;
    std::memcpy(&sin.sin_addr, dst_bytes.data(), 4);
    msg.msg_name = &sin;
    msg.msg_namelen = sizeof(sin);
  } else {
    sin6.sin6_family = AF_INET6;
    std::memcpy(&sin6.sin6_addr, dst_bytes.data(), 16);
    sin6.sin6_scope_id = ifindex_;  // for link-local / ff02:: destinations
  }
  const ssize_t n = options_.family == Family::kV4
                        ? sendmsg(fd, &msg, 0)
                        : SendIpv6(fd, data, sin6, ifindex_, options_.source);
  if (n < 0) return Errno(errno, Where(), absl::StrCat("send to ", dst.ToString()));
  if (static_cast<size_t>(n) != data.size())
    return absl::InternalError(absl::StrCat(Where(), ": short send to ", dst.ToString()));
  return absl::OkStatus();
}

absl::StatusOr<Received> Channel::ReadOne() {
  const int fd = descriptor_.native_handle();
  Received r;
  r.ifindex = ifindex_;
  r.data.resize(kMaxPacket);
  iovec iov = {r.data.data(), r.data.size()};
  sockaddr_storage from = {};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(int))] = {};
  msghdr msg = {};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof(from);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  const ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return absl::UnavailableError(absl::StrCat(Where(), ": nothing to read"));
    return Errno(errno, Where(), "receive");
  }
  // Longer than any advert (the socket filter lets none through; this is
  // the second line): handed on, marked, to be counted as a drop.
  r.truncated = msg.msg_flags & MSG_TRUNC;
  r.data.resize(std::min(static_cast<size_t>(n), r.data.size()));
  if (options_.family == Family::kV4) {
    // The raw socket hands over the header as it was on the wire.
    if (r.data.size() >= kIpv4HeaderLen) {
      const auto* p = reinterpret_cast<const uint8_t*>(r.data.data());
      r.ip.ttl = p[8];
      r.ip.src = FromBytes(Family::kV4, p + 12);
      r.ip.dst = FromBytes(Family::kV4, p + 16);
    } else if (from.ss_family == AF_INET) {
      r.ip.src = FromBytes(Family::kV4, &reinterpret_cast<const sockaddr_in*>(&from)->sin_addr);
    }
    return r;
  }
  r.ip.src = FromBytes(Family::kV6, &reinterpret_cast<const sockaddr_in6*>(&from)->sin6_addr);
  r.ip.dst = IpAddress::FromWords(Family::kV6, std::array<uint32_t, 4>{}.data());
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != IPPROTO_IPV6) continue;
    if (c->cmsg_type == IPV6_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof(in6_pktinfo))) {
      in6_pktinfo info;
      std::memcpy(&info, CMSG_DATA(c), sizeof(info));
      r.ip.dst = FromBytes(Family::kV6, &info.ipi6_addr);
      if (info.ipi6_ifindex != 0) r.ifindex = static_cast<int>(info.ipi6_ifindex);
    } else if (c->cmsg_type == IPV6_HOPLIMIT && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int hops;
      std::memcpy(&hops, CMSG_DATA(c), sizeof(hops));
      r.ip.ttl = static_cast<uint8_t>(hops);
    }
  }
  return r;
}

void Channel::AsyncReceive(ReceiveHandler handler) {
  if (!descriptor_.is_open()) {
    handler(absl::FailedPreconditionError(Where() + ": closed"));
    return;
  }
  // The Channel may be closed or gone when the handler runs (even after a
  // wait that completed: its handler may be queued when Close() comes), so
  // the handler touches `this` only while `alive` says it exists and open.
  descriptor_.async_wait(
      asio::posix::descriptor_base::wait_read,
      [this, alive = std::weak_ptr<int>(alive_), where = Where(),
       handler = std::move(handler)](const asio::error_code& ec) mutable {
        if (ec == asio::error::operation_aborted || alive.expired() || !descriptor_.is_open()) {
          handler(absl::CancelledError(where + ": closed"));
          return;
        }
        if (ec) {
          handler(absl::UnknownError(absl::StrCat(where, ": wait: ", ec.message())));
          return;
        }
        auto r = ReadOne();
        if (!r.ok() && absl::IsUnavailable(r.status())) {  // spurious wake-up
          AsyncReceive(std::move(handler));
          return;
        }
        handler(std::move(r));
      });
}

ssize_t SendIpv6(int fd, absl::string_view data, const sockaddr_in6& to, uint32_t ifindex,
                 const std::optional<model::IpAddress>& source) {
  iovec iov = {const_cast<char*>(data.data()), data.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
  msghdr msg = {};
  msg.msg_name = const_cast<sockaddr_in6*>(&to);
  msg.msg_namelen = sizeof(to);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = IPPROTO_IPV6;
  cmsg->cmsg_type = IPV6_PKTINFO;
  cmsg->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
  in6_pktinfo info = {};
  info.ipi6_ifindex = ifindex;
  if (source) {
    const std::string src = source->bytes();
    std::memcpy(&info.ipi6_addr, src.data(), 16);
  }
  std::memcpy(CMSG_DATA(cmsg), &info, sizeof(info));
  return sendmsg(fd, &msg, 0);
}

}  // namespace xlb::vrrp
