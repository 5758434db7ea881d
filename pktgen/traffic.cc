#include "pktgen/traffic.h"

#include <arpa/inet.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace xlb::pktgen {

using model::IpAddress;

namespace {

constexpr uint32_t kEthernet = 14, kIpv4 = 20, kIpv6 = 40, kTcp = 20, kUdp = 8;
constexpr uint32_t kMinFrame = 60;

// The word of an address that a range varies (network order): the only
// word of an IPv4 address, the last of an IPv6 one.
size_t LowWord(const model::IpAddress& a) { return a.is_v4() ? 0 : 3; }
uint32_t Low(const model::IpAddress& a) { return ntohl(a.words()[LowWord(a)]); }

model::IpAddress WithLow(const model::IpAddress& a, uint32_t low) {
  uint32_t words[4];
  a.CopyTo(words);
  words[LowWord(a)] = htonl(low);
  return model::IpAddress::FromWords(a.family(), words);
}

// The words a range does not vary are equal (none for IPv4).
bool SameUpperWords(const model::IpAddress& a, const model::IpAddress& b) {
  if (a.family() != b.family()) return false;
  return a.is_v4() || std::equal(a.words().begin(), a.words().begin() + 3, b.words().begin());
}

}  // namespace

absl::StatusOr<Mac> ParseMac(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, absl::ByAnyChar(":-"));
  Mac mac{};
  bool ok = parts.size() == 6;
  for (size_t i = 0; ok && i < 6; ++i) {
    uint32_t byte = 0;
    ok = parts[i].size() >= 1 && parts[i].size() <= 2 &&
         absl::SimpleHexAtoi(parts[i], &byte) && byte <= 0xff;
    mac[i] = static_cast<uint8_t>(byte);
  }
  if (!ok)
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not a MAC address (expected six hex bytes, 02:00:00:00:00:01)"));
  return mac;
}

std::string FormatMac(const Mac& m) {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

absl::StatusOr<AddressRange> ParseAddressRange(absl::string_view text) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "source addresses '", text, "': ", why, " (expected ADDR, FIRST-LAST or ADDR/PREFIX)"));
  };
  AddressRange r;
  if (auto dash = text.find('-'); dash != absl::string_view::npos) {
    auto first = model::IpAddress::Parse(text.substr(0, dash));
    auto last = model::IpAddress::Parse(text.substr(dash + 1));
    if (!first.ok()) return bad(first.status().message());
    if (!last.ok()) return bad(last.status().message());
    if (first->family() != last->family()) return bad("the two ends are of different families");
    if (!SameUpperWords(*first, *last) || Low(*last) < Low(*first))
      return bad(first->is_v4() ? "the last address is below the first"
                                : "the last address is below the first or differs in more than "
                                  "its last 32 bits");
    uint64_t count = uint64_t{Low(*last)} - Low(*first) + 1;
    if (count > kMaxAddresses) return bad(absl::StrCat("more than ", kMaxAddresses, " addresses"));
    r.first = *first;
    r.count = static_cast<uint32_t>(count);
    return r;
  }
  if (auto slash = text.find('/'); slash != absl::string_view::npos) {
    auto addr = model::IpAddress::Parse(text.substr(0, slash));
    if (!addr.ok()) return bad(addr.status().message());
    int prefix = -1;
    if (!absl::SimpleAtoi(text.substr(slash + 1), &prefix) || prefix < 0 ||
        prefix > addr->max_prefix_len())
      return bad(absl::StrCat("prefix length '", text.substr(slash + 1), "' is not 0..",
                              addr->max_prefix_len()));
    int host_bits = addr->max_prefix_len() - prefix;
    if (host_bits > 24) return bad(absl::StrCat("more than ", kMaxAddresses, " addresses"));
    r.first = addr->Masked(prefix);
    r.count = 1u << host_bits;
    return r;
  }
  auto addr = model::IpAddress::Parse(text);
  if (!addr.ok()) return bad(addr.status().message());
  r.first = *addr;
  return r;
}

