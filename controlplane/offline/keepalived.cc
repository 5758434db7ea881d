#include "controlplane/offline/keepalived.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controlplane/config/emit.h"
#include "controlplane/config/parse.h"
#include "controlplane/config/scripts.h"
#include "controlplane/offline/keepalived_syntax.h"
#include "model/address.h"
#include "model/names.h"
#include "model/service.h"

namespace xlb::migrate {
namespace {

using config::Duration;
using config::HealthCheck;
using config::HealthType;
using config::ServiceConfig;
using config::VrrpInstance;
using config::VrrpTrack;
using model::Forward;
using model::IpAddress;
using model::Protocol;
using model::RealSpec;
using model::Scheduler;
using Statement = KeepalivedStatement;

// keepalived's defaults where xlb's differ (keepalived.conf(5)).
constexpr int kKeepalivedVrrpVersion = 2;
constexpr Duration kKeepalivedDelayLoop{60'000};
constexpr Duration kKeepalivedConnectTimeout{5'000};
constexpr uint32_t kKeepalivedPersistenceTimeoutS = 360;
// keepalived never lets tracking take a priority above this (255 is the
// address owner's, which tracking does not change).
constexpr int kMaxTrackedPriority = 254;

// Ends the import; thrown by the checks below and caught in
// ImportKeepalived, so that each check stays one line (as in config/parse.cc).
struct ImportError {
  absl::Status status;
};

// A keepalived script line as a /bin/sh command line. keepalived splits the
// line into words itself (unquoted spaces separate them, '...' keeps spaces,
// '\' takes the next character as it is) and runs them without a shell; xlb
// runs /bin/sh -c, so a word the shell would read otherwise ($, *, ;, ...)
// is quoted. A line of plain words comes out as it went in.
std::string ShellCommandOf(absl::string_view script) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false, in_quote = false;
  for (size_t i = 0; i < script.size(); ++i) {
    const char c = script[i];
    if (in_quote) {
      if (c == '\'')
        in_quote = false;
      else
        word += c;
    } else if (c == '\'') {
      in_quote = in_word = true;
    } else if (c == '\\' && i + 1 < script.size()) {
      word += script[++i];
      in_word = true;
    } else if (absl::ascii_isspace(c)) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  std::string out;
  for (const std::string& w : words) {
    constexpr absl::string_view kPlain = "/._-+,:=@%";  // and letters, digits
    // A first word with '=' would be a variable assignment to the shell.
    const bool plain = !w.empty() && !(out.empty() && absl::StrContains(w, '=')) &&
                       std::all_of(w.begin(), w.end(), [&](char c) {
                         return absl::ascii_isalnum(c) || kPlain.find(c) != absl::string_view::npos;
                       });
    absl::StrAppend(&out, out.empty() ? "" : " ", plain ? w : config::ShellQuote(w));
  }
  return out;
}

// A statement as written, for notes: `virtual_server 192.0.2.10 80`.
std::string Words(const Statement& s) {
  std::string out = s.keyword;
  for (const std::string& a : s.args)
    absl::StrAppend(&out, " ", absl::StrContains(a, ' ') || a.empty() ? absl::StrCat("\"", a, "\"") : a);
  return out;
}

// Why xlb has nothing for a keyword, for those an operator meets most.
std::string ReasonFor(absl::string_view keyword) {
  static const auto* const kReasons = new std::map<std::string, std::string, std::less<>>{
      {"notification_email", "xlb sends no e-mail (watch its metrics, or use the notify script)"},
      {"notification_email_from", "xlb sends no e-mail"},
      {"smtp_server", "xlb sends no e-mail"},
      {"smtp_connect_timeout", "xlb sends no e-mail"},
      {"smtp_helo_name", "xlb sends no e-mail"},
      {"smtp_alert", "xlb sends no e-mail"},
      {"smtp_alert_vrrp", "xlb sends no e-mail"},
      {"smtp_alert_checker", "xlb sends no e-mail"},
      {"router_id", "xlb has no router id; instances are known by their names"},
      {"enable_script_security",
       "xlb always refuses scripts that anyone but root and the script user could change"},
      {"script_user",
       "set scripts: {user: NAME} in xlb.yaml (default: xlb_script if it exists, else root)"},
      {"user",
       "set scripts: {user: NAME} in xlb.yaml (default: xlb_script if it exists, else root)"},
      {"vrrp_sync_group", "xlb has no sync groups: each instance fails over on its own"},
      {"virtual_server_group",
       "xlb has no virtual server groups: write one virtual_server per address"},
      {"static_ipaddress", "xlb manages no static addresses: keep them in the host's network setup"},
      {"static_routes", "xlb manages no routes: keep them in the host's network setup"},
      {"static_rules", "xlb manages no routing rules: keep them in the host's network setup"},
      {"virtual_routes", "xlb manages no routes: keep them in the host's network setup"},
      {"virtual_rules", "xlb manages no routing rules: keep them in the host's network setup"},
      {"virtual_ipaddress_excluded", "xlb only adds the addresses it advertises (virtual_ipaddress)"},
      {"use_vmac",
       "xlb has no virtual MAC: the master uses the interface's own MAC and announces it with "
       "gratuitous ARP / unsolicited NA"},
      {"vmac_xmit_base", "xlb has no virtual MAC"},
      {"use_vmac_addr", "xlb has no virtual MAC"},
      {"use_ipvlan", "xlb has no ipvlan interfaces"},
      {"mcast_src_ip", "xlb sends multicast adverts from the interface's primary address"},
      {"mcast_dst_ip", "xlb uses the standard groups 224.0.0.18 and ff02::12"},
      {"sorry_server", "xlb has no sorry server"},
      {"sorry_server_inhibit", "xlb has no sorry server"},
      {"sorry_server_lvs_method", "xlb has no sorry server"},
      {"quorum", "xlb has no quorum"},
      {"hysteresis", "xlb has no quorum"},
      {"quorum_up", "xlb has no quorum"},
      {"quorum_down", "xlb has no quorum"},
      {"lvs_sync_daemon",
       "xlb does not sync connections: Maglev sends a flow to the same real from every director "
       "with the same configuration"},
      {"lvs_sync_daemon_interface", "xlb does not sync connections"},
      {"alpha", "xlb starts a new real up, as keepalived does without alpha"},
      {"warmup", "xlb spreads the first checks of the reals by itself"},
      {"delay_before_retry",
       "xlb checks every delay_loop and takes a real down after retry+1 failures in a row; it "
       "does not retry sooner"},
      {"virtualhost", "xlb's HTTP check sends the real's address as Host"},
      {"digest", "xlb has no digest check (health.body can require a substring of the body)"},
      {"regex", "xlb has no regex check (health.body can require a substring of the body)"},
      {"regex_no_match", "xlb has no regex check"},
      {"regex_options", "xlb has no regex check"},
      {"regex_stack", "xlb has no regex check"},
      {"regex_min_offset", "xlb has no regex check"},
      {"regex_max_offset", "xlb has no regex check"},
      {"connect_ip", "xlb checks each real at its own address"},
      {"bind_port", "xlb's checks use the host's default source port"},
      {"bind_if", "xlb's checks use the host's routing"},
      {"notify_up", "xlb runs no script when a real changes state"},
      {"notify_down", "xlb runs no script when a real changes state"},
      {"notify_deleted",
       "xlb has no such hook: an instance that a reload removes runs notify_stop, and "
       "notify_keepalived with STOP"},
      {"notify_master_rx_lower_pri",
       "xlb has no such hook (as master it announces the VIPs again when a lower-priority "
       "router claims them)"},
      {"uthreshold", "xlb has no connection limits per real"},
      {"lthreshold", "xlb has no connection limits per real"},
      {"persistence_engine", "xlb has no persistence engines"},
      {"ops", "xlb has no one-packet scheduling"},
      {"snmp_name", "xlb has no SNMP (it serves Prometheus metrics)"},
      {"track_file", "xlb tracks services, interfaces and commands (write an exec track)"},
      {"track_process", "xlb tracks services, interfaces and commands (write an exec track)"},
      {"track_bfd", "xlb tracks services, interfaces and commands"},
      {"vrrp_track_file", "xlb tracks services, interfaces and commands (write an exec track)"},
      {"vrrp_track_process", "xlb tracks services, interfaces and commands (write an exec track)"},
      {"bfd_instance", "xlb has no BFD"},
      {"DNS_CHECK", "xlb checks by TCP connect, HTTP GET or a command (MISC_CHECK)"},
      {"UDP_CHECK", "xlb checks by TCP connect, HTTP GET or a command (MISC_CHECK)"},
      {"PING_CHECK", "xlb checks by TCP connect, HTTP GET or a command (MISC_CHECK)"},
      {"BFD_CHECK", "xlb checks by TCP connect, HTTP GET or a command (MISC_CHECK)"},
      {"FILE_CHECK", "xlb checks by TCP connect, HTTP GET or a command (MISC_CHECK)"},
      {"http_protocol", "xlb's HTTP check speaks HTTP/1.0"},
      {"misc_dynamic", "xlb does not take weights from a check's exit status"},
      {"native_ipv6", "xlb takes the family from the addresses"},
      {"garp_master_refresh", "xlb announces the addresses only on becoming master"},
      {"garp_master_refresh_repeat", "xlb announces the addresses only on becoming master"},
  };
  auto it = kReasons->find(keyword);
  return it != kReasons->end() ? it->second : "xlb has no such setting";
}

bool IsInteger(absl::string_view text) {
  if (absl::StartsWith(text, "-")) text.remove_prefix(1);
  return !text.empty() && std::all_of(text.begin(), text.end(), absl::ascii_isdigit);
}

// The first 40 chars of a command, for notes.
std::string Short(const std::string& text) {
  return text.size() <= 40 ? text : absl::StrCat(text.substr(0, 37), "...");
}

// `word` replaced by `replacement` where it stands alone (not inside a
// longer address or name).
std::string ReplaceWord(const std::string& text, const std::string& word,
                        const std::string& replacement) {
  auto part_of_word = [](char c) { return absl::ascii_isalnum(c) || c == '.' || c == ':'; };
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t at = text.find(word, pos);
    if (at == std::string::npos) break;
    const size_t end = at + word.size();
    const bool alone = (at == 0 || !part_of_word(text[at - 1])) &&
                       (end == text.size() || !part_of_word(text[end]));
    out.append(text, pos, at - pos);
    out += alone ? replacement : word;
    pos = end;
  }
  out.append(text, pos, std::string::npos);
  return out;
}

// Status codes as keepalived writes them: "200-299,404".
std::string Codes(const std::vector<int>& codes) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < codes.size();) {
    size_t j = i;
    while (j + 1 < codes.size() && codes[j + 1] == codes[j] + 1) ++j;
    parts.push_back(j == i ? absl::StrCat(codes[i]) : absl::StrCat(codes[i], "-", codes[j]));
    i = j + 1;
  }
  return absl::StrJoin(parts, ",");
}

// How `got` differs from `kept`: "timeout 10s, not 30s; port 8080, not 80".
std::string Difference(const HealthCheck& got, const HealthCheck& kept) {
  std::vector<std::string> parts;
  auto compare = [&](absl::string_view field, const std::string& a, const std::string& b) {
    if (a != b) parts.push_back(absl::StrCat(field, " ", a, ", not ", b));
  };
  auto port = [](uint16_t p) { return p ? absl::StrCat(p) : std::string("the real's"); };
  compare("type", config::HealthTypeName(got.type), config::HealthTypeName(kept.type));
  compare("port", port(got.port), port(kept.port));
  compare("path", got.path, kept.path);
  compare("status codes", Codes(got.expect), Codes(kept.expect));
  compare("command", Short(got.command), Short(kept.command));
  auto source = [](const std::optional<IpAddress>& a) {
    return a ? a->ToString() : std::string("the director's own");
  };
  compare("source", source(got.source), source(kept.source));
  compare("interval", config::FormatDuration(got.interval), config::FormatDuration(kept.interval));
  compare("timeout", config::FormatDuration(got.timeout), config::FormatDuration(kept.timeout));
  compare("fall", absl::StrCat(got.fall), absl::StrCat(kept.fall));
  return absl::StrJoin(parts, "; ");
}

// Checker settings a virtual_server passes to its real_servers, and they to
// their checkers; with the line each was set on (0: keepalived's default).
struct CheckSettings {
  Duration delay_loop = kKeepalivedDelayLoop;
  int delay_loop_line = 0;
  std::optional<Duration> connect_timeout;
  int connect_timeout_line = 0;
  std::optional<int> retry;
  int retry_line = 0;
};

// A vrrp_script, tracked by name from track_script.
struct Script {
  int line = 0;
  std::string command;
  Duration interval{1000};
  int weight = 0;
  bool reverse = false;
  int rise = 1;
  int fall = 1;
};

// A track before keepalived's signed weight is turned into xlb's.
struct PendingTrack {
  VrrpTrack track;
  int keepalived_weight = 0;  // keepalived's: < 0 lowers when down, > 0 raises when up
  int line = 0;
  std::string what;  // "track_script chk_nginx", for notes
};

// One real_server, read, with the check it asks for.
struct PendingReal {
  RealSpec real;
  int line = 0;
  std::optional<HealthCheck> health;
  int health_line = 0;
};

// Where an instance or a service of the result came from, to name it when
// xlb's validation refuses the result.
struct Origin {
  int line = 0;
  std::string what;
};

class Importer {
 public:
  explicit Importer(const std::string& file) : file_(file) {}

