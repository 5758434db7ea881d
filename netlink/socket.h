// An rtnetlink socket (libmnl): one request and its whole answer, checked
// (sequence number, port id) and bounded in datagrams and time; or, bound
// to multicast groups, the kernel's notifications.
#ifndef XLB_NETLINK_SOCKET_H_
#define XLB_NETLINK_SOCKET_H_

#include <libmnl/libmnl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "netlink/message.h"

namespace xlb::netlink {

// How long the kernel may take to answer one request (it answers at once;
// this only keeps a lost answer from hanging the caller).
inline constexpr std::chrono::seconds kAnswerTimeout{5};

using OnMessage = absl::FunctionRef<void(const nlmsghdr*)>;

// absl::ErrnoToStatus(err, what), carrying `err` for ErrnoOf.
absl::Status ErrnoError(int err, absl::string_view what);
// The errno of a status made by ErrnoError (every failure of the kernel, or
// of a socket call, below); 0 for any other status.
int ErrnoOf(const absl::Status& status);

// Runs `on_message` on each message of the datagram buf[0, len) that answers
// request `seq` of port `portid`. True when the answer is complete (its ACK,
// or NLMSG_DONE after a dump), false when more datagrams follow. A kernel
// error (NLMSG_ERROR), or a message of another request, is an ErrnoError
// naming `what`.
absl::StatusOr<bool> RunAnswer(const void* buf, size_t len, uint32_t seq, uint32_t portid,
                               OnMessage on_message, absl::string_view what);

class Socket {
 public:
  // Bound to an automatic port id and to the multicast `groups` (RTMGRP_*;
  // 0 for none), in the calling thread's network namespace.
  static absl::StatusOr<Socket> Open(uint32_t groups = 0);

  // Sends `request` (with the next sequence number) and runs `on_message` on
  // each message of its answer until its ACK or NLMSG_DONE. Errors name `what`.
  absl::Status Request(Message& request, OnMessage on_message, absl::string_view what);

  // For a socket bound to groups: readable when notifications are waiting.
  int fd() const { return mnl_socket_get_fd(socket_.get()); }
  // Reads and drops the notifications waiting (bounded; never blocks). One
  // lost to a full receive buffer (ENOBUFS) counts as one that came.
  void Drain();

 private:
  struct Closer {
    void operator()(mnl_socket* s) const { mnl_socket_close(s); }
  };
  explicit Socket(mnl_socket* s, uint32_t first_seq) : socket_(s), seq_(first_seq) {}

  std::unique_ptr<mnl_socket, Closer> socket_;
  uint32_t seq_;
};

// Opens a socket, makes one request and closes it: what every operation of
// this library does, so each runs in its caller's network namespace.
absl::Status Request(Message& request, OnMessage on_message, absl::string_view what);
// The same, for a request whose answer is only its ACK.
absl::Status Request(Message& request, absl::string_view what);

}  // namespace xlb::netlink

#endif  // XLB_NETLINK_SOCKET_H_
