#include "controlplane/offline/vrrp_plan.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "controlplane/config/emit.h"
#include "controlplane/config/parse.h"

namespace xlb::vrrp {

namespace {

using model::IpAddress;

absl::Status Bad(absl::string_view why) { return absl::InvalidArgumentError(why); }

// "ADDRESS[/PREFIX]", the way the config's vrrp addresses are written.
absl::StatusOr<std::pair<IpAddress, int>> ParseVip(const std::string& text) {
  const size_t slash = text.find('/');
  auto ip = IpAddress::Parse(text.substr(0, slash));
  if (!ip.ok())
    return Bad(absl::StrCat("VIP '", text,
                            "' is not an address (expected ADDRESS[/PREFIX], e.g. "
                            "198.51.100.10 or 2001:db8::10/64)"));
  int prefix = ip->max_prefix_len();
  if (slash != std::string::npos) {
    const std::string p = text.substr(slash + 1);
    if (p.empty() || !std::all_of(p.begin(), p.end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(p, &prefix) || prefix < 1 || prefix > ip->max_prefix_len())
      return Bad(absl::StrCat("VIP '", text, "' has a bad prefix length (expected 1..",
                              ip->max_prefix_len(), " for ", ip->is_v4() ? "IPv4" : "IPv6",
                              ")"));
  }
  return std::make_pair(*ip, prefix);
}

absl::Status CheckDirectors(const std::vector<std::string>& directors) {
  if (directors.size() < 2)
    return Bad(absl::StrCat(directors.size(), " director", directors.size() == 1 ? "" : "s",
                            ": nobody to fail over to (expected at least 2)"));
  // Every place in a VIP's order needs its own priority in 1..254.
  if (directors.size() > 254)
    return Bad(absl::StrCat(directors.size(), " directors (expected at most 254: one VRRP "
                                              "priority 1..254 each)"));
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < directors.size(); ++i) {
    const std::string& d = directors[i];
    if (!config::IsServiceName(d))
      return Bad(absl::StrCat("director '", d,
                              "' is not a name (expected letters, digits, '_', '.', '-')"));
    if (auto [it, added] = seen.emplace(d, i); !added)
      return Bad(absl::StrCat("director '", d, "' is listed twice (at ", it->second + 1, " and ",
                              i + 1, ")"));
  }
  return absl::OkStatus();
}

// The backup order (see plan.h): level by level, the VIPs that share their
// first k choices go, each in turn, to the least loaded survivor of those k.
void ChooseOrder(size_t directors, std::vector<PlannedVip>& vips) {
  const int n = static_cast<int>(directors);
  std::vector<int> masters(directors, 0);                // VIPs each director masters
  std::vector<std::vector<size_t>> mastered(directors);  // and which
  std::vector<std::vector<int>> sets(vips.size());       // each VIP's first k, sorted
  for (size_t i = 0; i < vips.size(); ++i) {
    const int master = static_cast<int>(i % directors);
    vips[i].order = {master};
    sets[i] = {master};
    ++masters[master];
    mastered[master].push_back(i);
  }
  for (int k = 1; k < n; ++k) {
    std::vector<int> placed(directors, 0);  // VIPs with director d as choice k+1
    std::map<std::vector<int>, std::vector<size_t>> groups;
    for (size_t i = 0; i < vips.size(); ++i) groups[sets[i]].push_back(i);
    for (const auto& [set, members] : groups) {
      std::vector<bool> failed(directors, false);
      for (int d : set) failed[d] = true;
      // What the survivors hold while `set` is down, but for the members,
      // whose next choice this decides: the VIPs of live masters stay; one
      // of a failed master's goes to the first survivor in its order, which
      // is among its first k unless it is a member.
      std::vector<int> load = masters;
      for (int f : set) {
        for (size_t i : mastered[f]) {
          const std::vector<int>& order = vips[i].order;
          const auto up = std::find_if(order.begin(), order.begin() + k,
                                       [&](int d) { return !failed[d]; });
          if (up != order.begin() + k) ++load[*up];
        }
      }
      for (size_t i : members) {
        // Least loaded; then the director that is choice k+1 of the fewest
        // VIPs so far (so the later failures find the VIPs spread too);
        // then round robin from the master.
        const int master = vips[i].order.front();
        int best = -1;
        for (int step = 1; step < n; ++step) {
          const int d = (master + step) % n;
          if (failed[d]) continue;
          if (best < 0 || std::make_pair(load[d], placed[d]) <
                              std::make_pair(load[best], placed[best]))
            best = d;
        }
        vips[i].order.push_back(best);
        sets[i].insert(std::lower_bound(sets[i].begin(), sets[i].end(), best), best);
        ++load[best];
        ++placed[best];
      }
    }
  }
}

// The sections must be what config::ParseConfig reads back unchanged: it
// is the one place that knows the rules (interface names, advert interval).
// One director's is enough: the others differ only in the priorities,
// 1..254 by construction (and parsing them all is most of the time a plan
// of many directors takes).
absl::Status CheckParses(const Plan& plan) {
  const std::vector<config::VrrpInstance> instances = plan.Instances(0);
  const std::string file = "planned config";
  auto parsed = config::ParseConfig(
      absl::StrCat("interfaces: [eth0]\n", config::VrrpSectionToYaml(instances)), file);
  if (!parsed.ok()) {
    // "planned config:LINE: vrrp[0].field: why": the line is of no use here.
    absl::string_view why = parsed.status().message();
    if (const size_t colon = why.find(": ", file.size()); colon != why.npos)
      why.remove_prefix(colon + 2);
    return Bad(absl::StrCat("the planned vrrp: section would not be valid: ", why));
  }
  if (parsed->vrrp != instances)
    return absl::InternalError("the planned vrrp: section does not read back the same");
  return absl::OkStatus();
}

std::string Pad(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

}  // namespace

uint8_t Plan::Priority(size_t vip, size_t director) const {
  const std::vector<int>& order = vips[vip].order;
  const auto at = std::find(order.begin(), order.end(), static_cast<int>(director));
  return priorities[static_cast<size_t>(at - order.begin())];
}

std::vector<int> Plan::Holders(const std::vector<bool>& failed) const {
  std::vector<int> holders;
  for (const PlannedVip& v : vips) {
    int holder = -1;
    for (int d : v.order) {
      if (static_cast<size_t>(d) < failed.size() && failed[d]) continue;
      holder = d;
      break;
    }
    holders.push_back(holder);
  }
  return holders;
}

std::vector<int> Plan::Counts(const std::vector<bool>& failed) const {
  std::vector<int> counts(directors.size(), 0);
  for (int h : Holders(failed))
    if (h >= 0) ++counts[h];
  return counts;
}

std::vector<config::VrrpInstance> Plan::Instances(size_t director) const {
  std::vector<config::VrrpInstance> out;
  for (size_t i = 0; i < vips.size(); ++i) {
    config::VrrpInstance v;
    v.name = vips[i].name;
    v.interface = interface;
    v.vrid = vips[i].vrid;
    v.priority = Priority(i, director);
    v.advert_interval = advert_interval;
    v.addresses = {{vips[i].address, vips[i].prefix}};
    out.push_back(std::move(v));
  }
  return out;
}

absl::StatusOr<Plan> MakePlan(const PlanRequest& request) {
  if (absl::Status s = CheckDirectors(request.directors); !s.ok()) return s;
  Plan plan;
  plan.directors = request.directors;
  plan.interface = request.interface;
  plan.advert_interval = request.advert_interval;
  const size_t n = request.directors.size();
  const size_t count = request.vips.size();

  std::map<IpAddress, std::string> seen;  // address -> as first written
  for (const std::string& text : request.vips) {
    auto vip = ParseVip(text);
    if (!vip.ok()) return vip.status();
    if (auto [it, added] = seen.emplace(vip->first, text); !added)
      return Bad(absl::StrCat("VIP ", vip->first.ToString(), " is listed twice (as '", it->second,
                              "' and '", text, "')"));
    PlannedVip p;
    p.address = vip->first;
    p.prefix = vip->second;
    p.name = absl::StrCat("vip-", absl::StrReplaceAll(p.address.ToString(), {{":", "-"}}));
    plan.vips.push_back(std::move(p));
  }
  if (count < n)
    return Bad(absl::StrCat(count, " VIP", count == 1 ? "" : "s", " for ", n,
                            " directors: each director must be master of at least one (expected "
                            "at least ",
                            n, " VIPs)"));
  const int base = request.vrid_base;
  if (base < 1 || base > 255)
    return Bad(absl::StrCat("VRID base ", base, " is out of range (expected 1..255)"));
  const int last = base + static_cast<int>(count) - 1;
  if (last > 255)
    return Bad(absl::StrCat("VRIDs ", base, "..", last, " would pass 255 (", count,
                            " VIPs from VRID base ", base, "; expected ",
                            count <= 255 ? absl::StrCat("a base of at most ", 256 - count)
                                         : std::string("at most 255 VIPs on one interface"),
                            ")"));
  for (size_t i = 0; i < count; ++i) plan.vips[i].vrid = static_cast<uint8_t>(base + i);

  const int step = std::min<int>(50, 254 / static_cast<int>(n));
  for (size_t k = 0; k < n; ++k) plan.priorities.push_back(static_cast<uint8_t>((n - k) * step));
  ChooseOrder(n, plan.vips);
  if (absl::Status s = CheckParses(plan); !s.ok()) return s;
  return plan;
}

std::string FormatTable(const Plan& plan) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"VIP", "VRID"};
  header.insert(header.end(), plan.directors.begin(), plan.directors.end());
  rows.push_back(header);
  for (size_t i = 0; i < plan.vips.size(); ++i) {
    const PlannedVip& v = plan.vips[i];
    std::vector<std::string> row = {absl::StrCat(v.address.ToString(), "/", v.prefix),
                                    absl::StrCat(int{v.vrid})};
    for (size_t d = 0; d < plan.directors.size(); ++d)
      row.push_back(absl::StrCat(int{plan.Priority(i, d)},
                                 v.order.front() == static_cast<int>(d) ? "*" : ""));
    rows.push_back(std::move(row));
  }
  std::vector<size_t> width(header.size(), 0);
  for (const auto& row : rows)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c)
      line += c + 1 == row.size() ? row[c] : Pad(row[c], width[c] + 2);
    absl::StrAppend(&out, line, "\n");
  }
  absl::StrAppend(&out,
                  "priority per director; * master. A VIP goes to its highest priority among the "
                  "directors that are up.\n");
  return out;
}

