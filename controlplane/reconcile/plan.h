// Reconciling: what the data plane holds (current) against what it should
// hold (desired: configuration, runtime changes and health folded into
// services with effective weights) gives the smallest list of changes. The
// reconciler is the only writer of the maps.
#ifndef XLB_CONTROLPLANE_RECONCILE_PLAN_H_
#define XLB_CONTROLPLANE_RECONCILE_PLAN_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "model/service.h"
#include "dataplane/service_table.h"

namespace xlb::reconcile {

// A service as the data plane should have it; reals carry the weights to
// write (0 for a real that is down, with health_down set).
struct DesiredService {
  model::Service service;
  std::vector<model::RealSpec> reals;
};

struct Change {
  enum Kind { kDeleteService, kUpsertService, kSetReals } kind;
  model::ServiceKey key;
  model::Service service;              // kUpsertService
  std::vector<model::RealSpec> reals;  // kSetReals
};

// The changes that turn `current` into `desired`, in a safe order: deletions
// first, then each service's options before its reals. Services and real sets
// that are equal produce no change.
std::vector<Change> Plan(const std::vector<dataplane::ServiceState>& current,
                         const std::vector<DesiredService>& desired);

// Applies `changes` in order, service by service: an error in one service
// (a NAT real without a route, a full map) skips that service's later
// changes and never the other services'. Returns the services that failed,
// each with its error (naming the change); empty when all was applied.
std::map<model::ServiceKey, absl::Status> Apply(const std::vector<Change>& changes,
                                                    dataplane::ServiceTable& table);

std::string Describe(const Change& change);

}  // namespace xlb::reconcile

#endif  // XLB_CONTROLPLANE_RECONCILE_PLAN_H_
