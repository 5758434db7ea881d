// xlb-lab-server: a tiny backend for the network-namespace lab tests.
//
//   xlb-lab-server --name NAME --port P [--port P2 ...] [--udp]
//                  [--patroni-port P --role-file FILE]
//
// TCP: on accept it writes "NAME\n", then echoes every byte until the peer
// closes. UDP (--udp): each datagram gets the reply "NAME <payload>", sent
// from the address the datagram was addressed to (the VIP on lo), so clients
// behind the load balancer see the answer come from the VIP.
// Patroni (--patroni-port, --role-file): plays a Patroni node's REST API
// for health checks. Each HTTP/1.0 or 1.1 request reads FILE (trimmed; a
// missing or empty file means "none") and gets one answer, then the
// connection closes: GET /primary (/master, /leader) is 200 if the role is
// "primary", else 503; GET /replica 200 if it is "replica", else 503;
// GET /health 200; anything else 404 (HEAD: as GET, without the body). The
// body is {"role": "ROLE"}. Role "down" plays a dead node: every request
// gets the connection closed without an answer.
// Prints "ready\n" once every socket listens; exits 0 on SIGTERM/SIGINT.

#include <errno.h>
#include <fcntl.h>
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
#include <string_view>
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
// An HTTP request head longer than this gets 431 and the connection closed.
constexpr size_t kMaxRequestHead = 8 * 1024;
// After answering, what the peer still sends is read and dropped (so the
// close does not reset the answer away) up to this much, then we just close.
constexpr size_t kMaxDrain = 64 * 1024;
// Only the start of the role file matters; a role is one short word.
constexpr size_t kMaxRoleFile = 4096;

constexpr char kProg[] = "xlb-lab-server";
const char kUsage[] =
    "usage: xlb-lab-server --name NAME --port P [--port P2 ...] [--udp]\n"
    "                      [--patroni-port P --role-file FILE]\n";

struct Options {
  std::string name;
  std::vector<uint16_t> ports;
  bool udp = false;
  uint16_t patroni_port = 0;  // 0: no Patroni REST API
  std::string role_file;
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
    } else if (a == "--patroni-port") {
      if (o.patroni_port != 0) UsageError(kProg, a + " given twice");
      o.patroni_port = ParsePort(kProg, a, args.Value());
    } else if (a == "--role-file") {
      if (!o.role_file.empty()) UsageError(kProg, a + " given twice");
      o.role_file = args.Value();
      if (o.role_file.empty()) UsageError(kProg, a + " needs a value");
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
  if (o.patroni_port != 0 && o.role_file.empty()) {
    UsageError(kProg, "--patroni-port needs --role-file");
  }
  if (o.patroni_port == 0 && !o.role_file.empty()) {
    UsageError(kProg, "--role-file needs --patroni-port");
  }
  for (uint16_t port : o.ports) {
    if (port == o.patroni_port) {
      UsageError(kProg, "--patroni-port " + std::to_string(port) +
                            " is also a --port");
    }
  }
  return o;
}

enum class Kind { kSignal, kTcpListener, kPatroniListener, kUdp, kConn };

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
  // Patroni REST API connections: one request, one answer, then close.
  bool http = false;
  std::string in;         // the request head read so far
  bool answered = false;  // the answer is queued; reading only to drain
  size_t drained = 0;     // bytes dropped since the answer went out
};

// The Patroni role: the file's content without surrounding whitespace,
// "none" if it is missing, unreadable or empty. Read per request, so a test
// changes a node's role by rewriting the file.
std::string ReadRole(const std::string& path) {
  std::string role;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[kMaxRoleFile];
    size_t got = 0;
    while (got < sizeof(buf)) {
      ssize_t n = read(fd, buf + got, sizeof(buf) - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    close(fd);
    role.assign(buf, got);
  }
  const char* ws = " \t\r\n\v\f";
  size_t b = role.find_first_not_of(ws);
  if (b == std::string::npos) return "none";
  return role.substr(b, role.find_last_not_of(ws) + 1 - b);
}

// `s` as the inside of a JSON string.
std::string JsonEscape(std::string_view s) {
  std::string r;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      r += '\\';
      r += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char esc[8];
      std::snprintf(esc, sizeof(esc), "\\u%04x", c);
      r += esc;
    } else {
      r += static_cast<char>(c);
    }
  }
  return r;
}

// Where the request head ends (just past its blank line), npos if it has
// not ended yet. Bare "\n" line ends are accepted, as from printf | nc.
size_t HeadEnd(std::string_view in) {
  for (size_t i = in.find('\n'); i != std::string_view::npos;
       i = in.find('\n', i + 1)) {
    if (i + 1 < in.size() && in[i + 1] == '\n') return i + 2;
    if (i + 2 < in.size() && in[i + 1] == '\r' && in[i + 2] == '\n') {
      return i + 3;
    }
  }
  return std::string_view::npos;
}

