// Packet tests of the MAC check: a unicast frame for another host's MAC
// (flooded by a switch, e.g. to every VRRP director) goes up unchanged, as
// the kernel, which drops it, would have it. The fixture records lo, where
// test runs arrive, with kDirectorMac, the destination of every test frame.
#include "dataplane/conntrack.h"
#include "tests/packet/packet_fixture.h"

namespace xlb::testing {
namespace {

constexpr Mac kClientMac{0x02, 0, 0, 0, 0, 0xc1};
constexpr Mac kBackupMac{0x02, 0, 0, 0, 0, 0xd2};     // differs in the last byte
constexpr Mac kOtherHostMac{0x12, 0, 0, 0, 0, 0xd1};  // in the first (still unicast)

class MacFilterTest : public PacketTest {
 protected:
  void SetUp() override {
    PacketTest::SetUp();
    AddService("192.0.2.10:80/tcp", {"203.0.113.11"});
    AddService("[2001:db8:10::10]:53/udp", {"2001:db8:2::11"});
  }

  const std::string syn_ = Build(Tcp("198.51.100.2", "192.0.2.10", 40001, 80));

  // Whether `frame`, for a VIP, went up unchanged as another host's and was
  // counted so; else it must have been forwarded as before.
  bool PassedAsNotOurs(const std::string& frame) {
    uint64_t not_ours = Global(XLB_STAT_NOT_OURS);
    auto r = Run(frame);
    if (r.verdict != XDP_PASS) return false;
    EXPECT_EQ(Hex(r.packet), Hex(frame));
    EXPECT_EQ(Global(XLB_STAT_NOT_OURS), not_ours + 1);
    return true;
  }
};

TEST_F(MacFilterTest, FrameForAnotherHostsMacGoesUpUnchangedAndCounted) {
  const std::vector<std::string> frames = {syn_,
                                           Build(F("2001:db8:1::2", "2001:db8:10::10", kUdp, 53))};
  for (const auto& frame : frames) {
    for (const Mac& other : {kBackupMac, kOtherHostMac}) {
      uint64_t tx = Global(XLB_STAT_TX);
      EXPECT_TRUE(PassedAsNotOurs(WithMacs(frame, other, kClientMac))) << Hex(frame);
      EXPECT_EQ(Global(XLB_STAT_TX), tx);
    }
  }
  auto conns = dataplane::ListConnections(prog_->maps(), 100);
  ASSERT_TRUE(conns.ok()) << conns.status();
  EXPECT_TRUE(conns->empty()) << "a flow seen for another host's MAC was recorded";
  // The same frames for the director's MAC are forwarded.
  EXPECT_EQ(SentTo(frames[0]), 11);
  EXPECT_EQ(SentTo(frames[1]), 0x11);
}

TEST_F(MacFilterTest, BroadcastAndMulticastFramesAreForwardedAsBefore) {
  uint64_t not_ours = Global(XLB_STAT_NOT_OURS);
  for (const Mac& group : {Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
                           Mac{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01},
                           Mac{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}}) {
    const std::string frame = WithMacs(syn_, group, kClientMac);
    EXPECT_EQ(SentTo(frame), 11) << Hex(frame);
  }
  EXPECT_EQ(Global(XLB_STAT_NOT_OURS), not_ours);
}

TEST_F(MacFilterTest, WithoutARecordedMacEveryFrameIsForwardedAsBefore) {
  ASSERT_TRUE(dataplane::ForgetInterfaceMac(prog_->maps(), 1).ok());
  EXPECT_EQ(RecordedMac(1), "");
  uint64_t not_ours = Global(XLB_STAT_NOT_OURS);
  EXPECT_EQ(SentTo(WithMacs(syn_, kBackupMac, kClientMac)), 11);
  EXPECT_EQ(Global(XLB_STAT_NOT_OURS), not_ours);
}

// Interfaces whose slots collide (index 65 and 129 have lo's home slot):
// lo is found behind them, and still after they are removed.
TEST_F(MacFilterTest, InterfacesSharingASlotAreAllFound) {
  const std::string theirs = WithMacs(syn_, kBackupMac, kClientMac);
  ASSERT_TRUE(dataplane::ForgetInterfaceMac(prog_->maps(), 1).ok());
  ASSERT_TRUE(dataplane::RecordInterfaceMac(prog_->maps(), 1 + XLB_MAX_IFACES, kBackupMac).ok());
  ASSERT_TRUE(
      dataplane::RecordInterfaceMac(prog_->maps(), 1 + 2 * XLB_MAX_IFACES, kOtherHostMac).ok());
  ASSERT_TRUE(dataplane::RecordInterfaceMac(prog_->maps(), 1, kDirectorMac).ok());
  EXPECT_EQ(SentTo(syn_), 11);
  EXPECT_TRUE(PassedAsNotOurs(theirs));
  for (uint32_t gone : {1u + XLB_MAX_IFACES, 1u + 2 * XLB_MAX_IFACES}) {
    ASSERT_TRUE(dataplane::ForgetInterfaceMac(prog_->maps(), gone).ok());
    EXPECT_EQ(RecordedMac(gone), "");
    EXPECT_EQ(RecordedMac(1), "0200000000d1") << "after removing " << gone;
    EXPECT_EQ(SentTo(syn_), 11) << "after removing " << gone;
    EXPECT_TRUE(PassedAsNotOurs(theirs)) << "after removing " << gone;
  }
  // Back in its home slot, nothing left behind it.
  uint32_t home = xlb_iface_slot(1), after = home + 1;
  xlb_iface slot;
  ASSERT_TRUE(*prog_->maps().iface_macs.Lookup(&home, &slot));
  EXPECT_EQ(slot.ifindex, 1u);
  ASSERT_TRUE(*prog_->maps().iface_macs.Lookup(&after, &slot));
  EXPECT_EQ(slot.ifindex, 0u);
}

TEST_F(MacFilterTest, FullTableRefusesAnotherInterfaceAndStillWorks) {
  for (uint32_t i = 1; i < XLB_MAX_IFACES; ++i)
    ASSERT_TRUE(dataplane::RecordInterfaceMac(prog_->maps(), 1000 + i, kBackupMac).ok()) << i;
  auto st = dataplane::RecordInterfaceMac(prog_->maps(), 5000, kBackupMac);
  EXPECT_TRUE(absl::IsResourceExhausted(st)) << st;
  EXPECT_NE(st.message().find("5000"), std::string::npos) << st;
  EXPECT_EQ(SentTo(syn_), 11);
  EXPECT_TRUE(PassedAsNotOurs(WithMacs(syn_, kBackupMac, kClientMac)));
  // An interface without a slot in a full table: every probe taken, none
  // its own; forwarded as before (to the real behind lo).
  auto r = dataplane::TestRun(prog_->prog_fd(), WithMacs(syn_, kBackupMac, kClientMac),
                              Ifindex("xlbt0"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_STREQ(VerdictName(r->verdict), "XDP_REDIRECT");
}

}  // namespace
}  // namespace xlb::testing
