#include "dataplane/frame_builder.h"

#include <arpa/inet.h>

#include <cstring>

namespace xlb::dataplane::frames {
namespace {

void Put16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v >> 8));
  s.push_back(static_cast<char>(v & 0xff));
}
void Put32(std::string& s, uint32_t v) {
  Put16(s, v >> 16);
  Put16(s, v & 0xffff);
}
void Set16(std::string& s, size_t at, uint16_t v) {
  s[at] = static_cast<char>(v >> 8);
  s[at + 1] = static_cast<char>(v & 0xff);
}

uint32_t SumWords(const std::string& data, uint32_t sum) {
  for (size_t i = 0; i + 1 < data.size(); i += 2)
    sum += (static_cast<uint8_t>(data[i]) << 8) | static_cast<uint8_t>(data[i + 1]);
  if (data.size() % 2) sum += static_cast<uint8_t>(data.back()) << 8;
  return sum;
}

uint32_t PseudoHeaderSum(const model::IpAddress& s, const model::IpAddress& d,
                         uint8_t proto, size_t len) {
  std::string ph(s.bytes());
  ph.append(d.bytes());
  uint32_t sum = SumWords(ph, 0);
  return sum + proto + static_cast<uint32_t>(len);
}

std::string L4(const Frame& f) {
  if (!f.raw_l4.empty()) return f.raw_l4;
  std::string l4;
  if (f.proto == kTcp) {
    Put16(l4, f.sport);
    Put16(l4, f.dport);
    Put32(l4, f.tcp_seq);
    Put32(l4, f.tcp_flags & kAck ? f.tcp_ack : 0);
    l4.push_back(static_cast<char>((5 + f.tcp_options.size() / 4) << 4));
    l4.push_back(static_cast<char>(f.tcp_flags));
    Put16(l4, 65535);               // window
    Put16(l4, 0);                   // checksum, below
    Put16(l4, 0);                   // urgent
    l4 += f.tcp_options;
    l4 += f.l4_payload;
    Set16(l4, 16, InetChecksum(l4, PseudoHeaderSum(f.saddr, f.daddr, kTcp, l4.size())));
  } else if (f.proto == kUdp) {
    Put16(l4, f.sport);
    Put16(l4, f.dport);
    Put16(l4, static_cast<uint16_t>(8 + f.l4_payload.size()));
    Put16(l4, 0);
    l4 += f.l4_payload;
    uint16_t c = InetChecksum(l4, PseudoHeaderSum(f.saddr, f.daddr, kUdp, l4.size()));
    Set16(l4, 6, f.udp_no_checksum ? 0 : c == 0 ? 0xffff : c);
  } else {
    l4 = f.l4_payload;
  }
  return l4;
}

}  // namespace

uint16_t InetChecksum(const std::string& data, uint32_t seed) {
  uint32_t sum = SumWords(data, seed);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

std::string IpPart(const Frame& f) {
  std::string l4 = L4(f);
  std::string ip;
  if (f.saddr.is_v4()) {
    size_t hlen = 20 + f.ipv4_options.size();
    ip.push_back(static_cast<char>(0x40 | (hlen / 4)));
    ip.push_back(static_cast<char>(f.tos));
    Put16(ip, static_cast<uint16_t>(hlen + l4.size()));
    Put16(ip, f.ipv4_id);
    Put16(ip, f.ipv4_frag);
    ip.push_back(static_cast<char>(f.ttl));
    ip.push_back(static_cast<char>(f.proto));
    Put16(ip, 0);
    ip.append(f.saddr.bytes());
    ip.append(f.daddr.bytes());
    ip += f.ipv4_options;
    Set16(ip, 10, InetChecksum(ip));
    return ip + l4;
  }
  std::string ext;
  uint8_t next = f.proto;
  if (f.ipv6_fragment_header) {  // first fragment, more to come
    ext.push_back(static_cast<char>(next));
    ext.push_back(0);
    Put16(ext, 0x0001);
    Put32(ext, 0xabcd);
    next = 44;
  }
  if (f.ipv6_hop_by_hop) {  // PadN only
    std::string hbh = {static_cast<char>(next), 0, 1, 4, 0, 0, 0, 0};
    ext = hbh + ext;
    next = 0;
  }
  Put32(ip, 0x60000000 | (uint32_t{f.tos} << 20));
  Put16(ip, static_cast<uint16_t>(ext.size() + l4.size()));
  ip.push_back(static_cast<char>(next));
  ip.push_back(static_cast<char>(f.ttl));
  ip.append(f.saddr.bytes());
  ip.append(f.daddr.bytes());
  return ip + ext + l4;
}

std::string Build(const Frame& f) {
  std::string out(reinterpret_cast<const char*>(f.dst.data()), 6);
  out.append(reinterpret_cast<const char*>(f.src.data()), 6);
  if (f.vlan) {
    Put16(out, 0x8100);
    Put16(out, *f.vlan);
    if (f.second_vlan) {
      Put16(out, 0x8100);
      Put16(out, 7);
    }
  }
  Put16(out, f.saddr.is_v4() ? 0x0800 : 0x86dd);
  return out + IpPart(f);
}

std::string IcmpPmtuError(const std::string& quoted, bool v6, uint16_t mtu,
                          const model::IpAddress& src, const model::IpAddress& dst) {
  std::string icmp;
  icmp.push_back(v6 ? 2 : 3);  // packet too big / destination unreachable
  icmp.push_back(v6 ? 0 : 4);  // - / fragmentation needed
  Put16(icmp, 0);
  if (v6) {
    Put32(icmp, mtu);
  } else {
    Put16(icmp, 0);
    Put16(icmp, mtu);
  }
  icmp += quoted.substr(0, v6 ? 1232 : 548);
  uint32_t seed = v6 ? PseudoHeaderSum(src, dst, kIcmp6, icmp.size()) : 0;
  Set16(icmp, 2, InetChecksum(icmp, seed));
  return icmp;
}

std::string WithMacs(std::string frame, const Mac& dst, const Mac& src) {
  std::memcpy(frame.data(), dst.data(), 6);
  std::memcpy(frame.data() + 6, src.data(), 6);
  return frame;
}

}  // namespace xlb::dataplane::frames
