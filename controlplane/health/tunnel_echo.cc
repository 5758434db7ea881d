#include "controlplane/health/tunnel_echo.h"

#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include <cstring>
#include <utility>

#include "model/inet_checksum.h"

namespace xlb::health {
namespace {

using model::Family;
using model::IpAddress;

constexpr uint8_t kIcmp = 1, kIcmp6 = 58;
constexpr uint8_t kEchoRequest4 = 8, kEchoReply4 = 0, kEchoRequest6 = 128, kEchoReply6 = 129;
constexpr size_t kIcmpHeader = 8, kIpv6Header = 40;

uint8_t At(std::string_view s, size_t i) { return static_cast<uint8_t>(s[i]); }
uint16_t Be16(std::string_view s, size_t i) {
  return static_cast<uint16_t>(At(s, i) << 8 | At(s, i + 1));
}
void Put16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v >> 8));
  s.push_back(static_cast<char>(v & 0xff));
}
void Set16(std::string& s, size_t i, uint16_t v) {
  s[i] = static_cast<char>(v >> 8);
  s[i + 1] = static_cast<char>(v & 0xff);
}

IpAddress AddressAt(std::string_view s, size_t i, Family family) {
  uint32_t words[4] = {};
  std::memcpy(words, s.data() + i, family == Family::kV4 ? 4 : 16);
  return IpAddress::FromWords(family, words);
}

}  // namespace

std::string BuildEchoRequest(const EchoPacket& r) {
  const bool v4 = r.source.is_v4();
  std::string icmp;
  icmp.push_back(static_cast<char>(v4 ? kEchoRequest4 : kEchoRequest6));
  icmp.push_back(0);  // code
  Put16(icmp, 0);     // checksum, below
  Put16(icmp, r.id);
  Put16(icmp, r.sequence);
  icmp += r.payload;
  const uint32_t seed =
      v4 ? 0 : model::PseudoHeaderSum(r.source, r.destination, kIcmp6, icmp.size());
  Set16(icmp, 2, model::InetChecksum(icmp, seed));

  std::string ip;
  if (v4) {
    ip.push_back(0x45);
    ip.push_back(0);  // TOS
    Put16(ip, static_cast<uint16_t>(20 + icmp.size()));
    Put16(ip, 0);       // id: an atomic datagram (RFC 6864)
    Put16(ip, 0x4000);  // DF
    ip.push_back(64);
    ip.push_back(static_cast<char>(kIcmp));
    Put16(ip, 0);  // checksum, below
    ip += r.source.bytes();
    ip += r.destination.bytes();
    Set16(ip, 10, model::InetChecksum(ip));
  } else {
    ip.push_back(0x60);
    ip.append(3, '\0');  // traffic class, flow label
    Put16(ip, static_cast<uint16_t>(icmp.size()));
    ip.push_back(static_cast<char>(kIcmp6));
    ip.push_back(64);
    ip += r.source.bytes();
    ip += r.destination.bytes();
  }
  return ip + icmp;
}

std::optional<EchoPacket> ParseEchoReply(std::string_view p) {
  if (p.empty()) return std::nullopt;
  EchoPacket e;
  std::string_view icmp;
  if (At(p, 0) >> 4 == 4) {
    if (p.size() < 20) return std::nullopt;
    const size_t ihl = (At(p, 0) & 0xf) * 4u;
    const size_t total = Be16(p, 2);
    if (ihl < 20 || total < ihl || total > p.size()) return std::nullopt;
    if (model::InetChecksum(p.substr(0, ihl)) != 0) return std::nullopt;
    if (Be16(p, 6) & 0x3fff) return std::nullopt;  // MF or an offset: a fragment
    if (At(p, 9) != kIcmp) return std::nullopt;
    e.source = AddressAt(p, 12, Family::kV4);
    e.destination = AddressAt(p, 16, Family::kV4);
    icmp = p.substr(ihl, total - ihl);
    if (icmp.size() < kIcmpHeader || At(icmp, 0) != kEchoReply4 || At(icmp, 1) != 0)
      return std::nullopt;
    if (model::InetChecksum(icmp) != 0) return std::nullopt;
  } else if (At(p, 0) >> 4 == 6) {
    if (p.size() < kIpv6Header) return std::nullopt;
    const size_t payload = Be16(p, 4);
    if (At(p, 6) != kIcmp6 || payload > p.size() - kIpv6Header) return std::nullopt;
    e.source = AddressAt(p, 8, Family::kV6);
    e.destination = AddressAt(p, 24, Family::kV6);
    icmp = p.substr(kIpv6Header, payload);
    if (icmp.size() < kIcmpHeader || At(icmp, 0) != kEchoReply6 || At(icmp, 1) != 0)
      return std::nullopt;
    if (model::InetChecksum(icmp, model::PseudoHeaderSum(e.source, e.destination, kIcmp6,
                                                         icmp.size())) != 0)
      return std::nullopt;
  } else {
    return std::nullopt;
  }
  e.id = Be16(icmp, 4);
  e.sequence = Be16(icmp, 6);
  e.payload = std::string(icmp.substr(kIcmpHeader));
  return e;
}

