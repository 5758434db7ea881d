#include "controlplane/vrrp/links.h"

namespace xlb::vrrp {

absl::StatusOr<std::unique_ptr<LinkWatcher>> LinkWatcher::Open(asio::io_context& io,
                                                               std::function<void()> on_change) {
  auto events = netlink::SubscribeToLinks();
  if (!events.ok()) return events.status();
  std::unique_ptr<LinkWatcher> w(new LinkWatcher(io, std::move(*events), std::move(on_change)));
  w->Wait();
  return w;
}

LinkWatcher::LinkWatcher(asio::io_context& io, netlink::Socket events,
                         std::function<void()> on_change)
    : events_(std::move(events)), descriptor_(io, events_.fd()), on_change_(std::move(on_change)) {}

// The descriptor is events_'s to close: asio only lets go of it (and ends
// the wait).
LinkWatcher::~LinkWatcher() { descriptor_.release(); }

void LinkWatcher::Wait() {
  descriptor_.async_wait(asio::posix::stream_descriptor::wait_read, [this](std::error_code ec) {
    if (ec) return;  // released: *this is gone or going
    // The content does not matter, only that something changed.
    events_.Drain();
    on_change_();
    Wait();
  });
}

}  // namespace xlb::vrrp
