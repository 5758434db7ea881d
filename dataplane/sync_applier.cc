#include "dataplane/sync_applier.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "dataplane/conntrack.h"

namespace xlb::dataplane {

const char* SyncApplyResultName(int result) {
  switch (result) {
    case XLB_SYNC_NONE: return "none";
    case XLB_SYNC_INSERTED: return "inserted";
    case XLB_SYNC_REFRESHED: return "refreshed";
    case XLB_SYNC_REPLACED: return "replaced";
    case XLB_SYNC_KEPT_OWN: return "kept_own";
    case XLB_SYNC_KEPT_NEWER: return "kept_newer";
    case XLB_SYNC_STALE: return "stale";
    case XLB_SYNC_NO_ROOM: return "no_room";
  }
  return "unknown";
}

bool SyncApplier::Translate(const SyncFlow& f, xlb_sync_apply_entry* e, FlowIds* ids) const {
  *ids = table_->FlowIdsOf(f.service, f.real, f.real_port);
  if (ids->service_id == 0 || ids->real_id == 0) return false;
  *e = {};
  f.client.CopyTo(e->flow.src);
  f.service.vip.CopyTo(e->flow.dst);
  e->flow.sport = htons(f.client_port);
  e->flow.dport = htons(f.vip_port);
  e->flow.proto = static_cast<uint8_t>(f.service.protocol);
  e->flow.family = static_cast<uint8_t>(f.service.vip.family());
  e->service_id = ids->service_id;
  e->service_gen = ids->service_gen;
  e->real_id = ids->real_id;
  e->real_gen = ids->real_gen;
  e->svc_port = htons(f.service.port);
  e->flags = f.flags & (XLB_CONN_F_CLOSING | XLB_CONN_F_ESTABLISHED);
  e->age_ms = f.age_ms;
  return true;
}

absl::Status SyncApplier::Apply(const std::vector<SyncFlow>& flows, Clock::time_point now) {
  std::vector<xlb_sync_apply_entry> entries;
  entries.reserve(flows.size());
  for (const SyncFlow& f : flows) {
    xlb_sync_apply_entry e;
    FlowIds ids;
    if (Translate(f, &e, &ids)) {
      entries.push_back(e);
    } else if (held_.size() >= kHoldMax) {
      ++counters_.hold_full;
    } else {
      held_.push_back({f, now});
      ++counters_.held;
    }
  }
  return Run(entries);
}

absl::Status SyncApplier::RetryHeld(Clock::time_point now) {
  std::vector<xlb_sync_apply_entry> entries;
  std::deque<Held> still;
  for (Held& h : held_) {
    xlb_sync_apply_entry e;
    FlowIds ids;
    if (Translate(h.flow, &e, &ids)) {
      entries.push_back(e);
    } else if (now - h.since >= kHoldFor) {
      ++(ids.service_id == 0 ? counters_.unknown_service : counters_.unknown_real);
    } else {
      still.push_back(std::move(h));
    }
  }
  held_ = std::move(still);
  return Run(entries);
}

absl::Status SyncApplier::Run(std::vector<xlb_sync_apply_entry>& entries) {
  last_.clear();
  xlb_sync_apply_batch* batch = program_->sync_apply_batch();
  for (size_t at = 0; at < entries.size(); at += XLB_SYNC_APPLY_MAX) {
    const size_t n = std::min<size_t>(XLB_SYNC_APPLY_MAX, entries.size() - at);
    std::memcpy(batch->e, &entries[at], n * sizeof(xlb_sync_apply_entry));
    batch->count = static_cast<uint32_t>(n);
    batch->now_ns = CoarseNowNs();
    LIBBPF_OPTS(bpf_test_run_opts, opts);
    if (bpf_prog_test_run_opts(program_->sync_apply_fd(), &opts) != 0)
      return absl::ErrnoToStatus(errno, absl::StrCat("run sync_apply on ", n, " flows"));
    ++counters_.runs;
    for (size_t i = 0; i < n; ++i) {
      const xlb_sync_apply_entry& done = batch->e[i];
      if (done.result < XLB_SYNC_RESULT__COUNT) ++counters_.conn[done.result];
      if (done.reply_result < XLB_SYNC_RESULT__COUNT) ++counters_.reply[done.reply_result];
      last_.push_back(done);
    }
  }
  return absl::OkStatus();
}

}  // namespace xlb::dataplane