  KeepalivedImport Run(const std::vector<Statement>& top);
  const std::vector<Origin>& service_origins() const { return service_origins_; }
  const std::vector<Origin>& vrrp_origins() const { return vrrp_origins_; }
  const std::vector<Origin>& interface_origins() const { return interface_origins_; }

 private:
  [[noreturn]] void Fail(int line, absl::string_view what) const {
    throw ImportError{absl::InvalidArgumentError(absl::StrCat(file_, ":", line, ": ", what))};
  }
  void Note(int line, std::string text) { notes_.push_back({line, std::move(text)}); }
  void NotCarried(const Statement& s) { Note(s.line, absl::StrCat(Words(s), ": ", ReasonFor(s.keyword))); }

  // The statements of a block that apply: conditional ones and includes are
  // noted and left out.
  template <typename F>
  void ForEach(const std::vector<Statement>& block, F&& f);
  void RequireBlock(const Statement& s) const {
    if (!s.has_block) Fail(s.line, absl::StrCat(Words(s), ": expects a { block }"));
  }

  const std::string& Arg(const Statement& s, size_t i, absl::string_view expected) const;
  int64_t Integer(const Statement& s, size_t i, int64_t min, int64_t max) const;
  int64_t IntegerOf(int line, absl::string_view keyword, const std::string& text, int64_t min,
                    int64_t max) const;
  Duration Seconds(const Statement& s, size_t i, Duration min, Duration max) const;
  IpAddress Address(const Statement& s, const std::string& text) const;

  bool ReadGarp(const Statement& s, absl::string_view prefix, config::VrrpGarp& garp);
  void ReadGlobals(const Statement& s);
  void DefineScript(const Statement& s);
  void ImportInstance(const Statement& s);
  void ImportAddresses(const Statement& block, VrrpInstance& v);
  void ImportUnicastPeers(const Statement& block, VrrpInstance& v, bool& skip);
  void ReadTrackScripts(const Statement& block, std::vector<PendingTrack>& tracks);
  void ReadTrackInterfaces(const Statement& block, std::vector<PendingTrack>& tracks);
  void ApplyTracks(std::vector<PendingTrack> tracks, VrrpInstance& v);
  void ImportVirtualServer(const Statement& s);
  bool ReadCheckSetting(const Statement& s, CheckSettings& settings);
  PendingReal ReadReal(const Statement& s, const model::Service& service, Forward forward,
                       const CheckSettings& inherited);
  std::optional<HealthCheck> ReadChecker(const Statement& c, CheckSettings settings,
                                         uint16_t default_port, const std::string& real_address);

  const std::string& file_;
  std::vector<ImportNote> notes_;
  config::Config config_;
  std::vector<Origin> service_origins_, vrrp_origins_, interface_origins_;

