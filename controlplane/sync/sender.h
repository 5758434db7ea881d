// The sending half of flow-state sync (docs/sync-design.md "Sender,
// receiver and walker in xlbd"): flow records in, authenticated datagrams
// out. Records are packed MaxRecords(mtu, family) to a datagram; a full
// datagram leaves at once, a partial one at Flush() (the daemon's 2 ms
// round ends with one), and an idle sender sends a KEEPALIVE every second.
// Every datagram, a KEEPALIVE too, takes the next sequence number of the
// epoch, from 1. Pure: the datagram goes to a callback (the transport).
#ifndef XLB_CONTROLPLANE_SYNC_SENDER_H_
#define XLB_CONTROLPLANE_SYNC_SENDER_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/strings/string_view.h"
#include "controlplane/sync/auth.h"
#include "controlplane/sync/wire.h"
#include "model/address.h"

namespace xlb::sync {

struct SenderCounters {
  uint64_t datagrams_sent = 0;   // EVENTS and KEEPALIVE
  uint64_t records_sent = 0;
  uint64_t keepalives_sent = 0;
  uint64_t last_sequence = 0;    // 0: nothing sent yet in this epoch
  uint64_t encode_errors = 0;    // records dropped because they cannot be encoded
};

class Sender {
 public:
  using Clock = std::chrono::steady_clock;
  using SendFn = std::function<void(absl::string_view datagram)>;
  // A KEEPALIVE goes out when nothing was sent for this long.
  static constexpr Clock::duration kKeepaliveAfter = std::chrono::seconds(1);

  // `mtu` within kMinMtu..kMaxMtu (clamped otherwise); `transport` is the
  // family of the UDP path (its header size decides the records per
  // datagram), not of the records. `now` starts the keepalive clock.
  Sender(Key key, uint32_t sender_id, uint64_t epoch, size_t mtu, model::Family transport,
         SendFn send, Clock::time_point now = Clock::now());

  // Queues a record; sends a datagram when a datagram's worth is queued.
  void Add(const FlowRecord& record, Clock::time_point now = Clock::now());
  // Sends what is queued (nothing if nothing is).
  void Flush(Clock::time_point now = Clock::now());
  // Sends a KEEPALIVE if nothing was sent for kKeepaliveAfter.
  void Tick(Clock::time_point now = Clock::now());

  size_t records_per_datagram() const { return max_records_; }
  size_t queued() const { return queue_.size(); }
  uint32_t sender_id() const { return sender_id_; }
  uint64_t epoch() const { return epoch_; }
  const SenderCounters& counters() const { return counters_; }

 private:
  // Encodes and sends one message of `type` with the queued records.
  void Send(MessageType type, Clock::time_point now);

  Key key_;
  uint32_t sender_id_;
  uint64_t epoch_;
  size_t max_records_;
  SendFn send_;
  std::vector<FlowRecord> queue_;
  Clock::time_point last_sent_;
  SenderCounters counters_;
};

}  // namespace xlb::sync

#endif  // XLB_CONTROLPLANE_SYNC_SENDER_H_
