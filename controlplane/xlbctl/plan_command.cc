// `xlbctl vrrp plan`: the vrrp: sections of N active-active directors
// (controlplane/offline/vrrp_plan.h has the plan itself). What it prints on stdout:
//   1. the plan as one table: VIP, VRID, one column per director with its
//      priority, '*' on the master's;
//   2. with --check-capacity TRAFFIC,LINK: the VIPs and load of each director
//      with all up and with each one down, and whether all stay within LINK;
//   3. without --output-dir: each director's vrrp: section under a
//      "# director NAME" line; with --output-dir DIR: the sections go to
//      DIR/NAME.vrrp.yaml (written whole, then renamed into place) and their
//      paths are listed.
// With --json the same as one object instead (see kVrrpPlanDetails).
// Exit 0 done; 2 bad arguments (one line on stderr, nothing written); 1 a
// file could not be written, or the plan does not fit the links (then the
// table and the capacity report are printed, but no sections).
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "controlplane/config/emit.h"
#include "controlplane/config/parse.h"
#include "controlplane/offline/vrrp_plan.h"
#include "controlplane/xlbctl/local_commands.h"
#include "nlohmann/json.hpp"

namespace xlb::xlbctl {

namespace {

int Fail(const std::string& why, int code) {
  std::cerr << "xlbctl: vrrp plan: " << why << "\n";
  return code;
}

std::vector<std::string> List(const std::string& text) {
  return absl::StrSplit(text, ',');
}

// Writes every file to a temporary name first, so that a failed write
// (disk full, no such directory) leaves no file half written.
bool WriteAll(const std::vector<std::pair<std::string, std::string>>& files, std::string& error) {
  std::vector<std::string> written;
  auto undo = [&] {
    for (const std::string& tmp : written) std::remove(tmp.c_str());
  };
  for (const auto& [path, text] : files) {
    const std::string tmp = path + ".tmp";
    std::ofstream out(tmp, std::ios::trunc);
    if (out) written.push_back(tmp);
    out << text;
    out.close();
    if (!out) {
      error = absl::StrCat(tmp, ": cannot write: ", std::strerror(errno));
      undo();
      return false;
    }
  }
  for (const auto& [path, text] : files) {
    if (std::rename((path + ".tmp").c_str(), path.c_str()) != 0) {
      error = absl::StrCat(path, ": cannot write: ", std::strerror(errno));
      undo();
      return false;
    }
  }
  return true;
}

// Per VIP: its instance, its master and every director's priority.
nlohmann::json PlanJson(const vrrp::Plan& plan) {
  nlohmann::json vips = nlohmann::json::array();
  for (size_t v = 0; v < plan.vips.size(); ++v) {
    const vrrp::PlannedVip& vip = plan.vips[v];
    nlohmann::json priorities = nlohmann::json::object();
    for (size_t d = 0; d < plan.directors.size(); ++d)
      priorities[plan.directors[d]] = plan.Priority(v, d);
    vips.push_back({{"vip", absl::StrCat(vip.address.ToString(), "/", vip.prefix)},
                    {"vrid", vip.vrid},
                    {"instance", vip.name},
                    {"master", plan.directors[vip.order.front()]},
                    {"priorities", priorities}});
  }
  return vips;
}

// Bit/s per director with all up ("failed": null) and after each failure.
nlohmann::json CapacityJson(const vrrp::Plan& plan, const vrrp::CapacityReport& report) {
  nlohmann::json cases = nlohmann::json::array();
  for (const vrrp::CapacityCase& c : report.cases) {
    nlohmann::json loads = nlohmann::json::object();
    for (size_t d = 0; d < plan.directors.size(); ++d) loads[plan.directors[d]] = c.loads[d];
    cases.push_back({{"failed", c.failed < 0 ? nlohmann::json(nullptr)
                                             : nlohmann::json(plan.directors[c.failed])},
                     {"loads", loads},
                     {"fits", c.fits}});
  }
  return {{"traffic", report.traffic}, {"link", report.link}, {"fits", report.fits},
          {"cases", cases}};
}

}  // namespace

std::vector<Option> VrrpPlanOptions() {
  return {
      {"--directors", "NAME,NAME,...", "the directors (at least 2)"},
      {"--vips", "ADDRESS[/PREFIX],...", "the VIPs (at least one per director)"},
      {"--interface", "IF", "where the VIPs live (default eth0)"},
      {"--vrid-base", "N", "the first VIP's VRID (default 51)"},
      {"--advert-interval", "DURATION", "VRRPv3 advert interval (default 1s; 10ms steps)"},
      {"--check-capacity", "TRAFFIC,LINK",
       "TRAFFIC spread equally over the VIPs, LINK per director, e.g. 1.5G,1G: exit 1 unless "
       "every director stays within LINK after any one failure"},
      {"--output-dir", "DIR", "write DIR/NAME.vrrp.yaml per director instead of printing them"},
  };
}

const absl::string_view kVrrpPlanDetails =
    "Each VIP gets its own VRRP instance (VRID N, N+1, ...), each director is master of an\n"
    "equal share, and when one director fails its VIPs spread evenly over the others.\n"
    "With --json: one object {\"plan\", \"capacity\" (with --check-capacity), and\n"
    "\"sections\" (director: YAML) or \"written\" (paths)}.\n";

int RunVrrpPlan(const Command& command) {
  std::map<std::string, std::string> flags = command.options;
  for (const char* required : {"--directors", "--vips"})
    if (!flags.contains(required))
      return Fail(absl::StrCat("missing ", required, " (see xlbctl vrrp plan --help)"), 2);

  vrrp::PlanRequest request;
  request.directors = List(flags["--directors"]);
  request.vips = List(flags["--vips"]);
  if (flags.contains("--interface")) request.interface = flags["--interface"];
  if (flags.contains("--vrid-base") && !absl::SimpleAtoi(flags["--vrid-base"], &request.vrid_base))
    return Fail(absl::StrCat("--vrid-base: '", flags["--vrid-base"],
                             "' is not a number (expected 1..255)"),
                2);
  if (flags.contains("--advert-interval")) {
    auto d = config::ParseDuration(flags["--advert-interval"]);
    if (!d.ok()) return Fail(absl::StrCat("--advert-interval: ", d.status().message()), 2);
    request.advert_interval = *d;
  }
  std::optional<std::pair<double, double>> capacity;
  if (flags.contains("--check-capacity")) {
    const std::vector<std::string> parts = List(flags["--check-capacity"]);
    if (parts.size() != 2)
      return Fail(absl::StrCat("--check-capacity: '", flags["--check-capacity"],
                               "' is not TRAFFIC,LINK (expected e.g. 1.5G,1G)"),
                  2);
    auto traffic = vrrp::ParseBitRate(parts[0]);
    if (!traffic.ok())
      return Fail(absl::StrCat("--check-capacity: traffic ", traffic.status().message()), 2);
    auto link = vrrp::ParseBitRate(parts[1]);
    if (!link.ok())
      return Fail(absl::StrCat("--check-capacity: link ", link.status().message()), 2);
    capacity.emplace(*traffic, *link);
  }

  auto plan = vrrp::MakePlan(request);
  if (!plan.ok()) return Fail(std::string(plan.status().message()), 2);
  // With --json, the text parts below become parts of one object.
  nlohmann::json out = {{"plan", PlanJson(*plan)}};
  auto finish = [&](int code) {
    if (command.json) std::cout << out.dump(2) << "\n";
    return code;
  };
  if (!command.json) std::cout << vrrp::FormatTable(*plan);
  if (capacity) {
    const vrrp::CapacityReport report =
        vrrp::CheckCapacity(*plan, capacity->first, capacity->second);
    out["capacity"] = CapacityJson(*plan, report);
    if (!command.json) std::cout << "\n" << vrrp::FormatCapacity(*plan, report);
    if (!report.fits) {
      finish(1);
      return Fail(absl::StrCat("the plan does not fit ", vrrp::FormatBitRate(capacity->second),
                               " links (see above); no sections written"),
                  1);
    }
  }

  std::vector<std::pair<std::string, std::string>> sections;  // director or path, YAML
  for (size_t d = 0; d < plan->directors.size(); ++d)
    sections.emplace_back(plan->directors[d], config::VrrpSectionToYaml(plan->Instances(d)));
  if (!flags.contains("--output-dir")) {
    for (const auto& [director, yaml] : sections) {
      out["sections"][director] = yaml;
      if (!command.json) std::cout << "\n# director " << director << "\n" << yaml;
    }
    return finish(0);
  }
  const std::string dir = flags["--output-dir"];
  // One level is made if missing (like `mkdir DIR`), not a whole path: a
  // mistyped parent is an error, not a new tree.
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return Fail(absl::StrCat(dir, ": cannot create: ", std::strerror(errno)), 1);
  for (auto& [path, yaml] : sections) path = absl::StrCat(dir, "/", path, ".vrrp.yaml");
  if (std::string error; !WriteAll(sections, error)) return Fail(error, 1);
  out["written"] = nlohmann::json::array();
  if (!command.json) std::cout << "\n";
  for (const auto& [path, yaml] : sections) {
    out["written"].push_back(path);
    if (!command.json) std::cout << "wrote " << path << "\n";
  }
  return finish(0);
}

}  // namespace xlb::xlbctl
