// Loading the XDP program (bpftool skeleton), pinning its maps, attaching it
// to interfaces and detaching it.
#ifndef XLB_DATAPLANE_PROGRAM_H_
#define XLB_DATAPLANE_PROGRAM_H_

#include <memory>
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
};

enum class AttachMode {
  kNative,          // driver mode; an error where the driver has none
  kGeneric,         // skb mode: slow, for testing only
  kNativeOrGeneric  // native, else generic with a warning
};

class Program {
 public:
  // Loads a new instance of the program, reusing the pinned maps if any.
  static absl::StatusOr<std::unique_ptr<Program>> Load(const ProgramOptions& options);
  ~Program();

  Maps& maps() { return maps_; }
  int prog_fd() const;
  // The key that makes a test run of this instance a trace (bpf/trace.h):
  // random per load, never 0.
  uint32_t trace_key() const { return trace_key_; }

  // Attaches this instance to `ifname`, atomically replacing an xlb program
  // already there (traffic is not interrupted); refuses to replace a program
  // that is not xlb's. The interface becomes a redirect target, and its MAC
  // is recorded: unicast frames for other MACs are not forwarded.
  absl::Status Attach(const std::string& ifname, AttachMode mode);

  // Detaches whichever xlb program is attached to `ifname`.
  absl::Status Detach(const std::string& ifname);

  // Removes the pins (the maps live on while a program uses them).
  absl::Status Unpin();

 private:
  Program() = default;
  struct ::xlb_bpf* skel_ = nullptr;
  Maps maps_;
  std::string pin_dir_;
  uint32_t trace_key_ = 0;
};

// Makes sure `dir` exists on a bpf filesystem; mounts bpffs on /sys/fs/bpf
// when `dir` is below it and nothing is mounted there yet.
absl::Status EnsureBpffsDir(const std::string& dir);

// Whether Program::Attach to `ifname` can work, changing nothing: the
// interface exists, its MAC can be read, and no other program than xlb's is
// attached to it. For a start that checks everything before changing anything.
absl::Status CheckAttachable(const std::string& ifname);

// Removes xlb's pins from `pin_dir` (the maps live on while a program uses
// them); maps that are not pinned there are no error.
absl::Status UnpinMaps(const std::string& pin_dir);

// Removes the XDP program from `ifname` if it is xlb's; a no-op otherwise.
// With `maps`, also removes the interface from them (redirect target, MAC).
absl::Status DetachXlb(const std::string& ifname, const Maps* maps);

}  // namespace xlb::dataplane

#endif  // XLB_DATAPLANE_PROGRAM_H_
