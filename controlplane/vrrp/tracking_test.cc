#include "controlplane/vrrp/tracking.h"

#include <gtest/gtest.h>

#include "controlplane/vrrp/instance.h"

namespace xlb::vrrp {
namespace {

using config::VrrpTrack;

config::VrrpInstance Instance() {
  config::VrrpInstance v;
  v.name = "vip-a";
  v.interface = "eth0";
  v.track = {VrrpTrack{VrrpTrack::kService, "pg-rw", 50},
             VrrpTrack{VrrpTrack::kInterface, "eth1", 0},
             VrrpTrack{VrrpTrack::kExec, "/bin/check", 20}};
  return v;
}

TrackedObjects AllUp() {
  TrackedObjects o;
  o.services["pg-rw"] = true;
  o.links["eth0"] = true;
  o.links["eth1"] = true;
  o.scripts[ExecTrackId("vip-a", 2)] = true;
  return o;
}

TEST(Tracking, AllUpChangesNothing) {
  TrackVerdict v = EvaluateTracks(Instance(), AllUp());
  EXPECT_EQ(v.priority_decrease, 0);
  EXPECT_FALSE(v.fault);
  EXPECT_EQ(v.up, (std::vector<bool>{true, true, true}));
  EXPECT_EQ(v.why, "");
}

TEST(Tracking, AStalledMainLoopFaultsEveryInstance) {
  TrackedObjects o = AllUp();
  o.main_loop_stalled = true;
  TrackVerdict v = EvaluateTracks(Instance(), o);
  EXPECT_TRUE(v.fault);
  EXPECT_EQ(v.why, "xlbd's main loop stalled (fault)");
  config::VrrpInstance plain;
  plain.interface = "eth0";
  EXPECT_TRUE(EvaluateTracks(plain, o).fault);
}

TEST(Tracking, WeightsAddUp) {
  TrackedObjects o = AllUp();
  o.services["pg-rw"] = false;
  o.scripts[ExecTrackId("vip-a", 2)] = false;
  TrackVerdict v = EvaluateTracks(Instance(), o);
  EXPECT_EQ(v.priority_decrease, 70);
  EXPECT_FALSE(v.fault);
  EXPECT_EQ(v.up, (std::vector<bool>{false, true, false}));
  EXPECT_EQ(v.why, "service pg-rw down (-50), exec /bin/check down (-20)");
}

TEST(Tracking, WeightZeroIsFault) {
  TrackedObjects o = AllUp();
  o.links["eth1"] = false;
  TrackVerdict v = EvaluateTracks(Instance(), o);
  EXPECT_TRUE(v.fault);
  EXPECT_EQ(v.priority_decrease, 0);
  EXPECT_EQ(v.why, "interface eth1 down (fault)");
}

TEST(Tracking, OwnInterfaceDownIsFault) {
  TrackedObjects o = AllUp();
  o.links["eth0"] = false;
  TrackVerdict v = EvaluateTracks(Instance(), o);
  EXPECT_TRUE(v.fault);
  EXPECT_EQ(v.why, "interface eth0 down (fault)");
}

TEST(Tracking, UnknownObjects) {
  // A deleted service and a vanished interface are down; a script that has
  // not run yet is up.
  TrackedObjects o;
  o.links["eth0"] = true;
  TrackVerdict v = EvaluateTracks(Instance(), o);
  EXPECT_EQ(v.up, (std::vector<bool>{false, false, true}));
  EXPECT_EQ(v.priority_decrease, 50);
  EXPECT_TRUE(v.fault);
}

TEST(Tracking, ExecIdsArePerInstanceAndPosition) {
  EXPECT_NE(ExecTrackId("a", 0), ExecTrackId("a", 1));
  EXPECT_NE(ExecTrackId("a", 0), ExecTrackId("b", 0));
}

TEST(VipLabel, OursAndNotOurs) {
  EXPECT_EQ(VipLabel("eth0", 51), "eth0:vrrp51");
  EXPECT_EQ(VipLabel("enp0s31f6", 255), "enp0s31f6:vrrp2");  // cut to 15 bytes
  EXPECT_TRUE(IsVipLabel("eth0", "eth0:vrrp51"));
  EXPECT_TRUE(IsVipLabel("eth0", "eth0:vrrp255"));
  EXPECT_FALSE(IsVipLabel("eth0", "eth0"));        // the kernel's default label
  EXPECT_FALSE(IsVipLabel("eth0", "eth0:vip"));     // somebody else's
  EXPECT_FALSE(IsVipLabel("eth0", "eth1:vrrp51"));  // another interface's
  EXPECT_FALSE(IsVipLabel("eth0", "eth0:vrrp256"));
}

TEST(DropCounterName, IssueNames) {
  EXPECT_STREQ(DropCounterName(DecodeError::kBadChecksum), "bad_checksum");
  EXPECT_STREQ(DropCounterName(DecodeError::kBadTtl), "bad_ttl");
  EXPECT_STREQ(DropCounterName(DecodeError::kBadAuth), "bad_auth");
  EXPECT_STREQ(DropCounterName(DecodeError::kBadLength), "bad_length");
  EXPECT_STREQ(DropCounterName(DecodeError::kWrongVrid), "wrong_vrid");
}

}  // namespace
}  // namespace xlb::vrrp
