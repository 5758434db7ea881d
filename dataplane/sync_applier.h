// Applying peer directors' flows to this director's tables (issue #16,
// docs/sync-design.md "Receiver rule"): records that name the service and
// the real by address are translated to this director's ids through the
// service table, then inserted by one run of the syscall program sync_apply
// (bpf/sync_apply.h) per batch. The daemon converts wire records to
// SyncFlow; nothing here knows the wire.
#ifndef XLB_DATAPLANE_SYNC_APPLIER_H_
#define XLB_DATAPLANE_SYNC_APPLIER_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <vector>

#include "absl/status/status.h"
#include "dataplane/program.h"
#include "dataplane/service_table.h"
#include "model/address.h"
#include "model/service.h"

namespace xlb::dataplane {

// One flow as a peer recorded it, by addresses (ports in host order).
struct SyncFlow {
  model::ServiceKey service;  // VIP, service port (0: all-ports), protocol
  model::IpAddress client;
  uint16_t client_port = 0;
  uint16_t vip_port = 0;      // the flow's destination port (the service's, or any for all-ports)
  model::IpAddress real;
  uint16_t real_port = 0;     // the port the real receives on (model::EffectivePort)
  uint32_t flags = 0;         // XLB_CONN_F_CLOSING | XLB_CONN_F_ESTABLISHED; others ignored
  uint32_t age_ms = 0;        // how long ago the peer last saw the flow
};

struct SyncApplyCounters {
  // Per enum xlb_sync_apply_result, for conn_table and for nat_replies.
  std::array<uint64_t, XLB_SYNC_RESULT__COUNT> conn{};
  std::array<uint64_t, XLB_SYNC_RESULT__COUNT> reply{};
  uint64_t held = 0;             // unknown service or real: held for a retry
  uint64_t unknown_service = 0;  // ... dropped: no such service after the hold
  uint64_t unknown_real = 0;     // ... dropped: no such real after the hold
  uint64_t hold_full = 0;        // dropped at once: the hold was full
  uint64_t runs = 0;             // sync_apply runs
};

// "inserted", "refreshed", "replaced", "kept_own", "kept_newer", "stale",
// "no_room" (and "none" for XLB_SYNC_NONE): counters' labels.
const char* SyncApplyResultName(int result);

class SyncApplier {
 public:
  using Clock = std::chrono::steady_clock;
  // How long and how many records naming a service or real this director
  // does not have (yet: its config may be applied a moment later) are held.
  static constexpr Clock::duration kHoldFor = std::chrono::seconds(5);
  static constexpr size_t kHoldMax = 65536;

  // `program` and `table` must outlive the applier; one applier per
  // program (the batch is the program's .bss).
  SyncApplier(Program* program, const ServiceTable* table) : program_(program), table_(table) {}

  // Translates and applies `flows` (any number: batches of
  // XLB_SYNC_APPLY_MAX), holding those that name an unknown service or
  // real. An error is the kernel's refusal to run the program.
  absl::Status Apply(const std::vector<SyncFlow>& flows, Clock::time_point now = Clock::now());
  // Applies the held records whose service and real exist now; drops (and
  // counts) those held longer than kHoldFor. Called on the daemon's timer.
  absl::Status RetryHeld(Clock::time_point now = Clock::now());

  const SyncApplyCounters& counters() const { return counters_; }
  size_t held() const { return held_.size(); }
  // The per-entry outcome of the last Apply or RetryHeld, in order of the
  // records applied (held records have none): for tests.
  const std::vector<xlb_sync_apply_entry>& last_results() const { return last_; }

 private:
  struct Held {
    SyncFlow flow;
    Clock::time_point since;
  };
  // The batch entry for `f`, or false when its service or real is unknown.
  bool Translate(const SyncFlow& f, xlb_sync_apply_entry* e, FlowIds* ids) const;
  absl::Status Run(std::vector<xlb_sync_apply_entry>& entries);

  Program* program_;
  const ServiceTable* table_;
  std::deque<Held> held_;
  SyncApplyCounters counters_;
  std::vector<xlb_sync_apply_entry> last_;
};

}  // namespace xlb::dataplane

#endif  // XLB_DATAPLANE_SYNC_APPLIER_H_
