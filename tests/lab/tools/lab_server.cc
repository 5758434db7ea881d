// xlb-lab-server: a tiny backend for the network-namespace lab tests.
//
//   xlb-lab-server --name NAME --port P [--port P2 ...] [--udp]
//
// TCP: on accept it writes "NAME\n", then echoes every byte until the peer
// closes. UDP (--udp): each datagram gets the reply "NAME <payload>", sent
// from the address the datagram was addressed to (the VIP on lo), so clients
// behind the load balancer see the answer come from the VIP.
// Prints "ready\n" once every socket listens; exits 0 on SIGTERM/SIGINT.

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// Stop reading from a peer once this much echo data is queued for it, so a
// peer that sends but never reads cannot make us buffer without bound.
constexpr size_t kMaxPendingOut = 256 * 1024;
// Work done per readiness event, so one busy socket cannot starve the rest.
constexpr int kMaxAcceptsPerEvent = 64;
constexpr int kMaxDatagramsPerEvent = 64;
constexpr int kMaxReadsPerEvent = 16;

const char kUsage[] =
    "usage: xlb-lab-server --name NAME --port P [--port P2 ...] [--udp]\n";

// One line per error so test logs stay readable; usage only when asked for.
[[noreturn]] void UsageError(const std::string& msg) {
  std::fprintf(stderr, "xlb-lab-server: %s\n", msg.c_str());
  std::exit(2);
}

[[noreturn]] void Fatal(const std::string& what) {
  std::fprintf(stderr, "xlb-lab-server: %s: %s\n", what.c_str(),
               std::strerror(errno));
  std::exit(1);
}

struct Options {
  std::string name;
  std::vector<uint16_t> ports;
  bool udp = false;
};

uint16_t ParsePort(const std::string& s) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535) {
    UsageError("bad --port '" + s + "': want 1..65535");
  }
  return static_cast<uint16_t>(v);
}

Options ParseArgs(int argc, char** argv) {
  // Accept both "--flag value" and "--flag=value".
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    size_t eq = a.find('=');
    if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
      args.push_back(a.substr(0, eq));
      args.push_back(a.substr(eq + 1));
    } else {
      args.push_back(a);
    }
  }
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    std::exit(2);
  }
  Options o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) UsageError(a + " needs a value");
      return args[++i];
    };
    if (a == "--name") {
      o.name = value();
    } else if (a == "--port") {
      o.ports.push_back(ParsePort(value()));
    } else if (a == "--udp") {
      o.udp = true;
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else {
      UsageError("unknown argument '" + a + "'");
    }
  }
  if (o.name.empty()) UsageError("--name is required");
  // The name travels as one line / one word; whitespace would break parsing.
  for (char c : o.name) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      UsageError("bad --name '" + o.name + "': no whitespace allowed");
    }
  }
  if (o.ports.empty()) UsageError("at least one --port is required");
  for (size_t i = 0; i < o.ports.size(); ++i) {
    for (size_t j = i + 1; j < o.ports.size(); ++j) {
      if (o.ports[i] == o.ports[j]) {
        UsageError("--port " + std::to_string(o.ports[i]) + " given twice");
      }
    }
  }
  return o;
}

