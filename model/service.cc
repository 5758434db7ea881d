#include "model/service.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "model/names.h"
#include "model/prime.h"

namespace xlb::model {

std::string ServiceKey::ToString() const {
  std::string addr = vip.is_v4() ? vip.ToString() : absl::StrCat("[", vip.ToString(), "]");
  return absl::StrCat(addr, ":", port == 0 ? std::string("*") : std::to_string(port), "/",
                      NameOf(protocol));
}

namespace {

// Splits "ADDR:PORT" / "[V6ADDR]:PORT" (or, when the port is optional, a
// bare "ADDR" / "V6ADDR") into its parts; an error says what is missing.
absl::Status SplitEndpoint(absl::string_view text, bool port_optional, absl::string_view* addr,
                           absl::string_view* port) {
  *addr = text;
  *port = "";
  if (!text.empty() && text.front() == '[') {
    auto close = text.find("]:");
    if (close == absl::string_view::npos)
      return absl::InvalidArgumentError("IPv6 address without ']:PORT'");
    *addr = text.substr(1, close - 1);
    *port = text.substr(close + 2);
    return absl::OkStatus();
  }
  const auto colons = std::count(text.begin(), text.end(), ':');
  if (colons == 1) {
    *addr = text.substr(0, text.find(':'));
    *port = text.substr(text.find(':') + 1);
    return absl::OkStatus();
  }
  if (colons == 0 && !port_optional) return absl::InvalidArgumentError("no port");
  if (colons > 1 && !port_optional)
    return absl::InvalidArgumentError("write an IPv6 address with a port as [ADDR]:PORT");
  return absl::OkStatus();  // a bare address
}

}  // namespace

absl::StatusOr<ServiceKey> ParseServiceKey(absl::string_view text) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("service '", text, "': ", why, " (expected VIP:PORT[/tcp|udp])"));
  };
  ServiceKey key;
  absl::string_view rest = text;
  if (auto slash = rest.rfind('/'); slash != absl::string_view::npos) {
    std::string proto = absl::AsciiStrToLower(rest.substr(slash + 1));
    auto protocol = EnumFromName<Protocol>(proto);
    if (!protocol) return bad(absl::StrCat("unknown protocol '", proto, "'"));
    key.protocol = *protocol;
    rest = rest.substr(0, slash);
  }
  absl::string_view addr, port;
  if (auto st = SplitEndpoint(rest, /*port_optional=*/false, &addr, &port); !st.ok())
    return bad(st.message());
  auto ip = IpAddress::Parse(addr);
  if (!ip.ok()) return bad(ip.status().message());
  key.vip = *ip;
  uint32_t p = 0;
  if (port != "*" && (!absl::SimpleAtoi(port, &p) || p > 65535))
    return bad(absl::StrCat("port '", port, "' is not 0..65535 or *"));
  key.port = static_cast<uint16_t>(p);
  return key;
}

absl::StatusOr<Endpoint> ParseEndpoint(absl::string_view text, absl::string_view what) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " '", text, "': ", why, " (expected ADDR:PORT or [V6ADDR]:PORT)"));
  };
  absl::string_view addr, port;
  if (auto st = SplitEndpoint(text, /*port_optional=*/false, &addr, &port); !st.ok())
    return bad(st.message());
  auto ip = IpAddress::Parse(addr);
  if (!ip.ok()) return bad(ip.status().message());
  uint32_t p = 0;
  if (!absl::SimpleAtoi(port, &p) || p == 0 || p > 65535)
    return bad(absl::StrCat("port '", port, "' is not 1..65535"));
  return Endpoint{*ip, static_cast<uint16_t>(p)};
}

std::string IpPrefix::ToString() const {
  return absl::StrCat(address.ToString(), "/", length);
}

absl::StatusOr<IpPrefix> ParseIpPrefix(absl::string_view text) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", text, "' ", why,
        " (expected ADDRESS/LENGTH, e.g. 192.0.2.128/25 or 2001:db8:ff::/112)"));
  };
  const size_t slash = text.find('/');
  auto ip = IpAddress::Parse(text.substr(0, slash));
  if (!ip.ok()) return bad("is not a prefix");
  IpPrefix prefix{*ip, ip->max_prefix_len()};
  if (slash != absl::string_view::npos) {
    const absl::string_view len = text.substr(slash + 1);
    uint32_t n = 0;
    if (len.empty() || !std::all_of(len.begin(), len.end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(len, &n) || n > static_cast<uint32_t>(ip->max_prefix_len()))
      return bad(absl::StrCat("has a bad length (0..", ip->max_prefix_len(), ")"));
    prefix.length = static_cast<int>(n);
  }
  if (ip->Masked(prefix.length) != *ip)
    return bad(absl::StrCat("has host bits set (the prefix is ",
                            ip->Masked(prefix.length).ToString(), "/", prefix.length, ")"));
  return prefix;
}

uint8_t TunnelOverhead(Family family, Encap encap) {
  const uint8_t ip = family == Family::kV4 ? 20 : 40;
  return encap == Encap::kGue ? ip + 8 : ip;
}

uint16_t TunnelMss(Family family, Encap encap, uint16_t mtu) {
  const int headers = TunnelOverhead(family, encap) + (family == Family::kV4 ? 40 : 60);
  return mtu > headers ? static_cast<uint16_t>(mtu - headers) : 0;
}

