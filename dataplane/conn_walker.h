// The sync refresh walk (issue #16, docs/sync-design.md "Walker"): passes
// over the connection table in batches, a batch per call, yielding the
// entries a refresh sends: this director's own (no XLB_CONN_F_SYNCED: a
// copy is its sender's to refresh), alive (ClassifyConnection), and touched
// since the previous pass began (last_seen_ns >= that start: no set of what
// the last pass saw is kept; an entry touched while a pass runs is sent by
// the next one). NAT reply halves are not walked: the receiver makes them
// from the forward entry.
#ifndef XLB_DATAPLANE_CONN_WALKER_H_
#define XLB_DATAPLANE_CONN_WALKER_H_

#include <cstdint>
#include <functional>
#include <optional>

#include "absl/status/statusor.h"
#include "dataplane/maps.h"

namespace xlb::dataplane {

class ConnWalker {
 public:
  using OnEntry = std::function<void(const xlb_flow_key& key, const xlb_conn& conn)>;

  // `conn_table` (maps().conn_table) must outlive the walker.
  explicit ConnWalker(const Map<xlb_flow_key, xlb_conn>& conn_table,
                      uint32_t batch = BatchCursor<xlb_flow_key, xlb_conn>::kBatch)
      : table_(conn_table), batch_(batch) {}

  // Begins a pass at `now_ns` (CoarseNowNs(), the clock of last_seen_ns).
  // The first pass yields every own live entry; each later one those
  // touched since the start of the last pass that was walked to its end. A
  // pass under way is dropped.
  void StartPass(uint64_t now_ns);
  // Reads the next batch of the pass and calls on_entry for its entries to
  // send. True while the pass has more; false once it is over (and when no
  // pass was started). An error leaves the pass over.
  absl::StatusOr<bool> Step(const OnEntry& on_entry);
  bool passing() const { return cursor_.has_value(); }

 private:
  const Map<xlb_flow_key, xlb_conn>& table_;
  uint32_t batch_;
  std::optional<BatchCursor<xlb_flow_key, xlb_conn>> cursor_;
  uint64_t pass_start_ns_ = 0;
  uint64_t since_ns_ = 0;  // the last finished pass's start (0: none yet)
};

}  // namespace xlb::dataplane

#endif  // XLB_DATAPLANE_CONN_WALKER_H_
