#include "controlplane/vrrp/links.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace xlb::vrrp {

bool LinkUp(const std::string& ifname) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) return false;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, ifname.data(), ifname.size());
  const bool ok = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
  close(fd);
  return ok && (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
}

absl::StatusOr<std::unique_ptr<LinkWatcher>> LinkWatcher::Open(asio::io_context& io,
                                                               std::function<void()> on_change) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return absl::ErrnoToStatus(errno, "link events: netlink socket");
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = RTMGRP_LINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    int err = errno;
    close(fd);
    return absl::ErrnoToStatus(err, "link events: bind to RTMGRP_LINK");
  }
  std::unique_ptr<LinkWatcher> w(new LinkWatcher(io, fd, std::move(on_change)));
  w->Wait();
  return w;
}

LinkWatcher::LinkWatcher(asio::io_context& io, int fd, std::function<void()> on_change)
    : descriptor_(io, fd), on_change_(std::move(on_change)) {}

LinkWatcher::~LinkWatcher() = default;

void LinkWatcher::Wait() {
  descriptor_.async_wait(asio::posix::stream_descriptor::wait_read, [this](std::error_code ec) {
    if (ec) return;  // closed: *this is gone or going
    // Drain: the content does not matter, only that something changed.
    char buf[8192];
    for (int i = 0; i < 64; ++i) {
      ssize_t n = recv(descriptor_.native_handle(), buf, sizeof(buf), MSG_DONTWAIT);
      if (n < 0 && errno != ENOBUFS) break;  // EAGAIN: drained (ENOBUFS: lost some, re-read all)
    }
    on_change_();
    Wait();
  });
}

}  // namespace xlb::vrrp
