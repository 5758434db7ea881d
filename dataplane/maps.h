// Typed access to the XDP program's maps (layouts in bpf/xlb_abi.h). Each
// map's key and value types are the ones its line in XLB_MAPS (bpf/maps.h)
// gives: an access with another type does not compile.
#ifndef XLB_DATAPLANE_MAPS_H_
#define XLB_DATAPLANE_MAPS_H_

#include <concepts>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

extern "C" {
#include "bpf/maps.h"
#include "bpf/xlb_abi.h"
}

namespace xlb::dataplane {

// Number of possible CPUs: the value count of a per-CPU map.
int PossibleCpus();

// One map: its fd (owned) and its name, for error messages. Entries are read
// and written through the typed maps below, which give the raw calls their
// types.
class MapFd {
 public:
  MapFd() = default;
  MapFd(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  MapFd(MapFd&& o) noexcept : fd_(o.fd_), name_(std::move(o.name_)) { o.fd_ = -1; }
  MapFd& operator=(MapFd&& o) noexcept;
  MapFd(const MapFd&) = delete;
  MapFd& operator=(const MapFd&) = delete;
  ~MapFd();

  int fd() const { return fd_; }
  const std::string& name() const { return name_; }

 protected:
  // False when the key is absent; an error for anything else.
  absl::StatusOr<bool> LookupRaw(const void* key, void* value) const;
  absl::Status UpdateRaw(const void* key, const void* value, uint64_t flags) const;
  // Deleting an absent key is not an error.
  absl::Status DeleteRaw(const void* key) const;
  // Key after `key` (nullptr: the first); false at the end.
  absl::StatusOr<bool> NextKeyRaw(const void* key, void* next) const;
  // Up to *count entries from batch position `in` (nullptr: the start) into
  // `keys` and `values`; sets *count to the number read and `out` to the
  // next position. False when that was the last batch.
  absl::StatusOr<bool> LookupBatchRaw(uint32_t* in, uint32_t* out, void* keys,
                                      void* values, uint32_t* count) const;
  // Deletes `count` keys of `key_size` bytes each, in batches; keys already
  // gone (the LRU or the data path took them meanwhile) are skipped. Returns
  // how many were deleted.
  absl::StatusOr<size_t> DeleteAllRaw(const void* keys, size_t count, size_t key_size) const;

 private:
  int fd_ = -1;
  std::string name_;
};

// A map of one value of type V per key of type K. Pointers, as in libbpf,
// but typed: a pointer to another type (or void*) does not convert.
template <typename K, typename V>
class Map : public MapFd {
 public:
  using Key = K;
  using Value = V;
  static constexpr size_t kValueSize = sizeof(V);  // as the kernel reports it
  using MapFd::MapFd;

  absl::StatusOr<bool> Lookup(const K* key, V* value) const { return LookupRaw(key, value); }
  absl::Status Update(const K* key, const V* value, uint64_t flags = 0) const {
    return UpdateRaw(key, value, flags);
  }
  absl::Status Delete(const K* key) const { return DeleteRaw(key); }
  // Deletes every key of `keys` (absent ones are skipped); how many were.
  absl::StatusOr<size_t> DeleteAll(const std::vector<K>& keys) const {
    return DeleteAllRaw(keys.data(), keys.size(), sizeof(K));
  }
  absl::StatusOr<bool> NextKey(const K* key, K* next) const { return NextKeyRaw(key, next); }
  // One batch of a walk (BatchCursor's): see MapFd::LookupBatchRaw.
  absl::StatusOr<bool> LookupBatch(uint32_t* in, uint32_t* out, K* keys, V* values,
                                   uint32_t* count) const {
    return LookupBatchRaw(in, out, keys, values, count);
  }

  // Calls visit(key, value) for each entry until it returns false, reading
  // keys and values in batches: one system call per few thousand entries,
  // where walking the keys one at a time (two calls an entry) took half a
  // second on a full connection table, with xlbd's loop waiting.
  template <typename Visit>
  absl::Status ForEachEntry(Visit visit) const;
};

// A walk of a map in batches that can pause between two and go on later:
// ForEachEntry's walk, and the sync refresh walk's (a batch per turn of
// xlbd's loop). A hash map's position is a bucket index, so entries added or
// removed meanwhile do not derail it (each is seen at most once; one added
// behind the cursor is not seen). The map must outlive it.
template <typename K, typename V>
class BatchCursor {
 public:
  static constexpr uint32_t kBatch = 4096;
  explicit BatchCursor(const Map<K, V>& map, uint32_t batch = kBatch)
      : map_(map), keys_(batch), values_(batch) {}

  // Reads the next batch and calls visit(key, value) for its entries until
  // one returns false. True while the walk goes on: false once the batch
  // read was the map's last, or visit stopped it.
  template <typename Visit>
  absl::StatusOr<bool> Next(Visit&& visit) {
    if (done_) return false;
    uint32_t count = static_cast<uint32_t>(keys_.size());
    auto more = map_.LookupBatch(started_ ? &position_ : nullptr, &position_, keys_.data(),
                                 values_.data(), &count);
    if (!more.ok()) return more.status();
    started_ = true;
    done_ = !*more;
    for (uint32_t i = 0; i < count; ++i)
      if (!visit(keys_[i], values_[i])) done_ = true;
    return !done_;
  }
  bool done() const { return done_; }

