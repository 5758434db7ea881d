// The resync at start over TCP (issue #16, docs/sync-design.md "Resync"):
// a starting director asks one peer for a bulk copy of its flows. What goes
// on the stream, as a pure codec: no sockets, no clocks.
//
// Stream: frames, each a 4-byte big-endian length then one message of
// wire.h (header, records, tag), at most kMaxFrameLen bytes.
//   client -> server  RESYNC_REQUEST, header.sequence = a random 64-bit nonce
//   server -> client  RESYNC_CHUNK * n (up to kMaxFrameRecords records each),
//                     then RESYNC_DONE with sequence = the number of records sent
// Every answer carries the request's nonce in header.epoch, inside the tag:
// a recorded answer to an earlier request cannot be replayed into this one.
#ifndef XLB_CONTROLPLANE_SYNC_RESYNC_H_
#define XLB_CONTROLPLANE_SYNC_RESYNC_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controlplane/sync/auth.h"
#include "controlplane/sync/wire.h"

namespace xlb::sync {

inline constexpr size_t kFrameLenBytes = 4;

// `message` (an encoded Message) with its length in front.
std::string Frame(absl::string_view message);

// Cuts a byte stream into frames. A length of 0 or over kMaxFrameLen is an
// error (the stream is not ours, or corrupt): nothing more is read.
class FrameReader {
 public:
  // Adds bytes read from the stream.
  absl::Status Append(absl::string_view bytes);
  // The next whole frame's message, if one is there.
  std::optional<std::string> Next();
  // Bytes held that make no whole frame yet.
  size_t pending() const { return buffer_.size() - start_; }

 private:
  absl::Status CheckLength();
  std::string buffer_;
  size_t start_ = 0;
};

// The framed RESYNC_REQUEST of `sender_id` with `nonce`.
absl::StatusOr<std::string> ResyncRequest(const Key& key, uint32_t sender_id, uint64_t nonce);

// The nonce of a request frame's message, or why it is not one: not signed
// by `key`, not a RESYNC_REQUEST, or a nonce of 0.
absl::StatusOr<uint64_t> CheckResyncRequest(absl::string_view message, const Key& key);

// The framed chunk `index` of the answer to the request `nonce`: records
// [index * kMaxFrameRecords, +kMaxFrameRecords) of `records`.
absl::StatusOr<std::string> ResyncChunk(const Key& key, uint32_t sender_id, uint64_t nonce,
                                        const std::vector<FlowRecord>& records, size_t index);
// How many chunks `count` records take.
inline size_t ResyncChunkCount(size_t count) {
  return (count + kMaxFrameRecords - 1) / kMaxFrameRecords;
}
// Every chunk (none when there are no records); then comes DONE.
absl::StatusOr<std::vector<std::string>> ResyncChunks(const Key& key, uint32_t sender_id,
                                                      uint64_t nonce,
                                                      const std::vector<FlowRecord>& records);
absl::StatusOr<std::string> ResyncDone(const Key& key, uint32_t sender_id, uint64_t nonce,
                                       uint64_t count);

// One answer frame's message, checked: signed by `key`, a RESYNC_CHUNK or
// RESYNC_DONE carrying `nonce`. For DONE, header.sequence is the count.
absl::StatusOr<Message> CheckResyncAnswer(absl::string_view message, const Key& key,
                                          uint64_t nonce);

}  // namespace xlb::sync

#endif  // XLB_CONTROLPLANE_SYNC_RESYNC_H_
