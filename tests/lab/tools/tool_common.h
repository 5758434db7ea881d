// Shared by the lab traffic tools (xlb-lab-server, xlb-lab-client): error
// exits, argument and endpoint parsing, small socket and epoll helpers.
// Header-only so each tool stays a single-source executable.

#ifndef XLB_TESTS_LAB_TOOLS_TOOL_COMMON_H_
#define XLB_TESTS_LAB_TOOLS_TOOL_COMMON_H_

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace xlb::lab {

// One line per error so test logs stay readable; usage only when asked for.
[[noreturn]] inline void UsageError(const char* prog, const std::string& msg) {
  std::fprintf(stderr, "%s: %s\n", prog, msg.c_str());
  std::exit(2);
}

[[noreturn]] inline void Fatal(const char* prog, const std::string& what) {
  std::fprintf(stderr, "%s: %s: %s\n", prog, what.c_str(),
               std::strerror(errno));
  std::exit(1);
}

// Asked for (-h/--help): stdout, exit 0. Otherwise a mistake: stderr, exit 2.
[[noreturn]] inline void ExitUsage(const char* usage, bool asked) {
  std::fputs(usage, asked ? stdout : stderr);
  std::exit(asked ? 0 : 2);
}

inline bool IsHelp(std::string_view a) { return a == "-h" || a == "--help"; }

// Walks argv[first..] flag by flag, accepting both "--flag value" and
// "--flag=value".
class Args {
 public:
  Args(const char* prog, int argc, char** argv, int first) : prog_(prog) {
    for (int i = first; i < argc; ++i) {
      std::string a = argv[i];
      size_t eq = a.find('=');
      if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
        args_.push_back(a.substr(0, eq));
        args_.push_back(a.substr(eq + 1));
      } else {
        args_.push_back(a);
      }
    }
  }

  // Moves to the next flag; false once all are consumed.
  bool Next() {
    if (next_ >= args_.size()) return false;
    cur_ = next_++;
    return true;
  }

  const std::string& flag() const { return args_[cur_]; }

  // The current flag's value; a usage error if it has none.
  const std::string& Value() {
    if (next_ >= args_.size()) UsageError(prog_, flag() + " needs a value");
    return args_[next_++];
  }

  // For a flag the tool does not know: -h/--help is a request for `usage`,
  // anything else a mistake.
  [[noreturn]] void Unrecognized(const char* usage) const {
    if (IsHelp(flag())) ExitUsage(usage, true);
    UsageError(prog_, "unknown argument '" + flag() + "'");
  }

 private:
  const char* prog_;
  std::vector<std::string> args_;
  size_t cur_ = 0, next_ = 0;
};

// The whole of `s` as a decimal number in [lo, hi]; no sign, no spaces.
inline bool ParseUint(std::string_view s, uint64_t lo, uint64_t hi,
                      uint64_t* out) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi) {
    return false;
  }
  *out = v;
  return true;
}

inline uint64_t ParseNum(const char* prog, const std::string& flag,
                         const std::string& s, uint64_t lo, uint64_t hi) {
  uint64_t v = 0;
  if (!ParseUint(s, lo, hi, &v)) {
    UsageError(prog, "bad " + flag + " '" + s + "': want " +
                         std::to_string(lo) + ".." + std::to_string(hi));
  }
  return v;
}

inline uint16_t ParsePort(const char* prog, const std::string& flag,
                          const std::string& s) {
  return static_cast<uint16_t>(ParseNum(prog, flag, s, 1, 65535));
}

// A socket address ready for bind()/connect().
struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = 0;
  const sockaddr* sa() const {
    return reinterpret_cast<const sockaddr*>(&addr);
  }
};

inline Endpoint Endpoint6(const in6_addr& ip, uint16_t port) {
  Endpoint e;
  auto* a = reinterpret_cast<sockaddr_in6*>(&e.addr);
  a->sin6_family = AF_INET6;
  a->sin6_addr = ip;
  a->sin6_port = htons(port);
  e.len = sizeof(*a);
  e.family = AF_INET6;
  return e;
}

