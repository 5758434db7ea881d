// xlb-decap's loader: loads xlb_decap.bpf.c, fills its maps (the VIPs, the
// outer destinations that are this real's, the GUE port), pins it, attaches
// it to an interface, detaches it, and reads what status shows.
#ifndef XLB_DECAP_DECAP_H_
#define XLB_DECAP_DECAP_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "decap/decap_abi.h"
#include "model/address.h"

struct xlb_decap_bpf;  // the generated skeleton

namespace xlb::decap {

inline constexpr char kDefaultPinDir[] = "/sys/fs/bpf/xlb-decap";
// The program's name as the kernel shows it (bpftool, ip link).
inline constexpr char kProgName[] = "xlb_decap";

// The counters, by enum xlb_decap_counter, as status shows them.
inline constexpr std::array<const char*, XLB_DECAP_COUNTERS> kCounterNames = {
    "ipip_v4", "ipip_v6", "gue_v4", "gue_v6", "passed", "not_vip", "malformed"};

using Counters = std::array<uint64_t, XLB_DECAP_COUNTERS>;

struct Config {
  std::vector<model::IpAddress> vips;    // inner destinations decapsulated
  std::vector<model::IpAddress> locals;  // outer destinations that are ours
  uint16_t gue_port = XLB_DECAP_GUE_PORT_DEFAULT;
};

// One instance of the program and its maps: freshly loaded, or the pinned one.
class Program {
 public:
  // A new instance, not pinned, not attached (the packet tests use it).
  static absl::StatusOr<std::unique_ptr<Program>> Load();
  // The instance pinned in `pin_dir`; NotFound when nothing is pinned there.
  static absl::StatusOr<std::unique_ptr<Program>> OpenPinned(const std::string& pin_dir);
  ~Program();

  int prog_fd() const { return prog_fd_; }
  uint32_t prog_id() const;

  // Makes the maps say `config` exactly (entries not in it are removed).
  absl::Status Configure(const Config& config);
  absl::StatusOr<Config> ReadConfig() const;
  // Summed over CPUs.
  absl::StatusOr<Counters> ReadCounters() const;

  // Pins the program and its maps in `pin_dir` (which must not hold them).
  absl::Status Pin(const std::string& pin_dir) const;

 private:
  Program() = default;
  struct ::xlb_decap_bpf* skel_ = nullptr;  // only for a fresh instance
  int prog_fd_ = -1, vips_fd_ = -1, locals_fd_ = -1, config_fd_ = -1, counters_fd_ = -1;
  bool own_fds_ = false;  // opened from pins (closed here), else the skeleton's
};

enum class Mode { kNativeOrGeneric, kNative, kGeneric };

struct AttachOptions {
  std::string ifname;
  Config config;          // config.locals empty: the interface's addresses
  Mode mode = Mode::kNativeOrGeneric;
  std::string pin_dir = kDefaultPinDir;
};

// Loads, configures, pins and attaches; with the program already attached
// to this interface from `pin_dir`, replaces its configuration instead. On
// an error nothing is changed. Returns what it did, for the user.
absl::StatusOr<std::string> Attach(const AttachOptions& options);

// Detaches xlb-decap from `ifname`, and removes the pins once it is attached
// nowhere.
absl::Status Detach(const std::string& ifname, const std::string& pin_dir);

struct Interface {
  std::string name;
  bool generic = false;
};

struct Status {
  bool pinned = false;
  std::vector<Interface> interfaces;  // where the pinned program is attached
  Config config;
  Counters counters{};
};

absl::StatusOr<Status> ReadStatus(const std::string& pin_dir);

}  // namespace xlb::decap

#endif  // XLB_DECAP_DECAP_H_
