#include "dataplane/program.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "bpf/xlb.skel.h"
#include "dataplane/interface_macs.h"
#include "dataplane/prog_array_pins.h"
#include "dataplane/xdp_query.h"
#include "netlink/links.h"
#include "glog/logging.h"

namespace xlb::dataplane {
namespace {

constexpr long kBpffsMagic = 0xcafe4a11;
constexpr char kProgName[] = "xlb_xdp";
// The name of the program libxdp attaches to an interface, which runs its
// components (xdp-tools' lib/libxdp/xdp-dispatcher.c).
constexpr char kDispatcherName[] = "xdp_dispatcher";

bool OnBpffs(const std::string& path) {
  struct statfs st;
  return statfs(path.c_str(), &st) == 0 && st.f_type == kBpffsMagic;
}

// A program in one XDP mode is not replaced by one in the other: the mode
// xlb (or libxdp's dispatcher) is attached in must be the one asked for.
absl::Status SameMode(const std::string& ifname, const Attached& current, const std::string& name,
                      AttachMode mode) {
  if (current.id == 0 || mode == AttachMode::kNativeOrGeneric) return absl::OkStatus();
  const uint32_t want = mode == AttachMode::kGeneric ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
  if (current.mode_flag == want) return absl::OkStatus();
  const bool dispatcher = name == kDispatcherName;
  return absl::FailedPreconditionError(absl::StrCat(
      ifname, " has ", dispatcher ? "libxdp's dispatcher" : "xlb", " attached in ",
      ModeName(current.mode_flag), " XDP mode, not the ", ModeName(want), " mode asked for; ",
      dispatcher ? "the programs of a dispatcher share its mode"
                 : "detach xlb first (xlbd --detach-on-exit, or xlb-dp detach)"));
}

// libxdp's messages go to xlbd's log: its warnings say why the dispatcher
// could not be used.
int LibxdpPrint(enum libxdp_print_level level, const char* format, va_list args) {
  char line[512];
  int n = vsnprintf(line, sizeof(line), format, args);
  std::string text(line, n > 0 ? std::min<size_t>(n, sizeof(line) - 1) : 0);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.starts_with("libxdp: ")) text = "libxdp: " + text;
  if (level == LIBXDP_WARN)
    LOG(WARNING) << text;
  else if (level == LIBXDP_INFO)
    LOG(INFO) << text;
  else
    VLOG(2) << text;
  return n;
}

void RouteLibxdpLog() {
  static std::once_flag once;
  std::call_once(once, [] { libxdp_set_print(LibxdpPrint); });
}

// The ids of xlb's programs in libxdp's dispatcher on `ifindex` (none when
// no dispatcher is attached there).
std::vector<uint32_t> XlbComponents(unsigned ifindex) {
  std::vector<uint32_t> ids;
  struct xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(static_cast<int>(ifindex));
  if (mp == nullptr || libxdp_get_error(mp)) return ids;
  if (!xdp_multiprog__is_legacy(mp)) {
    for (struct xdp_program* p = xdp_multiprog__next_prog(nullptr, mp); p != nullptr;
         p = xdp_multiprog__next_prog(p, mp)) {
      if (strcmp(xdp_program__name(p), kProgName) == 0) ids.push_back(xdp_program__id(p));
    }
  }
  xdp_multiprog__close(mp);
  return ids;
}

// Removes program `id` from the dispatcher on `ifindex` (libxdp attaches a
// new dispatcher without it, atomically, or none when it was the last).
absl::Status RemoveComponent(unsigned ifindex, const std::string& ifname, uint32_t id,
                             uint32_t mode_flag) {
  struct xdp_program* p = xdp_program__from_id(id);
  if (p == nullptr || libxdp_get_error(p))
    return absl::NotFoundError(absl::StrCat("xlb's program ", id, " in the dispatcher on ", ifname,
                                            " is gone"));
  int err = xdp_program__detach(p, static_cast<int>(ifindex),
                                mode_flag == XDP_FLAGS_SKB_MODE ? XDP_MODE_SKB : XDP_MODE_NATIVE, 0);
  xdp_program__close(p);
  if (err != 0)
    return absl::ErrnoToStatus(-err, absl::StrCat("remove xlb's program ", id,
                                                  " from libxdp's dispatcher on ", ifname));
  return absl::OkStatus();
}

// The skeleton's maps are the pinned ones (XLB_MAPS, bpf/maps.h) and these,
// which each program starts afresh: flood_windows (bpf/flood.h), the
// per-CPU batches of flow events and their timers (bpf/sync.h), the
// tunnel tail call's prog array and scratch (bpf/tunnel.h), the
// constants (.rodata) and sync_apply's batch (.bss). A map added to the
// program outside XLB_MAPS fails this until it is listed here (not pinned)
// or moved into XLB_MAPS.
struct SkeletonMaps {
#define XLB_SKELETON_MAP(name, ...) decltype(std::declval<xlb_bpf&>().maps.name) name;
  XLB_MAPS(XLB_SKELETON_MAP, XLB_SKELETON_MAP, XLB_SKELETON_MAP)
  XLB_SKELETON_MAP(flood_windows)
  XLB_SKELETON_MAP(sync_stages)
  XLB_SKELETON_MAP(tunnel_progs)
  XLB_SKELETON_MAP(tunnel_scratch)
  XLB_SKELETON_MAP(rodata)
  XLB_SKELETON_MAP(bss)  // sync_apply's batch (bpf/sync_apply.h), written through its mmap
#undef XLB_SKELETON_MAP
};
static_assert(sizeof(SkeletonMaps) == sizeof(std::declval<xlb_bpf&>().maps),
              "the skeleton has a map that is neither in XLB_MAPS nor listed as not pinned");

// The prog array of the tunnel tail call, pinned per load (prog_array_pins.h).
constexpr char kTunnelProgs[] = "tunnel_progs";

// Slot XLB_TUNNEL_PROG_SLOT of tunnel_progs <- xlb_tunnel, which xlb_xdp
// tail-calls for a tunnel flow (empty: such packets are dropped and counted
// tunnel_encap_failed). The copy libxdp loads shares this map (every map is
// shared, AttachThroughLibxdp), so it reaches the same program. Pinned (in
// Load) so that the kernel does not empty it when xlbd exits and leaves the
// program attached.
absl::Status FillTunnelSlot(xlb_bpf* skel) {
  const uint32_t slot = XLB_TUNNEL_PROG_SLOT;
  const int prog = bpf_program__fd(skel->progs.xlb_tunnel);
  if (bpf_map_update_elem(bpf_map__fd(skel->maps.tunnel_progs), &slot, &prog, BPF_ANY) != 0)
    return absl::ErrnoToStatus(errno, "put xlb_tunnel into the tail call map tunnel_progs");
  return absl::OkStatus();
}

// Unpins the tail call arrays of instances that no longer run anywhere (the
// one this instance replaced, once it is off every interface). A failure
// leaves a pin, and with it an unused array, behind: logged, not fatal.
void ForgetReplacedTunnelProgs(const std::string& pin_dir) {
  if (pin_dir.empty()) return;
  if (auto st = ForgetProgArrays(pin_dir, kTunnelProgs, /*all=*/false); !st.ok())
    LOG(WARNING) << "could not remove the pins of replaced tunnel_progs arrays: " << st;
}

// The object's map `name`, one of Maps::kNames (all in the object, as above).
struct bpf_map* ObjectMap(xlb_bpf* skel, const char* name) {
  struct bpf_map* m = bpf_object__find_map_by_name(skel->obj, name);
  CHECK(m) << "the xlb object has no map " << name;
  return m;
}

// Counter maps hold no forwarding state: one pinned by an xlb with other
// counters (a reason added to the ABI) is replaced by a fresh map, whose
// counters start from zero, rather than refusing the pins and with them the
// connection table.
bool IsCounterMap(const std::string& name) {
  return name == "global_stats" || name == "service_stats" || name == "real_stats";
}

// The ring of flow events holds no forwarding state either: one pinned with
// another size (sync.ring_bytes changed) is replaced, losing the events not
// read yet, which the peers' next refresh repairs.
bool IsEventRing(const std::string& name) { return name == "flow_events"; }

// A connection map pinned with another entry layout (an xlb from before the
// NAT reply halves moved out of conn_table, whose entries were 80 bytes)
// cannot be read with this layout: it is replaced by an empty map. Flows are
// then placed anew, as after the table was flushed. Another size is still
// refused: it is the operator's choice, not a version's.
bool IsConnectionMap(const std::string& name) {
  return name == "conn_table" || name == "nat_replies";
}

// Makes `m` use the map pinned for it, if there is one. libbpf's own reuse
// check rejects a pinned devmap (the kernel adds BPF_F_RDONLY_PROG to its
// flags), so the check is done here, naming what differs. Sets `*replace`
// for a counter map whose pin is to be replaced by the new map after load.
absl::Status ReusePinned(struct bpf_map* m, const std::string& pin_dir, bool* replace) {
  *replace = false;
  const std::string name = bpf_map__name(m);
  const std::string path = absl::StrCat(pin_dir, "/", name);
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) {
    if (errno == ENOENT) return absl::OkStatus();  // created and pinned after load
    return absl::ErrnoToStatus(errno, absl::StrCat("open pinned map ", path));
  }
  absl::Cleanup close_fd = [fd] { close(fd); };
  bpf_map_info info = {};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
    return absl::ErrnoToStatus(errno, absl::StrCat("inspect pinned map ", path));
  auto mismatch = [&](const char* field, uint64_t pinned, uint64_t wanted) {
    const std::string differs = absl::StrCat("pinned map ", path, " has ", field, " ", pinned,
                                             " but this xlb wants ", wanted);
    if (IsCounterMap(name) || IsEventRing(name)) {
      LOG(WARNING) << differs
                   << (IsEventRing(name) ? "; replacing it (flow events not yet read are lost)"
                                         : "; replacing it (these counters restart from zero)");
      *replace = true;
      return absl::OkStatus();
    }
    if (IsConnectionMap(name) && strcmp(field, "max entries") != 0) {
      LOG(WARNING) << differs
                   << " (an older entry layout); replacing it with an empty table: established "
                      "flows are placed anew by Maglev, and NAT replies are passed up unmatched "
                      "until their client's next packet";
      *replace = true;
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(absl::StrCat(
        differs, " (pinned by another version or with other sizes; remove ", pin_dir,
        " to start afresh, which resets the connection table)"));
  };
  if (info.type != bpf_map__type(m)) return mismatch("type", info.type, bpf_map__type(m));
  if (info.key_size != bpf_map__key_size(m))
    return mismatch("key size", info.key_size, bpf_map__key_size(m));
  if (info.value_size != bpf_map__value_size(m))
    return mismatch("value size", info.value_size, bpf_map__value_size(m));
  if (info.max_entries != bpf_map__max_entries(m))
    return mismatch("max entries", info.max_entries, bpf_map__max_entries(m));
  if ((info.map_flags & ~BPF_F_RDONLY_PROG) != (bpf_map__map_flags(m) & ~BPF_F_RDONLY_PROG))
    return mismatch("flags", info.map_flags, bpf_map__map_flags(m));
  if (name == "maglev_tables") {
    // The kernel checks every inner map against the pinned outer map's
    // template, which the map info does not show: compare an inner map.
    for (uint32_t key = 0; key < info.max_entries; ++key) {
      uint32_t inner_id;
      if (bpf_map_lookup_elem(fd, &key, &inner_id) != 0) continue;
      int inner = bpf_map_get_fd_by_id(inner_id);
      if (inner < 0) continue;
      bpf_map_info inner_info = {};
      uint32_t inner_len = sizeof(inner_info);
      int rc = bpf_obj_get_info_by_fd(inner, &inner_info, &inner_len);
      close(inner);
      if (rc == 0 && inner_info.map_flags != XLB_MAGLEV_TABLE_FLAGS)
        return mismatch("Maglev tables with flags", inner_info.map_flags, XLB_MAGLEV_TABLE_FLAGS);
      break;
    }
  }
  if (bpf_map__reuse_fd(m, fd) != 0)
    return absl::ErrnoToStatus(errno, absl::StrCat("reuse pinned map ", path));
  return absl::OkStatus();
}

}  // namespace