 private:
  const Map<K, V>& map_;
  std::vector<K> keys_;
  std::vector<V> values_;
  uint32_t position_ = 0;
  bool started_ = false, done_ = false;
};

template <typename K, typename V>
template <typename Visit>
absl::Status Map<K, V>::ForEachEntry(Visit visit) const {
  BatchCursor<K, V> cursor(*this);
  while (true) {
    auto more = cursor.Next(visit);
    if (!more.ok()) return more.status();
    if (!*more) return absl::OkStatus();
  }
}

// A per-CPU map: one V per CPU and key, read summed over the CPUs. It has no
// Lookup or Update: a single V would be too small a buffer.
template <typename K, typename V>
class PerCpuMap : public MapFd {
 public:
  using Key = K;
  using Value = V;
  static constexpr size_t kValueSize = sizeof(V);
  using MapFd::MapFd;

  // Sums the value at `key` over CPUs (V is made of u64 counters); zero where
  // a per-CPU hash has no such key.
  absl::StatusOr<V> Sum(const std::same_as<K> auto& key) const {
    static_assert(sizeof(V) % sizeof(uint64_t) == 0, "per-CPU values are made of u64 counters");
    constexpr size_t kWords = sizeof(V) / sizeof(uint64_t);
    std::vector<uint64_t> values(PossibleCpus() * kWords);
    auto found = LookupRaw(&key, values.data());
    if (!found.ok()) return found.status();
    uint64_t sum[kWords] = {};
    for (int cpu = 0; cpu < PossibleCpus(); ++cpu)
      for (size_t w = 0; w < kWords; ++w) sum[w] += values[cpu * kWords + w];
    V out;
    std::memcpy(&out, sum, sizeof(out));
    return out;
  }
  // Zeroes the value at `key` on every CPU.
  absl::Status Zero(const std::same_as<K> auto& key) const {
    // Per-CPU values are 8-byte aligned per CPU.
    std::vector<uint64_t> zeros((sizeof(V) + 7) / 8 * PossibleCpus(), 0);
    return UpdateRaw(&key, zeros.data(), 0);
  }
};

// An array of maps: an inner map is set by its fd and read back as its id.
template <typename K>
class MapOfMaps : public MapFd {
 public:
  using Key = K;
  static constexpr size_t kValueSize = sizeof(uint32_t);
  using MapFd::MapFd;

  absl::StatusOr<bool> Lookup(const K* key, uint32_t* inner_id) const {
    return LookupRaw(key, inner_id);
  }
  absl::Status Update(const K* key, const int* inner_fd) const {
    return UpdateRaw(key, inner_fd, 0);
  }
  absl::Status Delete(const K* key) const { return DeleteRaw(key); }
};

// A BPF ring buffer: no keys or values; read with libbpf's ring_buffer on
// its fd.
class RingMap : public MapFd {
 public:
  using MapFd::MapFd;
};

// The handle for a map of `type`: per-CPU maps are summed, others read as is.
template <bpf_map_type type, typename K, typename V>
using MapOf = std::conditional_t<type == BPF_MAP_TYPE_PERCPU_ARRAY ||
                                     type == BPF_MAP_TYPE_PERCPU_HASH ||
                                     type == BPF_MAP_TYPE_LRU_PERCPU_HASH,
                                 PerCpuMap<K, V>, Map<K, V>>;

// Every pinned map of the program, as XLB_MAPS in bpf/maps.h lists them.
struct Maps {
#define XLB_MAP_FIELD(name, type, max_entries, flags, K, V) MapOf<type, K, V> name;
#define XLB_MAP_OF_MAPS_FIELD(name, type, max_entries, flags, K, inner) MapOfMaps<K> name;
#define XLB_MAP_RING_FIELD(name, bytes) RingMap name;
  XLB_MAPS(XLB_MAP_FIELD, XLB_MAP_OF_MAPS_FIELD, XLB_MAP_RING_FIELD)
#undef XLB_MAP_FIELD
#undef XLB_MAP_OF_MAPS_FIELD
#undef XLB_MAP_RING_FIELD

  // The names, as in bpf/maps.h; also the pin file names.
#define XLB_MAP_NAME(name, ...) #name,
  static constexpr const char* kNames[] = {XLB_MAPS(XLB_MAP_NAME, XLB_MAP_NAME, XLB_MAP_NAME)};
#undef XLB_MAP_NAME

  // Calls visit(name, map) for every map until one returns an error, `map`
  // being its typed handle (a MapFd& parameter takes any of them).
  template <typename Visit>
  absl::Status ForEach(Visit&& visit) {
    absl::Status status;
#define XLB_VISIT_MAP(name, ...) \
  if (status.ok()) status = visit(#name, name);
    XLB_MAPS(XLB_VISIT_MAP, XLB_VISIT_MAP, XLB_VISIT_MAP)
#undef XLB_VISIT_MAP
    return status;
  }

  // Opens the maps pinned under `pin_dir` by a running (or earlier) xlb.
  static absl::StatusOr<Maps> OpenPinned(const std::string& pin_dir);
};

// Nothing but the listed maps: the typed handles add no data to MapFd.
static_assert(sizeof(Maps) == std::size(Maps::kNames) * sizeof(MapFd));

}  // namespace xlb::dataplane

#endif  // XLB_DATAPLANE_MAPS_H_
