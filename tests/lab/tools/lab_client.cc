// xlb-lab-client: traffic generator / checker for the network-namespace lab
// tests. Talks to xlb-lab-server (directly or through the load balancer).
//
//   xlb-lab-client connect --target ADDR:PORT|[V6ADDR]:PORT --count N
//       [--parallel K] [--timeout-ms T] [--udp] [--pace-ms P] [--timestamps]
//     N short exchanges, K at a time (with --pace-ms, one new one every P
//     ms, for probing when a VIP answers again; --timestamps prints
//     "ok|fail START_NS END_NS NAME|REASON" per exchange, wall-clock ns). TCP: connect, read "NAME\n", send
//     "ping\n", expect "ping\n" back, close. UDP: fresh socket, send "ping",
//     expect "NAME ping". Prints "server NAME COUNT" per name, then
//     "connect: P passed, F failed". Exit 0 iff F == 0.
//
//   xlb-lab-client hold --target ADDR:PORT --conns N [--interval-ms I]
//       [--seconds S] [--timeout-ms T] [--timestamps]
//     N long-lived TCP connections; prints "ready" once all have their server
//     name, then every I ms sends a numbered line on each and checks the
//     echo (with --timestamps, a connection that fails prints "fail INDEX
//     WALL_NS STATUS REASON" at once; a reset's reason says "Connection
//     reset by peer", a close by the peer "closed by peer"). SIGUSR2 prints "status alive N failed F max_gap_ms G fresh R"
//     (R: alive with an echo within 3 intervals) and goes on. Stops after S seconds or on SIGTERM/SIGINT/SIGUSR1, then prints
//     one "conn ..." line per connection, "max_gap_ms G" and
//     "hold: P passed, F failed". Exit 0 iff F == 0.

#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
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

#include "tests/lab/tools/tool_common.h"

