#include "dataplane/maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace xlb::dataplane {

MapFd& MapFd::operator=(MapFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.fd_;
    name_ = std::move(o.name_);
    o.fd_ = -1;
  }
  return *this;
}

MapFd::~MapFd() {
  if (fd_ >= 0) close(fd_);
}

static absl::Status Errno(const std::string& what, int err) {
  return absl::ErrnoToStatus(err, what);
}

absl::StatusOr<bool> MapFd::Lookup(const void* key, void* value) const {
  if (bpf_map_lookup_elem(fd_, key, value) == 0) return true;
  if (errno == ENOENT) return false;
  return Errno(absl::StrCat("lookup in map ", name_), errno);
}

absl::Status MapFd::Update(const void* key, const void* value,
                           uint64_t flags) const {
  if (bpf_map_update_elem(fd_, key, value, flags) == 0) return absl::OkStatus();
  return Errno(absl::StrCat("update of map ", name_), errno);
}

absl::Status MapFd::Delete(const void* key) const {
  if (bpf_map_delete_elem(fd_, key) == 0 || errno == ENOENT)
    return absl::OkStatus();
  return Errno(absl::StrCat("delete from map ", name_), errno);
}

absl::StatusOr<bool> MapFd::NextKey(const void* key, void* next) const {
  if (bpf_map_get_next_key(fd_, key, next) == 0) return true;
  if (errno == ENOENT) return false;
  return Errno(absl::StrCat("iteration of map ", name_), errno);
}

int PossibleCpus() {
  static const int n = libbpf_num_possible_cpus();
  return n;
}

const std::vector<std::string>& Maps::Names() {
  static const std::vector<std::string> names = {
      "services",     "service_gens",  "vips",         "vip_filter",
      "reals",        "nat_reals",     "nat_real_filter", "maglev_tables",
      "conn_table",   "nat_replies",   "persist_table", "tx_ports",     "iface_macs",
      "global_stats", "service_stats", "real_stats"};
  return names;
}

MapFd* Maps::ByName(const std::string& name) {
  MapFd* all[] = {&services,      &service_gens,  &vips,         &vip_filter,
                  &reals,         &nat_reals,     &nat_real_filter, &maglev_tables,
                  &conn_table,    &nat_replies,   &persist_table, &tx_ports,     &iface_macs,
                  &global_stats,  &service_stats, &real_stats};
  const auto& names = Names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return all[i];
  return nullptr;
}

absl::StatusOr<Maps> Maps::OpenPinned(const std::string& pin_dir) {
  Maps maps;
  for (const auto& name : Names()) {
    std::string path = absl::StrCat(pin_dir, "/", name);
    int fd = bpf_obj_get(path.c_str());
    if (fd < 0) {
      int err = errno;
      return absl::ErrnoToStatus(
          err, absl::StrCat(
                   "open pinned map ", path,
                   err == ENOENT
                       ? " (is the xlb program loaded with this pin directory?)"
                       : ""));
    }
    *maps.ByName(name) = MapFd(fd, name);
  }
  return maps;
}

template <typename T>
absl::StatusOr<T> Maps::SumPerCpu(const MapFd& map, uint32_t index) const {
  static_assert(sizeof(T) % sizeof(uint64_t) == 0,
                "per-CPU values are made of u64 counters");
  constexpr size_t kWords = sizeof(T) / sizeof(uint64_t);
  std::vector<uint64_t> values(PossibleCpus() * kWords);
  auto found = map.Lookup(&index, values.data());
  if (!found.ok()) return found.status();
  uint64_t sum[kWords] = {};
  for (int cpu = 0; cpu < PossibleCpus(); ++cpu)
    for (size_t w = 0; w < kWords; ++w) sum[w] += values[cpu * kWords + w];
  T out;
  std::memcpy(&out, sum, sizeof(out));
  return out;
}

template absl::StatusOr<uint64_t> Maps::SumPerCpu<uint64_t>(const MapFd&,
                                                            uint32_t) const;
template absl::StatusOr<xlb_counters> Maps::SumPerCpu<xlb_counters>(
    const MapFd&, uint32_t) const;

absl::Status Maps::ZeroPerCpu(const MapFd& map, uint32_t index,
                              size_t value_size) const {
  // Per-CPU values are 8-byte aligned per CPU.
  size_t stride = (value_size + 7) / 8 * 8;
  std::vector<uint8_t> zeros(stride * PossibleCpus(), 0);
  return map.Update(&index, zeros.data());
}

}  // namespace xlb::dataplane