  // From global_defs.
  int vrrp_version_ = kKeepalivedVrrpVersion;
  bool strict_ = false;
  config::VrrpGarp garp_;
  std::map<std::string, Script> scripts_;
};

template <typename F>
void Importer::ForEach(const std::vector<Statement>& block, F&& f) {
  for (const Statement& s : block) {
    if (!s.condition.empty()) {
      const bool negated = absl::StartsWith(s.condition, "@^");
      const std::string id = s.condition.substr(negated ? 2 : 1);
      Note(s.line, absl::StrCat(s.condition, " ", Words(s), ": applies only when keepalived runs ",
                                negated ? "without" : "with", " -i ", id,
                                "; conditional configuration is not carried over (add it by hand "
                                "for the host it is meant for)"));
      continue;
    }
    if (s.keyword == "include") {
      Note(s.line, absl::StrCat(Words(s),
                                ": not followed; import that file on its own and merge the "
                                "results"));
      continue;
    }
    f(s);
  }
}

const std::string& Importer::Arg(const Statement& s, size_t i, absl::string_view expected) const {
  if (i >= s.args.size())
    Fail(s.line, absl::StrCat(s.keyword, ": missing value (expected ", expected, ")"));
  return s.args[i];
}

int64_t Importer::Integer(const Statement& s, size_t i, int64_t min, int64_t max) const {
  return IntegerOf(s.line, s.keyword, Arg(s, i, absl::StrCat(min, "..", max)), min, max);
}

int64_t Importer::IntegerOf(int line, absl::string_view keyword, const std::string& text,
                            int64_t min, int64_t max) const {
  const std::string range = absl::StrCat(min, "..", max);
  int64_t v = 0;
  if (!IsInteger(text) || text.size() > 18 || !absl::SimpleAtoi(text, &v))
    Fail(line, absl::StrCat(keyword, ": '", text, "' is not a number (expected ", range, ")"));
  if (v < min || v > max)
    Fail(line, absl::StrCat(keyword, ": ", text, " is out of range (expected ", range, ")"));
  return v;
}

// keepalived's <TIMER>: seconds, with a fraction ("3", "0.5").
Duration Importer::Seconds(const Statement& s, size_t i, Duration min, Duration max) const {
  const std::string expected = absl::StrCat("seconds, ", config::FormatDuration(min), "..",
                                            config::FormatDuration(max), ", e.g. 3 or 0.5");
  const std::string& text = Arg(s, i, expected);
  const size_t dot = text.find('.');
  const bool digits = !text.empty() && dot != 0 && dot + 1 != text.size() &&
                      std::all_of(text.begin(), text.end(), [](char c) {
                        return absl::ascii_isdigit(c) || c == '.';
                      }) &&
                      std::count(text.begin(), text.end(), '.') <= 1;
  if (!digits)
    Fail(s.line, absl::StrCat(s.keyword, ": '", text, "' is not a number of seconds (expected ",
                              expected, ")"));
  absl::StatusOr<Duration> d = config::ParseDuration(absl::StrCat(text, "s"));
  if (!d.ok())
    Fail(s.line, absl::StrCat(s.keyword, ": '", text,
                              "' seconds is not a whole number of milliseconds or is too long "
                              "(expected ",
                              expected, ")"));
  if (*d < min || *d > max)
    Fail(s.line, absl::StrCat(s.keyword, ": ", text, " is out of range (expected ", expected, ")"));
  return *d;
}

IpAddress Importer::Address(const Statement& s, const std::string& text) const {
  absl::StatusOr<IpAddress> ip = IpAddress::Parse(text);
  if (!ip.ok())
    Fail(s.line, absl::StrCat(s.keyword, ": '", text,
                              "' is not an IP address (expected e.g. 192.0.2.10 or 2001:db8::10)"));
  return *ip;
}

// ---- global_defs and vrrp_script ----

// garp_master_delay / garp_master_repeat (with `prefix` "vrrp_" in
// global_defs); false for any other keyword. keepalived sends `repeat`
// gratuitous ARPs at once and the same again `delay` later (0: not again).
bool Importer::ReadGarp(const Statement& s, absl::string_view prefix, config::VrrpGarp& garp) {
  if (s.keyword == absl::StrCat(prefix, "garp_master_delay")) {
    const Duration d = Seconds(s, 0, Duration(0), Duration(3'600'000));
    garp.repeat = d.count() == 0 ? 0 : 1;
    if (d.count() != 0) garp.interval = std::max(d, Duration(10));
    if (d.count() != 0 && d < Duration(10))
      Note(s.line, absl::StrCat(Words(s), ": xlb waits at least 10ms; 10ms is used"));
    return true;
  }
  if (s.keyword == absl::StrCat(prefix, "garp_master_repeat")) {
    const int64_t n = Integer(s, 0, 0, 1'000'000);
    garp.count = static_cast<int>(std::clamp<int64_t>(n, 1, 100));
    if (n != garp.count)
      Note(s.line, absl::StrCat(Words(s), ": xlb sends 1..100 at a time; ", garp.count, " is used"));
    return true;
  }
  return false;
}

void Importer::ReadGlobals(const Statement& g) {
  RequireBlock(g);
  ForEach(g.block, [&](const Statement& s) {
    if (s.keyword == "vrrp_version") {
      vrrp_version_ = static_cast<int>(Integer(s, 0, 2, 3));
    } else if (s.keyword == "vrrp_strict") {
      strict_ = true;
      Note(s.line, "vrrp_strict: only its no_accept part is carried over (accept: false)");
    } else if (!ReadGarp(s, "vrrp_", garp_)) {
      NotCarried(s);
    }
  });
}

void Importer::DefineScript(const Statement& def) {
  RequireBlock(def);
  const std::string& name = Arg(def, 0, "a script name");
  Script script;
  script.line = def.line;
  ForEach(def.block, [&](const Statement& s) {
    if (s.keyword == "script") {
      Arg(s, 0, "a command");
      script.command = absl::StrJoin(s.args, " ");
    } else if (s.keyword == "interval") {
      script.interval = Seconds(s, 0, Duration(1), Duration(3'600'000));
    } else if (s.keyword == "weight") {
      script.weight = static_cast<int>(Integer(s, 0, -254, 254));
      if (s.args.size() > 1 && s.args[1] == "reverse") script.reverse = true;
    } else if (s.keyword == "rise" || s.keyword == "fall") {
      const int64_t n = Integer(s, 0, 1, 1'000'000);
      if (n > 100)
        Note(s.line, absl::StrCat(Words(s), ": xlb counts up to 100; 100 is used"));
      (s.keyword == "rise" ? script.rise : script.fall) = static_cast<int>(std::min<int64_t>(n, 100));
    } else if (s.keyword == "timeout") {
      Note(s.line, absl::StrCat(Words(s), ": xlb does not time out a track command"));
    } else if (s.keyword == "init_fail") {
      Note(s.line, absl::StrCat(Words(s), ": xlb counts a track command up until it fails"));
    } else {
      NotCarried(s);
    }
  });
  // Tracks of it are left out (and noted); keepalived refuses them too.
  if (script.command.empty())
    Note(def.line, absl::StrCat("vrrp_script ", name, ": has no script; not carried over"));
  if (auto [it, added] = scripts_.emplace(name, script); !added)
    Fail(def.line, absl::StrCat("vrrp_script ", name, " is defined twice (first at line ",
                                it->second.line, ")"));
}

// ---- vrrp_instance ----

void Importer::ImportInstance(const Statement& inst) {
  RequireBlock(inst);
  VrrpInstance v;
  std::string name = Arg(inst, 0, "an instance name");
  v.name = name;
  if (!config::IsServiceName(v.name)) {
    for (char& c : v.name)
      if (!config::IsServiceName(std::string(1, c))) c = '_';
    Note(inst.line, absl::StrCat("vrrp_instance ", name, ": named ", v.name,
                                 " (xlb names hold letters, digits, '_', '.', '-')"));
  }
  const std::string what = absl::StrCat("vrrp_instance ", name);

  bool has_vrid = false;
  std::optional<int> version;
  std::optional<Duration> advert;
  const Statement* advert_stmt = nullptr;
  std::optional<bool> accept;
  bool strict = strict_;
  const Statement* auth = nullptr;
  std::vector<const Statement*> address_blocks, peer_blocks;
  const Statement* unicast_source = nullptr;
  std::vector<PendingTrack> tracks;
  v.garp = garp_;

  ForEach(inst.block, [&](const Statement& s) {
    const std::string& k = s.keyword;
    if (k == "state") {
      const std::string state = absl::AsciiStrToUpper(Arg(s, 0, "MASTER or BACKUP"));
      if (state == "MASTER")
        Note(s.line, "state MASTER: xlb has no initial state; it starts as backup and the "
                     "priority decides, as the RFCs say");
      else if (state != "BACKUP")
        Fail(s.line, absl::StrCat("state: '", s.args[0], "' is not MASTER or BACKUP"));
    } else if (k == "interface") {
      v.interface = Arg(s, 0, "an interface name");
    } else if (k == "virtual_router_id") {
      v.vrid = static_cast<uint8_t>(Integer(s, 0, 1, 255));
      has_vrid = true;
    } else if (k == "priority") {
      v.priority = static_cast<uint8_t>(Integer(s, 0, 1, 255));
    } else if (k == "version") {
      version = static_cast<int>(Integer(s, 0, 2, 3));
    } else if (k == "advert_int") {
      advert = Seconds(s, 0, Duration(1), Duration(255'000));
      advert_stmt = &s;
    } else if (k == "nopreempt" || k == "no_preempt") {
      v.preempt = false;
    } else if (k == "preempt") {
      v.preempt = true;
    } else if (k == "preempt_delay") {
      v.preempt_delay = Seconds(s, 0, Duration(0), Duration(1'000'000));
    } else if (k == "accept") {
      accept = true;
    } else if (k == "no_accept") {
      accept = false;
    } else if (k == "strict_mode") {
      const std::string on = s.args.empty() ? "on" : absl::AsciiStrToLower(s.args[0]);
      strict = on == "on" || on == "true" || on == "yes";
      if (strict) Note(s.line, absl::StrCat(Words(s), ": only its no_accept part is carried over (accept: false)"));
    } else if (k == "authentication") {
      RequireBlock(s);
      auth = &s;
    } else if (k == "virtual_ipaddress") {
      RequireBlock(s);
      address_blocks.push_back(&s);
    } else if (k == "unicast_src_ip") {
      Arg(s, 0, "an IP address");
      unicast_source = &s;
    } else if (k == "unicast_peer") {
      RequireBlock(s);
      peer_blocks.push_back(&s);
    } else if (k == "track_script") {
      RequireBlock(s);
      ReadTrackScripts(s, tracks);
    } else if (k == "track_interface") {
      RequireBlock(s);
      ReadTrackInterfaces(s, tracks);
    } else if (std::string* hook = k == "notify"          ? &v.notify_keepalived
                                   : k == "notify_master" ? &v.notify_master
                                   : k == "notify_backup" ? &v.notify_backup
                                   : k == "notify_fault"  ? &v.notify_fault
                                   : k == "notify_stop"   ? &v.notify_stop
                                                          : nullptr) {
      *hook = ShellCommandOf(Arg(s, 0, "a script"));
      if (s.args.size() > 1)
        Note(s.line, absl::StrCat(Words(s), ": the user/group words are dropped (",
                                  ReasonFor("user"), ")"));
      if (hook->empty()) Note(s.line, absl::StrCat(Words(s), ": runs nothing; not carried over"));
    } else if (!ReadGarp(s, "", v.garp)) {
      NotCarried(s);
    }
  });

  auto skip = [&](absl::string_view why) {
    Note(inst.line, absl::StrCat(what, ": not carried over: ", why));
  };
  if (!has_vrid) return skip("it has no virtual_router_id");
  if (v.interface.empty())
    return skip("it has no interface (xlb sends adverts and adds the addresses on one)");

  for (const Statement* b : address_blocks) ImportAddresses(*b, v);
  if (v.addresses.empty()) return skip("it has no virtual_ipaddress (xlb needs at least one)");
  const bool v6 = !v.addresses.front().first.is_v4();

  // keepalived runs IPv6 instances as version 3 whatever is configured.
  v.version = v6 ? 3 : version.value_or(vrrp_version_);
  v.accept = accept.value_or(!strict);

  if (advert) {
    // v2 counts whole seconds, v3 centiseconds: keepalived rounds too.
    const int64_t step = v.version == 2 ? 1000 : 10;
    const int64_t ms = std::max<int64_t>(step, (advert->count() + step / 2) / step * step);
    if (ms > (v.version == 2 ? 255'000 : 40'950))
      Fail(advert_stmt->line, absl::StrCat("advert_int: ", advert_stmt->args[0],
                                           " is out of range for VRRP version ", v.version,
                                           v.version == 2 ? " (expected 1..255)" : " (expected 0.01..40.95)"));
    if (ms != advert->count())
      Note(advert_stmt->line,
           absl::StrCat(Words(*advert_stmt), ": VRRP version ", v.version, " counts in ",
                        v.version == 2 ? "whole seconds" : "centiseconds", "; xlb uses ",
                        config::FormatDuration(Duration(ms))));
    v.advert_interval = Duration(ms);
  } else {
    v.advert_interval = Duration(1000);
  }

  if (auth) {
    std::string type, pass;
    const Statement* type_stmt = nullptr;
    const Statement* pass_stmt = nullptr;
    ForEach(auth->block, [&](const Statement& s) {
      if (s.keyword == "auth_type") {
        type = absl::AsciiStrToUpper(Arg(s, 0, "PASS or AH"));
        type_stmt = &s;
      } else if (s.keyword == "auth_pass") {
        pass = Arg(s, 0, "a password");
        pass_stmt = &s;
      } else {
        NotCarried(s);
      }
    });
    if (v.version == 3) {
      Note(auth->line, "authentication: VRRPv3 has none (RFC 5798); keepalived ignores it too");
    } else if (type == "AH") {
      Note(type_stmt->line, "auth_type AH: xlb does not implement keepalived's AH authentication; "
                            "the instance runs without authentication, which the peers must "
                            "match");
    } else if (type != "PASS") {
      Note(auth->line, absl::StrCat("authentication",
                                    type.empty() ? " without auth_type" : " auth_type " + type,
                                    ": not carried over (xlb knows PASS)"));
    } else if (pass.empty()) {
      Note(auth->line, "authentication without auth_pass: not carried over");
    } else {
      v.auth_secret = pass.substr(0, 8);
      if (pass.size() > 8)
        Note(pass_stmt->line, absl::StrCat("auth_pass: only the first 8 characters count (as in "
                                           "keepalived); xlb's secret is ",
                                           v.auth_secret));
    }
  }

  const model::Family family = v.addresses.front().first.family();
  if (unicast_source) {
    const IpAddress src = Address(*unicast_source, unicast_source->args[0]);
    if (src.family() != family)
      Note(unicast_source->line, absl::StrCat(Words(*unicast_source),
                                              ": not the family of the addresses; xlb sends "
                                              "from the interface's address"));
    else
      v.unicast_source = src;
  }
  bool skip_instance = false;
  for (const Statement* b : peer_blocks) ImportUnicastPeers(*b, v, skip_instance);
  if (skip_instance) return skip("none of its unicast peers can be carried over (see above)");
  if (v.unicast_peers.empty() && v.unicast_source) {
    Note(unicast_source->line, absl::StrCat(Words(*unicast_source),
                                            ": without unicast peers keepalived sends "
                                            "multicast, and so does xlb (from the interface's "
                                            "address)"));
    v.unicast_source.reset();
  }

  ApplyTracks(std::move(tracks), v);
  vrrp_origins_.push_back({inst.line, what});
  config_.vrrp.push_back(std::move(v));
}

void Importer::ImportAddresses(const Statement& block, VrrpInstance& v) {
  std::map<IpAddress, int> seen;
  for (const auto& [address, prefix] : v.addresses) seen.emplace(address, 0);
  ForEach(block.block, [&](const Statement& s) {
    const std::string& text = s.keyword;
    const size_t slash = text.find('/');
    const IpAddress ip = Address(s, text.substr(0, slash));
    int prefix = ip.max_prefix_len();  // keepalived's default: a host address
    if (slash != std::string::npos) {
      const std::string p = text.substr(slash + 1);
      int64_t n = 0;
      if (!IsInteger(p) || p[0] == '-' || p.size() > 3 || !absl::SimpleAtoi(p, &n) || n < 1 ||
          n > ip.max_prefix_len())
        Fail(s.line, absl::StrCat("virtual_ipaddress: '", text, "' has a bad prefix length (expected 1..",
                                  ip.max_prefix_len(), ")"));
      prefix = static_cast<int>(n);
    }
    // Options: those that name another device, and the rest.
    std::vector<std::string> dropped;
    for (size_t i = 0; i < s.args.size(); ++i) {
      static const std::set<std::string> kWithValue = {"dev", "brd", "broadcast", "scope", "label",
                                                       "peer", "preferred_lft", "track_group"};
      std::string option = s.args[i];
      if (kWithValue.count(option) && i + 1 < s.args.size()) option += " " + s.args[++i];
      if (option != "dev " + v.interface) dropped.push_back(option);
    }
    if (!dropped.empty())
      Note(s.line, absl::StrCat(Words(s), ": xlb adds the address to ", v.interface,
                                " without options; dropped: ", absl::StrJoin(dropped, ", ")));
    if (!v.addresses.empty() && ip.family() != v.addresses.front().first.family()) {
      Note(s.line, absl::StrCat(text, ": not the family of ", v.addresses.front().first.ToString(),
                                " (one family per instance, in keepalived too); not carried over"));
      return;
    }
    if (!seen.emplace(ip, s.line).second) {
      Note(s.line, absl::StrCat(text, ": listed twice; carried over once"));
      return;
    }
    v.addresses.emplace_back(ip, prefix);
  });
}

void Importer::ImportUnicastPeers(const Statement& block, VrrpInstance& v, bool& skip) {
  const model::Family family = v.addresses.front().first.family();
  bool any = false, kept = false;
  ForEach(block.block, [&](const Statement& s) {
    any = true;
    const IpAddress peer = Address(s, s.keyword);
    if (!s.args.empty())
      Note(s.line, absl::StrCat(Words(s), ": xlb does not check the TTL of adverts; dropped: ",
                                absl::StrJoin(s.args, " ")));
    if (peer.family() != family) {
      Note(s.line, absl::StrCat(s.keyword, ": not the family of the addresses; not carried over"));
      return;
    }
    if (v.unicast_source && peer == *v.unicast_source) {
      Note(s.line, absl::StrCat(s.keyword, ": this is unicast_src_ip itself; not carried over"));
      return;
    }
    if (std::find(v.unicast_peers.begin(), v.unicast_peers.end(), peer) != v.unicast_peers.end()) {
      Note(s.line, absl::StrCat(s.keyword, ": listed twice; carried over once"));
      return;
    }
    v.unicast_peers.push_back(peer);
    kept = true;
  });
  if (!any)
    Note(block.line, "unicast_peer { }: empty, so keepalived sends multicast, and so does xlb");
  else if (!kept && v.unicast_peers.empty())
    skip = true;  // multicast instead of the unicast asked for would be a silent change
}

void Importer::ReadTrackScripts(const Statement& block, std::vector<PendingTrack>& tracks) {
  ForEach(block.block, [&](const Statement& s) {
    const std::string what = absl::StrCat("track_script ", s.keyword);
    auto it = scripts_.find(s.keyword);
    if (it == scripts_.end()) {
      Note(s.line, absl::StrCat(what, ": no vrrp_script ", s.keyword,
                                " in this file (in an include?); not carried over"));
      return;
    }
    const Script& script = it->second;
    if (script.command.empty()) {
      Note(s.line, absl::StrCat(what, ": vrrp_script ", s.keyword, " (line ", script.line,
                                ") has no script; not carried over"));
      return;
    }
    int weight = script.weight;
    bool reverse = script.reverse;
    for (size_t i = 0; i < s.args.size(); ++i) {
      if (s.args[i] == "weight") {
        if (i + 1 == s.args.size())
          Fail(s.line, absl::StrCat(what, ": weight: missing value (expected -254..254)"));
        weight = static_cast<int>(IntegerOf(s.line, "weight", s.args[++i], -254, 254));
      } else if (s.args[i] == "reverse") {
        reverse = true;
      } else if (s.args[i] == "no_reverse" || s.args[i] == "noreverse") {
        reverse = false;
      } else {
        Fail(s.line, absl::StrCat(what, ": '", s.args[i], "' is not weight N [reverse]"));
      }
    }
    if (reverse) {
      Note(s.line, absl::StrCat(what, ": reverse (down while the script succeeds) has no "
                                      "counterpart in xlb; not carried over"));
      return;
    }
    PendingTrack t;
    t.track.kind = VrrpTrack::kExec;
    t.track.target = script.command;
    t.track.interval = script.interval;
    t.track.rise = script.rise;
    t.track.fall = script.fall;
    t.keepalived_weight = weight;
    t.line = s.line;
    t.what = what;
    tracks.push_back(std::move(t));
  });
}

void Importer::ReadTrackInterfaces(const Statement& block, std::vector<PendingTrack>& tracks) {
  ForEach(block.block, [&](const Statement& s) {
    const std::string what = absl::StrCat("track_interface ", s.keyword);
    int weight = 0;
    for (size_t i = 0; i < s.args.size(); ++i) {
      if (s.args[i] == "weight") {
        if (i + 1 == s.args.size())
          Fail(s.line, absl::StrCat(what, ": weight: missing value (expected -254..254)"));
        weight = static_cast<int>(IntegerOf(s.line, "weight", s.args[++i], -254, 254));
      } else if (s.args[i] == "reverse") {
        Note(s.line, absl::StrCat(what, ": reverse has no counterpart in xlb; not carried over"));
        return;
      } else if (s.args[i] != "no_reverse" && s.args[i] != "noreverse") {
        Fail(s.line, absl::StrCat(what, ": '", s.args[i], "' is not weight N [reverse]"));
      }
    }
    PendingTrack t;
    t.track.kind = VrrpTrack::kInterface;
    t.track.target = s.keyword;
    t.keepalived_weight = weight;
    t.line = s.line;
    t.what = what;
    tracks.push_back(std::move(t));
  });
}

// keepalived: weight 0 = fault while down, < 0 = lower by |weight| while
// down, > 0 = raise by weight while up; the sum is kept in 1..254. xlb only
// lowers while down, so a positive weight W becomes priority + W and a track
// lowering it by W: the same priorities in every state.
void Importer::ApplyTracks(std::vector<PendingTrack> tracks, VrrpInstance& v) {
  std::set<std::pair<int, std::string>> seen;
  std::vector<const PendingTrack*> raising;
  int raise = 0;
  for (PendingTrack& t : tracks) {
    if (!seen.emplace(int{t.track.kind}, t.track.target).second) {
      Note(t.line, absl::StrCat(t.what, ": tracked twice; carried over once"));
      continue;
    }
    if (v.priority == 255 && t.keepalived_weight != 0) {
      Note(t.line, absl::StrCat(t.what, " weight ", t.keepalived_weight,
                                ": keepalived never changes the priority of an address owner "
                                "(255); not carried over"));
      continue;
    }
    t.track.weight = std::abs(t.keepalived_weight);
    if (t.keepalived_weight > 0) {
      raise += t.keepalived_weight;
      raising.push_back(&t);
    }
    v.track.push_back(t.track);
  }
  if (raise == 0) return;
  const int base = v.priority;
  const int raised = std::min(base + raise, kMaxTrackedPriority);
  for (const PendingTrack* pt : raising) {
    const PendingTrack& t = *pt;
    Note(t.line,
         absl::StrCat(t.what, " weight ", t.keepalived_weight, ": keepalived raises the priority by ",
                      t.keepalived_weight, " while it is up; xlb only lowers a priority, so the "
                      "priority becomes ", raised, " (", base, " + the positive weights",
                      raised < base + raise ? ", at most 254" : "", ") and this track lowers it by ",
                      t.keepalived_weight, " while it is down"));
  }
  v.priority = static_cast<uint8_t>(raised);
}

// ---- virtual_server ----

// delay_loop, connect_timeout, retry and the settings xlb has no use for;
// false for any other keyword.
bool Importer::ReadCheckSetting(const Statement& s, CheckSettings& settings) {
  const std::string& k = s.keyword;
  if (k == "delay_loop") {
    settings.delay_loop = Seconds(s, 0, Duration(1), Duration(3'600'000));
    settings.delay_loop_line = s.line;
  } else if (k == "connect_timeout") {
    settings.connect_timeout = Seconds(s, 0, Duration(1), Duration(3'600'000));
    settings.connect_timeout_line = s.line;
  } else if (k == "retry" || k == "nb_get_retry") {
    settings.retry = static_cast<int>(Integer(s, 0, 0, 1'000'000));
    settings.retry_line = s.line;
  } else if (k == "inhibit_on_failure") {
    // What xlb always does: a failed real takes no new flows and keeps its
    // established ones.
  } else if (k == "delay_before_retry" || k == "warmup" || k == "alpha" ||
             k == "log_all_failures") {
    NotCarried(s);
  } else {
    return false;
  }
  return true;
}

void Importer::ImportVirtualServer(const Statement& vs) {
  RequireBlock(vs);
  const std::string what = Words(vs);
  const std::string& first = Arg(vs, 0, "an IP address and a port");
  if (first == "fwmark" || first == "group") {
    Note(vs.line, absl::StrCat(what, ": not carried over (xlb's services are an address and a "
                                     "port, not ",
                               first == "fwmark" ? "a firewall mark" : "a virtual_server_group",
                               ")"));
    return;
  }
  model::Service service;
  service.key.vip = Address(vs, first);
  if (vs.args.size() > 1) service.key.port = static_cast<uint16_t>(Integer(vs, 1, 0, 65535));
  // keepalived's port 0 (or none, for a persistent service) is every port.
  service.options.all_ports = service.key.port == 0;
  service.options.forward = Forward::kNat;  // keepalived's default lb_kind

  CheckSettings settings;
  std::vector<const Statement*> reals;
  std::optional<int64_t> persistence;
  const Statement* granularity = nullptr;
  std::string skip;
  int skip_line = 0;
  struct TunnelSetting {
    std::string keyword, value;
    int line;
  };
  std::vector<TunnelSetting> tunnel_settings;  // read once lb_kind is known
  ForEach(vs.block, [&](const Statement& s) {
    const std::string& k = s.keyword;
    if (k == "lb_algo" || k == "lvs_sched") {
      const std::string& sched = Arg(s, 0, "a scheduler, e.g. wlc");
      if (sched == "sh" || sched == "mh") {
        service.options.scheduler = Scheduler::kSourceHash;  // both hash the client's address
      } else {
        service.options.scheduler = Scheduler::kMaglev;
        Note(s.line, absl::StrCat(Words(s), ": xlb uses Maglev (a hash of each connection, the "
                                            "same on every director); the weights are kept"));
      }
    } else if (k == "lb_kind" || k == "lvs_method") {
      const std::string kind = absl::AsciiStrToUpper(Arg(s, 0, "NAT, DR or TUN"));
      if (kind == "NAT") {
        service.options.forward = Forward::kNat;
      } else if (kind == "DR") {
        service.options.forward = Forward::kDr;
      } else if (kind == "TUN") {
        service.options.forward = Forward::kTunnel;  // encap ipip unless tun_type says
        // keepalived also takes the tunnel inline: TUN type gue port 6080 [nocsum].
        for (size_t i = 1; i < s.args.size(); ++i) {
          const std::string& word = s.args[i];
          if ((word == "type" || word == "port") && i + 1 < s.args.size()) {
            const char* keyword = word == "type" ? "tun_type" : "tun_port";
            tunnel_settings.push_back({keyword, s.args[++i], s.line});
          } else {
            tunnel_settings.push_back({"tun_flags", word, s.line});
          }
        }
      } else {
        Fail(s.line, absl::StrCat(k, ": '", s.args[0], "' is not NAT, DR or TUN"));
      }
    } else if (k == "protocol") {
      const std::string proto = absl::AsciiStrToUpper(Arg(s, 0, "TCP or UDP"));
      if (proto == "TCP") {
        service.key.protocol = Protocol::kTcp;
      } else if (proto == "UDP") {
        service.key.protocol = Protocol::kUdp;
      } else if (proto == "SCTP") {
        skip = "protocol SCTP: xlb forwards TCP and UDP";
        skip_line = s.line;
      } else {
        Fail(s.line, absl::StrCat("protocol: '", s.args[0], "' is not TCP, UDP or SCTP"));
      }
    } else if (k == "tun_type" || k == "tun_port" || k == "tun_flags") {
      tunnel_settings.push_back({k, Arg(s, 0, k == "tun_port" ? "a port" : "a value"), s.line});
    } else if (k == "persistence_timeout") {
      persistence = s.args.empty() ? kKeepalivedPersistenceTimeoutS
                                   : Integer(s, 0, 0, std::numeric_limits<uint32_t>::max());
    } else if (k == "persistence_granularity") {
      Arg(s, 0, "a netmask, e.g. 255.255.255.0 or 64");
      granularity = &s;
    } else if (k == "real_server") {
      RequireBlock(s);  // keepalived takes a real_server without one; xlb's result would lack its check
      reals.push_back(&s);
    } else if (!ReadCheckSetting(s, settings)) {
      NotCarried(s);
    }
  });
  // keepalived's tunnel types: ipip and gue map to xlb's encap; gre, and
  // checksum flags xlb does not send (it sends no GUE checksum over IPv4,
  // computes it over IPv6), have no equivalent.
  std::optional<int64_t> tun_port;
  int tun_port_line = 0;
  for (const TunnelSetting& t : tunnel_settings) {
    if (service.options.forward != Forward::kTunnel) {
      Note(t.line, absl::StrCat(t.keyword, " ", t.value, ": only for lb_kind TUN; ignored"));
      continue;
    }
    const std::string value = absl::AsciiStrToLower(t.value);
    if (t.keyword == "tun_type") {
      if (value == "ipip") {
        service.options.tunnel.encap = model::Encap::kIpip;
      } else if (value == "gue") {
        service.options.tunnel.encap = model::Encap::kGue;
      } else if (value == "gre") {
        skip = "tun_type gre: xlb encapsulates in IPIP or GUE, not GRE";
        skip_line = t.line;
      } else {
        Fail(t.line, absl::StrCat("tun_type: '", t.value, "' is not ipip, gue or gre"));
      }
    } else if (t.keyword == "tun_port") {
      int64_t port = 0;
      if (!IsInteger(t.value) || !absl::SimpleAtoi(t.value, &port) || port < 1 || port > 65535)
        Fail(t.line, absl::StrCat("tun_port: '", t.value, "' is not a port (1..65535)"));
      tun_port = port;
      tun_port_line = t.line;
    } else if (value != "nocsum") {
      skip = absl::StrCat("tun_flags ", t.value, ": xlb sends GUE without a checksum over IPv4 "
                          "and with a full one over IPv6, never remote checksum offload");
      skip_line = t.line;
    }
  }
  if (tun_port) {
    if (service.options.tunnel.encap == model::Encap::kGue)
      service.options.tunnel.gue_port = static_cast<uint16_t>(*tun_port);
    else
      Note(tun_port_line, absl::StrCat("tun_port ", *tun_port, ": only for tun_type gue; ignored"));
  }
  if (!skip.empty()) {
    Note(skip_line, absl::StrCat(what, ": not carried over: ", skip));
    return;
  }
  if (service.options.forward == Forward::kTunnel && !service.options.tunnel.source &&
      service.options.tunnel.encap == model::Encap::kIpip)
    Note(vs.line, absl::StrCat(what, ": lb_kind TUN is forward: tunnel, encap: ipip; consider "
                                     "tunnel_source (a prefix routed to the directors) so that "
                                     "the reals' NICs spread flows over their queues"));

  if (persistence && *persistence > 0) {
    service.options.persistence_timeout_s = static_cast<uint32_t>(*persistence);
    if (granularity) {
      const std::string& mask = granularity->args[0];
      int bits = -1;
      if (absl::StrContains(mask, '.') || absl::StrContains(mask, ':')) {
        absl::StatusOr<IpAddress> m = IpAddress::Parse(mask);
        if (m.ok() && m->family() == service.key.vip.family()) {
          // A netmask is ones, then zeros: all ones masked to its length.
          const IpAddress all_ones = *IpAddress::Parse(
              m->is_v4() ? "255.255.255.255" : "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
          for (int len = 0; len <= m->max_prefix_len(); ++len)
            if (all_ones.Masked(len) == *m) bits = len;
        }
      } else if (IsInteger(mask) && mask[0] != '-' && mask.size() <= 3) {
        int n = 0;
        if (absl::SimpleAtoi(mask, &n) && n <= service.key.vip.max_prefix_len()) bits = n;
      }
      if (bits < 0)
        Fail(granularity->line,
             absl::StrCat("persistence_granularity: '", mask,
                          "' is not a netmask of the service's family (expected e.g. "
                          "255.255.255.0, or a prefix length)"));
      service.options.persistence_netmask = bits;
    }
  } else if (granularity) {
    Note(granularity->line, absl::StrCat(Words(*granularity),
                                         ": without persistence_timeout it has no effect"));
  }

  // The reals, and one health check for the service: xlb has one per
  // service, keepalived one (or more) per real.
  ServiceConfig sc;
  sc.service = service;
  std::vector<PendingReal> pending;
  std::set<std::pair<IpAddress, uint16_t>> seen;
  for (const Statement* r : reals) {
    PendingReal p = ReadReal(*r, service, service.options.forward, settings);
    if (p.real.address.family() != service.key.vip.family()) {
      Note(r->line, absl::StrCat(Words(*r), ": not the family of the virtual server; not "
                                            "carried over"));
      continue;
    }
    if (!seen.emplace(p.real.address, model::EffectivePort(service.key, p.real)).second) {
      Note(r->line, absl::StrCat(Words(*r), ": listed twice; carried over once"));
      continue;
    }
    pending.push_back(std::move(p));
  }
  const PendingReal* checked = nullptr;
  for (const PendingReal& p : pending)
    if (p.health) {
      checked = &p;
      break;
    }
  for (const PendingReal& p : pending) {
    sc.reals.push_back(p.real);
    if (!checked || &p == checked || p.health == checked->health) continue;
    const std::string real = absl::StrCat("real_server ", p.real.address.ToString());
    const std::string other = absl::StrCat(checked->real.address.ToString(), " (line ",
                                           checked->health_line, ")");
    if (!p.health)
      Note(p.line, absl::StrCat(real, ": has no check that xlb carries over; xlb has one health "
                                      "check per service, so it is checked like ",
                                other));
    else
      Note(p.health_line, absl::StrCat(real, ": its check differs (",
                                       Difference(*p.health, *checked->health), ") from that of ",
                                       other, "; xlb has one health check per service: that one"));
  }
  if (checked) sc.health = *checked->health;

  sc.name = absl::StrCat(model::NameOf(service.key.protocol), "-",
                         service.key.vip.ToString(), "-",
                         service.options.all_ports ? std::string("all") : absl::StrCat(service.key.port));
  std::replace(sc.name.begin(), sc.name.end(), ':', '_');  // IPv6: ':' is not in a service name
  for (const ServiceConfig& other : config_.services)
    if (other.service.key == sc.service.key) {
      Note(vs.line, absl::StrCat(what, ": the same service as ", other.name,
                                 " above; not carried over"));
      return;
    }
  service_origins_.push_back({vs.line, what});
  config_.services.push_back(std::move(sc));
}

PendingReal Importer::ReadReal(const Statement& rs, const model::Service& service,
                               Forward forward, const CheckSettings& inherited) {
  PendingReal p;
  p.line = rs.line;
  p.real.address = Address(rs, Arg(rs, 0, "an IP address and a port"));
  const uint16_t port = rs.args.size() > 1 ? static_cast<uint16_t>(Integer(rs, 1, 0, 65535)) : 0;
  // keepalived checks the real's port, else the service's.
  const uint16_t check_port = port ? port : service.key.port;
  if (service.options.all_ports || forward != Forward::kNat) {
    // Direct routing, a tunnel (and an all-ports service) keep the client's
    // port; IPVS ignores the real's port there too.
    if (port != 0 && port != service.key.port)
      Note(rs.line, absl::StrCat(Words(rs), ": ",
                                 service.options.all_ports ? "an all-ports service"
                                 : forward == Forward::kDr ? "direct routing"
                                                           : "a tunnel",
                                 " keeps the client's port (IPVS ignores this port too); the "
                                 "check still goes to ",
                                 port));
  } else if (port != service.key.port) {
    p.real.port = port;
  }
  CheckSettings settings = inherited;
  ForEach(rs.block, [&](const Statement& s) {
    const std::string& k = s.keyword;
    if (k == "weight") {
      p.real.weight = static_cast<uint32_t>(Integer(s, 0, 0, model::kMaxWeight));
    } else if (k == "lvs_method") {
      const std::string m = absl::AsciiStrToUpper(Arg(s, 0, "NAT, DR or TUN"));
      const char* kind = forward == Forward::kDr ? "DR" : forward == Forward::kNat ? "NAT" : "TUN";
      if (m != kind)
        Note(s.line, absl::StrCat(Words(s), ": xlb forwards to every real of a service the "
                                            "same way: ",
                                  model::NameOf(forward)));
    } else if (k == "TCP_CHECK" || k == "HTTP_GET" || k == "SSL_GET" || k == "SMTP_CHECK" ||
               k == "MISC_CHECK") {
      RequireBlock(s);
      if (p.health) {
        Note(s.line, absl::StrCat(k, ": xlb keeps one check per real: the one at line ",
                                  p.health_line));
        return;
      }
      std::optional<HealthCheck> h = ReadChecker(s, settings, check_port, rs.args[0]);
      if (!h) return;
      // Port 0: the real's port, as xlb reaches it.
      if (h->port == model::EffectivePort(service.key, p.real)) h->port = 0;
      if (h->port == 0 && service.options.all_ports && h->type != HealthType::kExec) {
        Note(s.line, absl::StrCat(k, ": an all-ports service has no port to check (give "
                                     "connect_port); not carried over"));
        return;
      }
      p.health = h;
      p.health_line = s.line;
    } else if (!ReadCheckSetting(s, settings)) {
      NotCarried(s);
    }
  });
  return p;
}

std::optional<HealthCheck> Importer::ReadChecker(const Statement& c, CheckSettings settings,
                                                 uint16_t default_port,
                                                 const std::string& real_address) {
  HealthCheck h;
  const std::string& k = c.keyword;
  const bool https = k == "SSL_GET";
  const bool http = k == "HTTP_GET" || https;
  const bool exec = k == "MISC_CHECK";
  const bool tcp_stand_in = k == "SMTP_CHECK";
  h.type = https ? HealthType::kHttps
           : http ? HealthType::kHttp
           : exec ? HealthType::kExec
                  : HealthType::kTcp;
  h.port = default_port;
  if (tcp_stand_in)
    Note(c.line, absl::StrCat(k, ": xlb has no SMTP check; a TCP connect to the same port "
                                 "stands in for it"));
  if (https) {  // keepalived's SSL_GET accepts any certificate: so does the import
    h.tls.verify = false;
    Note(c.line, "SSL_GET: type https with verify: false, as keepalived does not verify the "
                 "real's certificate; set ca_file (and drop verify: false) to have xlb verify it");
  }
  std::optional<Duration> misc_timeout;
  bool url_seen = false;
  ForEach(c.block, [&](const Statement& s) {
    const std::string& key = s.keyword;
    if (key == "connect_port" && !exec) {
      h.port = static_cast<uint16_t>(Integer(s, 0, 1, 65535));
    } else if (key == "bindto" && !exec) {
      const IpAddress from = Address(s, Arg(s, 0, "an address to check from"));
      absl::StatusOr<IpAddress> real = IpAddress::Parse(real_address);
      if (real.ok() && real->family() != from.family())
        Note(s.line, absl::StrCat(Words(s), ": not the family of the real; not carried over"));
      else
        h.source = from;
    } else if (ReadCheckSetting(s, settings)) {
    } else if (tcp_stand_in) {
      // The rest of an SMTP_CHECK has no meaning for a TCP connect.
    } else if (http && key == "url") {
      RequireBlock(s);
      if (url_seen) {
        Note(s.line, "url: xlb checks one path per service: the first url");
        return;
      }
      url_seen = true;
      bool codes = false;
      ForEach(s.block, [&](const Statement& u) {
        if (u.keyword == "path") {
          h.path = Arg(u, 0, "a path, e.g. /health");
        } else if (u.keyword == "status_code") {
          Arg(u, 0, "status codes, e.g. 200 or 200-299");
          codes = true;
          h.expect.clear();
          for (const std::string& code : u.args) {
            const size_t dash = code.find('-');
            const int lo =
                static_cast<int>(IntegerOf(u.line, "status_code", code.substr(0, dash), 100, 599));
            const int hi = dash == std::string::npos
                               ? lo
                               : static_cast<int>(IntegerOf(u.line, "status_code",
                                                            code.substr(dash + 1), lo, 599));
            for (int n = lo; n <= hi; ++n)
              if (std::find(h.expect.begin(), h.expect.end(), n) == h.expect.end())
                h.expect.push_back(n);
          }
        } else {
          NotCarried(u);
        }
      });
      if (!codes) {
        h.expect.clear();
        for (int n = 200; n <= 299; ++n) h.expect.push_back(n);  // keepalived's default
      }
    } else if (exec && key == "misc_path") {
      Arg(s, 0, "a command");
      h.command = absl::StrJoin(s.args, " ");
    } else if (exec && key == "misc_timeout") {
      misc_timeout = Seconds(s, 0, Duration(1), Duration(3'600'000));
    } else {
      NotCarried(s);
    }
  });

  if (http && !url_seen) {
    Note(c.line, absl::StrCat(k, " without url: xlb GETs / and expects a 2xx status"));
    h.expect.clear();
    for (int n = 200; n <= 299; ++n) h.expect.push_back(n);
  }
  if (exec) {
    if (h.command.empty()) {
      Note(c.line, "MISC_CHECK without misc_path: not carried over");
      return std::nullopt;
    }
    // keepalived's per-real command names the real; xlb runs one command
    // per service and tells it the real in XLB_REAL_ADDRESS.
    h.command = ReplaceWord(h.command, real_address, "$XLB_REAL_ADDRESS");
    if (absl::StatusOr<IpAddress> a = IpAddress::Parse(real_address); a.ok())
      h.command = ReplaceWord(h.command, a->ToString(), "$XLB_REAL_ADDRESS");
    h.port = 0;
  }

  h.interval = settings.delay_loop;
  h.timeout = exec ? misc_timeout.value_or(settings.delay_loop)
                   : settings.connect_timeout.value_or(kKeepalivedConnectTimeout);
  if (h.timeout > h.interval) {
    const int line = exec ? c.line
                          : settings.connect_timeout_line ? settings.connect_timeout_line
                                                          : settings.delay_loop_line;
    Note(line ? line : c.line,
         absl::StrCat(k, ": timeout ", config::FormatDuration(h.timeout),
                      " is longer than delay_loop ", config::FormatDuration(h.interval),
                      "; xlb needs timeout <= interval, so the timeout is ",
                      config::FormatDuration(h.interval)));
    h.timeout = h.interval;
  }
  // keepalived takes a real down after one failure and `retry` retries;
  // one success brings it back.
  const int retry = settings.retry.value_or(exec ? 0 : 1);
  h.fall = std::min(retry + 1, 100);
  if (retry + 1 > 100)
    Note(settings.retry_line ? settings.retry_line : c.line,
         absl::StrCat("retry ", retry, ": xlb counts up to 100 failures; 100 is used"));
  h.rise = 1;
  return h;
}

// ---- the file ----

KeepalivedImport Importer::Run(const std::vector<Statement>& top) {
  // What others refer to first: keepalived reads the whole file before it
  // resolves a track_script, and global_defs sets defaults for instances.
  for (const Statement& s : top) {
    if (!s.condition.empty()) continue;  // noted in the pass below
    if (s.keyword == "global_defs") ReadGlobals(s);
    if (s.keyword == "vrrp_script") DefineScript(s);
  }
  int first_instance_line = 0, first_server_line = 0;
  ForEach(top, [&](const Statement& s) {
    const std::string& k = s.keyword;
    if (k == "global_defs" || k == "vrrp_script") return;
    if (k == "vrrp_instance") {
      if (!first_instance_line) first_instance_line = s.line;
      ImportInstance(s);
    } else if (k == "virtual_server") {
      if (!first_server_line) first_server_line = s.line;
      ImportVirtualServer(s);
    } else if (k == "vrrp_sync_group") {
      NotCarried(s);
      const std::string group = absl::StrCat("vrrp_sync_group ", s.args.empty() ? "" : s.args[0]);
      for (const Statement& n : s.block)
        if (absl::StartsWith(n.keyword, "notify"))
          Note(n.line, absl::StrCat(group, ": ", Words(n),
                                    ": not carried over (xlb has no sync groups); the instances' "
                                    "own notify hooks run per instance: move the script to each "
                                    "instance of the group (notify_keepalived is then called with "
                                    "INSTANCE and the instance's name, not GROUP and the "
                                    "group's)"));
    } else {
      NotCarried(s);
    }
  });

  // The director's interfaces: keepalived's file does not say where the
  // VIPs' traffic arrives; the instances' interfaces are the best guess.
  for (size_t i = 0; i < config_.vrrp.size(); ++i) {
    const std::string& name = config_.vrrp[i].interface;
    if (std::find(config_.interfaces.begin(), config_.interfaces.end(), name) !=
        config_.interfaces.end())
      continue;
    config_.interfaces.push_back(name);
    interface_origins_.push_back(vrrp_origins_[i]);
  }
  if (config_.interfaces.empty()) {
    config_.interfaces.push_back("eth0");
    Note(first_server_line ? first_server_line : 1,
         "interfaces: no vrrp_instance names one, so the XDP program is set to attach to eth0: "
         "change it to the interfaces that receive the VIPs' traffic (and, for NAT, reach the "
         "reals)");
  } else {
    Note(first_instance_line,
         absl::StrCat("interfaces: the XDP program attaches to ", absl::StrJoin(config_.interfaces, ", "),
                      " (the vrrp instances' interfaces): check that the VIPs' traffic arrives "
                      "there and, for NAT, that the reals are reached there"));
  }

  std::stable_sort(notes_.begin(), notes_.end(),
                   [](const ImportNote& a, const ImportNote& b) { return a.line < b.line; });
  // An inherited setting is noted once, not once per real that inherits it.
  notes_.erase(std::unique(notes_.begin(), notes_.end()), notes_.end());
  return KeepalivedImport{std::move(config_), std::move(notes_)};
}

// xlb's error for the YAML, told as the keepalived block it came from.
absl::Status Refused(const absl::Status& st, const std::string& yaml_name, const std::string& file,
                     const Importer& importer) {
  std::string msg(st.message());
  // "YAML:LINE: PATH: what" -> "PATH: what"
  if (absl::StartsWith(msg, yaml_name + ":")) {
    const size_t after_line = msg.find(": ", yaml_name.size() + 1);
    if (after_line != std::string::npos) msg = msg.substr(after_line + 2);
  }
  for (const auto& [prefix, origins] :
       {std::pair{std::string("services["), &importer.service_origins()},
        std::pair{std::string("vrrp["), &importer.vrrp_origins()},
        std::pair{std::string("interfaces["), &importer.interface_origins()}}) {
    if (!absl::StartsWith(msg, prefix)) continue;
    size_t index = 0;
    const size_t close = msg.find(']');
    if (close != std::string::npos &&
        absl::SimpleAtoi(msg.substr(prefix.size(), close - prefix.size()), &index) &&
        index < origins->size()) {
      const Origin& o = (*origins)[index];
      return absl::InvalidArgumentError(absl::StrCat(file, ":", o.line, ": ", o.what,
                                                     ": xlb refuses what it becomes: ", msg));
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(file, ": xlb refuses the result: ", msg));
}

}  // namespace

absl::StatusOr<KeepalivedImport> ImportKeepalived(absl::string_view text,
                                                  const std::string& file_name) {
  // Its strings go into the xlb YAML, which holds only UTF-8.
  if (absl::Status utf8 = config::CheckUtf8(text, file_name); !utf8.ok()) return utf8;
  absl::StatusOr<std::vector<Statement>> statements = ParseKeepalivedSyntax(text, file_name);
  if (!statements.ok()) return statements.status();
  Importer importer(file_name);
  KeepalivedImport result;
  try {
    result = importer.Run(*statements);
  } catch (const ImportError& e) {
    return e.status;
  }
  // What xlbd would do with it: the result must be a config it accepts, and
  // mean what was built.
  const std::string yaml_name = "(the xlb YAML)";
  absl::StatusOr<config::Config> reparsed = config::ParseConfig(config::ToYaml(result.config), yaml_name);
  if (!reparsed.ok()) return Refused(reparsed.status(), yaml_name, file_name, importer);
  if (!(*reparsed == result.config))
    return absl::InternalError(absl::StrCat(
        file_name, ": the YAML written does not read back as the configuration built (a bug in "
                   "config::ToYaml or in the import)"));
  return result;
}

}  // namespace xlb::migrate
