#include "dataplane/interface_macs.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace xlb::dataplane {
namespace {

// The program reads these slots while they are written, one slot per map
// update. An entry is written with ifindex 0 (a free slot) before its
// ifindex, so that no reader sees an ifindex with a half-written MAC; a
// reader that meets a slot freed for a moment finds no entry and forwards
// the frame as it did before the check, which is harmless.

uint32_t Next(uint32_t slot) { return (slot + 1) % XLB_MAX_IFACES; }

absl::StatusOr<xlb_iface> Read(const Maps& maps, uint32_t slot) {
  xlb_iface e;
  auto found = maps.iface_macs.Lookup(&slot, &e);
  if (!found.ok()) return found.status();
  if (!*found) return absl::InternalError(absl::StrCat("iface_macs has no slot ", slot));
  return e;
}

absl::Status Write(const Maps& maps, uint32_t slot, const xlb_iface& e) {
  if (e.ifindex != 0) {
    xlb_iface unset = e;
    unset.ifindex = 0;
    if (auto st = maps.iface_macs.Update(&slot, &unset); !st.ok()) return st;
  }
  return maps.iface_macs.Update(&slot, &e);
}

// The slot of `ifindex` as the program finds it, or nullopt; with `free`,
// also the first free slot on its way (nullopt when the table is full).
absl::StatusOr<std::optional<uint32_t>> Find(const Maps& maps, uint32_t ifindex,
                                             std::optional<uint32_t>* free = nullptr) {
  uint32_t slot = xlb_iface_slot(ifindex);
  for (int i = 0; i < XLB_MAX_IFACES; ++i, slot = Next(slot)) {
    auto e = Read(maps, slot);
    if (!e.ok()) return e.status();
    if (e->ifindex == 0) {
      if (free) *free = slot;
      return std::nullopt;
    }
    if (e->ifindex == ifindex) return slot;
  }
  if (free) *free = std::nullopt;
  return std::nullopt;
}

}  // namespace

absl::Status RecordInterfaceMac(const Maps& maps, uint32_t ifindex, const MacAddress& mac) {
  if (ifindex == 0) return absl::InvalidArgumentError("interface index 0");
  std::optional<uint32_t> free;
  auto slot = Find(maps, ifindex, &free);
  if (!slot.ok()) return slot.status();
  if (!*slot && !free)
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot record the MAC of interface ", ifindex, ": xlb is attached to ", XLB_MAX_IFACES,
        " interfaces already"));
  xlb_iface e = {};
  e.ifindex = ifindex;
  std::memcpy(e.mac, mac.data(), sizeof(e.mac));
  // The interface's new MAC (attached again after a change): readers may
  // see a mix of both for a moment, while the MAC is changing anyway.
  if (*slot) return maps.iface_macs.Update(&**slot, &e);
  return Write(maps, *free, e);
}

absl::Status ForgetInterfaceMac(const Maps& maps, uint32_t ifindex) {
  auto found = Find(maps, ifindex);
  if (!found.ok()) return found.status();
  if (!*found) return absl::OkStatus();
  // Deletion from a linear-probing table: entries after the hole that could
  // not sit in their home slot move back into it, so that no lookup stops
  // at the hole before reaching them.
  uint32_t hole = **found;
  for (uint32_t slot = Next(hole); slot != hole; slot = Next(slot)) {
    auto e = Read(maps, slot);
    if (!e.ok()) return e.status();
    if (e->ifindex == 0) break;
    uint32_t home = xlb_iface_slot(e->ifindex);
    // It stays when its home lies cyclically in (hole, slot].
    bool stays = hole < slot ? (hole < home && home <= slot) : (hole < home || home <= slot);
    if (stays) continue;
    if (auto st = Write(maps, hole, *e); !st.ok()) return st;
    hole = slot;
  }
  xlb_iface freed = {};
  return maps.iface_macs.Update(&hole, &freed);
}

absl::StatusOr<std::optional<MacAddress>> RecordedInterfaceMac(const Maps& maps,
                                                               uint32_t ifindex) {
  auto found = Find(maps, ifindex);
  if (!found.ok()) return found.status();
  if (!*found) return std::nullopt;
  auto e = Read(maps, **found);
  if (!e.ok()) return e.status();
  MacAddress mac;
  std::memcpy(mac.data(), e->mac, mac.size());
  return mac;
}

}  // namespace xlb::dataplane
