// libFuzzer target: the sync datagram decoder and the replay window
// (controlplane/sync/). Input: one mode byte, then
//   mode 0/1: a datagram (Decode, with the codec's own record limit);
//             odd: its last 32 bytes replaced by its valid tag first, as a
//             peer holding the key would send: a fuzzer never guesses an
//             HMAC, and without this it would never get past that check;
//   mode 2:   headers for one ReplayWindow, 11 bytes each: sender (1 byte,
//             peer 0 or another), epoch (2), sequence (8).
// Properties: whatever decodes re-encodes to the same bytes and nothing
// else is produced on a refusal; no (epoch, sequence) is ever admitted twice
// and the window's counters add up.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <utility>

#include "controlplane/sync/auth.h"
#include "controlplane/sync/replay.h"
#include "controlplane/sync/wire.h"

namespace {

using namespace xlb::sync;

const Key& FuzzKey() {
  static const Key key = *Key::FromBytes("the key of the sync fuzz target.");
  return key;
}

void CheckDecode(const std::string& d) {
  DecodeResult r = Decode(d, FuzzKey(), kMaxFrameRecords);
  if (r.Describe().empty()) abort();
  if (!r.ok()) {
    if (!r.message.records.empty()) abort();
    return;
  }
  absl::StatusOr<std::string> again = Encode(r.message, FuzzKey());
  if (!again.ok() || *again != d) abort();
}

void CheckReplay(const uint8_t* p, size_t size) {
  ReplayWindow w(0);
  std::set<std::pair<uint64_t, uint64_t>> admitted;
  uint64_t calls = 0;
  for (; size >= 11; p += 11, size -= 11, ++calls) {
    Header h;
    h.sender_id = p[0] & 1;
    h.epoch = static_cast<uint64_t>(p[1]) << 8 | p[2];
    for (int i = 0; i < 8; ++i) h.sequence = h.sequence << 8 | p[3 + i];
    const ReplayVerdict v = w.Admit(h);
    if (Admitted(v) && !admitted.insert({h.epoch, h.sequence}).second) abort();
    if (Admitted(v) && (w.epoch() != h.epoch || w.missing() > kReplayWindow)) abort();
  }
  uint64_t sum = 0;
  for (int v = 0; v < static_cast<int>(ReplayVerdict::kCount); ++v)
    sum += w.count(static_cast<ReplayVerdict>(v));
  if (sum != calls) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0] % 3;
  ++data;
  --size;
  if (mode == 2) {
    CheckReplay(data, size);
    return 0;
  }
  std::string d(reinterpret_cast<const char*>(data), size);
  if (mode == 1 && d.size() >= kTagLen) {
    const size_t signed_len = d.size() - kTagLen;
    const Tag tag = *FuzzKey().Sign(absl::string_view(d).substr(0, signed_len));
    d.replace(signed_len, kTagLen, reinterpret_cast<const char*>(tag.data()), tag.size());
  }
  CheckDecode(d);
  return 0;
}
