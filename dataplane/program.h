// Loading the XDP program (bpftool skeleton), pinning its maps, attaching it
// to interfaces and detaching it.
#ifndef XLB_DATAPLANE_PROGRAM_H_
#define XLB_DATAPLANE_PROGRAM_H_

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "dataplane/maps.h"

struct xlb_bpf;  // the generated skeleton

namespace xlb::dataplane {

inline constexpr char kDefaultPinDir[] = "/sys/fs/bpf/xlb";

struct ProgramOptions {
  // Maps are pinned here; maps already pinned here are adopted (their
  // contents, connection table included, are kept). Empty: no pinning.
  std::string pin_dir = kDefaultPinDir;
  // Entries of the connection table, of the NAT reply table (one per NAT
  // flow, as in the connection table) and of the persistence table.
  uint32_t conn_table_size = XLB_CONN_TABLE_DEFAULT;
  uint32_t nat_reply_table_size = XLB_CONN_TABLE_DEFAULT;
  uint32_t persist_table_size = XLB_PERSIST_TABLE_DEFAULT;
  // New flows per CPU and second past which a new flow makes no table entry
  // (direct routing: forwarded without one; NAT: dropped), bpf/flood.h; 0: no
  // limit.
  uint32_t flood_rate = XLB_FLOOD_RATE_DEFAULT;
  // Flow events for the other directors (bpf/sync.h, docs/sync-design.md):
  // off, the program emits none and pays nothing for them. On, batched
  // where the kernel has BPF_F_TIMER_CPU_PIN (6.7), else one ring record per
  // event; `sync_per_flow` forces the latter (tests, benches).
  bool sync_events = false;
  bool sync_per_flow = false;
  // Bytes of the ring flow_events: a power of two, a multiple of the page
  // size. A pin of another size is replaced (events not yet read are lost).
  uint32_t sync_ring_bytes = XLB_SYNC_RING_DEFAULT;
};

// How the loaded program emits flow events (ProgramOptions::sync_events).
enum class SyncMode { kOff = XLB_SYNC_OFF, kPerFlow = XLB_SYNC_PER_FLOW, kBatched = XLB_SYNC_BATCHED };
// "off", "per-flow" or "batched": what the log says.
const char* SyncModeName(SyncMode mode);
// Whether this kernel has BPF_F_TIMER_CPU_PIN (Linux 6.7), which the batched
// flush needs.
bool KernelHasTimerCpuPin();

enum class AttachMode {
  kNative,          // driver mode; an error where the driver has none
  kGeneric,         // skb mode: runs after the kernel built the skb, much slower
  kNativeOrGeneric  // native, else generic with a warning
};

// Through what the program is attached.
enum class AttachVia {
  kDirect,          // the interface's one XDP program (bpf_xdp_attach)
  kLibxdpOrDirect,  // a component of libxdp's dispatcher, beside other programs
                    // attached through libxdp; directly where the dispatcher
                    // cannot load (old kernel, no bpffs, EPERM) or xlb is
                    // attached directly already (kept, replaced atomically)
};

// How the program ended up attached to one interface.
struct Attachment {
  bool dispatcher = false;  // in libxdp's dispatcher, else directly
  bool generic = false;     // XDP generic (skb) mode, else native (driver) mode
  // "libxdp-dispatcher", "libxdp-dispatcher-generic", "direct-native" or
  // "direct-generic": what status shows and the log says.
  std::string Name() const;
  bool operator==(const Attachment&) const = default;
};

class Program {
 public:
  // Loads a new instance of the program, reusing the pinned maps if any.
  static absl::StatusOr<std::unique_ptr<Program>> Load(const ProgramOptions& options);
  ~Program();

  Maps& maps() { return maps_; }
  int prog_fd() const;
  // The syscall program that applies peers' flows, and its batch (the
  // mmapped .bss of this instance): dataplane/sync_applier.h.
  int sync_apply_fd() const;
  xlb_sync_apply_batch* sync_apply_batch();
  // The key that makes a test run of this instance a trace (bpf/trace.h):
  // random per load, never 0.
  uint32_t trace_key() const { return trace_key_; }
  SyncMode sync_mode() const { return sync_mode_; }

  // Attaches this instance to `ifname`, atomically replacing an xlb program
  // already there (traffic is not interrupted); refuses to replace a program
  // that is not xlb's. The interface becomes a redirect target, and its MAC
  // is recorded: unicast frames for other MACs are not forwarded.
  //
  // With AttachVia::kLibxdpOrDirect, a restart hands over without a gap in
  // the dispatcher too: the new instance is added beside the old one (which
  // runs first; what it passes the new one sees, with the same maps), then
  // the old one is removed, each step an atomic replacement of the
  // dispatcher.
  absl::Status Attach(const std::string& ifname, AttachMode mode,
                      AttachVia via = AttachVia::kDirect);

  // How this instance attached to `ifname` (nullopt: it did not).
  std::optional<Attachment> AttachedTo(const std::string& ifname) const;

  // Detaches whichever xlb program is attached to `ifname`.
  absl::Status Detach(const std::string& ifname);

  // Removes the pins (the maps live on while a program uses them, but the
  // tail call's prog array empties once unpinned: detach first).
  absl::Status Unpin();

 private:
  Program() = default;
  void SetConstants(struct ::xlb_bpf* skel) const;
  // Opens and loads another instance of the object as a component of
  // libxdp's dispatcher on `ifindex` (an extension program, which cannot be
  // the instance loaded for direct attaching), sharing every map.
  absl::StatusOr<Attachment> AttachThroughLibxdp(unsigned ifindex, const std::string& ifname,
                                                 bool generic);
  absl::StatusOr<Attachment> AttachDirectly(unsigned ifindex, const std::string& ifname,
                                            AttachMode mode);
  struct ::xlb_bpf* skel_ = nullptr;
  ProgramOptions options_;
  Maps maps_;
  std::string pin_dir_;
  std::map<std::string, Attachment> attached_;
  bool no_dispatcher_ = false;  // libxdp could not load its dispatcher: attach directly
  uint32_t trace_key_ = 0;
  SyncMode sync_mode_ = SyncMode::kOff;
};

// Makes sure `dir` exists on a bpf filesystem; mounts bpffs on /sys/fs/bpf
// when `dir` is below it and nothing is mounted there yet.
absl::Status EnsureBpffsDir(const std::string& dir);

// Whether Program::Attach to `ifname` can work, changing nothing: the
// interface exists, its MAC can be read, and no other program than xlb's is
// attached to it directly (one in libxdp's dispatcher is fine: xlb joins
// it), and xlb or the dispatcher there is in `mode`. For a start that checks
// everything before changing anything.
absl::Status CheckAttachable(const std::string& ifname, AttachMode mode);

// Removes xlb's pins from `pin_dir` (the maps live on while a program uses
// them; the tail call's prog arrays empty: detach first); maps that are not
// pinned there are no error.
absl::Status UnpinMaps(const std::string& pin_dir);

// Removes the XDP program from `ifname` if it is xlb's (attached directly,
// or xlb's components in libxdp's dispatcher, whose other programs stay); a
// no-op otherwise. With `maps`, also removes the interface from them
// (redirect target, MAC).
absl::Status DetachXlb(const std::string& ifname, const Maps* maps);

}  // namespace xlb::dataplane

#endif  // XLB_DATAPLANE_PROGRAM_H_