inline Endpoint Endpoint4(in_addr ip, uint16_t port) {
  Endpoint e;
  auto* a = reinterpret_cast<sockaddr_in*>(&e.addr);
  a->sin_family = AF_INET;
  a->sin_addr = ip;
  a->sin_port = htons(port);
  e.len = sizeof(*a);
  e.family = AF_INET;
  return e;
}

// "IPV4:PORT" or "[IPV6]:PORT". An IPv6 address must be bracketed, so the
// port separator is never ambiguous.
inline bool ParseEndpoint(const std::string& s, Endpoint* out) {
  const bool bracketed = !s.empty() && s[0] == '[';
  std::string host, port;
  if (bracketed) {
    size_t close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() ||
        s[close + 1] != ':') {
      return false;
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string::npos || s.find(':') != colon) return false;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  uint64_t p = 0;
  if (!ParseUint(port, 1, 65535, &p)) return false;
  if (bracketed) {
    in6_addr ip{};
    if (inet_pton(AF_INET6, host.c_str(), &ip) != 1) return false;
    *out = Endpoint6(ip, static_cast<uint16_t>(p));
  } else {
    in_addr ip{};
    if (inet_pton(AF_INET, host.c_str(), &ip) != 1) return false;
    *out = Endpoint4(ip, static_cast<uint16_t>(p));
  }
  return true;
}

inline int NonBlockingSocket(int family, int type) {
  return socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

// Lines are tiny and latency is what the tests measure: no Nagle delays.
inline void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

// Hundreds of sockets need more than the usual soft limit of 1024. Returns
// the soft limit now in force, RLIM_INFINITY if it cannot be read.
inline rlim_t RaiseFdLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return RLIM_INFINITY;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

inline int NewEpoll(const char* prog) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) Fatal(prog, "epoll_create1");
  return ep;
}

inline int EpollCtl(int ep, int op, int fd, uint32_t events,
                    epoll_data_t data) {
  epoll_event ev{};
  ev.events = events;
  ev.data = data;
  return epoll_ctl(ep, op, fd, &ev);
}

// epoll_wait into all of `evs`; an interrupted wait is just no events.
inline int WaitEvents(const char* prog, int ep, std::vector<epoll_event>* evs,
                      int timeout_ms) {
  int n =
      epoll_wait(ep, evs->data(), static_cast<int>(evs->size()), timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return 0;
    Fatal(prog, "epoll_wait");
  }
  return n;
}

// SIGTERM, SIGINT and `extra` blocked and delivered on a signalfd instead: a
// stop request becomes an ordinary epoll event, handled between updates.
inline int StopSignalFd(const char* prog,
                        std::initializer_list<int> extra = {}) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  for (int sig : extra) sigaddset(&set, sig);
  if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) Fatal(prog, "sigprocmask");
  int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) Fatal(prog, "signalfd");
  return fd;
}

// Consumes pending signals; true if there were any.
inline bool DrainSignalFd(int fd) {
  bool any = false;
  signalfd_siginfo si;
  while (read(fd, &si, sizeof(si)) == sizeof(si)) any = true;
  return any;
}

// Appends what is available to `in`, stopping once it holds `limit` bytes.
// Returns 1 = got data or would block, 0 = EOF, -1 = error (errno set).
inline int ReadSome(int fd, std::string* in, size_t limit = SIZE_MAX) {
  char buf[16384];
  // Bounded, so one busy socket cannot starve the rest; level-triggered
  // epoll reports it again.
  for (int i = 0; i < 16 && in->size() < limit; ++i) {
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 1;
      return -1;
    }
    if (n == 0) return 0;
    in->append(buf, static_cast<size_t>(n));
  }
  return 1;
}

// Sends out[*off..] as far as the socket takes it. Returns false on error
// (errno set).
inline bool FlushOut(int fd, std::string* out, size_t* off) {
  while (*off < out->size()) {
    ssize_t n = send(fd, out->data() + *off, out->size() - *off,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return false;
    }
    *off += static_cast<size_t>(n);
  }
  if (*off == out->size()) {
    out->clear();
    *off = 0;
  }
  return true;
}

}  // namespace xlb::lab

#endif  // XLB_TESTS_LAB_TOOLS_TOOL_COMMON_H_
