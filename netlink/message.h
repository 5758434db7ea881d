// Building one rtnetlink request and reading the attributes of an answer,
// over libmnl. Pure: no socket (socket.h sends and receives).
#ifndef XLB_NETLINK_MESSAGE_H_
#define XLB_NETLINK_MESSAGE_H_

#include <libmnl/libmnl.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "model/address.h"

namespace xlb::netlink {

using MacAddress = std::array<uint8_t, 6>;

// One request: RTM_* `type` with NLM_F_REQUEST | NLM_F_ACK | `flags`, then
// its family header (PutHeader), then attributes. Every request asks for an
// ACK, so that its answer always ends (Socket::Request relies on it).
class Message {
 public:
  Message(uint16_t type, uint16_t flags);
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;

  // The family header (rtmsg, ndmsg, ifaddrmsg, ifinfomsg), zeroed; once,
  // before any attribute.
  template <typename Header>
  Header* PutHeader() {
    return static_cast<Header*>(mnl_nlmsg_put_extra_header(nlh_, sizeof(Header)));
  }
  template <typename Header>
  Header* header() {
    return static_cast<Header*>(mnl_nlmsg_get_payload(nlh_));
  }
  void Put(uint16_t type, const void* data, size_t len) { mnl_attr_put(nlh_, type, len, data); }
  void PutU8(uint16_t type, uint8_t value) { mnl_attr_put_u8(nlh_, type, value); }
  void PutU32(uint16_t type, uint32_t value) { mnl_attr_put_u32(nlh_, type, value); }
  void PutString(uint16_t type, absl::string_view value);  // NUL-terminated
  void PutAddress(uint16_t type, const model::IpAddress& address);  // 4 or 16 bytes

  nlmsghdr* nlh() { return nlh_; }

 private:
  // Requests here are a header and a few short attributes: well under this.
  alignas(nlmsghdr) char buf_[512];
  nlmsghdr* nlh_;
};

// The attributes of one message after its family header of `header_size`
// bytes, by type (of a repeated type, the last one). Accessors check the
// payload's length and answer nullopt (or "") when it is absent or odd.
class Attributes {
 public:
  Attributes(const nlmsghdr* nlh, size_t header_size);
  // Nested attributes: the `len` bytes at `payload` (e.g. an rtnexthop's).
  static Attributes Nested(const void* payload, size_t len);

  bool has(uint16_t type) const { return get(type) != nullptr; }
  std::optional<uint8_t> U8(uint16_t type) const;
  std::optional<uint32_t> U32(uint16_t type) const;
  // An address of `family`: exactly 4 or 16 bytes.
  std::optional<model::IpAddress> Address(uint16_t type, model::Family family) const;
  // An address whose family is told by its length (4 or 16 bytes).
  std::optional<model::IpAddress> AnyAddress(uint16_t type) const;
  std::optional<MacAddress> Mac(uint16_t type) const;  // exactly 6 bytes
  std::string String(uint16_t type) const;              // up to its NUL
  // The raw payload (e.g. RTA_MULTIPATH's rtnexthops); empty when absent.
  absl::string_view Payload(uint16_t type) const;

 private:
  Attributes() = default;
  static int Store(const nlattr* attr, void* table);  // an mnl_attr_cb_t
  const nlattr* get(uint16_t type) const { return type < table_.size() ? table_[type] : nullptr; }
  // Past every RTA_, NDA_, IFA_ and IFLA_ type this code reads.
  std::array<const nlattr*, 128> table_{};
};

// The address family (AF_INET, AF_INET6) of `address`.
uint8_t AfOf(const model::IpAddress& address);

}  // namespace xlb::netlink

#endif  // XLB_NETLINK_MESSAGE_H_