EchoPacket ReplyTo(const EchoPacket& request) {
  EchoPacket reply = request;
  std::swap(reply.source, reply.destination);
  return reply;
}

std::vector<sock_filter> EchoReplyFilter(uint16_t id) {
  // Offsets are from the IP header (SOCK_DGRAM). Jump targets are written as
  // absolute instruction numbers and made relative below.
  enum : uint8_t { kV4 = 5, kV6 = 14, kDrop = 20, kKeep = 21 };
  constexpr uint32_t kSnap = 512;
  struct Insn {
    uint16_t code;
    uint32_t k;
    uint8_t on_true = 0, on_false = 0;  // jumps: absolute targets; 0 = the next one
  };
  const Insn program[] = {
      /* 0 */ {BPF_LD | BPF_B | BPF_ABS, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_PKTTYPE)},
      /* 1 */ {BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, kDrop, 0},
      /* 2 */ {BPF_LD | BPF_H | BPF_ABS, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_PROTOCOL)},
      /* 3 */ {BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, kV4, 0},
      /* 4 */ {BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, kV6, kDrop},
      // IPv4: ICMP, not a fragment, echo reply (type and code 0), our id.
      /* 5 */ {BPF_LD | BPF_B | BPF_ABS, 9},
      /* 6 */ {BPF_JMP | BPF_JEQ | BPF_K, kIcmp, 0, kDrop},
      /* 7 */ {BPF_LD | BPF_H | BPF_ABS, 6},
      /* 8 */ {BPF_JMP | BPF_JSET | BPF_K, 0x3fff, kDrop, 0},
      /* 9 */ {BPF_LDX | BPF_B | BPF_MSH, 0},  // X = the IPv4 header's length
      /* 10 */ {BPF_LD | BPF_H | BPF_IND, 0},
      /* 11 */ {BPF_JMP | BPF_JEQ | BPF_K, kEchoReply4 << 8, 0, kDrop},
      /* 12 */ {BPF_LD | BPF_H | BPF_IND, 4},
      /* 13 */ {BPF_JMP | BPF_JEQ | BPF_K, id, kKeep, kDrop},
      // IPv6: ICMPv6 right after the fixed header, echo reply, our id.
      /* 14 */ {BPF_LD | BPF_B | BPF_ABS, 6},
      /* 15 */ {BPF_JMP | BPF_JEQ | BPF_K, kIcmp6, 0, kDrop},
      /* 16 */ {BPF_LD | BPF_H | BPF_ABS, kIpv6Header},
      /* 17 */ {BPF_JMP | BPF_JEQ | BPF_K, kEchoReply6 << 8, 0, kDrop},
      /* 18 */ {BPF_LD | BPF_H | BPF_ABS, kIpv6Header + 4},
      /* 19 */ {BPF_JMP | BPF_JEQ | BPF_K, id, kKeep, kDrop},
      /* 20 */ {BPF_RET | BPF_K, 0},
      /* 21 */ {BPF_RET | BPF_K, kSnap},
  };
  std::vector<sock_filter> out;
  for (size_t i = 0; i < std::size(program); ++i) {
    const Insn& in = program[i];
    auto relative = [&](uint8_t target) {
      return static_cast<uint8_t>(target == 0 ? 0 : target - i - 1);
    };
    out.push_back(sock_filter{in.code, relative(in.on_true), relative(in.on_false), in.k});
  }
  return out;
}

}  // namespace xlb::health
