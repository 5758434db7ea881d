// The model's capacities (model/capacity.h) are what configs are validated
// against; the BPF side sizes its maps from bpf/xlb_abi.h. They must agree.
extern "C" {
#include "bpf/xlb_abi.h"
}
#include "model/capacity.h"

namespace xlb::dataplane {

static_assert(model::kMaxServices == XLB_MAX_SERVICES);
static_assert(model::kMaxReals == XLB_MAX_REALS);
static_assert(model::kMaxInterfaces == XLB_MAX_IFACES);
static_assert(model::kMaglevMaxSize == XLB_MAGLEV_MAX_SIZE);
static_assert(model::kMaglevDefaultSize == XLB_MAGLEV_DEFAULT_SIZE);
static_assert(model::kMaglevMinSize <= model::kMaglevMaxSize);
static_assert(model::kConnTableDefault == XLB_CONN_TABLE_DEFAULT);
static_assert(model::kPersistTableDefault == XLB_PERSIST_TABLE_DEFAULT);
// The layout docs/tunnel-design.md gives (no hole the compilers could fill
// differently on the two sides).
static_assert(sizeof(struct xlb_tunnel) == 44);

}  // namespace xlb::dataplane
