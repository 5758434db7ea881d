// xlb-lab-client: traffic generator / checker for the network-namespace lab
// tests. Talks to xlb-lab-server (directly or through the load balancer).
//
//   xlb-lab-client connect --target ADDR:PORT|[V6ADDR]:PORT --count N
//       [--parallel K] [--timeout-ms T] [--udp]
//     N short exchanges, K at a time. TCP: connect, read "NAME\n", send
//     "ping\n", expect "ping\n" back, close. UDP: fresh socket, send "ping",
//     expect "NAME ping". Prints "server NAME COUNT" per name, then
//     "connect: P passed, F failed". Exit 0 iff F == 0.
//
//   xlb-lab-client hold --target ADDR:PORT --conns N [--interval-ms I]
//       [--seconds S] [--timeout-ms T]
//     N long-lived TCP connections; prints "ready" once all have their server
//     name, then every I ms sends a numbered line on each and checks the
//     echo. Stops after S seconds or on SIGTERM/SIGINT/SIGUSR1, then prints
//     one "conn ..." line per connection, "max_gap_ms G" and
//     "hold: P passed, F failed". Exit 0 iff F == 0.

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

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

// How many failure reasons go to stderr before we only count them.
constexpr int kMaxReasonsShown = 5;
// A server name line longer than this is garbage, not a name.
constexpr size_t kMaxNameLine = 512;

const char kUsage[] =
    "usage: xlb-lab-client connect --target ADDR:PORT|[V6ADDR]:PORT "
    "--count N [--parallel K] [--timeout-ms T] [--udp]\n"
    "       xlb-lab-client hold --target ADDR:PORT|[V6ADDR]:PORT --conns N "
    "[--interval-ms I] [--seconds S] [--timeout-ms T]\n";

[[noreturn]] void UsageError(const std::string& msg) {
  // One line per error so test logs stay readable; usage only when asked.
  std::fprintf(stderr, "xlb-lab-client: %s\n", msg.c_str());
  std::exit(2);
}

[[noreturn]] void Fatal(const std::string& what) {
  std::fprintf(stderr, "xlb-lab-client: %s: %s\n", what.c_str(),
               std::strerror(errno));
  std::exit(1);
}

struct Target {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = 0;
};

bool ParseTarget(const std::string& s, Target* t) {
  std::string host, port;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() ||
        s[close + 1] != ':') {
      return false;
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    // More than one colon without brackets is an unbracketed IPv6 address.
    if (colon == std::string::npos || s.find(':') != colon) return false;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p == 0 ||
      p > 65535) {
    return false;
  }
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&t->addr);
  auto* a4 = reinterpret_cast<sockaddr_in*>(&t->addr);
  if (s[0] == '[' && inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(static_cast<uint16_t>(p));
    t->len = sizeof(*a6);
    t->family = AF_INET6;
    return true;
  }
  if (s[0] != '[' && inet_pton(AF_INET, host.c_str(), &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(static_cast<uint16_t>(p));
    t->len = sizeof(*a4);
    t->family = AF_INET;
    return true;
  }
  return false;
}

uint64_t ParseNum(const std::string& flag, const std::string& s, uint64_t lo,
                  uint64_t hi) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi) {
    UsageError("bad " + flag + " '" + s + "': want " + std::to_string(lo) +
               ".." + std::to_string(hi));
  }
  return v;
}

struct Options {
  std::string mode;
  std::string target_text;
  Target target;
  bool udp = false;
  uint64_t count = 0;
  uint64_t parallel = 20;
  uint64_t conns = 0;
  uint64_t interval_ms = 50;
  uint64_t seconds = 600;  // also the cap, so a forgotten hold still ends
  uint64_t timeout_ms = 3000;
};