absl::StatusOr<double> ParseBitRate(absl::string_view text) {
  const std::string expected = "expected bit/s, e.g. 1.5G, 1000M, 1Gbit/s";
  auto bad = [&](absl::string_view why) {
    return Bad(absl::StrCat("'", text, "' ", why, " (", expected, ")"));
  };
  absl::string_view rest = absl::StripAsciiWhitespace(text);
  size_t digits = 0;
  while (digits < rest.size() && (absl::ascii_isdigit(rest[digits]) || rest[digits] == '.'))
    ++digits;
  const absl::string_view number = rest.substr(0, digits);
  double value = 0;
  if (number.empty() || std::count(number.begin(), number.end(), '.') > 1 ||
      !absl::SimpleAtod(number, &value))
    return bad("is not a bit rate");
  rest = absl::StripLeadingAsciiWhitespace(rest.substr(digits));
  double multiplier = 1;
  if (!rest.empty()) {
    switch (absl::ascii_tolower(rest.front())) {
      case 'k': multiplier = 1e3; break;
      case 'm': multiplier = 1e6; break;
      case 'g': multiplier = 1e9; break;
      case 't': multiplier = 1e12; break;
      default: multiplier = 0; break;
    }
    if (multiplier != 0)
      rest.remove_prefix(1);
    else
      multiplier = 1;
  }
  const std::string unit = absl::AsciiStrToLower(rest);
  if (unit == "b" || unit == "bps" || unit == "b/s") {
    // A capital B is a byte (1GB/s = 8 Gbit/s): a factor of 8 not to guess.
    if (rest.front() == 'B') return bad("is in bytes");
  } else if (!unit.empty() && unit != "bit" && unit != "bits" && unit != "bit/s" &&
             unit != "bits/s") {
    return bad(absl::StrCat("has an unknown unit '", rest, "'"));
  }
  value *= multiplier;
  if (!(value > 0)) return bad("is not more than 0");
  if (value > 1e18) return bad("is too large");
  return value;
}

