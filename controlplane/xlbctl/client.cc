#include "controlplane/xlbctl/client.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace xlb::xlbctl {

absl::StatusOr<Answer> Call(const std::string& socket_path, const std::string& method,
                            const std::string& target, const std::string& body) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path))
    return absl::InvalidArgumentError(absl::StrCat("socket path too long: ", socket_path));
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  absl::Cleanup close_fd = [fd] { close(fd); };
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    return absl::UnavailableError(absl::StrCat(
        "cannot reach xlbd at ", socket_path, ": ", strerror(err),
        err == ENOENT || err == ECONNREFUSED ? " (is xlbd running? --socket PATH)" : "",
        err == EACCES ? " (the API is root-only unless api.group allows you)" : ""));
  }
  std::string request =
      absl::StrCat(method, " ", target, " HTTP/1.1\r\nHost: xlbd\r\nConnection: close\r\n",
                   body.empty() ? "" : "Content-Type: application/json\r\n",
                   "Content-Length: ", body.size(), "\r\n\r\n", body);
  for (size_t sent = 0; sent < request.size();) {
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0) return absl::ErrnoToStatus(errno, "send to xlbd");
    sent += n;
  }
  std::string response;
  char buf[16384];
  for (int guard = 0; guard < 1 << 16; ++guard) {  // 1 GiB at most
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))  // SO_RCVTIMEO: a hung xlbd
      return absl::UnavailableError(
          absl::StrCat("xlbd at ", socket_path, " did not answer within ", tv.tv_sec, " s"));
    if (n < 0) return absl::ErrnoToStatus(errno, "read from xlbd");
    if (n == 0) break;
    response.append(buf, n);
  }
  size_t head_end = response.find("\r\n\r\n");
  int status = 0;
  if (response.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos ||
      !absl::SimpleAtoi(response.substr(9, 3), &status))
    return absl::InternalError("xlbd sent a malformed answer");
  return Answer{status, response.substr(head_end + 4)};
}

}  // namespace xlb::xlbctl
