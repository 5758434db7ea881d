#include "controlplane/sync/wire.h"

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace xlb::sync {
namespace {

using model::Family;
using model::IpAddress;

constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr size_t kAddressLen = 16;
constexpr size_t kIpUdpV4 = 20 + 8;
constexpr size_t kIpUdpV6 = 40 + 8;

// Offsets in the header and in a record.
constexpr size_t kOffVersion = 4, kOffType = 5, kOffReserved1 = 6, kOffSender = 8,
                 kOffEpoch = 12, kOffSequence = 20, kOffCount = 28, kOffReserved2 = 30;
constexpr size_t kRecType = 0, kRecFamily = 1, kRecProto = 2, kRecFlags = 3,
                 kRecClientPort = 4, kRecFlowDport = 6, kRecSvcPort = 8, kRecRealPort = 10,
                 kRecAge = 12, kRecClient = 16, kRecVip = 32, kRecReal = 48;
static_assert(kRecReal + kAddressLen == kRecordLen);
static_assert(kOffReserved2 + 2 == kHeaderLen);

uint64_t GetBe(absl::string_view s, size_t at, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i) v = v << 8 | static_cast<uint8_t>(s[at + i]);
  return v;
}
void PutBe(std::string& s, size_t at, uint64_t v, size_t bytes) {
  for (size_t i = 0; i < bytes; ++i) s[at + bytes - 1 - i] = static_cast<char>(v >> (8 * i));
}

bool ValidFamily(uint8_t f) { return f == 4 || f == 6; }
bool ValidProto(uint8_t p) { return p == kProtoTcp || p == kProtoUdp; }
bool ValidRecordType(uint8_t t) { return t >= 1 && t <= 3; }
bool ValidMessageType(uint8_t t) { return t >= 1 && t <= 5; }

// 16 bytes: an IPv4 address in the first 4, the rest 0.
void PutAddress(std::string& s, size_t at, const IpAddress& a) {
  const std::string b = a.bytes();
  for (size_t i = 0; i < b.size(); ++i) s[at + i] = b[i];
}
bool GetAddress(absl::string_view s, size_t at, Family family, IpAddress* out) {
  const size_t len = family == Family::kV4 ? 4 : 16;
  for (size_t i = len; i < kAddressLen; ++i)
    if (s[at + i] != 0) return false;
  // The words hold the address bytes in network order, as the maps do.
  uint32_t words[4] = {};
  std::memcpy(words, s.data() + at, len);
  *out = IpAddress::FromWords(family, words);
  return true;
}

DecodeResult Fail(DecodeError error, size_t record = 0) {
  DecodeResult r;
  r.error = error;
  r.record = record;
  return r;
}

}  // namespace

bool CarriesRecords(MessageType type) {
  return type == MessageType::kEvents || type == MessageType::kResyncChunk;
}

size_t MaxRecords(size_t mtu, Family family) {
  const size_t below = (family == Family::kV4 ? kIpUdpV4 : kIpUdpV6) + kOverheadLen;
  return mtu > below ? (mtu - below) / kRecordLen : 0;
}

absl::string_view DecodeErrorName(DecodeError error) {
  switch (error) {
    case DecodeError::kNone: return "ok";
    case DecodeError::kTruncatedHeader: return "truncated header";
    case DecodeError::kBadMagic: return "bad magic";
    case DecodeError::kBadVersion: return "bad version";
    case DecodeError::kCountBeyondData: return "count beyond the datagram";
    case DecodeError::kTrailingBytes: return "bytes after the records";
    case DecodeError::kTooManyRecords: return "too many records";
    case DecodeError::kBadTag: return "bad tag";
    case DecodeError::kBadMessageType: return "bad message type";
    case DecodeError::kBadReserved: return "reserved field not zero";
    case DecodeError::kUnexpectedRecords: return "records in a message without any";
    case DecodeError::kBadRecordType: return "bad record type";
    case DecodeError::kBadFamily: return "bad family";
    case DecodeError::kBadProtocol: return "bad protocol";
    case DecodeError::kBadFlags: return "bad record flags";
    case DecodeError::kBadAddress: return "bad IPv4 address padding";
    case DecodeError::kCount: break;
  }
  return "unknown error";
}

