#include "controlplane/sync/receiver.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace xlb::sync {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uint32_t kOwnId = 1;
constexpr uint32_t kPeerId = 2;
constexpr uint64_t kEpoch = 1'764'700'000'000'000'000;
const SteadyTime kT0 = SteadyTime{} + seconds(1000);

model::IpAddress Ip(const char* text) { return *model::IpAddress::Parse(text); }
const model::IpAddress kPeerA = Ip("192.0.2.12");
const model::IpAddress kPeerB = Ip("192.0.2.13");
const model::IpAddress kStranger = Ip("192.0.2.99");

Key TestKey(char fill = 'k') { return *Key::FromBytes(std::string(32, fill)); }

FlowRecord Record(uint32_t age_ms = 0) {
  FlowRecord r;
  r.client = Ip("198.51.100.7");
  r.vip = Ip("203.0.113.10");
  r.real = Ip("192.0.2.50");
  r.client_port = 40000;
  r.flow_dport = r.svc_port = r.real_port = 80;
  r.age_ms = age_ms;
  return r;
}

std::string Datagram(uint64_t seq, size_t records = 1, uint32_t sender = kPeerId,
                     uint64_t epoch = kEpoch, MessageType type = MessageType::kEvents,
                     const Key& key = TestKey()) {
  Message m;
  m.header = {type, sender, epoch, seq};
  for (size_t i = 0; i < records; ++i) m.records.push_back(Record(static_cast<uint32_t>(i)));
  return *Encode(m, key);
}

std::string Keepalive(uint64_t seq, uint32_t sender = kPeerId, uint64_t epoch = kEpoch) {
  return Datagram(seq, 0, sender, epoch, MessageType::kKeepalive);
}

ReceiverOptions Options(uint64_t rate_limit = kDefaultRateLimit) {
  ReceiverOptions o;
  o.peers = {kPeerA, kPeerB};
  o.own_sender_id = kOwnId;
  o.max_records = MaxRecords(1500, model::Family::kV4);
  o.rate_limit = rate_limit;
  return o;
}

PeerStatus StatusOf(const Receiver& r, const model::IpAddress& a, SteadyTime now) {
  for (PeerStatus& s : r.Peers(now)) {
    if (s.address == a) return s;
  }
  ADD_FAILURE() << "no peer " << a.ToString();
  return {};
}

TEST(Receiver, AdmitsRecordsOfAPeer) {
  Receiver r(TestKey(), Options());
  ReceiveResult got = r.OnDatagram(kPeerA, Datagram(1, 3), kT0);
  ASSERT_TRUE(got.admitted());
  EXPECT_EQ(got.type, MessageType::kEvents);
  ASSERT_EQ(got.records.size(), 3u);
  EXPECT_EQ(got.records[2], Record(2));
  PeerStatus s = StatusOf(r, kPeerA, kT0);
  EXPECT_TRUE(s.heard);
  EXPECT_TRUE(s.up);
  EXPECT_EQ(s.sender_id, kPeerId);
  EXPECT_EQ(s.epoch, kEpoch);
  EXPECT_EQ(s.highest_sequence, 1u);
  EXPECT_EQ(s.datagrams, 1u);
  EXPECT_EQ(s.records, 3u);
  EXPECT_EQ(s.last_heard, kT0);
  // The other configured peer is listed, never heard, down.
  PeerStatus b = StatusOf(r, kPeerB, kT0);
  EXPECT_FALSE(b.heard);
  EXPECT_FALSE(b.up);
  EXPECT_FALSE(b.last_heard.has_value());
  for (const auto& [reason, n] : r.Dropped()) EXPECT_EQ(n, 0u) << reason;
}

TEST(Receiver, UnknownPeerDroppedBeforeAnythingElse) {
  Receiver r(TestKey(), Options());
  ReceiveResult got = r.OnDatagram(kStranger, Datagram(1), kT0);
  EXPECT_EQ(got.dropped, DropReason::kUnknownPeer);
  EXPECT_TRUE(got.records.empty());
  EXPECT_EQ(r.Dropped().at("unknown_peer"), 1u);
  EXPECT_EQ(r.Peers(kT0).size(), 2u);  // no entry made for it
}

