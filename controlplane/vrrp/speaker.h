// xlbd's VRRP: every configured instance, the sockets they share, and what
// they track. The daemon hands it the `vrrp:` section (Configure) and the
// services' health (SetServices); the Speaker does the rest on the loop:
//   - one Channel per (interface, family), shared by the instances there;
//     each received packet is decoded once and handed to the instance with
//     its VRID (or counted as a wrong VRID by every instance on the channel);
//   - the source address of each instance: unicast.source, else the
//     interface's first IPv4 address that is not a VIP (IPv4), or its
//     link-local address (IPv6, RFC 5798 5.1.2.1);
//   - tracking: services (from the daemon), links (netlink events), exec
//     scripts (run by a health monitor of its own), fed to tracking.h;
//   - notify scripts, run on every state change (instance.h: NotifyCommands; one
//     at a time per instance, in order);
//   - at the first Configure, addresses a killed xlbd left (marked with
//     kVipAddressProtocol, or labelled by an older xlbd) are removed from
//     every interface, so a VIP is never held twice.
#ifndef XLB_CONTROLPLANE_VRRP_SPEAKER_H_
#define XLB_CONTROLPLANE_VRRP_SPEAKER_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "asio/io_context.hpp"
#include "controlplane/config/model.h"
#include "controlplane/health/monitor.h"
#include "controlplane/vrrp/instance.h"
#include "controlplane/vrrp/links.h"

namespace xlb::vrrp {

class Speaker {
 public:
  explicit Speaker(asio::io_context& io);
  ~Speaker();
  Speaker(const Speaker&) = delete;
  Speaker& operator=(const Speaker&) = delete;

  // Runs exactly `instances` (already validated by the config parser).
  // Everything that can fail (interfaces, source addresses, sockets) is
  // checked before anything changes: on error the running instances go on
  // untouched. An instance whose config is unchanged keeps running (no
  // failover on a reload), and so does one whose priority, preempt, tracks,
  // notify or garp changed (instance.h, AppliesInPlace); another change
  // restarts it; a removed one resigns and releases its VIPs.
  absl::Status Configure(const std::vector<config::VrrpInstance>& instances);
  // What Configure checks before changing anything (interfaces, source
  // addresses), changing nothing: for a start that must not half-happen.
  static absl::Status Check(const std::vector<config::VrrpInstance>& instances);
  // Whether each service has a real taking new connections.
  void SetServices(std::map<std::string, bool> services);
  // Whether xlbd's main loop has stalled (tracking.h: every instance faults).
  void SetMainLoopStalled(bool stalled);
  // Every instance resigns (priority 0 when Master) and releases its VIPs;
  // their stop notifies are queued (NotifiesUnfinished counts them).
  void Shutdown();
  // Notify commands queued or running: xlbd waits for them as it stops.
  int NotifiesUnfinished() const { return *notifies_unfinished_; }

  std::vector<InstanceStatus> Status() const;

 private:
  struct Slot;  // a channel and the instances on it
  using SlotKey = std::pair<std::string, model::Family>;
  struct InstancePlan {
    const config::VrrpInstance* config;
    int ifindex;
    model::IpAddress source;
    SlotKey key;
  };
  struct SlotWant {
    bool multicast = false;
    std::optional<model::IpAddress> source;
    std::string first;  // the instance that set the source
  };
  static absl::Status PlanInstances(const std::vector<config::VrrpInstance>& wanted,
                                    std::vector<InstancePlan>* plans,
                                    std::map<SlotKey, SlotWant>* wants);

  void Receive(const std::shared_ptr<Slot>& slot);
  void Dispatch(Slot& slot, const Received& packet);
  void UpdateTracking();
  void OnStateChange(const Instance& instance, const StateChanged& change);
  void RemoveStaleAddresses();

  asio::io_context& io_;
  std::map<SlotKey, std::shared_ptr<Slot>> slots_;
  std::vector<std::unique_ptr<Instance>> instances_;
  TrackedObjects objects_;
  std::unique_ptr<LinkWatcher> links_;
  std::unique_ptr<health::Monitor> scripts_;
  // Notify scripts, per instance name: run one at a time, in order.
  std::map<std::string, std::shared_ptr<health::ScriptQueue>> notify_queues_;
  // Shared with the queues' callbacks, which may outlive the Speaker.
  std::shared_ptr<int> notifies_unfinished_ = std::make_shared<int>(0);
  bool configured_once_ = false;
};

}  // namespace xlb::vrrp

#endif  // XLB_CONTROLPLANE_VRRP_SPEAKER_H_