std::string FormatBitRate(double bits_per_second) {
  static constexpr std::pair<double, const char*> kUnits[] = {
      {1e12, "Tbit/s"}, {1e9, "Gbit/s"}, {1e6, "Mbit/s"}, {1e3, "kbit/s"}};
  for (const auto& [scale, name] : kUnits)
    if (bits_per_second >= scale) return absl::StrCat(bits_per_second / scale, " ", name);
  return absl::StrCat(bits_per_second, " bit/s");
}

CapacityReport CheckCapacity(const Plan& plan, double traffic, double link) {
  CapacityReport report;
  report.traffic = traffic;
  report.link = link;
  const size_t n = plan.directors.size();
  const double vips = static_cast<double>(plan.vips.size());
  for (int failed = -1; failed < static_cast<int>(n); ++failed) {
    CapacityCase c;
    c.failed = failed;
    std::vector<bool> down(n, false);
    if (failed >= 0) down[failed] = true;
    c.counts = plan.Counts(down);
    for (int held : c.counts) {
      c.loads.push_back(held * traffic / vips);
      // Compared without the division, so that a load of exactly the link fits.
      c.fits = c.fits && held * traffic <= link * vips;
    }
    report.fits = report.fits && c.fits;
    report.cases.push_back(std::move(c));
  }
  return report;
}

