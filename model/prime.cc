#include "model/prime.h"

#include "model/capacity.h"

namespace xlb::model {

namespace {

__extension__ typedef unsigned __int128 Uint128;

uint64_t MulMod(uint64_t a, uint64_t b, uint64_t m) {
  return static_cast<uint64_t>(static_cast<Uint128>(a) * b % m);
}

uint64_t PowMod(uint64_t base, uint64_t exp, uint64_t m) {
  uint64_t result = 1 % m;
  base %= m;
  while (exp != 0) {  // at most 64 iterations
    if (exp & 1) result = MulMod(result, base, m);
    base = MulMod(base, base, m);
    exp >>= 1;
  }
  return result;
}

}  // namespace

bool IsPrime(uint64_t n) {
  if (n < 2) return false;
  // Trial division by the small primes also serves as the witness list: the
  // first 12 primes are a deterministic Miller-Rabin base set for all n < 2^64.
  constexpr uint64_t kBases[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
  for (uint64_t p : kBases) {
    if (n % p == 0) return n == p;
  }
  uint64_t d = n - 1;
  int r = 0;
  while ((d & 1) == 0) {
    d >>= 1;
    ++r;
  }
  for (uint64_t a : kBases) {
    uint64_t x = PowMod(a, d, n);
    if (x == 1 || x == n - 1) continue;
    bool composite = true;
    for (int i = 1; i < r; ++i) {
      x = MulMod(x, x, n);
      if (x == n - 1) {
        composite = false;
        break;
      }
    }
    if (composite) return false;
  }
  return true;
}

bool IsMaglevTableSize(uint64_t n) {
  return n >= kMaglevMinSize && n <= kMaglevMaxSize && IsPrime(n);
}

}  // namespace xlb::model
