// Listing the connection table, like `ipvsadm -Lnc`.
#ifndef XLB_DATAPLANE_CONNTRACK_H_
#define XLB_DATAPLANE_CONNTRACK_H_

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/address.h"
#include "dataplane/maps.h"
#include "dataplane/service.h"

namespace xlb::dataplane {

struct Connection {
  Protocol protocol = Protocol::kTcp;
  IpAddress client, vip;
  uint16_t client_port = 0, vip_port = 0;
  uint32_t real_id = 0;
  std::optional<IpAddress> real;  // unset when the id went to another real
  uint16_t real_port = 0;
  bool closing = false;  // FIN or RST seen
  bool nat = false;      // a NAT flow (else direct routing)
  double idle_s = 0;     // since the entry was last refreshed (~0.25 s steps)
};

// Up to `limit` entries of the connection table, in table order.
absl::StatusOr<std::vector<Connection>> ListConnections(const Maps& maps, size_t limit);

// Entries in the connection table and the NAT reply table (both halves of
// NAT flows count, as when they shared one table).
absl::StatusOr<size_t> CountConnections(const Maps& maps);

}  // namespace xlb::dataplane

#endif  // XLB_DATAPLANE_CONNTRACK_H_