Options ParseArgs(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    std::exit(2);
  }
  if (std::string_view(argv[1]) == "-h" ||
      std::string_view(argv[1]) == "--help") {
    std::fputs(kUsage, stdout);
    std::exit(0);
  }
  Options o;
  o.mode = argv[1];
  if (o.mode != "connect" && o.mode != "hold") {
    UsageError("unknown mode '" + o.mode + "' (want connect or hold)");
  }
  const bool hold = o.mode == "hold";
  // Accept both "--flag value" and "--flag=value".
  std::vector<std::string> args;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    size_t eq = a.find('=');
    if (a.rfind("--", 0) == 0 && eq != std::string::npos) {
      args.push_back(a.substr(0, eq));
      args.push_back(a.substr(eq + 1));
    } else {
      args.push_back(a);
    }
  }
  bool have_count = false, have_conns = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) UsageError(a + " needs a value");
      return args[++i];
    };
    auto wrong_mode = [&] { UsageError(a + " is not valid for " + o.mode); };
    if (a == "--target") {
      o.target_text = value();
      if (!ParseTarget(o.target_text, &o.target)) {
        UsageError("bad --target '" + o.target_text +
                   "': want IPV4:PORT or [IPV6]:PORT");
      }
    } else if (a == "--timeout-ms") {
      o.timeout_ms = ParseNum(a, value(), 1, 600000);
    } else if (a == "--count") {
      if (hold) wrong_mode();
      o.count = ParseNum(a, value(), 1, 10000000);
      have_count = true;
    } else if (a == "--parallel") {
      if (hold) wrong_mode();
      o.parallel = ParseNum(a, value(), 1, 10000);
    } else if (a == "--udp") {
      if (hold) wrong_mode();
      o.udp = true;
    } else if (a == "--conns") {
      if (!hold) wrong_mode();
      o.conns = ParseNum(a, value(), 1, 10000);
      have_conns = true;
    } else if (a == "--interval-ms") {
      if (!hold) wrong_mode();
      o.interval_ms = ParseNum(a, value(), 1, 60000);
    } else if (a == "--seconds") {
      if (!hold) wrong_mode();
      o.seconds = ParseNum(a, value(), 1, 600);
    } else if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else {
      UsageError("unknown argument '" + a + "'");
    }
  }
  if (o.target_text.empty()) UsageError("--target is required");
  if (!hold && !have_count) UsageError("--count is required");
  if (hold && !have_conns) UsageError("--conns is required");
  return o;
}

// Many sockets at once need more than the usual soft limit of 1024.
void EnsureFds(uint64_t needed) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur != RLIM_INFINITY && needed + 32 > rl.rlim_cur) {
    std::fprintf(stderr,
                 "xlb-lab-client: need %llu sockets but the open file limit "
                 "is %llu\n",
                 static_cast<unsigned long long>(needed),
                 static_cast<unsigned long long>(rl.rlim_cur));
    std::exit(2);
  }
}

// Milliseconds until `deadline` for epoll_wait: rounded up so we never wake
// just before it and spin, and capped so the loop re-checks its state.
int WaitMs(Clock::time_point now, Clock::time_point deadline) {
  if (deadline <= now) return 0;
  auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(deadline - now)
          .count();
  return static_cast<int>(std::min<int64_t>((us + 999) / 1000, 1000));
}

double MsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Starts a non-blocking TCP connect. Returns the fd, or -1 with errno set.
int StartTcpConnect(const Target& t, bool* connected) {
  int fd = socket(t.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  // Small lines, and latency is what we measure: no Nagle delays.
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  *connected = false;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&t.addr), t.len) == 0) {
    *connected = true;
  } else if (errno != EINPROGRESS) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

