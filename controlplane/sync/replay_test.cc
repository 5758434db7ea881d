#include "controlplane/sync/replay.h"

#include "gtest/gtest.h"

namespace xlb::sync {
namespace {

constexpr uint32_t kPeer = 7;
constexpr uint64_t kEpoch = 1'764'700'000'000'000'000;

Header H(uint64_t seq, uint64_t epoch = kEpoch, uint32_t sender = kPeer) {
  return {MessageType::kEvents, sender, epoch, seq};
}

TEST(Replay, InOrderThenDuplicate) {
  ReplayWindow w(kPeer);
  EXPECT_EQ(w.Admit(H(1)), ReplayVerdict::kNewEpoch);
  for (uint64_t s = 2; s <= 5000; ++s) ASSERT_EQ(w.Admit(H(s)), ReplayVerdict::kAccepted) << s;
  EXPECT_EQ(w.Admit(H(5000)), ReplayVerdict::kDuplicate);
  EXPECT_EQ(w.Admit(H(5000 - 1023)), ReplayVerdict::kDuplicate);  // the window's lowest
  EXPECT_EQ(w.Admit(H(5000 - 1024)), ReplayVerdict::kTooOld);     // just below it
  EXPECT_EQ(w.Admit(H(1)), ReplayVerdict::kTooOld);
  EXPECT_EQ(w.gaps(), 0u);
  EXPECT_EQ(w.missing(), 0u);
  EXPECT_EQ(w.count(ReplayVerdict::kAccepted), 4999u);
  EXPECT_EQ(w.count(ReplayVerdict::kDuplicate), 2u);
  EXPECT_EQ(w.count(ReplayVerdict::kTooOld), 2u);
}

TEST(Replay, OutOfOrderWithinTheWindow) {
  ReplayWindow w(kPeer);
  EXPECT_EQ(w.Admit(H(100)), ReplayVerdict::kNewEpoch);
  EXPECT_EQ(w.Admit(H(103)), ReplayVerdict::kAccepted);
  EXPECT_EQ(w.missing(), 2u);  // 101, 102
  EXPECT_EQ(w.Admit(H(102)), ReplayVerdict::kAccepted);
  EXPECT_EQ(w.Admit(H(101)), ReplayVerdict::kAccepted);
  EXPECT_EQ(w.Admit(H(101)), ReplayVerdict::kDuplicate);
  EXPECT_EQ(w.missing(), 0u);
  // Reordered from before we started listening, still inside the window.
  EXPECT_EQ(w.Admit(H(99)), ReplayVerdict::kAccepted);
  EXPECT_EQ(w.Admit(H(99)), ReplayVerdict::kDuplicate);
  EXPECT_EQ(w.Admit(H(1103)), ReplayVerdict::kAccepted);
  EXPECT_EQ(w.Admit(H(79)), ReplayVerdict::kTooOld);    // 1103 - 79 = 1024: just below
  EXPECT_EQ(w.Admit(H(80)), ReplayVerdict::kAccepted);  // the window's lowest, unseen
  EXPECT_EQ(w.Admit(H(99)), ReplayVerdict::kDuplicate);
  EXPECT_EQ(w.highest(), 1103u);
}

TEST(Replay, GapsCountedWhenTheWindowPassesThem) {
  ReplayWindow w(kPeer);
  w.Admit(H(0));
  w.Admit(H(10));  // 1..9 missing, still in the window
  EXPECT_EQ(w.gaps(), 0u);
  EXPECT_EQ(w.missing(), 9u);
  w.Admit(H(5));
  EXPECT_EQ(w.Admit(H(1024 + 4)), ReplayVerdict::kAccepted);  // 0..4 leave: 1..4 unseen
  EXPECT_EQ(w.gaps(), 4u);
  w.Admit(H(1024 + 10));  // 5..10 leave: 6..9 unseen
  EXPECT_EQ(w.gaps(), 8u);
  // A jump far beyond the window: everything between counts, in bounded work.
  w.Admit(H(1'000'000'000'000));
  // Leaving: 11..1033 of the window but 1028 (1022), and 1035..10^12 - 1024
  // that were never in it; 10^12 - 1023 .. 10^12 - 1 stay in the window.
  EXPECT_EQ(w.gaps(), 8u + 1022u + (1'000'000'000'000 - 1024 - 1035 + 1));
  EXPECT_EQ(w.missing(), 1023u);
  EXPECT_EQ(w.Admit(H(1'000'000'000'000 - 1)), ReplayVerdict::kAccepted);
}

TEST(Replay, NewEpochResetsOldEpochRefused) {
  ReplayWindow w(kPeer);
  w.Admit(H(500));
  w.Admit(H(501));
  // The peer restarted: its numbers start again.
  EXPECT_EQ(w.Admit(H(1, kEpoch + 1)), ReplayVerdict::kNewEpoch);
  EXPECT_EQ(w.epoch(), kEpoch + 1);
  EXPECT_EQ(w.Admit(H(2, kEpoch + 1)), ReplayVerdict::kAccepted);
  // Anything from before the restart is a replay, whatever its number.
  EXPECT_EQ(w.Admit(H(502)), ReplayVerdict::kOldEpoch);
  EXPECT_EQ(w.Admit(H(3)), ReplayVerdict::kOldEpoch);
  EXPECT_EQ(w.Admit(H(1, kEpoch + 1)), ReplayVerdict::kDuplicate);
  EXPECT_EQ(w.count(ReplayVerdict::kNewEpoch), 2u);
  EXPECT_EQ(w.count(ReplayVerdict::kOldEpoch), 2u);
  EXPECT_EQ(w.gaps(), 0u);  // the old epoch's end is unknown: not counted
}

TEST(Replay, OtherSenderRefused) {
  ReplayWindow w(kPeer);
  EXPECT_EQ(w.Admit(H(1, kEpoch, kPeer + 1)), ReplayVerdict::kWrongSender);
  EXPECT_FALSE(w.started());
  w.Admit(H(1));
  EXPECT_EQ(w.Admit(H(2, kEpoch + 5, kPeer + 1)), ReplayVerdict::kWrongSender);
  EXPECT_EQ(w.epoch(), kEpoch);
  EXPECT_EQ(w.count(ReplayVerdict::kWrongSender), 2u);
}

TEST(Replay, EdgesOfTheNumberSpace) {
  ReplayWindow w(kPeer);
  EXPECT_EQ(w.Admit(H(~uint64_t{0} - 1)), ReplayVerdict::kNewEpoch);
  EXPECT_EQ(w.Admit(H(~uint64_t{0})), ReplayVerdict::kAccepted);
  EXPECT_EQ(w.Admit(H(~uint64_t{0})), ReplayVerdict::kDuplicate);
  EXPECT_EQ(w.Admit(H(0)), ReplayVerdict::kTooOld);
  EXPECT_EQ(w.missing(), 0u);
}

TEST(Replay, VerdictNames) {
  EXPECT_EQ(ReplayVerdictName(ReplayVerdict::kTooOld), "too old");
  EXPECT_EQ(ReplayVerdictName(ReplayVerdict::kOldEpoch), "old epoch");
  EXPECT_TRUE(Admitted(ReplayVerdict::kNewEpoch));
  EXPECT_FALSE(Admitted(ReplayVerdict::kDuplicate));
}

}  // namespace
}  // namespace xlb::sync