absl::Status EnsureBpffsDir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  // The nearest existing ancestor decides which filesystem the pins land on.
  fs::path existing = dir;
  while (!existing.empty() && !fs::exists(existing, ec)) existing = existing.parent_path();
  if (!OnBpffs(existing)) {
    if (absl::StartsWith(dir, "/sys/fs/bpf") && !OnBpffs("/sys/fs/bpf")) {
      if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") != 0)
        return absl::ErrnoToStatus(errno, "mount bpffs on /sys/fs/bpf");
      LOG(INFO) << "mounted bpffs on /sys/fs/bpf";
    } else {
      return absl::FailedPreconditionError(
          absl::StrCat("pin directory ", dir, " is not on a bpf filesystem (mount -t bpf bpf ",
                       existing.string(), ", or choose a directory on one)"));
    }
  }
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("create ", dir, ": ", ec.message()));
  return absl::OkStatus();
}

// The program's constants (.rodata), the same in every copy loaded.
void Program::SetConstants(struct xlb_bpf* skel) const {
  skel->rodata->xlb_flood_rate = options_.flood_rate;
  skel->rodata->xlb_trace_key = trace_key_;
  skel->rodata->xlb_sync_mode = static_cast<uint32_t>(sync_mode_);
}

const char* SyncModeName(SyncMode mode) {
  switch (mode) {
    case SyncMode::kOff: return "off";
    case SyncMode::kPerFlow: return "per-flow";
    case SyncMode::kBatched: return "batched";
  }
  return "unknown";
}

