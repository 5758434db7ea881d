#include "dataplane/maglev.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "model/prime.h"

namespace xlb::dataplane {

using model::IsPrime;
using model::kMaglevMaxSize;
using model::kMaglevMinSize;

namespace {

// ---- hashing ---------------------------------------------------------------
// Every director must derive the same permutation from the same key, so the
// hash is spelled out here: byte-wise FNV-1a 64 (no dependence on std::hash,
// endianness or char signedness) folded through the murmur3 fmix64 finalizer,
// which FNV alone needs because its high bits mix poorly for short keys.
// Changing any constant below reshuffles every table in a fleet: don't, or do
// it only together with a version bump (tests pin the output).

constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001b3ULL;

// Two unrelated seeds so that offset and skip are independent functions of the
// key (the paper uses two different hash functions).
constexpr uint64_t kOffsetSeed = 0x9e3779b97f4a7c15ULL;  // 2^64 / golden ratio
constexpr uint64_t kSkipSeed = 0xd6e8feb86659fd93ULL;    // arbitrary odd constant

constexpr uint64_t Fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

constexpr uint64_t KeyHash(std::string_view key, uint64_t seed) {
  uint64_t h = kFnvOffsetBasis ^ seed;
  for (char c : key) {
    h ^= static_cast<unsigned char>(c);
    h *= kFnvPrime;
  }
  return Fmix64(h);
}

// ---- population state ------------------------------------------------------

// One backend's walk through its permutation: slot_i = (offset + i*skip) % M.
// Computed on the fly instead of materialising an N x M matrix.
struct Cursor {
  uint32_t id;
  uint32_t weight;
  uint32_t next;     // the next preferred slot to try
  uint32_t skip;     // in [1, M-1]; M prime, so the walk visits every slot once
  uint32_t visited;  // slots walked past so far, never more than M
  uint64_t credit;   // weight accumulated towards the next turn (< 2 * max weight)
};

}  // namespace

absl::StatusOr<std::vector<uint32_t>> BuildMaglevTable(
    std::vector<MaglevBackend> backends, uint32_t size) {
  if (size < kMaglevMinSize || size > kMaglevMaxSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("maglev table size ", size, " is outside [",
                     kMaglevMinSize, ", ", kMaglevMaxSize, "]"));
  }
  // A prime size makes every skip in [1, M-1] coprime with M, so each
  // permutation is a full cycle and population always terminates.
  if (!IsPrime(size)) {
    return absl::InvalidArgumentError(
        absl::StrCat("maglev table size ", size, " is not prime"));
  }

  for (const MaglevBackend& b : backends) {
    // 0 marks a free slot here and "no real" in the BPF map.
    if (b.id == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("maglev backend \"", b.key, "\" has id 0"));
    }
  }

  // Sorting by key makes the result independent of the input order: the turn
  // order within a round is the only place where order could leak in.
  std::sort(backends.begin(), backends.end(),
            [](const MaglevBackend& a, const MaglevBackend& b) {
              return a.key < b.key;
            });
  for (size_t i = 1; i < backends.size(); ++i) {
    if (backends[i].key == backends[i - 1].key) {
      return absl::InvalidArgumentError(
          absl::StrCat("duplicate maglev backend key \"", backends[i].key,
                       "\""));
    }
  }

  {
    std::vector<std::pair<uint32_t, size_t>> ids;  // (id, index into backends)
    ids.reserve(backends.size());
    for (size_t i = 0; i < backends.size(); ++i) {
      ids.emplace_back(backends[i].id, i);
    }
    std::sort(ids.begin(), ids.end());
    for (size_t i = 1; i < ids.size(); ++i) {
      if (ids[i].first == ids[i - 1].first) {
        return absl::InvalidArgumentError(absl::StrCat(
            "duplicate maglev backend id ", ids[i].first, " (keys \"",
            backends[ids[i - 1].second].key, "\" and \"",
            backends[ids[i].second].key, "\")"));
      }
    }
  }

  std::vector<Cursor> cursors;
  uint32_t max_weight = 0;
  for (const MaglevBackend& b : backends) {
    if (b.weight == 0) continue;
    const auto offset =
        static_cast<uint32_t>(KeyHash(b.key, kOffsetSeed) % size);
    const auto skip =
        static_cast<uint32_t>(KeyHash(b.key, kSkipSeed) % (size - 1) + 1);
    cursors.push_back(Cursor{b.id, b.weight, offset, skip, 0, 0});
    max_weight = std::max(max_weight, b.weight);
  }
  // Every backend with weight > 0 must be able to own a slot.
  if (cursors.size() > size) {
    return absl::InvalidArgumentError(
        absl::StrCat(cursors.size(), " maglev backends with weight > 0 exceed ",
                     "table size ", size));
  }

  std::vector<uint32_t> table(size, 0);
  if (cursors.empty()) return table;

  // Start each credit at (max - weight) so every backend takes its first turn
  // in round 0: with at most `size` of them, each one with weight > 0 owns at
  // least one slot however small its weight is relative to the others.
  for (Cursor& c : cursors) c.credit = max_weight - c.weight;

  // Weighted round robin over the permutations: each round every backend earns
  // its weight and takes a turn whenever its credit reaches the maximum weight,
  // so turns (and hence slots) are proportional to weight. With equal weights
  // this is the paper's plain round robin. A max-weight backend takes a turn
  // every round, so at most `size` rounds are needed.
  uint32_t filled = 0;
  for (uint32_t round = 0; round < size && filled < size; ++round) {
    for (Cursor& c : cursors) {
      c.credit += c.weight;
      if (c.credit < max_weight) continue;
      c.credit -= max_weight;

      // Claim the next preferred free slot. Slots are never freed, so the
      // walk only moves forward: at most `size` steps per backend in total.
      while (c.visited < size && table[c.next] != 0) {
        c.next += c.skip;  // < 2^21, no overflow
        if (c.next >= size) c.next -= size;
        ++c.visited;
      }
      if (c.visited >= size) {
        // Unreachable: a full-cycle walk always finds a free slot while
        // filled < size.
        return absl::InternalError("maglev permutation exhausted");
      }
      table[c.next] = c.id;
      c.next += c.skip;
      if (c.next >= size) c.next -= size;
      ++c.visited;
      if (++filled == size) break;
    }
  }
  if (filled != size) {
    return absl::InternalError(absl::StrCat("maglev population filled ", filled,
                                            " of ", size, " slots"));
  }
  return table;
}

}  // namespace xlb::dataplane
