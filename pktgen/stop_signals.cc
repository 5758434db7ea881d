#include "pktgen/stop_signals.h"

#include <pthread.h>

#include <cerrno>

namespace xlb::pktgen {

StopSignals::StopSignals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, &old_);
}

StopSignals::~StopSignals() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

bool StopSignals::Requested() { return WaitFor(std::chrono::nanoseconds(0)); }

bool StopSignals::WaitFor(std::chrono::nanoseconds timeout) {
  if (requested_) return true;
  if (timeout.count() < 0) timeout = std::chrono::nanoseconds(0);
  timespec ts{static_cast<time_t>(timeout.count() / 1000000000),
              static_cast<long>(timeout.count() % 1000000000)};
  int sig;
  do {
    sig = sigtimedwait(&set_, nullptr, &ts);
  } while (sig < 0 && errno == EINTR);  // a handler of another signal ran: wait again
  requested_ = sig > 0;
  return requested_;
}

}  // namespace xlb::pktgen
