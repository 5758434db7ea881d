// The VRRP thread's failure modes: an exception escaping its loop, and a
// caller waiting on a thread that has died.
#include "controlplane/vrrp/speaker_thread.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace xlb::vrrp {
namespace {

using namespace std::chrono_literals;

bool WaitFor(const std::atomic<bool>& flag, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!flag && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  return flag;
}

TEST(SpeakerThread, AnExceptionOnTheVrrpThreadStopsXlbdAndNoCallerHangs) {
  SpeakerThread thread;
  std::atomic<bool> fatal{false};
  thread.OnFatal([&] { fatal = true; });
  EXPECT_TRUE(thread.Configure({}).ok());
  thread.Post([] { throw std::runtime_error("injected"); });
  ASSERT_TRUE(WaitFor(fatal, 5000ms)) << "OnFatal was not called";
  EXPECT_TRUE(thread.dead());
  // Nothing waits on the dead thread: each returns at once.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(thread.Status().empty());
  absl::Status st = thread.Configure({});
  EXPECT_TRUE(absl::IsUnavailable(st)) << st;
  thread.SetServices({{"web", true}});
  thread.Shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

}  // namespace
}  // namespace xlb::vrrp
