#include "dataplane/maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
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

absl::StatusOr<bool> MapFd::LookupRaw(const void* key, void* value) const {
  if (bpf_map_lookup_elem(fd_, key, value) == 0) return true;
  if (errno == ENOENT) return false;
  return Errno(absl::StrCat("lookup in map ", name_), errno);
}

absl::Status MapFd::UpdateRaw(const void* key, const void* value, uint64_t flags) const {
  if (bpf_map_update_elem(fd_, key, value, flags) == 0) return absl::OkStatus();
  return Errno(absl::StrCat("update of map ", name_), errno);
}

absl::Status MapFd::DeleteRaw(const void* key) const {
  if (bpf_map_delete_elem(fd_, key) == 0 || errno == ENOENT) return absl::OkStatus();
  return Errno(absl::StrCat("delete from map ", name_), errno);
}

absl::StatusOr<bool> MapFd::NextKeyRaw(const void* key, void* next) const {
  if (bpf_map_get_next_key(fd_, key, next) == 0) return true;
  if (errno == ENOENT) return false;
  return Errno(absl::StrCat("iteration of map ", name_), errno);
}

absl::StatusOr<bool> MapFd::LookupBatchRaw(uint32_t* in, uint32_t* out, void* keys,
                                           void* values, uint32_t* count) const {
  if (bpf_map_lookup_batch(fd_, in, out, keys, values, count, nullptr) == 0) return true;
  if (errno == ENOENT) return false;  // the last batch, *count entries in it
  return Errno(absl::StrCat("read map ", name_, " in batches"), errno);
}

absl::StatusOr<size_t> MapFd::DeleteAllRaw(const void* keys, size_t count,
                                           size_t key_size) const {
  // One system call per batch instead of one per key: a flush of a full
  // connection table deletes up to its every entry.
  constexpr size_t kBatch = 4096;
  const auto* bytes = static_cast<const uint8_t*>(keys);
  size_t deleted = 0;
  for (size_t i = 0; i < count;) {
    uint32_t n = static_cast<uint32_t>(std::min(kBatch, count - i));
    if (bpf_map_delete_batch(fd_, bytes + i * key_size, &n, nullptr) == 0) {
      deleted += n;
      i += n;
      continue;
    }
    // The batch stops at the first key it could not delete; n were.
    if (errno != ENOENT) return Errno(absl::StrCat("delete from map ", name_, " in batches"), errno);
    deleted += n;
    i += n + 1;  // that key is gone already
  }
  return deleted;
}

int PossibleCpus() {
  static const int n = libbpf_num_possible_cpus();
  return n;
}

absl::StatusOr<Maps> Maps::OpenPinned(const std::string& pin_dir) {
  Maps maps;
  auto status = maps.ForEach([&](const char* name, MapFd& map) {
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
    map = MapFd(fd, name);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return maps;
}

}  // namespace xlb::dataplane
