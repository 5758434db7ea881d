// The data plane's capacities, as a config is validated against them. The
// BPF side sizes its maps from bpf/xlb_abi.h; dataplane/abi_capacity.cc
// static_asserts that each value here equals its ABI twin, so the two can
// never drift while the model stays free of the BPF headers.
#ifndef XLB_MODEL_CAPACITY_H_
#define XLB_MODEL_CAPACITY_H_

#include <cstdint>

namespace xlb::model {

inline constexpr uint32_t kMaxServices = 1024;  // service ids 1..1023
inline constexpr uint32_t kMaxReals = 65536;    // real ids 1..65535, one per (service, real)
inline constexpr uint32_t kMaxInterfaces = 64;  // interfaces the program forwards on

// A Maglev table's size is a prime in [kMaglevMinSize, kMaglevMaxSize].
inline constexpr uint32_t kMaglevMinSize = 7;
inline constexpr uint32_t kMaglevMaxSize = 1048573;     // largest prime below 2^20
inline constexpr uint32_t kMaglevDefaultSize = 65537;   // ~650 slots per real at 100 reals

// Flow tables (LRU hashes); config key `tables`.
inline constexpr uint32_t kConnTableDefault = 262144;
inline constexpr uint32_t kPersistTableDefault = 65536;

inline constexpr uint32_t kMaxWeight = 65535;

}  // namespace xlb::model

#endif  // XLB_MODEL_CAPACITY_H_
