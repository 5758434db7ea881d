#include "dataplane/maglev.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace xlb::dataplane {
namespace {

constexpr uint32_t kM = 65537;

// n reals "10.0.<i/256>.<i%256>:80" with ids 1..n and the given weight.
std::vector<MaglevBackend> Reals(int n, uint32_t weight = 1) {
  std::vector<MaglevBackend> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({"10.0." + std::to_string(i / 256) + "." +
                       std::to_string(i % 256) + ":80",
                   static_cast<uint32_t>(i + 1), weight});
  }
  return out;
}

std::map<uint32_t, int> Counts(const std::vector<uint32_t>& table) {
  std::map<uint32_t, int> counts;
  for (uint32_t id : table) ++counts[id];
  return counts;
}

std::vector<uint32_t> MustBuild(std::vector<MaglevBackend> backends,
                                uint32_t size) {
  absl::StatusOr<std::vector<uint32_t>> t =
      BuildMaglevTable(std::move(backends), size);
  EXPECT_TRUE(t.ok()) << t.status();
  if (!t.ok()) return {};
  EXPECT_EQ(t->size(), size);
  return *std::move(t);
}

void ExpectInvalid(std::vector<MaglevBackend> backends, uint32_t size,
                   const std::string& fragment) {
  absl::StatusOr<std::vector<uint32_t>> t =
      BuildMaglevTable(std::move(backends), size);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument)
      << t.status();
  EXPECT_NE(t.status().message().find(fragment), std::string::npos)
      << "message \"" << t.status().message() << "\" lacks \"" << fragment
      << "\"";
}

TEST(MaglevTest, EqualWeightsAreBalanced) {
  const std::vector<uint32_t> t = MustBuild(Reals(100), kM);
  const std::map<uint32_t, int> counts = Counts(t);
  ASSERT_EQ(counts.size(), 100u);
  const double ideal = kM / 100.0;
  double max_dev = 0;
  for (const auto& [id, n] : counts) {
    EXPECT_NE(id, 0u);
    max_dev = std::max(max_dev, std::abs(n - ideal) / ideal);
    EXPECT_LE(std::abs(n - ideal), 0.01 * ideal) << "real " << id;
  }
  std::printf("equal weights: max deviation %.4f%% of M/100\n", 100 * max_dev);
}

TEST(MaglevTest, WeightsAreProportional) {
  const std::vector<uint32_t> t =
      MustBuild({{"a", 1, 1}, {"b", 2, 2}, {"c", 3, 3}}, kM);
  std::map<uint32_t, int> counts = Counts(t);
  ASSERT_EQ(counts.size(), 3u);
  for (uint32_t id = 1; id <= 3; ++id) {
    const double share = static_cast<double>(counts[id]) / kM;
    std::printf("weight %u: %d slots, share %.5f (ideal %.5f)\n", id,
                counts[id], share, id / 6.0);
    EXPECT_NEAR(share, id / 6.0, 0.01) << "real " << id;
  }
}

TEST(MaglevTest, RemovingOneRealCausesLittleDisruption) {
  std::vector<MaglevBackend> reals = Reals(100);
  const std::vector<uint32_t> before = MustBuild(reals, kM);
  const uint32_t removed = reals[42].id;
  reals.erase(reals.begin() + 42);
  const std::vector<uint32_t> after = MustBuild(reals, kM);
  ASSERT_EQ(before.size(), after.size());

  int kept = 0;
  int moved = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_NE(after[i], removed);
    if (before[i] == removed) continue;
    ++kept;
    if (after[i] != before[i]) ++moved;
  }
  const double fraction = static_cast<double>(moved) / kept;
  std::printf("removal: %d of %d surviving slots moved (%.4f%%)\n", moved, kept,
              100 * fraction);
  EXPECT_LE(fraction, 0.015);
}

TEST(MaglevTest, InputOrderDoesNotMatter) {
  std::vector<MaglevBackend> reals = Reals(50);
  for (size_t i = 0; i < reals.size(); ++i) {
    reals[i].weight = static_cast<uint32_t>(1 + i % 4);  // mixed weights
  }
  const std::vector<uint32_t> reference = MustBuild(reals, kM);
  for (uint32_t seed : {1u, 2u, 3u, 42u, 1234u}) {
    std::mt19937 rng(seed);
    std::shuffle(reals.begin(), reals.end(), rng);
    EXPECT_EQ(MustBuild(reals, kM), reference) << "shuffle seed " << seed;
  }
  std::reverse(reals.begin(), reals.end());
  EXPECT_EQ(MustBuild(reals, kM), reference) << "reversed";
}

TEST(MaglevTest, ZeroWeightOwnsNothing) {
  std::vector<MaglevBackend> reals = Reals(10);
  reals[3].weight = 0;
  reals[7].weight = 0;
  const std::map<uint32_t, int> counts = Counts(MustBuild(reals, kM));
  EXPECT_EQ(counts.size(), 8u);
  EXPECT_EQ(counts.count(reals[3].id), 0u);
  EXPECT_EQ(counts.count(reals[7].id), 0u);
  EXPECT_EQ(counts.count(0), 0u);
}

