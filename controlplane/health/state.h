// Whether a real counts as up, from the stream of its probe results: `rise`
// successes in a row bring a down real up, `fall` failures in a row take an
// up real down. Pure: no I/O, no clock.
#ifndef XLB_CONTROLPLANE_HEALTH_STATE_H_
#define XLB_CONTROLPLANE_HEALTH_STATE_H_

namespace xlb::health {

class HealthState {
 public:
  // Starts up by default (like keepalived without `alpha`): a restarted
  // daemon must not pull traffic from reals that were serving. rise and fall
  // below 1 count as 1.
  HealthState(int rise, int fall, bool initially_up = true);

  // Records one result; returns true when up() changed.
  bool Record(bool success);

  bool up() const { return up_; }
  // How many results in a row agreed with the latest one (0 before any).
  int consecutive() const { return streak_; }
  // The latest result; meaningless while consecutive() is 0.
  bool last_success() const { return last_success_; }
  int rise() const { return rise_; }
  int fall() const { return fall_; }

 private:
  int rise_;
  int fall_;
  bool up_;
  bool last_success_ = false;
  int streak_ = 0;
};

}  // namespace xlb::health

#endif  // XLB_CONTROLPLANE_HEALTH_STATE_H_
