// xlb-lab-server: a tiny backend for the network-namespace lab tests.
//
//   xlb-lab-server --name NAME --port P [--port P2 ...] [--udp]
//
// TCP: on accept it writes "NAME\n", then echoes every byte until the peer
// closes. UDP (--udp): each datagram gets the reply "NAME <payload>", sent
// from the address the datagram was addressed to (the VIP on lo), so clients
// behind the load balancer see the answer come from the VIP.
// Prints "ready\n" once every socket listens; exits 0 on SIGTERM/SIGINT.

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "tests/lab/tools/tool_common.h"

namespace xlb::lab {
namespace {

using Clock = std::chrono::steady_clock;

// Stop reading from a peer once this much echo data is queued for it, so a
// peer that sends but never reads cannot make us buffer without bound.
constexpr size_t kMaxPendingOut = 256 * 1024;
// Work done per readiness event, so one busy socket cannot starve the rest.
constexpr int kMaxAcceptsPerEvent = 64;
constexpr int kMaxDatagramsPerEvent = 64;

constexpr char kProg[] = "xlb-lab-server";
const char kUsage[] =
    "usage: xlb-lab-server --name NAME --port P [--port P2 ...] [--udp]\n";

struct Options {
  std::string name;
  std::vector<uint16_t> ports;
  bool udp = false;
};

Options ParseArgs(int argc, char** argv) {
  if (argc < 2) ExitUsage(kUsage, false);
  Options o;
  for (Args args(kProg, argc, argv, 1); args.Next();) {
    const std::string& a = args.flag();
    if (a == "--name") {
      o.name = args.Value();
    } else if (a == "--port") {
      o.ports.push_back(ParsePort(kProg, a, args.Value()));
    } else if (a == "--udp") {
      o.udp = true;
    } else {
      args.Unrecognized(kUsage);
    }
  }
  if (o.name.empty()) UsageError(kProg, "--name is required");
  // The name travels as one line / one word; whitespace would break parsing.
  for (char c : o.name) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      UsageError(kProg, "bad --name '" + o.name + "': no whitespace allowed");
    }
  }
  if (o.ports.empty()) UsageError(kProg, "at least one --port is required");
  for (size_t i = 0; i < o.ports.size(); ++i) {
    for (size_t j = i + 1; j < o.ports.size(); ++j) {
      if (o.ports[i] == o.ports[j]) {
        UsageError(kProg,
                   "--port " + std::to_string(o.ports[i]) + " given twice");
      }
    }
  }
  return o;
}

enum class Kind { kSignal, kTcpListener, kUdp, kConn };

// Everything registered with epoll starts with a Handle; epoll's data.ptr
// points at it so one event tells us both what and which.
struct Handle {
  Kind kind;
  int fd = -1;
  int family = AF_INET6;
  uint16_t port = 0;
};

struct Conn : Handle {
  std::string out;  // bytes queued for the peer (name line, then echo)
  size_t out_off = 0;
  bool peer_eof = false;
  uint32_t events = 0;  // what is currently registered with epoll
  size_t Pending() const { return out.size() - out_off; }
};

class Server {
 public:
  explicit Server(Options opts) : opts_(std::move(opts)) {}

  int Run() {
    RaiseFdLimit();
    // SIGPIPE would kill us when a peer vanishes mid-write; use errors.
    signal(SIGPIPE, SIG_IGN);
    ep_ = NewEpoll(kProg);
    SetupSignals();
    for (uint16_t port : opts_.ports) {
      AddListener(port, SOCK_STREAM);
      if (opts_.udp) AddListener(port, SOCK_DGRAM);
    }
    std::fputs("ready\n", stdout);
    std::fflush(stdout);

    std::vector<epoll_event> evs(256);
    while (!stop_) {
      // The timeout only bounds the wait so paused accepts get re-armed.
      int n = WaitEvents(kProg, ep_, &evs, accept_paused_ ? 100 : 1000);
      if (accept_paused_ && Clock::now() >= accept_resume_) ResumeAccepts();
      for (int i = 0; i < n; ++i) {
        auto* h = static_cast<Handle*>(evs[i].data.ptr);
        switch (h->kind) {
          case Kind::kSignal:
            OnSignal();
            break;
          case Kind::kTcpListener:
            OnAccept(h);
            break;
          case Kind::kUdp:
            OnDatagrams(h);
            break;
          case Kind::kConn:
            OnConn(static_cast<Conn*>(h), evs[i].events);
            break;
        }
      }
    }
    std::fprintf(stderr, "xlb-lab-server %s: stopping, %zu open connections\n",
                 opts_.name.c_str(), conns_.size());
    for (auto& [fd, c] : conns_) close(fd);
    conns_.clear();
    for (auto& h : handles_) close(h->fd);
    close(ep_);
    return 0;
  }

 private:
  void SetupSignals() {
    auto h = std::make_unique<Handle>();
    h->kind = Kind::kSignal;
    h->fd = StopSignalFd(kProg);
    Register(h.get(), EPOLLIN);
    handles_.push_back(std::move(h));
  }

