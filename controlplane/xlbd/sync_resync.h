// The resync at start (issue #16, docs/sync-design.md "Resync", stream in
// controlplane/sync/resync.h): every director with a sync: section serves
// its flows over TCP on sync.port; a starting director asks its peers in
// turn, the first that answers serves, bounded by sync.resync_timeout. All
// on the daemon's loop: one frame (up to 1 023 flows) per turn of it.
#ifndef XLB_CONTROLPLANE_XLBD_SYNC_RESYNC_H_
#define XLB_CONTROLPLANE_XLBD_SYNC_RESYNC_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "asio.hpp"
#include "controlplane/sync/auth.h"
#include "controlplane/sync/wire.h"
#include "model/address.h"

namespace xlb::xlbd {

struct ResyncServerCounters {
  uint64_t served = 0;       // copies sent whole
  uint64_t not_peer = 0;     // connections from an address not in sync.peers: closed
  uint64_t busy = 0;         // connections while a copy was being served: closed
  uint64_t bad_request = 0;  // not a signed RESYNC_REQUEST, or none within the deadline
  uint64_t dropped = 0;      // clients too slow (no progress in kProgressDeadline) or gone
};

class ResyncServer {
 public:
  // A client that makes no progress this long is dropped.
  static constexpr std::chrono::seconds kProgressDeadline{10};
  // Every live flow, named by address (a walk of the connection table).
  using Snapshot = std::function<absl::StatusOr<std::vector<sync::FlowRecord>>()>;

  // Listens on TCP `port` of `source` (none: any address of `family`).
  // Serves one copy at a time, only to `peers`; a connection from elsewhere
  // or while busy is closed at once (the client tries its next peer).
  static absl::StatusOr<std::unique_ptr<ResyncServer>> Start(
      asio::io_context& io, const std::optional<model::IpAddress>& source, model::Family family,
      uint16_t port, const std::vector<model::IpAddress>& peers, sync::Key key, uint32_t node_id,
      Snapshot snapshot);
  ~ResyncServer();

  const ResyncServerCounters& counters() const;

  struct Shared;
  struct Session;

 private:
  explicit ResyncServer(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
  std::shared_ptr<Shared> shared_;
};

class ResyncClient {
 public:
  using OnRecords = std::function<void(const std::vector<sync::FlowRecord>&)>;
  using OnDone = std::function<void()>;
  // Connecting to one peer: at most this long (an address nobody answers).
  static constexpr std::chrono::seconds kConnectDeadline{3};

  // Asks `peers` (unicast; a multicast group: nobody to ask, state "none")
  // in turn on TCP `port`, from `source` when given; calls `on_records` with
  // each chunk as it arrives and `on_done` once, when done, failed or timed
  // out after `timeout` in all. Both from the loop, never after the
  // client is destroyed.
  static std::unique_ptr<ResyncClient> Start(
      asio::io_context& io, const std::vector<model::IpAddress>& peers, uint16_t port,
      const std::optional<model::IpAddress>& source, sync::Key key, uint32_t node_id,
      std::chrono::milliseconds timeout, OnRecords on_records, OnDone on_done);
  ~ResyncClient();

  // "running", "done", "timed out", "failed" or "none".
  const std::string& state() const;
  // "from 198.51.100.1: 60 flows in 0.05 s", "no peer answered (...)".
  const std::string& detail() const;
  bool finished() const { return state() != "running"; }

  struct State;

 private:
  explicit ResyncClient(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace xlb::xlbd

#endif  // XLB_CONTROLPLANE_XLBD_SYNC_RESYNC_H_