uint32_t MinTunnelMtu(Family family, Encap encap) {
  return (family == Family::kV4 ? 576 : 1280) + TunnelOverhead(family, encap);
}

absl::StatusOr<RealSpec> ParseRealSpec(absl::string_view text) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("real '", text, "': ", why, " (expected ADDR[:PORT][@WEIGHT])"));
  };
  RealSpec r;
  absl::string_view rest = text;
  if (auto at = rest.rfind('@'); at != absl::string_view::npos) {
    if (!absl::SimpleAtoi(rest.substr(at + 1), &r.weight))
      return bad(absl::StrCat("weight '", rest.substr(at + 1), "' is not a number"));
    rest = rest.substr(0, at);
  }
  absl::string_view addr, port;
  if (auto st = SplitEndpoint(rest, /*port_optional=*/true, &addr, &port); !st.ok())
    return bad(st.message());
  auto ip = IpAddress::Parse(addr);
  if (!ip.ok()) return bad(ip.status().message());
  r.address = *ip;
  uint32_t p = 0;
  if (!port.empty() && (!absl::SimpleAtoi(port, &p) || p == 0 || p > 65535))
    return bad(absl::StrCat("port '", port, "' is not 1..65535"));
  r.port = static_cast<uint16_t>(p);
  return r;
}

absl::Status ValidateService(const Service& s) {
  const std::string name = absl::StrCat("service ", s.key.ToString());
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", why));
  };
  const ServiceOptions& o = s.options;
  if (s.key.protocol != Protocol::kTcp && s.key.protocol != Protocol::kUdp)
    return bad("protocol must be tcp or udp");
  if (o.all_ports && s.key.port != 0) return bad("an all-ports service has port 0");
  if (!o.all_ports && s.key.port == 0)
    return bad("port 0 is only for an all-ports service");
  if (!IsMaglevTableSize(o.table_size))
    return bad(absl::StrCat("table size ", o.table_size, " is not a prime in [", kMaglevMinSize,
                            ", ", kMaglevMaxSize, "]"));
  if (o.persistence_netmask < -1 || o.persistence_netmask > s.key.vip.max_prefix_len())
    return bad(absl::StrCat("persistence netmask /", o.persistence_netmask, " is not in 0..",
                            s.key.vip.max_prefix_len()));
  if (o.tcp_timeout_s == 0 || o.tcp_fin_timeout_s == 0 || o.udp_timeout_s == 0)
    return bad("connection timeouts must be at least 1 s");
  const TunnelOptions& t = o.tunnel;
  if (o.forward != Forward::kTunnel) {
    if (t != TunnelOptions{}) return bad("tunnel settings are only for forward tunnel");
    return absl::OkStatus();
  }
  if (t.gue_port == 0) return bad("gue port 0 (expected 1..65535)");
  if (t.encap != Encap::kGue && t.gue_port != kDefaultGuePort)
    return bad("a gue port is only for encap gue");
  if (t.source && t.source->address.family() != s.key.vip.family())
    return bad(absl::StrCat("tunnel source ", t.source->ToString(), " is not of the VIP's family"));
  if (t.source && t.source->address.Masked(t.source->length) != t.source->address)
    return bad(absl::StrCat("tunnel source ", t.source->ToString(), " has host bits set"));
  const uint32_t min_mtu = MinTunnelMtu(s.key.vip.family(), t.encap);
  if (t.mtu != 0 && (t.mtu < min_mtu || t.mtu > kMaxTunnelMtu))
    return bad(absl::StrCat("tunnel mtu ", t.mtu, " is not in ", min_mtu, "..", kMaxTunnelMtu));
  return absl::OkStatus();
}

absl::Status ValidateReals(const Service& s, const std::vector<RealSpec>& reals) {
  std::set<std::pair<IpAddress, uint16_t>> seen;
  for (const RealSpec& r : reals) {
    const std::string name = absl::StrCat(
        "real ", r.port ? FormatEndpoint(r.address, r.port) : r.address.ToString(), " of service ",
        s.key.ToString());
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": ", why));
    };
    if (r.address.family() != s.key.vip.family())
      return bad(absl::StrCat("an ", r.address.is_v4() ? "IPv4" : "IPv6", " real for an ",
                              s.key.vip.is_v4() ? "IPv4" : "IPv6", " VIP"));
    if (r.weight > kMaxWeight) return bad(absl::StrCat("weight ", r.weight, " is over ", kMaxWeight));
    // Direct routing leaves the packet as the client sent it: the real gets
    // the VIP's port. NAT may map it, except for an all-ports service.
    if (r.port != 0 && r.port != s.key.port) {
      // Neither does a tunnel: the inner packet is the client's.
      if (s.options.forward != Forward::kNat)
        return bad(absl::StrCat(s.options.forward == Forward::kDr ? "direct routing" : "a tunnel",
                                " cannot change the port to ", r.port, " (use forward nat)"));
      if (s.options.all_ports)
        return bad("an all-ports service keeps the client's port: give the real no port");
    }
    if (!seen.insert({r.address, EffectivePort(s.key, r)}).second) return bad("listed twice");
  }
  if (reals.size() > s.options.table_size)
    return absl::InvalidArgumentError(absl::StrCat("service ", s.key.ToString(), ": ",
                                                   reals.size(), " reals exceed table size ",
                                                   s.options.table_size));
  return absl::OkStatus();
}

}  // namespace xlb::model
