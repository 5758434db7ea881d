// xlb-decap: attach, detach and show the reals' decapsulator (see decap.h
// and docs/man/xlb-decap.8). Exit 0 done, 1 failed, 2 usage error; a
// failure changes nothing.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "decap/decap.h"
#include "nlohmann/json.hpp"

namespace xlb::decap {
namespace {

constexpr char kUsage[] = R"(usage:
  xlb-decap attach IFACE --vip ADDR [--vip ADDR ...] [--local ADDR ...]
                         [--gue-port N] [--xdp-mode native|generic] [--pin-dir DIR]
  xlb-decap detach IFACE [--pin-dir DIR]
  xlb-decap status [--json] [--pin-dir DIR]
Decapsulates IPIP and GUE packets sent to this host's --local addresses
(default: IFACE's addresses) for the VIPs given, and passes everything else
untouched. Default GUE port 6080; default pin dir /sys/fs/bpf/xlb-decap
(--pin-dir may also come before the command).
)";

int Usage(const std::string& why) {
  std::cerr << "xlb-decap: " << why << "\n" << kUsage;
  return 2;
}

int Fail(const absl::Status& st) {
  std::cerr << "xlb-decap: " << st.message() << "\n";
  return 1;
}

std::string Join(const std::vector<model::IpAddress>& v) {
  return absl::StrJoin(v, " ", [](std::string* o, const model::IpAddress& a) {
    o->append(a.ToString());
  });
}

int PrintStatus(const Status& s, const std::string& pin_dir, bool json) {
  if (json) {
    nlohmann::json j;
    j["pin_dir"] = pin_dir;
    j["pinned"] = s.pinned;
    j["interfaces"] = nlohmann::json::array();
    for (const auto& i : s.interfaces)
      j["interfaces"].push_back({{"name", i.name}, {"mode", i.generic ? "generic" : "native"}});
    auto strings = [](const std::vector<model::IpAddress>& v) {
      auto a = nlohmann::json::array();
      for (const auto& x : v) a.push_back(x.ToString());
      return a;
    };
    j["vips"] = strings(s.config.vips);
    j["locals"] = strings(s.config.locals);
    if (s.pinned) j["gue_port"] = s.config.gue_port;
    j["counters"] = nlohmann::json::object();
    for (size_t i = 0; i < kCounterNames.size(); ++i) j["counters"][kCounterNames[i]] = s.counters[i];
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  if (!s.pinned) {
    std::cout << "xlb-decap is not loaded (nothing pinned in " << pin_dir << ")\n";
    return 0;
  }
  std::cout << "interfaces:";
  if (s.interfaces.empty()) std::cout << " none (pinned in " << pin_dir << " but attached nowhere)";
  for (const auto& i : s.interfaces)
    std::cout << " " << i.name << " (" << (i.generic ? "generic" : "native") << ")";
  std::cout << "\nVIPs: " << Join(s.config.vips) << "\nouter destinations: "
            << Join(s.config.locals) << "\nGUE port: " << s.config.gue_port << "\ncounters:\n";
  for (size_t i = 0; i < kCounterNames.size(); ++i)
    std::cout << "  " << kCounterNames[i] << " " << s.counters[i] << "\n";
  return 0;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string pin_dir = kDefaultPinDir;
  // --pin-dir may also come before the command.
  while (args.size() >= 2 && args[0] == "--pin-dir") {
    if (args[1].empty()) return Usage("--pin-dir wants a directory");
    pin_dir = args[1];
    args.erase(args.begin(), args.begin() + 2);
  }
  if (args.empty()) return Usage("no command");
  const std::string command = args[0];
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kUsage;
    return 0;
  }
  std::string ifname;
  bool json = false;
  AttachOptions attach;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string* {
      return i + 1 < args.size() ? &args[++i] : nullptr;
    };
    const bool is_attach = command == "attach";
    if (a == "--pin-dir") {
      auto v = value();
      if (!v || v->empty()) return Usage("--pin-dir wants a directory");
      pin_dir = *v;
    } else if (a == "--json" && command == "status") {
      json = true;
    } else if ((a == "--vip" || a == "--local") && is_attach) {
      auto v = value();
      if (!v) return Usage(a + " wants an address");
      auto addr = model::IpAddress::Parse(*v);
      if (!addr.ok())
        return Usage(absl::StrCat(a, " '", *v, "': not an IPv4 or IPv6 address"));
      (a == "--vip" ? attach.config.vips : attach.config.locals).push_back(*addr);
    } else if (a == "--gue-port" && is_attach) {
      auto v = value();
      uint32_t port = 0;
      if (!v || !absl::SimpleAtoi(*v, &port) || port == 0 || port > 65535)
        return Usage(absl::StrCat("--gue-port wants a port 1-65535, not '", v ? *v : "", "'"));
      attach.config.gue_port = static_cast<uint16_t>(port);
    } else if (a == "--xdp-mode" && is_attach) {
      auto v = value();
      if (v && *v == "native") {
        attach.mode = Mode::kNative;
      } else if (v && *v == "generic") {
        attach.mode = Mode::kGeneric;
      } else {
        return Usage(absl::StrCat("--xdp-mode wants native or generic, not '", v ? *v : "", "'"));
      }
    } else if (!a.starts_with("-") && ifname.empty() && command != "status") {
      ifname = a;
    } else {
      return Usage(absl::StrCat("unexpected argument '", a, "' for ", command));
    }
  }

  if (command == "attach") {
    if (ifname.empty()) return Usage("attach: which interface? (xlb-decap attach IFACE --vip ADDR)");
    if (attach.config.vips.empty()) return Usage("attach: no VIP; give at least one --vip ADDR");
    attach.ifname = ifname;
    attach.pin_dir = pin_dir;
    auto done = Attach(attach);
    if (absl::IsInvalidArgument(done.status())) return Usage(std::string(done.status().message()));
    if (!done.ok()) return Fail(done.status());
    std::cout << *done << "\n";
    return 0;
  }
  if (command == "detach") {
    if (ifname.empty()) return Usage("detach: which interface? (xlb-decap detach IFACE)");
    if (auto st = Detach(ifname, pin_dir); !st.ok()) return Fail(st);
    std::cout << "xlb-decap detached from " << ifname << "\n";
    return 0;
  }
  if (command == "status") {
    auto s = ReadStatus(pin_dir);
    if (!s.ok()) return Fail(s.status());
    return PrintStatus(*s, pin_dir, json);
  }
  return Usage(absl::StrCat("unknown command '", command, "'"));
}

}  // namespace
}  // namespace xlb::decap

int main(int argc, char** argv) { return xlb::decap::Main(argc, argv); }
