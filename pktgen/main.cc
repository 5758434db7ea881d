// xlb-pktgen: sends TCP SYNs or UDP datagrams toward a VIP from many flows,
// bounded by count and time, and prints what it sent; `xlb-pktgen sink`
// counts what arrives at a real server. See README.md, "xlb-pktgen".
#include <gflags/gflags.h>
#include <glog/logging.h>
#include <net/if.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "netlink/links.h"
#include "pktgen/destination_policy.h"
#include "pktgen/engine.h"
#include "pktgen/engine_dpdk.h"
#include "pktgen/engine_xdp.h"
#include "pktgen/sink.h"
#include "pktgen/stop_signals.h"
#include "model/version.h"
#include "pktgen/traffic.h"
#include "nlohmann/json.hpp"

DEFINE_string(engine, "xdp", "xdp (BPF_PROG_RUN live frames out of --interface) or dpdk");
DEFINE_string(interface, "",
              "xdp engine: the interface to send out of; sink: the interfaces to count on (IF,IF...)");
DEFINE_string(dst, "", "destination VIP:PORT[/tcp|udp], [V6VIP]:PORT for IPv6; tcp sends SYNs");
DEFINE_string(src, "", "source addresses: ADDR, FIRST-LAST or ADDR/PREFIX (one flow per address and port)");
DEFINE_string(sport, "1024-65535", "source ports: PORT or FIRST-LAST");
DEFINE_string(dst_mac, "", "destination MAC: the director's interface the frames arrive on");
DEFINE_string(src_mac, "", "source MAC (default: the interface's, or the DPDK port's)");
DEFINE_uint32(size, 0, "frame bytes without FCS (default: the headers, at least 60)");
DEFINE_uint64(count, 1000000, "send at most this many frames (1..1e10)");
DEFINE_double(duration, 10, "send for at most this many seconds (max 3600); sink: count this long");
DEFINE_uint64(rate, 0, "frames per second (0: as fast as the engine goes)");
DEFINE_uint32(batch, 64, "xdp engine: frames per kernel batch (1..256)");
DEFINE_uint32(port, 0, "dpdk engine: the port id");
DEFINE_uint32(burst, 32, "dpdk engine: frames per TX burst (1..512)");
DEFINE_string(allow_dst, "",
              "destinations allowed besides 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and "
              "2001:db8::/32: ADDR[/PREFIX],...");
DEFINE_bool(allow_any_destination, false, "allow any destination address");
DEFINE_bool(json, false, "print the result as one JSON object");
DEFINE_double(warmup, 0, "sink: seconds attached before counting starts");
DEFINE_uint64(until_count, 0, "sink: stop once this many frames arrived (0: run --duration)");
DEFINE_bool(pass, false, "sink: pass frames up to the kernel instead of dropping them");

namespace xlb::pktgen {
namespace {

constexpr char kUsage[] = R"(sends TCP SYNs or UDP datagrams toward a VIP, or counts what arrives.

