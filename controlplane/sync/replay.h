// The replay window of one peer (docs/sync-design.md "Receiver"): which
// datagrams of a sender, already authenticated, may be acted upon. RFC 4303
// (ESP) style, keyed by (epoch, sequence):
//   - a sender id other than the peer's: refused;
//   - a newer epoch (the peer restarted): the window starts again there;
//   - an older epoch: refused (a replay from before the restart);
//   - in the current epoch, a sequence number above the highest seen slides
//     the window up; one within the window that was not seen is accepted
//     (reordering); one seen already, or below the window, is refused.
// The window spans kReplayWindow numbers: 1 024 datagrams, ~22 000 records,
// far more reordering than one network path shows, for 128 bytes per peer.
// Numbers that leave the window unseen are counted as gaps (lost datagrams),
// from the first number heard in the epoch on. Pure: no clock, no I/O.
#ifndef XLB_CONTROLPLANE_SYNC_REPLAY_H_
#define XLB_CONTROLPLANE_SYNC_REPLAY_H_

#include <array>
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "controlplane/sync/wire.h"

namespace xlb::sync {

inline constexpr uint64_t kReplayWindow = 1024;

enum class ReplayVerdict : uint8_t {
  kAccepted = 0,  // a new number of the current epoch
  kNewEpoch,      // accepted: the first of a newer epoch (or of the peer)
  kWrongSender,   // refused: another sender id than this peer's
  kOldEpoch,      // refused: an epoch older than the current one
  kDuplicate,     // refused: this number was seen in this epoch
  kTooOld,        // refused: below the window, cannot be told from a replay
  kCount,         // number of values, for counter arrays
};

// "accepted", "old epoch", ...: the counters' labels.
absl::string_view ReplayVerdictName(ReplayVerdict verdict);
inline bool Admitted(ReplayVerdict v) {
  return v == ReplayVerdict::kAccepted || v == ReplayVerdict::kNewEpoch;
}

class ReplayWindow {
 public:
  explicit ReplayWindow(uint32_t sender_id) : sender_id_(sender_id) {}

  // Checks the header of an authenticated datagram and, if admitted, records
  // its number. Counts every verdict.
  ReplayVerdict Admit(const Header& header);

  uint32_t sender_id() const { return sender_id_; }
  bool started() const { return started_; }
  uint64_t epoch() const { return epoch_; }
  uint64_t highest() const { return top_; }  // the highest number seen in the epoch
  // Numbers that left the window unseen, over every epoch.
  uint64_t gaps() const { return gaps_; }
  // Numbers not seen yet within the window (lost or still on their way): a
  // KEEPALIVE, which takes the next number, shows a loss at the end of a burst.
  uint64_t missing() const;
  uint64_t count(ReplayVerdict v) const { return counts_[static_cast<size_t>(v)]; }

 private:
  bool Seen(uint64_t seq) const { return bits_[(seq % kReplayWindow) / 64] >> (seq % 64) & 1; }
  void Mark(uint64_t seq) { bits_[(seq % kReplayWindow) / 64] |= uint64_t{1} << (seq % 64); }
  void Clear(uint64_t seq) { bits_[(seq % kReplayWindow) / 64] &= ~(uint64_t{1} << (seq % 64)); }
  // The lowest number of the window that counts: numbers below the first
  // one heard in the epoch were never expected.
  uint64_t Low() const;
  void Start(uint64_t epoch, uint64_t seq);
  ReplayVerdict Count(ReplayVerdict v) {
    ++counts_[static_cast<size_t>(v)];
    return v;
  }

  uint32_t sender_id_;
  bool started_ = false;
  uint64_t epoch_ = 0;
  uint64_t top_ = 0;    // the highest number seen
  uint64_t first_ = 0;  // the lowest number heard in the epoch
  uint64_t gaps_ = 0;
  // Bit (n mod kReplayWindow): number n of (top_ - kReplayWindow, top_] seen.
  std::array<uint64_t, kReplayWindow / 64> bits_{};
  std::array<uint64_t, static_cast<size_t>(ReplayVerdict::kCount)> counts_{};
};

}  // namespace xlb::sync

#endif  // XLB_CONTROLPLANE_SYNC_REPLAY_H_
