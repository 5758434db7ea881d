// xlbd's end of flow-state sync (issue #16, docs/sync-design.md): the
// `sync:` section at work. Every 2 ms it reads the flows the data path
// recorded (ring flow_events), names them by address and sends them to the
// peers; what the peers send is checked (key, sequence, rate) and applied to
// this director's tables. All on the daemon's loop: the service table it
// reads is the loop's.
//
// How it fails: a link that cannot keep up loses events (the ring drops and
// counts them, forwarding goes on); a peer that is down or forged costs
// nothing but counters; a datagram is applied whole or not at all, and only
// to services and reals this director has configured itself.
#ifndef XLB_CONTROLPLANE_XLBD_SYNC_LINK_H_
#define XLB_CONTROLPLANE_XLBD_SYNC_LINK_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "asio.hpp"
#include "controlplane/api/operations.h"
#include "controlplane/config/model.h"
#include "controlplane/sync/auth.h"
#include "controlplane/sync/receiver.h"
#include "controlplane/sync/sender.h"
#include "controlplane/sync/transport.h"
#include "controlplane/xlbd/sync_resync.h"
#include "dataplane/conn_walker.h"
#include "dataplane/flow_event_reader.h"
#include "dataplane/program.h"
#include "dataplane/service_table.h"
#include "dataplane/sync_applier.h"

namespace xlb::xlbd {

class SyncLink {
 public:
  using SteadyClock = std::chrono::steady_clock;
  // How often the ring is read (docs/sync-design.md: every 2 ms, no epoll:
  // less than half the CPU of a wakeup per record, ~1 ms more lag).
  static constexpr std::chrono::milliseconds kRingPoll{2};
  // Keepalives and the retry of held records.
  static constexpr std::chrono::milliseconds kTick{250};
  // The refresh walk's pace: records per second, sent a slice per kRefreshSlice
  // (500 records per 10 ms), a batch of the table read when the last is sent.
  static constexpr uint64_t kRefreshRecordsPerSecond = 50'000;
  static constexpr std::chrono::milliseconds kRefreshSlice{10};

  // Checks what a start or reload of `config` needs before anything
  // changes: the key file. The key, or why not ("sync.key_file: ...").
  static absl::StatusOr<sync::Key> LoadKey(const config::SyncConfig& config);

  // Opens the socket and starts reading the ring and the socket, and serves
  // resyncs on TCP sync.port. With `resync` (xlbd starting), asks the peers
  // for their flows first and calls `on_ready` (from the loop, once) when
  // that ended, however; without, it is ready at once and `on_ready` is not
  // called. `program` and `table` must outlive the link.
  static absl::StatusOr<std::unique_ptr<SyncLink>> Start(asio::io_context& io,
                                                         const config::SyncConfig& config,
                                                         sync::Key key,
                                                         dataplane::Program* program,
                                                         const dataplane::ServiceTable* table,
                                                         bool resync = false,
                                                         std::function<void()> on_ready = {});
  ~SyncLink();

  const config::SyncConfig& config() const { return config_; }
  // False while the resync at start runs: VRRP and BGP wait for it.
  bool ready() const { return !resync_ || resync_->finished(); }
  // Whether `key` is the one this link signs with.
  bool SameKey(const sync::Key& key) const;
  // What `xlbctl sync` and the metrics show.
  api::SyncView View() const;
  // Stopping: one last read of the ring, sent at once, so the flows of the
  // director's last moments reach the peers that take them over.
  void FlushForShutdown();

 private:
  SyncLink(asio::io_context& io, const config::SyncConfig& config, dataplane::Program* program,
           const dataplane::ServiceTable* table);
  void PollRing();
  void ScheduleRing();
  void ScheduleTick();
  void OnDatagram(const model::IpAddress& source, absl::string_view datagram);
  void OnEvent(const xlb_flow_event& event);
  // Every live entry of the connection table (own or a peer's copy), named
  // by address, for a peer's resync.
  absl::StatusOr<std::vector<sync::FlowRecord>> Snapshot();
  void ApplyRecords(const std::vector<sync::FlowRecord>& records, absl::string_view from);
  // The refresh walk (docs/sync-design.md "Walker"): a pass every
  // sync.refresh from the previous pass's start, never two at once.
  void ScheduleRefresh();
  void RefreshStep();

  config::SyncConfig config_;
  dataplane::Program* program_;
  const dataplane::ServiceTable* table_;
  uint32_t node_id_ = 0;
  absl::StatusOr<sync::Tag> key_id_;  // the key's tag of a fixed text: tells keys apart
  uint64_t epoch_ = 0;
  std::unique_ptr<sync::Transport> transport_;
  std::unique_ptr<sync::Sender> sender_;
  std::unique_ptr<sync::Receiver> receiver_;
  std::unique_ptr<dataplane::FlowEventReader> reader_;
  std::unique_ptr<dataplane::SyncApplier> applier_;
  std::unique_ptr<ResyncServer> resync_server_;
  std::unique_ptr<ResyncClient> resync_;  // none: no resync was asked for
  asio::steady_timer ring_timer_, tick_timer_, refresh_timer_;
  std::unique_ptr<dataplane::ConnWalker> walker_;
  std::vector<std::pair<xlb_flow_key, xlb_conn>> refresh_pending_;  // read, not sent yet
  size_t refresh_sent_ = 0;                    // of refresh_pending_
  SteadyClock::time_point refresh_started_;    // this or the last pass's start
  uint64_t refresh_passes_ = 0, refresh_records_ = 0;
  double last_refresh_seconds_ = 0;            // the last whole pass's duration
  uint64_t round_now_ns_ = 0;   // the data path's clock at this ring round
  uint64_t stale_id_ = 0;       // events whose ids the table no longer has
  uint64_t bad_event_ = 0;      // events that name no flow of their service
  uint64_t apply_errors_ = 0;   // sync_apply runs the kernel refused
  uint64_t ring_errors_ = 0;    // ring reads that failed
  uint64_t refresh_errors_ = 0; // refresh batches that could not be read
};

// The node id of a director that did not set sync.node_id: a hash of the
// address its datagrams leave from (never 0).
uint32_t DerivedNodeId(const model::IpAddress& source);

}  // namespace xlb::xlbd

#endif  // XLB_CONTROLPLANE_XLBD_SYNC_LINK_H_
