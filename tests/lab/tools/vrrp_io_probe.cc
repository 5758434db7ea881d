// A small CLI over io.h / addresses.h / announce.h, for tests/lab/vrrp_io_test.sh:
//   io_probe send IF v4|v6 --src A --dst A [--vrid N] [--prio P] [--version 2|3]
//            [--int-cs C] [--vip A]... [--auth PASS] [--count N]
//   io_probe recv IF v4|v6 [--unicast] [--count N] [--timeout-ms T]
//       prints one line per packet: "ok src=.. dst=.. ttl=.. version=.. vrid=..
//       prio=.. int_cs=.. addrs=a,b" or "drop <decode error> src=.. ttl=..";
//       exits 0 if it got --count packets, 1 on timeout.
//   io_probe addr add|del IF ADDR/PREFIX [LABEL]
//   io_probe addr list IF
//   io_probe announce IF ADDR... [--count N]
#include <net/if.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "asio/io_context.hpp"
#include "asio/steady_timer.hpp"
#include "controlplane/vrrp/addresses.h"
#include "controlplane/vrrp/announce.h"
#include "controlplane/vrrp/io.h"
#include "controlplane/vrrp/packet.h"

namespace {

using xlb::model::Family;
using xlb::model::IpAddress;
namespace vrrp = xlb::vrrp;

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "io_probe: " << message << "\n";
  std::exit(2);
}

IpAddress ParseIp(const std::string& text) {
  auto a = IpAddress::Parse(text);
  if (!a.ok()) Die(absl::StrCat("bad address ", text));
  return *a;
}

int ParseInt(const std::string& text) {
  int v;
  if (!absl::SimpleAtoi(text, &v)) Die(absl::StrCat("bad number ", text));
  return v;
}

Family ParseFamily(const std::string& text) {
  if (text == "v4" || text == "V4") return Family::kV4;
  if (text == "v6" || text == "V6") return Family::kV6;
  Die("family must be v4 or v6");
}

int Send(const std::string& ifname, Family family, const std::vector<std::string>& args) {
  vrrp::Advert advert;
  advert.vrid = 51;
  advert.priority = 100;
  std::optional<IpAddress> src, dst;
  int count = 1;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (i + 1 >= args.size()) Die(absl::StrCat(a, " needs a value"));
    const std::string& v = args[++i];
    if (a == "--src") src = ParseIp(v);
    else if (a == "--dst") dst = ParseIp(v);
    else if (a == "--vrid") advert.vrid = static_cast<uint8_t>(ParseInt(v));
    else if (a == "--prio") advert.priority = static_cast<uint8_t>(ParseInt(v));
    else if (a == "--version") advert.version = ParseInt(v);
    else if (a == "--int-cs") advert.max_advert_int_cs = static_cast<uint16_t>(ParseInt(v));
    else if (a == "--vip") advert.addresses.push_back(ParseIp(v));
    else if (a == "--auth") advert.auth_type = vrrp::kAuthPass, advert.auth = v;
    else if (a == "--count") count = ParseInt(v);
    else Die(absl::StrCat("unknown option ", a));
  }
  if (!src || !dst) Die("send needs --src and --dst");
  if (advert.addresses.empty()) advert.addresses.push_back(*src);
  asio::io_context io;
  vrrp::ChannelOptions options;
  options.ifname = ifname;
  options.family = family;
  if (family == Family::kV6) options.source = *src;
  options.join_multicast = false;  // a sender need not listen
  auto channel = vrrp::Channel::Open(io, options);
  if (!channel.ok()) Die(channel.status().ToString());
  for (int i = 0; i < count; ++i) {
    auto bytes = family == Family::kV4
                     ? vrrp::EncodeIpv4Packet(advert, *src, *dst, static_cast<uint16_t>(i + 1))
                     : vrrp::Encode(advert, *src, *dst);
    if (!bytes.ok()) Die(bytes.status().ToString());
    if (auto st = (*channel)->Send(*bytes, *dst); !st.ok()) Die(st.ToString());
  }
  std::cout << "sent " << count << "\n";
  return 0;
}

std::string Describe(const vrrp::DecodeResult& d) {
  std::string s = d.ok() ? "ok" : absl::StrCat("drop ", vrrp::DecodeErrorName(d.error));
  absl::StrAppend(&s, " src=", d.ip.src.ToString(), " dst=", d.ip.dst.ToString(),
                  " ttl=", d.ip.ttl);
  if (d.advert) {
    std::vector<std::string> addrs;
    for (const auto& a : d.advert->addresses) addrs.push_back(a.ToString());
    absl::StrAppend(&s, " version=", d.advert->version, " vrid=", d.advert->vrid,
                    " prio=", d.advert->priority, " int_cs=", d.advert->max_advert_int_cs,
                    " addrs=", absl::StrJoin(addrs, ","));
    if (d.advert->auth_type != vrrp::kAuthNone)
      absl::StrAppend(&s, " auth_type=", d.advert->auth_type, " auth=", d.advert->auth);
  }
  return s;
}

