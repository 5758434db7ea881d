// What a VRRP instance's tracked objects say about its priority: a pure
// function of the instance's `track:` list and the objects' current states,
// so the rules are tested without links, scripts or health checks.
//
// Rules (keepalived's, for the weights xlb allows):
//   - a tracked object that is down with weight W > 0 lowers the priority
//     by W (the state machine clamps the result to 1..254);
//   - one that is down with weight 0 puts the instance in Fault;
//   - the instance's own interface is always tracked with weight 0 (as
//     keepalived does unless told otherwise): adverts cannot go out on a
//     link that is down, so holding the VIPs there would be a lie;
//   - xlbd's main loop stalled puts every instance in Fault;
//   - an object nobody reports on (a service deleted at run time, an
//     interface that vanished, a script that has not run) counts as: service
//     and interface down; script up until its first verdict (so a restart
//     does not fail over while scripts start).
#ifndef XLB_CONTROLPLANE_VRRP_TRACKING_H_
#define XLB_CONTROLPLANE_VRRP_TRACKING_H_

#include <map>
#include <string>
#include <vector>

#include "controlplane/config/model.h"

namespace xlb::vrrp {

struct TrackedObjects {
  std::map<std::string, bool> services;  // service name -> has a real taking connections
  std::map<std::string, bool> links;     // interface -> up and running
  std::map<std::string, bool> scripts;   // ExecTrackId -> last verdict
  // xlbd's main loop (health checks, map writes) has not turned for longer
  // than its watchdog allows: a master with frozen health checks must not
  // keep the VIPs, so every instance goes to Fault (priority 0, then
  // silence) until it turns again.
  bool main_loop_stalled = false;
};

struct TrackVerdict {
  int priority_decrease = 0;
  bool fault = false;
  std::vector<bool> up;  // per configured track, in order
  std::string why;       // "" or what lowers/faults: "service pg-rw down (-50)", ...

  bool operator==(const TrackVerdict&) const = default;
};

// The key of an exec track in TrackedObjects::scripts (and in the health
// monitor that runs it): per instance and position, so two instances may
// run the same command with different intervals.
std::string ExecTrackId(const std::string& instance, size_t index);

TrackVerdict EvaluateTracks(const config::VrrpInstance& instance, const TrackedObjects& objects);

}  // namespace xlb::vrrp

#endif  // XLB_CONTROLPLANE_VRRP_TRACKING_H_