TEST(Receiver, AnotherKeyIsAuthFailed) {
  Receiver r(TestKey(), Options());
  ReceiveResult got = r.OnDatagram(
      kPeerA, Datagram(1, 1, kPeerId, kEpoch, MessageType::kEvents, TestKey('x')), kT0);
  EXPECT_EQ(got.dropped, DropReason::kAuthFailed);
  EXPECT_EQ(r.dropped(DropReason::kAuthFailed), 1u);
  EXPECT_EQ(r.decode_errors(DecodeError::kBadTag), 1u);
  PeerStatus s = StatusOf(r, kPeerA, kT0);
  EXPECT_FALSE(s.heard);  // a forged datagram fixes no sender id
  EXPECT_FALSE(s.up);
  EXPECT_EQ(s.dropped.at("auth_failed"), 1u);
}

TEST(Receiver, MalformedWithTheDecodeErrorCounted) {
  Receiver r(TestKey(), Options());
  EXPECT_EQ(r.OnDatagram(kPeerA, "junk", kT0).dropped, DropReason::kMalformed);
  std::string bad_magic = Datagram(1);
  bad_magic[0] = 'Y';
  EXPECT_EQ(r.OnDatagram(kPeerA, bad_magic, kT0).dropped, DropReason::kMalformed);
  // More records than the MTU allows.
  EXPECT_EQ(r.OnDatagram(kPeerA, Datagram(1, 30), kT0).dropped, DropReason::kMalformed);
  // Authenticated, but a TCP-only type.
  EXPECT_EQ(r.OnDatagram(kPeerA, Datagram(1, 0, kPeerId, kEpoch, MessageType::kResyncDone),
                         kT0)
                .dropped,
            DropReason::kMalformed);
  EXPECT_EQ(r.dropped(DropReason::kMalformed), 4u);
  EXPECT_EQ(r.decode_errors(DecodeError::kTruncatedHeader), 1u);
  EXPECT_EQ(r.decode_errors(DecodeError::kBadMagic), 1u);
  EXPECT_EQ(r.decode_errors(DecodeError::kTooManyRecords), 1u);
  EXPECT_EQ(r.tcp_only_type(), 1u);
  EXPECT_EQ(r.dropped(DropReason::kAuthFailed), 0u);
  // None of them used up a sequence number.
  EXPECT_TRUE(r.OnDatagram(kPeerA, Datagram(1), kT0).admitted());
}

TEST(Receiver, OwnDatagramsIgnoredNotDropped) {
  Receiver r(TestKey(), Options());
  ReceiveResult got = r.OnDatagram(kPeerA, Datagram(1, 1, kOwnId), kT0);
  EXPECT_TRUE(got.own);
  EXPECT_FALSE(got.admitted());
  EXPECT_FALSE(got.dropped.has_value());
  EXPECT_TRUE(got.records.empty());
  EXPECT_EQ(r.own(), 1u);
  EXPECT_FALSE(StatusOf(r, kPeerA, kT0).heard);
  for (const auto& [reason, n] : r.Dropped()) EXPECT_EQ(n, 0u) << reason;
}

TEST(Receiver, ReplayedDatagramsDropped) {
  Receiver r(TestKey(), Options());
  const std::string d = Datagram(5);
  EXPECT_TRUE(r.OnDatagram(kPeerA, d, kT0).admitted());
  EXPECT_EQ(r.OnDatagram(kPeerA, d, kT0).dropped, DropReason::kReplayed);  // duplicate
  EXPECT_TRUE(r.OnDatagram(kPeerA, Datagram(5 + kReplayWindow), kT0).admitted());
  EXPECT_EQ(r.OnDatagram(kPeerA, Datagram(4), kT0).dropped, DropReason::kReplayed);  // too old
  EXPECT_EQ(r.dropped(DropReason::kReplayed), 2u);
  EXPECT_EQ(StatusOf(r, kPeerA, kT0).dropped.at("replayed"), 2u);
  // Each peer has its own window: the same numbers from B are new.
  EXPECT_TRUE(r.OnDatagram(kPeerB, d, kT0).admitted());
}

