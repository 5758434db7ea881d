#include "controlplane/reconcile/plan.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"

namespace xlb::reconcile {
namespace {

using RealKey = std::pair<model::IpAddress, uint16_t>;

// Reals compared as a set: by (address, effective port), with their weights
// and health (a drained real going down changes no weight, but its record).
std::map<RealKey, std::pair<uint32_t, bool>> RealSet(const model::ServiceKey& key,
                                                     const std::vector<model::RealSpec>& reals) {
  std::map<RealKey, std::pair<uint32_t, bool>> out;
  for (const auto& r : reals)
    out[{r.address, model::EffectivePort(key, r)}] = {r.weight, r.health_down};
  return out;
}

}  // namespace

std::vector<Change> Plan(const std::vector<dataplane::ServiceState>& current,
                         const std::vector<DesiredService>& desired) {
  std::map<model::ServiceKey, const DesiredService*> want;
  for (const auto& d : desired) want[d.service.key] = &d;
  std::vector<Change> changes;
  for (const auto& c : current)
    if (!want.contains(c.service.key))
      changes.push_back({Change::kDeleteService, c.service.key, {}, {}});

  std::map<model::ServiceKey, const dataplane::ServiceState*> have;
  for (const auto& c : current) have[c.service.key] = &c;
  for (const auto& [key, d] : want) {
    auto it = have.find(key);
    if (it == have.end() || it->second->service.options != d->service.options)
      changes.push_back({Change::kUpsertService, key, d->service, {}});
    std::vector<model::RealSpec> now;
    if (it != have.end())
      for (const auto& r : it->second->reals) now.push_back(r.spec);
    if (it == have.end() || RealSet(key, now) != RealSet(key, d->reals))
      changes.push_back({Change::kSetReals, key, {}, d->reals});
  }
  return changes;
}

std::map<model::ServiceKey, absl::Status> Apply(const std::vector<Change>& changes,
                                                    dataplane::ServiceTable& table) {
  std::map<model::ServiceKey, absl::Status> failed;
  for (const auto& c : changes) {
    if (failed.contains(c.key)) continue;  // its reals after its definition failed, say
    absl::Status st;
    switch (c.kind) {
      case Change::kDeleteService: st = table.Delete(c.key); break;
      case Change::kUpsertService: st = table.Upsert(c.service); break;
      case Change::kSetReals: st = table.SetReals(c.key, c.reals); break;
    }
    if (!st.ok()) failed[c.key] = absl::Status(st.code(), absl::StrCat(Describe(c), ": ", st.message()));
  }
  return failed;
}

std::string Describe(const Change& c) {
  switch (c.kind) {
    case Change::kDeleteService: return absl::StrCat("delete service ", c.key.ToString());
    case Change::kUpsertService: return absl::StrCat("define service ", c.key.ToString());
    case Change::kSetReals:
      return absl::StrCat("set the ", c.reals.size(), " reals of ", c.key.ToString());
  }
  return "?";
}

}  // namespace xlb::reconcile
