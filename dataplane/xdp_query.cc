#include "dataplane/xdp_query.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace xlb::dataplane {

absl::StatusOr<unsigned> IfIndex(const std::string& ifname) {
  unsigned ifindex = if_nametoindex(ifname.c_str());
  if (ifindex == 0) return absl::NotFoundError(absl::StrCat("no interface named '", ifname, "'"));
  return ifindex;
}

std::string ProgName(uint32_t id) {
  int fd = bpf_prog_get_fd_by_id(id);
  if (fd < 0) return "";
  bpf_prog_info info = {};
  uint32_t len = sizeof(info);
  std::string name;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) name = info.name;
  close(fd);
  return name;
}

absl::StatusOr<Attached> QueryAttached(unsigned ifindex, const std::string& ifname) {
  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  if (bpf_xdp_query(ifindex, 0, &q) != 0)
    return absl::ErrnoToStatus(errno, absl::StrCat("query XDP program of ", ifname));
  if (q.drv_prog_id) return Attached{q.drv_prog_id, XDP_FLAGS_DRV_MODE};
  if (q.skb_prog_id) return Attached{q.skb_prog_id, XDP_FLAGS_SKB_MODE};
  if (q.hw_prog_id) return Attached{q.hw_prog_id, XDP_FLAGS_HW_MODE};
  return Attached{};
}

absl::Status DetachAttached(unsigned ifindex, const std::string& ifname, const Attached& current) {
  int old_fd = bpf_prog_get_fd_by_id(current.id);
  if (old_fd < 0)
    return absl::ErrnoToStatus(errno, absl::StrCat("open XDP program ", current.id, " of ", ifname));
  LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = old_fd);
  int err = bpf_xdp_detach(ifindex, current.mode_flag | XDP_FLAGS_REPLACE, &opts);
  close(old_fd);
  if (err != 0) return absl::ErrnoToStatus(-err, absl::StrCat("detach XDP from ", ifname));
  return absl::OkStatus();
}

const char* ModeName(uint32_t mode_flag) {
  return mode_flag == XDP_FLAGS_SKB_MODE ? "generic" : "native";
}

}  // namespace xlb::dataplane