TEST(Receiver, ASecondSenderIdFromThePeerIsRefused) {
  Receiver r(TestKey(), Options());
  EXPECT_TRUE(r.OnDatagram(kPeerA, Datagram(1), kT0).admitted());
  // Same or older epoch under another id: two directors behind one address, or a mistake.
  EXPECT_EQ(r.OnDatagram(kPeerA, Datagram(2, 1, 9), kT0).dropped, DropReason::kWrongSender);
  EXPECT_EQ(r.OnDatagram(kPeerA, Datagram(2, 1, 9, kEpoch - 1), kT0).dropped,
            DropReason::kWrongSender);
  EXPECT_EQ(r.dropped(DropReason::kWrongSender), 2u);
  EXPECT_EQ(StatusOf(r, kPeerA, kT0).sender_id, kPeerId);
}

TEST(Receiver, RestartWithANewEpochAccepted) {
  Receiver r(TestKey(), Options());
  EXPECT_TRUE(r.OnDatagram(kPeerA, Datagram(1000), kT0).admitted());
  // Same node id, newer epoch, numbering from 1 again.
  EXPECT_TRUE(r.OnDatagram(kPeerA, Datagram(1, 1, kPeerId, kEpoch + 1), kT0).admitted());
  // A datagram of the old epoch is now a replay.
  EXPECT_EQ(r.OnDatagram(kPeerA, Datagram(1001), kT0).dropped, DropReason::kReplayed);
  // Restarted under a new node id: accepted because its epoch is newer.
  EXPECT_TRUE(r.OnDatagram(kPeerA, Datagram(1, 1, 42, kEpoch + 2), kT0).admitted());
  PeerStatus s = StatusOf(r, kPeerA, kT0);
  EXPECT_EQ(s.sender_id, 42u);
  EXPECT_EQ(s.epoch, kEpoch + 2);
  EXPECT_EQ(s.highest_sequence, 1u);
  // And the old id is the wrong sender now.
  EXPECT_EQ(r.OnDatagram(kPeerA, Datagram(2, 1, kPeerId, kEpoch + 1), kT0).dropped,
            DropReason::kWrongSender);
}

TEST(Receiver, KeepaliveKeepsAPeerUpAndShowsMissing) {
  Receiver r(TestKey(), Options());
  EXPECT_TRUE(r.OnDatagram(kPeerA, Datagram(1, 2), kT0).admitted());
  // 2 and 3 are lost; the keepalive takes 4.
  ReceiveResult ka = r.OnDatagram(kPeerA, Keepalive(4), kT0 + seconds(2));
  ASSERT_TRUE(ka.admitted());
  EXPECT_EQ(ka.type, MessageType::kKeepalive);
  EXPECT_TRUE(ka.records.empty());
  PeerStatus s = StatusOf(r, kPeerA, kT0 + seconds(4));
  EXPECT_TRUE(s.up);  // heard 2 s ago
  EXPECT_EQ(s.missing, 2u);
  EXPECT_EQ(s.highest_sequence, 4u);
  EXPECT_EQ(s.datagrams, 2u);
  EXPECT_EQ(s.records, 2u);
  EXPECT_FALSE(StatusOf(r, kPeerA, kT0 + seconds(5) + milliseconds(1)).up);
  // A replayed keepalive does not make it look alive.
  EXPECT_EQ(r.OnDatagram(kPeerA, Keepalive(4), kT0 + seconds(10)).dropped,
            DropReason::kReplayed);
  EXPECT_FALSE(StatusOf(r, kPeerA, kT0 + seconds(10)).up);
}

TEST(Receiver, RateLimitBurstThenRefillWithTime) {
  // 100 records/s: a burst of 100, then 10 per 100 ms.
  Receiver r(TestKey(), Options(100));
  uint64_t seq = 0;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(r.OnDatagram(kPeerA, Datagram(++seq, 20), kT0).admitted()) << i;
  }
  ReceiveResult refused = r.OnDatagram(kPeerA, Datagram(++seq, 20), kT0);
  EXPECT_EQ(refused.dropped, DropReason::kRateLimited);
  EXPECT_TRUE(refused.records.empty());
  EXPECT_EQ(r.dropped(DropReason::kRateLimited), 20u);  // counted by records
  // A keepalive carries no records: never limited, keeps the peer up.
  EXPECT_TRUE(r.OnDatagram(kPeerA, Keepalive(++seq), kT0).admitted());
  // Other peers have their own bucket.
  EXPECT_TRUE(r.OnDatagram(kPeerB, Datagram(1, 20), kT0).admitted());
  // 100 ms gives 10 records: not 20, but 200 ms does.
  EXPECT_EQ(r.OnDatagram(kPeerA, Datagram(++seq, 20), kT0 + milliseconds(100)).dropped,
            DropReason::kRateLimited);
  EXPECT_TRUE(r.OnDatagram(kPeerA, Datagram(++seq, 20), kT0 + milliseconds(200)).admitted());
  // Refill stops at the burst: after a long silence, 100 and no more.
  const SteadyTime later = kT0 + seconds(60);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(r.OnDatagram(kPeerA, Datagram(++seq, 20), later).admitted()) << i;
  }
  EXPECT_EQ(r.OnDatagram(kPeerA, Datagram(++seq, 1), later).dropped, DropReason::kRateLimited);
  PeerStatus s = StatusOf(r, kPeerA, later);
  EXPECT_EQ(s.records, 5u * 20 + 20 + 5 * 20);
  EXPECT_EQ(s.dropped.at("rate_limited"), 20u + 20 + 1);
}

