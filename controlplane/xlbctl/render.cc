#include "controlplane/xlbctl/render.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"

namespace xlb::xlbctl {
namespace {

using nlohmann::json;

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  return s;
}

// "198.51.100.10:80" / "[2001:db8::1]:80" from a service's JSON.
std::string Local(const json& s) {
  std::string key = s.value("service", "");
  return key.substr(0, key.rfind('/'));
}

std::string Remote(const json& r) {
  std::string a = r.value("address", "");
  return a.find(':') == std::string::npos ? absl::StrCat(a, ":", r.value("port", 0))
                                          : absl::StrCat("[", a, "]:", r.value("port", 0));
}

std::string Flags(const json& s) {
  std::string f;
  if (s.value("persistence", 0) > 0) absl::StrAppend(&f, "persistent ", s.value("persistence", 0));
  return f;
}

std::string List(const json& services) {
  std::string out = absl::StrFormat("%-4s %-30s %-12s %-16s %s\n", "Prot", "LocalAddress:Port",
                                    "Scheduler", "Flags", "Name");
  absl::StrAppend(&out, absl::StrFormat("  -> %-30s %-7s %-6s %-9s %s\n", "RemoteAddress:Port",
                                        "Forward", "Weight", "Effective", "Health"));
  for (const auto& s : services) {
    absl::StrAppend(&out, absl::StrFormat("%-4s %-30s %-12s %-16s %s\n",
                                          Upper(s.value("protocol", "")), Local(s),
                                          s.value("scheduler", ""), Flags(s), s.value("name", "")));
    if (const std::string error = s.value("error", ""); !error.empty())
      absl::StrAppend(&out, "  !! not applied, retrying: ", error, "\n");
    const std::string forward = s.value("forward", "") == "nat" ? "Masq" : "Route";
    for (const auto& r : s["reals"])
      absl::StrAppend(&out, absl::StrFormat("  -> %-30s %-7s %-6d %-9d %s\n", Remote(r), forward,
                                            r.value("weight", 0), r.value("effective_weight", 0),
                                            r.value("health", "")));
  }
  return out;
}

std::string Stats(const json& services) {
  std::string out = absl::StrFormat("%-4s %-30s %10s %12s %14s\n", "Prot", "LocalAddress:Port",
                                    "Conns", "Packets", "Bytes");
  absl::StrAppend(&out, absl::StrFormat("  -> %-30s\n", "RemoteAddress:Port"));
  auto line = [](const std::string& prefix, const std::string& name, const json& c) {
    return absl::StrFormat("%-4s %-30s %10d %12d %14d\n", prefix, name, c.value("new_flows", 0ull),
                           c.value("packets", 0ull), c.value("bytes", 0ull));
  };
  for (const auto& s : services) {
    absl::StrAppend(&out, line(Upper(s.value("protocol", "")), Local(s), s["counters"]));
    for (const auto& r : s["reals"]) absl::StrAppend(&out, line("  ->", Remote(r), r["counters"]));
  }
  return out;
}

std::string Status(const json& s) {
  std::string out = absl::StrCat(
      "xlbd ", s.value("version", ""), ", running since ", s.value("started", ""), "\n",
      "config: ", s.value("config_file", ""),
      s.value("runtime_changes", false) ? " (plus runtime changes: `xlbctl config save` keeps them)"
                                        : "",
      "\n", "interfaces: ", absl::StrJoin(s.value("interfaces", std::vector<std::string>{}), " "),
      "\n", "services: ", s.value("services", 0), ", reals: ", s.value("reals", 0), " (",
      s.value("reals_down", 0), " down)\n",
      "connection table: ", s.value("conn_table_entries", 0), " entries\n");
  if (s.contains("tables")) {
    absl::StrAppend(&out, "tables:\n");
    for (const auto& t : s["tables"]) {
      const double capacity = t.value("capacity", 0);
      const double entries = t.value("entries", 0);
      absl::StrAppend(
          &out, absl::StrFormat("  %s: %d/%d (%.1f%%), %d failed inserts, %d not recorded (flood)\n",
                                t.value("name", ""), t.value("entries", uint64_t{0}),
                                t.value("capacity", uint64_t{0}),
                                capacity > 0 ? 100 * entries / capacity : 0.0,
                                t.value("insert_failures", uint64_t{0}),
                                t.value("unrecorded", uint64_t{0})));
    }
  }
  absl::StrAppend(&out, "packets:");
  for (const auto& [k, v] : s["counters"].items()) absl::StrAppend(&out, " ", k, "=", v.dump());
  return out + "\n";
}

std::string Conns(const json& conns) {
  std::string out = absl::StrFormat("%-4s %-8s %-5s %-8s %-30s %-30s %s\n", "pro", "state", "fwd",
                                    "idle", "source", "virtual", "destination");
  for (const auto& c : conns)
    absl::StrAppend(&out, absl::StrFormat("%-4s %-8s %-5s %-8.1f %-30s %-30s %s\n",
                                          Upper(c.value("protocol", "")),
                                          Upper(c.value("state", "")), c.value("forward", ""),
                                          c.value("idle_s", 0.0), c.value("client", ""),
                                          c.value("virtual", ""), c.value("real", "")));
  return out;
}

std::string Health(const json& services) {
  std::string out = absl::StrFormat("%-28s %-30s %-6s %-6s %-21s %-9s %s\n", "Service", "Real",
                                    "Check", "State", "Since", "LocalErr", "Last result");
  for (const auto& s : services)
    for (const auto& r : s["reals"])
      absl::StrAppend(&out, absl::StrFormat("%-28s %-30s %-6s %-6s %-21s %-9d %s\n",
                                            s.value("service", ""), Remote(r),
                                            s.value("check", ""), r.value("health", ""),
                                            r.value("since", ""),
                                            r.value("local_errors", uint64_t{0}),
                                            r.value("health_detail", "")));
  return out;
}

// One line per instance, then its addresses, counters and tracking.
std::string Vrrp(const json& instances) {
  std::string out = absl::StrFormat("%-16s %-10s %-4s %-10s %-8s %-26s %-7s %s\n", "Name",
                                    "Interface", "VRID", "State", "Priority", "Master", "Advert",
                                    "Since");
  // Always shown (the list); any other non-zero drop reason is added.
  static const char* kShown[] = {"bad_checksum", "bad_ttl",    "bad_auth",
                                 "bad_length",   "wrong_vrid", "unknown_peer"};
  for (const auto& v : instances) {
    std::string master = v.value("master", "");
    if (!v["master_priority"].is_null())
      absl::StrAppend(&master, " (", v["master_priority"].get<int>(), ")");
    if (master.empty()) master = "-";
    absl::StrAppend(&out, absl::StrFormat("%-16s %-10s %-4d %-10s %-8s %-26s %-7s %s\n",
                                          v.value("name", ""), v.value("interface", ""),
                                          v.value("vrid", 0), v.value("state", ""),
                                          absl::StrCat(v.value("effective_priority", 0), "/",
                                                       v.value("priority", 0)),
                                          master,
                                          absl::StrCat(v.value("advert_interval_ms", 0), "ms"),
                                          v.value("since", "")));
    const json& c = v["counters"];
    std::vector<std::string> addresses = v.value("addresses", std::vector<std::string>{});
    absl::StrAppend(&out, "    v", v.value("version", 3), " from ", v.value("source", ""),
                    ", addresses ", absl::StrJoin(addresses, " "), "\n");
    absl::StrAppend(&out, "    adverts sent ", c.value("adverts_sent", 0ull), ", received ",
                    c.value("adverts_received", 0ull), ", state changes ",
                    c.value("state_changes", 0ull), "; dropped:");
    for (const char* name : kShown) absl::StrAppend(&out, " ", name, "=", c.value(name, 0ull));
    for (const auto& [name, value] : c.items()) {
      if (!absl::StartsWith(name, "bad_") && !absl::StartsWith(name, "too_") &&
          !absl::StartsWith(name, "not_"))
        continue;
      if (std::find(std::begin(kShown), std::end(kShown), name) != std::end(kShown)) continue;
      if (value.get<uint64_t>() != 0) absl::StrAppend(&out, " ", name, "=", value.dump());
    }
    absl::StrAppend(&out, "\n");
    if (uint64_t late = c.value("timers_late", 0ull); late != 0)
      absl::StrAppend(&out, "    timers late by more than an advert interval: ", late,
                      " (longest ", c.value("max_timer_late_ms", 0ull),
                      " ms): this thread lacks CPU, see xlbd --realtime-priority\n");
    if (!v.value("track_why", "").empty())
      absl::StrAppend(&out, "    tracking: ", v.value("track_why", ""), "\n");
  }
  return out;
}

}  // namespace

