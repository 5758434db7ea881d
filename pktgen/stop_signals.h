// SIGINT and SIGTERM end a run early but cleanly: they are blocked in every
// thread (create this before any thread) and taken synchronously between
// bursts, so a signal never cuts a BPF_PROG_RUN call short and the count of
// what was sent stays exact.
#ifndef XLB_PKTGEN_STOP_SIGNALS_H_
#define XLB_PKTGEN_STOP_SIGNALS_H_

#include <signal.h>

#include <chrono>

namespace xlb::pktgen {

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // True once SIGINT or SIGTERM has arrived (never waits).
  bool Requested();
  // Waits up to `timeout`; true if a stop signal arrived meanwhile.
  bool WaitFor(std::chrono::nanoseconds timeout);

 private:
  sigset_t set_;
  sigset_t old_;
  bool requested_ = false;
};

}  // namespace xlb::pktgen

#endif  // XLB_PKTGEN_STOP_SIGNALS_H_
