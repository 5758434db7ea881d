#include "dataplane/flow_event_reader.h"

#include <arpa/inet.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <optional>

namespace xlb::dataplane {
namespace {

// What OnRecord returns to stop ring_buffer__consume after the budget: libbpf
// 1.1 moves the consumer past the record first (ringbuf_process_ring), so
// the record that returns it is read once, and consume returns this value.
constexpr int kBudgetSpent = -EDQUOT;

}  // namespace

absl::StatusOr<std::unique_ptr<FlowEventReader>> FlowEventReader::Open(const RingMap& ring,
                                                                       OnEvent on_event) {
  std::unique_ptr<FlowEventReader> r(new FlowEventReader(std::move(on_event)));
  r->ring_ = ring_buffer__new(ring.fd(), &FlowEventReader::OnRecord, r.get(), nullptr);
  if (r->ring_ == nullptr)
    return absl::ErrnoToStatus(errno, "read the ring " + ring.name() + " (ring_buffer__new)");
  return r;
}

FlowEventReader::~FlowEventReader() {
  if (ring_) ring_buffer__free(ring_);
}

int FlowEventReader::OnRecord(void* ctx, void* data, size_t size) {
  auto* self = static_cast<FlowEventReader*>(ctx);
  constexpr size_t kHead = offsetof(xlb_flow_event_batch, ev);
  uint32_t count = 0;
  if (size >= kHead) std::memcpy(&count, data, sizeof(count));
  // The program writes a record exactly as long as its events.
  if (size < kHead || count < 1 || count > XLB_FLOW_EVENT_BATCH ||
      size != kHead + count * sizeof(xlb_flow_event)) {
    ++self->counters_.malformed;
  } else {
    ++self->counters_.records;
    const auto* bytes = static_cast<const unsigned char*>(data) + kHead;
    for (uint32_t i = 0; i < count; ++i) {
      xlb_flow_event e;  // copied: the ring guarantees 8-byte alignment only
      std::memcpy(&e, bytes + i * sizeof(e), sizeof(e));
      ++self->counters_.events;
      ++self->delivered_;
      self->on_event_(e);
    }
  }
  return --self->budget_ == 0 ? kBudgetSpent : 0;
}

absl::StatusOr<size_t> FlowEventReader::Consume(size_t max_records) {
  if (max_records == 0) return 0;
  budget_ = max_records;
  delivered_ = 0;
  const int rc = ring_buffer__consume(ring_);
  budget_ = 0;
  if (rc < 0 && rc != kBudgetSpent)
    return absl::ErrnoToStatus(-rc, "read the ring flow_events (ring_buffer__consume)");
  return delivered_;
}

FlowEventVerdict TranslateFlowEvent(const xlb_flow_event& event, const ServiceTable& table,
                                    uint64_t now_ns, SyncFlow* out) {
  xlb_conn conn{};
  conn.service_id = event.service_id;
  conn.real_id = event.real_id;
  conn.real_gen = event.real_gen;
  conn.flags = event.conn_flags;
  conn.last_seen_ns = event.last_seen_ns;
  return TranslateConn(event.flow, conn, table, now_ns, out);
}

FlowEventVerdict TranslateConn(const xlb_flow_key& k, const xlb_conn& conn,
                               const ServiceTable& table, uint64_t now_ns, SyncFlow* out) {
  std::optional<FlowAddresses> where = table.AddressesOf(conn.service_id, conn.real_id,
                                                         conn.real_gen);
  if (!where) return FlowEventVerdict::kStaleId;
  const model::ServiceKey& service = where->service;
  // The flow must be one of its service's: a retired real adopted after a
  // restart may name a service id that was given to another service since.
  const model::IpAddress vip = model::IpAddress::FromWords(service.vip.family(), k.dst);
  if (k.family != static_cast<uint8_t>(service.vip.family()) || vip != service.vip ||
      k.proto != static_cast<uint8_t>(service.protocol) ||
      (service.port != 0 && ntohs(k.dport) != service.port))
    return FlowEventVerdict::kBadEvent;
  SyncFlow f;
  f.service = service;
  f.client = model::IpAddress::FromWords(service.vip.family(), k.src);
  f.client_port = ntohs(k.sport);
  f.vip_port = ntohs(k.dport);
  f.real = where->real;
  f.real_port = where->real_port;
  f.flags = conn.flags;  // what SyncFlow does not carry is ignored downstream
  f.age_ms = now_ns > conn.last_seen_ns
                 ? static_cast<uint32_t>(std::min<uint64_t>((now_ns - conn.last_seen_ns) / 1000000,
                                                            UINT32_MAX))
                 : 0;
  *out = f;
  return FlowEventVerdict::kOk;
}

}  // namespace xlb::dataplane
