// Typed access to the XDP program's maps (layouts in bpf/xlb_abi.h).
#ifndef XLB_DATAPLANE_MAPS_H_
#define XLB_DATAPLANE_MAPS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

extern "C" {
#include "bpf/xlb_abi.h"
}

namespace xlb::dataplane {

// One map: its fd (owned) and its name, for error messages.
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

  // False when the key is absent; an error for anything else.
  absl::StatusOr<bool> Lookup(const void* key, void* value) const;
  absl::Status Update(const void* key, const void* value, uint64_t flags = 0) const;
  // Deleting an absent key is not an error.
  absl::Status Delete(const void* key) const;
  // Key after `key` (nullptr: the first); false at the end.
  absl::StatusOr<bool> NextKey(const void* key, void* next) const;

 private:
  int fd_ = -1;
  std::string name_;
};

// Number of possible CPUs: the value count of a per-CPU map.
int PossibleCpus();

// Every map of the program.
struct Maps {
  MapFd services, service_gens, vips, vip_filter, nat_real_filter, reals, nat_reals, maglev_tables, conn_table, nat_replies, persist_table, tx_ports, iface_macs,
      global_stats, service_stats, real_stats;

  // The names, as in bpf/maps.h; also the pin file names.
  static const std::vector<std::string>& Names();
  MapFd* ByName(const std::string& name);

  // Opens the maps pinned under `pin_dir` by a running (or earlier) xlb.
  static absl::StatusOr<Maps> OpenPinned(const std::string& pin_dir);

  // Sums a per-CPU array's slot `index` over CPUs, for a value made of u64s.
  template <typename T>
  absl::StatusOr<T> SumPerCpu(const MapFd& map, uint32_t index) const;
  // Zeroes slot `index` of a per-CPU array on every CPU.
  absl::Status ZeroPerCpu(const MapFd& map, uint32_t index, size_t value_size) const;
};

}  // namespace xlb::dataplane

#endif  // XLB_DATAPLANE_MAPS_H_
