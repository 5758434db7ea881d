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

namespace xlb::xlbctl {

namespace {

constexpr char kPlanUsage[] =
    R"(usage: xlbctl vrrp plan --directors NAME,NAME,... --vips ADDRESS[/PREFIX],...
         [--interface IF] [--vrid-base N] [--advert-interval DURATION]
         [--check-capacity TRAFFIC,LINK] [--output-dir DIR]
  Each VIP gets its own VRRP instance (VRID N, N+1, ...; default 51), each director is master
  of an equal share, and when one director fails its VIPs spread evenly over the others.
  --interface        where the VIPs live (default eth0)
  --advert-interval  VRRPv3 advert interval (default 1s; 10ms steps)
  --check-capacity   TRAFFIC spread equally over the VIPs, LINK per director, e.g. 1.5G,1G:
                     exit 1 unless every director stays within LINK after any one failure
  --output-dir       write DIR/NAME.vrrp.yaml per director instead of printing the sections
)";

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

}  // namespace

int RunVrrpPlan(const std::vector<std::string>& args) {
  static const std::set<std::string> kFlags = {"--directors",      "--vips",
                                               "--interface",      "--vrid-base",
                                               "--advert-interval", "--check-capacity",
                                               "--output-dir"};
  std::map<std::string, std::string> flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::cout << kPlanUsage;
      return 0;
    }
    if (a.rfind("--", 0) != 0) return Fail(absl::StrCat("unexpected argument '", a, "'"), 2);
    std::string name = a, value;
    if (const size_t eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
    } else if (kFlags.contains(a)) {
      if (i + 1 >= args.size()) return Fail(absl::StrCat(a, " needs a value"), 2);
      value = args[++i];
    }
    if (!kFlags.contains(name)) return Fail(absl::StrCat("unknown option ", name), 2);
    if (!flags.emplace(name, value).second) return Fail(absl::StrCat(name, " given twice"), 2);
  }
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
  std::cout << vrrp::FormatTable(*plan);
  if (capacity) {
    const vrrp::CapacityReport report =
        vrrp::CheckCapacity(*plan, capacity->first, capacity->second);
    std::cout << "\n" << vrrp::FormatCapacity(*plan, report);
    if (!report.fits)
      return Fail(absl::StrCat("the plan does not fit ", vrrp::FormatBitRate(capacity->second),
                               " links (see above); no sections written"),
                  1);
  }

  std::vector<std::pair<std::string, std::string>> sections;  // director or path, YAML
  for (size_t d = 0; d < plan->directors.size(); ++d)
    sections.emplace_back(plan->directors[d], config::VrrpSectionToYaml(plan->Instances(d)));
  if (!flags.contains("--output-dir")) {
    for (const auto& [director, yaml] : sections)
      std::cout << "\n# director " << director << "\n" << yaml;
    return 0;
  }
  const std::string dir = flags["--output-dir"];
  // One level is made if missing (like `mkdir DIR`), not a whole path: a
  // mistyped parent is an error, not a new tree.
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return Fail(absl::StrCat(dir, ": cannot create: ", std::strerror(errno)), 1);
  for (auto& [path, yaml] : sections) path = absl::StrCat(dir, "/", path, ".vrrp.yaml");
  if (std::string error; !WriteAll(sections, error)) return Fail(error, 1);
  std::cout << "\n";
  for (const auto& [path, yaml] : sections) std::cout << "wrote " << path << "\n";
  return 0;
}

}  // namespace xlb::xlbctl
