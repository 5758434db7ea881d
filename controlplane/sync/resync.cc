#include "controlplane/sync/resync.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace xlb::sync {
namespace {

uint32_t ReadLength(const char* p) {
  const auto* b = reinterpret_cast<const uint8_t*>(p);
  return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
}

absl::StatusOr<std::string> EncodeFramed(const Message& m, const Key& key) {
  auto bytes = Encode(m, key);
  if (!bytes.ok()) return bytes.status();
  return Frame(*bytes);
}

}  // namespace

std::string Frame(absl::string_view message) {
  const auto n = static_cast<uint32_t>(message.size());
  std::string out = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                     static_cast<char>(n >> 8), static_cast<char>(n)};
  out.append(message.data(), message.size());
  return out;
}

absl::Status FrameReader::CheckLength() {
  if (pending() < kFrameLenBytes) return absl::OkStatus();
  const uint32_t n = ReadLength(buffer_.data() + start_);
  if (n == 0 || n > kMaxFrameLen)
    return absl::InvalidArgumentError(
        absl::StrCat("resync frame of ", n, " bytes (1..", kMaxFrameLen, " allowed)"));
  return absl::OkStatus();
}

absl::Status FrameReader::Append(absl::string_view bytes) {
  if (start_ > 0 && start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  }
  buffer_.append(bytes.data(), bytes.size());
  return CheckLength();
}

std::optional<std::string> FrameReader::Next() {
  if (pending() < kFrameLenBytes || !CheckLength().ok()) return std::nullopt;
  const uint32_t n = ReadLength(buffer_.data() + start_);
  if (pending() < kFrameLenBytes + n) return std::nullopt;
  std::string out = buffer_.substr(start_ + kFrameLenBytes, n);
  start_ += kFrameLenBytes + n;
  if (start_ > kMaxFrameLen) {  // keep the buffer from growing with the stream
    buffer_.erase(0, start_);
    start_ = 0;
  }
  return out;
}

absl::StatusOr<std::string> ResyncRequest(const Key& key, uint32_t sender_id, uint64_t nonce) {
  Message m;
  m.header = {MessageType::kResyncRequest, sender_id, 0, nonce};
  return EncodeFramed(m, key);
}

absl::StatusOr<uint64_t> CheckResyncRequest(absl::string_view message, const Key& key) {
  DecodeResult r = Decode(message, key, 0);
  if (!r.ok()) return absl::InvalidArgumentError(absl::StrCat("resync request: ", r.Describe()));
  if (r.message.header.type != MessageType::kResyncRequest)
    return absl::InvalidArgumentError(
        absl::StrCat("resync request: message type ", static_cast<int>(r.message.header.type)));
  if (r.message.header.sequence == 0) return absl::InvalidArgumentError("resync request: nonce 0");
  return r.message.header.sequence;
}

absl::StatusOr<std::string> ResyncChunk(const Key& key, uint32_t sender_id, uint64_t nonce,
                                        const std::vector<FlowRecord>& records, size_t index) {
  const size_t begin = std::min(records.size(), index * kMaxFrameRecords);
  const size_t end = std::min(records.size(), begin + kMaxFrameRecords);
  Message m;
  m.header = {MessageType::kResyncChunk, sender_id, nonce, index};
  m.records.assign(records.begin() + begin, records.begin() + end);
  return EncodeFramed(m, key);
}

absl::StatusOr<std::vector<std::string>> ResyncChunks(const Key& key, uint32_t sender_id,
                                                      uint64_t nonce,
                                                      const std::vector<FlowRecord>& records) {
  std::vector<std::string> out;
  for (size_t i = 0; i < ResyncChunkCount(records.size()); ++i) {
    auto framed = ResyncChunk(key, sender_id, nonce, records, i);
    if (!framed.ok()) return framed.status();
    out.push_back(std::move(*framed));
  }
  return out;
}

absl::StatusOr<std::string> ResyncDone(const Key& key, uint32_t sender_id, uint64_t nonce,
                                       uint64_t count) {
  Message m;
  m.header = {MessageType::kResyncDone, sender_id, nonce, count};
  return EncodeFramed(m, key);
}

absl::StatusOr<Message> CheckResyncAnswer(absl::string_view message, const Key& key,
                                          uint64_t nonce) {
  DecodeResult r = Decode(message, key, kMaxFrameRecords);
  if (!r.ok()) return absl::InvalidArgumentError(absl::StrCat("resync answer: ", r.Describe()));
  const Header& h = r.message.header;
  if (h.type != MessageType::kResyncChunk && h.type != MessageType::kResyncDone)
    return absl::InvalidArgumentError(
        absl::StrCat("resync answer: message type ", static_cast<int>(h.type)));
  if (h.epoch != nonce)
    return absl::InvalidArgumentError("resync answer: another request's nonce (replayed?)");
  return std::move(r.message);
}

}  // namespace xlb::sync
