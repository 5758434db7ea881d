#include "controlplane/sync/receiver.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace xlb::sync {

absl::string_view DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kUnknownPeer: return "unknown_peer";
    case DropReason::kAuthFailed: return "auth_failed";
    case DropReason::kMalformed: return "malformed";
    case DropReason::kReplayed: return "replayed";
    case DropReason::kWrongSender: return "wrong_sender";
    case DropReason::kRateLimited: return "rate_limited";
    case DropReason::kCount: break;
  }
  return "unknown reason";
}

void LagSamples::Add(uint32_t age_ms) {
  ring_[next_] = age_ms;
  next_ = (next_ + 1) % ring_.size();
  filled_ = std::min(filled_ + 1, ring_.size());
}

std::optional<uint32_t> LagSamples::Quantile(double q) const {
  if (filled_ == 0) return std::nullopt;
  std::vector<uint32_t> v(ring_.begin(), ring_.begin() + filled_);
  // Nearest rank: the smallest sample with at least q of them at or below it.
  const double rank = std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(v.size()));
  const size_t k = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

Receiver::Receiver(Key key, ReceiverOptions options)
    : key_(std::move(key)), options_(std::move(options)) {
  multicast_ = options_.peers.size() == 1 && options_.peers[0].is_multicast();
  // A datagram of max_records must be able to pass, whatever the rate.
  burst_ = static_cast<double>(std::max<uint64_t>(options_.rate_limit, options_.max_records));
  if (!multicast_) {
    for (const model::IpAddress& a : options_.peers) peers_[a];
  }
}

ReceiveResult Receiver::Drop(DropReason reason, uint64_t count, Peer* peer) {
  dropped_[static_cast<size_t>(reason)] += count;
  if (peer != nullptr) peer->dropped[static_cast<size_t>(reason)] += count;
  ReceiveResult r;
  r.dropped = reason;
  return r;
}

ReplayVerdict Receiver::Admit(Peer& peer, const Header& header) {
  if (!peer.window) peer.window.emplace(header.sender_id);
  ReplayWindow& w = *peer.window;
  if (header.sender_id != w.sender_id() && w.started() && header.epoch > w.epoch()) {
    // The director restarted under another node id: its old window is over.
    peer.gaps_before += w.gaps();
    peer.window.emplace(header.sender_id);
  }
  return peer.window->Admit(header);
}

bool Receiver::TakeTokens(Peer& peer, size_t records, SteadyTime now) {
  if (peer.refilled == SteadyTime{}) {
    peer.tokens = burst_;
  } else if (now > peer.refilled) {
    const double seconds = std::chrono::duration<double>(now - peer.refilled).count();
    peer.tokens =
        std::min(burst_, peer.tokens + seconds * static_cast<double>(options_.rate_limit));
  }
  peer.refilled = std::max(peer.refilled, now);
  if (peer.tokens < static_cast<double>(records)) return false;
  peer.tokens -= static_cast<double>(records);
  return true;
}

ReceiveResult Receiver::OnDatagram(const model::IpAddress& source, absl::string_view bytes,
                                   SteadyTime now) {
  auto it = peers_.find(source);
  if (it == peers_.end() && !(multicast_ && peers_.size() < kMaxLearnedPeers)) {
    return Drop(DropReason::kUnknownPeer, 1, nullptr);
  }
  Peer* known = it == peers_.end() ? nullptr : &it->second;

  DecodeResult decoded = Decode(bytes, key_, options_.max_records);
  if (!decoded.ok()) {
    ++decode_errors_[static_cast<size_t>(decoded.error)];
    return Drop(decoded.error == DecodeError::kBadTag ? DropReason::kAuthFailed
                                                      : DropReason::kMalformed,
                1, known);
  }
  const Header& header = decoded.message.header;
  if (header.sender_id == options_.own_sender_id) {
    ++own_;
    ReceiveResult r;
    r.own = true;
    r.type = header.type;
    return r;
  }
  if (header.type != MessageType::kEvents && header.type != MessageType::kKeepalive) {
    ++tcp_only_type_;
    return Drop(DropReason::kMalformed, 1, known);
  }
  // Authenticated: a group member becomes a peer here, never before.
  Peer& peer = known != nullptr ? *known : peers_[source];

  const ReplayVerdict verdict = Admit(peer, header);
  if (verdict == ReplayVerdict::kWrongSender) return Drop(DropReason::kWrongSender, 1, &peer);
  if (!Admitted(verdict)) return Drop(DropReason::kReplayed, 1, &peer);

  std::vector<FlowRecord>& records = decoded.message.records;
  if (!TakeTokens(peer, records.size(), now)) {
    return Drop(DropReason::kRateLimited, records.size(), &peer);
  }
  ++peer.datagrams;
  peer.records += records.size();
  peer.last_heard = now;
  for (const FlowRecord& r : records) {
    peer.lag.Add(r.age_ms);
    lag_.Add(r.age_ms);
  }
  ReceiveResult result;
  result.type = header.type;
  result.records = std::move(records);
  return result;
}

std::vector<PeerStatus> Receiver::Peers(SteadyTime now) const {
  std::vector<PeerStatus> out;
  out.reserve(peers_.size());
  for (const auto& [address, peer] : peers_) {
    PeerStatus s;
    s.address = address;
    if (peer.window && peer.window->started()) {
      const ReplayWindow& w = *peer.window;
      s.heard = true;
      s.sender_id = w.sender_id();
      s.epoch = w.epoch();
      s.highest_sequence = w.highest();
      s.gaps = peer.gaps_before + w.gaps();
      s.missing = w.missing();
    }
    s.datagrams = peer.datagrams;
    s.records = peer.records;
    s.last_heard = peer.last_heard;
    s.up = peer.last_heard && now - *peer.last_heard <= kPeerUpWithin;
    s.lag_p50_ms = peer.lag.Quantile(0.5);
    s.lag_p99_ms = peer.lag.Quantile(0.99);
    for (size_t i = 0; i < peer.dropped.size(); ++i) {
      if (peer.dropped[i] != 0) {
        s.dropped[std::string(DropReasonName(static_cast<DropReason>(i)))] = peer.dropped[i];
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::map<std::string, uint64_t> Receiver::Dropped() const {
  std::map<std::string, uint64_t> out;
  for (size_t i = 0; i < dropped_.size(); ++i) {
    out[std::string(DropReasonName(static_cast<DropReason>(i)))] = dropped_[i];
  }
  return out;
}

}  // namespace xlb::sync
