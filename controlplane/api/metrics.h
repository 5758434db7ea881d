// Prometheus text exposition of the daemon's state and the data plane's
// counters. Names start with xlb_; labels service (its name), vip, port,
// protocol, real, real_port; VRRP instances: instance, interface, vrid;
// BGP (only with a bgp: section): neighbor, vip. Sync (only with a sync:
// section): peer, reason, table, outcome, quantile.
// README's table maps node_exporter's node_ipvs_* names to these.
#ifndef XLB_CONTROLPLANE_API_METRICS_H_
#define XLB_CONTROLPLANE_API_METRICS_H_

#include <string>
#include <vector>

#include "controlplane/api/operations.h"

namespace xlb::api {

std::string RenderMetrics(const StatusView& status, const std::vector<ServiceView>& services,
                          const std::vector<vrrp::InstanceStatus>& vrrp, const BgpView& bgp,
                          const SyncView& sync);

}  // namespace xlb::api

#endif  // XLB_CONTROLPLANE_API_METRICS_H_
