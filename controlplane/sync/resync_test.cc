#include "controlplane/sync/resync.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace xlb::sync {
namespace {

model::IpAddress Ip(const char* text) { return model::IpAddress::Parse(text).value(); }
Key TestKey() { return Key::FromBytes(std::string(32, 's')).value(); }
Key OtherKey() { return Key::FromBytes(std::string(32, 'o')).value(); }

FlowRecord Record(uint16_t client_port) {
  FlowRecord r;
  r.type = RecordType::kRefresh;
  r.flags = kRecordEstablished;
  r.client_port = client_port;
  r.flow_dport = r.svc_port = r.real_port = 80;
  r.client = Ip("203.0.113.7");
  r.vip = Ip("198.51.100.10");
  r.real = Ip("192.0.2.21");
  return r;
}

std::vector<FlowRecord> Records(size_t n) {
  std::vector<FlowRecord> out;
  for (size_t i = 0; i < n; ++i) out.push_back(Record(static_cast<uint16_t>(1024 + i)));
  return out;
}

TEST(FrameReader, WholeFramesFromAnyCutOfTheStream) {
  const std::string stream = Frame("abc") + Frame(std::string(70000 / 2, 'x')) + Frame("z");
  for (size_t step : {1, 3, 4096, 100000}) {
    FrameReader reader;
    std::vector<std::string> frames;
    for (size_t i = 0; i < stream.size(); i += step) {
      ASSERT_TRUE(reader.Append(absl::string_view(stream).substr(i, step)).ok());
      while (auto f = reader.Next()) frames.push_back(*f);
    }
    ASSERT_EQ(frames.size(), 3u) << "step " << step;
    EXPECT_EQ(frames[0], "abc");
    EXPECT_EQ(frames[1].size(), 35000u);
    EXPECT_EQ(frames[2], "z");
    EXPECT_EQ(reader.pending(), 0u);
  }
}

TEST(FrameReader, RefusesEmptyAndOversizedFrames) {
  FrameReader empty;
  EXPECT_FALSE(empty.Append(std::string("\0\0\0\0", 4)).ok());
  FrameReader big;
  EXPECT_FALSE(big.Append(std::string("\0\1\0\1", 4)).ok());  // 65537
  EXPECT_FALSE(big.Next().has_value());
  FrameReader http;  // not our protocol: "GET " is a length of 1.2 GB
  EXPECT_FALSE(http.Append("GET / HTTP/1.0\r\n").ok());
}

TEST(ResyncRequest, NonceRoundTripAndRefusals) {
  auto req = ResyncRequest(TestKey(), 7, 0x1122334455667788ull);
  ASSERT_TRUE(req.ok());
  FrameReader reader;
  ASSERT_TRUE(reader.Append(*req).ok());
  auto message = reader.Next();
  ASSERT_TRUE(message.has_value());
  auto nonce = CheckResyncRequest(*message, TestKey());
  ASSERT_TRUE(nonce.ok()) << nonce.status();
  EXPECT_EQ(*nonce, 0x1122334455667788ull);
  EXPECT_FALSE(CheckResyncRequest(*message, OtherKey()).ok());  // another key
  auto zero = ResyncRequest(TestKey(), 7, 0);
  EXPECT_FALSE(CheckResyncRequest(zero->substr(kFrameLenBytes), TestKey()).ok());
  auto done = ResyncDone(TestKey(), 7, 5, 0);  // an answer is no request
  EXPECT_FALSE(CheckResyncRequest(done->substr(kFrameLenBytes), TestKey()).ok());
}

TEST(ResyncAnswer, ChunksCarryTheNonceAndEveryRecordOnce) {
  const auto records = Records(2 * kMaxFrameRecords + 5);
  auto chunks = ResyncChunks(TestKey(), 9, 42, records);
  ASSERT_TRUE(chunks.ok()) << chunks.status();
  ASSERT_EQ(chunks->size(), 3u);
  std::vector<FlowRecord> got;
  for (const std::string& c : *chunks) {
    ASSERT_LE(c.size(), kFrameLenBytes + kMaxFrameLen);
    auto m = CheckResyncAnswer(c.substr(kFrameLenBytes), TestKey(), 42);
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(m->header.type, MessageType::kResyncChunk);
    got.insert(got.end(), m->records.begin(), m->records.end());
  }
  EXPECT_EQ(got, records);
  auto done = ResyncDone(TestKey(), 9, 42, records.size());
  auto m = CheckResyncAnswer(done->substr(kFrameLenBytes), TestKey(), 42);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->header.type, MessageType::kResyncDone);
  EXPECT_EQ(m->header.sequence, records.size());
  auto none = ResyncChunks(TestKey(), 9, 42, {});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(ResyncAnswer, AnOldAnswerIsNotTakenForANewRequest) {
  auto chunks = ResyncChunks(TestKey(), 9, 41, Records(3));
  auto old = CheckResyncAnswer(chunks->at(0).substr(kFrameLenBytes), TestKey(), 42);
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.status().message().find("nonce"), std::string::npos) << old.status();
  EXPECT_FALSE(CheckResyncAnswer(chunks->at(0).substr(kFrameLenBytes), OtherKey(), 41).ok());
  auto req = ResyncRequest(TestKey(), 9, 41);  // a request is no answer
  EXPECT_FALSE(CheckResyncAnswer(req->substr(kFrameLenBytes), TestKey(), 41).ok());
}

}  // namespace
}  // namespace xlb::sync