std::string DecodeResult::Describe() const {
  if (error >= DecodeError::kBadRecordType && error < DecodeError::kCount)
    return absl::StrCat("record ", record, ": ", DecodeErrorName(error));
  return std::string(DecodeErrorName(error));
}

DecodeResult Decode(absl::string_view d, const Key& key, size_t max_records) {
  if (d.size() < kOverheadLen) return Fail(DecodeError::kTruncatedHeader);
  if (std::memcmp(d.data(), kMagic, sizeof(kMagic)) != 0) return Fail(DecodeError::kBadMagic);
  if (static_cast<uint8_t>(d[kOffVersion]) != kVersion) return Fail(DecodeError::kBadVersion);
  const size_t count = GetBe(d, kOffCount, 2);
  const size_t need = kOverheadLen + count * kRecordLen;
  if (d.size() < need) return Fail(DecodeError::kCountBeyondData);
  if (d.size() > need) return Fail(DecodeError::kTrailingBytes);
  if (count > max_records) return Fail(DecodeError::kTooManyRecords);
  const size_t signed_len = d.size() - kTagLen;
  if (!key.Verify(d.substr(0, signed_len), d.substr(signed_len)))
    return Fail(DecodeError::kBadTag);

  const uint8_t type = static_cast<uint8_t>(d[kOffType]);
  if (!ValidMessageType(type)) return Fail(DecodeError::kBadMessageType);
  if (GetBe(d, kOffReserved1, 2) != 0 || GetBe(d, kOffReserved2, 2) != 0)
    return Fail(DecodeError::kBadReserved);
  DecodeResult r;
  Header& h = r.message.header;
  h.type = static_cast<MessageType>(type);
  if (count > 0 && !CarriesRecords(h.type)) return Fail(DecodeError::kUnexpectedRecords);
  h.sender_id = static_cast<uint32_t>(GetBe(d, kOffSender, 4));
  h.epoch = GetBe(d, kOffEpoch, 8);
  h.sequence = GetBe(d, kOffSequence, 8);

  r.message.records.resize(count);
  for (size_t i = 0; i < count; ++i) {
    const absl::string_view s = d.substr(kHeaderLen + i * kRecordLen, kRecordLen);
    FlowRecord& f = r.message.records[i];
    const uint8_t rtype = static_cast<uint8_t>(s[kRecType]);
    const uint8_t family = static_cast<uint8_t>(s[kRecFamily]);
    f.proto = static_cast<uint8_t>(s[kRecProto]);
    f.flags = static_cast<uint8_t>(s[kRecFlags]);
    if (!ValidRecordType(rtype)) return Fail(DecodeError::kBadRecordType, i);
    if (!ValidFamily(family)) return Fail(DecodeError::kBadFamily, i);
    if (!ValidProto(f.proto)) return Fail(DecodeError::kBadProtocol, i);
    if ((f.flags & ~kRecordFlagsKnown) != 0) return Fail(DecodeError::kBadFlags, i);
    f.type = static_cast<RecordType>(rtype);
    f.family = static_cast<Family>(family);
    f.client_port = static_cast<uint16_t>(GetBe(s, kRecClientPort, 2));
    f.flow_dport = static_cast<uint16_t>(GetBe(s, kRecFlowDport, 2));
    f.svc_port = static_cast<uint16_t>(GetBe(s, kRecSvcPort, 2));
    f.real_port = static_cast<uint16_t>(GetBe(s, kRecRealPort, 2));
    f.age_ms = static_cast<uint32_t>(GetBe(s, kRecAge, 4));
    if (!GetAddress(s, kRecClient, f.family, &f.client) ||
        !GetAddress(s, kRecVip, f.family, &f.vip) || !GetAddress(s, kRecReal, f.family, &f.real))
      return Fail(DecodeError::kBadAddress, i);
  }
  return r;
}

