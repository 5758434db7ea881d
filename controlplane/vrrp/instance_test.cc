// What a reload may change in a running VRRP instance without restarting it
// (a restart leaves the state, and a master gives its VIPs up for a moment).
#include "controlplane/vrrp/instance.h"

#include <gtest/gtest.h>

namespace xlb::vrrp {
namespace {

config::VrrpInstance Running() {
  config::VrrpInstance v;
  v.name = "vip-a";
  v.interface = "eth0";
  v.vrid = 51;
  v.priority = 150;
  v.addresses = {{*model::IpAddress::Parse("198.51.100.10"), 24}};
  v.track = {config::VrrpTrack{config::VrrpTrack::kService, "pg-rw", 50}};
  return v;
}

TEST(AppliesInPlace, PriorityPreemptTracksNotifyAndGarp) {
  config::VrrpInstance next = Running();
  next.priority = 90;
  next.preempt = false;
  next.preempt_delay = std::chrono::seconds(5);
  next.track.clear();
  next.notify = "/usr/local/bin/notify.sh";
  next.notify_master = "/usr/local/bin/master.sh";
  next.notify_backup = "/usr/local/bin/backup.sh";
  next.notify_fault = "/usr/local/bin/fault.sh";
  next.notify_stop = "/usr/local/bin/stop.sh";
  next.notify_keepalived = "/usr/local/bin/notify-all.sh";
  next.garp.count = 2;
  EXPECT_TRUE(AppliesInPlace(Running(), next));
  EXPECT_TRUE(AppliesInPlace(Running(), Running()));
}

TEST(AppliesInPlace, OwnershipOrWhatThePeersSeeRestarts) {
  auto changed = [](auto change) {
    config::VrrpInstance next = Running();
    change(next);
    return AppliesInPlace(Running(), next);
  };
  EXPECT_FALSE(changed([](auto& v) { v.priority = 255; }));  // becomes the owner
  EXPECT_FALSE(changed([](auto& v) { v.vrid = 52; }));
  EXPECT_FALSE(changed([](auto& v) { v.interface = "eth1"; }));
  EXPECT_FALSE(changed([](auto& v) { v.version = 2; }));
  EXPECT_FALSE(changed([](auto& v) { v.advert_interval = std::chrono::milliseconds(200); }));
  EXPECT_FALSE(changed([](auto& v) { v.accept = true; }));
  EXPECT_FALSE(changed([](auto& v) { v.auth_secret = "secret"; }));
  EXPECT_FALSE(changed([](auto& v) {
    v.unicast_peers = {*model::IpAddress::Parse("198.51.100.3")};
  }));
  EXPECT_FALSE(changed([](auto& v) {
    v.addresses.push_back({*model::IpAddress::Parse("198.51.100.11"), 24});
  }));

  config::VrrpInstance owner = Running();
  owner.priority = 255;
  config::VrrpInstance not_owner = owner;
  not_owner.priority = 254;
  EXPECT_FALSE(AppliesInPlace(owner, not_owner));
}

// The commands queued for one state change, in the order they run (one at a
// time, in the instance's queue): keepalived's notify_STATE, its generic
// notify with INSTANCE name STATE priority, then xlb's notify.
TEST(NotifyCommands, KeepalivedOrderAndArguments) {
  config::VrrpInstance v = Running();
  v.name = "vip 'a'";
  v.notify = "/usr/local/bin/xlb notify.sh";
  v.notify_master = "/etc/keepalived/notify.sh master 'x y'";
  v.notify_backup = "/etc/keepalived/notify.sh backup";
  v.notify_fault = "/etc/keepalived/fault.sh";
  v.notify_stop = "/etc/keepalived/stop.sh";
  v.notify_keepalived = "/etc/keepalived/all.sh --log";
  const std::string name = R"('vip '\''a'\''')";  // the name, quoted for /bin/sh
  EXPECT_EQ(NotifyCommands(v, State::kMaster, 150),
            (std::vector<std::string>{
                "/etc/keepalived/notify.sh master 'x y'",
                "/etc/keepalived/all.sh --log INSTANCE " + name + " MASTER 150",
                "'/usr/local/bin/xlb notify.sh' " + name + " MASTER 150"}));
  EXPECT_EQ(NotifyCommands(v, State::kBackup, 100),
            (std::vector<std::string>{
                "/etc/keepalived/notify.sh backup",
                "/etc/keepalived/all.sh --log INSTANCE " + name + " BACKUP 100",
                "'/usr/local/bin/xlb notify.sh' " + name + " BACKUP 100"}));
  EXPECT_EQ(NotifyCommands(v, State::kFault, 0),
            (std::vector<std::string>{
                "/etc/keepalived/fault.sh",
                "/etc/keepalived/all.sh --log INSTANCE " + name + " FAULT 0",
                "'/usr/local/bin/xlb notify.sh' " + name + " FAULT 0"}));
  // The instance stops: keepalived's STOP; xlb's notify says INIT, as before.
  EXPECT_EQ(NotifyCommands(v, State::kInitialize, 150),
            (std::vector<std::string>{
                "/etc/keepalived/stop.sh",
                "/etc/keepalived/all.sh --log INSTANCE " + name + " STOP 150",
                "'/usr/local/bin/xlb notify.sh' " + name + " INIT 150"}));
}

TEST(NotifyCommands, OnlyWhatIsConfigured) {
  config::VrrpInstance v = Running();
  EXPECT_TRUE(NotifyCommands(v, State::kMaster, 150).empty());
  v.notify_backup = "/bin/backup.sh";
  EXPECT_TRUE(NotifyCommands(v, State::kMaster, 150).empty());
  EXPECT_EQ(NotifyCommands(v, State::kBackup, 150), std::vector<std::string>{"/bin/backup.sh"});
  v.notify = "/bin/notify.sh";
  EXPECT_EQ(NotifyCommands(v, State::kMaster, 150),
            std::vector<std::string>{"'/bin/notify.sh' 'vip-a' MASTER 150"});
}

}  // namespace
}  // namespace xlb::vrrp
