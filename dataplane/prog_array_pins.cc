#include "dataplane/prog_array_pins.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <set>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace xlb::dataplane {
namespace {

absl::StatusOr<uint32_t> MapId(int fd) {
  bpf_map_info info = {};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
    return absl::ErrnoToStatus(errno, "inspect a map");
  return info.id;
}

// The ids of every map some loaded program uses (all programs of the host:
// the pins are shared by whichever xlb instance runs).
absl::StatusOr<std::set<uint32_t>> MapsInUse() {
  std::set<uint32_t> used;
  uint32_t id = 0;
  for (;;) {
    if (bpf_prog_get_next_id(id, &id) != 0) {
      if (errno == ENOENT) break;
      return absl::ErrnoToStatus(errno, "list the loaded BPF programs");
    }
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) continue;  // gone meanwhile
    std::vector<uint32_t> maps(64);
    bpf_prog_info info = {};
    info.nr_map_ids = maps.size();
    info.map_ids = reinterpret_cast<uint64_t>(maps.data());
    uint32_t len = sizeof(info);
    int err = bpf_obj_get_info_by_fd(fd, &info, &len);
    if (err == 0 && info.nr_map_ids > maps.size()) {  // more than guessed: ask again
      maps.resize(info.nr_map_ids);
      info = {};
      info.nr_map_ids = maps.size();
      info.map_ids = reinterpret_cast<uint64_t>(maps.data());
      len = sizeof(info);
      err = bpf_obj_get_info_by_fd(fd, &info, &len);
    }
    close(fd);
    if (err != 0) continue;  // gone meanwhile
    used.insert(maps.begin(), maps.begin() + std::min<size_t>(info.nr_map_ids, maps.size()));
  }
  return used;
}

}  // namespace

absl::Status PinProgArray(int map_fd, const std::string& pin_dir, const std::string& name) {
  auto id = MapId(map_fd);
  if (!id.ok()) return id.status();
  const std::string path = absl::StrCat(pin_dir, "/", name, "_", *id);
  if (bpf_obj_pin(map_fd, path.c_str()) != 0)
    return absl::ErrnoToStatus(errno, absl::StrCat("pin ", name, " at ", path));
  return absl::OkStatus();
}

absl::Status ForgetProgArrays(const std::string& pin_dir, const std::string& name, bool all) {
  namespace fs = std::filesystem;
  std::set<uint32_t> used;
  if (!all) {
    auto in_use = MapsInUse();
    if (!in_use.ok()) return in_use.status();
    used = std::move(*in_use);
  }
  const std::string prefix = name + "_";  // bpffs refuses dots in names
  std::error_code ec;
  std::vector<fs::path> unused;
  for (const auto& entry : fs::directory_iterator(pin_dir, ec)) {
    const std::string file = entry.path().filename();
    uint32_t id = 0;
    if (!file.starts_with(prefix) || !absl::SimpleAtoi(file.substr(prefix.size()), &id)) continue;
    // The pin names the id its array had when pinned; the pin itself says
    // which array it holds now (a file there could be anything).
    int fd = bpf_obj_get(entry.path().c_str());
    if (fd >= 0) {
      auto pinned = MapId(fd);
      close(fd);
      if (pinned.ok()) id = *pinned;
    }
    if (!used.count(id)) unused.push_back(entry.path());
  }
  if (ec) return absl::InternalError(absl::StrCat("list ", pin_dir, ": ", ec.message()));
  for (const auto& path : unused) {
    if (unlink(path.c_str()) != 0 && errno != ENOENT)
      return absl::ErrnoToStatus(errno, absl::StrCat("unpin ", path.string()));
    VLOG(1) << "unpinned " << path.string() << " (no loaded program uses it)";
  }
  return absl::OkStatus();
}

}  // namespace xlb::dataplane