TEST(MaglevTest, ZeroWeightRealsDoNotChangeTheTable) {
  // Draining a real (weight 0) is the same as removing it.
  std::vector<MaglevBackend> reals = Reals(10);
  std::vector<MaglevBackend> fewer = reals;
  fewer.erase(fewer.begin() + 4);
  reals[4].weight = 0;
  EXPECT_EQ(MustBuild(reals, kM), MustBuild(fewer, kM));
}

TEST(MaglevTest, AllWeightsZeroGivesEmptyTable) {
  const std::vector<uint32_t> t = MustBuild(Reals(5, 0), kM);
  EXPECT_TRUE(std::all_of(t.begin(), t.end(), [](uint32_t v) { return v == 0; }));
  const std::vector<uint32_t> none = MustBuild({}, 13);
  EXPECT_EQ(none, std::vector<uint32_t>(13, 0));
}

TEST(MaglevTest, SingleRealOwnsEverySlot) {
  const std::vector<uint32_t> t = MustBuild({{"203.0.113.11:80", 7, 5}}, kM);
  EXPECT_EQ(t, std::vector<uint32_t>(kM, 7));
}

TEST(MaglevTest, EveryPositiveWeightOwnsASlot) {
  // A tiny weight next to a huge one still gets a slot, and as many reals as
  // slots fill the table one each.
  std::map<uint32_t, int> counts =
      Counts(MustBuild({{"big", 1, 4000000000u}, {"small", 2, 1}}, kM));
  EXPECT_GE(counts[2], 1);
  EXPECT_EQ(counts[1] + counts[2], static_cast<int>(kM));

  counts = Counts(MustBuild(Reals(13), 13));
  EXPECT_EQ(counts.size(), 13u);
  for (const auto& [id, n] : counts) EXPECT_EQ(n, 1) << "real " << id;
}

TEST(MaglevTest, MinAndMaxSizes) {
  EXPECT_EQ(MustBuild(Reals(3), model::kMaglevMinSize).size(), model::kMaglevMinSize);
  const std::map<uint32_t, int> counts =
      Counts(MustBuild(Reals(4), model::kMaglevMaxSize));
  EXPECT_EQ(counts.size(), 4u);
}

TEST(MaglevTest, Errors) {
  ExpectInvalid(Reals(3), 65536, "maglev table size 65536 is not prime");
  ExpectInvalid(Reals(3), 9, "size 9 is not prime");
  ExpectInvalid(Reals(3), 5, "size 5 is outside");
  ExpectInvalid(Reals(3), 0, "size 0 is outside");
  ExpectInvalid(Reals(3), 1048583, "size 1048583 is outside");  // prime > 2^20
  ExpectInvalid({{"a", 1, 1}, {"b", 0, 1}}, 13, "\"b\" has id 0");
  ExpectInvalid({{"a", 1, 1}, {"b", 0, 0}}, 13, "\"b\" has id 0");
  ExpectInvalid({{"a", 1, 1}, {"b", 2, 1}, {"a", 3, 0}}, 13,
                "duplicate maglev backend key \"a\"");
  ExpectInvalid({{"a", 1, 1}, {"b", 2, 1}, {"c", 2, 0}}, 13,
                "duplicate maglev backend id 2");
  ExpectInvalid(Reals(14), 13, "14 maglev backends with weight > 0 exceed");
  // Backends with weight 0 don't count against the size.
  std::vector<MaglevBackend> reals = Reals(20);
  for (size_t i = 13; i < reals.size(); ++i) reals[i].weight = 0;
  EXPECT_TRUE(BuildMaglevTable(reals, 13).ok());
}

// Pinned regressions. Every director must compute the identical table, so the
// hash (FNV-1a 64 + fmix64, offset/skip seeds) and the population order are
// part of the wire contract between xlb versions. If one of these fails, the
// hash or the algorithm changed by accident: fix the code, don't update the
// literal (unless the change is deliberate and ships as a fleet-wide change).
TEST(MaglevTest, PinnedSmallTable) {
  const std::vector<uint32_t> t =
      MustBuild({{"a", 1, 1}, {"b", 2, 1}, {"c", 3, 1}}, 13);
  const std::vector<uint32_t> expected = {2, 1, 2, 3, 3, 1, 2, 3, 3, 1, 1, 2, 1};
  EXPECT_EQ(t, expected);
}

TEST(MaglevTest, PinnedLargeTablePrefix) {
  const std::vector<uint32_t> t = MustBuild(Reals(100), kM);
  ASSERT_GE(t.size(), 16u);
  const std::vector<uint32_t> first16(t.begin(), t.begin() + 16);
  const std::vector<uint32_t> expected = {41, 7,  69, 3,  99, 85, 76, 88,
                                          59, 58, 63, 94, 91, 62, 78, 21};
  EXPECT_EQ(first16, expected);
}

}  // namespace
}  // namespace xlb::dataplane