bool KernelHasTimerCpuPin() {
  struct utsname u;
  if (uname(&u) != 0) return false;
  int major = 0, minor = 0;
  if (sscanf(u.release, "%d.%d", &major, &minor) != 2) return false;
  return major > 6 || (major == 6 && minor >= 7);
}

absl::StatusOr<std::unique_ptr<Program>> Program::Load(const ProgramOptions& options) {
  if (!options.pin_dir.empty()) {
    if (auto st = EnsureBpffsDir(options.pin_dir); !st.ok()) return st;
  }
  std::unique_ptr<Program> p(new Program());
  p->pin_dir_ = options.pin_dir;
  p->options_ = options;
  p->skel_ = xlb_bpf__open();
  if (!p->skel_) return absl::ErrnoToStatus(errno, "open the xlb BPF object");

  bpf_map__set_max_entries(p->skel_->maps.conn_table, options.conn_table_size);
  bpf_map__set_max_entries(p->skel_->maps.nat_replies, options.nat_reply_table_size);
  bpf_map__set_max_entries(p->skel_->maps.persist_table, options.persist_table_size);
  bpf_map__set_max_entries(p->skel_->maps.flow_events, options.sync_ring_bytes);
  bpf_map__set_max_entries(p->skel_->maps.sync_stages, PossibleCpus());
  if (options.sync_events) {
    p->sync_mode_ = options.sync_per_flow || !KernelHasTimerCpuPin() ? SyncMode::kPerFlow
                                                                     : SyncMode::kBatched;
    LOG(INFO) << "flow events for sync: " << SyncModeName(p->sync_mode_)
              << (p->sync_mode_ == SyncMode::kPerFlow && !options.sync_per_flow
                      ? " (this kernel has no BPF_F_TIMER_CPU_PIN, Linux 6.7: one ring record "
                        "per flow, which costs more)"
                      : "");
  }
  // Random, so that no other metadata is taken for a trace by accident.
  while (p->trace_key_ == 0) {
    if (getrandom(&p->trace_key_, sizeof(p->trace_key_), 0) != sizeof(p->trace_key_))
      return absl::ErrnoToStatus(errno, "getrandom (the trace key)");
  }
  p->SetConstants(p->skel_);
  std::set<std::string> repin;  // pins to replace by this instance's maps
  if (!options.pin_dir.empty()) {
    for (const char* name : Maps::kNames) {
      bool replace = false;
      if (auto st = ReusePinned(ObjectMap(p->skel_, name), options.pin_dir, &replace); !st.ok())
        return st;
      if (replace) repin.insert(name);
    }
  }
  if (int err = xlb_bpf__load(p->skel_); err != 0)
    return absl::ErrnoToStatus(-err, "load the xlb XDP program");
  if (auto st = FillTunnelSlot(p->skel_); !st.ok()) return st;
  if (!options.pin_dir.empty()) {
    if (auto st = PinProgArray(bpf_map__fd(p->skel_->maps.tunnel_progs), options.pin_dir,
                               kTunnelProgs);
        !st.ok())
      return st;
    ForgetReplacedTunnelProgs(options.pin_dir);  // those of instances long gone
  }
  auto st = p->maps_.ForEach([&](const char* name, MapFd& slot) {
    const int map_fd = bpf_map__fd(ObjectMap(p->skel_, name));
    if (!options.pin_dir.empty()) {
      std::string path = absl::StrCat(options.pin_dir, "/", name);
      if (repin.count(name) && unlink(path.c_str()) != 0 && errno != ENOENT)
        return absl::ErrnoToStatus(errno, absl::StrCat("unpin replaced map ", path));
      if (access(path.c_str(), F_OK) != 0 && bpf_obj_pin(map_fd, path.c_str()) != 0)
        return absl::ErrnoToStatus(errno, absl::StrCat("pin map ", name, " at ", path));
    }
    int fd = fcntl(map_fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("dup fd of map ", name));
    slot = MapFd(fd, name);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return p;
}

Program::~Program() {
  if (skel_) xlb_bpf__destroy(skel_);
}

int Program::prog_fd() const { return bpf_program__fd(skel_->progs.xlb_xdp); }

int Program::sync_apply_fd() const { return bpf_program__fd(skel_->progs.sync_apply); }

xlb_sync_apply_batch* Program::sync_apply_batch() { return &skel_->bss->xlb_sync_batch; }

std::string Attachment::Name() const {
  if (dispatcher) return generic ? "libxdp-dispatcher-generic" : "libxdp-dispatcher";
  return generic ? "direct-generic" : "direct-native";
}

absl::Status Program::Attach(const std::string& ifname, AttachMode mode, AttachVia via) {
  auto ifindex = IfIndex(ifname);
  if (!ifindex.ok()) return ifindex.status();
  // Asked before attaching, so that a failure changes nothing. The program
  // forwards only frames for this MAC (or multicast); a MAC changed while
  // attached is taken up by attaching again.
  auto mac = netlink::InterfaceMac(*ifindex);
  if (!mac.ok()) return mac.status();
  auto current = QueryAttached(*ifindex, ifname);
  if (!current.ok()) return current.status();

  absl::StatusOr<Attachment> done;
  const bool in_dispatcher = current->id != 0 && ProgName(current->id) == kDispatcherName;
  // xlb attached directly stays so, replaced atomically (libxdp does not
  // replace a program it did not attach, and a detach before its attach
  // would stop forwarding meanwhile); another program attached directly is
  // refused by AttachDirectly.
  if (via == AttachVia::kLibxdpOrDirect && mode != AttachMode::kNativeOrGeneric &&
      (in_dispatcher || (current->id == 0 && !no_dispatcher_))) {
    done = AttachThroughLibxdp(*ifindex, ifname, mode == AttachMode::kGeneric);
    // Not on this machine: the next interfaces go direct at once (each try
    // verifies the program once more).
    if (absl::IsUnavailable(done.status())) no_dispatcher_ = true;
    if (!done.ok() && !in_dispatcher) {
      LOG(WARNING) << "libxdp's dispatcher did not take xlb on " << ifname << " ("
                   << done.status().message() << "); attaching xlb directly instead: it is then "
                   << ifname << "'s only XDP program";
      done = AttachDirectly(*ifindex, ifname, mode);
    }
  } else {
    if (via == AttachVia::kLibxdpOrDirect && current->id == 0)
      LOG(INFO) << "attaching xlb directly to " << ifname
                << ": libxdp's dispatcher could not load for the interfaces before it";
    done = AttachDirectly(*ifindex, ifname, mode);
  }
  if (!done.ok()) return done.status();
  uint32_t key = *ifindex, value = *ifindex;
  if (auto st = maps_.tx_ports.Update(&key, &value); !st.ok()) return st;
  if (auto st = RecordInterfaceMac(maps_, *ifindex, *mac); !st.ok()) return st;
  attached_[ifname] = *done;
  ForgetReplacedTunnelProgs(pin_dir_);
  return absl::OkStatus();
}

std::optional<Attachment> Program::AttachedTo(const std::string& ifname) const {
  auto it = attached_.find(ifname);
  if (it == attached_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<Attachment> Program::AttachThroughLibxdp(unsigned ifindex, const std::string& ifname,
                                                        bool generic) {
  RouteLibxdpLog();
  // Those of an xlb that ran before: removed once this one runs beside them.
  const std::vector<uint32_t> previous = XlbComponents(ifindex);
  struct xlb_bpf* component = xlb_bpf__open();
  if (!component) return absl::ErrnoToStatus(errno, "open the xlb BPF object for libxdp");
  absl::Cleanup destroy = [component] { xlb_bpf__destroy(component); };
  SetConstants(component);
  // Peers' flows are applied through this instance's sync_apply (and its
  // .bss): the copy need not verify its own.
  bpf_program__set_autoload(component->progs.sync_apply, false);
  // Every map is this instance's (flood windows included): one state,
  // whichever instance runs.
  struct bpf_map* m;
  bpf_object__for_each_map(m, skel_->obj) {
    if (bpf_map__is_internal(m)) continue;  // .rodata: set above
    struct bpf_map* same = bpf_object__find_map_by_name(component->obj, bpf_map__name(m));
    if (same == nullptr || bpf_map__reuse_fd(same, bpf_map__fd(m)) != 0)
      return absl::InternalError(absl::StrCat("share map ", bpf_map__name(m),
                                              " with the program for libxdp"));
  }
  DECLARE_LIBXDP_OPTS(xdp_program_opts, xo, .obj = component->obj, .prog_name = kProgName);
  struct xdp_program* program = xdp_program__create(&xo);
  if (program == nullptr || libxdp_get_error(program))
    return absl::InternalError("libxdp: could not take the xlb program");
  absl::Cleanup close_program = [program] { xdp_program__close(program); };
  int err = xdp_program__attach(program, static_cast<int>(ifindex),
                                generic ? XDP_MODE_SKB : XDP_MODE_NATIVE, 0);
  if (err != 0)
    return absl::ErrnoToStatus(-err, absl::StrCat("libxdp: attach to ", ifname,
                                                  generic ? " (generic mode)" : " (native mode)"));
  // Where its dispatcher cannot load, libxdp attaches a lone program by
  // itself: that is a direct attachment, which AttachDirectly then takes
  // over atomically with this instance.
  if (XlbComponents(ifindex).empty())
    return absl::UnavailableError("libxdp could not load its dispatcher here (see libxdp's "
                                  "messages above) and attached the program alone");
  const uint32_t mode_flag = generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
  for (uint32_t id : previous) {
    if (auto st = RemoveComponent(ifindex, ifname, id, mode_flag); !st.ok())
      LOG(WARNING) << st.message() << "; the previous xlb's program stays in the dispatcher "
                   << "beside this one (same maps: it forwards alike)";
  }
  return Attachment{.dispatcher = true, .generic = generic};
}

absl::StatusOr<Attachment> Program::AttachDirectly(unsigned ifindex, const std::string& ifname,
                                                   AttachMode mode) {
  auto current = QueryAttached(ifindex, ifname);
  if (!current.ok()) return current.status();
  uint32_t want = mode == AttachMode::kGeneric ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
  LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
  uint32_t flags = want;
  int old_fd = -1;
  absl::Cleanup close_old = [&old_fd] {
    if (old_fd >= 0) close(old_fd);
  };
  if (current->id != 0) {
    std::string name = ProgName(current->id);
    if (name != kProgName)
      return absl::FailedPreconditionError(
          absl::StrCat(ifname, " already has XDP program ", current->id, " (", name,
                       ") attached", name == kDispatcherName ? " (libxdp's dispatcher)" : "",
                       "; xlb does not replace other programs"));
    if (auto st = SameMode(ifname, *current, name, mode); !st.ok()) return st;
    want = current->mode_flag;
    flags = want | XDP_FLAGS_REPLACE;
    old_fd = bpf_prog_get_fd_by_id(current->id);
    if (old_fd < 0) return absl::ErrnoToStatus(errno, "open the attached xlb program");
    opts.old_prog_fd = old_fd;
  } else {
    flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;
  }

  int err = bpf_xdp_attach(ifindex, prog_fd(), flags, &opts);
  if (err != 0 && mode == AttachMode::kNativeOrGeneric && current->id == 0) {
    LOG(WARNING) << "native XDP attach to " << ifname << " failed (" << strerror(-err)
                 << "); falling back to generic mode, which is much slower";
    want = XDP_FLAGS_SKB_MODE;
    err = bpf_xdp_attach(ifindex, prog_fd(), XDP_FLAGS_SKB_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, &opts);
  }
  if (err != 0)
    return absl::ErrnoToStatus(-err, absl::StrCat("attach XDP program to ", ifname,
                                                  want == XDP_FLAGS_DRV_MODE ? " (native mode)"
                                                                             : " (generic mode)"));
  return Attachment{.dispatcher = false, .generic = want == XDP_FLAGS_SKB_MODE};
}

absl::Status CheckAttachable(const std::string& ifname, AttachMode mode) {
  auto ifindex = IfIndex(ifname);
  if (!ifindex.ok()) return ifindex.status();
  if (auto mac = netlink::InterfaceMac(*ifindex); !mac.ok()) return mac.status();
  auto current = QueryAttached(*ifindex, ifname);
  if (!current.ok()) return current.status();
  const std::string name = current->id != 0 ? ProgName(current->id) : "";
  if (current->id != 0 && name != kProgName && name != kDispatcherName)
    return absl::FailedPreconditionError(absl::StrCat(
        ifname, " already has XDP program ", current->id, " (", name,
        ") attached, not through libxdp's dispatcher; xlb does not replace other programs (load "
        "that one with libxdp, e.g. xdp-loader, and xlb joins it)"));
  return SameMode(ifname, *current, name, mode);
}

absl::Status DetachXlb(const std::string& ifname, const Maps* maps) {
  auto ifindex = IfIndex(ifname);
  if (!ifindex.ok()) return ifindex.status();
  auto current = QueryAttached(*ifindex, ifname);
  if (!current.ok()) return current.status();
  const std::string name = current->id != 0 ? ProgName(current->id) : "";
  if (name == kDispatcherName) {
    RouteLibxdpLog();
    for (uint32_t id : XlbComponents(*ifindex))
      if (auto st = RemoveComponent(*ifindex, ifname, id, current->mode_flag); !st.ok()) return st;
  } else if (current->id != 0) {
    if (name != kProgName)
      return absl::FailedPreconditionError(
          absl::StrCat(ifname, " has XDP program ", current->id, " that is not xlb's; left as is"));
    if (auto st = DetachAttached(*ifindex, ifname, *current); !st.ok()) return st;
  }
  if (maps) {
    uint32_t key = *ifindex;
    if (auto st = maps->tx_ports.Delete(&key); !st.ok()) return st;
    return ForgetInterfaceMac(*maps, key);
  }
  return absl::OkStatus();
}

absl::Status Program::Detach(const std::string& ifname) {
  if (auto st = DetachXlb(ifname, &maps_); !st.ok()) return st;
  attached_.erase(ifname);
  ForgetReplacedTunnelProgs(pin_dir_);
  return absl::OkStatus();
}

absl::Status Program::Unpin() { return UnpinMaps(pin_dir_); }

absl::Status UnpinMaps(const std::string& pin_dir) {
  if (pin_dir.empty()) return absl::OkStatus();
  for (const char* name : Maps::kNames) {
    std::string path = absl::StrCat(pin_dir, "/", name);
    if (unlink(path.c_str()) != 0 && errno != ENOENT)
      return absl::ErrnoToStatus(errno, absl::StrCat("unpin ", path));
  }
  if (auto st = ForgetProgArrays(pin_dir, kTunnelProgs, /*all=*/true); !st.ok()) return st;
  rmdir(pin_dir.c_str());  // only if empty; other files are not ours
  return absl::OkStatus();
}

}  // namespace xlb::dataplane
