#include "netlink/neighbours.h"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "absl/strings/str_cat.h"
#include "netlink/links.h"
#include "netlink/socket.h"

namespace xlb::netlink {
namespace {

// A request about the entry for `address` on `ifindex`.
void PutEntry(Message& request, uint32_t ifindex, const model::IpAddress& address, uint16_t state,
              uint8_t flags) {
  auto* ndm = request.PutHeader<ndmsg>();
  ndm->ndm_family = AfOf(address);
  ndm->ndm_ifindex = ifindex;
  ndm->ndm_state = state;
  ndm->ndm_flags = flags;
  request.PutAddress(NDA_DST, address);
}

std::string Where(uint32_t ifindex, const model::IpAddress& address) {
  return absl::StrCat(address.ToString(), " dev ", InterfaceName(ifindex));
}

}  // namespace

bool Neighbour::usable() const {
  constexpr uint16_t kUsable =
      NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP;
  return (state & kUsable) && mac != MacAddress{};
}

std::optional<Neighbour> ParseNeighbour(const nlmsghdr* nlh) {
  const auto* ndm = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(nlh));
  const Attributes attrs(nlh, sizeof(ndmsg));
  const std::optional<model::IpAddress> address = attrs.AnyAddress(NDA_DST);
  if (!address) return std::nullopt;
  Neighbour n;
  n.ifindex = ndm->ndm_ifindex;
  n.address = *address;
  n.state = ndm->ndm_state;
  n.protocol = attrs.U8(NDA_PROTOCOL).value_or(0);
  n.managed = attrs.U32(NDA_FLAGS_EXT).value_or(0) & NTF_EXT_MANAGED;
  n.mac = attrs.Mac(NDA_LLADDR).value_or(MacAddress{});
  return n;
}

absl::StatusOr<std::optional<Neighbour>> GetNeighbour(uint32_t ifindex,
                                                      const model::IpAddress& address) {
  Message request(RTM_GETNEIGH, 0);
  PutEntry(request, ifindex, address, 0, 0);
  std::optional<Neighbour> found;
  absl::Status st = Request(
      request,
      [&](const nlmsghdr* nlh) {
        if (nlh->nlmsg_type == RTM_NEWNEIGH) found = ParseNeighbour(nlh);
      },
      absl::StrCat("neighbour lookup for ", Where(ifindex, address)));
  if (absl::IsNotFound(st)) return std::nullopt;
  if (!st.ok()) return st;
  return found;
}

absl::Status StartResolution(uint32_t ifindex, const model::IpAddress& address) {
  Message request(RTM_NEWNEIGH, NLM_F_CREATE);
  PutEntry(request, ifindex, address, NUD_NONE, NTF_USE);
  return Request(request, absl::StrCat("start neighbour resolution of ", Where(ifindex, address)));
}

absl::StatusOr<std::vector<Neighbour>> ListNeighbours() {
  Message request(RTM_GETNEIGH, NLM_F_DUMP);
  request.PutHeader<ndmsg>()->ndm_family = AF_UNSPEC;
  std::vector<Neighbour> out;
  absl::Status st = Request(
      request,
      [&](const nlmsghdr* nlh) {
        if (nlh->nlmsg_type != RTM_NEWNEIGH) return;
        if (auto n = ParseNeighbour(nlh)) out.push_back(*n);
      },
      "list neighbour entries");
  if (!st.ok()) return st;
  return out;
}

absl::Status AddManagedNeighbour(uint32_t ifindex, const model::IpAddress& address,
                                 uint8_t protocol) {
  Message request(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE);
  PutEntry(request, ifindex, address, NUD_NONE, 0);  // NUD_NONE: the kernel resolves it
  request.PutU8(NDA_PROTOCOL, protocol);
  request.PutU32(NDA_FLAGS_EXT, NTF_EXT_MANAGED);
  return Request(request, absl::StrCat("make a managed neighbour entry for ",
                                       Where(ifindex, address), " (kernel 5.16 or later)"));
}

absl::Status RemoveNeighbour(uint32_t ifindex, const model::IpAddress& address) {
  Message request(RTM_DELNEIGH, 0);
  PutEntry(request, ifindex, address, NUD_NONE, 0);
  absl::Status st =
      Request(request, absl::StrCat("remove the neighbour entry of ", Where(ifindex, address)));
  if (absl::IsNotFound(st)) return absl::OkStatus();
  return st;
}

}  // namespace xlb::netlink
