// A VIP plan for active-active directors (`xlbctl vrrp plan`): every VIP is
// its own VRRP instance (its own VRID); every director is master of an equal
// share of the VIPs, and the backup order is chosen so that the VIPs of a
// failed director spread evenly over the survivors. Pure: names and
// addresses in, config::VrrpInstance lists and text out.
//
// The order (which director takes a VIP when the ones before it are down):
//   master: VIP i (0-based, in the order given) goes to director i mod N, so
//     the masters' counts differ by at most 1.
//   then, for k = 1 .. N-1: the VIPs whose first k choices are the same set
//     F of directors get their (k+1)-th choice as if F had failed: one after
//     the other, each goes to the survivor (not in F) that holds the fewest
//     VIPs at that moment; ties to the one that is (k+1)-th choice of the
//     fewest VIPs so far, then to the next after the VIP's master in the
//     order given (round robin).
//   So after any one failure the survivors' counts differ by at most 1 (the
//   masters' counts do, and each moved VIP goes to a least loaded survivor):
//   3 directors, 6 VIPs: A masters VIPs 1 and 4, B takes 1 and C takes 4
//   when A fails. After two or more failures the same rule spreads the VIPs
//   whose first choices are exactly the failed set, the best it can do from
//   what the earlier choices left. For 3..7 directors and N..4N VIPs
//   (vrrp_plan_test.cc), after two failures the counts differ by at most 2, and
//   by at most 1 in 935 of the 1015 cases.
// Priorities: the k-th choice (0 = master) of N gets (N - k) * step, with
// step = min(50, 254 / N): 3 directors get 150/100/50. Never 255: RFC 5798
// keeps that for the router that owns the addresses.
#ifndef XLB_CONTROLPLANE_OFFLINE_VRRP_PLAN_H_
#define XLB_CONTROLPLANE_OFFLINE_VRRP_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controlplane/config/model.h"
#include "model/address.h"

namespace xlb::vrrp {

struct PlanRequest {
  std::vector<std::string> directors;  // names: letters, digits, '_', '.', '-'
  std::vector<std::string> vips;       // "ADDRESS[/PREFIX]"; default /32 or /128
  std::string interface = "eth0";
  // 51: keepalived's customary first VRID; VIP i gets vrid_base + i.
  int vrid_base = 51;
  config::Duration advert_interval = config::VrrpInstance{}.advert_interval;
};

struct PlannedVip {
  model::IpAddress address;
  int prefix = 0;
  uint8_t vrid = 0;
  std::string name;        // the instance name: "vip-" and the address, ':' -> '-'
  std::vector<int> order;  // director indexes, master first, then the backups
};

struct Plan {
  std::vector<std::string> directors;
  std::vector<PlannedVip> vips;
  std::vector<uint8_t> priorities;  // by place in a VIP's order: [0] the master's
  std::string interface;
  config::Duration advert_interval{0};

  // The priority of `director` for `vip` (indexes into directors, vips).
  uint8_t Priority(size_t vip, size_t director) const;
  // Who holds each VIP while the directors marked in `failed` are down; -1
  // when all are.
  std::vector<int> Holders(const std::vector<bool>& failed) const;
  // How many VIPs each director holds then (0 for a failed one).
  std::vector<int> Counts(const std::vector<bool>& failed) const;
  // The `vrrp:` section of `director`'s config: one instance per VIP.
  std::vector<config::VrrpInstance> Instances(size_t director) const;
};

// Errors are InvalidArgument with one line that names what is wrong: fewer
// than 2 directors, fewer VIPs than directors, a name or address that is bad
// or listed twice, VRIDs past 255, or anything config::ParseConfig would
// refuse in the resulting sections (interface name, advert interval).
absl::StatusOr<Plan> MakePlan(const PlanRequest& request);

// The plan as one table: VIP, VRID, and per director its priority, '*' on
// the master's.
std::string FormatTable(const Plan& plan);

// A bit rate: a number, an optional k/M/G/T (powers of 1000, any case), and
// an optional bit, bits, b, bps, bit/s or b/s: "1.5G", "1000M", "1Gbit/s".
// Bytes ("1GB", "1GB/s") are refused rather than guessed at. In bit/s.
absl::StatusOr<double> ParseBitRate(absl::string_view text);
// "1.5 Gbit/s", "750 Mbit/s", "333.333 Mbit/s".
std::string FormatBitRate(double bits_per_second);

// Whether every director stays within `link` when `traffic` is spread equally
// over the VIPs, with all directors up and after each single failure.
struct CapacityCase {
  int failed = -1;            // director index; -1: none
  std::vector<int> counts;    // VIPs per director (0 for the failed one)
  std::vector<double> loads;  // bit/s per director
  bool fits = true;           // every load <= link
};
struct CapacityReport {
  double traffic = 0, link = 0;
  std::vector<CapacityCase> cases;  // no failure, then each director failed
  bool fits = true;                 // every case fits
};
CapacityReport CheckCapacity(const Plan& plan, double traffic, double link);
std::string FormatCapacity(const Plan& plan, const CapacityReport& report);

}  // namespace xlb::vrrp

#endif  // XLB_CONTROLPLANE_OFFLINE_VRRP_PLAN_H_
