#include "controlplane/sync/wire.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"

namespace xlb::sync {
namespace {

using model::Family;
using model::IpAddress;

constexpr size_t kAny = kMaxFrameRecords;  // no receiver limit below the codec's

IpAddress Ip(const char* text) {
  absl::StatusOr<IpAddress> a = IpAddress::Parse(text);
  EXPECT_TRUE(a.ok()) << text;
  return a.value_or(IpAddress());
}

const Key& TestKey() {
  static const Key key = *Key::FromBytes("xlb sync test key, 32 bytes long");
  return key;
}

FlowRecord V4Record() {
  FlowRecord r;
  r.type = RecordType::kNew;
  r.family = Family::kV4;
  r.proto = 6;
  r.flags = kRecordEstablished;
  r.client_port = 40000;
  r.flow_dport = 80;
  r.svc_port = 80;
  r.real_port = 8080;
  r.age_ms = 1500;
  r.client = Ip("203.0.113.7");
  r.vip = Ip("198.51.100.10");
  r.real = Ip("192.0.2.21");
  return r;
}

FlowRecord V6Record() {
  FlowRecord r;
  r.type = RecordType::kClosing;
  r.family = Family::kV6;
  r.proto = 17;
  r.flags = kRecordClosing | kRecordEstablished;
  r.client_port = 53535;
  r.flow_dport = 4433;
  r.svc_port = 0;  // an all-ports service
  r.real_port = 4433;
  r.age_ms = 0xfffffffe;
  r.client = Ip("2001:db8:1::7");
  r.vip = Ip("2001:db8:2::10");
  r.real = Ip("2001:db8:3::21");
  return r;
}

Message Events(std::vector<FlowRecord> records) {
  Message m;
  m.header = {MessageType::kEvents, 0x0a0b0c0d, 0x0102030405060708, 42};
  m.records = std::move(records);
  return m;
}

std::string Encoded(const Message& m) {
  absl::StatusOr<std::string> d = Encode(m, TestKey());
  EXPECT_TRUE(d.ok()) << d.status();
  return d.value_or("");
}

// Signs `d` again after a change, so that a test reaches the checks behind the tag.
std::string Resigned(std::string d) {
  d.resize(d.size() - kTagLen);
  const Tag tag = *TestKey().Sign(d);
  return d + std::string(reinterpret_cast<const char*>(tag.data()), tag.size());
}

TEST(Wire, RoundTrip) {
  const Message m = Events({V4Record(), V6Record(), V4Record()});
  const std::string d = Encoded(m);
  EXPECT_EQ(d.size(), kHeaderLen + 3 * kRecordLen + kTagLen);
  DecodeResult r = Decode(d, TestKey(), 3);
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_EQ(r.message, m);
  EXPECT_EQ(Encoded(r.message), d);
}

TEST(Wire, RoundTripEveryMessageType) {
  for (MessageType t : {MessageType::kEvents, MessageType::kKeepalive, MessageType::kResyncRequest,
                        MessageType::kResyncChunk, MessageType::kResyncDone}) {
    Message m;
    m.header = {t, 0xffffffff, ~uint64_t{0}, ~uint64_t{0} - 1};
    if (CarriesRecords(t)) m.records.assign(kMaxFrameRecords, V6Record());
    const std::string d = Encoded(m);
    DecodeResult r = Decode(d, TestKey(), kMaxFrameRecords);
    ASSERT_TRUE(r.ok()) << static_cast<int>(t) << ": " << r.Describe();
    EXPECT_EQ(r.message, m);
  }
}

// One datagram written out by hand from docs/sync-design.md; the tag computed
// apart from this code (Python's hmac over the same bytes and key).
TEST(Wire, KnownAnswer) {
  const std::string hex = absl::StrReplaceAll(
      "584c4253 01 01 0000 0a0b0c0d 0102030405060708 000000000000002a 0001 0000"  // header
      "01 04 06 01 9c40 0050 0050 1f90 000005dc"                                  // NEW, v4, TCP, EST
      "cb007107 000000000000000000000000"                                         // 203.0.113.7
      "c633640a 000000000000000000000000"                                         // 198.51.100.10
      "c0000215 000000000000000000000000"                                         // 192.0.2.21
      "a0b8b40f7694b35be8c6cabf9f6567f048e7e6b683e5859b7ac671a99d3f80a9",         // HMAC-SHA256
      {{" ", ""}});
  const std::string bytes = absl::HexStringToBytes(hex);
  ASSERT_EQ(bytes.size(), 128u);
  EXPECT_EQ(absl::BytesToHexString(Encoded(Events({V4Record()}))), hex);
  DecodeResult r = Decode(bytes, TestKey(), 22);
  ASSERT_TRUE(r.ok()) << r.Describe();
  EXPECT_EQ(r.message, Events({V4Record()}));
}

TEST(Wire, RecordsPerDatagram) {
  EXPECT_EQ(MaxRecords(1500, Family::kV4), 22u);
  EXPECT_EQ(MaxRecords(1500, Family::kV6), 21u);
  EXPECT_EQ(MaxRecords(9000, Family::kV4), 139u);
  EXPECT_EQ(MaxRecords(9000, Family::kV6), 138u);
  EXPECT_EQ(MaxRecords(kMinMtu, Family::kV6), 7u);
  EXPECT_EQ(kMaxFrameRecords, 1023u);
  // The full datagram fits the MTU with its IP and UDP headers.
  const std::string d = Encoded(Events(std::vector<FlowRecord>(22, V4Record())));
  EXPECT_LE(d.size() + 28, 1500u);
  EXPECT_GT(d.size() + 28 + kRecordLen, 1500u);
  EXPECT_TRUE(Decode(d, TestKey(), MaxRecords(1500, Family::kV4)).ok());
  DecodeResult r = Decode(d, TestKey(), MaxRecords(1500, Family::kV6));
  EXPECT_EQ(r.error, DecodeError::kTooManyRecords) << r.Describe();
}

TEST(Wire, EveryTruncationRefused) {
  const std::string d = Encoded(Events({V4Record(), V6Record()}));
  for (size_t len = 0; len < d.size(); ++len) {
    DecodeResult r = Decode(d.substr(0, len), TestKey(), kAny);
    EXPECT_EQ(r.error, len < kOverheadLen ? DecodeError::kTruncatedHeader
                                          : DecodeError::kCountBeyondData)
        << len << ": " << r.Describe();
    EXPECT_TRUE(r.message.records.empty());
  }
  DecodeResult r = Decode(d + "x", TestKey(), kAny);
  EXPECT_EQ(r.error, DecodeError::kTrailingBytes) << r.Describe();
}

TEST(Wire, EverySingleBitFlipRefused) {
  const std::string d = Encoded(Events({V4Record(), V6Record()}));
  for (size_t bit = 0; bit < d.size() * 8; ++bit) {
    std::string bad = d;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    const size_t byte = bit / 8;
    DecodeResult r = Decode(bad, TestKey(), kAny);
    DecodeError want = DecodeError::kBadTag;
    if (byte < 4) want = DecodeError::kBadMagic;
    else if (byte == 4) want = DecodeError::kBadVersion;
    // The count: 2 becomes 3, 6, 10, ... (more than there is) or 0 (less).
    else if (byte == 28 || byte == 29)
      want = (bad[29] == 0 && bad[28] == 0) ? DecodeError::kTrailingBytes
                                            : DecodeError::kCountBeyondData;
    EXPECT_EQ(r.error, want) << "bit " << bit << ": " << r.Describe();
  }
}

TEST(Wire, WrongKeyRefused) {
  const std::string d = Encoded(Events({V4Record()}));
  absl::StatusOr<Key> other = Key::FromBytes("another key of at least 32 bytes!");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(Decode(d, *other, kAny).error, DecodeError::kBadTag);
}

// Junk is named by what is wrong with it before any hashing.
TEST(Wire, HeaderErrorsNamed) {
  const std::string d = Encoded(Events({}));
  std::string bad = d;
  bad[0] = 'Y';
  EXPECT_EQ(Decode(bad, TestKey(), kAny).Describe(), "bad magic");
  bad = d;
  bad[4] = 2;
  EXPECT_EQ(Decode(bad, TestKey(), kAny).Describe(), "bad version");
  EXPECT_EQ(Decode(d.substr(0, 63), TestKey(), kAny).Describe(), "truncated header");
  bad = d;
  bad[29] = 1;
  EXPECT_EQ(Decode(bad, TestKey(), kAny).Describe(), "count beyond the datagram");
  EXPECT_EQ(Decode(std::string(200, '\0'), TestKey(), kAny).Describe(), "bad magic");
}

// Behind a valid tag (a peer with the key and another build): each field named.
TEST(Wire, AuthenticatedErrorsNamed) {
  const std::string d = Encoded(Events({V4Record(), V6Record()}));
  struct Case {
    size_t at;
    char value;
    const char* describe;
  } cases[] = {
      {5, 0, "bad message type"},
      {5, 6, "bad message type"},
      {5, 2, "records in a message without any"},  // a KEEPALIVE with records
      {5, 3, "records in a message without any"},
      {6, 1, "reserved field not zero"},
      {31, 1, "reserved field not zero"},
      {32 + 0, 4, "record 0: bad record type"},  // persistence: not in this version
      {32 + 0, 0, "record 0: bad record type"},
      {96 + 1, 5, "record 1: bad family"},
      {96 + 1, 0, "record 1: bad family"},
      {32 + 2, 1, "record 0: bad protocol"},
      {96 + 3, 4, "record 1: bad record flags"},
      {32 + 20, 1, "record 0: bad IPv4 address padding"},  // client, byte 5
      {32 + 63, 1, "record 0: bad IPv4 address padding"},  // real, last byte
      // An IPv6 record read as IPv4: its addresses' tails are not zero.
      {96 + 1, 4, "record 1: bad IPv4 address padding"},
  };
  for (const Case& c : cases) {
    std::string bad = d;
    bad[c.at] = c.value;
    DecodeResult r = Decode(Resigned(bad), TestKey(), kAny);
    EXPECT_EQ(r.Describe(), c.describe) << "byte " << c.at << " = " << int{c.value};
    EXPECT_FALSE(r.ok());
    if (r.error >= DecodeError::kBadRecordType) {
      EXPECT_EQ(r.record, c.at < 96 ? 0u : 1u);
    }
  }
}

TEST(Wire, ErrorNamesAreDistinct) {
  std::vector<std::string> names;
  for (int e = 0; e < static_cast<int>(DecodeError::kCount); ++e)
    names.emplace_back(DecodeErrorName(static_cast<DecodeError>(e)));
  for (size_t i = 0; i < names.size(); ++i)
    for (size_t j = i + 1; j < names.size(); ++j) EXPECT_NE(names[i], names[j]);
}

TEST(Wire, EncodeRefusesWhatCannotBeSent) {
  FlowRecord mixed = V4Record();
  mixed.real = Ip("2001:db8::21");
  absl::StatusOr<std::string> d = Encode(Events({V4Record(), mixed}), TestKey());
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(),
            "record 1: an address of another family than the record's (client 203.0.113.7, VIP "
            "198.51.100.10, real 2001:db8::21)");
  FlowRecord flags = V4Record();
  flags.flags = 0x80;
  EXPECT_EQ(Encode(Events({flags}), TestKey()).status().message(), "record 0: unknown flags 0x80");
  FlowRecord proto = V4Record();
  proto.proto = 132;
  EXPECT_EQ(Encode(Events({proto}), TestKey()).status().message(),
            "record 0: protocol 132 (expected 6 or 17)");
  Message keepalive = Events({V4Record()});
  keepalive.header.type = MessageType::kKeepalive;
  EXPECT_EQ(Encode(keepalive, TestKey()).status().message(),
            "message type 2 carries no records, given 1");
  EXPECT_EQ(Encode(Events(std::vector<FlowRecord>(1024, V4Record())), TestKey()).status().message(),
            "1024 records (at most 1023 in a message)");
}

}  // namespace
}  // namespace xlb::sync
