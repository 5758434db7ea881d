// Reading this director's flow events (issue #16, docs/sync-design.md
// "Sender, receiver and walker in xlbd"): the ring flow_events that
// bpf/sync.h fills with struct xlb_flow_event_batch records, read with
// libbpf's ring_buffer on the daemon's clock (every 2 ms, no epoll: the
// program writes with BPF_RB_NO_WAKEUP), and each event turned into a flow
// by addresses (SyncFlow) through the service table.
#ifndef XLB_DATAPLANE_FLOW_EVENT_READER_H_
#define XLB_DATAPLANE_FLOW_EVENT_READER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "bpf/xlb_abi.h"
#include "dataplane/maps.h"
#include "dataplane/service_table.h"
#include "dataplane/sync_applier.h"

struct ring_buffer;

namespace xlb::dataplane {

struct FlowEventReaderCounters {
  uint64_t records = 0;    // ring records read (well-formed)
  uint64_t events = 0;     // events delivered
  uint64_t malformed = 0;  // records dropped: count not 1..16, or size not what count says
};

class FlowEventReader {
 public:
  using OnEvent = std::function<void(const xlb_flow_event& event)>;
  // Records per Consume: a round's work stays bounded (16 events a record at
  // most) when the ring is fuller than a round can send; the rest waits for
  // the next round. 1 024 records: 16 384 events, 8 s of 2 000 new flows/s
  // in one round, well over a 2 ms round at 100k/s (200 events).
  static constexpr size_t kMaxRecordsPerConsume = 1024;

  // A reader of `ring` (the program's maps().flow_events), calling
  // `on_event` for each event in ring order. The map must outlive it.
  static absl::StatusOr<std::unique_ptr<FlowEventReader>> Open(const RingMap& ring,
                                                               OnEvent on_event);
  ~FlowEventReader();
  FlowEventReader(const FlowEventReader&) = delete;
  FlowEventReader& operator=(const FlowEventReader&) = delete;

  // Reads what the ring holds, up to `max_records` records (libbpf 1.1 has
  // no ring_buffer__consume_n: the callback stops it). Returns the number of
  // events delivered; an error only if the ring cannot be read.
  absl::StatusOr<size_t> Consume(size_t max_records = kMaxRecordsPerConsume);

  const FlowEventReaderCounters& counters() const { return counters_; }

 private:
  explicit FlowEventReader(OnEvent on_event) : on_event_(std::move(on_event)) {}
  static int OnRecord(void* ctx, void* data, size_t size);

  ring_buffer* ring_ = nullptr;
  OnEvent on_event_;
  size_t budget_ = 0;  // records this Consume may still read
  size_t delivered_ = 0;
  FlowEventReaderCounters counters_;
};

enum class FlowEventVerdict : uint8_t {
  kOk = 0,
  kStaleId,   // ids unknown to the service table, or reused since (another gen)
  kBadEvent,  // not a flow of its service (family, protocol, VIP or port differ)
};

// The flow an event names, by addresses: `out` filled iff kOk. `now_ns` is
// CoarseNowNs() (the clock of last_seen_ns); age_ms = now - last_seen (0 if
// last_seen is later). event.type is the caller's (xlbd's RecordTypeOf).
FlowEventVerdict TranslateFlowEvent(const xlb_flow_event& event, const ServiceTable& table,
                                    uint64_t now_ns, SyncFlow* out);
// The same for connection-table entry `conn` of flow `key` (the refresh
// walk's): its service_id, real_id, real_gen, flags and last_seen_ns count.
FlowEventVerdict TranslateConn(const xlb_flow_key& key, const xlb_conn& conn,
                               const ServiceTable& table, uint64_t now_ns, SyncFlow* out);

}  // namespace xlb::dataplane

#endif  // XLB_DATAPLANE_FLOW_EVENT_READER_H_