// The HTTP status Patroni would answer `request_line` with, given `role`,
// and the HTTP version to answer in.
int PatroniStatus(std::string_view request_line, const std::string& role,
                  std::string_view* version) {
  if (!request_line.empty() && request_line.back() == '\r') {
    request_line.remove_suffix(1);
  }
  size_t sp1 = request_line.find(' ');
  size_t sp2 = request_line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return 400;
  std::string_view method = request_line.substr(0, sp1);
  std::string_view target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view ver = request_line.substr(sp2 + 1);
  if (ver != "HTTP/1.0" && ver != "HTTP/1.1") return 400;
  *version = ver;
  if (target.empty() || target.find(' ') != std::string_view::npos) {
    return 400;
  }
  target = target.substr(0, target.find('?'));  // e.g. /replica?lag=1MB
  if (method != "GET" && method != "HEAD") return 404;
  if (target == "/primary" || target == "/master" || target == "/leader") {
    return role == "primary" ? 200 : 503;
  }
  if (target == "/replica") return role == "replica" ? 200 : 503;
  if (target == "/health") return 200;  // "down" never gets this far
  return 404;
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 431:
      return "Request Header Fields Too Large";
    default:
      return "Service Unavailable";
  }
}

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
    if (opts_.patroni_port != 0) {
      AddListener(opts_.patroni_port, SOCK_STREAM, Kind::kPatroniListener);
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
          case Kind::kPatroniListener:
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

  void AddListener(uint16_t port, int type, Kind kind = Kind::kTcpListener) {
    const char* proto = kind == Kind::kPatroniListener ? "patroni"
                        : type == SOCK_STREAM          ? "tcp"
                                                       : "udp";
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
    h->kind = type == SOCK_STREAM ? kind : Kind::kUdp;
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
      if (h->kind == Kind::kTcpListener || h->kind == Kind::kPatroniListener) {
        Modify(h.get(), events);
      }
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
      c->http = l->kind == Kind::kPatroniListener;
      if (!c->http) c->out = opts_.name + "\n";
      Conn* raw = c.get();
      conns_.emplace(fd, std::move(c));
      raw->events = EPOLLIN;
      Register(raw, raw->events);
      if (raw->http) continue;  // nothing to say until asked
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
    if (c->http) {
      OnHttp(c, events);
      return;
    }
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

  // Patroni REST API: read the request head, answer once, close.
  void OnHttp(Conn* c, uint32_t events) {
    if (c->answered) {
      if (c->Pending() > 0) {  // the answer is still going out
        FlushHttp(c);
        return;
      }
      // Drop whatever the peer still sends until it closes too.
      if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        std::string junk;
        int rc = ReadSome(c->fd, &junk, kMaxDrain);
        c->drained += junk.size();
        if (rc <= 0 || c->drained >= kMaxDrain) CloseConn(c);
      }
      return;
    }
    int rc = ReadSome(c->fd, &c->in, kMaxRequestHead + 1);
    if (rc < 0) {
      CloseConn(c);
      return;
    }
    size_t end = HeadEnd(c->in);
    bool too_long = end == std::string::npos ? c->in.size() > kMaxRequestHead
                                             : end > kMaxRequestHead;
    if (end == std::string::npos && !too_long) {
      // The peer stopped sending: answer a lone request line, as sent by
      // `echo "GET /health HTTP/1.0" | nc`; close on anything less.
      if (rc == 0 && c->in.find('\n') != std::string::npos) {
        end = c->in.size();
      } else {
        if (rc == 0) CloseConn(c);
        return;
      }
    }
    const std::string role = ReadRole(opts_.role_file);
    if (role == "down") {  // a dead node: no answer at all
      CloseConn(c);
      return;
    }
    std::string_view version = "HTTP/1.1";
    std::string_view head(c->in);
    int status = too_long ? 431
                          : PatroniStatus(head.substr(0, head.find('\n')), role,
                                          &version);
    std::string body = "{\"role\": \"" + JsonEscape(role) + "\"}\n";
    c->out = std::string(version) + " " + std::to_string(status) + " " +
             Reason(status) +
             "\r\nContent-Type: application/json\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    if (head.rfind("HEAD ", 0) != 0 || status == 400 || status == 431) {
      c->out += body;
    }
    c->out_off = 0;
    c->in.clear();
    c->in.shrink_to_fit();
    c->answered = true;
    c->peer_eof = rc == 0;
    FlushHttp(c);
  }

  // Sends the answer; once it is out, ends our side and waits for the
  // peer's close (closing at once with unread input would reset the
  // connection, which can discard the answer before the peer reads it).
  void FlushHttp(Conn* c) {
    if (!FlushOut(c->fd, &c->out, &c->out_off)) {
      CloseConn(c);
      return;
    }
    if (c->Pending() > 0) {
      if (c->events != EPOLLOUT) {
        c->events = EPOLLOUT;
        Modify(c, c->events);
      }
      return;
    }
    if (c->peer_eof || shutdown(c->fd, SHUT_WR) != 0) {
      CloseConn(c);
      return;
    }
    if (c->events != EPOLLIN) {
      c->events = EPOLLIN;
      Modify(c, c->events);
    }
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