namespace xlb::lab {
namespace {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

// How many failure reasons go to stderr before we only count them.
constexpr int kMaxReasonsShown = 5;
// A server name line longer than this is garbage, not a name.
constexpr size_t kMaxNameLine = 512;

constexpr char kProg[] = "xlb-lab-client";
const char kUsage[] =
    "usage: xlb-lab-client connect --target ADDR:PORT|[V6ADDR]:PORT "
    "--count N [--parallel K] [--timeout-ms T] [--udp] [--pace-ms P] [--timestamps]\n"
    "       xlb-lab-client hold --target ADDR:PORT|[V6ADDR]:PORT --conns N "
    "[--interval-ms I] [--seconds S] [--timeout-ms T] [--timestamps]\n";

struct Options {
  std::string mode;
  std::string target_text;
  Endpoint target;
  bool udp = false;
  uint64_t count = 0;
  uint64_t parallel = 20;
  uint64_t conns = 0;
  uint64_t interval_ms = 50;
  uint64_t seconds = 600;  // also the cap, so a forgotten hold still ends
  uint64_t timeout_ms = 3000;
  uint64_t pace_ms = 0;  // connect: 0 = start attempts as fast as --parallel allows
  bool timestamps = false;
};

Options ParseArgs(int argc, char** argv) {
  if (argc < 2) ExitUsage(kUsage, false);
  if (IsHelp(argv[1])) ExitUsage(kUsage, true);
  Options o;
  o.mode = argv[1];
  if (o.mode != "connect" && o.mode != "hold") {
    UsageError(kProg, "unknown mode '" + o.mode + "' (want connect or hold)");
  }
  const bool hold = o.mode == "hold";
  bool have_count = false, have_conns = false;
  for (Args args(kProg, argc, argv, 2); args.Next();) {
    const std::string& a = args.flag();
    auto num = [&](uint64_t lo, uint64_t hi) {
      return ParseNum(kProg, a, args.Value(), lo, hi);
    };
    auto wrong_mode = [&] {
      UsageError(kProg, a + " is not valid for " + o.mode);
    };
    if (a == "--target") {
      o.target_text = args.Value();
      if (!ParseEndpoint(o.target_text, &o.target)) {
        UsageError(kProg, "bad --target '" + o.target_text +
                              "': want IPV4:PORT or [IPV6]:PORT");
      }
    } else if (a == "--timeout-ms") {
      o.timeout_ms = num(1, 600000);
    } else if (a == "--count") {
      if (hold) wrong_mode();
      o.count = num(1, 10000000);
      have_count = true;
    } else if (a == "--parallel") {
      if (hold) wrong_mode();
      o.parallel = num(1, 10000);
    } else if (a == "--pace-ms") {
      if (hold) wrong_mode();
      o.pace_ms = num(1, 60000);
    } else if (a == "--timestamps") {
      o.timestamps = true;
    } else if (a == "--udp") {
      if (hold) wrong_mode();
      o.udp = true;
    } else if (a == "--conns") {
      if (!hold) wrong_mode();
      o.conns = num(1, 10000);
      have_conns = true;
    } else if (a == "--interval-ms") {
      if (!hold) wrong_mode();
      o.interval_ms = num(1, 60000);
    } else if (a == "--seconds") {
      if (!hold) wrong_mode();
      o.seconds = num(1, 600);
    } else {
      args.Unrecognized(kUsage);
    }
  }
  if (o.target_text.empty()) UsageError(kProg, "--target is required");
  if (!hold && !have_count) UsageError(kProg, "--count is required");
  if (hold && !have_conns) UsageError(kProg, "--conns is required");
  return o;
}

// Wall-clock nanoseconds, comparable with other processes' timestamps.
int64_t WallNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Fails early and clearly rather than with EMFILE half-way through a run.
void EnsureFds(uint64_t needed) {
  rlim_t limit = RaiseFdLimit();
  if (limit != RLIM_INFINITY && needed + 32 > limit) {
    std::fprintf(stderr,
                 "xlb-lab-client: need %llu sockets but the open file limit "
                 "is %llu\n",
                 static_cast<unsigned long long>(needed),
                 static_cast<unsigned long long>(limit));
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

// Where a TCP connection to a lab server is; named in failure messages.
enum class ConnState {
  kConnecting,
  kReadName,
  kReadEcho,     // connect: "ping" sent, waiting for it back
  kEstablished,  // hold: name read, exchanging lines
  kUdpWait,
};

const char* StateWhat(ConnState s) {
  switch (s) {
    case ConnState::kConnecting:
      return "connecting";
    case ConnState::kReadName:
      return "waiting for server name";
    case ConnState::kReadEcho:
      return "waiting for echo";
    case ConnState::kEstablished:
      return "exchanging lines";
    case ConnState::kUdpWait:
      return "waiting for udp reply";
  }
  return "?";
}

// Starts a non-blocking TCP connect and sets *state to kConnecting or, if it
// completed at once, kReadName. Returns the fd, or -1 with errno set.
int StartTcpConnect(const Endpoint& t, ConnState* state) {
  int fd = NonBlockingSocket(t.family, SOCK_STREAM);
  if (fd < 0) return -1;
  SetNoDelay(fd);
  *state = ConnState::kConnecting;
  if (connect(fd, t.sa(), t.len) == 0) {
    *state = ConnState::kReadName;
  } else if (errno != EINPROGRESS) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

// The epoll events to wait for in `state`: writable means connected.
uint32_t ConnectEvents(ConnState state) {
  return state == ConnState::kConnecting ? EPOLLOUT : EPOLLIN;
}

// Outcome of a non-blocking connect once the socket turned writable: 0 or
// an errno value.
int ConnectError(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  return err;
}

void SetEvents(int ep, int fd, uint32_t events, uint64_t data, bool add) {
  if (EpollCtl(ep, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, events,
               {.u64 = data}) != 0) {
    Fatal(kProg, "epoll_ctl");
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
    ep_ = NewEpoll(kProg);
    slots_.resize(k);
    std::vector<epoll_event> evs(256);
    Refill();
    while (active_ > 0 || (o_.pace_ms && next_ < o_.count)) {
      auto now = Clock::now();
      Clock::time_point next = now + Ms(1000);
      if (o_.pace_ms && next_ < o_.count) next = std::min(next, next_start_);
      for (auto& s : slots_) {
        if (s.fd >= 0) next = std::min(next, s.deadline);
      }
      int n = WaitEvents(kProg, ep_, &evs, WaitMs(now, next));
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
  using State = ConnState;

  struct Attempt {
    int fd = -1;
    uint64_t index = 0;
    State state = State::kConnecting;
    Clock::time_point deadline;
    std::string in, out, name;
    size_t out_off = 0;
    int64_t started_ns = 0;
  };

  uint64_t SlotOf(const Attempt& a) const { return &a - slots_.data(); }

  void Refill() {
    for (auto& s : slots_) {
      // Start() may fail synchronously and free the slot again; the
      // next_ bound keeps this loop finite.
      while (s.fd < 0 && next_ < o_.count) {
        if (o_.pace_ms) {
          auto now = Clock::now();
          if (now < next_start_) return;
          next_start_ = std::max(next_start_ + Ms(o_.pace_ms), now);
        }
        Start(s, next_++);
      }
    }
  }


  void Stamp(const Attempt& a, const char* verdict, const std::string& what) {
    if (!o_.timestamps) return;
    std::printf("%s %lld %lld %s\n", verdict, static_cast<long long>(a.started_ns),
                static_cast<long long>(WallNs()), what.c_str());
    std::fflush(stdout);
  }

  void Start(Attempt& a, uint64_t index) {
    a = Attempt{};
    a.index = index;
    a.started_ns = WallNs();
    a.deadline = Clock::now() + Ms(o_.timeout_ms);
    const Endpoint& t = o_.target;
    if (o_.udp) {
      a.state = State::kUdpWait;
      a.fd = NonBlockingSocket(t.family, SOCK_DGRAM);
      if (a.fd < 0) return FailErrno(a, "socket");
      ++active_;
      // A connected UDP socket only accepts replies from the target address
      // and port, so a reply from the wrong source (not the VIP) is ignored
      // and shows up as a timeout. It also surfaces ICMP unreachable.
      if (connect(a.fd, t.sa(), t.len) != 0) {
        return FailErrno(a, "udp connect");
      }
      if (send(a.fd, "ping", 4, MSG_NOSIGNAL) != 4) {
        return FailErrno(a, "udp send");
      }
      SetEvents(ep_, a.fd, EPOLLIN, SlotOf(a), true);
      return;
    }
    a.fd = StartTcpConnect(t, &a.state);
    if (a.fd < 0) return FailErrno(a, "connect");
    ++active_;
    SetEvents(ep_, a.fd, ConnectEvents(a.state), SlotOf(a), true);
  }

  void OnEvent(Attempt& a) {
    switch (a.state) {
      case State::kUdpWait:
        return OnUdp(a);
      case State::kConnecting:
        if (int err = ConnectError(a.fd); err != 0) {
          errno = err;
          return FailErrno(a, "connect");
        }
        a.state = State::kReadName;
        SetEvents(ep_, a.fd, EPOLLIN, SlotOf(a), false);
        return;
      case State::kReadName:
      case State::kReadEcho:
        return OnTcpData(a);
      case State::kEstablished:
        return;  // hold mode only
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
    Stamp(a, "ok", a.name);
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
    Stamp(a, "fail", category);
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
  Clock::time_point next_start_{};
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
    ep_ = NewEpoll(kProg);
    // A stop request is just another epoll event, and we still get to drain
    // and print the report.
    sig_fd_ = StopSignalFd(kProg, {SIGUSR1, SIGUSR2});
    SetEvents(ep_, sig_fd_, EPOLLIN, kSignalTag, true);
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
      int n = WaitEvents(kProg, ep_, &evs, WaitMs(now, wake));
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
  using State = ConnState;
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

  // SIGUSR2 asks for a status line and goes on; the others stop the run.
  void OnSignal() {
    signalfd_siginfo si;
    while (read(sig_fd_, &si, sizeof(si)) == sizeof(si)) {
      if (si.ssi_signo == SIGUSR2)
        PrintStatus();
      else
        stop_ = true;
    }
  }

  // fresh: alive connections whose last echo came within three intervals
  // (at least 100 ms), so a caller can wait until every living stream
  // exchanges again.
  void PrintStatus() const {
    const auto now = Clock::now();
    const Ms fresh_window = std::max(Ms(100), Ms(3 * o_.interval_ms));
    size_t alive = 0, failed = 0, fresh = 0;
    double gap = 0;
    for (const auto& c : conns_) {
      (c.failed ? failed : alive)++;
      fresh += !c.failed && c.have_echo && now - c.last_echo < fresh_window;
      gap = std::max(gap, c.max_gap_ms);
    }
    std::printf("status alive %zu failed %zu max_gap_ms %.0f fresh %zu\n", alive, failed, gap,
                fresh);
    std::fflush(stdout);
  }

  void StartConn(size_t i) {
    Conn& c = conns_[i];
    c.index = i;
    c.fd = StartTcpConnect(o_.target, &c.state);
    if (c.fd < 0) return FailErrno(c, "connect", Clock::now());
    c.events = ConnectEvents(c.state);
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
      if (int err = ConnectError(c.fd); err != 0) {
        errno = err;
        return FailErrno(c, "connect", now);
      }
      c.state = State::kReadName;
      UpdateEvents(c);
      return;
    }
    int rc = ReadSome(c.fd, &c.in);
    if (rc < 0) return FailErrno(c, "receive", now);
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
    if (!FlushOut(c.fd, &c.out, &c.out_off)) return FailErrno(c, "send", now);
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
        FailErrno(c, "send", now);
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

  void FailErrno(Conn& c, const char* what, Clock::time_point now) {
    int err = errno;
    FailConn(c, StatusFor(err), std::string(what) + ": " + std::strerror(err),
             now);
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
    if (o_.timestamps) {
      std::printf("fail %zu %lld %s %s\n", c.index, static_cast<long long>(WallNs()),
                  StatusName(status), reason.c_str());
      std::fflush(stdout);
    }
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
}  // namespace xlb::lab

int main(int argc, char** argv) {
  const xlb::lab::Options o = xlb::lab::ParseArgs(argc, argv);
  if (o.mode == "connect") return xlb::lab::ConnectMode(o).Run();
  return xlb::lab::HoldMode(o).Run();
}
