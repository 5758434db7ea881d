#include "controlplane/xlbd/sync_link.h"


#include <ctime>
#include <utility>

#include "absl/strings/str_cat.h"
#include "controlplane/xlbd/sync_records.h"
#include "dataplane/conntrack.h"
#include "dataplane/stats.h"
#include "glog/logging.h"

namespace xlb::xlbd {
namespace {

constexpr char kKeyIdText[] = "xlb sync key id";

uint64_t RealtimeNs() {
  timespec ts = {};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + ts.tv_nsec;
}

}  // namespace

uint32_t DerivedNodeId(const model::IpAddress& source) {
  // FNV-1a over the address bytes: stable across restarts, distinct per
  // director in practice; sync.node_id settles a clash (the receivers count
  // their own id coming back as "own").
  uint32_t h = 2166136261u;
  for (uint8_t b : source.bytes()) h = (h ^ b) * 16777619u;
  return h == 0 ? 1 : h;
}

absl::StatusOr<sync::Key> SyncLink::LoadKey(const config::SyncConfig& config) {
  auto key = sync::Key::LoadFile(config.key_file);
  if (!key.ok())
    return absl::Status(key.status().code(), absl::StrCat("sync.key_file: ", key.status().message()));
  return key;
}

SyncLink::SyncLink(asio::io_context& io, const config::SyncConfig& config,
                   dataplane::Program* program, const dataplane::ServiceTable* table)
    : config_(config),
      program_(program),
      table_(table),
      ring_timer_(io),
      tick_timer_(io),
      refresh_timer_(io),
      walker_(std::make_unique<dataplane::ConnWalker>(program->maps().conn_table)),
      refresh_started_(SteadyClock::now()) {}

SyncLink::~SyncLink() = default;

bool SyncLink::SameKey(const sync::Key& key) const {
  auto id = key.Sign(kKeyIdText);
  return id.ok() && key_id_.ok() && *id == *key_id_;
}

absl::StatusOr<std::unique_ptr<SyncLink>> SyncLink::Start(asio::io_context& io,
                                                         const config::SyncConfig& config,
                                                         sync::Key key,
                                                         dataplane::Program* program,
                                                         const dataplane::ServiceTable* table,
                                                         bool resync,
                                                         std::function<void()> on_ready) {
  if (config.peers.empty()) return absl::InvalidArgumentError("sync: no peers");
  std::unique_ptr<SyncLink> link(new SyncLink(io, config, program, table));
  std::optional<model::IpAddress> source = config.source;
  if (!source) source = sync::SourceToward(config.peers.front(), config.port);
  if (config.node_id != 0) {
    link->node_id_ = config.node_id;
  } else if (source) {
    link->node_id_ = DerivedNodeId(*source);
  } else {
    return absl::FailedPreconditionError(absl::StrCat(
        "sync: no route to the peer ", config.peers.front().ToString(),
        " to choose the address datagrams leave from; set sync.source or sync.node_id"));
  }
  for (const auto& peer : config.peers)
    if (source && peer == *source)
      return absl::InvalidArgumentError(absl::StrCat(
          "sync.peers: ", peer.ToString(), " is this director's own address (sync.source)"));
  link->epoch_ = RealtimeNs();
  link->key_id_ = key.Sign(kKeyIdText);
  const model::Family family = config.peers.front().family();

  sync::TransportOptions to;
  to.source = config.source;  // unset: any address, as the kernel routes
  to.port = config.port;
  to.peers = config.peers;
  to.multicast_ttl = config.multicast_ttl;
  auto transport = sync::Transport::Open(io, to);
  if (!transport.ok()) return transport.status();
  link->transport_ = std::move(*transport);

  SyncLink* self = link.get();
  link->sender_ = std::make_unique<sync::Sender>(
      key, link->node_id_, link->epoch_, config.mtu, family,
      [self](absl::string_view datagram) { self->transport_->Send(datagram); });
  sync::ReceiverOptions ro;
  ro.peers = config.peers;
  ro.own_sender_id = link->node_id_;
  ro.max_records = sync::MaxRecords(config.mtu, family);
  link->receiver_ = std::make_unique<sync::Receiver>(key, ro);
  link->applier_ = std::make_unique<dataplane::SyncApplier>(program, table);

  if (program->sync_mode() != dataplane::SyncMode::kOff) {
    auto reader = dataplane::FlowEventReader::Open(
        program->maps().flow_events, [self](const xlb_flow_event& e) { self->OnEvent(e); });
    if (!reader.ok()) return reader.status();
    link->reader_ = std::move(*reader);
  }
  auto server = ResyncServer::Start(io, config.source, family, config.port, config.peers, key,
                                   link->node_id_, [self] { return self->Snapshot(); });
  if (!server.ok()) return server.status();
  link->resync_server_ = std::move(*server);
  link->transport_->Start([self](const model::IpAddress& source, absl::string_view datagram) {
    self->OnDatagram(source, datagram);
  });
  if (resync)
    link->resync_ = ResyncClient::Start(
        io, config.peers, config.port, config.source, key, link->node_id_,
        config.resync_timeout,
        [self](const std::vector<sync::FlowRecord>& records) {
          self->ApplyRecords(records, "a resync");
        },
        std::move(on_ready));
  link->ScheduleRing();
  link->ScheduleTick();
  link->ScheduleRefresh();
  LOG(INFO) << "sync: node " << link->node_id_ << " on port " << config.port << " to "
            << config.peers.size() << " peer(s), " << link->sender_->records_per_datagram()
            << " records per datagram; flow events "
            << dataplane::SyncModeName(program->sync_mode());
  return link;
}

void SyncLink::OnEvent(const xlb_flow_event& event) {
  auto type = RecordTypeOf(event.type);
  dataplane::SyncFlow flow;
  if (!type) {
    ++bad_event_;
    return;
  }
  switch (dataplane::TranslateFlowEvent(event, *table_, round_now_ns_, &flow)) {
    case dataplane::FlowEventVerdict::kOk:
      sender_->Add(ToRecord(flow, *type));
      return;
    case dataplane::FlowEventVerdict::kStaleId:
      ++stale_id_;
      return;
    case dataplane::FlowEventVerdict::kBadEvent:
      ++bad_event_;
      return;
  }
}

void SyncLink::PollRing() {
  if (reader_) {
    round_now_ns_ = dataplane::CoarseNowNs();
    if (auto n = reader_->Consume(); !n.ok()) {
      LOG_IF(ERROR, ring_errors_++ == 0) << "sync: reading flow_events: " << n.status();
    }
  }
  sender_->Flush();
}

void SyncLink::ScheduleRing() {
  ring_timer_.expires_after(kRingPoll);
  ring_timer_.async_wait([this](std::error_code ec) {
    if (ec) return;
    PollRing();
    ScheduleRing();
  });
}

void SyncLink::ScheduleTick() {
  tick_timer_.expires_after(kTick);
  tick_timer_.async_wait([this](std::error_code ec) {
    if (ec) return;
    sender_->Tick();
    if (auto st = applier_->RetryHeld(); !st.ok())
      LOG_IF(ERROR, apply_errors_++ == 0) << "sync: applying held flows: " << st;
    ScheduleTick();
  });
}

void SyncLink::ScheduleRefresh() {
  refresh_timer_.expires_at(refresh_started_ + config_.refresh);
  refresh_timer_.async_wait([this](std::error_code ec) {
    if (ec) return;
    refresh_started_ = SteadyClock::now();
    walker_->StartPass(dataplane::CoarseNowNs());
    RefreshStep();
  });
}

void SyncLink::RefreshStep() {
  // Read a batch (4 096 entries, a few ms) only once the last one is sent.
  if (refresh_sent_ == refresh_pending_.size()) {
    refresh_pending_.clear();
    refresh_sent_ = 0;
    while (walker_->passing() && refresh_pending_.empty()) {
      auto more = walker_->Step([this](const xlb_flow_key& key, const xlb_conn& conn) {
        refresh_pending_.emplace_back(key, conn);
      });
      if (!more.ok()) {
        LOG_IF(ERROR, refresh_errors_++ == 0) << "sync: refresh walk of conn_table: " << more.status();
        break;
      }
    }
  }
  constexpr size_t kSlice = kRefreshRecordsPerSecond * kRefreshSlice.count() / 1000;
  const uint64_t now_ns = dataplane::CoarseNowNs();
  for (size_t end = std::min(refresh_pending_.size(), refresh_sent_ + kSlice);
       refresh_sent_ < end; ++refresh_sent_) {
    const auto& [key, conn] = refresh_pending_[refresh_sent_];
    dataplane::SyncFlow flow;
    switch (dataplane::TranslateConn(key, conn, *table_, now_ns, &flow)) {
      case dataplane::FlowEventVerdict::kOk:
        sender_->Add(ToRecord(flow, sync::RecordType::kRefresh));
        ++refresh_records_;
        break;
      case dataplane::FlowEventVerdict::kStaleId:
        ++stale_id_;
        break;
      case dataplane::FlowEventVerdict::kBadEvent:
        ++bad_event_;
        break;
    }
  }
  if (refresh_sent_ < refresh_pending_.size() || walker_->passing()) {
    refresh_timer_.expires_after(kRefreshSlice);
    refresh_timer_.async_wait([this](std::error_code ec) {
      if (!ec) RefreshStep();
    });
    return;
  }
  ++refresh_passes_;
  last_refresh_seconds_ =
      std::chrono::duration<double>(SteadyClock::now() - refresh_started_).count();
  ScheduleRefresh();
}

void SyncLink::OnDatagram(const model::IpAddress& source, absl::string_view datagram) {
  sync::ReceiveResult r = receiver_->OnDatagram(source, datagram, SteadyClock::now());
  if (!r.admitted() || r.records.empty()) return;
  ApplyRecords(r.records, source.ToString());
}

void SyncLink::ApplyRecords(const std::vector<sync::FlowRecord>& records, absl::string_view from) {
  std::vector<dataplane::SyncFlow> flows;
  flows.reserve(records.size());
  for (const auto& record : records) flows.push_back(ToSyncFlow(record));
  if (auto st = applier_->Apply(flows); !st.ok())
    LOG_IF(ERROR, apply_errors_++ == 0) << "sync: applying flows from " << from << ": " << st;
}

absl::StatusOr<std::vector<sync::FlowRecord>> SyncLink::Snapshot() {
  // One batched walk (lookup_batch: 0.2 s for a full default table here);
  // the frames then go out one per turn of the loop.
  std::vector<sync::FlowRecord> out;
  const uint64_t now = dataplane::CoarseNowNs();
  auto st = program_->maps().conn_table.ForEachEntry([&](const xlb_flow_key& key,
                                                         const xlb_conn& conn) {
    if (dataplane::ClassifyConnection(key.proto, conn, now) == dataplane::ConnActivity::kExpired)
      return true;
    dataplane::SyncFlow flow;
    if (dataplane::TranslateConn(key, conn, *table_, now, &flow) == dataplane::FlowEventVerdict::kOk)
      out.push_back(ToRecord(flow, sync::RecordType::kRefresh));
    return true;
  });
  if (!st.ok()) return st;
  return out;
}

void SyncLink::FlushForShutdown() {
  ring_timer_.cancel();
  tick_timer_.cancel();
  refresh_timer_.cancel();
  PollRing();
}

api::SyncView SyncLink::View() const {
  api::SyncView v;
  v.enabled = true;
  v.node_id = node_id_;
  v.epoch = epoch_;
  v.port = config_.port;
  v.mode = dataplane::SyncModeName(program_->sync_mode());
  const sync::SenderCounters& s = sender_->counters();
  v.last_sequence_sent = s.last_sequence;
  v.datagrams_sent = s.datagrams_sent;
  v.records_sent = s.records_sent;
  v.refresh_passes = refresh_passes_;
  v.refresh_records = refresh_records_;
  v.last_refresh_seconds = last_refresh_seconds_;
  uint64_t ring_full = 0;
  if (auto g = dataplane::ReadGlobalCounters(program_->maps()); g.ok())
    ring_full = (*g)[XLB_STAT_SYNC_RING_FULL];
  v.dropped = receiver_->Dropped();
  const dataplane::SyncApplyCounters& a = applier_->counters();
  v.dropped["ring_full"] = ring_full;
  v.dropped["stale_id"] = stale_id_ + bad_event_;
  v.dropped["send_failed"] = transport_->counters().send_failed + s.encode_errors;
  v.dropped["unknown_service"] = a.unknown_service;
  v.dropped["unknown_real"] = a.unknown_real;
  v.dropped["hold_full"] = a.hold_full;
  for (int r = XLB_SYNC_INSERTED; r < XLB_SYNC_RESULT__COUNT; ++r) {
    v.applied[dataplane::SyncApplyResultName(r)] = a.conn[r];
    v.applied_reply[dataplane::SyncApplyResultName(r)] = a.reply[r];
  }
  v.held = applier_->held();
  v.ready = ready();
  v.resync = resync_ ? resync_->state() : "none";
  v.resync_detail = resync_ ? resync_->detail() : "";
  const ResyncServerCounters& rs = resync_server_->counters();
  v.dropped["resync_not_peer"] = rs.not_peer;
  v.dropped["resync_busy"] = rs.busy;
  v.dropped["resync_bad_request"] = rs.bad_request;
  v.dropped["resync_client_dropped"] = rs.dropped;
  const auto now = SteadyClock::now();
  for (const sync::PeerStatus& p : receiver_->Peers(now)) {
    api::SyncPeerView pv;
    pv.address = p.address;
    pv.up = p.up;
    pv.sender_id = p.sender_id;
    pv.epoch = p.epoch;
    pv.highest_sequence = p.highest_sequence;
    pv.datagrams_received = p.datagrams;
    pv.records_received = p.records;
    pv.gaps = p.gaps;
    pv.missing = p.missing;
    pv.lag_p50_ms = p.lag_p50_ms.value_or(0);
    pv.lag_p99_ms = p.lag_p99_ms.value_or(0);
    if (p.last_heard)
      pv.last_heard_seconds_ago = std::chrono::duration<double>(now - *p.last_heard).count();
    pv.dropped = p.dropped;
    v.peers.push_back(std::move(pv));
  }
  return v;
}

}  // namespace xlb::xlbd
