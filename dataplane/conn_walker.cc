#include "dataplane/conn_walker.h"

#include "dataplane/conntrack.h"

namespace xlb::dataplane {

void ConnWalker::StartPass(uint64_t now_ns) {
  pass_start_ns_ = now_ns;
  cursor_.emplace(table_, batch_);
}

absl::StatusOr<bool> ConnWalker::Step(const OnEntry& on_entry) {
  if (!cursor_) return false;
  auto more = cursor_->Next([&](const xlb_flow_key& key, const xlb_conn& conn) {
    if (!(conn.flags & XLB_CONN_F_SYNCED) && conn.last_seen_ns >= since_ns_ &&
        ClassifyConnection(key.proto, conn, pass_start_ns_) != ConnActivity::kExpired)
      on_entry(key, conn);
    return true;
  });
  if (!more.ok() || !*more) cursor_.reset();
  if (!more.ok()) return more.status();
  // Only a pass walked to its end covers what it saw: after one dropped or
  // failed, the next goes back to the last whole pass's start.
  if (!*more) since_ns_ = pass_start_ns_;
  return *more;
}

}  // namespace xlb::dataplane
