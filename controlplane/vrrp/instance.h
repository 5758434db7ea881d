// One configured VRRP instance at run time: the pure StateMachine wired to
// the world. It owns the instance's timer, turns the machine's Actions into
// adverts on the shared Channel, VIPs on the interface (with a label, so a
// later run finds them) and gratuitous ARP / NA bursts, validates the adverts
// the Speaker hands it, and counts everything `xlbctl vrrp` shows.
//
// Receiving is split with the Speaker (speaker.h): the Speaker owns the
// sockets and decodes; it hands an instance the adverts carrying its VRID
// (Receive) and the errors it can attribute to it (CountDrop). The instance
// applies its own policy (Validate: TTL, version, auth, interval; unicast
// peers) before the machine sees anything.
//
// Not thread-safe: the daemon's loop only.
#ifndef XLB_CONTROLPLANE_VRRP_INSTANCE_H_
#define XLB_CONTROLPLANE_VRRP_INSTANCE_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "asio/io_context.hpp"
#include "asio/steady_timer.hpp"
#include "controlplane/config/model.h"
#include "controlplane/vrrp/io.h"
#include "controlplane/vrrp/packet.h"
#include "controlplane/vrrp/state_machine.h"
#include "controlplane/vrrp/tracking.h"

namespace xlb::vrrp {

struct InstanceCounters {
  uint64_t adverts_sent = 0;
  uint64_t adverts_received = 0;   // valid adverts for this instance
  uint64_t send_errors = 0;
  uint64_t priority_zero_sent = 0;
  uint64_t priority_zero_received = 0;
  uint64_t unknown_peer = 0;       // unicast: from an address not among the peers
  // Adverts dropped, by reason (DecodeErrorName); kWrongVrid counts adverts
  // on this instance's interface for a VRID nobody here runs.
  std::array<uint64_t, static_cast<size_t>(DecodeError::kCount)> dropped{};
  uint64_t address_errors = 0;     // VIPs that could not be added/removed
  uint64_t reannounced = 0;        // as master, VIPs announced again (a lower router claimed them)
  // Timers (advert, master down) that fired more than one advert interval
  // after their deadline: the VRRP thread did not get the CPU in time (see
  // xlbd --realtime-priority), so adverts went out late or a takeover came
  // late. The longest such delay, in ms.
  uint64_t timers_late = 0;
  uint64_t max_timer_late_ms = 0;
};

struct TrackStatus {
  config::VrrpTrack track;
  bool up = true;
};

// What `xlbctl vrrp` and the API show of one instance.
struct InstanceStatus {
  config::VrrpInstance config;
  State state = State::kInitialize;
  Reason reason = Reason::kStartup;   // of the last transition
  uint8_t effective_priority = 0;
  std::optional<model::IpAddress> master;  // ours while Master
  std::optional<uint8_t> master_priority;
  model::IpAddress source;                 // our adverts' source address
  Duration master_adver_interval{0};
  std::chrono::system_clock::time_point since{};  // of the current state
  std::vector<TrackStatus> tracks;
  std::string track_why;                       // "" or what lowers the priority / faults
  uint64_t transitions = 0;
  InstanceCounters counters;
};

class Instance {
 public:
  // Called after every state change (the last action of a transition).
  using StateCallback = std::function<void(const Instance&, const StateChanged&)>;

  // `channel` (shared with the other instances on the interface and family)
  // must outlive the instance; `source` is what adverts are sent from.
  // `config` must be valid (config/parse.h checked it).
  Instance(asio::io_context& io, config::VrrpInstance config, Channel* channel, int ifindex,
           model::IpAddress source, StateCallback on_change);
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  void Start();
  // Resigns (priority 0 if Master) and removes the VIPs.
  void Shutdown();
  // An advert decoded by the Speaker with this instance's VRID.
  void Receive(const Advert& advert, const IpInfo& ip);
  void CountDrop(DecodeError error);
  // The tracked objects' current verdict; acts only on a change.
  void SetTracking(const TrackVerdict& verdict);
  // A reload's new config for this instance, when AppliesInPlace says it
  // can run without a restart: the state (and the VIPs) stay.
  void Update(const config::VrrpInstance& next);

  InstanceStatus Status() const;
  const config::VrrpInstance& config() const { return config_; }
  State state() const { return machine_.state(); }
  uint8_t effective_priority() const { return machine_.effective_priority(); }
  const model::IpAddress& source() const { return source_; }

 private:
  void Run(Actions actions);
  void Arm();
  void SendAdvert(uint8_t priority);
  void HoldAddresses();
  void ReleaseAddresses();
  void AnnounceBurst(int bursts_left);
  std::vector<model::IpAddress> Addresses() const;

  config::VrrpInstance config_;
  Channel* channel_;
  int ifindex_;
  model::IpAddress source_;
  StateCallback on_change_;
  StateMachine machine_;
  Expectation expect_;
  asio::steady_timer timer_;
  asio::steady_timer garp_timer_;
  uint16_t ip_id_ = 0;
  std::string label_;
  std::map<model::IpAddress, int> held_;  // VIPs added, with the prefix they were added with
  TrackVerdict tracking_;
  bool tracking_known_ = false;
  Reason reason_ = Reason::kStartup;
  std::chrono::system_clock::time_point since_ = std::chrono::system_clock::now();
  InstanceCounters counters_;
};

// Whether `next` can replace `running` without restarting the instance: they
// differ only in priority (not to or from 255, the owner's), preempt,
// preempt_delay, track, the notify hooks or garp.
bool AppliesInPlace(const config::VrrpInstance& running, const config::VrrpInstance& next);

// The notify commands (for /bin/sh -c) of one state change of `v`, in the
// order they run, one at a time in the instance's queue. As keepalived does:
// notify_STATE (as written), then notify_keepalived with INSTANCE, the name,
// the state and `priority` appended; then xlb's own notify with the name,
// the state and `priority`. `to` is the new state; kInitialize (the
// instance stops) is keepalived's STOP and runs notify_stop, while xlb's
// notify is told INIT, as it always was.
std::vector<std::string> NotifyCommands(const config::VrrpInstance& v, State to,
                                        uint8_t priority);

// The name of a drop counter in the API and metrics: "bad_checksum",
// "bad_ttl", "bad_auth", "bad_length", "wrong_vrid", ...
const char* DropCounterName(DecodeError error);

// The InstanceConfig the state machine runs for a configured instance.
InstanceConfig MachineConfig(const config::VrrpInstance& config, const model::IpAddress& source);

// The label our IPv4 VIPs carry on `ifname` for `vrid` ("eth0:vrrp51", cut
// to the kernel's 15 bytes), and whether a label is one of ours (any VRID),
// so a restart removes what a killed xlbd left behind.
std::string VipLabel(const std::string& ifname, uint8_t vrid);
bool IsVipLabel(const std::string& ifname, const std::string& label);

}  // namespace xlb::vrrp

#endif  // XLB_CONTROLPLANE_VRRP_INSTANCE_H_