// Reads what is available. Returns 1 = got data or would block,
// 0 = EOF, -1 = error (errno set).
int ReadSome(int fd, std::string* in) {
  char buf[4096];
  for (int i = 0; i < 16; ++i) {  // bounded; level-triggered epoll re-reports
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

// Sends queued bytes. Returns false on error (errno set).
bool FlushOut(int fd, std::string* out, size_t* off) {
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

void SetEvents(int ep, int fd, uint32_t events, uint64_t data, bool add) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = data;
  if (epoll_ctl(ep, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) != 0) {
    Fatal("epoll_ctl");
  }
}

// Printable form of unexpected bytes for failure messages.
std::string Escape(std::string_view s) {
  std::string r;
  for (char c : s.substr(0, 64)) {
    if (c == '\n') {
      r += "\\n";
    } else if (c == '\r') {
      r += "\\r";
    } else if (static_cast<unsigned char>(c) < 0x20 ||
               static_cast<unsigned char>(c) >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", static_cast<unsigned char>(c));
      r += hex;
    } else {
      r += c;
    }
  }
  if (s.size() > 64) r += "...";
  return r;
}

// Short category for an errno, used in reasons and the failure summary.
std::string ErrCategory(int err) {
  switch (err) {
    case ECONNREFUSED:
      return "refused";
    case ECONNRESET:
    case EPIPE:
      return "reset";
    case ETIMEDOUT:
      return "timeout";
    case EHOSTUNREACH:
    case ENETUNREACH:
      return "unreachable";
    default:
      return "error";
  }
}

// ---------------------------------------------------------------- connect

class ConnectMode {
 public:
  explicit ConnectMode(const Options& o) : o_(o) {}

  int Run() {
    uint64_t k = std::min(o_.parallel, o_.count);
    EnsureFds(k);
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) Fatal("epoll_create1");
    slots_.resize(k);
    std::vector<epoll_event> evs(256);
    Refill();
    while (active_ > 0) {
      auto now = Clock::now();
      Clock::time_point next = now + Ms(1000);
      for (auto& s : slots_) {
        if (s.fd >= 0) next = std::min(next, s.deadline);
      }
      int n = epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()),
                         WaitMs(now, next));
      if (n < 0) {
        if (errno == EINTR) continue;
        Fatal("epoll_wait");
      }
      for (int i = 0; i < n; ++i) {
        Attempt& a = slots_[evs[i].data.u64];
        if (a.fd >= 0) OnEvent(a);
      }
      // Every attempt has a deadline, so the whole run is bounded.
      now = Clock::now();
      for (auto& s : slots_) {
        if (s.fd >= 0 && now >= s.deadline) {
          Fail(s, "timeout", std::string("timeout ") + StateWhat(s.state));
        }
      }
      Refill();
    }
    close(ep_);

    for (auto& [name, cnt] : per_server_) {
      std::printf("server %s %llu\n", name.c_str(),
                  static_cast<unsigned long long>(cnt));
    }
    std::printf("connect: %llu passed, %llu failed\n",
                static_cast<unsigned long long>(passed_),
                static_cast<unsigned long long>(failed_));
    std::fflush(stdout);
    if (failed_ > 0) {
      std::string summary;
      for (auto& [cat, cnt] : fail_counts_) {
        summary += " " + cat + "=" + std::to_string(cnt);
      }
      std::fprintf(stderr, "xlb-lab-client: connect failures by kind:%s\n",
                   summary.c_str());
    }
    return failed_ == 0 ? 0 : 1;
  }

 private:
  enum class State { kConnecting, kReadName, kReadEcho, kUdpWait };

  struct Attempt {
    int fd = -1;
    uint64_t index = 0;
    State state = State::kConnecting;
    Clock::time_point deadline;
    std::string in, out, name;
    size_t out_off = 0;
  };

  static const char* StateWhat(State s) {
    switch (s) {
      case State::kConnecting:
        return "connecting";
      case State::kReadName:
        return "waiting for server name";
      case State::kReadEcho:
        return "waiting for echo";
      case State::kUdpWait:
        return "waiting for udp reply";
    }
    return "?";
  }

  uint64_t SlotOf(const Attempt& a) const { return &a - slots_.data(); }

  void Refill() {
    for (auto& s : slots_) {
      // Start() may fail synchronously and free the slot again; the
      // next_ bound keeps this loop finite.
      while (s.fd < 0 && next_ < o_.count) Start(s, next_++);
    }
  }

  void Start(Attempt& a, uint64_t index) {
    a = Attempt{};
    a.index = index;
    a.deadline = Clock::now() + Ms(o_.timeout_ms);
    const Target& t = o_.target;
    if (o_.udp) {
      a.state = State::kUdpWait;
      a.fd = socket(t.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (a.fd < 0) return FailErrno(a, "socket");
      ++active_;
      // A connected UDP socket only accepts replies from the target address
      // and port, so a reply from the wrong source (not the VIP) is ignored
      // and shows up as a timeout. It also surfaces ICMP unreachable.
      if (connect(a.fd, reinterpret_cast<const sockaddr*>(&t.addr), t.len) !=
          0) {
        return FailErrno(a, "udp connect");
      }
      if (send(a.fd, "ping", 4, MSG_NOSIGNAL) != 4) {
        return FailErrno(a, "udp send");
      }
      SetEvents(ep_, a.fd, EPOLLIN, SlotOf(a), true);
      return;
    }
    bool connected = false;
    a.fd = StartTcpConnect(t, &connected);
    if (a.fd < 0) {
      a.state = State::kConnecting;
      return FailErrno(a, "connect");
    }
    ++active_;
    if (connected) {
      a.state = State::kReadName;
      SetEvents(ep_, a.fd, EPOLLIN, SlotOf(a), true);
    } else {
      a.state = State::kConnecting;
      SetEvents(ep_, a.fd, EPOLLOUT, SlotOf(a), true);
    }
  }

  void OnEvent(Attempt& a) {
    switch (a.state) {
      case State::kUdpWait:
        return OnUdp(a);
      case State::kConnecting: {
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(a.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
          err = errno;
        }
        if (err != 0) {
          errno = err;
          return FailErrno(a, "connect");
        }
        a.state = State::kReadName;
        SetEvents(ep_, a.fd, EPOLLIN, SlotOf(a), false);
        return;
      }
      case State::kReadName:
      case State::kReadEcho:
        return OnTcpData(a);
    }
  }

  void OnTcpData(Attempt& a) {
    int rc = ReadSome(a.fd, &a.in);
    if (rc < 0) {
      return FailErrno(a, StateWhat(a.state));
    }
    if (a.state == State::kReadName) {
      size_t nl = a.in.find('\n');
      if (nl == std::string::npos) {
        if (a.in.size() > kMaxNameLine) {
          return Fail(a, "wrong", "no name line: '" + Escape(a.in) + "'");
        }
      } else {
        a.name = a.in.substr(0, nl);
        a.in.erase(0, nl + 1);
        if (a.name.empty()) return Fail(a, "wrong", "empty server name");
        a.state = State::kReadEcho;
        a.out = "ping\n";
        a.out_off = 0;
      }
    }
    if (a.state == State::kReadEcho) {
      if (!FlushOut(a.fd, &a.out, &a.out_off)) {
        return FailErrno(a, "sending ping");
      }
      if (a.in.size() >= 5 || (rc == 0 && !a.in.empty())) {
        if (a.in.compare(0, 5, "ping\n") != 0) {
          return Fail(a, "wrong",
                      "from " + a.name + ": expected 'ping\\n', got '" +
                          Escape(a.in) + "'");
        }
        return Pass(a);
      }
      uint32_t want = EPOLLIN | (a.out.empty() ? 0u : uint32_t{EPOLLOUT});
      SetEvents(ep_, a.fd, want, SlotOf(a), false);
    }
    if (rc == 0) {
      return Fail(a, "closed",
                  std::string("closed by peer while ") + StateWhat(a.state));
    }
  }

  void OnUdp(Attempt& a) {
    char buf[2048];
    ssize_t n = recv(a.fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      return FailErrno(a, "udp receive");
    }
    std::string_view r(buf, static_cast<size_t>(n));
    constexpr std::string_view kSuffix = " ping";
    if (r.size() <= kSuffix.size() ||
        r.substr(r.size() - kSuffix.size()) != kSuffix) {
      return Fail(a, "wrong", "expected 'NAME ping', got '" + Escape(r) + "'");
    }
    a.name = std::string(r.substr(0, r.size() - kSuffix.size()));
    Pass(a);
  }

  void Finish(Attempt& a) {
    if (a.fd >= 0) {
      close(a.fd);
      --active_;
    }
    a.fd = -1;
  }

  void Pass(Attempt& a) {
    ++passed_;
    ++per_server_[a.name];
    Finish(a);
  }

  void FailErrno(Attempt& a, const std::string& what) {
    int err = errno;
    Fail(a, ErrCategory(err), what + ": " + std::strerror(err));
  }

  void Fail(Attempt& a, const std::string& category,
            const std::string& reason) {
    ++failed_;
    ++fail_counts_[category];
    if (failed_ <= kMaxReasonsShown) {
      std::fprintf(stderr, "xlb-lab-client: request %llu failed (%s): %s\n",
                   static_cast<unsigned long long>(a.index), category.c_str(),
                   reason.c_str());
    }
    Finish(a);
  }

  const Options& o_;
  int ep_ = -1;
  std::vector<Attempt> slots_;
  uint64_t next_ = 0;
  uint64_t active_ = 0;
  uint64_t passed_ = 0, failed_ = 0;
  std::map<std::string, uint64_t> per_server_;
  std::map<std::string, uint64_t> fail_counts_;
};

