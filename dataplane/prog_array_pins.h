// Pins of the prog array behind xlb's tail call (tunnel_progs, bpf/tunnel.h).
//
// The kernel empties a prog array when its last user reference goes: the
// loader's descriptors, or a pin. Unpinned, the array of a program left
// attached after xlbd exited would empty at the exit, and tunnel flows would
// be dropped until a new xlbd runs. Adopting the pinned array instead, as the
// other maps are adopted, would tail-call the old instance's xlb_tunnel with
// the new instance's scratch map. So every load pins its own array under its
// map id, <pin_dir>/tunnel_progs_<id>, and a pin goes once no loaded program
// uses its array: after the new instance replaced the old one on every
// interface.
#ifndef XLB_DATAPLANE_PROG_ARRAY_PINS_H_
#define XLB_DATAPLANE_PROG_ARRAY_PINS_H_

#include <string>

#include "absl/status/status.h"

namespace xlb::dataplane {

// Pins the prog array `map_fd` as <pin_dir>/<name>_<its map id>.
absl::Status PinProgArray(int map_fd, const std::string& pin_dir, const std::string& name);

// Removes the pins <pin_dir>/<name>_<id> whose array no loaded program uses
// (which empties the array and frees the programs in it). `all`: every such
// pin, used or not (the program is being detached for good).
absl::Status ForgetProgArrays(const std::string& pin_dir, const std::string& name, bool all);

}  // namespace xlb::dataplane

#endif  // XLB_DATAPLANE_PROG_ARRAY_PINS_H_
