// Sync messages between directors on the wire (issue #16, docs/sync-design.md
// "What a record carries"): a 32-byte header, 64-byte flow records, and the
// HMAC-SHA256 of everything before it. A pure codec: no sockets, no clocks.
//
//   header  0  "XLBS"                 4  version (1)      5  message type
//           6  reserved (0, 2 bytes)  8  sender id (u32)  12 epoch (u64)
//           20 sequence (u64)         28 record count (u16)
//           30 reserved (0, 2 bytes)
//   records 32 + 64 * i, count of them
//   tag     the last 32 bytes: HMAC-SHA256 over all the bytes before it
// All numbers big-endian (network order).
//
// One datagram per UDP message (EVENTS, KEEPALIVE); the TCP resync carries
// the same framing (RESYNC_*), a frame of at most kMaxFrameLen bytes.
// Sequence: every datagram of an epoch takes the next number, a KEEPALIVE
// too (so it is replay-checked like the rest); a KEEPALIVE's number tells
// the receiver that every number below it was sent (ReplayWindow::missing()).
#ifndef XLB_CONTROLPLANE_SYNC_WIRE_H_
#define XLB_CONTROLPLANE_SYNC_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controlplane/config/model.h"
#include "controlplane/sync/auth.h"
#include "model/address.h"

namespace xlb::sync {

inline constexpr char kMagic[4] = {'X', 'L', 'B', 'S'};
inline constexpr uint8_t kVersion = 1;
inline constexpr size_t kHeaderLen = 32;
inline constexpr size_t kRecordLen = 64;
// The bytes around the records: header and tag.
inline constexpr size_t kOverheadLen = kHeaderLen + kTagLen;
// A resync frame over TCP (RESYNC_CHUNK): 64 KiB at most.
inline constexpr size_t kMaxFrameLen = 65536;
inline constexpr size_t kMaxFrameRecords = (kMaxFrameLen - kOverheadLen) / kRecordLen;  // 1023
// The bounds of sync.mtu, which the config checks.
inline constexpr size_t kMinMtu = config::SyncConfig::kMinMtu;
inline constexpr size_t kMaxMtu = config::SyncConfig::kMaxMtu;

enum class MessageType : uint8_t {
  kEvents = 1,         // flow records (UDP)
  kKeepalive = 2,      // no records; sent every 1 s when idle (UDP)
  kResyncRequest = 3,  // no records; a starting director asks for a bulk copy (TCP)
  kResyncChunk = 4,    // flow records of the bulk copy (TCP)
  kResyncDone = 5,     // no records; the bulk copy is complete (TCP)
};
// True for the types that carry records; the others must have a count of 0.
bool CarriesRecords(MessageType type);

enum class RecordType : uint8_t {
  kNew = 1,      // a flow recorded by the data path
  kClosing = 2,  // its first FIN or RST
  kRefresh = 3,  // re-sent by the refresh walk
  // 4 is kept for persistence records (not in the first version).
};

// Record flags on the wire. NAT and TUNNEL are not sent: the receiver
// derives them from its own service.
inline constexpr uint8_t kRecordEstablished = 1 << 0;
inline constexpr uint8_t kRecordClosing = 1 << 1;
inline constexpr uint8_t kRecordFlagsKnown = kRecordEstablished | kRecordClosing;

// One flow, by addresses (never the sender's ids): client -> VIP:flow_dport,
// served by real:real_port of the service (family, proto, VIP, svc_port).
struct FlowRecord {
  RecordType type = RecordType::kNew;
  model::Family family = model::Family::kV4;  // of all three addresses
  uint8_t proto = 6;                          // IPPROTO_TCP or IPPROTO_UDP
  uint8_t flags = 0;                          // kRecord*
  uint16_t client_port = 0;
  uint16_t flow_dport = 0;  // the VIP port of the packet
  uint16_t svc_port = 0;    // the service's port; 0: an all-ports service
  uint16_t real_port = 0;
  uint32_t age_ms = 0;  // now - last_seen at send time (no cross-host clock)
  model::IpAddress client, vip, real;

  bool operator==(const FlowRecord&) const = default;
};

struct Header {
  MessageType type = MessageType::kEvents;
  uint32_t sender_id = 0;  // sync.node_id
  uint64_t epoch = 0;      // CLOCK_REALTIME ns at the sender's start
  uint64_t sequence = 0;   // per epoch, one per datagram

  bool operator==(const Header&) const = default;
};

struct Message {
  Header header;
  std::vector<FlowRecord> records;

  bool operator==(const Message&) const = default;
};

// Records per datagram for a path MTU: what fits after the IP and UDP
// headers (28 bytes IPv4, 48 IPv6) and the header and tag. 22 (IPv4) / 21
// (IPv6) at 1500, 139 / 138 at 9000. `mtu` within kMinMtu..kMaxMtu.
size_t MaxRecords(size_t mtu, model::Family family);

enum class DecodeError : uint8_t {
  kNone = 0,
  kTruncatedHeader,    // shorter than a header and a tag
  kBadMagic,           // not "XLBS"
  kBadVersion,         // not kVersion
  kCountBeyondData,    // the count needs more bytes than there are: truncated
  kTrailingBytes,      // more bytes than the count says
  kTooManyRecords,     // more than the receiver allows (MaxRecords / kMaxFrameRecords)
  kBadTag,             // HMAC differs: forged, corrupted, or another key
  kBadMessageType,     // unknown message type
  kBadReserved,        // a reserved header field is not 0
  kUnexpectedRecords,  // records in a message type without any
  kBadRecordType,      // a record type other than NEW / CLOSING / REFRESH
  kBadFamily,          // a record family other than 4 / 6
  kBadProtocol,        // a record protocol other than TCP / UDP
  kBadFlags,           // unknown record flag bits
  kBadAddress,         // an IPv4 address with non-zero bytes after its first 4
  kCount,              // number of values, for counter arrays
};

// A short lower-case label for counters and logs: "bad tag", "truncated header".
absl::string_view DecodeErrorName(DecodeError error);

struct DecodeResult {
  DecodeError error = DecodeError::kNone;
  size_t record = 0;  // for the record errors: the index of the bad record
  Message message;    // the whole message iff ok()

  bool ok() const { return error == DecodeError::kNone; }
  // "record 3: bad family", "bad tag", "ok".
  std::string Describe() const;
};

// Bytes -> message, in this order: length, magic, version, count against the
// length and `max_records` (each at a fixed offset: junk is named as such
// without hashing it), then the tag, and only after the tag the rest (message
// type, reserved fields, records). Nothing read before the tag is used but to
// name the drop. Never fails on any input otherwise.
DecodeResult Decode(absl::string_view datagram, const Key& key, size_t max_records);

// Whether Encode can carry `record`: a known type, family and protocol,
// known flags, all three addresses of its family. Says what is wrong.
absl::Status CheckRecord(const FlowRecord& record);

// Message -> bytes with its tag. Fails, saying which record and what, on
// what cannot be encoded: more records than kMaxFrameRecords, records in a
// message type without any, a record whose addresses are not all of its
// family, unknown flags.
absl::StatusOr<std::string> Encode(const Message& message, const Key& key);

}  // namespace xlb::sync

#endif  // XLB_CONTROLPLANE_SYNC_WIRE_H_
