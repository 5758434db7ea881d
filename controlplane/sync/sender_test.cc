#include "controlplane/sync/sender.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace xlb::sync {
namespace {

using std::chrono::milliseconds;

model::IpAddress Ip(const char* text) { return model::IpAddress::Parse(text).value(); }

Key TestKey() { return Key::FromBytes(std::string(32, 's')).value(); }

FlowRecord Record(uint16_t client_port) {
  FlowRecord r;
  r.type = RecordType::kNew;
  r.family = model::Family::kV4;
  r.proto = 6;
  r.flags = kRecordEstablished;
  r.client_port = client_port;
  r.flow_dport = 80;
  r.svc_port = 80;
  r.real_port = 80;
  r.age_ms = 5;
  r.client = Ip("203.0.113.7");
  r.vip = Ip("198.51.100.10");
  r.real = Ip("192.0.2.21");
  return r;
}

struct Wire {
  std::vector<std::string> datagrams;
  Sender::SendFn fn() {
    return [this](absl::string_view d) { datagrams.emplace_back(d); };
  }
  Message Decoded(size_t i) const {
    DecodeResult r = Decode(datagrams.at(i), TestKey(), kMaxFrameRecords);
    EXPECT_TRUE(r.ok()) << r.Describe();
    return r.message;
  }
};

constexpr uint32_t kSender = 7;
constexpr uint64_t kEpoch = 1234567890123;

TEST(Sender, PacksFullDatagramsAndFlushesTheRest) {
  Wire wire;
  const Sender::Clock::time_point t0{};
  Sender s(TestKey(), kSender, kEpoch, 1500, model::Family::kV4, wire.fn(), t0);
  EXPECT_EQ(s.records_per_datagram(), 22u);
  for (uint16_t i = 0; i < 23; ++i) s.Add(Record(1000 + i), t0);
  ASSERT_EQ(wire.datagrams.size(), 1u);  // the 22nd record filled one
  EXPECT_EQ(s.queued(), 1u);
  s.Flush(t0);
  ASSERT_EQ(wire.datagrams.size(), 2u);
  s.Flush(t0);  // nothing queued: nothing sent
  EXPECT_EQ(wire.datagrams.size(), 2u);

  Message first = wire.Decoded(0), second = wire.Decoded(1);
  EXPECT_EQ(first.header.type, MessageType::kEvents);
  EXPECT_EQ(first.header.sender_id, kSender);
  EXPECT_EQ(first.header.epoch, kEpoch);
  EXPECT_EQ(first.header.sequence, 1u);
  EXPECT_EQ(second.header.sequence, 2u);
  ASSERT_EQ(first.records.size(), 22u);
  ASSERT_EQ(second.records.size(), 1u);
  for (uint16_t i = 0; i < 22; ++i) EXPECT_EQ(first.records[i], Record(1000 + i));
  EXPECT_EQ(second.records[0], Record(1022));
  EXPECT_EQ(wire.datagrams[0].size(), 1500u - 28u);  // exactly fills the MTU

  EXPECT_EQ(s.counters().datagrams_sent, 2u);
  EXPECT_EQ(s.counters().records_sent, 23u);
  EXPECT_EQ(s.counters().last_sequence, 2u);
  EXPECT_EQ(s.counters().encode_errors, 0u);
}

TEST(Sender, KeepaliveAfterOneSecondIdleAndNotBefore) {
  Wire wire;
  const Sender::Clock::time_point t0{};
  Sender s(TestKey(), kSender, kEpoch, 1500, model::Family::kV4, wire.fn(), t0);
  s.Tick(t0 + milliseconds(999));
  EXPECT_TRUE(wire.datagrams.empty());
  s.Tick(t0 + milliseconds(1000));
  ASSERT_EQ(wire.datagrams.size(), 1u);
  Message k = wire.Decoded(0);
  EXPECT_EQ(k.header.type, MessageType::kKeepalive);
  EXPECT_EQ(k.header.sequence, 1u);
  EXPECT_TRUE(k.records.empty());

  // Records sent at 1.5 s put the next keepalive off until 2.5 s.
  s.Add(Record(1), t0 + milliseconds(1500));
  s.Flush(t0 + milliseconds(1500));
  ASSERT_EQ(wire.datagrams.size(), 2u);
  s.Tick(t0 + milliseconds(2000));
  s.Tick(t0 + milliseconds(2499));
  EXPECT_EQ(wire.datagrams.size(), 2u);
  s.Tick(t0 + milliseconds(2500));
  ASSERT_EQ(wire.datagrams.size(), 3u);
  EXPECT_EQ(wire.Decoded(1).header.sequence, 2u);
  Message k2 = wire.Decoded(2);
  EXPECT_EQ(k2.header.type, MessageType::kKeepalive);
  EXPECT_EQ(k2.header.sequence, 3u);
  EXPECT_EQ(s.counters().keepalives_sent, 2u);
  EXPECT_EQ(s.counters().last_sequence, 3u);
}

TEST(Sender, V6Transport21PerDatagram) {
  Wire wire;
  Sender s(TestKey(), kSender, kEpoch, 1500, model::Family::kV6, wire.fn());
  EXPECT_EQ(s.records_per_datagram(), 21u);
  for (uint16_t i = 0; i < 42; ++i) s.Add(Record(i));
  ASSERT_EQ(wire.datagrams.size(), 2u);
  EXPECT_EQ(wire.Decoded(0).records.size(), 21u);
  EXPECT_EQ(wire.Decoded(1).records.size(), 21u);
  // 21 records fit in 1500 - 48 bytes, 22 would not.
  EXPECT_EQ(wire.datagrams[0].size(), kOverheadLen + 21 * kRecordLen);
  EXPECT_LT(1500u - 48u - wire.datagrams[0].size(), kRecordLen);
  EXPECT_EQ(s.queued(), 0u);
}

TEST(Sender, JumboMtu) {
  Wire wire;
  Sender s(TestKey(), kSender, kEpoch, 9000, model::Family::kV4, wire.fn());
  EXPECT_EQ(s.records_per_datagram(), 139u);
}

TEST(Sender, BadRecordIsDroppedAloneAndCounted) {
  Wire wire;
  Sender s(TestKey(), kSender, kEpoch, 1500, model::Family::kV4, wire.fn());
  FlowRecord mixed = Record(2);
  mixed.real = Ip("2001:db8::21");  // a v6 real in a v4 record
  FlowRecord flags = Record(3);
  flags.flags = 0x80;
  s.Add(Record(1));
  s.Add(mixed);
  s.Add(flags);
  s.Add(Record(4));
  s.Flush();
  ASSERT_EQ(wire.datagrams.size(), 1u);
  Message m = wire.Decoded(0);
  ASSERT_EQ(m.records.size(), 2u);
  EXPECT_EQ(m.records[0], Record(1));
  EXPECT_EQ(m.records[1], Record(4));
  EXPECT_EQ(s.counters().encode_errors, 2u);
  EXPECT_EQ(s.counters().records_sent, 2u);
}

}  // namespace
}  // namespace xlb::sync