std::string FormatCapacity(const Plan& plan, const CapacityReport& report) {
  std::string out = absl::StrCat(
      "capacity: ", FormatBitRate(report.traffic), " over ", plan.vips.size(), " VIPs (",
      FormatBitRate(report.traffic / static_cast<double>(plan.vips.size())),
      " each), a link of ", FormatBitRate(report.link), " per director\n");
  std::vector<std::string> labels;
  size_t width = 0;
  for (const CapacityCase& c : report.cases) {
    labels.push_back(c.failed < 0 ? "all up:" : absl::StrCat(plan.directors[c.failed], " down:"));
    width = std::max(width, labels.back().size());
  }
  double worst = 0;
  for (size_t i = 0; i < report.cases.size(); ++i) {
    const CapacityCase& c = report.cases[i];
    std::vector<std::string> parts;
    for (size_t d = 0; d < c.counts.size(); ++d) {
      if (static_cast<int>(d) == c.failed) continue;
      parts.push_back(absl::StrCat(plan.directors[d], " ", c.counts[d],
                                   c.counts[d] == 1 ? " VIP " : " VIPs ",
                                   FormatBitRate(c.loads[d])));
      worst = std::max(worst, c.loads[d]);
    }
    absl::StrAppend(&out, "  ", Pad(labels[i], width + 1), absl::StrJoin(parts, ", "),
                    c.fits ? "  fits" : "  OVER THE LINK", "\n");
  }
  if (report.fits)
    absl::StrAppend(&out, "fits: with all up and after any one failure every director carries at "
                          "most ",
                    FormatBitRate(worst), ", within its ", FormatBitRate(report.link), "\n");
  else
    absl::StrAppend(&out, "does not fit: a director would carry up to ", FormatBitRate(worst),
                    ", over its ", FormatBitRate(report.link), "\n");
  return out;
}

}  // namespace xlb::vrrp
