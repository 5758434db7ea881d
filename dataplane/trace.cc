#include "dataplane/trace.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "dataplane/stats.h"
#include "dataplane/test_run.h"

namespace xlb::dataplane {
namespace {

constexpr size_t kEthernetHeader = 14;

uint16_t Read16(const std::string& s, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(s[at]) << 8) | static_cast<uint8_t>(s[at + 1]));
}

// The destination address and port of the frame (as built: no VLAN tag).
absl::Status ReadDestination(const std::string& frame, bool v6, TraceResult* out) {
  const size_t ip = kEthernetHeader;
  const size_t ip_len = v6 ? 40 : (frame.size() > ip ? (frame[ip] & 0x0f) * 4u : 0);
  if (frame.size() < ip + ip_len + 4 || ip_len < 20)
    return absl::InternalError(absl::StrCat("the traced frame came back short (", frame.size(),
                                            " bytes)"));
  uint32_t words[4] = {};
  std::memcpy(words, frame.data() + ip + (v6 ? 24 : 16), v6 ? 16 : 4);
  out->destination = model::IpAddress::FromWords(v6 ? model::Family::kV6 : model::Family::kV4,
                                                 words);
  out->destination_port = Read16(frame, ip + ip_len + 2);
  return absl::OkStatus();
}

}  // namespace

std::string MacString(const frames::Mac& mac) {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
                         mac[5]);
}

absl::StatusOr<TraceResult> Trace(Program& program, const TraceRequest& request) {
  if (request.client.family() != request.vip.family())
    return absl::InvalidArgumentError(absl::StrCat("client ", request.client.ToString(),
                                                   " and VIP ", request.vip.ToString(),
                                                   " are not of one address family"));
  frames::Frame f;
  f.dst = request.interface_mac;
  f.src = {0x02, 0, 0, 0, 0, 0x01};  // no decision reads it
  f.saddr = request.client;
  f.daddr = request.vip;
  f.proto = static_cast<uint8_t>(request.protocol);
  f.sport = request.client_port;
  f.dport = request.vip_port;
  f.tcp_flags = request.syn ? frames::kSyn : frames::kAck;
  xlb_trace in{};
  in.key = program.trace_key();
  const std::string meta(reinterpret_cast<const char*>(&in), sizeof(in));
  TraceResult out;
  out.frame_in = frames::Build(f);
  auto run = TestRun(program.prog_fd(), out.frame_in, request.ingress_ifindex, 1, meta);
  if (!run.ok()) return run.status();
  out.verdict = run->verdict;
  if (run->meta.size() != sizeof(out.record))
    return absl::InternalError(absl::StrCat("the trace came back with ", run->meta.size(),
                                            " bytes of metadata, not ", sizeof(out.record)));
  std::memcpy(&out.record, run->meta.data(), sizeof(out.record));
  if (!(out.record.flags & XLB_TRACE_F_SEEN))
    return absl::InternalError("the loaded program did not take the frame as a trace");
  for (int i = 0; i < XLB_STAT__COUNT; ++i)
    if (out.record.reasons & (1u << i)) out.reasons.emplace_back(GlobalStatName(i));
  if (out.record.real_id != 0) {
    xlb_real real;
    auto found = program.maps().reals.Lookup(&out.record.real_id, &real);
    if (!found.ok()) return found.status();
    if (*found && real.family != 0) {
      out.real = model::IpAddress::FromWords(static_cast<model::Family>(real.family), real.addr);
      out.real_port = real.port ? ntohs(real.port) : request.vip_port;  // 0: the VIP's
    }
  }
  const std::string& frame = run->packet;
  if (frame.size() < kEthernetHeader)
    return absl::InternalError("the traced frame came back without its Ethernet header");
  std::memcpy(out.dst_mac.data(), frame.data(), 6);
  std::memcpy(out.src_mac.data(), frame.data() + 6, 6);
  if (auto st = ReadDestination(frame, request.vip.family() == model::Family::kV6, &out); !st.ok())
    return st;
  // Wrapped: the outer destination is the real; the port is the VIP's
  // (not rewritten, as in DR), not what follows the outer header.
  if (out.record.flags & XLB_TRACE_F_TUNNEL) out.destination_port = request.vip_port;
  out.frame_out = frame;
  return out;
}

}  // namespace xlb::dataplane
