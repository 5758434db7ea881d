#include "controlplane/sync/replay.h"

#include <algorithm>

namespace xlb::sync {

absl::string_view ReplayVerdictName(ReplayVerdict verdict) {
  switch (verdict) {
    case ReplayVerdict::kAccepted: return "accepted";
    case ReplayVerdict::kNewEpoch: return "new epoch";
    case ReplayVerdict::kWrongSender: return "wrong sender";
    case ReplayVerdict::kOldEpoch: return "old epoch";
    case ReplayVerdict::kDuplicate: return "duplicate";
    case ReplayVerdict::kTooOld: return "too old";
    case ReplayVerdict::kCount: break;
  }
  return "unknown verdict";
}

uint64_t ReplayWindow::Low() const {
  const uint64_t window_low = top_ >= kReplayWindow - 1 ? top_ - (kReplayWindow - 1) : 0;
  return std::max(first_, window_low);
}

void ReplayWindow::Start(uint64_t epoch, uint64_t seq) {
  started_ = true;
  epoch_ = epoch;
  top_ = first_ = seq;
  bits_.fill(0);
  Mark(seq);
}

uint64_t ReplayWindow::missing() const {
  if (!started_) return 0;
  uint64_t n = 0;
  for (uint64_t s = Low();; ++s) {
    n += !Seen(s);
    if (s == top_) break;
  }
  return n;
}

ReplayVerdict ReplayWindow::Admit(const Header& h) {
  if (h.sender_id != sender_id_) return Count(ReplayVerdict::kWrongSender);
  const uint64_t seq = h.sequence;
  if (!started_ || h.epoch > epoch_) {
    // Numbers of the old epoch still missing are not counted: its end is unknown.
    Start(h.epoch, seq);
    return Count(ReplayVerdict::kNewEpoch);
  }
  if (h.epoch < epoch_) return Count(ReplayVerdict::kOldEpoch);

  if (seq > top_) {
    // Numbers up to seq - kReplayWindow leave the window: those not seen
    // are gaps. Bounded work: at most one pass over the window.
    if (seq >= kReplayWindow) {
      const uint64_t leave_high = seq - kReplayWindow;  // the highest number leaving
      const uint64_t low = Low();
      if (leave_high >= low) {
        uint64_t seen = 0;
        for (uint64_t s = low; s <= std::min(top_, leave_high); ++s) seen += Seen(s);
        gaps_ += leave_high - low + 1 - seen;
      }
    }
    if (seq - top_ >= kReplayWindow) {
      bits_.fill(0);
    } else {
      for (uint64_t s = top_ + 1; s < seq; ++s) Clear(s);
    }
    top_ = seq;
    Mark(seq);
    return Count(ReplayVerdict::kAccepted);
  }
  if (top_ - seq >= kReplayWindow) return Count(ReplayVerdict::kTooOld);
  if (seq < first_) {
    // Within the window but before the first number heard: a reordered
    // datagram from when we started listening. Never marked, so not seen.
    first_ = seq;
    Mark(seq);
    return Count(ReplayVerdict::kAccepted);
  }
  if (Seen(seq)) return Count(ReplayVerdict::kDuplicate);
  Mark(seq);
  return Count(ReplayVerdict::kAccepted);
}

}  // namespace xlb::sync
