#include "pktgen/frame.h"

#include <cstring>

namespace xlb::pktgen {

namespace {

constexpr size_t kEth = 14;
constexpr uint8_t kProtoTcp = 6, kProtoUdp = 17;
constexpr uint8_t kTcpSyn = 0x02;
// Any values do; these are the ones tests/packet's builder uses, so the
// unit test compares whole frames with it.
constexpr uint32_t kTcpSeq = 1000;
constexpr uint16_t kIpv4Id = 0x1234;

void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

void Put32(uint8_t* p, uint32_t v) {
  Put16(p, static_cast<uint16_t>(v >> 16));
  Put16(p + 2, static_cast<uint16_t>(v));
}

// One's-complement sum of big-endian 16-bit words (RFC 1071), not folded.
uint32_t Sum16(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += uint32_t{p[i]} << 8 | p[i + 1];
  if (n & 1) sum += uint32_t{p[n - 1]} << 8;
  return sum;
}

uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

struct Layout {
  size_t l3 = kEth, l4 = 0, l4_len = 0, l4_csum = 0, addr_len = 0, saddr = 0, daddr = 0;
  bool v4 = true, tcp = true;
};

Layout LayoutOf(const Traffic& t) {
  Layout l;
  l.v4 = t.dst.vip.is_v4();
  l.tcp = t.dst.protocol == model::Protocol::kTcp;
  l.addr_len = l.v4 ? 4 : 16;
  l.l4 = l.l3 + (l.v4 ? 20 : 40);
  l.saddr = l.l3 + (l.v4 ? 12 : 8);
  l.daddr = l.saddr + l.addr_len;
  // A SYN carries no data (the frame is padded); a datagram fills the frame.
  l.l4_len = l.tcp ? 20 : FrameSize(t) - l.l4;
  l.l4_csum = l.l4 + (l.tcp ? 16 : 6);
  return l;
}

}  // namespace

void WriteFrame(const Traffic& t, uint64_t index, uint8_t* out) {
  const Layout l = LayoutOf(t);
  std::memset(out, 0, FrameSize(t));
  std::memcpy(out, t.dst_mac.data(), 6);
  std::memcpy(out + 6, t.src_mac.data(), 6);
  Put16(out + 12, l.v4 ? 0x0800 : 0x86dd);

  uint8_t* ip = out + l.l3;
  const uint8_t proto = l.tcp ? kProtoTcp : kProtoUdp;
  const std::string src = FlowSource(t, index).bytes(), dst = t.dst.vip.bytes();
  std::memcpy(out + l.saddr, src.data(), l.addr_len);
  std::memcpy(out + l.daddr, dst.data(), l.addr_len);
  if (l.v4) {
    ip[0] = 0x45;
    Put16(ip + 2, static_cast<uint16_t>(20 + l.l4_len));
    Put16(ip + 4, kIpv4Id);
    Put16(ip + 6, 0x4000);  // don't fragment
    ip[8] = 64;
    ip[9] = proto;
    Put16(ip + 10, Fold(Sum16(ip, 20)));
  } else {
    Put32(ip, 0x60000000);
    Put16(ip + 4, static_cast<uint16_t>(l.l4_len));
    ip[6] = proto;
    ip[7] = 64;
  }

  uint8_t* l4 = out + l.l4;
  Put16(l4, FlowSourcePort(t, index));
  Put16(l4 + 2, t.dst.port);
  if (l.tcp) {
    Put32(l4 + 4, kTcpSeq);
    l4[12] = 5 << 4;  // data offset: 5 words
    l4[13] = kTcpSyn;
    Put16(l4 + 14, 65535);  // window
  } else {
    Put16(l4 + 4, static_cast<uint16_t>(l.l4_len));
  }
  // Pseudo-header: addresses, protocol, L4 length.
  uint32_t sum = Sum16(out + l.saddr, 2 * l.addr_len);
  sum += proto;
  sum += static_cast<uint32_t>(l.l4_len);
  uint16_t check = Fold(Sum16(l4, l.l4_len, sum));
  if (!l.tcp && check == 0) check = 0xffff;  // 0 would mean "no checksum"
  Put16(out + l.l4_csum, check);
}

std::string BuildFrame(const Traffic& t, uint64_t index) {
  std::string frame(FrameSize(t), '\0');
  WriteFrame(t, index, reinterpret_cast<uint8_t*>(frame.data()));
  return frame;
}

xlb_pktgen_flows BpfFlows(const Traffic& t) {
  const Layout l = LayoutOf(t);
  xlb_pktgen_flows f = FlowRanges(t);
  f.saddr_off = static_cast<uint16_t>(l.saddr + l.addr_len - 4);
  f.sport_off = static_cast<uint16_t>(l.l4);
  f.l4_csum_off = static_cast<uint16_t>(l.l4_csum);
  f.ip_csum_off = l.v4 ? static_cast<uint16_t>(l.l3 + 10) : 0;
  f.header_len = static_cast<uint16_t>(l.l4 + (l.tcp ? 20 : 8));
  return f;
}

}  // namespace xlb::pktgen
