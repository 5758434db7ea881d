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

}  // namespace
}  // namespace xlb::vrrp
