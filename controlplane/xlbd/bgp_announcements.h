// xlbd's side of the bgp: section (issue #14, docs/bgp-design.md): keeps the
// Announcer (bgp/announcer.h, a thread of its own that drives bgpd through
// vtysh) fed with what xlbd wants, remembers a drain across restarts, and
// answers `xlbctl bgp`. Everything here but WithdrawForShutdown returns at
// once: no vtysh call ever runs on the event loop.
#ifndef XLB_CONTROLPLANE_XLBD_BGP_ANNOUNCEMENTS_H_
#define XLB_CONTROLPLANE_XLBD_BGP_ANNOUNCEMENTS_H_

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "controlplane/api/operations.h"
#include "controlplane/bgp/announcer.h"
#include "controlplane/bgp/wanted.h"
#include "controlplane/config/model.h"

namespace xlb::xlbd {

class BgpAnnouncements {
 public:
  // drain_file: its existence means drained (xlbctl bgp drain), so that an
  // xlbd restarted during maintenance does not announce. `base`: the
  // announcer's options but the pathspace and PID file (tests: a fake vtysh).
  explicit BgpAnnouncements(std::string drain_file, bgp::AnnouncerOptions base = {});
  ~BgpAnnouncements();

  // Before a (re)load changes anything: what cannot change while xlbd runs.
  absl::Status CheckReload(const std::optional<config::BgpConfig>& next) const;
  // The section of the loaded config, with the services' verdicts (given
  // together: a section alone would tell bgpd there are no VIPs). Without
  // one (removed by a reload), xlbd's neighbours and networks are removed
  // from bgpd.
  void Configure(const std::optional<config::BgpConfig>& bgp,
                 std::vector<bgp::ServiceVerdicts> services);
  // The services' verdicts changed (health, weights, services): announce
  // and withdraw accordingly. Cheap when nothing changed.
  void Update(const std::vector<bgp::ServiceVerdicts>& services);
  // False while the resync of the flows at start runs (sync: section): no
  // VIP is judged meanwhile (bgp::JudgeVips). True by default.
  void SetSyncReady(bool ready);
  // Drain or undrain, remembered in the drain file first: an error (the file
  // cannot be written) changes nothing.
  absl::Status SetDrained(bool drained);
  // SIGTERM: every VIP withdrawn in one vtysh call, waiting for it
  // (bounded); nothing is announced after it. Returns how long xlbd should
  // go on forwarding for the routers to move the traffic (bgp.withdraw_delay
  // if something was withdrawn, else 0).
  std::chrono::milliseconds WithdrawForShutdown();

  api::BgpView View();
  bool configured() const { return bgp_.has_value(); }

 private:
  void Apply();

  const std::string drain_file_;
  const bgp::AnnouncerOptions base_;
  std::optional<config::BgpConfig> bgp_;   // the running section
  std::optional<config::BgpConfig> last_;  // the last one given to the announcer
  std::vector<bgp::ServiceVerdicts> services_;
  std::vector<bgp::VipVerdict> verdicts_;
  std::optional<bgp::Desired> applied_;  // the last given to the announcer
  bool drained_ = false;
  bool sync_ready_ = true;
  std::unique_ptr<bgp::Announcer> announcer_;  // since the first section
};

}  // namespace xlb::xlbd

#endif  // XLB_CONTROLPLANE_XLBD_BGP_ANNOUNCEMENTS_H_
