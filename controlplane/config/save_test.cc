#include "controlplane/config/save.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace xlb::config {
namespace {

namespace fs = std::filesystem;

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void Write(const fs::path& p, const std::string& text, mode_t mode = 0644) {
  std::ofstream(p) << text;
  chmod(p.c_str(), mode);
}

mode_t Mode(const fs::path& p) {
  struct stat st;
  stat(p.c_str(), &st);
  return st.st_mode & 07777;
}

class SaveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/xlb-save-test.XXXXXX";
    root_ = mkdtemp(tmpl);
    dir_ = root_ / "etc";
    fs::create_directory(dir_);
    conf_ = dir_ / "xlb.yaml";
    Write(conf_, "old\n", 0640);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_, dir_, conf_;
};

TEST_F(SaveTest, ReplacesTheRunningFileKeepingItsModeAndTheOldOneAsBak) {
  auto saved = SaveConfigFile(conf_, "", "new\n", false);
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_EQ(*saved, fs::canonical(conf_).string());
  EXPECT_EQ(Read(conf_), "new\n");
  EXPECT_EQ(Mode(conf_), 0640u);
  EXPECT_EQ(Read(dir_ / "xlb.yaml.bak"), "old\n");
  // A second save replaces the .bak with the previous file.
  ASSERT_TRUE(SaveConfigFile(conf_, "", "newer\n", false).ok());
  EXPECT_EQ(Read(dir_ / "xlb.yaml.bak"), "new\n");
  // Nothing else is left in the directory (no temporary file).
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 2);
}

TEST_F(SaveTest, SecretsAreNeverReadableByOthers) {
  Write(conf_, "old\n", 0644);
  ASSERT_TRUE(SaveConfigFile(conf_, "", "auth\n", true).ok());
  EXPECT_EQ(Mode(conf_), 0600u);
  ASSERT_TRUE(SaveConfigFile(conf_, "fresh.yaml", "auth\n", true).ok());
  EXPECT_EQ(Mode(dir_ / "fresh.yaml"), 0600u);
  ASSERT_TRUE(SaveConfigFile(conf_, "plain.yaml", "x\n", false).ok());
  EXPECT_EQ(Mode(dir_ / "plain.yaml"), 0644u);
}

TEST_F(SaveTest, RelativeAndAbsolutePathsInTheDirectoryAreWritten) {
  ASSERT_TRUE(SaveConfigFile(conf_, "copy.yaml", "a\n", false).ok());
  EXPECT_EQ(Read(dir_ / "copy.yaml"), "a\n");
  ASSERT_TRUE(SaveConfigFile(conf_, (dir_ / "copy2.yaml").string(), "b\n", false).ok());
  EXPECT_EQ(Read(dir_ / "copy2.yaml"), "b\n");
}

TEST_F(SaveTest, AnythingElseIsRefusedAndChangesNothing) {
  const fs::path outside = root_ / "passwd";
  Write(outside, "root\n");
  auto refused = [&](const std::string& path, const std::string& why) {
    auto saved = SaveConfigFile(conf_, path, "evil\n", false);
    EXPECT_FALSE(saved.ok()) << path;
    EXPECT_NE(std::string(saved.status().message()).find(why), std::string::npos)
        << path << ": " << saved.status();
  };
  refused(outside.string(), "only files in the running configuration's directory");
  refused("../passwd", "only files in the running configuration's directory");
  refused("/nonexistent/x.yaml", "/nonexistent");
  fs::create_symlink(outside, dir_ / "link.yaml");
  refused("link.yaml", "is a symlink");
  fs::create_directory_symlink(root_, dir_ / "up");
  refused("up/passwd", "only files in the running configuration's directory");
  fs::create_directory(dir_ / "sub.yaml");
  refused("sub.yaml", "is not a regular file");
  refused(dir_.string() + "/", "not a file name");
  EXPECT_EQ(Read(outside), "root\n");
  EXPECT_EQ(Read(conf_), "old\n");
  EXPECT_FALSE(fs::exists(dir_ / "xlb.yaml.bak"));
}

}  // namespace
}  // namespace xlb::config
