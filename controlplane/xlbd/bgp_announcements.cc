#include "controlplane/xlbd/bgp_announcements.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "glog/logging.h"

namespace xlb::xlbd {
namespace {

// WithdrawAll waits for a vtysh call in flight (2 s deadline at most) and
// then makes its own: this bounds both without holding SIGTERM for long.
constexpr absl::Duration kWithdrawDeadline = absl::Seconds(3);

std::chrono::system_clock::time_point Chrono(absl::Time t) {
  return t == absl::InfinitePast() ? std::chrono::system_clock::time_point{}
                                   : absl::ToChronoTime(t);
}

absl::Status WriteDrainFile(const std::string& path) {
  const std::string dir = path.substr(0, path.rfind('/'));
  if (!dir.empty() && mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", strerror(errno)));
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot write ", path, ": ", strerror(errno)));
  const std::string text = absl::StrCat("drained by xlbctl bgp drain at ",
                                        absl::FormatTime(absl::Now(), absl::UTCTimeZone()), "\n");
  const bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const int saved = errno;
  close(fd);
  if (!ok) {
    unlink(path.c_str());
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ", strerror(saved)));
  }
  return absl::OkStatus();
}

}  // namespace

BgpAnnouncements::BgpAnnouncements(std::string drain_file, bgp::AnnouncerOptions base)
    : drain_file_(std::move(drain_file)), base_(std::move(base)) {}

BgpAnnouncements::~BgpAnnouncements() = default;

absl::Status BgpAnnouncements::CheckReload(const std::optional<config::BgpConfig>& next) const {
  if (!announcer_ || !last_ || !next) return absl::OkStatus();
  if (next->frr_pathspace != last_->frr_pathspace)
    return absl::FailedPreconditionError(absl::StrCat(
        "bgp.frr_pathspace: '", next->frr_pathspace, "' instead of '", last_->frr_pathspace,
        "': xlbd drives one FRR while it runs (restart xlbd to move to another)"));
  if (next->asn != last_->asn)
    return absl::FailedPreconditionError(absl::StrCat(
        "bgp.asn: ", next->asn, " instead of ", last_->asn,
        ": bgpd runs `router bgp ", last_->asn,
        "`, which xlbd does not replace (remove it from FRR, then restart xlbd)"));
  return absl::OkStatus();
}

void BgpAnnouncements::Configure(const std::optional<config::BgpConfig>& bgp,
                                 std::vector<bgp::ServiceVerdicts> services) {
  services_ = std::move(services);
  if (bgp && !announcer_) {
    bgp::AnnouncerOptions options = base_;
    options.vtysh.pathspace = bgp->frr_pathspace;
    options.bgpd_pid_file = bgp::BgpdPidFile(bgp->frr_pathspace);
    announcer_ = std::make_unique<bgp::Announcer>(std::move(options));
    drained_ = access(drain_file_.c_str(), F_OK) == 0;
    announcer_->SetDrained(drained_);
    LOG(INFO) << "bgp: announcing through FRR's bgpd"
              << (bgp->frr_pathspace.empty() ? "" : " -N " + bgp->frr_pathspace) << " as AS "
              << bgp->asn
              << (drained_ ? absl::StrCat("; drained (", drain_file_,
                                          " exists): nothing is announced until xlbctl bgp undrain")
                           : "");
  } else if (!bgp && bgp_) {
    LOG(INFO) << "bgp: the bgp: section is gone: removing xlbd's neighbours and networks from bgpd";
  }
  bgp_ = bgp;
  if (bgp) last_ = bgp;
  Apply();
}

void BgpAnnouncements::Update(const std::vector<bgp::ServiceVerdicts>& services) {
  services_ = services;
  Apply();
}

void BgpAnnouncements::SetSyncReady(bool ready) {
  if (ready == sync_ready_) return;
  sync_ready_ = ready;
  Apply();
}

void BgpAnnouncements::Apply() {
  if (!announcer_) return;
  bgp::Desired desired;
  if (bgp_) {
    verdicts_ = bgp::JudgeVips(*bgp_, services_, sync_ready_);
    desired = bgp::MakeDesired(*bgp_, verdicts_);
  } else {
    verdicts_.clear();
    desired.local_as = last_->asn;  // nothing else: every line xlbd owns goes
  }
  if (desired == applied_) return;  // the common case: a health change elsewhere
  applied_ = desired;
  announcer_->SetDesired(std::move(desired));
}

absl::Status BgpAnnouncements::SetDrained(bool drained) {
  if (!bgp_) return absl::FailedPreconditionError("no bgp: section in xlbd's configuration");
  if (drained) {
    if (absl::Status st = WriteDrainFile(drain_file_); !st.ok())
      return absl::Status(st.code(), absl::StrCat(st.message(), "; not drained"));
  } else if (unlink(drain_file_.c_str()) != 0 && errno != ENOENT) {
    return absl::InternalError(absl::StrCat("cannot remove ", drain_file_, ": ", strerror(errno),
                                            "; still drained"));
  }
  if (drained != drained_)
    LOG(WARNING) << "bgp: " << (drained ? "drained: withdrawing every VIP (flows still arriving "
                                          "are forwarded)"
                                        : "undrained: announcing the healthy VIPs again");
  drained_ = drained;
  announcer_->SetDrained(drained);
  return absl::OkStatus();
}

std::chrono::milliseconds BgpAnnouncements::WithdrawForShutdown() {
  if (!announcer_ || !bgp_) return {};
  const size_t announced = announcer_->Snapshot().announced.size();
  if (!announcer_->WithdrawAll(kWithdrawDeadline)) {
    LOG(ERROR) << "bgp: could not withdraw the VIPs from bgpd (see the error above); the routers "
                  "drop this director when bgpd's sessions end";
    return {};
  }
  LOG(INFO) << "bgp: withdrew " << announced << " VIPs";
  if (announced == 0) return {};
  return bgp_->withdraw_delay;
}

api::BgpView BgpAnnouncements::View() {
  api::BgpView v;
  if (!bgp_ || !announcer_) return v;
  const bgp::AnnouncerStatus s = announcer_->Snapshot();
  v.configured = true;
  v.local_as = bgp_->asn;
  v.router_id = bgp_->router_id.ToString();
  v.frr_pathspace = bgp_->frr_pathspace;
  v.drained = drained_;
  for (const bgp::VipVerdict& verdict : verdicts_) {
    api::BgpVipView vip;
    vip.vip = verdict.vip;
    vip.healthy = verdict.healthy;
    vip.announced = s.announced.contains(verdict.vip.ToString());
    // Not judged yet: left as bgpd has it.
    vip.wanted = !drained_ && !s.stopping && (verdict.judged ? verdict.healthy : vip.announced);
    v.vips.push_back(vip);
  }
  v.sessions = s.sessions;
  v.sessions_time = Chrono(s.sessions_time);
  v.sessions_error = s.sessions_error;
  v.last_reconcile = Chrono(s.last_reconcile);
  v.last_reconcile_ok = s.last_reconcile_ok;
  v.last_error = s.last_error;
  v.announcements = s.announcements;
  v.withdrawals = s.withdrawals;
  v.frr_errors = s.frr_errors;
  v.reconciles = s.reconciles;
  return v;
}

}  // namespace xlb::xlbd
