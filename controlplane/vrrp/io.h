// VRRP on the wire: one raw IPPROTO_VRRP (112) socket per (interface,
// family), driven by the daemon's asio loop. No policy: what to send, which
// adverts to believe (VRID, version, auth, TTL) is decided above, with
// packet.h's Decode*/Validate and state_machine.h.
//
// IPv4: the socket has IP_HDRINCL on, so Send takes a whole packet as
//   EncodeIpv4Packet builds it (TOS 0xc0, TTL 255, our source address). The
//   reason: VRRPv3's checksum covers the IPv4 pseudo-header, so the source
//   address in the packet must be the one the codec summed; with the kernel
//   building the header it would pick the interface's primary address,
//   which may differ (or be a VIP). It is also what keepalived does, so our
//   adverts match its byte for byte. The kernel fills in the IP header
//   checksum and total length (and the id if it is 0).
//   Receiving delivers the whole packet from the IP header on: decode it
//   with DecodeIpv4Packet. IpInfo is filled from the header too.
// IPv6: the kernel always builds the header. Send takes the VRRP message
//   (Encode(advert, source, dst)) and sends it with IPV6_PKTINFO naming the
//   channel's source address (the pseudo-header again), hop limit 255 for
//   unicast and multicast. IPV6_CHECKSUM stays off: the codec computes the
//   checksum and the kernel must not touch it. Receiving delivers the
//   payload, with src from recvmsg's name, dst from IPV6_PKTINFO and the hop
//   limit from IPV6_HOPLIMIT: decode with DecodeIpv6Payload.
//
// A socket filter lets through only TTL (hop limit) 255 and datagrams no
// longer than the largest advert: off-link floods are dropped by the kernel.
// Both bind to the interface (SO_BINDTODEVICE), join 224.0.0.18 / ff02::12
// on it (unless join_multicast is false: unicast peers) and switch off
// multicast loopback, so a channel does not hear its own adverts. Adverts
// for every VRID on the interface are delivered: filtering is policy.
//
// Not thread-safe; use from the loop that owns the io_context.
#ifndef XLB_CONTROLPLANE_VRRP_IO_H_
#define XLB_CONTROLPLANE_VRRP_IO_H_

#include <netinet/in.h>
#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "asio/io_context.hpp"
#include "asio/posix/stream_descriptor.hpp"
#include "controlplane/vrrp/packet.h"
#include "model/address.h"

namespace xlb::vrrp {

// 224.0.0.18 and ff02::12 (RFC 5798 5.1.1.2 / 5.1.2.2).
model::IpAddress VrrpMulticastGroup(model::Family family);

struct ChannelOptions {
  std::string ifname;
  model::Family family = model::Family::kV4;
  // IPv6 only: the source of our adverts (the interface's link-local
  // address, RFC 5798 5.1.2.1); it must be the src given to Encode. Unset
  // (the default-constructed IPv4 0.0.0.0) lets the kernel choose, which is
  // only right if the caller encoded with the same address.
  std::optional<model::IpAddress> source;
  // Join the VRRP group; false when only unicast peers are used.
  bool join_multicast = true;
};

struct Received {
  // IPv4: the whole IP packet; IPv6: the VRRP message (IP payload).
  std::string data;
  IpInfo ip;        // src, dst, TTL/hop limit (IPv4: read from the header)
  int ifindex = 0;  // where it arrived (always the channel's interface)
  // Longer than the receive buffer: `data` holds its start only. Never an
  // advert; the caller counts it as dropped (DecodeError::kTooLong).
  bool truncated = false;
};

class Channel {
 public:
  // Called once per AsyncReceive: a packet, or an error (asio's
  // operation_aborted after Close() comes back as kCancelled).
  using ReceiveHandler = std::function<void(absl::StatusOr<Received>)>;

  // Needs CAP_NET_RAW. Errors name the interface.
  static absl::StatusOr<std::unique_ptr<Channel>> Open(asio::io_context& io,
                                                       const ChannelOptions& options);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // IPv4: a whole packet (EncodeIpv4Packet) whose destination is `dst`;
  // IPv6: the VRRP message. `dst` is the group or a unicast peer. Sends
  // synchronously (a raw datagram either fits the socket buffer or fails).
  absl::Status Send(absl::string_view data, const model::IpAddress& dst);

  // Waits for the next packet on the loop and calls `handler` once. Call
  // again from the handler to keep receiving. One receive at a time.
  void AsyncReceive(ReceiveHandler handler);

  // Stops receiving (a pending handler gets kCancelled when the loop runs
  // it, which is safe even after the Channel is destroyed) and closes the
  // socket, leaving the group. Also done by the destructor.
  void Close();

  const std::string& ifname() const { return options_.ifname; }
  int ifindex() const { return ifindex_; }
  model::Family family() const { return options_.family; }

 private:
  Channel(asio::io_context& io, ChannelOptions options, int ifindex, int fd);
  // One non-blocking recvmsg; EAGAIN -> nullopt status kUnavailable.
  absl::StatusOr<Received> ReadOne();
  std::string Where() const;

  ChannelOptions options_;
  int ifindex_;
  asio::posix::stream_descriptor descriptor_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // expires with *this
};

// Sends `data` to `to` out of `ifindex` with IPV6_PKTINFO, from `source`
// (unset: the kernel chooses). Returns what sendmsg returns (-1: errno).
ssize_t SendIpv6(int fd, absl::string_view data, const sockaddr_in6& to, uint32_t ifindex,
                 const std::optional<model::IpAddress>& source);

}  // namespace xlb::vrrp

#endif  // XLB_CONTROLPLANE_VRRP_IO_H_