// ------------------------------------------------------------------- hold

class HoldMode {
 public:
  explicit HoldMode(const Options& o) : o_(o) {}

  int Run() {
    EnsureFds(o_.conns);
    signal(SIGPIPE, SIG_IGN);
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) Fatal("epoll_create1");
    SetupSignals();
    const Ms timeout(o_.timeout_ms);
    const Ms interval(o_.interval_ms);

    conns_.resize(o_.conns);
    for (size_t i = 0; i < conns_.size(); ++i) StartConn(i);

    Phase phase = Phase::kSetup;
    auto now = Clock::now();
    const auto setup_deadline = now + timeout;
    Clock::time_point run_end{}, next_tick{}, drain_deadline{};
    std::vector<epoll_event> evs(256);
    bool ready = false;

    while (phase != Phase::kDone) {
      now = Clock::now();
      CheckEchoTimeouts(now);
      Clock::time_point wake = now + Ms(1000);

      if (phase == Phase::kSetup) {
        size_t pending = 0, failed = 0;
        for (auto& c : conns_) {
          if (c.failed) {
            ++failed;
          } else if (c.state != State::kEstablished) {
            ++pending;
          }
        }
        if (stop_) {
          for (auto& c : conns_) {
            if (!c.failed && c.state != State::kEstablished) {
              FailConn(c, Status::kError, "interrupted before ready", now);
            }
          }
          phase = Phase::kDone;
          continue;
        }
        if (pending == 0 && failed == 0) {
          ready = true;
          std::fputs("ready\n", stdout);
          std::fflush(stdout);
          phase = Phase::kRun;
          run_end = now + std::chrono::seconds(o_.seconds);
          next_tick = now;
        } else if (pending == 0) {
          phase = Phase::kDone;  // some failed to connect; all settled
          continue;
        } else if (now >= setup_deadline) {
          for (auto& c : conns_) {
            if (!c.failed && c.state != State::kEstablished) {
              FailConn(c, Status::kTimeout,
                       std::string("timeout ") + StateWhat(c.state), now);
            }
          }
          phase = Phase::kDone;
          continue;
        } else {
          wake = std::min(wake, setup_deadline);
        }
      }

      if (phase == Phase::kRun) {
        bool any_alive = std::any_of(conns_.begin(), conns_.end(),
                                     [](const Conn& c) { return !c.failed; });
        // Nothing left to exercise once every connection has failed.
        if (stop_ || now >= run_end || !any_alive) {
          // Stop sending but give lines in flight their full timeout to come
          // back, so a clean stop never reports a spurious failure.
          phase = Phase::kDrain;
          drain_deadline = now + timeout;
        } else {
          if (now >= next_tick) {
            SendTick(now);
            next_tick += interval;
            // Fell behind (stopped process, slow host): skip, don't burst.
            if (next_tick <= now) next_tick = now + interval;
          }
          wake = std::min({wake, next_tick, run_end});
        }
      }

      if (phase == Phase::kDrain) {
        bool outstanding = false;
        for (auto& c : conns_) {
          if (!c.failed && !c.sent.empty()) outstanding = true;
        }
        // The deadline is a backstop: CheckEchoTimeouts fails every line by
        // then anyway, because none was sent after the drain began.
        if (!outstanding || now >= drain_deadline) {
          phase = Phase::kDone;
          continue;
        }
        wake = std::min(wake, drain_deadline);
      }

      wake = std::min(wake, NextEchoDeadline());
      int n = epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()),
                         WaitMs(now, wake));
      if (n < 0) {
        if (errno == EINTR) continue;
        Fatal("epoll_wait");
      }
      now = Clock::now();
      for (int i = 0; i < n; ++i) {
        uint64_t d = evs[i].data.u64;
        if (d == kSignalTag) {
          OnSignal();
          continue;
        }
        Conn& c = conns_[d];
        if (!c.failed && c.fd >= 0) OnEvent(c, now);
      }
    }

    // Anything still unanswered at this point is a timeout.
    now = Clock::now();
    for (auto& c : conns_) {
      if (!c.failed && !c.sent.empty()) {
        FailConn(c, Status::kTimeout, "echo not returned before exit", now);
      }
      if (c.fd >= 0) close(c.fd);
      c.fd = -1;
    }
    close(ep_);
    return Report(ready);
  }

 private:
  enum class Phase { kSetup, kRun, kDrain, kDone };
  enum class State { kConnecting, kReadName, kEstablished };
  enum class Status { kOk, kReset, kTimeout, kError };
  static constexpr uint64_t kSignalTag = ~uint64_t{0};

  struct Conn {
    int fd = -1;
    size_t index = 0;
    State state = State::kConnecting;
    std::string name = "-";
    std::string in, out;
    size_t out_off = 0;
    uint32_t events = 0;
    // Lines sent and not yet echoed, oldest first: (seq, send time).
    std::deque<std::pair<uint64_t, Clock::time_point>> sent;
    uint64_t next_seq = 0;
    uint64_t exchanged = 0;
    double max_gap_ms = 0;
    bool have_echo = false;
    Clock::time_point last_echo{};
    bool failed = false;
    Status status = Status::kOk;
  };

  static const char* StateWhat(State s) {
    switch (s) {
      case State::kConnecting:
        return "connecting";
      case State::kReadName:
        return "waiting for server name";
      case State::kEstablished:
        return "exchanging lines";
    }
    return "?";
  }

  static const char* StatusName(Status s) {
    switch (s) {
      case Status::kOk:
        return "ok";
      case Status::kReset:
        return "reset";
      case Status::kTimeout:
        return "timeout";
      case Status::kError:
        return "error";
    }
    return "?";
  }

  std::string Line(const Conn& c, uint64_t seq) const {
    return "conn " + std::to_string(c.index) + " seq " + std::to_string(seq);
  }

  void SetupSignals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    // Blocked + signalfd: a stop request is just another epoll event, and
    // we still get to drain and print the report.
    if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) Fatal("sigprocmask");
    sig_fd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sig_fd_ < 0) Fatal("signalfd");
    SetEvents(ep_, sig_fd_, EPOLLIN, kSignalTag, true);
  }

  void OnSignal() {
    signalfd_siginfo si;
    while (read(sig_fd_, &si, sizeof(si)) == sizeof(si)) stop_ = true;
  }

  void StartConn(size_t i) {
    Conn& c = conns_[i];
    c.index = i;
    bool connected = false;
    c.fd = StartTcpConnect(o_.target, &connected);
    if (c.fd < 0) {
      int err = errno;
      FailConn(c, StatusFor(err), std::string("connect: ") + std::strerror(err),
               Clock::now());
      return;
    }
    c.state = connected ? State::kReadName : State::kConnecting;
    c.events = connected ? EPOLLIN : EPOLLOUT;
    SetEvents(ep_, c.fd, c.events, i, true);
  }

  static Status StatusFor(int err) {
    switch (err) {
      case ECONNRESET:
      case EPIPE:
        return Status::kReset;
      case ETIMEDOUT:
        return Status::kTimeout;
      default:
        return Status::kError;
    }
  }

  void UpdateEvents(Conn& c) {
    uint32_t want = EPOLLIN | (c.out.empty() ? 0u : uint32_t{EPOLLOUT});
    if (want == c.events) return;
    c.events = want;
    SetEvents(ep_, c.fd, want, c.index, false);
  }

  void OnEvent(Conn& c, Clock::time_point now) {
    if (c.state == State::kConnecting) {
      int err = 0;
      socklen_t len = sizeof(err);
      if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err != 0) {
        FailConn(c, StatusFor(err),
                 std::string("connect: ") + std::strerror(err), now);
        return;
      }
      c.state = State::kReadName;
      UpdateEvents(c);
      return;
    }
    int rc = ReadSome(c.fd, &c.in);
    if (rc < 0) {
      int err = errno;
      FailConn(c, StatusFor(err), std::string("receive: ") + std::strerror(err),
               now);
      return;
    }
    if (c.state == State::kReadName) {
      size_t nl = c.in.find('\n');
      if (nl != std::string::npos) {
        c.name = c.in.substr(0, nl);
        c.in.erase(0, nl + 1);
        if (c.name.empty()) c.name = "-";
        c.state = State::kEstablished;
      } else if (c.in.size() > kMaxNameLine) {
        FailConn(c, Status::kError, "no name line: '" + Escape(c.in) + "'",
                 now);
        return;
      }
    }
    if (c.state == State::kEstablished) {
      // Every complete line must be the echo of our oldest unanswered line.
      size_t nl;
      while ((nl = c.in.find('\n')) != std::string::npos) {
        std::string line = c.in.substr(0, nl);
        c.in.erase(0, nl + 1);
        if (c.sent.empty()) {
          FailConn(c, Status::kError, "unexpected data '" + Escape(line) + "'",
                   now);
          return;
        }
        auto [seq, sent_at] = c.sent.front();
        if (line != Line(c, seq)) {
          FailConn(
              c, Status::kError,
              "expected '" + Line(c, seq) + "', got '" + Escape(line) + "'",
              now);
          return;
        }
        c.sent.pop_front();
        ++c.exchanged;
        double gap = MsBetween(sent_at, now);
        if (c.have_echo) gap = std::max(gap, MsBetween(c.last_echo, now));
        c.max_gap_ms = std::max(c.max_gap_ms, gap);
        c.have_echo = true;
        c.last_echo = now;
      }
      if (c.in.size() > 4096) {
        FailConn(c, Status::kError, "garbage: '" + Escape(c.in) + "'", now);
        return;
      }
    }
    if (rc == 0) {
      // The peer closing on us counts as a reset: either way the
      // connection was lost (a killed server sends FIN, not RST).
      FailConn(c, Status::kReset,
               std::string("closed by peer while ") + StateWhat(c.state), now);
      return;
    }
    if (!FlushOut(c.fd, &c.out, &c.out_off)) {
      int err = errno;
      FailConn(c, StatusFor(err), std::string("send: ") + std::strerror(err),
               now);
      return;
    }
    UpdateEvents(c);
  }

  void SendTick(Clock::time_point now) {
    for (auto& c : conns_) {
      if (c.failed || c.state != State::kEstablished) continue;
      uint64_t seq = c.next_seq++;
      c.out += Line(c, seq) + "\n";
      // Timed from when it should have gone out, so a blocked socket
      // shows up as a gap too.
      c.sent.emplace_back(seq, now);
      if (!FlushOut(c.fd, &c.out, &c.out_off)) {
        int err = errno;
        FailConn(c, StatusFor(err), std::string("send: ") + std::strerror(err),
                 now);
        continue;
      }
      UpdateEvents(c);
    }
  }

  void CheckEchoTimeouts(Clock::time_point now) {
    const Ms timeout(o_.timeout_ms);
    for (auto& c : conns_) {
      if (!c.failed && !c.sent.empty() &&
          now >= c.sent.front().second + timeout) {
        FailConn(c, Status::kTimeout,
                 "no echo for seq " + std::to_string(c.sent.front().first) +
                     " within " + std::to_string(o_.timeout_ms) + " ms",
                 now);
      }
    }
  }

  Clock::time_point NextEchoDeadline() const {
    auto next = Clock::time_point::max();
    for (auto& c : conns_) {
      if (!c.failed && !c.sent.empty()) {
        next = std::min(next, c.sent.front().second + Ms(o_.timeout_ms));
      }
    }
    return next;
  }

  void FailConn(Conn& c, Status status, const std::string& reason,
                Clock::time_point now) {
    if (c.failed) return;
    c.failed = true;
    c.status = status;
    // Count the outage up to now, so a failed connection's gap reflects how
    // long it went unanswered.
    if (!c.sent.empty()) {
      c.max_gap_ms =
          std::max(c.max_gap_ms, MsBetween(c.sent.front().second, now));
    }
    if (c.have_echo) {
      c.max_gap_ms = std::max(c.max_gap_ms, MsBetween(c.last_echo, now));
    }
    if (c.fd >= 0) close(c.fd);
    c.fd = -1;
    if (++failures_shown_ <= kMaxReasonsShown) {
      std::fprintf(stderr, "xlb-lab-client: conn %zu (%s) %s: %s\n", c.index,
                   c.name.c_str(), StatusName(status), reason.c_str());
    }
  }

  int Report(bool ready) {
    uint64_t passed = 0, failed = 0;
    double max_gap = 0;
    for (auto& c : conns_) {
      std::printf(
          "conn %zu server %s exchanged %llu max_gap_ms %lld status %s\n",
          c.index, c.name.c_str(), static_cast<unsigned long long>(c.exchanged),
          std::llround(c.max_gap_ms), StatusName(c.status));
      max_gap = std::max(max_gap, c.max_gap_ms);
      if (c.failed) {
        ++failed;
      } else {
        ++passed;
      }
    }
    std::printf("max_gap_ms %lld\n", std::llround(max_gap));
    std::printf("hold: %llu passed, %llu failed\n",
                static_cast<unsigned long long>(passed),
                static_cast<unsigned long long>(failed));
    std::fflush(stdout);
    if (!ready) {
      std::fprintf(stderr,
                   "xlb-lab-client: hold: never ready, %llu of %llu "
                   "connections failed to establish (timeout %llu ms)\n",
                   static_cast<unsigned long long>(failed),
                   static_cast<unsigned long long>(o_.conns),
                   static_cast<unsigned long long>(o_.timeout_ms));
      return 1;
    }
    return failed == 0 ? 0 : 1;
  }

  const Options& o_;
  int ep_ = -1;
  int sig_fd_ = -1;
  bool stop_ = false;
  uint64_t failures_shown_ = 0;
  std::vector<Conn> conns_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o = ParseArgs(argc, argv);
  if (o.mode == "connect") return ConnectMode(o).Run();
  return HoldMode(o).Run();
}
