#include "controlplane/xlbd/sync_records.h"

#include "bpf/xlb_abi.h"

namespace xlb::xlbd {

sync::FlowRecord ToRecord(const dataplane::SyncFlow& flow, sync::RecordType type) {
  sync::FlowRecord r;
  r.type = type;
  r.family = flow.service.vip.family();
  r.proto = static_cast<uint8_t>(flow.service.protocol);
  r.flags = 0;
  if (flow.flags & XLB_CONN_F_ESTABLISHED) r.flags |= sync::kRecordEstablished;
  if (flow.flags & XLB_CONN_F_CLOSING) r.flags |= sync::kRecordClosing;
  r.client_port = flow.client_port;
  r.flow_dport = flow.vip_port;
  r.svc_port = flow.service.port;
  r.real_port = flow.real_port;
  r.age_ms = flow.age_ms;
  r.client = flow.client;
  r.vip = flow.service.vip;
  r.real = flow.real;
  return r;
}

std::optional<sync::RecordType> RecordTypeOf(uint16_t flow_event_type) {
  switch (flow_event_type) {
    case XLB_FLOW_EV_NEW: return sync::RecordType::kNew;
    case XLB_FLOW_EV_CLOSING: return sync::RecordType::kClosing;
    default: return std::nullopt;
  }
}

dataplane::SyncFlow ToSyncFlow(const sync::FlowRecord& record) {
  dataplane::SyncFlow f;
  f.service.vip = record.vip;
  f.service.port = record.svc_port;
  f.service.protocol = static_cast<model::Protocol>(record.proto);
  f.client = record.client;
  f.client_port = record.client_port;
  f.vip_port = record.flow_dport;
  f.real = record.real;
  f.real_port = record.real_port;
  if (record.flags & sync::kRecordEstablished) f.flags |= XLB_CONN_F_ESTABLISHED;
  if (record.flags & sync::kRecordClosing) f.flags |= XLB_CONN_F_CLOSING;
  f.age_ms = record.age_ms;
  return f;
}

}  // namespace xlb::xlbd