int Recv(const std::string& ifname, Family family, const std::vector<std::string>& args) {
  int count = 1, timeout_ms = 3000;
  bool unicast = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--unicast") { unicast = true; continue; }
    if (i + 1 >= args.size()) Die(absl::StrCat(a, " needs a value"));
    const std::string& v = args[++i];
    if (a == "--count") count = ParseInt(v);
    else if (a == "--timeout-ms") timeout_ms = ParseInt(v);
    else Die(absl::StrCat("unknown option ", a));
  }
  asio::io_context io;
  vrrp::ChannelOptions options;
  options.ifname = ifname;
  options.family = family;
  options.join_multicast = !unicast;
  auto opened = vrrp::Channel::Open(io, options);
  if (!opened.ok()) Die(opened.status().ToString());
  std::unique_ptr<vrrp::Channel> channel = std::move(*opened);
  std::cout << "listening" << std::endl;  // the test waits for this line
  int got = 0;
  asio::steady_timer deadline(io, std::chrono::milliseconds(timeout_ms));
  deadline.async_wait([&](const asio::error_code& ec) {
    if (!ec) channel->Close();
  });
  std::function<void(absl::StatusOr<vrrp::Received>)> on_packet =
      [&](absl::StatusOr<vrrp::Received> r) {
        if (!r.ok()) {
          if (!absl::IsCancelled(r.status())) std::cerr << r.status() << "\n";
          return;
        }
        const vrrp::DecodeResult d = family == Family::kV4
                                         ? vrrp::DecodeIpv4Packet(r->data)
                                         : vrrp::DecodeIpv6Payload(r->data, r->ip);
        std::cout << Describe(d) << " ifindex=" << r->ifindex << std::endl;
        if (++got >= count) {
          deadline.cancel();
          channel->Close();
          return;
        }
        channel->AsyncReceive(on_packet);
      };
  channel->AsyncReceive(on_packet);
  io.run();
  std::cout << "received " << got << "\n";
  return got >= count ? 0 : 1;
}

int Addr(const std::vector<std::string>& args) {
  if (args.size() < 2) Die("addr add|del|list IF ...");
  const std::string& op = args[0];
  const uint32_t ifindex = if_nametoindex(args[1].c_str());
  if (ifindex == 0) Die(absl::StrCat("no interface ", args[1]));
  if (op == "list") {
    auto list = vrrp::ListAddresses(ifindex);
    if (!list.ok()) Die(list.status().ToString());
    for (const auto& a : *list)
      std::cout << a.address.ToString() << "/" << a.prefix_len << " label=" << a.label
                << " flags=0x" << std::hex << a.flags << std::dec << " proto=" << int{a.protocol}
                << "\n";
    return 0;
  }
  if (args.size() < 3) Die("addr add|del IF ADDR/PREFIX [LABEL]");
  std::vector<std::string> parts = absl::StrSplit(args[2], '/');
  if (parts.size() != 2) Die("ADDR/PREFIX");
  const IpAddress address = ParseIp(parts[0]);
  const int prefix = ParseInt(parts[1]);
  absl::Status st;
  if (op == "add") st = vrrp::AddAddress(ifindex, address, prefix, args.size() > 3 ? args[3] : "");
  else if (op == "del") st = vrrp::RemoveAddress(ifindex, address, prefix);
  else Die("addr add|del|list");
  if (!st.ok()) Die(st.ToString());
  std::cout << op << " ok\n";
  return 0;
}

int AnnounceCmd(const std::vector<std::string>& args) {
  if (args.size() < 2) Die("announce IF ADDR... [--count N]");
  std::vector<IpAddress> addresses;
  int count = 1;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--count" && i + 1 < args.size()) count = ParseInt(args[++i]);
    else addresses.push_back(ParseIp(args[i]));
  }
  if (auto st = vrrp::Announce(args[0], addresses, count); !st.ok()) Die(st.ToString());
  std::cout << "announced " << addresses.size() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) Die("send|recv|addr|announce ...");
  const std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd == "addr") return Addr(args);
  if (cmd == "announce") return AnnounceCmd(args);
  if (args.size() < 2) Die(absl::StrCat(cmd, " IF v4|v6 ..."));
  const std::string ifname = args[0];
  const Family family = ParseFamily(args[1]);
  args.erase(args.begin(), args.begin() + 2);
  if (cmd == "send") return Send(ifname, family, args);
  if (cmd == "recv") return Recv(ifname, family, args);
  Die(absl::StrCat("unknown command ", cmd));
}