absl::StatusOr<PortRange> ParsePortRange(absl::string_view text) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("source ports '", text, "': expected PORT or FIRST-LAST, ports 1..65535"));
  };
  absl::string_view first_text = text, last_text = text;
  if (auto dash = text.find('-'); dash != absl::string_view::npos) {
    first_text = text.substr(0, dash);
    last_text = text.substr(dash + 1);
  }
  uint32_t first = 0, last = 0;
  if (!absl::SimpleAtoi(first_text, &first) || !absl::SimpleAtoi(last_text, &last) || first < 1 ||
      last > 65535 || last < first)
    return bad();
  return PortRange{static_cast<uint16_t>(first), last - first + 1};
}

uint32_t HeadersSize(const Traffic& t) {
  return kEthernet + (t.dst.vip.is_v4() ? kIpv4 : kIpv6) +
         (t.dst.protocol == model::Protocol::kTcp ? kTcp : kUdp);
}

uint32_t FrameSize(const Traffic& t) {
  return t.frame_size ? t.frame_size : std::max(HeadersSize(t), kMinFrame);
}

absl::Status Validate(const Traffic& t) {
  if (t.src.first.family() != t.dst.vip.family())
    return absl::InvalidArgumentError(
        absl::StrCat("source addresses ", t.src.first.ToString(), " and destination ",
                     t.dst.ToString(), " are of different families"));
  if (t.dst.port == 0)
    return absl::InvalidArgumentError(
        absl::StrCat("destination ", t.dst.ToString(), ": a port is needed, not '*'"));
  if (t.src.count < 1 || t.src.count > kMaxAddresses ||
      uint64_t{Low(t.src.first)} + t.src.count - 1 > 0xffffffffu)
    return absl::InvalidArgumentError("source addresses: the range leaves the last 32 bits");
  if (t.sport.count < 1 || t.sport.first < 1 || t.sport.first + t.sport.count - 1 > 65535)
    return absl::InvalidArgumentError("source ports: outside 1..65535");
  if (t.frame_size != 0 && (t.frame_size < HeadersSize(t) || t.frame_size > kMaxFrameSize))
    return absl::InvalidArgumentError(absl::StrCat(
        "frame size ", t.frame_size, ": must be ", HeadersSize(t), "..", kMaxFrameSize,
        " bytes (the headers of ", t.dst.ToString(), " take ", HeadersSize(t), ")"));
  return absl::OkStatus();
}

uint64_t FlowCount(const Traffic& t) { return uint64_t{t.src.count} * t.sport.count; }

xlb_pktgen_flows FlowRanges(const Traffic& t) {
  xlb_pktgen_flows f = {};
  f.addr_first = Low(t.src.first);
  f.addr_count = t.src.count;
  f.port_first = t.sport.first;
  f.port_count = t.sport.count;
  f.udp = t.dst.protocol == model::Protocol::kUdp;
  return f;
}

model::IpAddress FlowSource(const Traffic& t, uint64_t index) {
  const xlb_pktgen_flows f = FlowRanges(t);
  return WithLow(t.src.first, xlb_pktgen_flow_addr(&f, index));
}

uint16_t FlowSourcePort(const Traffic& t, uint64_t index) {
  const xlb_pktgen_flows f = FlowRanges(t);
  return xlb_pktgen_flow_port(&f, index);
}

std::string Describe(const Traffic& t) {
  const model::IpAddress last = WithLow(t.src.first, Low(t.src.first) + t.src.count - 1);
  std::string src = t.src.count == 1 ? t.src.first.ToString()
                                     : absl::StrCat(t.src.first.ToString(), "-", last.ToString());
  std::string ports = t.sport.count == 1
                          ? absl::StrCat(t.sport.first)
                          : absl::StrCat(t.sport.first, "-", t.sport.first + t.sport.count - 1);
  return absl::StrCat(t.dst.protocol == model::Protocol::kTcp ? "TCP SYN" : "UDP", " from ",
                      src, " ports ", ports, " (", FlowCount(t), " flows) to ", t.dst.ToString(),
                      ", ", FrameSize(t), "-byte frames, ", FormatMac(t.src_mac), " -> ",
                      FormatMac(t.dst_mac));
}

}  // namespace xlb::pktgen
