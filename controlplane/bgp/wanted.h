// Which VIPs xlbd wants announced (issue #14): a VIP is announced while one
// of its services has a real that takes traffic and has passed a check in
// this run of xlbd. A pure function of the bgp: section, the running
// services and what health checking knows of their reals; xlbd's daemon
// gathers those, this decides, the Announcer applies.
#ifndef XLB_CONTROLPLANE_BGP_WANTED_H_
#define XLB_CONTROLPLANE_BGP_WANTED_H_

#include <string>
#include <vector>

#include "controlplane/bgp/desired.h"
#include "controlplane/config/model.h"
#include "model/address.h"

namespace xlb::bgp {

// What xlbd knows of one real of a service.
struct RealVerdict {
  bool takes_traffic = false;  // up and weight > 0: Maglev may choose it
  bool passed = false;         // a check of it passed in this run, or it has none
  bool judged = false;         // a check of it completed, or it has none, or it starts down
};

struct ServiceVerdicts {
  model::IpAddress vip;
  std::vector<RealVerdict> reals;
};

struct VipVerdict {
  model::IpAddress vip;
  bool healthy = false;  // announce it
  // healthy, or every real of every service of it judged. Not judged (xlbd
  // has just started, no check has completed): bgpd's `network` for it is
  // left as it is, so that a restarted xlbd neither withdraws a VIP for the
  // second its first checks take nor announces one it has not checked.
  bool judged = false;
};

// The VIPs of the bgp: section (its announce: list, or every service's VIP,
// in address order), each judged from the services that have it. Until
// `sync_ready` (a starting director's resync of the flows has ended: issue
// #16) no VIP is judged: none is announced anew, one announced before a
// restart stays.
std::vector<VipVerdict> JudgeVips(const config::BgpConfig& bgp,
                                  const std::vector<ServiceVerdicts>& services,
                                  bool sync_ready = true);

// The state of bgpd xlbd wants: AS, router id, neighbours from the section;
// every VIP owned, the healthy ones announced, the unjudged ones kept.
Desired MakeDesired(const config::BgpConfig& bgp, const std::vector<VipVerdict>& vips);

// What in a valid config is likely a mistake with BGP/ECMP (for the log and
// --check-config): an announced VIP of a NAT service, whose replies come back
// through the reals' one gateway while the routers hash its clients over
// every director.
std::vector<std::string> ConfigWarnings(const config::Config& config);

}  // namespace xlb::bgp

#endif  // XLB_CONTROLPLANE_BGP_WANTED_H_
