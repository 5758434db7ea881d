#include "controlplane/vrrp/tracking.h"

#include "absl/strings/str_cat.h"

namespace xlb::vrrp {
namespace {

bool Lookup(const std::map<std::string, bool>& states, const std::string& key, bool otherwise) {
  auto it = states.find(key);
  return it == states.end() ? otherwise : it->second;
}

void Explain(std::string& why, const std::string& what) {
  absl::StrAppend(&why, why.empty() ? "" : ", ", what);
}

}  // namespace

std::string ExecTrackId(const std::string& instance, size_t index) {
  return absl::StrCat("vrrp ", instance, " track ", index);
}

TrackVerdict EvaluateTracks(const config::VrrpInstance& instance, const TrackedObjects& objects) {
  TrackVerdict v;
  if (objects.main_loop_stalled) {
    v.fault = true;
    Explain(v.why, "xlbd's main loop stalled (fault)");
  }
  if (!Lookup(objects.links, instance.interface, false)) {
    v.fault = true;
    Explain(v.why, absl::StrCat("interface ", instance.interface, " down (fault)"));
  }
  for (size_t i = 0; i < instance.track.size(); ++i) {
    const config::VrrpTrack& t = instance.track[i];
    bool up = true;
    switch (t.kind) {
      case config::VrrpTrack::kService: up = Lookup(objects.services, t.target, false); break;
      case config::VrrpTrack::kInterface: up = Lookup(objects.links, t.target, false); break;
      case config::VrrpTrack::kExec:
        up = Lookup(objects.scripts, ExecTrackId(instance.name, i), true);
        break;
    }
    v.up.push_back(up);
    if (up) continue;
    const std::string what = absl::StrCat(config::VrrpTrackKindName(t.kind), " ", t.target, " down");
    if (t.weight == 0) {
      v.fault = true;
      Explain(v.why, absl::StrCat(what, " (fault)"));
    } else {
      v.priority_decrease += t.weight;
      Explain(v.why, absl::StrCat(what, " (-", t.weight, ")"));
    }
  }
  return v;
}

}  // namespace xlb::vrrp