absl::Status CheckRecord(const FlowRecord& f) {
  if (!ValidRecordType(static_cast<uint8_t>(f.type)))
    return absl::InvalidArgumentError(
        absl::StrCat("unknown record type ", static_cast<int>(f.type)));
  if (!ValidFamily(static_cast<uint8_t>(f.family)))
    return absl::InvalidArgumentError(absl::StrCat("unknown family ", static_cast<int>(f.family)));
  if (!ValidProto(f.proto))
    return absl::InvalidArgumentError(absl::StrCat("protocol ", f.proto, " (expected 6 or 17)"));
  if ((f.flags & ~kRecordFlagsKnown) != 0)
    return absl::InvalidArgumentError(absl::StrCat("unknown flags 0x", absl::Hex(f.flags)));
  if (f.client.family() != f.family || f.vip.family() != f.family || f.real.family() != f.family)
    return absl::InvalidArgumentError(absl::StrCat(
        "an address of another family than the record's (client ", f.client.ToString(), ", VIP ",
        f.vip.ToString(), ", real ", f.real.ToString(), ")"));
  return absl::OkStatus();
}

absl::StatusOr<std::string> Encode(const Message& m, const Key& key) {
  const Header& h = m.header;
  if (!ValidMessageType(static_cast<uint8_t>(h.type)))
    return absl::InvalidArgumentError(
        absl::StrCat("unknown message type ", static_cast<int>(h.type)));
  if (!m.records.empty() && !CarriesRecords(h.type))
    return absl::InvalidArgumentError(absl::StrCat("message type ", static_cast<int>(h.type),
                                                   " carries no records, given ",
                                                   m.records.size()));
  if (m.records.size() > kMaxFrameRecords)
    return absl::InvalidArgumentError(absl::StrCat(m.records.size(), " records (at most ",
                                                   kMaxFrameRecords, " in a message)"));
  std::string d(kHeaderLen + m.records.size() * kRecordLen, '\0');
  std::memcpy(d.data(), kMagic, sizeof(kMagic));
  d[kOffVersion] = static_cast<char>(kVersion);
  d[kOffType] = static_cast<char>(h.type);
  PutBe(d, kOffSender, h.sender_id, 4);
  PutBe(d, kOffEpoch, h.epoch, 8);
  PutBe(d, kOffSequence, h.sequence, 8);
  PutBe(d, kOffCount, m.records.size(), 2);
  for (size_t i = 0; i < m.records.size(); ++i) {
    const FlowRecord& f = m.records[i];
    if (absl::Status ok = CheckRecord(f); !ok.ok())
      return absl::InvalidArgumentError(absl::StrCat("record ", i, ": ", ok.message()));
    const size_t at = kHeaderLen + i * kRecordLen;
    d[at + kRecType] = static_cast<char>(f.type);
    d[at + kRecFamily] = static_cast<char>(f.family);
    d[at + kRecProto] = static_cast<char>(f.proto);
    d[at + kRecFlags] = static_cast<char>(f.flags);
    PutBe(d, at + kRecClientPort, f.client_port, 2);
    PutBe(d, at + kRecFlowDport, f.flow_dport, 2);
    PutBe(d, at + kRecSvcPort, f.svc_port, 2);
    PutBe(d, at + kRecRealPort, f.real_port, 2);
    PutBe(d, at + kRecAge, f.age_ms, 4);
    PutAddress(d, at + kRecClient, f.client);
    PutAddress(d, at + kRecVip, f.vip);
    PutAddress(d, at + kRecReal, f.real);
  }
  absl::StatusOr<Tag> tag = key.Sign(d);
  if (!tag.ok()) return tag.status();
  d.append(reinterpret_cast<const char*>(tag->data()), tag->size());
  return d;
}

}  // namespace xlb::sync