std::string Render(View view, const json& answer) {
  switch (view) {
    case View::kStatus: return Status(answer);
    case View::kList: return List(answer);
    case View::kListStats: return Stats(answer);
    case View::kConns: return Conns(answer);
    case View::kHealth: return Health(answer);
    case View::kVrrp: return Vrrp(answer);
    case View::kSaved: return absl::StrCat("saved to ", answer.value("path", ""), "\n");
    case View::kListRate:
    case View::kDone: return "";
  }
  return "";
}

std::string RenderRate(const json& before, const json& after, double seconds) {
  std::map<std::string, json> old;
  auto key = [](const json& s, const json* r) {
    return s.value("service", "") + (r ? " " + Remote(*r) : "");
  };
  for (const auto& s : before) {
    old[key(s, nullptr)] = s["counters"];
    for (const auto& r : s["reals"]) old[key(s, &r)] = r["counters"];
  }
  auto rate = [&](const json& now, const std::string& k, const char* field) {
    auto it = old.find(k);
    uint64_t was = it == old.end() ? 0 : it->second.value(field, 0ull);
    uint64_t is = now.value(field, 0ull);
    return is >= was ? static_cast<double>(is - was) / seconds : 0.0;
  };
  std::string out = absl::StrFormat("%-4s %-30s %10s %12s %14s\n", "Prot", "LocalAddress:Port",
                                    "CPS", "PPS", "BPS");
  absl::StrAppend(&out, absl::StrFormat("  -> %-30s\n", "RemoteAddress:Port"));
  for (const auto& s : after) {
    auto line = [&](const std::string& prefix, const std::string& name, const json& c,
                    const std::string& k) {
      return absl::StrFormat("%-4s %-30s %10.0f %12.0f %14.0f\n", prefix, name,
                             rate(c, k, "new_flows"), rate(c, k, "packets"), rate(c, k, "bytes"));
    };
    absl::StrAppend(&out, line(Upper(s.value("protocol", "")), Local(s), s["counters"], key(s, nullptr)));
    for (const auto& r : s["reals"])
      absl::StrAppend(&out, line("  ->", Remote(r), r["counters"], key(s, &r)));
  }
  return out;
}

}  // namespace xlb::xlbctl