// Several hundred concurrent connections need more than the usual soft limit.
void RaiseFdLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
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
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) Fatal("epoll_create1");
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
      int n = epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()),
                         accept_paused_ ? 100 : 1000);
      if (n < 0) {
        if (errno == EINTR) continue;
        Fatal("epoll_wait");
      }
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
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    // Blocked + signalfd: the signal becomes an ordinary epoll event, so the
    // loop never gets interrupted half-way through a connection update.
    if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) Fatal("sigprocmask");
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) Fatal("signalfd");
    auto h = std::make_unique<Handle>();
    h->kind = Kind::kSignal;
    h->fd = fd;
    Register(h.get(), EPOLLIN);
    handles_.push_back(std::move(h));
  }

  void Register(Handle* h, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = h;
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, h->fd, &ev) != 0) Fatal("epoll_ctl add");
  }

  void AddListener(uint16_t port, int type) {
    const char* proto = type == SOCK_STREAM ? "tcp" : "udp";
    std::string what = std::string(proto) + " port " + std::to_string(port);
    // One dual-stack socket serves both families. Fall back to IPv4 only if
    // the namespace has IPv6 disabled entirely.
    int family = AF_INET6;
    int fd = socket(AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 && errno == EAFNOSUPPORT) {
      family = AF_INET;
      fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    }
    if (fd < 0) Fatal("socket for " + what);
    int one = 1, zero = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
      Fatal("SO_REUSEADDR on " + what);
    }
    sockaddr_storage ss{};
    socklen_t len;
    if (family == AF_INET6) {
      if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) != 0) {
        Fatal("IPV6_V6ONLY=0 on " + what);
      }
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_addr = in6addr_any;
      a->sin6_port = htons(port);
      len = sizeof(*a);
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_addr.s_addr = htonl(INADDR_ANY);
      a->sin_port = htons(port);
      len = sizeof(*a);
    }
    if (type == SOCK_DGRAM) {
      // Learn each datagram's destination address so the reply can use it
      // as source. On the dual-stack socket IPV6_RECVPKTINFO also covers
      // IPv4 datagrams (reported as v4-mapped addresses).
      int rc = family == AF_INET6
                   ? setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
                                sizeof(one))
                   : setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
      if (rc != 0) Fatal("PKTINFO on " + what);
    }
    if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      Fatal("bind " + what);
    }
    if (type == SOCK_STREAM && listen(fd, 4096) != 0) Fatal("listen " + what);
    auto h = std::make_unique<Handle>();
    h->kind = type == SOCK_STREAM ? Kind::kTcpListener : Kind::kUdp;
    h->fd = fd;
    h->family = family;
    h->port = port;
    Register(h.get(), EPOLLIN);
    handles_.push_back(std::move(h));
  }

  void OnSignal() {
    signalfd_siginfo si;
    while (read(handles_.front()->fd, &si, sizeof(si)) == sizeof(si)) {
      stop_ = true;
    }
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
    for (auto& h : handles_) {
      if (h->kind != Kind::kTcpListener) continue;
      epoll_event ev{};
      ev.data.ptr = h.get();
      epoll_ctl(ep_, EPOLL_CTL_MOD, h->fd, &ev);
    }
  }

  void ResumeAccepts() {
    accept_paused_ = false;
    for (auto& h : handles_) {
      if (h->kind != Kind::kTcpListener) continue;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.ptr = h.get();
      epoll_ctl(ep_, EPOLL_CTL_MOD, h->fd, &ev);
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
      // Lines are tiny and latency is what the tests measure.
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      auto c = std::make_unique<Conn>();
      c->kind = Kind::kConn;
      c->fd = fd;
      c->out = opts_.name + "\n";
      Conn* raw = c.get();
      conns_.emplace(fd, std::move(c));
      raw->events = EPOLLIN;
      Register(raw, raw->events);
      // Try the name line right away; usually it goes out without waiting.
      if (!Flush(raw)) {
        CloseConn(raw);
        continue;
      }
      UpdateEvents(raw);
    }
  }

  // Returns false if the connection is dead.
  bool Flush(Conn* c) {
    while (c->Pending() > 0) {
      ssize_t n = send(c->fd, c->out.data() + c->out_off, c->Pending(),
                       MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return false;
      }
      c->out_off += static_cast<size_t>(n);
    }
    if (c->out_off == c->out.size()) {
      c->out.clear();
      c->out_off = 0;
    } else if (c->out_off > 64 * 1024) {
      c->out.erase(0, c->out_off);
      c->out_off = 0;
    }
    return true;
  }

  void UpdateEvents(Conn* c) {
    uint32_t want = 0;
    if (!c->peer_eof && c->Pending() < kMaxPendingOut) want |= EPOLLIN;
    if (c->Pending() > 0) want |= EPOLLOUT;
    if (want == c->events) return;
    c->events = want;
    epoll_event ev{};
    ev.events = want;
    ev.data.ptr = c;
    epoll_ctl(ep_, EPOLL_CTL_MOD, c->fd, &ev);
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
      char buf[16384];
      for (int i = 0; i < kMaxReadsPerEvent && c->Pending() < kMaxPendingOut;
           ++i) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n < 0) {
          if (errno == EINTR) continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK) break;
          CloseConn(c);  // reset or other error: nothing left to echo to
          return;
        }
        if (n == 0) {
          c->peer_eof = true;
          break;
        }
        c->out.append(buf, static_cast<size_t>(n));
      }
    }
    if (!Flush(c)) {
      CloseConn(c);
      return;
    }
    // Peer is done sending and got everything back: close our side.
    if (c->peer_eof && c->Pending() == 0) {
      CloseConn(c);
      return;
    }
    UpdateEvents(c);
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
        smsg.msg_control = sctl;
        smsg.msg_controllen = CMSG_SPACE(sizeof(in6_pktinfo));
        cmsghdr* cm = CMSG_FIRSTHDR(&smsg);
        cm->cmsg_level = IPPROTO_IPV6;
        cm->cmsg_type = IPV6_PKTINFO;
        cm->cmsg_len = CMSG_LEN(sizeof(in6_pktinfo));
        in6_pktinfo pi{};
        pi.ipi6_addr = local6;
        std::memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
      } else if (h->family == AF_INET && have_v4) {
        smsg.msg_control = sctl;
        smsg.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
        cmsghdr* cm = CMSG_FIRSTHDR(&smsg);
        cm->cmsg_level = IPPROTO_IP;
        cm->cmsg_type = IP_PKTINFO;
        cm->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
        in_pktinfo pi{};
        pi.ipi_spec_dst = local4;
        std::memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
      }
      // A full send buffer just drops the reply: UDP is lossy anyway and
      // the client counts it as a timeout.
      if (sendmsg(h->fd, &smsg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        LogUdpError("sendmsg", h);
      }
    }
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

int main(int argc, char** argv) {
  Server server(ParseArgs(argc, argv));
  return server.Run();
}
