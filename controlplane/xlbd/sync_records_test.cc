#include "controlplane/xlbd/sync_records.h"

#include <gtest/gtest.h>

#include "bpf/xlb_abi.h"

namespace xlb::xlbd {
namespace {

model::IpAddress Ip(const char* text) { return model::IpAddress::Parse(text).value(); }

dataplane::SyncFlow V4Flow() {
  dataplane::SyncFlow f;
  f.service = {Ip("198.51.100.10"), 80, model::Protocol::kTcp};
  f.client = Ip("203.0.113.7");
  f.client_port = 40001;
  f.vip_port = 80;
  f.real = Ip("192.0.2.21");
  f.real_port = 8080;
  f.flags = XLB_CONN_F_ESTABLISHED;
  f.age_ms = 1234;
  return f;
}

bool SameFlow(const dataplane::SyncFlow& a, const dataplane::SyncFlow& b) {
  return a.service == b.service && a.client == b.client && a.client_port == b.client_port &&
         a.vip_port == b.vip_port && a.real == b.real && a.real_port == b.real_port &&
         a.flags == b.flags && a.age_ms == b.age_ms;
}

TEST(SyncRecords, V4RoundTrip) {
  dataplane::SyncFlow f = V4Flow();
  sync::FlowRecord r = ToRecord(f, sync::RecordType::kNew);
  EXPECT_EQ(r.type, sync::RecordType::kNew);
  EXPECT_EQ(r.family, model::Family::kV4);
  EXPECT_EQ(r.proto, 6);
  EXPECT_EQ(r.flags, sync::kRecordEstablished);
  EXPECT_EQ(r.client_port, 40001);
  EXPECT_EQ(r.flow_dport, 80);
  EXPECT_EQ(r.svc_port, 80);
  EXPECT_EQ(r.real_port, 8080);
  EXPECT_EQ(r.age_ms, 1234u);
  EXPECT_EQ(r.vip, Ip("198.51.100.10"));
  EXPECT_EQ(r.client, Ip("203.0.113.7"));
  EXPECT_EQ(r.real, Ip("192.0.2.21"));
  EXPECT_TRUE(SameFlow(ToSyncFlow(r), f));
}

TEST(SyncRecords, V6UdpRoundTrip) {
  dataplane::SyncFlow f;
  f.service = {Ip("2001:db8::10"), 53, model::Protocol::kUdp};
  f.client = Ip("2001:db8:1::7");
  f.client_port = 5353;
  f.vip_port = 53;
  f.real = Ip("2001:db8:2::21");
  f.real_port = 53;
  f.age_ms = 0;
  sync::FlowRecord r = ToRecord(f, sync::RecordType::kRefresh);
  EXPECT_EQ(r.type, sync::RecordType::kRefresh);
  EXPECT_EQ(r.family, model::Family::kV6);
  EXPECT_EQ(r.proto, 17);
  EXPECT_EQ(r.flags, 0);
  EXPECT_TRUE(SameFlow(ToSyncFlow(r), f));
}

TEST(SyncRecords, AllPortsServiceKeepsItsFlowPort) {
  dataplane::SyncFlow f = V4Flow();
  f.service.port = 0;  // all-ports
  f.vip_port = 4443;
  f.real_port = 4443;
  sync::FlowRecord r = ToRecord(f, sync::RecordType::kNew);
  EXPECT_EQ(r.svc_port, 0);
  EXPECT_EQ(r.flow_dport, 4443);
  dataplane::SyncFlow back = ToSyncFlow(r);
  EXPECT_EQ(back.service.port, 0);
  EXPECT_EQ(back.vip_port, 4443);
  EXPECT_TRUE(SameFlow(back, f));
}

TEST(SyncRecords, OnlyEstablishedAndClosingFlagsTravel) {
  dataplane::SyncFlow f = V4Flow();
  f.flags = XLB_CONN_F_ESTABLISHED | XLB_CONN_F_CLOSING | XLB_CONN_F_NAT | XLB_CONN_F_TUNNEL |
            XLB_CONN_F_SYNCED;
  sync::FlowRecord r = ToRecord(f, sync::RecordType::kClosing);
  EXPECT_EQ(r.flags, sync::kRecordEstablished | sync::kRecordClosing);
  EXPECT_EQ(ToSyncFlow(r).flags, uint32_t{XLB_CONN_F_ESTABLISHED | XLB_CONN_F_CLOSING});

  f.flags = XLB_CONN_F_CLOSING | XLB_CONN_F_NAT;
  r = ToRecord(f, sync::RecordType::kClosing);
  EXPECT_EQ(r.flags, sync::kRecordClosing);
  EXPECT_EQ(ToSyncFlow(r).flags, uint32_t{XLB_CONN_F_CLOSING});
}

TEST(SyncRecords, RecordTypeOfRingEvents) {
  EXPECT_EQ(RecordTypeOf(XLB_FLOW_EV_NEW), sync::RecordType::kNew);
  EXPECT_EQ(RecordTypeOf(XLB_FLOW_EV_CLOSING), sync::RecordType::kClosing);
  EXPECT_EQ(RecordTypeOf(0), std::nullopt);
  EXPECT_EQ(RecordTypeOf(3), std::nullopt);
}

TEST(SyncRecords, RecordSurvivesTheWire) {
  sync::Key key = sync::Key::FromBytes(std::string(32, 'k')).value();
  sync::Message m;
  m.records.push_back(ToRecord(V4Flow(), sync::RecordType::kNew));
  std::string bytes = sync::Encode(m, key).value();
  sync::DecodeResult d = sync::Decode(bytes, key, 22);
  ASSERT_TRUE(d.ok()) << d.Describe();
  ASSERT_EQ(d.message.records.size(), 1u);
  EXPECT_TRUE(SameFlow(ToSyncFlow(d.message.records[0]), V4Flow()));
}

}  // namespace
}  // namespace xlb::xlbd
