// The UDP endpoint of flow sync (docs/sync-design.md "Sender, receiver and
// walker in xlbd"): one non-blocking socket on the main loop's io_context,
// bound to sync.port on sync.source (or any address of the peers' family;
// the group for a multicast peer, so that only the group's datagrams come
// in), sending each datagram to every peer or to the one group. Multicast:
// the group joined on the source's interface, TTL sync.multicast_ttl, the
// interface of the source for sending, our own datagrams not looped back.
// The receive buffer is 4 MiB (SO_RCVBUFFORCE when allowed, so that a burst
// is not lost to net.core.rmem_max). Receiving drains at most
// kMaxDatagramsPerWakeup datagrams (one recvmmsg) before yielding to the
// loop, so that a flood cannot hold it. Errors are counted, never thrown.
#ifndef XLB_CONTROLPLANE_SYNC_TRANSPORT_H_
#define XLB_CONTROLPLANE_SYNC_TRANSPORT_H_

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "asio/io_context.hpp"
#include "asio/posix/stream_descriptor.hpp"
#include "model/address.h"

namespace xlb::sync {

inline constexpr size_t kMaxDatagramsPerWakeup = 64;
inline constexpr int kReceiveBufferBytes = 4 << 20;
// The largest datagram read (sync.mtu at most 9216); a longer one is read
// truncated, and the codec refuses it.
inline constexpr size_t kMaxDatagramLen = 9216;

struct TransportOptions {
  std::optional<model::IpAddress> source;  // sync.source; none: any address
  uint16_t port = 0;                       // sync.port: bound, and the peers'
  // Unicast addresses, or one multicast group; all of one family (that of
  // the source when given).
  std::vector<model::IpAddress> peers;
  int multicast_ttl = 1;
  // Tests only: the peers' port when not `port` (two endpoints on one host),
  // and multicast looped back to this host's sockets.
  uint16_t peer_port = 0;
  bool multicast_loop = false;
};

struct TransportCounters {
  uint64_t datagrams_sent = 0;  // one per peer
  uint64_t send_failed = 0;     // per peer: buffer full, no route, ...
  uint64_t datagrams_received = 0;
  uint64_t receive_errors = 0;
  uint64_t truncated = 0;  // longer than kMaxDatagramLen (passed on, refused by the codec)
};

// The address the kernel sends from toward `peer` (a connected UDP socket;
// nothing is sent), or none without a route: the default of sync.source.
std::optional<model::IpAddress> SourceToward(const model::IpAddress& peer, uint16_t port);

class Transport {
 public:
  using Handler =
      std::function<void(const model::IpAddress& source, absl::string_view datagram)>;

  // Opens and configures the socket. Errors name the step and the address:
  // "sync: cannot bind 192.0.2.11:8849: Address already in use".
  static absl::StatusOr<std::unique_ptr<Transport>> Open(asio::io_context& io,
                                                         const TransportOptions& options);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Sends `datagram` to every peer (or the group) without blocking.
  void Send(absl::string_view datagram);
  // Calls `handler` for every datagram received, from the io_context, until
  // the Transport is destroyed. Once.
  void Start(Handler handler);

  const TransportCounters& counters() const { return counters_; }
  int native_handle() const { return fd_; }

 private:
  Transport(asio::io_context& io, int fd, std::vector<sockaddr_storage> destinations,
            socklen_t destination_len);
  void Wait();
  void OnReadable();

  asio::posix::stream_descriptor socket_;
  int fd_;  // socket_'s
  std::vector<sockaddr_storage> destinations_;
  socklen_t destination_len_;
  Handler handler_;
  std::vector<char> buffers_;  // kMaxDatagramsPerWakeup * kMaxDatagramLen
  TransportCounters counters_;
  // Cleared by the destructor: a pending wait's handler finds it so and stops.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace xlb::sync

#endif  // XLB_CONTROLPLANE_SYNC_TRANSPORT_H_
