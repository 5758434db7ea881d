// Primality, for Maglev table sizes (which must be prime).
#ifndef XLB_MODEL_PRIME_H_
#define XLB_MODEL_PRIME_H_

#include <cstdint>

namespace xlb::model {

// Deterministic for every 64-bit n (Miller-Rabin with a proven base set).
bool IsPrime(uint64_t n);

// A size a Maglev table may have: prime and within model/capacity.h.
bool IsMaglevTableSize(uint64_t n);

}  // namespace xlb::model

#endif  // XLB_MODEL_PRIME_H_
