// Whether interfaces are up, and a wake-up when any link changes: the input
// of `track: {interface: ...}` and of every instance's own interface.
// Link events come from rtnetlink (RTMGRP_LINK, netlink/links.h) on the
// daemon's loop, so a cable pull is seen at once rather than at the next
// poll; the state itself is read when asked.
#ifndef XLB_CONTROLPLANE_VRRP_LINKS_H_
#define XLB_CONTROLPLANE_VRRP_LINKS_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "asio/io_context.hpp"
#include "asio/posix/stream_descriptor.hpp"
#include "netlink/links.h"
#include "netlink/socket.h"

namespace xlb::vrrp {

// Administratively up and with carrier; false for an interface that does
// not exist.
using netlink::LinkUp;

class LinkWatcher {
 public:
  // Calls `on_change` (on the loop) after any link message; the callback
  // reads what it cares about with LinkUp.
  static absl::StatusOr<std::unique_ptr<LinkWatcher>> Open(asio::io_context& io,
                                                           std::function<void()> on_change);
  ~LinkWatcher();

 private:
  LinkWatcher(asio::io_context& io, netlink::Socket events, std::function<void()> on_change);
  void Wait();

  netlink::Socket events_;  // owns the descriptor that descriptor_ waits on
  asio::posix::stream_descriptor descriptor_;
  std::function<void()> on_change_;
};

}  // namespace xlb::vrrp

#endif  // XLB_CONTROLPLANE_VRRP_LINKS_H_