  xlb-pktgen --dst VIP:PORT[/tcp|udp] --src ADDRS --dst-mac MAC --interface IF [OPTIONS]
  xlb-pktgen --engine dpdk --dst ... --src ... --dst-mac ... [--port N] -- EAL-ARGS
  xlb-pktgen sink --interface IF[,IF...] [--duration S] [--warmup S] [--until-count N] [--pass]

Sending stops at --count frames or after --duration seconds, whichever comes
first (defaults 1000000 and 10 s), or on SIGINT/SIGTERM. Destinations outside
the documentation ranges need --allow-dst or --allow-any-destination.
Example (DPDK on a Linux interface):
  xlb-pktgen --engine dpdk --dst 192.0.2.10:80/udp --src 198.51.100.0/24 \
    --dst-mac 02:00:00:00:00:01 -- --no-huge -m 512 --no-pci --vdev net_af_packet0,iface=eth0)";

constexpr int kBadArguments = 2, kFailed = 1;

int Fail(int code, const absl::Status& status) {
  std::cerr << "xlb-pktgen: " << status.message() << "\n";
  return code;
}

// A bad-arguments error when the status says the input was wrong.
int FailFor(const absl::Status& status) {
  const bool bad_input = absl::IsInvalidArgument(status) || absl::IsNotFound(status) ||
                         absl::IsPermissionDenied(status);
  return Fail(bad_input ? kBadArguments : kFailed, status);
}

absl::StatusOr<Traffic> TrafficFromFlags() {
  if (FLAGS_dst.empty()) return absl::InvalidArgumentError("--dst VIP:PORT[/tcp|udp] is needed");
  if (FLAGS_src.empty()) return absl::InvalidArgumentError("--src ADDRS is needed");
  if (FLAGS_dst_mac.empty())
    return absl::InvalidArgumentError(
        "--dst-mac is needed: the MAC of the director's interface the frames arrive on");
  Traffic t;
  auto dst = model::ParseServiceKey(FLAGS_dst);
  if (!dst.ok()) return absl::InvalidArgumentError(absl::StrCat("--dst: ", dst.status().message()));
  t.dst = *dst;
  auto src = ParseAddressRange(FLAGS_src);
  if (!src.ok()) return absl::InvalidArgumentError(absl::StrCat("--src: ", src.status().message()));
  t.src = *src;
  auto sport = ParsePortRange(FLAGS_sport);
  if (!sport.ok())
    return absl::InvalidArgumentError(absl::StrCat("--sport: ", sport.status().message()));
  t.sport = *sport;
  auto dst_mac = ParseMac(FLAGS_dst_mac);
  if (!dst_mac.ok())
    return absl::InvalidArgumentError(absl::StrCat("--dst-mac: ", dst_mac.status().message()));
  t.dst_mac = *dst_mac;
  if (!FLAGS_src_mac.empty()) {
    auto src_mac = ParseMac(FLAGS_src_mac);
    if (!src_mac.ok())
      return absl::InvalidArgumentError(absl::StrCat("--src-mac: ", src_mac.status().message()));
    t.src_mac = *src_mac;
  }
  t.frame_size = FLAGS_size;
  if (auto st = Validate(t); !st.ok()) return st;
  auto policy = DestinationPolicy::Create(FLAGS_allow_dst, FLAGS_allow_any_destination);
  if (!policy.ok()) return policy.status();
  if (auto st = policy->Check(t.dst.vip); !st.ok()) return st;
  return t;
}

void PrintSent(const std::string& engine, const SendResult& r) {
  if (FLAGS_json) {
    nlohmann::json j = {{"engine", engine},   {"sent", r.sent},
                        {"seconds", r.seconds}, {"pps", r.pps()},
                        {"interrupted", r.interrupted}};
    std::cout << j.dump() << std::endl;
    return;
  }
  std::cout << absl::StrFormat("sent %d frames in %.3f s: %.0f pps (%s engine)%s\n", r.sent,
                               r.seconds, r.pps(), engine,
                               r.interrupted ? ", interrupted" : "");
}

int Send(const std::vector<std::string>& eal_args) {
  auto traffic = TrafficFromFlags();
  if (!traffic.ok()) return FailFor(traffic.status());
  SendBounds bounds{FLAGS_count, FLAGS_duration, FLAGS_rate};
  if (auto st = ValidateBounds(bounds); !st.ok()) return FailFor(st);
  StopSignals stop;  // before DPDK starts its threads

  absl::StatusOr<SendResult> result;
  if (FLAGS_engine == "xdp") {
    if (FLAGS_interface.empty())
      return FailFor(absl::InvalidArgumentError("--engine xdp needs --interface IF"));
    if (!eal_args.empty())
      return FailFor(absl::InvalidArgumentError(
          "arguments after -- are DPDK EAL arguments: only for --engine dpdk"));
    const unsigned ifindex = if_nametoindex(FLAGS_interface.c_str());
    if (ifindex == 0)
      return FailFor(absl::NotFoundError(
          absl::StrCat("--interface: no interface named '", FLAGS_interface, "'")));
    if (FLAGS_src_mac.empty()) {
      auto mac = netlink::InterfaceMac(ifindex);
      if (!mac.ok()) return FailFor(mac.status());
      traffic->src_mac = *mac;
    }
    LOG(INFO) << "xdp engine on " << FLAGS_interface << ": " << Describe(*traffic);
    result = SendWithXdp(*traffic, bounds, {FLAGS_interface, FLAGS_batch}, stop);
  } else if (FLAGS_engine == "dpdk") {
    if (!FLAGS_interface.empty())
      return FailFor(absl::InvalidArgumentError(
          "--interface is for --engine xdp; DPDK takes its port from the EAL arguments after --"));
    if (FLAGS_port > 65535 || FLAGS_burst > 65535)
      return FailFor(absl::InvalidArgumentError("--port and --burst: 16-bit numbers"));
    DpdkEngineOptions o;
    o.eal_args = eal_args;
    o.port = static_cast<uint16_t>(FLAGS_port);
    o.burst = static_cast<uint16_t>(FLAGS_burst);
    o.src_mac_from_port = FLAGS_src_mac.empty();
    result = SendWithDpdk(*traffic, bounds, o, stop);
  } else {
    return FailFor(absl::InvalidArgumentError(
        absl::StrCat("--engine '", FLAGS_engine, "': xdp or dpdk")));
  }
  if (!result.ok()) return FailFor(result.status());
  PrintSent(FLAGS_engine, *result);
  return 0;
}

int Sink() {
  SinkOptions o;
  for (absl::string_view i : absl::StrSplit(FLAGS_interface, ',', absl::SkipEmpty()))
    o.interfaces.emplace_back(i);
  o.duration_s = FLAGS_duration;
  o.warmup_s = FLAGS_warmup;
  o.until_count = FLAGS_until_count;
  o.pass = FLAGS_pass;
  StopSignals stop;
  auto counts = RunSink(o, stop, [&o] {
    std::cerr << "xlb-pktgen sink: ready, counting on " << absl::StrJoin(o.interfaces, ",")
              << std::endl;
  });
  if (!counts.ok()) return FailFor(counts.status());
  uint64_t packets = 0;
  double pps = 0;
  for (const auto& c : *counts) {
    packets += c.packets;
    pps += c.pps();
  }
  if (FLAGS_json) {
    nlohmann::json j = {{"packets", packets}, {"pps", pps}, {"interfaces", nlohmann::json::array()}};
    for (const auto& c : *counts)
      j["interfaces"].push_back({{"interface", c.interface}, {"packets", c.packets},
                                 {"bytes", c.bytes}, {"seconds", c.seconds}, {"pps", c.pps()}});
    std::cout << j.dump() << std::endl;
    return 0;
  }
  for (const auto& c : *counts)
    std::cout << absl::StrFormat("%s: %d packets, %d bytes in %.3f s: %.0f pps\n", c.interface,
                                 c.packets, c.bytes, c.seconds, c.pps());
  std::cout << absl::StrFormat("total: %d packets, %.0f pps\n", packets, pps);
  return 0;
}

}  // namespace
}  // namespace xlb::pktgen

int main(int argc, char** argv) {
  FLAGS_logtostderr = true;
  gflags::SetUsageMessage(xlb::pktgen::kUsage);
  gflags::SetVersionString(xlb::kVersion);
  // Everything after "--" is for DPDK's EAL, untouched by gflags.
  std::vector<std::string> eal_args;
  int flag_argc = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--") {
      flag_argc = i;
      eal_args.assign(argv + i + 1, argv + argc);
      break;
    }
  }
  gflags::ParseCommandLineFlags(&flag_argc, &argv, true);
  google::InitGoogleLogging(argv[0]);
  std::vector<std::string> words(argv + 1, argv + flag_argc);
  if (words.empty()) return xlb::pktgen::Send(eal_args);
  const bool sink = words[0] == "sink";
  if (sink && words.size() == 1 && eal_args.empty()) return xlb::pktgen::Sink();
  if (sink && words.size() == 1)
    std::cerr << "xlb-pktgen: arguments after -- are DPDK EAL arguments, not for the sink\n";
  else
    std::cerr << "xlb-pktgen: unexpected argument '" << words[sink ? 1 : 0] << "' (see --help)\n";
  return 2;
}
