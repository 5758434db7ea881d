// Flow-state sync (issue #16): a flow as the data plane sees it
// (dataplane::SyncFlow) <-> a flow record on the wire (sync::FlowRecord).
// Here and not in controlplane/sync/ because it needs both sides, and the
// dependency rule keeps controlplane/sync/ off the data plane: xlbd is
// where the two meet. Pure: no sockets, no maps.
#ifndef XLB_CONTROLPLANE_XLBD_SYNC_RECORDS_H_
#define XLB_CONTROLPLANE_XLBD_SYNC_RECORDS_H_

#include <cstdint>
#include <optional>

#include "controlplane/sync/wire.h"
#include "dataplane/sync_applier.h"

namespace xlb::xlbd {

// The record of `flow` with `type`. Flags: XLB_CONN_F_ESTABLISHED and
// XLB_CONN_F_CLOSING become kRecordEstablished / kRecordClosing; the others
// (NAT, TUNNEL, SYNCED) are not sent. The family is the VIP's.
sync::FlowRecord ToRecord(const dataplane::SyncFlow& flow, sync::RecordType type);

// The record type of a ring event's type (XLB_FLOW_EV_NEW / _CLOSING);
// nullopt for any other.
std::optional<sync::RecordType> RecordTypeOf(uint16_t flow_event_type);

// The flow a record names (its type is the caller's business).
dataplane::SyncFlow ToSyncFlow(const sync::FlowRecord& record);

}  // namespace xlb::xlbd

#endif  // XLB_CONTROLPLANE_XLBD_SYNC_RECORDS_H_