  void Register(Handle* h, uint32_t events) {
    if (EpollCtl(ep_, EPOLL_CTL_ADD, h->fd, events, {.ptr = h}) != 0) {
      Fatal(kProg, "epoll_ctl add");
    }
  }

  // Errors only mean the fd is already gone; nothing to do about them.
  void Modify(Handle* h, uint32_t events) {
    EpollCtl(ep_, EPOLL_CTL_MOD, h->fd, events, {.ptr = h});
  }

  void AddListener(uint16_t port, int type) {
    const char* proto = type == SOCK_STREAM ? "tcp" : "udp";
    std::string what = std::string(proto) + " port " + std::to_string(port);
    // One dual-stack socket serves both families. Fall back to IPv4 only if
    // the namespace has IPv6 disabled entirely.
    int family = AF_INET6;
    int fd = NonBlockingSocket(AF_INET6, type);
    if (fd < 0 && errno == EAFNOSUPPORT) {
      family = AF_INET;
      fd = NonBlockingSocket(AF_INET, type);
    }
    if (fd < 0) Fatal(kProg, "socket for " + what);
    int one = 1, zero = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
      Fatal(kProg, "SO_REUSEADDR on " + what);
    }
    if (family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) != 0) {
      Fatal(kProg, "IPV6_V6ONLY=0 on " + what);
    }
    const Endpoint any = family == AF_INET6
                             ? Endpoint6(in6addr_any, port)
                             : Endpoint4(in_addr{htonl(INADDR_ANY)}, port);
    if (type == SOCK_DGRAM) {
      // Learn each datagram's destination address so the reply can use it
      // as source. On the dual-stack socket IPV6_RECVPKTINFO also covers
      // IPv4 datagrams (reported as v4-mapped addresses).
      int rc = family == AF_INET6
                   ? setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
                                sizeof(one))
                   : setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
      if (rc != 0) Fatal(kProg, "PKTINFO on " + what);
    }
    if (bind(fd, any.sa(), any.len) != 0) Fatal(kProg, "bind " + what);
    if (type == SOCK_STREAM && listen(fd, 4096) != 0) {
      Fatal(kProg, "listen " + what);
    }
    auto h = std::make_unique<Handle>();
    h->kind = type == SOCK_STREAM ? Kind::kTcpListener : Kind::kUdp;
    h->fd = fd;
    h->family = family;
    h->port = port;
    Register(h.get(), EPOLLIN);
    handles_.push_back(std::move(h));
  }

  void OnSignal() {
    if (DrainSignalFd(handles_.front()->fd)) stop_ = true;
  }

  // Out of fds: stop polling the listeners for a moment instead of spinning
  // on a listen socket that stays readable.
  void PauseAccepts() {
    if (!accept_paused_) {
      std::fprintf(stderr, "xlb-lab-server %s: accept: %s; pausing 100ms\n",
                   opts_.name.c_str(), std::strerror(errno));
    }
    accept_paused_ = true;
    accept_resume_ = Clock::now() + std::chrono::milliseconds(100);
    SetListenerEvents(0);
  }

  void ResumeAccepts() {
    accept_paused_ = false;
    SetListenerEvents(EPOLLIN);
  }

  void SetListenerEvents(uint32_t events) {
    for (auto& h : handles_) {
      if (h->kind == Kind::kTcpListener) Modify(h.get(), events);
    }
  }

  void OnAccept(Handle* l) {
    for (int i = 0; i < kMaxAcceptsPerEvent; ++i) {
      int fd = accept4(l->fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) {
          continue;
        }
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
            errno == ENOMEM) {
          PauseAccepts();
          return;
        }
        std::fprintf(stderr, "xlb-lab-server %s: accept: %s\n",
                     opts_.name.c_str(), std::strerror(errno));
        return;
      }
      SetNoDelay(fd);
      auto c = std::make_unique<Conn>();
      c->kind = Kind::kConn;
      c->fd = fd;
      c->out = opts_.name + "\n";
      Conn* raw = c.get();
      conns_.emplace(fd, std::move(c));
      raw->events = EPOLLIN;
      Register(raw, raw->events);
      // Try the name line right away; usually it goes out without waiting.
      FlushOrClose(raw);
    }
  }

  // Sends what is queued, then closes the connection if it is dead or done
  // (peer finished sending and got everything back), else re-arms epoll.
  void FlushOrClose(Conn* c) {
    if (!FlushOut(c->fd, &c->out, &c->out_off) ||
        (c->peer_eof && c->Pending() == 0)) {
      CloseConn(c);
      return;
    }
    // Keep a slow reader's buffer from growing by what it already got.
    if (c->out_off > 64 * 1024) {
      c->out.erase(0, c->out_off);
      c->out_off = 0;
    }
    UpdateEvents(c);
  }

  void UpdateEvents(Conn* c) {
    uint32_t want = 0;
    if (!c->peer_eof && c->Pending() < kMaxPendingOut) want |= EPOLLIN;
    if (c->Pending() > 0) want |= EPOLLOUT;
    if (want == c->events) return;
    c->events = want;
    Modify(c, want);
  }

  void CloseConn(Conn* c) {
    int fd = c->fd;
    close(fd);  // also removes it from the epoll set
    conns_.erase(fd);
  }

  void OnConn(Conn* c, uint32_t events) {
    // EPOLLHUP/EPOLLERR are reported even when not requested; a read (or the
    // write below) turns them into EOF or an error we can act on.
    if (!c->peer_eof && c->Pending() < kMaxPendingOut &&
        (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
      int rc = ReadSome(c->fd, &c->out, c->out_off + kMaxPendingOut);
      if (rc < 0) {
        CloseConn(c);  // reset or other error: nothing left to echo to
        return;
      }
      if (rc == 0) c->peer_eof = true;
    }
    FlushOrClose(c);
  }

  void OnDatagrams(Handle* h) {
    for (int i = 0; i < kMaxDatagramsPerEvent; ++i) {
      char buf[65536];
      sockaddr_storage peer{};
      // Room for both pktinfo flavours, correctly aligned for cmsghdr.
      alignas(cmsghdr) char
          ctl[CMSG_SPACE(sizeof(in6_pktinfo)) + CMSG_SPACE(sizeof(in_pktinfo))];
      iovec iov{buf, sizeof(buf)};
      msghdr msg{};
      msg.msg_name = &peer;
      msg.msg_namelen = sizeof(peer);
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = ctl;
      msg.msg_controllen = sizeof(ctl);
      ssize_t n = recvmsg(h->fd, &msg, MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        // ICMP errors from earlier replies can surface here; not fatal.
        LogUdpError("recvmsg", h);
        continue;
      }
      bool have_v6 = false, have_v4 = false;
      in6_addr local6{};
      in_addr local4{};
      for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
          in6_pktinfo pi;
          std::memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
          local6 = pi.ipi6_addr;
          have_v6 = true;
        } else if (cm->cmsg_level == IPPROTO_IP &&
                   cm->cmsg_type == IP_PKTINFO) {
          in_pktinfo pi;
          std::memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
          local4 = pi.ipi_addr;  // the header's destination address
          have_v4 = true;
        }
      }
      std::string reply = opts_.name + " ";
      reply.append(buf, static_cast<size_t>(n));

      alignas(cmsghdr) char sctl[CMSG_SPACE(sizeof(in6_pktinfo))] = {};
      iovec siov{reply.data(), reply.size()};
      msghdr smsg{};
      smsg.msg_name = &peer;
      smsg.msg_namelen = msg.msg_namelen;
      smsg.msg_iov = &siov;
      smsg.msg_iovlen = 1;
      // Only the source address is pinned; the interface index stays 0 so
      // the reply is routed normally (the datagram may have arrived on a
      // tunnel device that is the wrong way back to the client).
      if (h->family == AF_INET6 && (have_v6 || have_v4)) {
        if (!have_v6) {  // v4 info on a v6 socket: express it v4-mapped
          local6 = in6_addr{};
          local6.s6_addr[10] = 0xff;
          local6.s6_addr[11] = 0xff;
          std::memcpy(&local6.s6_addr[12], &local4, 4);
        }
        in6_pktinfo pi{};
        pi.ipi6_addr = local6;
        SetControl(&smsg, sctl, IPPROTO_IPV6, IPV6_PKTINFO, pi);
      } else if (h->family == AF_INET && have_v4) {
        in_pktinfo pi{};
        pi.ipi_spec_dst = local4;
        SetControl(&smsg, sctl, IPPROTO_IP, IP_PKTINFO, pi);
      }
      // A full send buffer just drops the reply: UDP is lossy anyway and
      // the client counts it as a timeout.
      if (sendmsg(h->fd, &smsg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        LogUdpError("sendmsg", h);
      }
    }
  }

  // Makes `data` the one control message of `msg`, stored in `buf`.
  template <typename T>
  static void SetControl(msghdr* msg, char* buf, int level, int type,
                         const T& data) {
    msg->msg_control = buf;
    msg->msg_controllen = CMSG_SPACE(sizeof(T));
    cmsghdr* cm = CMSG_FIRSTHDR(msg);
    cm->cmsg_level = level;
    cm->cmsg_type = type;
    cm->cmsg_len = CMSG_LEN(sizeof(T));
    std::memcpy(CMSG_DATA(cm), &data, sizeof(T));
  }

  void LogUdpError(const char* op, const Handle* h) {
    // Keep stderr readable if something goes wrong for every datagram.
    if (udp_errors_++ < 10) {
      std::fprintf(stderr, "xlb-lab-server %s: udp port %u %s: %s\n",
                   opts_.name.c_str(), h->port, op, std::strerror(errno));
    }
  }

  Options opts_;
  int ep_ = -1;
  bool stop_ = false;
  bool accept_paused_ = false;
  Clock::time_point accept_resume_{};
  uint64_t udp_errors_ = 0;
  std::vector<std::unique_ptr<Handle>> handles_;  // [0] is the signalfd
  std::unordered_map<int, std::unique_ptr<Conn>> conns_;
};

}  // namespace
}  // namespace xlb::lab

int main(int argc, char** argv) {
  xlb::lab::Server server(xlb::lab::ParseArgs(argc, argv));
  return server.Run();
}
