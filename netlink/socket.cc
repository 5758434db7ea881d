#include "netlink/socket.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace xlb::netlink {
namespace {

constexpr absl::string_view kErrnoPayload = "xlb.netlink/errno";

// A dump of every address or neighbour entry is a few datagrams per hundred
// entries: a million entries is past any table.
constexpr int kMaxDatagrams = 100000;
// Room for the largest datagram of a dump (libmnl 1.0.5's MNL_SOCKET_DUMP_SIZE):
// the kernel fills datagrams up to the size of the reader's buffer.
constexpr size_t kReceiveBuffer = 32768;

}  // namespace

absl::Status ErrnoError(int err, absl::string_view what) {
  absl::Status status = absl::ErrnoToStatus(err, what);
  status.SetPayload(kErrnoPayload, absl::Cord(absl::StrCat(err)));
  return status;
}

int ErrnoOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kErrnoPayload);  // absl::optional
  int err = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &err)) return 0;
  return err;
}

absl::StatusOr<bool> RunAnswer(const void* buf, size_t len, uint32_t seq, uint32_t portid,
                               OnMessage on_message, absl::string_view what) {
  errno = 0;
  const int ret = mnl_cb_run(
      buf, len, seq, portid,
      [](const nlmsghdr* nlh, void* data) {
        (*static_cast<OnMessage*>(data))(nlh);
        return MNL_CB_OK;
      },
      &on_message);
  if (ret < 0) return ErrnoError(errno != 0 ? errno : EPROTO, what);
  return ret == MNL_CB_STOP;
}

absl::StatusOr<Socket> Socket::Open(uint32_t groups) {
  mnl_socket* s = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (s == nullptr) return ErrnoError(errno, "open an rtnetlink socket");
  Socket socket(s, static_cast<uint32_t>(time(nullptr)));
  if (mnl_socket_bind(s, groups, MNL_SOCKET_AUTOPID) < 0)
    return ErrnoError(errno, "bind an rtnetlink socket");
  timeval timeout{};
  timeout.tv_sec = kAnswerTimeout.count();
  if (setsockopt(mnl_socket_get_fd(s), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) < 0)
    return ErrnoError(errno, "set the receive timeout of an rtnetlink socket");
  return socket;
}

absl::Status Socket::Request(Message& request, OnMessage on_message, absl::string_view what) {
  nlmsghdr* nlh = request.nlh();
  nlh->nlmsg_seq = ++seq_;
  if (mnl_socket_sendto(socket_.get(), nlh, nlh->nlmsg_len) < 0) return ErrnoError(errno, what);
  std::vector<char> buf(kReceiveBuffer);
  const uint32_t portid = mnl_socket_get_portid(socket_.get());
  for (int i = 0; i < kMaxDatagrams; ++i) {
    const ssize_t n = mnl_socket_recvfrom(socket_.get(), buf.data(), buf.size());
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return absl::DeadlineExceededError(absl::StrCat(what, ": no answer from the kernel within ",
                                                      kAnswerTimeout.count(), " s"));
    if (n < 0) return ErrnoError(errno, what);
    auto done = RunAnswer(buf.data(), n, nlh->nlmsg_seq, portid, on_message, what);
    if (!done.ok()) return done.status();
    if (*done) return absl::OkStatus();
  }
  return absl::InternalError(absl::StrCat(what, ": no end of answer"));
}

void Socket::Drain() {
  char buf[8192];
  for (int i = 0; i < 64; ++i) {
    const ssize_t n = recv(fd(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && errno != ENOBUFS) break;  // EAGAIN: drained
  }
}

absl::Status Request(Message& request, OnMessage on_message, absl::string_view what) {
  auto socket = Socket::Open();
  if (!socket.ok()) {
    // Named after the operation, with the errno kept for ErrnoOf.
    absl::Status named(socket.status().code(), absl::StrCat(what, ": ", socket.status().message()));
    socket.status().ForEachPayload(
        [&](absl::string_view url, const absl::Cord& payload) { named.SetPayload(url, payload); });
    return named;
  }
  return socket->Request(request, on_message, what);
}

absl::Status Request(Message& request, absl::string_view what) {
  return Request(request, [](const nlmsghdr*) {}, what);
}

}  // namespace xlb::netlink
