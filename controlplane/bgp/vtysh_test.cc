// The vtysh runner against fake vtysh scripts (given as the binary): the
// argv it passes, a failure as FRR prints it (testdata/error_echo.txt, a
// real capture), a hang killed at the deadline with its process group, and
// output over the limit.
#include "controlplane/bgp/vtysh.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "controlplane/bgp/testdata/samples.h"
#include "gtest/gtest.h"

namespace xlb::bgp {
namespace {

class VtyshTest : public testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/xlb-vtysh-test.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  // A fake vtysh: /bin/sh running `body`.
  VtyshOptions Fake(const std::string& body) {
    const std::string path = dir_ + "/vtysh";
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    chmod(path.c_str(), 0755);
    VtyshOptions options;
    options.binary = path;
    return options;
  }

  std::string dir_;
};

TEST_F(VtyshTest, PassesArgvAndReturnsOutput) {
  VtyshOptions options = Fake("for a in \"$@\"; do echo \"[$a]\"; done; echo oops >&2");
  options.pathspace = "lab-d";
  absl::StatusOr<std::string> out = Show(options, "show bgp summary json");
  ASSERT_TRUE(out.ok()) << out.status();
  // vtysh's warnings on stderr (e.g. no vtysh.conf) are not part of a show's JSON.
  EXPECT_EQ(*out, "[-N]\n[lab-d]\n[-c]\n[show bgp summary json]\n");
  options.pathspace = "";
  EXPECT_TRUE(Configure(options, {"configure terminal", "router bgp 64513"}).ok());
  EXPECT_TRUE(Configure(options, {}).ok());
}

TEST_F(VtyshTest, ConfigureUsesEchoMode) {
  VtyshOptions options = Fake("[ \"$*\" = '-E -c configure terminal -c network 203.0.113.1/32' ]");
  EXPECT_TRUE(Configure(options, {"configure terminal", "network 203.0.113.1/32"}).ok());
  EXPECT_FALSE(Configure(options, {"configure terminal"}).ok());
}

// FRR's real output of a failed call (testdata/capture.sh), replayed.
TEST_F(VtyshTest, FailureNamesCommandAndFrrLine) {
  const std::string sample = samples::Path("error_echo.txt");
  VtyshOptions options = Fake(absl::StrCat("grep -v '^rc=' '", sample, "'; exit 1"));
  absl::Status s = Configure(options, {"configure terminal", "router bgp 64513",
                                       "address-family ipv4 unicast", "network 203.0.113.300/32",
                                       "network 203.0.113.12/32"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "vtysh: 'network 203.0.113.300/32' failed (exit 1): "
            "% Unknown command: network 203.0.113.300/32");
  // bfdd not running (testdata/error_bfdd_absent.txt): vtysh says so on
  // stderr, which Configure reads with the echoes.
  options = Fake(absl::StrCat("grep -v '^rc=' '", samples::Path("error_bfdd_absent.txt"),
                              "'; exit 1"));
  s = Configure(options, {"configure terminal", "bfd", "profile xlbd", "transmit-interval 100"});
  EXPECT_EQ(s.message(), "vtysh: 'bfd' failed (exit 1): bfdd is not running");
  // What vtysh -N writes (on stderr) when nothing runs there, as measured.
  options = Fake("echo \"% Can't open configuration file /etc/frr/x/vtysh.conf due to 'No such "
                 "file or directory'.\" >&2; echo 'Exiting: failed to connect to any daemons.' >&2; "
                 "exit 1");
  absl::StatusOr<std::string> out = Show(options, "show running-config");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(),
            "vtysh: 'show running-config' failed (exit 1): % Can't open configuration file "
            "/etc/frr/x/vtysh.conf due to 'No such file or directory'.; Exiting: failed to "
            "connect to any daemons.");
}

// A password never reaches a log through an error: FRR echoes the command.
TEST_F(VtyshTest, PasswordsAreHidden) {
  EXPECT_EQ(Redacted("neighbor 192.0.2.2 password s3cret"), "neighbor 192.0.2.2 password <hidden>");
  EXPECT_EQ(Redacted("no neighbor 192.0.2.2 password"), "no neighbor 192.0.2.2 password");
  EXPECT_EQ(Redacted("network 203.0.113.1/32"), "network 203.0.113.1/32");
  VtyshOptions options = Fake(
      "echo 'vm(config-router)# neighbor 192.0.2.2 password s3cret x'; "
      "echo '% Unknown command: neighbor 192.0.2.2 password s3cret x'; exit 1");
  absl::Status s = Configure(options, {"neighbor 192.0.2.2 password s3cret x"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().find("s3cret"), std::string::npos) << s;
  EXPECT_NE(s.message().find("password <hidden>"), std::string::npos) << s;
}

TEST_F(VtyshTest, HangIsKilledWithItsGroupAtTheDeadline) {
  VtyshOptions options = Fake(absl::StrCat("sleep 30 & echo $! >", dir_, "/child; wait"));
  options.deadline = absl::Milliseconds(300);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> out = Show(options, "show bgp summary json");
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kDeadlineExceeded) << out.status();
  EXPECT_GE(took, absl::Milliseconds(300));
  EXPECT_LT(took, absl::Seconds(2));
  // The sleep, in vtysh's process group, was killed too (it holds the pipe:
  // without the group kill it would live on for 30 s).
  std::ifstream in(dir_ + "/child");
  pid_t child = 0;
  in >> child;
  ASSERT_GT(child, 0);
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {  // reparented: its reaper may take a moment
    gone = kill(child, 0) != 0 || !std::ifstream(absl::StrCat("/proc/", child, "/stat")).good();
    if (!gone) {
      std::ifstream stat(absl::StrCat("/proc/", child, "/stat"));
      std::string pid_, comm, state;
      stat >> pid_ >> comm >> state;
      gone = state == "Z";
    }
    if (!gone) usleep(10000);
  }
  EXPECT_TRUE(gone) << "pid " << child;
}

TEST_F(VtyshTest, OutputOverTheLimitIsAnError) {
  VtyshOptions options = Fake("head -c 100000 /dev/zero; sleep 30");
  options.output_limit = 1000;
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> out = Show(options, "show running-config");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), absl::StatusCode::kResourceExhausted) << out.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST_F(VtyshTest, MissingBinaryIsNamed) {
  VtyshOptions options;
  options.binary = dir_ + "/no-such-vtysh";
  absl::Status s = Configure(options, {"configure terminal"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no-such-vtysh"), std::string::npos) << s;
}

}  // namespace
}  // namespace xlb::bgp
