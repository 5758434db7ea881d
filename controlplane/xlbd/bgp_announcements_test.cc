// xlbd's side of the bgp: section without an FRR (vtysh is /bin/false here:
// every call fails, which must never matter to what is tested): the drain
// is remembered in its file, refused without a section or where the file
// cannot be written, and a reload may not move xlbd to another AS or FRR.
#include "controlplane/xlbd/bgp_announcements.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "gtest/gtest.h"

namespace xlb::xlbd {
namespace {

config::BgpConfig Section(uint32_t asn = 64513, std::string pathspace = "") {
  config::BgpConfig b;
  b.asn = asn;
  b.router_id = *model::IpAddress::Parse("198.51.100.1");
  b.frr_pathspace = std::move(pathspace);
  return b;
}

bgp::AnnouncerOptions NoFrr() {
  bgp::AnnouncerOptions o;
  o.vtysh.binary = "/bin/false";
  return o;
}

class BgpAnnouncementsTest : public testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/xlb-bgp-state.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(BgpAnnouncementsTest, DrainIsRememberedAcrossInstances) {
  const std::string file = dir_ + "/state/bgp-drained";  // state/ made on demand
  {
    BgpAnnouncements a(file, NoFrr());
    a.Configure(Section(), {});
    EXPECT_FALSE(a.View().drained);
    ASSERT_TRUE(a.SetDrained(true).ok());
    EXPECT_TRUE(a.View().drained);
    EXPECT_TRUE(std::filesystem::exists(file));
  }
  BgpAnnouncements restarted(file, NoFrr());
  restarted.Configure(Section(), {});
  EXPECT_TRUE(restarted.View().drained);
  ASSERT_TRUE(restarted.SetDrained(false).ok());
  EXPECT_FALSE(restarted.View().drained);
  EXPECT_FALSE(std::filesystem::exists(file));
  EXPECT_TRUE(restarted.SetDrained(false).ok());  // undrain twice: no error
}

TEST_F(BgpAnnouncementsTest, DrainWithoutASectionIsRefused) {
  BgpAnnouncements a(dir_ + "/bgp-drained", NoFrr());
  a.Configure(std::nullopt, {});
  const absl::Status st = a.SetDrained(true);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message(), "no bgp: section in xlbd's configuration");
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/bgp-drained"));
  EXPECT_FALSE(a.View().configured);
}

TEST_F(BgpAnnouncementsTest, DrainThatCannotBeRememberedChangesNothing) {
  BgpAnnouncements a("/proc/xlb-no-such-dir/bgp-drained", NoFrr());
  a.Configure(Section(), {});
  const absl::Status st = a.SetDrained(true);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cannot create /proc/xlb-no-such-dir"), std::string::npos) << st;
  EXPECT_NE(st.message().find("; not drained"), std::string::npos) << st;
  EXPECT_FALSE(a.View().drained);
}

TEST_F(BgpAnnouncementsTest, AReloadKeepsTheAsAndTheFrr) {
  BgpAnnouncements a(dir_ + "/bgp-drained", NoFrr());
  EXPECT_TRUE(a.CheckReload(Section(64600, "other")).ok());  // nothing running yet
  a.Configure(Section(64513, "frr1"), {});
  EXPECT_TRUE(a.CheckReload(Section(64513, "frr1")).ok());
  EXPECT_TRUE(a.CheckReload(std::nullopt).ok());  // removing the section is fine
  const absl::Status as = a.CheckReload(Section(64600, "frr1"));
  EXPECT_EQ(as.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(as.message().find("bgp.asn: 64600 instead of 64513"), std::string::npos) << as;
  const absl::Status ps = a.CheckReload(Section(64513, "frr2"));
  EXPECT_NE(ps.message().find("bgp.frr_pathspace: 'frr2' instead of 'frr1'"), std::string::npos)
      << ps;
}

TEST_F(BgpAnnouncementsTest, ViewJudgesTheVips) {
  BgpAnnouncements a(dir_ + "/bgp-drained", NoFrr());
  const auto vip = *model::IpAddress::Parse("203.0.113.10");
  a.Configure(Section(), {{vip, {{.takes_traffic = true, .passed = true, .judged = true}}}});
  api::BgpView v = a.View();
  ASSERT_EQ(v.vips.size(), 1u);
  EXPECT_TRUE(v.vips[0].healthy);
  EXPECT_TRUE(v.vips[0].wanted);
  EXPECT_FALSE(v.vips[0].announced);  // no FRR here
  a.Update({{vip, {{.takes_traffic = false, .passed = true, .judged = true}}}});
  v = a.View();
  EXPECT_FALSE(v.vips[0].healthy);
  EXPECT_FALSE(v.vips[0].wanted);
}

TEST_F(BgpAnnouncementsTest, NoVipWantedWhileSyncIsNotReady) {
  BgpAnnouncements a(dir_ + "/bgp-drained", NoFrr());
  const auto vip = *model::IpAddress::Parse("203.0.113.10");
  a.SetSyncReady(false);
  a.Configure(Section(), {{vip, {{.takes_traffic = true, .passed = true, .judged = true}}}});
  api::BgpView v = a.View();
  ASSERT_EQ(v.vips.size(), 1u);
  EXPECT_FALSE(v.vips[0].wanted);  // not announced before: kept so
  a.SetSyncReady(true);
  v = a.View();
  EXPECT_TRUE(v.vips[0].healthy);
  EXPECT_TRUE(v.vips[0].wanted);
}

}  // namespace
}  // namespace xlb::xlbd
