#include "controlplane/sync/auth.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace xlb::sync {
namespace {

std::string Hex(const Tag& t) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(t.data()), t.size()));
}

// RFC 4231 4.3, test case 2 (a key shorter than the block).
TEST(Key, Rfc4231TestCase2) {
  absl::StatusOr<Key> key = Key::FromBytes("Jefe", /*allow_short=*/true);
  ASSERT_TRUE(key.ok()) << key.status();
  absl::StatusOr<Tag> tag = key->Sign("what do ya want for nothing?");
  ASSERT_TRUE(tag.ok()) << tag.status();
  EXPECT_EQ(Hex(*tag), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // The key is reused: a second message, then the first again, same answer.
  ASSERT_TRUE(key->Sign("another message").ok());
  EXPECT_EQ(Hex(*key->Sign("what do ya want for nothing?")), Hex(*tag));
}

TEST(Key, VerifyComparesTheWholeTag) {
  absl::StatusOr<Key> key = Key::FromBytes(std::string(32, 'k'));
  ASSERT_TRUE(key.ok()) << key.status();
  const Tag tag = *key->Sign("data");
  const std::string good(reinterpret_cast<const char*>(tag.data()), tag.size());
  EXPECT_TRUE(key->Verify("data", good));
  EXPECT_FALSE(key->Verify("datA", good));
  EXPECT_FALSE(key->Verify("data", good.substr(0, 31)));  // never truncated
  EXPECT_FALSE(key->Verify("data", good + "x"));
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] ^= 0x01;
    EXPECT_FALSE(key->Verify("data", bad)) << "byte " << i;
  }
  absl::StatusOr<Key> other = Key::FromBytes(std::string(32, 'K'));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->Verify("data", good));
}

TEST(Key, SharedBetweenThreads) {
  absl::StatusOr<Key> key = Key::FromBytes(std::string(40, 'z'));
  ASSERT_TRUE(key.ok());
  const Tag want = *key->Sign("same");
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) ok[t] += *key->Sign("same") == want;
    });
  for (auto& th : threads) th.join();
  for (int n : ok) EXPECT_EQ(n, 200);
}

TEST(Key, RefusesShortAndLongKeys) {
  absl::StatusOr<Key> k = Key::FromBytes(std::string(31, 'k'));
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().message(), "the key has 31 bytes (expected at least 32)");
  k = Key::FromBytes(std::string(1025, 'k'));
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().message(), "the key has 1025 bytes (expected at most 1024)");
}

class KeyFile : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/xlb-sync-key.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/sync.key";
  }
  void TearDown() override {
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  void Write(const std::string& bytes, mode_t mode) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
    ASSERT_EQ(chmod(path_.c_str(), mode), 0);
  }
  std::string dir_, path_;
};

TEST_F(KeyFile, LoadsTheBytesAsTheyAre) {
  const std::string bytes = std::string("\0\xff\n", 3) + std::string(29, 'b') + "\n";
  Write(bytes, 0600);
  absl::StatusOr<Key> from_file = Key::LoadFile(path_);
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  absl::StatusOr<Key> direct = Key::FromBytes(bytes);
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(*from_file->Sign("m"), *direct->Sign("m"));
  Write(bytes, 0640);  // as BGP's password_file: the group may read it
  EXPECT_TRUE(Key::LoadFile(path_).ok());
}

TEST_F(KeyFile, RefusesWhatOthersCouldReadOrChange) {
  Write(std::string(32, 'k'), 0644);
  absl::StatusOr<Key> k = Key::LoadFile(path_);
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().message(),
            path_ + ": can be read or changed by others (mode 0644; expected 0600 or 0640): it "
                    "holds a secret (a sync key of 32..1024 bytes, the same file on every "
                    "director)");
  Write(std::string(32, 'k'), 0660);
  k = Key::LoadFile(path_);
  ASSERT_FALSE(k.ok());
  EXPECT_TRUE(absl::StrContains(k.status().message(), "is writable by its group (mode 0660"))
      << k.status();
}

TEST_F(KeyFile, RefusesShortLongAndMissingFiles) {
  Write(std::string(31, 'k'), 0600);
  absl::StatusOr<Key> k = Key::LoadFile(path_);
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().message(),
            path_ + ": holds 31 bytes (expected at least 32, e.g. head -c 32 /dev/urandom)");
  Write(std::string(1025, 'k'), 0600);
  k = Key::LoadFile(path_);
  ASSERT_FALSE(k.ok());
  EXPECT_TRUE(absl::StartsWith(k.status().message(), path_ + ": larger than 1024 bytes"))
      << k.status();
  unlink(path_.c_str());
  k = Key::LoadFile(path_);
  ASSERT_FALSE(k.ok());
  EXPECT_TRUE(absl::StartsWith(k.status().message(), path_ + ": cannot open")) << k.status();
}

}  // namespace
}  // namespace xlb::sync
