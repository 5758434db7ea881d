// The services and reals the XDP program forwards to: validates changes,
// allocates ids, builds Maglev tables and writes the maps. The maps are the
// record: a new process adopts them and continues where the last one stopped.
#ifndef XLB_DATAPLANE_SERVICE_TABLE_H_
#define XLB_DATAPLANE_SERVICE_TABLE_H_

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/address_filter.h"
#include "dataplane/maps.h"
#include "dataplane/nexthop.h"
#include "model/service.h"

namespace xlb::dataplane {

struct RealState {
  model::RealSpec spec;
  uint32_t id = 0;
  uint32_t gen = 0;
  std::optional<Nexthop> nexthop;  // resolved by the control plane and written; else the FIB
};

struct ServiceState {
  model::Service service;
  uint32_t id = 0;
  std::vector<RealState> reals;  // sorted by address, port
};

// The ids and generations a flow of a service to one of its reals carries
// in the maps now (what conn_table entries hold); 0 ids: not configured.
struct FlowIds {
  uint32_t service_id = 0;  // 0: no such service
  uint32_t service_gen = 0;
  uint32_t real_id = 0;     // 0: the service has no such real (a retired one is not)
  uint32_t real_gen = 0;
};

// What a flow's service and real ids stand for: the service by key, the
// real by address and the port it receives on (model::EffectivePort).
struct FlowAddresses {
  model::ServiceKey service;
  model::IpAddress real;
  uint16_t real_port = 0;

  bool operator==(const FlowAddresses&) const = default;
};

// Which real each real id was given to last, with its generation, kept after
// the real is retired: its flows live on in the connection table (until the
// id is reused) and must still be named by address (sync). One entry per id,
// so bounded by XLB_MAX_REALS; a reused id's new holder replaces the old.
// Generations are unique across ids (ServiceTable's one counter), so the
// generation tells the old holder's flows from the new one's.
class RealIdBook {
 public:
  // `real_id` now names `where` (a real of service `service_id`) as `gen`.
  void Assign(uint32_t real_id, uint32_t gen, uint32_t service_id, const FlowAddresses& where);
  // What a flow's ids name, or nullopt when the id is unknown, or was
  // reused since (another generation), or belongs to another service.
  std::optional<FlowAddresses> Find(uint32_t service_id, uint32_t real_id,
                                    uint32_t real_gen) const;
  size_t size() const { return by_id_.size(); }

 private:
  struct Holder {
    uint32_t gen = 0;
    uint32_t service_id = 0;
    FlowAddresses where;
  };
  std::unordered_map<uint32_t, Holder> by_id_;
};

// The tunnels entry of a tunnel service (docs/tunnel-design.md): outer
// source from tunnel_source (host bits from the flow hash), else `path`'s
// source (one address); MTU from tunnel_mtu, else `path`'s (1500 when not
// known); the MSS that fits it. `path`: the director's address and the
// smallest egress MTU toward the service's reals, when known.
xlb_tunnel TunnelValueOf(const model::Service& service, const std::optional<TunnelPath>& path);

class ServiceTable {
 public:
  // Reads services, reals and Maglev tables back from the maps. `maps` and
  // `resolver` must outlive the table.
  static absl::StatusOr<std::unique_ptr<ServiceTable>> Adopt(Maps* maps,
                                                             NexthopResolver* resolver);

  // Adds a service (with no reals) or changes an existing one's options.
  absl::Status Upsert(const model::Service& service);
  // Removes a service and its reals; its flows stop being forwarded.
  absl::Status Delete(const model::ServiceKey& key);
  // Makes `reals` the reals of the service. Reals that stay keep their ids
  // and flows; weight 0 drains a real; a removed real's established flows
  // keep going to it until its id is reused.
  absl::Status SetReals(const model::ServiceKey& key, const std::vector<model::RealSpec>& reals);
  // Asks the kernel again for every real's next hop (after neighbour changes).
  absl::Status RefreshNexthops();
  // Reals whose next hop (MAC) is not known yet: their packets go through
  // bpf_fib_lookup, or up the stack, until it is.
  size_t UnknownNexthops() const;

  // NAT sends replies back through the director: each of `reals` must be
  // routed out of an interface xlb is attached to, or, when `interfaces` is
  // given (a start, before attaching), out of one of those ifindexes.
  absl::Status CheckNatReachable(const model::Service& service, const std::vector<model::RealSpec>& reals,
                                 const std::set<uint32_t>* interfaces = nullptr) const;

  std::vector<ServiceState> List() const;
  // Read-only, for flows named by address (a peer director's, sync): the
  // real is (address, port it receives on: model::EffectivePort).
  FlowIds FlowIdsOf(const model::ServiceKey& key, const model::IpAddress& real,
                    uint16_t real_port) const;
  absl::StatusOr<ServiceState> Get(const model::ServiceKey& key) const;
  // Read-only, for flows named by ids (this director's ring events, sync):
  // the service and real a connection-table entry's ids stand for, retired
  // reals included until their id is reused; nullopt when unknown or stale
  // (the id was reused since: another generation).
  std::optional<FlowAddresses> AddressesOf(uint32_t service_id, uint32_t real_id,
                                           uint32_t real_gen) const {
    return real_ids_.Find(service_id, real_id, real_gen);
  }

  ~ServiceTable();

 private:
  struct Table;
  struct Entry;
  using RealKey = std::pair<model::IpAddress, uint16_t>;

  ServiceTable(Maps* maps, NexthopResolver* resolver);
  absl::Status AdoptAll();
  absl::StatusOr<uint32_t> AllocateRealId();
  absl::Status WriteReal(const Entry& e, const RealState& r, const Nexthop* nh);
  absl::Status PublishTable(Entry& e, xlb_service value);
  absl::Status UpdateVip(const model::IpAddress& vip);
  absl::Status RetireReal(const RealState& r);
  absl::Status SyncNat();
  absl::Status SyncTunnel(Entry& e);
  ServiceState StateOf(const Entry& e) const;
  absl::Status NotFound(const model::ServiceKey& key) const;

  Maps* maps_;
  NexthopResolver* resolver_;
  std::map<model::ServiceKey, std::unique_ptr<Entry>> services_;
  std::set<uint32_t> free_service_ids_;
  // Real ids in the order they should be reused: never used first, then the
  // longest retired, so a removed real's flows last as long as possible.
  std::deque<uint32_t> free_real_ids_;
  AddressFilter vip_filter_, nat_real_filter_;
  // What the nat_reals map holds: every NAT service's reals' endpoints.
  std::set<std::tuple<model::IpAddress, uint16_t, model::Protocol>> nat_reals_;
  uint32_t next_gen_ = 1;
  RealIdBook real_ids_;
};

}  // namespace xlb::dataplane

#endif  // XLB_DATAPLANE_SERVICE_TABLE_H_
