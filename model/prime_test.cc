// Primality and Maglev table sizes: no root needed.
#include "model/prime.h"

#include <cstdint>

#include "gtest/gtest.h"
#include "model/capacity.h"

namespace xlb::model {
namespace {

TEST(IsPrimeTest, SmallAndLarge) {
  EXPECT_FALSE(IsPrime(0));
  EXPECT_FALSE(IsPrime(1));
  EXPECT_TRUE(IsPrime(2));
  EXPECT_TRUE(IsPrime(3));
  EXPECT_FALSE(IsPrime(4));
  EXPECT_TRUE(IsPrime(13));
  EXPECT_FALSE(IsPrime(561));  // Carmichael number
  EXPECT_TRUE(IsPrime(65537));
  EXPECT_FALSE(IsPrime(65536));
  EXPECT_FALSE(IsPrime(3215031751ULL));  // strong pseudoprime to 2, 3, 5, 7
  EXPECT_TRUE(IsPrime(18446744073709551557ULL));  // largest 64-bit prime
  EXPECT_FALSE(IsPrime(18446744073709551615ULL));
}

TEST(IsPrimeTest, MaxSizeIsLargestPrimeBelow2To20) {
  EXPECT_TRUE(IsPrime(kMaglevMaxSize));
  for (uint64_t n = kMaglevMaxSize + 1; n < (uint64_t{1} << 20); ++n) {
    EXPECT_FALSE(IsPrime(n)) << n;
  }
  EXPECT_TRUE(IsPrime(kMaglevMinSize));
}

TEST(IsMaglevTableSizeTest, PrimesWithinTheLimits) {
  EXPECT_TRUE(IsMaglevTableSize(kMaglevDefaultSize));
  EXPECT_TRUE(IsMaglevTableSize(kMaglevMinSize));
  EXPECT_FALSE(IsMaglevTableSize(5));            // prime, below the minimum
  EXPECT_FALSE(IsMaglevTableSize(65536));        // not prime
  EXPECT_FALSE(IsMaglevTableSize(1048583));      // prime, above the maximum
}

}  // namespace
}  // namespace xlb::model
