#include "controlplane/sync/sender.h"

#include <algorithm>
#include <utility>

namespace xlb::sync {

Sender::Sender(Key key, uint32_t sender_id, uint64_t epoch, size_t mtu, model::Family transport,
               SendFn send, Clock::time_point now)
    : key_(std::move(key)),
      sender_id_(sender_id),
      epoch_(epoch),
      max_records_(MaxRecords(std::clamp(mtu, kMinMtu, kMaxMtu), transport)),
      send_(std::move(send)),
      last_sent_(now) {
  queue_.reserve(max_records_);
}

void Sender::Add(const FlowRecord& record, Clock::time_point now) {
  // Checked here, so that one bad record is dropped alone and never makes
  // the datagram it would share fail to encode.
  if (!CheckRecord(record).ok()) {
    ++counters_.encode_errors;
    return;
  }
  queue_.push_back(record);
  if (queue_.size() >= max_records_) Send(MessageType::kEvents, now);
}

void Sender::Flush(Clock::time_point now) {
  if (!queue_.empty()) Send(MessageType::kEvents, now);
}

void Sender::Tick(Clock::time_point now) {
  if (now - last_sent_ >= kKeepaliveAfter) Send(MessageType::kKeepalive, now);
}

void Sender::Send(MessageType type, Clock::time_point now) {
  Message m;
  m.header = {.type = type,
              .sender_id = sender_id_,
              .epoch = epoch_,
              .sequence = counters_.last_sequence + 1};
  m.records.swap(queue_);
  queue_.clear();
  queue_.reserve(max_records_);
  absl::StatusOr<std::string> datagram = Encode(m, key_);
  if (!datagram.ok()) {  // only if OpenSSL fails: the records are lost, the number is not used
    counters_.encode_errors += m.records.size();
    return;
  }
  counters_.last_sequence = m.header.sequence;
  ++counters_.datagrams_sent;
  counters_.records_sent += m.records.size();
  if (type == MessageType::kKeepalive) ++counters_.keepalives_sent;
  last_sent_ = now;
  send_(*datagram);
}

}  // namespace xlb::sync
