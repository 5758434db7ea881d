// Reconcile of FRR: the vtysh commands that turn the running config into the
// desired one (docs/bgp-design.md "Reconcile"). Pure: no FRR, no process.
#ifndef XLB_CONTROLPLANE_BGP_PLAN_H_
#define XLB_CONTROLPLANE_BGP_PLAN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controlplane/bgp/desired.h"
#include "controlplane/bgp/running_config.h"

namespace xlb::bgp {

// The commands of ONE vtysh call: `configure terminal`, then every removal,
// then every addition (a prefix-list entry before its `network`, in the
// same call, so bgpd's route-map delay does not hold the announcement).
// Only differences: an unchanged neighbour gets no command (no session
// flap); an identical state gives an empty list (no call at all). Each
// neighbour is activated in its own family only (`no neighbor X activate`
// in the other). While a neighbour has bfd, bfdd's profile xlbd gets
// Desired::bfd's timers, after the removals and before the neighbours
// (`neighbor X bfd profile xlbd`). The operator's lines are never touched.
// Errors, with nothing planned: bgpd runs another AS; a desired neighbour
// address is the operator's (no `description xlbd`); a bad address,
// password or timer; BFD timers out of bfdd's range; an announced VIP that
// is not among the VIPs.
absl::StatusOr<std::vector<std::string>> Plan(const RunningConfig& running,
                                              const Desired& desired);

// `VIP/32` or `VIP/128` in canonical form, or an error naming `address`.
absl::StatusOr<std::string> HostPrefix(const std::string& address);

}  // namespace xlb::bgp

#endif  // XLB_CONTROLPLANE_BGP_PLAN_H_
