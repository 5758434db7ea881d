// The receiving side of flow sync (docs/sync-design.md "Sender, receiver and
// walker in xlbd"): what to do with one UDP datagram from a peer. Pure: no
// sockets, no BPF; the time is passed in. Checks, in this order, each drop
// counted under its reason:
//   1. the source is a configured peer                       "unknown_peer"
//   2. wire::Decode with the key: the tag                    "auth_failed"
//      any other decode error, or a TCP-only message type    "malformed"
//   3. our own sender id (our multicast looped back): ignored, counted `own`
//   4. the peer's replay window: duplicate, too old, old epoch "replayed"
//      another sender id (see below)                         "wrong_sender"
//   5. the peer's token bucket                               "rate_limited"
// Every reason counts datagrams but "rate_limited", which counts the records
// of the datagram dropped (what the limit is about).
//
// A peer is a source address. Its sender id is learnt: the first
// authenticated datagram from the address fixes it; a later datagram with
// another sender id is refused ("wrong_sender") unless its epoch is newer
// than the peer's (the director restarted with a new sync.node_id), which
// starts a new window under the new id. With one multicast group as the
// peer list, the members are not known beforehand: any source whose first
// datagram authenticates becomes a peer (at most kMaxLearnedPeers; the key,
// not the address, is what admits a member).
#ifndef XLB_CONTROLPLANE_SYNC_RECEIVER_H_
#define XLB_CONTROLPLANE_SYNC_RECEIVER_H_

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "controlplane/sync/auth.h"
#include "controlplane/sync/replay.h"
#include "controlplane/sync/wire.h"
#include "model/address.h"

namespace xlb::sync {

using SteadyTime = std::chrono::steady_clock::time_point;

// A peer is up if an admitted datagram (a keepalive too) came within this.
inline constexpr std::chrono::seconds kPeerUpWithin{3};
// Records whose age-at-send make a peer's lag percentiles.
inline constexpr size_t kLagSamples = 4096;
// Members a multicast group may have (each a replay window and a lag ring).
inline constexpr size_t kMaxLearnedPeers = 64;
inline constexpr uint64_t kDefaultRateLimit = 200000;  // records/s per peer

enum class DropReason : uint8_t {
  kUnknownPeer = 0,
  kAuthFailed,
  kMalformed,
  kReplayed,
  kWrongSender,
  kRateLimited,
  kCount,
};
// The counters' labels: "unknown_peer", "auth_failed", "malformed",
// "replayed", "wrong_sender", "rate_limited".
absl::string_view DropReasonName(DropReason reason);

struct ReceiverOptions {
  // The configured peers (sync.peers): unicast addresses, or one multicast group.
  std::vector<model::IpAddress> peers;
  uint32_t own_sender_id = 0;  // sync.node_id: our own datagrams, looped back
  size_t max_records = 0;      // MaxRecords(mtu, family): more is malformed
  uint64_t rate_limit = kDefaultRateLimit;  // records/s per peer, burst one second's worth
};

// The age-at-send (FlowRecord::age_ms) of the last kLagSamples records.
class LagSamples {
 public:
  void Add(uint32_t age_ms);
  // The q-quantile (0..1) of the samples; nullopt when there are none.
  std::optional<uint32_t> Quantile(double q) const;
  size_t size() const { return filled_; }

 private:
  std::array<uint32_t, kLagSamples> ring_{};
  size_t next_ = 0;
  size_t filled_ = 0;
};

struct PeerStatus {
  model::IpAddress address;
  bool heard = false;  // an authenticated datagram came: the fields below mean something
  uint32_t sender_id = 0;
  uint64_t epoch = 0;
  uint64_t highest_sequence = 0;
  uint64_t gaps = 0;     // sequence numbers that left the window unseen (lost), all epochs
  uint64_t missing = 0;  // numbers not seen yet within the window
  uint64_t datagrams = 0;  // admitted (keepalives included)
  uint64_t records = 0;    // admitted
  std::optional<SteadyTime> last_heard;  // the last admitted datagram
  bool up = false;                       // last_heard within kPeerUpWithin
  std::optional<uint32_t> lag_p50_ms, lag_p99_ms;  // age at send; none without records
  // Drops of datagrams from this address by DropReasonName (not unknown_peer), non-zero only.
  std::map<std::string, uint64_t> dropped;
};

struct ReceiveResult {
  std::optional<DropReason> dropped;  // set: nothing admitted
  bool own = false;                   // our own datagram: ignored, not a drop
  MessageType type = MessageType::kEvents;  // when authenticated
  std::vector<FlowRecord> records;          // the admitted records (empty otherwise)

  bool admitted() const { return !dropped && !own; }
};

class Receiver {
 public:
  Receiver(Key key, ReceiverOptions options);

  ReceiveResult OnDatagram(const model::IpAddress& source, absl::string_view bytes,
                           SteadyTime now);

  // Every configured peer (and learnt group member), in address order.
  std::vector<PeerStatus> Peers(SteadyTime now) const;
  // Drops by reason: every DropReasonName, zero included.
  std::map<std::string, uint64_t> Dropped() const;
  uint64_t dropped(DropReason reason) const { return dropped_[static_cast<size_t>(reason)]; }
  // The decode errors behind "auth_failed" and "malformed".
  uint64_t decode_errors(DecodeError error) const {
    return decode_errors_[static_cast<size_t>(error)];
  }
  // Authenticated datagrams of a type that does not come by UDP (RESYNC_*): malformed.
  uint64_t tcp_only_type() const { return tcp_only_type_; }
  uint64_t own() const { return own_; }
  // The lag over every peer's records (the xlb_sync_lag_seconds summary).
  const LagSamples& lag() const { return lag_; }

 private:
  struct Peer {
    std::optional<ReplayWindow> window;  // set by the first authenticated datagram
    uint64_t gaps_before = 0;            // of the windows a new node id replaced
    uint64_t datagrams = 0;
    uint64_t records = 0;
    std::optional<SteadyTime> last_heard;
    double tokens = 0;
    SteadyTime refilled{};
    LagSamples lag;
    std::array<uint64_t, static_cast<size_t>(DropReason::kCount)> dropped{};
  };

  ReceiveResult Drop(DropReason reason, uint64_t count, Peer* peer);
  // The replay verdict for an authenticated header, replacing the window
  // for a new sender id with a newer epoch.
  ReplayVerdict Admit(Peer& peer, const Header& header);
  bool TakeTokens(Peer& peer, size_t records, SteadyTime now);

  Key key_;
  ReceiverOptions options_;
  bool multicast_ = false;
  double burst_ = 0;
  std::map<model::IpAddress, Peer> peers_;
  std::array<uint64_t, static_cast<size_t>(DropReason::kCount)> dropped_{};
  std::array<uint64_t, static_cast<size_t>(DecodeError::kCount)> decode_errors_{};
  uint64_t tcp_only_type_ = 0;
  uint64_t own_ = 0;
  LagSamples lag_;
};

}  // namespace xlb::sync

#endif  // XLB_CONTROLPLANE_SYNC_RECEIVER_H_
