// Weighted Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and
// Reliable Software Network Load Balancer", NSDI'16).
//
// The table maps a flow hash (mod size) to a real id. It is a pure function of
// its inputs so that every director running the same version of xlb builds the
// identical table and a flow lands on the same real whichever director gets it.
#ifndef XLB_DATAPLANE_MAGLEV_H_
#define XLB_DATAPLANE_MAGLEV_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "model/capacity.h"

namespace xlb::dataplane {

struct MaglevBackend {
  std::string key;      // stable identity of the real, e.g. "203.0.113.11:80"; the permutation derives from this alone
  uint32_t id = 0;      // the value written into the slots it owns (a real id, never 0)
  uint32_t weight = 0;  // 0: the backend owns no slot
};

// Builds a Maglev lookup table of `size` slots.
//
// A pure function of (backends as a set, weights, size): the order backends
// are given in does not matter. Each slot holds the id of a backend with
// weight > 0; all slots are 0 when none has. Slot shares are proportional to
// the weights.
//
// Returns absl::InvalidArgumentError (naming the offending thing) when: size is
// not prime or outside [model::kMaglevMinSize, model::kMaglevMaxSize]; an id is 0; a key or
// an id appears twice; more backends have weight > 0 than there are slots.
absl::StatusOr<std::vector<uint32_t>> BuildMaglevTable(
    std::vector<MaglevBackend> backends, uint32_t size);

}  // namespace xlb::dataplane

#endif  // XLB_DATAPLANE_MAGLEV_H_
