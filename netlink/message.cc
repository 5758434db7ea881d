#include "netlink/message.h"

#include <sys/socket.h>

#include <cstring>

namespace xlb::netlink {

Message::Message(uint16_t type, uint16_t flags) {
  nlh_ = mnl_nlmsg_put_header(buf_);
  nlh_->nlmsg_type = type;
  nlh_->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
}

void Message::PutString(uint16_t type, absl::string_view value) {
  const std::string s(value);
  mnl_attr_put_strz(nlh_, type, s.c_str());
}

void Message::PutAddress(uint16_t type, const model::IpAddress& address) {
  const std::string bytes = address.bytes();
  Put(type, bytes.data(), bytes.size());
}

int Attributes::Store(const nlattr* attr, void* data) {
  auto* table = static_cast<decltype(table_)*>(data);
  const uint16_t type = mnl_attr_get_type(attr);
  if (type < table->size()) (*table)[type] = attr;
  return MNL_CB_OK;
}

Attributes::Attributes(const nlmsghdr* nlh, size_t header_size) {
  mnl_attr_parse(nlh, header_size, &Attributes::Store, &table_);
}

Attributes Attributes::Nested(const void* payload, size_t len) {
  Attributes attrs;
  mnl_attr_parse_payload(payload, len, &Attributes::Store, &attrs.table_);
  return attrs;
}

absl::string_view Attributes::Payload(uint16_t type) const {
  const nlattr* a = get(type);
  if (a == nullptr) return {};
  return {static_cast<const char*>(mnl_attr_get_payload(a)), mnl_attr_get_payload_len(a)};
}

std::optional<uint8_t> Attributes::U8(uint16_t type) const {
  const nlattr* a = get(type);
  if (a == nullptr || mnl_attr_get_payload_len(a) < 1) return std::nullopt;
  return mnl_attr_get_u8(a);
}

std::optional<uint32_t> Attributes::U32(uint16_t type) const {
  const nlattr* a = get(type);
  if (a == nullptr || mnl_attr_get_payload_len(a) < 4) return std::nullopt;
  return mnl_attr_get_u32(a);
}

std::optional<model::IpAddress> Attributes::Address(uint16_t type, model::Family family) const {
  const nlattr* a = get(type);
  const size_t len = family == model::Family::kV4 ? 4 : 16;
  if (a == nullptr || mnl_attr_get_payload_len(a) != len) return std::nullopt;
  uint32_t words[4] = {};
  std::memcpy(words, mnl_attr_get_payload(a), len);
  return model::IpAddress::FromWords(family, words);
}

std::optional<model::IpAddress> Attributes::AnyAddress(uint16_t type) const {
  const nlattr* a = get(type);
  if (a == nullptr) return std::nullopt;
  switch (mnl_attr_get_payload_len(a)) {
    case 4: return Address(type, model::Family::kV4);
    case 16: return Address(type, model::Family::kV6);
  }
  return std::nullopt;
}

std::optional<MacAddress> Attributes::Mac(uint16_t type) const {
  const nlattr* a = get(type);
  if (a == nullptr || mnl_attr_get_payload_len(a) != 6) return std::nullopt;
  MacAddress mac;
  std::memcpy(mac.data(), mnl_attr_get_payload(a), 6);
  return mac;
}

std::string Attributes::String(uint16_t type) const {
  const nlattr* a = get(type);
  if (a == nullptr) return "";
  const char* s = static_cast<const char*>(mnl_attr_get_payload(a));
  return std::string(s, strnlen(s, mnl_attr_get_payload_len(a)));
}

uint8_t AfOf(const model::IpAddress& address) { return address.is_v4() ? AF_INET : AF_INET6; }

}  // namespace xlb::netlink