TEST(Receiver, LagPercentilesOfTheAgeAtSend) {
  Receiver r(TestKey(), Options());
  EXPECT_FALSE(StatusOf(r, kPeerA, kT0).lag_p50_ms.has_value());
  // Datagram(seq, n) carries ages 0..n-1 ms: 20 datagrams of 20 records,
  // 20 samples of each age 0..19.
  for (uint64_t seq = 1; seq <= 20; ++seq) {
    ASSERT_TRUE(r.OnDatagram(kPeerA, Datagram(seq, 20), kT0).admitted());
  }
  PeerStatus s = StatusOf(r, kPeerA, kT0);
  EXPECT_EQ(s.lag_p50_ms, 9u);   // rank 200 of 400
  EXPECT_EQ(s.lag_p99_ms, 19u);  // rank 396
  EXPECT_EQ(r.lag().Quantile(0.5), 9u);
}

TEST(LagSamples, KeepsTheLastSamplesOnly) {
  LagSamples lag;
  for (size_t i = 0; i < kLagSamples; ++i) lag.Add(1000);
  for (size_t i = 0; i < kLagSamples; ++i) lag.Add(i < kLagSamples / 100 ? 500 : 5);
  EXPECT_EQ(lag.size(), kLagSamples);
  EXPECT_EQ(lag.Quantile(0.5), 5u);  // the old 1000s are gone
  EXPECT_EQ(lag.Quantile(0.99), 5u);
  EXPECT_EQ(lag.Quantile(1.0), 500u);
}

TEST(Receiver, MulticastGroupLearnsMembersThatAuthenticate) {
  ReceiverOptions o = Options();
  o.peers = {Ip("233.252.0.1")};
  Receiver r(TestKey(), o);
  EXPECT_TRUE(r.Peers(kT0).empty());
  // A forgery from a new address makes no peer.
  EXPECT_EQ(r.OnDatagram(kPeerA, Datagram(1, 1, kPeerId, kEpoch, MessageType::kEvents,
                                          TestKey('x')),
                         kT0)
                .dropped,
            DropReason::kAuthFailed);
  EXPECT_TRUE(r.Peers(kT0).empty());
  EXPECT_TRUE(r.OnDatagram(kPeerA, Datagram(1), kT0).admitted());
  EXPECT_TRUE(r.OnDatagram(kPeerB, Datagram(1, 1, 3), kT0).admitted());
  std::vector<PeerStatus> peers = r.Peers(kT0);
  ASSERT_EQ(peers.size(), 2u);
  EXPECT_EQ(peers[0].address, kPeerA);
  EXPECT_EQ(peers[1].sender_id, 3u);
  // Bounded: past kMaxLearnedPeers, new sources are unknown.
  for (size_t i = 2; i < kMaxLearnedPeers; ++i) {
    const model::IpAddress a = Ip(("198.51.100." + std::to_string(i)).c_str());
    ASSERT_TRUE(r.OnDatagram(a, Datagram(1, 1, static_cast<uint32_t>(100 + i)), kT0).admitted()) << i;
  }
  EXPECT_EQ(r.OnDatagram(kStranger, Datagram(1, 1, 99), kT0).dropped, DropReason::kUnknownPeer);
  EXPECT_TRUE(r.OnDatagram(kPeerA, Datagram(2), kT0).admitted());  // known ones still come
}

}  // namespace
}  // namespace xlb::sync
