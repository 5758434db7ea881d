#include "controlplane/config/parse.h"
#include "controlplane/config/read_file.h"
#include "controlplane/config/scripts.h"
#include "controlplane/config/tls.h"


#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controlplane/config/emit.h"
#include "model/address.h"
#include "model/capacity.h"
#include "model/names.h"
#include "model/prime.h"
#include "model/service.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/yaml.h"

namespace xlb::config {

std::vector<std::string> ServiceWarnings(const Config& config) {
  std::vector<std::string> out;
  for (const ServiceConfig& sc : config.services) {
    const model::ServiceOptions& o = sc.service.options;
    if (o.forward == model::Forward::kTunnel && o.tunnel.encap == model::Encap::kIpip &&
        !o.tunnel.source)
      out.push_back(absl::StrCat(
          "service ", sc.name, " (", sc.service.key.ToString(),
          "): encap ipip without tunnel_source: every packet leaves from one address, and the "
          "reals' NICs hash IPIP on its outer addresses only, so each real takes all flows on "
          "one queue (set tunnel_source to a prefix routed to the directors, or use encap gue)"));
    // The peers' copy of an idle flow lives for the service's timeout from
    // its last refresh: two refreshes may be lost before it expires there.
    const bool tcp = sc.service.key.protocol == model::Protocol::kTcp;
    const uint32_t idle_s = tcp ? o.tcp_timeout_s : o.udp_timeout_s;
    if (config.sync && config.sync->refresh * 3 > std::chrono::seconds(idle_s))
      out.push_back(absl::StrCat(
          "service ", sc.name, " (", sc.service.key.ToString(), "): timeouts.",
          tcp ? "tcp " : "udp ", FormatDuration(std::chrono::seconds(idle_s)),
          " is less than three times sync.refresh (", FormatDuration(config.sync->refresh),
          "): the other directors' copy of an idle flow can expire before it is refreshed, and "
          "the flow then breaks if it moves (lower sync.refresh, or raise the timeout)"));
  }
  return out;
}

absl::Status CheckSyncReload(uint32_t loaded_ring_bytes, const std::optional<SyncConfig>& next) {
  if (!next || next->ring_bytes == loaded_ring_bytes) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "sync.ring_bytes: ", next->ring_bytes, " instead of ", loaded_ring_bytes,
      ": the data path's ring flow_events is sized when xlbd starts (restart xlbd to resize "
      "it; the flow events not yet sent are lost then)"));
}

bool IsServiceName(absl::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '_' || c == '.' || c == '-';
  });
}

absl::StatusOr<Duration> ParseDuration(absl::string_view text) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' ", why, " (expected e.g. 500ms, 1s, 2m)"));
  };
  if (absl::StartsWith(text, "-")) return bad("is negative");
  size_t i = 0;
  while (i < text.size() && absl::ascii_isdigit(text[i])) ++i;
  absl::string_view whole = text.substr(0, i), frac;
  if (i < text.size() && text[i] == '.') {
    size_t j = ++i;
    while (i < text.size() && absl::ascii_isdigit(text[i])) ++i;
    frac = text.substr(j, i - j);
    if (frac.empty()) return bad("is not a duration");
  }
  absl::string_view unit = text.substr(i);
  if (whole.empty()) return bad("is not a duration");
  if (unit.empty()) return bad("has no unit");
  int64_t unit_ms;
  if (unit == "ms")
    unit_ms = 1;
  else if (unit == "s")
    unit_ms = 1000;
  else if (unit == "m")
    unit_ms = 60'000;
  else if (unit == "h")
    unit_ms = 3'600'000;
  else
    return bad("is not a duration");

  while (!frac.empty() && frac.back() == '0') frac.remove_suffix(1);
  // Beyond 9 digits no fraction of an hour or less is a whole millisecond.
  if (frac.size() > 9) return bad("is finer than a millisecond");
  int64_t w = 0, f = 0, ms = 0;
  if (whole.size() > 18 || !absl::SimpleAtoi(whole, &w) || __builtin_mul_overflow(w, unit_ms, &ms))
    return bad("is too long");
  if (!frac.empty()) {
    int64_t scale = 1;
    for (size_t k = 0; k < frac.size(); ++k) scale *= 10;
    if (!absl::SimpleAtoi(frac, &f)) return bad("is not a duration");
    const int64_t part = f * unit_ms;  // < 10^9 * 3.6e6: no overflow
    if (part % scale != 0) return bad("is finer than a millisecond");
    if (__builtin_add_overflow(ms, part / scale, &ms)) return bad("is too long");
  }
  return Duration(ms);
}

namespace {

using model::Forward;
using model::IpAddress;
using model::Protocol;
using model::RealSpec;
using model::Scheduler;
using model::ServiceKey;

// A configuration error ends the parse. Thrown by the checks below and
// caught in ParseConfig, so that each check stays one line.
struct ConfigError {
  absl::Status status;
};

// A node with where to point at it: its path ("services[0].port") and the
// 1-based line to report (the key's line for a map value, which is also
// where an empty value is).
struct Field {
  YAML::Node node;
  std::string path;
  int line = 1;
};

// The entries of a map, in file order, after checking their keys.
struct Map {
  Field self;
  int line = 1;  // where the map starts: reported for a missing key
  std::vector<std::pair<std::string, Field>> entries;

  const Field* Get(const std::string& key) const {
    for (const auto& [k, f] : entries)
      if (k == key) return &f;
    return nullptr;
  }
};

int LineOf(const YAML::Node& node, int fallback) {
  return node.Mark().is_null() ? fallback : node.Mark().line + 1;
}

std::string Child(const std::string& path, const std::string& key) {
  return path.empty() ? key : absl::StrCat(path, ".", key);
}

std::string Index(const std::string& path, size_t i) { return absl::StrCat(path, "[", i, "]"); }

class Parser {
 public:
  // check_machine: also check what depends on the machine: scripts, and
  // (the user exists; every script exists and is safe, see scripts.h).
  Parser(std::string file, bool check_machine)
      : file_(std::move(file)), check_machine_(check_machine) {}
  // One service, not a file: errors name fields by name_of (ParseServiceEntry).
  Parser(FieldNamer name_of, std::optional<uid_t> script_uid)
      : check_machine_(script_uid.has_value()),
        script_uid_(script_uid.value_or(0)),
        name_of_(std::move(name_of)) {}

  Config Parse(const YAML::Node& root);
  ServiceConfig ParseOneService(const YAML::Node& node) const {
    return ParseService(Field{node, "", 1});
  }

  [[noreturn]] void Fail(int line, const std::string& path, const std::string& what) const {
    if (name_of_) {
      const std::string name = name_of_(path);
      throw ConfigError{
          absl::InvalidArgumentError(name.empty() ? what : absl::StrCat(name, ": ", what))};
    }
    throw ConfigError{absl::InvalidArgumentError(
        absl::StrCat(file_, ":", line, ": ", path.empty() ? "(top level)" : path, ": ", what))};
  }
  [[noreturn]] void Fail(const Field& f, const std::string& what) const {
    Fail(f.line, f.path, what);
  }

 private:
  // A null node (`key:` with nothing after it) counts as an empty map/list.
  Map ReadMap(const Field& f, const std::vector<std::string>& allowed) const;
  std::vector<Field> ReadList(const Field& f, const std::string& expected) const;
  const Field& Require(const Map& m, const std::string& key, const std::string& expected) const;
  // The required `name` of a service or an instance: letters, digits, '_', '.', '-'.
  std::string Name(const Map& m) const;

  std::string Scalar(const Field& f, const std::string& expected) const;
  uint64_t Number(const Field& f, uint64_t min, uint64_t max) const;
  bool Bool(const Field& f) const;
  template <typename T>
  T Choice(const Field& f, std::initializer_list<std::pair<const char*, T>> choices) const;
  // A value of one of the model's enums, by its one name (model/names.h).
  template <typename E>
  E Named(const Field& f) const;
  Duration DurationOf(const Field& f) const;
  uint32_t Seconds(const Field& f, uint32_t min_s) const;
  IpAddress Address(const Field& f) const;

  std::vector<std::string> ParseInterfaces(const Field& f) const;
  ApiConfig ParseApi(const Field& f) const;
  TablesConfig ParseTables(const Field& f) const;
  ServiceConfig ParseService(const Field& f) const;
  void ParsePersistence(const Field& f, model::Service& s) const;
  void ParseTunnel(const Map& m, model::Service& s) const;
  void ParseTimeouts(const Field& f, model::ServiceOptions& o) const;
  std::vector<RealSpec> ParseReals(const Field& f, const model::Service& s) const;
  HealthCheck ParseHealth(const Field& f, const model::Service& s) const;
  void ParseTls(const Map& m, TlsCheck& tls) const;
  // A PEM file's contents (read only when checking the machine).
  std::string PemFile(const Field& f, const std::string& path) const;
  std::vector<VrrpInstance> ParseVrrp(const Field& f, const Config& config) const;
  VrrpInstance ParseVrrpInstance(const Field& f, const Config& config) const;
  void ParseVrrpAuth(const Field& f, VrrpInstance& v, const Field* version) const;
  void ParseVrrpUnicast(const Field& f, VrrpInstance& v) const;
  VrrpGarp ParseVrrpGarp(const Field& f) const;
  std::vector<std::pair<IpAddress, int>> ParseVrrpAddresses(const Field& f) const;
  VrrpTrack ParseVrrpTrack(const Field& f, const Config& config) const;
  std::vector<ServiceConfig> ParseServices(const Field& f) const;
  BgpConfig ParseBgp(const Field& f, const Config& config) const;
  BgpNeighbor ParseBgpNeighbor(const Field& f, const BgpConfig& bgp,
                               const std::set<IpAddress>& vips) const;
  std::vector<IpAddress> ParseBgpAnnounce(const Field& f, const std::set<IpAddress>& vips) const;
  BgpBfd ParseBgpBfd(const Field& f) const;
  uint32_t AsNumber(const Field& f) const;
  Duration BgpTimer(const Field& f, bool hold) const;
  void CheckBgpTimers(Duration hold, Duration keepalive,
                      std::initializer_list<const Field*> blame) const;
  std::string BgpPassword(const Field& f, const std::string& path) const;
  SyncConfig ParseSync(const Field& f) const;
  Duration DurationIn(const Field& f, Duration min, Duration max) const;

  // The script of a command (or a notify path) exists and is safe to run.
  void CheckScriptAt(const Field& f, const std::string& command, bool whole_path) const {
    if (!check_machine_) return;
    absl::Status st = whole_path ? CheckScriptFile(command, script_uid_)
                                 : CheckScript(command, script_uid_);
    if (!st.ok()) Fail(f, std::string(st.message()));
  }

  std::string file_;
  bool check_machine_ = false;
  uid_t script_uid_ = 0;
  FieldNamer name_of_;  // set: one service (ParseServiceEntry), no file and lines
};

Map Parser::ReadMap(const Field& f, const std::vector<std::string>& allowed) const {
  Map m{f, f.line, {}};
  if (f.node.IsNull()) return m;
  if (!f.node.IsMap())
    Fail(f, absl::StrCat(f.node.IsSequence() ? "is a list" : "is a single value",
                         " (expected a map with keys: ", absl::StrJoin(allowed, ", "), ")"));
  m.line = LineOf(f.node, f.line);
  for (const auto& kv : f.node) {
    const int line = LineOf(kv.first, m.line);
    if (!kv.first.IsScalar()) Fail(line, f.path, "a key must be a plain name");
    const std::string key = kv.first.Scalar();
    const std::string path = Child(f.path, key);
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      Fail(line, path,
           absl::StrCat("unknown key (expected one of: ", absl::StrJoin(allowed, ", "), ")"));
    // yaml-cpp keeps both entries of a repeated key and reads the first:
    // a later one silently not counting would be a trap.
    if (const Field* first = m.Get(key))
      Fail(line, path, absl::StrCat("given twice (first at line ", first->line, ")"));
    m.entries.emplace_back(key, Field{kv.second, path, line});
  }
  return m;
}

std::vector<Field> Parser::ReadList(const Field& f, const std::string& expected) const {
  std::vector<Field> items;
  if (f.node.IsNull()) return items;
  if (!f.node.IsSequence())
    Fail(f, absl::StrCat(f.node.IsMap() ? "is a map" : "is a single value", " (expected ", expected,
                         ")"));
  size_t i = 0;
  for (const YAML::Node& item : f.node) {
    items.push_back(Field{item, Index(f.path, i), LineOf(item, f.line)});
    ++i;
  }
  return items;
}

const Field& Parser::Require(const Map& m, const std::string& key,
                             const std::string& expected) const {
  const Field* f = m.Get(key);
  if (!f) Fail(m.line, Child(m.self.path, key), absl::StrCat("missing (required: ", expected, ")"));
  return *f;
}

std::string Parser::Scalar(const Field& f, const std::string& expected) const {
  if (f.node.IsScalar()) return f.node.Scalar();
  const char* what = f.node.IsNull()       ? "has no value"
                     : f.node.IsSequence() ? "is a list"
                                           : "is a map";
  Fail(f, absl::StrCat(what, " (expected ", expected, ")"));
}

uint64_t Parser::Number(const Field& f, uint64_t min, uint64_t max) const {
  const std::string range = absl::StrCat(min, "..", max);
  const std::string text = Scalar(f, range);
  uint64_t v = 0;
  // Digits only: SimpleAtoi would also take "+5" and " 5".
  if (text.empty() || !std::all_of(text.begin(), text.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(text, &v))
    Fail(f, absl::StrCat("'", text, "' is not a number (expected ", range, ")"));
  if (v < min || v > max) Fail(f, absl::StrCat(text, " is out of range (expected ", range, ")"));
  return v;
}

bool Parser::Bool(const Field& f) const {
  const std::string text = Scalar(f, "true or false");
  if (text == "true") return true;
  if (text == "false") return false;
  Fail(f, absl::StrCat("'", text, "' is not true or false"));
}

template <typename T>
T Parser::Choice(const Field& f, std::initializer_list<std::pair<const char*, T>> choices) const {
  std::vector<std::string> names;
  for (const auto& c : choices) names.push_back(c.first);
  const std::string expected = absl::StrCat("one of: ", absl::StrJoin(names, ", "));
  const std::string text = Scalar(f, expected);
  for (const auto& c : choices)
    if (text == c.first) return c.second;
  Fail(f, absl::StrCat("'", text, "' is not ", expected));
}

std::string Parser::Name(const Map& m) const {
  const Field& field = Require(m, "name", "a name of letters, digits, '_', '.', '-'");
  std::string name = Scalar(field, "a name of letters, digits, '_', '.', '-'");
  if (!IsServiceName(name))
    Fail(field,
         absl::StrCat("'", name, "' is not a name (expected letters, digits, '_', '.', '-')"));
  return name;
}

template <typename E>
E Parser::Named(const Field& f) const {
  std::vector<std::string> names;
  for (const auto& [value, name] : model::EnumNames<E>::kValues) names.emplace_back(name);
  const std::string expected = absl::StrCat("one of: ", absl::StrJoin(names, ", "));
  const std::string text = Scalar(f, expected);
  if (auto value = model::EnumFromName<E>(text)) return *value;
  Fail(f, absl::StrCat("'", text, "' is not ", expected));
}

Duration Parser::DurationOf(const Field& f) const {
  auto d = ParseDuration(Scalar(f, "a duration, e.g. 500ms, 1s, 2m"));
  if (!d.ok()) Fail(f, std::string(d.status().message()));
  return *d;
}

// The data plane keeps these timeouts in whole seconds (u32).
uint32_t Parser::Seconds(const Field& f, uint32_t min_s) const {
  const Duration d = DurationOf(f);
  if (d.count() % 1000 != 0)
    Fail(f, absl::StrCat("'", f.node.Scalar(),
                         "' is not a whole number of seconds (expected e.g. 900s, 2m)"));
  const int64_t s = d.count() / 1000;
  if (s < min_s)
    Fail(f, absl::StrCat("'", f.node.Scalar(), "' is too short (expected at least ", min_s, "s)"));
  if (s > std::numeric_limits<uint32_t>::max())
    Fail(f, absl::StrCat("'", f.node.Scalar(), "' is too long (expected at most ",
                         std::numeric_limits<uint32_t>::max(), "s)"));
  return static_cast<uint32_t>(s);
}

IpAddress Parser::Address(const Field& f) const {
  const std::string text = Scalar(f, "an IPv4 or IPv6 address");
  auto ip = IpAddress::Parse(text);
  if (!ip.ok())
    Fail(f, absl::StrCat("'", text,
                         "' is not an IP address (expected e.g. 198.51.100.10 or "
                         "2001:db8::10)"));
  return *ip;
}

// What the kernel accepts as a device name (dev_valid_name): checked here
// so a typo is reported with its line, not when attaching.
bool IsInterfaceName(const std::string& name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    return c == '/' || c == ':' || absl::ascii_isspace(c) || absl::ascii_iscntrl(c);
  });
}

std::vector<std::string> Parser::ParseInterfaces(const Field& f) const {
  const std::string expected = "a list of interface names, e.g. [eth0]";
  std::vector<Field> items = ReadList(f, expected);
  if (items.empty()) Fail(f, absl::StrCat("is empty (expected ", expected, ")"));
  if (items.size() > model::kMaxInterfaces)
    Fail(f, absl::StrCat(items.size(), " interfaces, over the ", model::kMaxInterfaces,
                         " the data plane holds"));
  std::vector<std::string> names;
  std::map<std::string, int> seen;
  for (const Field& item : items) {
    std::string name = Scalar(item, "an interface name");
    if (!IsInterfaceName(name))
      Fail(item, absl::StrCat("'", name,
                              "' is not an interface name (expected up to 15 "
                              "characters, without '/', ':' or spaces)"));
    if (auto [it, added] = seen.emplace(name, item.line); !added)
      Fail(item, absl::StrCat("'", name, "' is listed twice (first at line ", it->second, ")"));
    names.push_back(std::move(name));
  }
  return names;
}

// "ADDRESS:PORT" or "[V6ADDRESS]:PORT" with an address literal, as the
// metrics listener takes it (it does not resolve names).
bool IsListenAddress(const std::string& text) {
  std::string host, port;
  if (absl::StartsWith(text, "[")) {
    const size_t close = text.find("]:");
    if (close == std::string::npos) return false;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (host.find(':') == std::string::npos) return false;  // brackets are for IPv6
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos) return false;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string::npos) return false;  // IPv6 needs brackets
  }
  uint32_t p = 0;
  return IpAddress::Parse(host).ok() && !port.empty() &&
         std::all_of(port.begin(), port.end(), absl::ascii_isdigit) && absl::SimpleAtoi(port, &p) &&
         p >= 1 && p <= 65535;
}

ApiConfig Parser::ParseApi(const Field& f) const {
  Map m = ReadMap(f, {"socket", "metrics", "group", "max_sessions", "metrics_max_sessions"});
  ApiConfig api;
  if (const Field* s = m.Get("socket")) {
    api.socket = Scalar(*s, "an absolute path, e.g. /run/xlb/xlbd.sock");
    if (!absl::StartsWith(api.socket, "/"))
      Fail(*s, absl::StrCat("'", api.socket,
                            "' is not an absolute path (expected e.g. /run/xlb/xlbd.sock)"));
    // sockaddr_un holds 108 bytes with the terminating NUL.
    if (api.socket.size() > 107)
      Fail(*s, absl::StrCat("is ", api.socket.size(),
                            " bytes long (expected at most 107, a Unix socket's limit)"));
  }
  if (const Field* g = m.Get("group")) api.group = Scalar(*g, "a group name, or \"\" for none");
  if (const Field* mt = m.Get("metrics")) {
    const std::string expected =
        "ADDRESS:PORT, e.g. 127.0.0.1:9470 or [::1]:9470, or \"\" for no metrics";
    api.metrics = Scalar(*mt, expected);
    if (!api.metrics.empty() && !IsListenAddress(api.metrics))
      Fail(*mt, absl::StrCat("'", api.metrics, "' is not ", expected));
  }
  if (const Field* n = m.Get("max_sessions"))
    api.max_sessions = static_cast<int>(Number(*n, 1, kMaxApiSessions));
  if (const Field* n = m.Get("metrics_max_sessions"))
    api.metrics_max_sessions = static_cast<int>(Number(*n, 1, kMaxApiSessions));
  return api;
}

ServiceConfig Parser::ParseService(const Field& f) const {
  Map m = ReadMap(f, {"name", "vip", "port", "protocol", "forward", "scheduler", "persistence",
                      "table_size", "drop_fragments", "timeouts", "reals", "health", "on_down",
                      "encap", "gue_port", "tunnel_source", "tunnel_mtu", "mss_clamp"});
  ServiceConfig sc;
  sc.name = Name(m);

  model::Service& s = sc.service;
  s.key.vip = Address(Require(m, "vip", "an IPv4 or IPv6 address"));
  const Field& port = Require(m, "port", "1..65535, or \"*\" for all ports");
  if (port.node.IsScalar() && port.node.Scalar() == "*") {
    s.options.all_ports = true;
    s.key.port = 0;
  } else {
    const std::string text = Scalar(port, "1..65535, or \"*\" for all ports");
    uint32_t p = 0;
    if (!std::all_of(text.begin(), text.end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(text, &p) || p < 1 || p > 65535)
      Fail(port, absl::StrCat("'", text,
                              "' is not a port (expected 1..65535, or \"*\" for all "
                              "ports)"));
    s.key.port = static_cast<uint16_t>(p);
  }
  if (const Field* p = m.Get("protocol"))
    s.key.protocol = Named<Protocol>(*p);
  if (const Field* fw = m.Get("forward")) s.options.forward = Named<Forward>(*fw);
  if (const Field* sch = m.Get("scheduler")) s.options.scheduler = Named<Scheduler>(*sch);
  if (const Field* p = m.Get("persistence")) ParsePersistence(*p, s);
  if (const Field* t = m.Get("table_size")) {
    const uint64_t size = Number(*t, 0, std::numeric_limits<uint32_t>::max());
    if (!model::IsMaglevTableSize(size))
      Fail(*t, absl::StrCat(size, " is not a prime in [", model::kMaglevMinSize, ", ",
                            model::kMaglevMaxSize, "] (e.g. 65537, 131071, 1021)"));
    s.options.table_size = static_cast<uint32_t>(size);
  }
  if (const Field* d = m.Get("drop_fragments")) s.options.drop_fragments = Bool(*d);
  if (const Field* t = m.Get("timeouts")) ParseTimeouts(*t, s.options);
  ParseTunnel(m, s);
  // Backstop: the data plane's own checks, in case they know more than ours.
  if (absl::Status st = model::ValidateService(s); !st.ok())
    Fail(m.line, f.path, std::string(st.message()));

  if (const Field* r = m.Get("reals")) sc.reals = ParseReals(*r, s);
  if (const Field* h = m.Get("health")) sc.health = ParseHealth(*h, s);
  if (const Field* d = m.Get("on_down")) sc.on_down = Named<OnDown>(*d);
  return sc;
}

void Parser::ParsePersistence(const Field& f, model::Service& s) const {
  Map m = ReadMap(f, {"timeout", "netmask"});
  if (const Field* t = m.Get("timeout")) s.options.persistence_timeout_s = Seconds(*t, 0);
  if (const Field* n = m.Get("netmask"))
    s.options.persistence_netmask =
        static_cast<int>(Number(*n, 0, static_cast<uint64_t>(s.key.vip.max_prefix_len())));
}

const char* FamilyName(const IpAddress& a) { return a.is_v4() ? "IPv4" : "IPv6"; }

void Parser::ParseTunnel(const Map& m, model::Service& s) const {
  model::TunnelOptions& t = s.options.tunnel;
  for (const char* key : {"encap", "gue_port", "tunnel_source", "tunnel_mtu", "mss_clamp"})
    if (const Field* f = m.Get(key); f && s.options.forward != Forward::kTunnel)
      Fail(*f, absl::StrCat("only for forward: tunnel (forward is ", NameOf(s.options.forward),
                            ")"));
  if (const Field* e = m.Get("encap")) t.encap = Named<model::Encap>(*e);
  if (const Field* p = m.Get("gue_port")) {
    if (t.encap != model::Encap::kGue)
      Fail(*p, absl::StrCat("only for encap: gue (encap is ", NameOf(t.encap), ")"));
    t.gue_port = static_cast<uint16_t>(Number(*p, 1, 65535));
  }
  if (const Field* src = m.Get("tunnel_source")) {
    const std::string text = Scalar(*src, "a prefix, e.g. 192.0.2.128/25 or 2001:db8:ff::/112");
    auto prefix = model::ParseIpPrefix(text);
    if (!prefix.ok()) Fail(*src, std::string(prefix.status().message()));
    if (prefix->address.family() != s.key.vip.family())
      Fail(*src, absl::StrCat("'", text, "' is ", FamilyName(prefix->address), " but the VIP is ",
                              FamilyName(s.key.vip), " (expected the VIP's family)"));
    t.source = *prefix;
  }
  if (const Field* mtu = m.Get("tunnel_mtu"))
    t.mtu = static_cast<uint16_t>(
        Number(*mtu, model::MinTunnelMtu(s.key.vip.family(), t.encap), model::kMaxTunnelMtu));
  if (const Field* c = m.Get("mss_clamp")) t.mss_clamp = Bool(*c);
}

void Parser::ParseTimeouts(const Field& f, model::ServiceOptions& o) const {
  Map m = ReadMap(f, {"tcp", "tcp_fin", "udp"});
  if (const Field* t = m.Get("tcp")) o.tcp_timeout_s = Seconds(*t, 1);
  if (const Field* t = m.Get("tcp_fin")) o.tcp_fin_timeout_s = Seconds(*t, 1);
  if (const Field* t = m.Get("udp")) o.udp_timeout_s = Seconds(*t, 1);
}

std::vector<RealSpec> Parser::ParseReals(const Field& f, const model::Service& s) const {
  std::vector<RealSpec> reals;
  std::map<std::pair<IpAddress, uint16_t>, int> seen;
  for (const Field& item : ReadList(f, "a list of {address, port, weight}")) {
    Map m = ReadMap(item, {"address", "port", "weight"});
    RealSpec r;
    r.address = Address(Require(m, "address", "an IPv4 or IPv6 address"));
    if (const Field* p = m.Get("port")) r.port = static_cast<uint16_t>(Number(*p, 0, 65535));
    if (const Field* w = m.Get("weight"))
      r.weight = static_cast<uint32_t>(Number(*w, 0, model::kMaxWeight));
    // One at a time first, so that an error points at the real's line.
    if (absl::Status st = model::ValidateReals(s, {r}); !st.ok())
      Fail(item, std::string(st.message()));
    const std::pair<IpAddress, uint16_t> where{r.address, model::EffectivePort(s.key, r)};
    if (auto [it, added] = seen.emplace(where, item.line); !added)
      Fail(item, absl::StrCat(model::FormatEndpoint(where.first, where.second),
                              " is listed twice (first at line ", it->second, ")"));
    reals.push_back(r);
  }
  if (absl::Status st = model::ValidateReals(s, reals); !st.ok())
    Fail(f, std::string(st.message()));
  return reals;
}

HealthCheck Parser::ParseHealth(const Field& f, const model::Service& s) const {
  Map m = ReadMap(f, {"type", "port", "path", "expect", "body", "ca_file", "server_name",
                      "client_cert", "client_key", "verify", "command", "source", "interval",
                      "timeout", "rise", "fall", "through_tunnel"});
  HealthCheck h;
  if (const Field* t = m.Get("type"))
    h.type = Named<HealthType>(*t);
  // Keys that the type ignores are refused: they are most likely a
  // forgotten or mistyped `type`.
  for (const auto& [key, field] : m.entries) {
    if (key == "type") continue;
    if (h.type == HealthType::kNone)
      Fail(field,
           "only for a health check (set type: tcp, http, https or exec; the default is none)");
    if ((key == "path" || key == "expect" || key == "body") && !IsHttp(h.type))
      Fail(field, absl::StrCat("only for type http or https (type is ", HealthTypeName(h.type), ")"));
    if ((key == "ca_file" || key == "server_name" || key == "client_cert" ||
         key == "client_key" || key == "verify") &&
        h.type != HealthType::kHttps)
      Fail(field, absl::StrCat("only for type https (type is ", HealthTypeName(h.type), ")"));
    if (key == "command" && h.type != HealthType::kExec)
      Fail(field, absl::StrCat("only for type exec (type is ", HealthTypeName(h.type), ")"));
    if (key == "source" && h.type == HealthType::kExec)
      Fail(field, "only for type tcp, http or https (type is exec: the command chooses its own)");
  }
  if (h.type == HealthType::kNone) return h;

  const Field* port = m.Get("port");
  if (port) h.port = static_cast<uint16_t>(Number(*port, 0, 65535));
  // Port 0 means the real's port, and the reals of an all-ports service
  // have none. An exec check may not use a port at all.
  if (h.port == 0 && s.options.all_ports && h.type != HealthType::kExec)
    Fail(port ? port->line : m.line, Child(f.path, "port"),
         "an all-ports service has no port to check (expected a port 1..65535)");
  if (const Field* p = m.Get("path")) {
    h.path = Scalar(*p, "an HTTP path, e.g. /health");
    if (!absl::StartsWith(h.path, "/") || std::any_of(h.path.begin(), h.path.end(), [](char c) {
          return absl::ascii_isspace(c) || absl::ascii_iscntrl(c);
        }))
      Fail(*p, absl::StrCat("'", h.path, "' is not an HTTP path (expected e.g. /health)"));
  }
  if (const Field* e = m.Get("expect")) {
    const std::string expected = "a list of HTTP status codes, e.g. [200]";
    std::vector<Field> codes = ReadList(*e, expected);
    if (codes.empty()) Fail(*e, absl::StrCat("is empty (expected ", expected, ")"));
    h.expect.clear();
    for (const Field& c : codes) h.expect.push_back(static_cast<int>(Number(c, 100, 599)));
  }
  if (const Field* b = m.Get("body")) h.body = Scalar(*b, "a string the body must contain");
  if (h.type == HealthType::kHttps) ParseTls(m, h.tls);
  if (const Field* src = m.Get("source")) {
    h.source = Address(*src);
    if (h.source->family() != s.key.vip.family())
      Fail(*src, absl::StrCat(h.source->ToString(), " is ", h.source->is_v4() ? "IPv4" : "IPv6",
                              " but the VIP and its reals are ", s.key.vip.is_v4() ? "IPv4" : "IPv6",
                              " (expected an address of the director's of that family)"));
    if (*h.source == s.key.vip)
      Fail(*src, absl::StrCat(h.source->ToString(),
                              " is the service's VIP (expected an address of the director's own)"));
  }
  if (h.type == HealthType::kExec) {
    const Field& c = Require(m, "command", "a shell command for type exec");
    h.command = Scalar(c, "a shell command");
    if (absl::StripAsciiWhitespace(h.command).empty())
      Fail(c, "is empty (expected a shell command)");
    CheckScriptAt(c, h.command, false);
  }
  const Field* interval = m.Get("interval");
  const Field* timeout = m.Get("timeout");
  if (interval) h.interval = DurationOf(*interval);
  if (timeout) h.timeout = DurationOf(*timeout);
  if (interval && h.interval.count() == 0)
    Fail(*interval, "must be more than 0s (expected e.g. 1s)");
  if (timeout && h.timeout.count() == 0)
    Fail(*timeout, "must be more than 0s (expected e.g. 500ms)");
  if (h.timeout > h.interval) {
    if (timeout)
      Fail(*timeout,
           absl::StrCat(FormatDuration(h.timeout), " is longer than the interval ",
                        FormatDuration(h.interval), " (expected 0 < timeout <= interval)"));
    Fail(*interval,
         absl::StrCat(FormatDuration(h.interval), " is shorter than the default timeout ",
                      FormatDuration(h.timeout), " (expected a timeout <= interval)"));
  }
  if (const Field* r = m.Get("rise")) h.rise = static_cast<int>(Number(*r, 1, 100));
  if (const Field* r = m.Get("fall")) h.fall = static_cast<int>(Number(*r, 1, 100));
  if (const Field* t = m.Get("through_tunnel")) {
    if (s.options.forward != Forward::kTunnel)
      Fail(*t, absl::StrCat("only for forward: tunnel (forward is ", NameOf(s.options.forward),
                            ")"));
    h.through_tunnel = Bool(*t);
  }
  return h;
}


std::string Parser::PemFile(const Field& f, const std::string& path) const {
  if (!check_machine_) return "";
  absl::StatusOr<std::string> text = ReadPemFile(path);
  if (!text.ok()) Fail(f, std::string(text.status().message()));
  return *std::move(text);
}

// A host name as SNI carries it (letters, digits, '-', dots between labels).
bool IsDnsName(const std::string& name) {
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.' ||
      absl::StrContains(name, ".."))
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '-' || c == '.';
  });
}

void Parser::ParseTls(const Map& m, TlsCheck& tls) const {
  const Field* verify = m.Get("verify");
  if (verify) tls.verify = Bool(*verify);
  auto path_of = [&](const Field& f) {
    std::string path = Scalar(f, "an absolute path of a PEM file");
    if (!absl::StartsWith(path, "/"))
      Fail(f, absl::StrCat("'", path, "' is not an absolute path (expected e.g. /etc/xlb/ca.pem)"));
    return path;
  };
  if (const Field* ca = m.Get("ca_file")) {
    if (!tls.verify)
      Fail(*ca, "is unused with verify: false (remove one of them)");
    tls.ca_file = path_of(*ca);
    tls.ca_pem = PemFile(*ca, tls.ca_file);
    if (check_machine_) {
      auto certs = ReadPemCertificates(tls.ca_pem);
      if (!certs.ok()) Fail(*ca, absl::StrCat(tls.ca_file, ": ", certs.status().message()));
    }
  }
  if (const Field* sn = m.Get("server_name")) {
    const std::string expected = "a host name or an IP address, e.g. pg1.example.com";
    tls.server_name = Scalar(*sn, expected);
    if (!IsDnsName(tls.server_name) && !IpAddress::Parse(tls.server_name).ok())
      Fail(*sn, absl::StrCat("'", tls.server_name, "' is not ", expected));
  }
  const Field* cert = m.Get("client_cert");
  const Field* key = m.Get("client_key");
  if (cert && !key)
    Fail(m.line, Child(m.self.path, "client_key"),
         "missing (required with client_cert: its PEM private key)");
  if (key && !cert)
    Fail(*key, "without client_cert (expected both or neither)");
  if (cert) {
    tls.client_cert = path_of(*cert);
    tls.client_key = path_of(*key);
    tls.cert_pem = PemFile(*cert, tls.client_cert);
    tls.key_pem = PemFile(*key, tls.client_key);
    if (check_machine_) {
      auto certs = ReadPemCertificates(tls.cert_pem);
      if (!certs.ok()) Fail(*cert, absl::StrCat(tls.client_cert, ": ", certs.status().message()));
      auto pkey = ReadPemPrivateKey(tls.key_pem);
      if (!pkey.ok()) Fail(*key, absl::StrCat(tls.client_key, ": ", pkey.status().message()));
      if (absl::Status st = CheckKeyMatches(certs->front().get(), pkey->get()); !st.ok())
        Fail(*key, absl::StrCat(tls.client_key, ": ", st.message(), " (", tls.client_cert, ")"));
    }
  }
}

// ---- vrrp ----


std::vector<VrrpInstance> Parser::ParseVrrp(const Field& f, const Config& config) const {
  std::vector<VrrpInstance> instances;
  std::map<std::string, int> names;
  std::map<std::pair<std::string, int>, std::pair<int, std::string>> vrids;  // (if, vrid) -> first
  for (const Field& item : ReadList(f, "a list of VRRP instances")) {
    VrrpInstance v = ParseVrrpInstance(item, config);
    if (auto [it, added] = names.emplace(v.name, item.line); !added)
      Fail(item.line, Child(item.path, "name"),
           absl::StrCat("'", v.name, "' is used twice (first at line ", it->second, ")"));
    if (auto [it, added] =
            vrids.emplace(std::make_pair(v.interface, int{v.vrid}),
                         std::make_pair(item.line, v.name));
        !added)
      Fail(item.line, Child(item.path, "vrid"),
           absl::StrCat(int{v.vrid}, " is used twice on ", v.interface, " (first at line ",
                        it->second.first, ", by ", it->second.second,
                        "; expected a vrid unique per interface)"));
    instances.push_back(std::move(v));
  }
  return instances;
}

VrrpInstance Parser::ParseVrrpInstance(const Field& f, const Config& config) const {
  Map m = ReadMap(f, {"name", "interface", "vrid", "priority", "version", "advert_interval",
                      "preempt", "preempt_delay", "accept", "auth", "unicast", "addresses",
                      "track", "notify", "notify_master", "notify_backup", "notify_fault",
                      "notify_stop", "notify_keepalived", "garp"});
  VrrpInstance v;
  v.name = Name(m);
  const Field& iface = Require(m, "interface", "an interface name, e.g. eth0");
  v.interface = Scalar(iface, "an interface name, e.g. eth0");
  if (!IsInterfaceName(v.interface))
    Fail(iface, absl::StrCat("'", v.interface,
                             "' is not an interface name (expected up to 15 characters, without "
                             "'/', ':' or spaces)"));
  v.vrid = static_cast<uint8_t>(Number(Require(m, "vrid", "1..255"), 1, 255));
  if (const Field* p = m.Get("priority")) v.priority = static_cast<uint8_t>(Number(*p, 1, 255));
  const Field* version = m.Get("version");
  if (version) v.version = Choice<int>(*version, {{"2", 2}, {"3", 3}});
  if (const Field* a = m.Get("advert_interval")) {
    v.advert_interval = DurationOf(*a);
    const int64_t ms = v.advert_interval.count();
    const std::string text = FormatDuration(v.advert_interval);
    if (v.version == 3) {
      if (ms % 10 != 0)
        Fail(*a, absl::StrCat(text,
                              " is not a multiple of 10ms (version 3 counts in centiseconds; "
                              "expected 10ms..40.95s)"));
      if (ms < 10 || ms > 40950)
        Fail(*a, absl::StrCat(text, " is out of range (expected 10ms..40.95s for version 3)"));
    } else {
      if (ms % 1000 != 0)
        Fail(*a, absl::StrCat(text,
                              " is not a whole number of seconds (version 2 counts in seconds; "
                              "expected 1s..255s)"));
      if (ms < 1000 || ms > 255'000)
        Fail(*a, absl::StrCat(text, " is out of range (expected 1s..255s for version 2)"));
    }
  }
  if (const Field* p = m.Get("preempt")) v.preempt = Bool(*p);
  if (const Field* d = m.Get("preempt_delay")) v.preempt_delay = DurationOf(*d);
  if (const Field* a = m.Get("accept")) v.accept = Bool(*a);
  if (const Field* a = m.Get("auth")) ParseVrrpAuth(*a, v, version);

  const Field& addresses =
      Require(m, "addresses", "a list of ADDRESS/PREFIX, e.g. [198.51.100.10/24]");
  v.addresses = ParseVrrpAddresses(addresses);
  const IpAddress& first = v.addresses.front().first;
  if (v.version == 2 && !first.is_v4())
    Fail(version ? *version : addresses,
         "version 2 is IPv4 only (RFC 3768) and the addresses are IPv6 (expected version 3)");
  if (const Field* u = m.Get("unicast")) ParseVrrpUnicast(*u, v);
  if (const Field* g = m.Get("garp")) v.garp = ParseVrrpGarp(*g);

  if (const Field* t = m.Get("track")) {
    std::map<std::pair<int, std::string>, int> seen;
    for (const Field& item : ReadList(*t, "a list of {service|interface|exec, weight}")) {
      VrrpTrack track = ParseVrrpTrack(item, config);
      if (auto [it, added] = seen.emplace(std::make_pair(int{track.kind}, track.target), item.line);
          !added)
        Fail(item, absl::StrCat(VrrpTrackKindName(track.kind), " '", track.target,
                                "' is tracked twice (first at line ", it->second, ")"));
      v.track.push_back(std::move(track));
    }
  }
  if (const Field* n = m.Get("notify")) {
    const std::string expected = "an absolute path, e.g. /usr/local/bin/notify.sh";
    v.notify = Scalar(*n, expected);
    if (!absl::StartsWith(v.notify, "/") ||
        std::any_of(v.notify.begin(), v.notify.end(),
                    [](char c) { return absl::ascii_iscntrl(c); }))
      Fail(*n, absl::StrCat("'", v.notify, "' is not ", expected,
                            " (it is run with: instance name, new state, priority)"));
    CheckScriptAt(*n, v.notify, true);
  }
  for (auto [key, command] : {std::pair{"notify_master", &v.notify_master},
                              std::pair{"notify_backup", &v.notify_backup},
                              std::pair{"notify_fault", &v.notify_fault},
                              std::pair{"notify_stop", &v.notify_stop},
                              std::pair{"notify_keepalived", &v.notify_keepalived}}) {
    const Field* n = m.Get(key);
    if (n == nullptr) continue;
    const std::string expected = "a command line, e.g. \"/usr/local/bin/notify.sh master\"";
    *command = Scalar(*n, expected);
    if (absl::StripAsciiWhitespace(*command).empty())
      Fail(*n, absl::StrCat("is empty (expected ", expected, ")"));
    if (std::any_of(command->begin(), command->end(),
                    [](char c) { return absl::ascii_iscntrl(c); }))
      Fail(*n, absl::StrCat("holds a control character such as a newline (expected ", expected,
                            " on one line)"));
    CheckScriptAt(*n, *command, false);
  }
  return v;
}

void Parser::ParseVrrpAuth(const Field& f, VrrpInstance& v, const Field* version) const {
  if (v.version != 2)
    Fail(f, absl::StrCat("only for version 2 (version is 3", version ? "" : " by default",
                         "; VRRPv3 has no authentication, RFC 5798 section 9)"));
  Map m = ReadMap(f, {"type", "secret"});
  const Field& type = Require(m, "type", "pass");
  const std::string t = Scalar(type, "pass");
  if (absl::AsciiStrToLower(t) == "ah")
    Fail(type, absl::StrCat("'", t,
                            "' is not supported (xlb does not implement keepalived's AH "
                            "authentication; expected pass)"));
  if (t != "pass") Fail(type, absl::StrCat("'", t, "' is not pass (expected pass)"));
  const Field& secret = Require(m, "secret", "a password of 1..8 characters");
  v.auth_secret = Scalar(secret, "a password of 1..8 characters");
  if (v.auth_secret.empty())
    Fail(secret, "is empty (expected 1..8 characters; leave out auth for none)");
  if (v.auth_secret.size() > 8)
    Fail(secret, absl::StrCat("is ", v.auth_secret.size(),
                              " characters long (expected 1..8: the VRRPv2 PASS field holds 8, and "
                              "keepalived silently truncates a longer one, so only its first 8 "
                              "would count)"));
}

VrrpGarp Parser::ParseVrrpGarp(const Field& f) const {
  Map m = ReadMap(f, {"count", "repeat", "interval"});
  VrrpGarp g;
  if (const Field* c = m.Get("count")) g.count = static_cast<int>(Number(*c, 1, 100));
  if (const Field* r = m.Get("repeat")) g.repeat = static_cast<int>(Number(*r, 0, 100));
  if (const Field* i = m.Get("interval")) {
    g.interval = DurationOf(*i);
    if (g.interval < Duration(10) || g.interval > Duration(3'600'000))
      Fail(*i, absl::StrCat(FormatDuration(g.interval), " is out of range (expected 10ms..1h)"));
  }
  return g;
}

void Parser::ParseVrrpUnicast(const Field& f, VrrpInstance& v) const {
  Map m = ReadMap(f, {"source", "peers"});
  const IpAddress& family = v.addresses.front().first;
  auto check_family = [&](const Field& at, const IpAddress& a) {
    if (a.family() != family.family())
      Fail(at, absl::StrCat(a.ToString(), " is ", FamilyName(a), " but the addresses are ",
                            FamilyName(family), " (expected one family per instance)"));
  };
  if (const Field* s = m.Get("source")) {
    v.unicast_source = Address(*s);
    check_family(*s, *v.unicast_source);
  }
  const std::string expected = "a list of peer addresses, e.g. [198.51.100.3]";
  const Field& peers = Require(m, "peers", expected);
  std::vector<Field> items = ReadList(peers, expected);
  if (items.empty()) Fail(peers, absl::StrCat("is empty (expected ", expected, ")"));
  std::map<IpAddress, int> seen;
  for (const Field& item : items) {
    IpAddress a = Address(item);
    check_family(item, a);
    if (auto [it, added] = seen.emplace(a, item.line); !added)
      Fail(item, absl::StrCat(a.ToString(), " is listed twice (first at line ", it->second, ")"));
    if (v.unicast_source && a == *v.unicast_source)
      Fail(item, absl::StrCat(a.ToString(), " is the source itself (expected the other routers)"));
    v.unicast_peers.push_back(a);
  }
}

std::vector<std::pair<IpAddress, int>> Parser::ParseVrrpAddresses(const Field& f) const {
  const std::string expected = "a list of ADDRESS/PREFIX, e.g. [198.51.100.10/24]";
  std::vector<Field> items = ReadList(f, expected);
  if (items.empty()) Fail(f, absl::StrCat("is empty (expected ", expected, ")"));
  std::vector<std::pair<IpAddress, int>> addresses;
  std::map<IpAddress, int> seen;
  for (const Field& item : items) {
    const std::string text = Scalar(item, "ADDRESS/PREFIX, e.g. 198.51.100.10/24");
    const size_t slash = text.find('/');
    auto ip = IpAddress::Parse(text.substr(0, slash));
    if (!ip.ok())
      Fail(item, absl::StrCat("'", text,
                              "' is not an address (expected ADDRESS/PREFIX, e.g. "
                              "198.51.100.10/24 or 2001:db8::10/64; the prefix is optional)"));
    int prefix = ip->max_prefix_len();
    if (slash != std::string::npos) {
      const std::string p = text.substr(slash + 1);
      uint32_t n = 0;
      if (p.empty() || !std::all_of(p.begin(), p.end(), absl::ascii_isdigit) ||
          !absl::SimpleAtoi(p, &n) || n < 1 || n > static_cast<uint32_t>(ip->max_prefix_len()))
        Fail(item, absl::StrCat("'", text, "' has a bad prefix length (expected 1..",
                                ip->max_prefix_len(), " for ", FamilyName(*ip), ")"));
      prefix = static_cast<int>(n);
    }
    if (!addresses.empty() && ip->family() != addresses.front().first.family())
      Fail(item, absl::StrCat("'", text, "' is ", FamilyName(*ip), " but ",
                              Index(f.path, 0), " is ", FamilyName(addresses.front().first),
                              " (expected one family per instance)"));
    if (auto [it, added] = seen.emplace(*ip, item.line); !added)
      Fail(item, absl::StrCat(ip->ToString(), " is listed twice (first at line ", it->second, ")"));
    addresses.emplace_back(*ip, prefix);
  }
  return addresses;
}

VrrpTrack Parser::ParseVrrpTrack(const Field& f, const Config& config) const {
  Map m = ReadMap(f, {"service", "interface", "exec", "weight", "interval", "rise", "fall"});
  VrrpTrack t;
  const Field* what = nullptr;
  for (const auto& [key, field] : m.entries) {
    // The key names what is watched: one of the track kinds' names.
    const std::optional<VrrpTrack::Kind> kind = model::EnumFromName<VrrpTrack::Kind>(key);
    if (!kind) continue;
    if (what)
      Fail(field, absl::StrCat("a track watches one thing (", what->path,
                               " is given too; expected one of: service, interface, exec)"));
    what = &field;
    t.kind = *kind;
  }
  if (!what) Fail(m.line, f.path, "tracks nothing (expected one of: service, interface, exec)");
  switch (t.kind) {
    case VrrpTrack::kService: {
      t.target = Scalar(*what, "a service name from services:");
      bool known = false;
      std::vector<std::string> names;
      for (const ServiceConfig& sc : config.services) {
        names.push_back(sc.name);
        known = known || sc.name == t.target;
      }
      if (!known)
        Fail(*what, absl::StrCat("'", t.target, "' is not a service (",
                                 names.empty()
                                     ? "no services are configured"
                                     : absl::StrCat("known: ", absl::StrJoin(names, ", ")),
                                 ")"));
      break;
    }
    case VrrpTrack::kInterface:
      t.target = Scalar(*what, "an interface name, e.g. eth0");
      if (!IsInterfaceName(t.target))
        Fail(*what, absl::StrCat("'", t.target,
                                 "' is not an interface name (expected up to 15 characters, "
                                 "without '/', ':' or spaces)"));
      break;
    case VrrpTrack::kExec:
      t.target = Scalar(*what, "a shell command");
      if (absl::StripAsciiWhitespace(t.target).empty())
        Fail(*what, "is empty (expected a shell command)");
      CheckScriptAt(*what, t.target, false);
      break;
  }
  for (const auto& [key, field] : m.entries)
    if ((key == "interval" || key == "rise" || key == "fall") && t.kind != VrrpTrack::kExec)
      Fail(field, absl::StrCat("only for an exec track (this one tracks ",
                               VrrpTrackKindName(t.kind), " ", t.target, ")"));
  if (const Field* w = m.Get("weight")) t.weight = static_cast<int>(Number(*w, 0, 254));
  if (const Field* i = m.Get("interval")) {
    t.interval = DurationOf(*i);
    if (t.interval.count() == 0) Fail(*i, "must be more than 0s (expected e.g. 1s)");
  }
  if (const Field* r = m.Get("rise")) t.rise = static_cast<int>(Number(*r, 1, 100));
  if (const Field* r = m.Get("fall")) t.fall = static_cast<int>(Number(*r, 1, 100));
  return t;
}

TablesConfig Parser::ParseTables(const Field& f) const {
  Map m = ReadMap(f, {"connections", "nat_replies", "persistence"});
  TablesConfig t;
  for (auto [key, size] : {std::pair{"connections", &t.connections},
                           std::pair{"nat_replies", &t.nat_replies},
                           std::pair{"persistence", &t.persistence}})
    if (const Field* n = m.Get(key))
      *size = static_cast<uint32_t>(Number(*n, TablesConfig::kMin, TablesConfig::kMax));
  return t;
}

Config Parser::Parse(const YAML::Node& root) {
  Map m = ReadMap(Field{root, "", 1},
                  {"interfaces", "api", "tables", "scripts", "services", "vrrp", "bgp", "sync"});
  Config config;
  config.interfaces =
      ParseInterfaces(Require(m, "interfaces", "a list of interface names, e.g. [eth0]"));
  if (const Field* a = m.Get("api")) config.api = ParseApi(*a);
  if (const Field* t = m.Get("tables")) config.tables = ParseTables(*t);
  // Before the services and instances, whose scripts are checked for its user.
  const Field* scripts = m.Get("scripts");
  if (scripts != nullptr) {
    Map sm = ReadMap(*scripts, {"user"});
    if (const Field* u = sm.Get("user")) {
      config.scripts.user = Scalar(*u, "a user name");
      if (std::any_of(config.scripts.user.begin(), config.scripts.user.end(),
                      [](char c) {
                        return c == ':' || c == '/' || absl::ascii_isspace(c) ||
                               absl::ascii_iscntrl(c);
                      }))
        Fail(*u, absl::StrCat("'", config.scripts.user, "' is not a user name"));
    }
  }
  if (check_machine_) {
    absl::StatusOr<ScriptUser> user = ResolveScriptUser(config.scripts.user);
    if (!user.ok()) {
      int line = 1;
      if (scripts != nullptr) {
        const Map sm = ReadMap(*scripts, {"user"});  // kept: Get points into it
        if (const Field* u = sm.Get("user")) line = u->line;
      }
      Fail(line, "scripts.user", std::string(user.status().message()));
    }
    script_uid_ = user->uid;
  }
  if (const Field* services = m.Get("services")) config.services = ParseServices(*services);
  // After the services, which tracks refer to.
  if (const Field* v = m.Get("vrrp")) config.vrrp = ParseVrrp(*v, config);
  // After the services, whose VIPs it announces.
  if (const Field* b = m.Get("bgp")) config.bgp = ParseBgp(*b, config);
  if (const Field* y = m.Get("sync")) config.sync = ParseSync(*y);
  return config;
}

std::vector<ServiceConfig> Parser::ParseServices(const Field& f) const {
  std::vector<ServiceConfig> out;
  const Field* services = &f;
  std::vector<Field> items = ReadList(*services, "a list of services");
  if (items.size() > model::kMaxServices - 1)
    Fail(*services, absl::StrCat(items.size(), " services, over the ", model::kMaxServices - 1,
                                 " the data plane holds"));
  std::map<std::string, int> names;
  std::map<ServiceKey, int> keys;
  size_t reals = 0;
  for (const Field& item : items) {
    ServiceConfig sc = ParseService(item);
    if (auto [it, added] = names.emplace(sc.name, item.line); !added)
      Fail(item.line, Child(item.path, "name"),
           absl::StrCat("'", sc.name, "' is used twice (first at line ", it->second, ")"));
    if (auto [it, added] = keys.emplace(sc.service.key, item.line); !added)
      Fail(item, absl::StrCat(sc.service.key.ToString(), " is used twice (first at line ",
                              it->second, ")"));
    reals += sc.reals.size();
    out.push_back(std::move(sc));
  }
  // Each (service, real) pair takes one of the data plane's real ids.
  if (reals > model::kMaxReals - 1)
    Fail(*services, absl::StrCat(reals, " reals in all, over the ", model::kMaxReals - 1,
                                 " the data plane holds"));
  return out;
}


// ---- bgp ----

std::string VipList(const std::set<IpAddress>& vips) {
  if (vips.empty()) return "no services are configured";
  std::vector<std::string> names;
  for (const IpAddress& v : vips) names.push_back(v.ToString());
  return absl::StrCat("VIPs: ", absl::StrJoin(names, ", "));
}

// 1..4294967295 written plain (no asdot), less those no BGP speaker may use.
uint32_t Parser::AsNumber(const Field& f) const {
  const uint64_t asn = Number(f, 0, std::numeric_limits<uint32_t>::max());
  if (asn == 0) Fail(f, "AS 0 is reserved (RFC 7607; expected 1..4294967295)");
  if (asn == BgpConfig::kAsTrans)
    Fail(f, "23456 is AS_TRANS, the stand-in for a 4-byte AS number (RFC 6793), not an AS "
            "(expected the real AS number)");
  if (asn == 65535 || asn == std::numeric_limits<uint32_t>::max())
    Fail(f, absl::StrCat(asn, " is reserved (RFC 7300; expected another AS number)"));
  return static_cast<uint32_t>(asn);
}

// A BGP timer as FRR takes it: whole seconds; a hold time of 0s (no hold
// timer, no keepalives) or 3s..65535s (RFC 4271 4.2); a keepalive of at most
// 65535s / 3.
Duration Parser::BgpTimer(const Field& f, bool hold) const {
  const Duration d = DurationOf(f);
  const std::string text = FormatDuration(d);
  if (d.count() % 1000 != 0)
    Fail(f, absl::StrCat(text, " is not a whole number of seconds (BGP counts in seconds; "
                               "expected e.g. 3s, 9s)"));
  const int64_t s = d.count() / 1000;
  if (hold && ((s > 0 && s < 3) || s > 65535))
    Fail(f, absl::StrCat(text, " is out of range (expected 0s, or 3s..65535s: RFC 4271)"));
  if (!hold && s > 65535 / 3)
    Fail(f, absl::StrCat(text, " is out of range (expected at most ", 65535 / 3,
                         "s, a third of the longest hold time)"));
  return d;
}

// A keepalive and hold time that go together: no keepalives with a hold
// time of 0s, else at least one keepalive per third of the hold time (RFC
// 4271 4.4; FRR would silently send them more often). The error is at the
// first field of `blame` given.
void Parser::CheckBgpTimers(Duration hold, Duration keepalive,
                            std::initializer_list<const Field*> blame) const {
  const Field* at = nullptr;
  for (const Field* f : blame)
    if (f != nullptr && at == nullptr) at = f;
  const int64_t h = hold.count() / 1000, k = keepalive.count() / 1000;
  if (h == 0 && k != 0)
    Fail(*at, absl::StrCat("keepalive ", k, "s with hold_time 0s (expected keepalive: 0s: a hold "
                           "time of 0 means no keepalives, RFC 4271 4.4)"));
  if (h != 0 && (k == 0 || k * 3 > h))
    Fail(*at, absl::StrCat("keepalive ", k, "s with hold_time ", h,
                           "s (expected 1s <= keepalive <= hold_time / 3, e.g. keepalive: 3s "
                           "with hold_time: 9s)"));
}

// The TCP MD5 password in `path` (read only when checking the machine): one
// line of 1..80 printable characters without spaces (the kernel's
// TCP_MD5SIG_MAXKEYLEN; FRR's configuration reads it as one word).
std::string Parser::BgpPassword(const Field& f, const std::string& path) const {
  if (!check_machine_) return "";
  absl::StatusOr<std::string> text =
      ReadSecretFile(path, 4096, "a BGP password, one line of 1..80 characters");
  if (!text.ok()) Fail(f, std::string(text.status().message()));
  std::string password = *std::move(text);
  if (absl::EndsWith(password, "\n")) password.pop_back();
  if (password.empty())
    Fail(f, absl::StrCat(path, ": is empty (expected a password of 1..80 characters)"));
  if (password.size() > 80)
    Fail(f, absl::StrCat(path, ": holds ", password.size(),
                         " characters (expected 1..80: TCP MD5 keys are at most 80 bytes)"));
  if (!std::all_of(password.begin(), password.end(), [](char c) { return c > ' ' && c <= '~'; }))
    Fail(f, absl::StrCat(path,
                         ": holds a space, a control character or a second line (expected one "
                         "line of printable ASCII without spaces)"));
  return password;
}

std::vector<IpAddress> Parser::ParseBgpAnnounce(const Field& f,
                                                const std::set<IpAddress>& vips) const {
  const std::string expected = "all, or a list of VIPs, e.g. [198.51.100.10]";
  if (f.node.IsScalar()) {
    const std::string text = f.node.Scalar();
    if (text != "all") Fail(f, absl::StrCat("'", text, "' is not ", expected));
    return {};
  }
  std::vector<Field> items = ReadList(f, expected);
  if (items.empty()) Fail(f, absl::StrCat("is empty (expected ", expected, ")"));
  std::vector<IpAddress> announce;
  std::map<IpAddress, int> seen;
  for (const Field& item : items) {
    const IpAddress vip = Address(item);
    if (!vips.contains(vip))
      Fail(item, absl::StrCat(vip.ToString(), " is not the VIP of any service (", VipList(vips),
                              ")"));
    if (auto [it, added] = seen.emplace(vip, item.line); !added)
      Fail(item, absl::StrCat(vip.ToString(), " is listed twice (first at line ", it->second, ")"));
    announce.push_back(vip);
  }
  return announce;
}

BgpBfd Parser::ParseBgpBfd(const Field& f) const {
  Map m = ReadMap(f, {"interval", "multiplier"});
  BgpBfd bfd;
  if (const Field* i = m.Get("interval")) {
    bfd.interval = DurationOf(*i);
    if (bfd.interval < Duration(10) || bfd.interval > Duration(60'000))
      Fail(*i, absl::StrCat(FormatDuration(bfd.interval),
                             " is out of range (expected 10ms..60s, as FRR's bfdd takes)"));
  }
  if (const Field* n = m.Get("multiplier")) bfd.multiplier = static_cast<int>(Number(*n, 2, 255));
  return bfd;
}

// An address a BGP session can be opened to: one of a host, reachable
// without naming an interface.
const char* NotANeighbor(const IpAddress& a) {
  const std::string b = a.bytes();
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(b[i]); };
  if (std::all_of(b.begin(), b.end(), [](char c) { return c == 0; })) return "unspecified";
  if (a.is_v4()) {
    if (byte(0) >= 224) return "multicast or reserved";
    if (byte(0) == 127) return "a loopback address";
    return nullptr;
  }
  if (byte(0) == 0xff) return "multicast";
  if (byte(0) == 0xfe && (byte(1) & 0xc0) == 0x80)
    return "link-local (it needs an interface; expected a global or unique-local address)";
  if (a == *IpAddress::Parse("::1")) return "a loopback address";
  return nullptr;
}

BgpNeighbor Parser::ParseBgpNeighbor(const Field& f, const BgpConfig& bgp,
                                     const std::set<IpAddress>& vips) const {
  Map m = ReadMap(f, {"address", "asn", "password_file", "password", "bfd", "hold_time",
                      "keepalive"});
  BgpNeighbor n;
  const Field& address = Require(m, "address", "the neighbour's IPv4 or IPv6 address");
  n.address = Address(address);
  if (const char* why = NotANeighbor(n.address))
    Fail(address, absl::StrCat(n.address.ToString(), " is ", why));
  if (vips.contains(n.address))
    Fail(address, absl::StrCat(n.address.ToString(),
                               " is the VIP of a service (expected the router's own address)"));
  if (n.address == bgp.router_id)
    Fail(address, absl::StrCat(n.address.ToString(),
                               " is bgp.router_id, this director's (expected the router's)"));
  n.asn = AsNumber(Require(m, "asn", "the neighbour's AS number, 1..4294967295"));
  if (const Field* p = m.Get("password"))
    Fail(*p,
         "is not accepted in the configuration (put the password in a file of mode 0600 and name "
         "it with password_file: the configuration is saved by xlbctl config save and read by "
         "more people than a secret should be)");
  if (const Field* p = m.Get("password_file")) {
    n.password_file = Scalar(*p, "an absolute path, e.g. /etc/xlb/bgp.pass");
    if (!absl::StartsWith(n.password_file, "/"))
      Fail(*p, absl::StrCat("'", n.password_file,
                            "' is not an absolute path (expected e.g. /etc/xlb/bgp.pass)"));
    n.password = BgpPassword(*p, n.password_file);
  }
  if (const Field* b = m.Get("bfd")) n.bfd = Bool(*b);
  const Field* hold = m.Get("hold_time");
  const Field* keepalive = m.Get("keepalive");
  n.hold_time = hold ? BgpTimer(*hold, true) : bgp.hold_time;
  n.keepalive = keepalive ? BgpTimer(*keepalive, false) : bgp.keepalive;
  // The section's own pair was checked; a clash comes from this neighbour.
  if (hold || keepalive) CheckBgpTimers(n.hold_time, n.keepalive, {keepalive, hold});
  return n;
}

BgpConfig Parser::ParseBgp(const Field& f, const Config& config) const {
  Map m = ReadMap(f, {"asn", "router_id", "announce", "next_hop_self", "hold_time", "keepalive",
                      "bfd", "neighbors", "frr_pathspace", "withdraw_delay"});
  std::set<IpAddress> vips;
  for (const ServiceConfig& sc : config.services) vips.insert(sc.service.key.vip);
  BgpConfig bgp;
  bgp.asn = AsNumber(Require(m, "asn", "this director's AS number, 1..4294967295"));
  const std::string id_expected = "an IPv4 address unique to this director, e.g. 198.51.100.1";
  const Field& id = Require(m, "router_id", id_expected);
  bgp.router_id = Address(id);
  if (!bgp.router_id.is_v4())
    Fail(id, absl::StrCat(bgp.router_id.ToString(),
                          " is IPv6 (a BGP router id is 32 bits, written as IPv4, RFC 6286; "
                          "expected ", id_expected, ", also on an IPv6-only director)"));
  if (bgp.router_id == IpAddress())
    Fail(id, absl::StrCat("0.0.0.0 is not a router id (expected ", id_expected, ")"));
  if (vips.contains(bgp.router_id))
    Fail(id, absl::StrCat(bgp.router_id.ToString(),
                          " is the VIP of a service, the same on every director (expected ",
                          id_expected, ")"));
  if (const Field* a = m.Get("announce")) bgp.announce = ParseBgpAnnounce(*a, vips);
  if (const Field* n = m.Get("next_hop_self")) bgp.next_hop_self = Bool(*n);
  const Field* hold = m.Get("hold_time");
  const Field* keepalive = m.Get("keepalive");
  if (hold) bgp.hold_time = BgpTimer(*hold, true);
  if (keepalive) bgp.keepalive = BgpTimer(*keepalive, false);
  if (hold || keepalive) CheckBgpTimers(bgp.hold_time, bgp.keepalive, {keepalive, hold});
  const Field* bfd = m.Get("bfd");
  if (bfd) bgp.bfd = ParseBgpBfd(*bfd);
  if (const Field* p = m.Get("frr_pathspace")) {
    const std::string expected = "an FRR pathspace name (vtysh -N NAME): letters, digits, '_', "
                                 "'.', '-', or \"\" for the system's FRR";
    bgp.frr_pathspace = Scalar(*p, expected);
    // A directory name under /var/run/frr: never one that leaves it.
    if (!bgp.frr_pathspace.empty() &&
        (!IsServiceName(bgp.frr_pathspace) || bgp.frr_pathspace.front() == '.'))
      Fail(*p, absl::StrCat("'", bgp.frr_pathspace, "' is not ", expected));
  }
  if (const Field* d = m.Get("withdraw_delay")) {
    bgp.withdraw_delay = DurationOf(*d);
    if (bgp.withdraw_delay > Duration(60'000))
      Fail(*d, absl::StrCat(FormatDuration(bgp.withdraw_delay),
                            " is out of range (expected 0s..1m)"));
  }

  const std::string expected = "a list of {address, asn}, at least one";
  const Field& neighbors = Require(m, "neighbors", expected);
  std::vector<Field> items = ReadList(neighbors, expected);
  if (items.empty()) Fail(neighbors, absl::StrCat("is empty (expected ", expected, ")"));
  std::map<IpAddress, int> seen;
  for (const Field& item : items) {
    BgpNeighbor n = ParseBgpNeighbor(item, bgp, vips);
    if (auto [it, added] = seen.emplace(n.address, item.line); !added)
      Fail(item.line, Child(item.path, "address"),
           absl::StrCat(n.address.ToString(), " is listed twice (first at line ", it->second, ")"));
    bgp.neighbors.push_back(std::move(n));
  }
  if (bfd && std::none_of(bgp.neighbors.begin(), bgp.neighbors.end(),
                          [](const BgpNeighbor& n) { return n.bfd; }))
    Fail(*bfd, "is unused: no neighbour has bfd: true (set it on the neighbours, or remove this)");
  return bgp;
}

// ---- sync ----

bool IsMulticast(const IpAddress& a) {
  const auto first = static_cast<uint8_t>(a.bytes()[0]);
  return a.is_v4() ? (first & 0xf0) == 224 : first == 0xff;
}

Duration Parser::DurationIn(const Field& f, Duration min, Duration max) const {
  const Duration d = DurationOf(f);
  if (d < min || d > max)
    Fail(f, absl::StrCat(FormatDuration(d), " is out of range (expected ", FormatDuration(min),
                         "..", FormatDuration(max), ")"));
  return d;
}

SyncConfig Parser::ParseSync(const Field& f) const {
  Map m = ReadMap(f, {"peers", "port", "key_file", "source", "node_id", "mtu", "refresh",
                      "resync_timeout", "ring_bytes", "multicast_ttl"});
  SyncConfig sync;
  const std::string expected =
      "a list of the other directors' addresses, or one multicast group, e.g. [192.0.2.12, "
      "192.0.2.13]";
  const Field& peers = Require(m, "peers", expected);
  std::vector<Field> items = ReadList(peers, expected);
  if (items.empty()) Fail(peers, absl::StrCat("is empty (expected ", expected, ")"));
  std::map<IpAddress, int> seen;
  for (const Field& item : items) {
    const IpAddress peer = Address(item);
    const bool group = IsMulticast(peer);
    if (!group)
      if (const char* why = NotANeighbor(peer))
        Fail(item, absl::StrCat(peer.ToString(), " is ", why, " (expected another director's "
                                "address or a multicast group)"));
    if (auto [it, added] = seen.emplace(peer, item.line); !added)
      Fail(item,
           absl::StrCat(peer.ToString(), " is listed twice (first at line ", it->second, ")"));
    if (!sync.peers.empty()) {
      const IpAddress& first = sync.peers.front();
      if (peer.is_v4() != first.is_v4())
        Fail(item, absl::StrCat(peer.ToString(), " is ", FamilyName(peer), " and ",
                                first.ToString(), " is ", FamilyName(first),
                                " (expected peers of one family)"));
      if (group || IsMulticast(first))
        Fail(item, absl::StrCat(group ? peer.ToString() : first.ToString(),
                                " is a multicast group, which must be the only peer (expected "
                                "either unicast addresses or one group)"));
    }
    sync.peers.push_back(peer);
  }
  const bool multicast = IsMulticast(sync.peers.front());

  if (const Field* p = m.Get("port")) sync.port = static_cast<uint16_t>(Number(*p, 1, 65535));
  const std::string key_expected = "an absolute path, e.g. /etc/xlb/sync.key";
  const Field& key = Require(m, "key_file", key_expected);
  sync.key_file = Scalar(key, key_expected);
  if (!absl::StartsWith(sync.key_file, "/"))
    Fail(key, absl::StrCat("'", sync.key_file, "' is not ", key_expected));
  if (const Field* s = m.Get("source")) {
    const IpAddress source = Address(*s);
    const IpAddress& peer = sync.peers.front();
    if (source.is_v4() != peer.is_v4())
      Fail(*s, absl::StrCat(source.ToString(), " is ", FamilyName(source), " and the peers are ",
                            FamilyName(peer), " (expected this director's ", FamilyName(peer),
                            " address)"));
    if (const char* why = NotANeighbor(source))
      Fail(*s, absl::StrCat(source.ToString(), " is ", why,
                            " (expected this director's own address)"));
    if (auto it = seen.find(source); it != seen.end())
      Fail(*s, absl::StrCat(source.ToString(), " is also a peer (line ", it->second,
                            "); expected this director's own address, the peers the others'"));
    sync.source = source;
  }
  if (const Field* n = m.Get("node_id"))
    sync.node_id = static_cast<uint32_t>(Number(*n, 1, std::numeric_limits<uint32_t>::max()));
  if (const Field* u = m.Get("mtu"))
    sync.mtu = static_cast<uint32_t>(Number(*u, SyncConfig::kMinMtu, SyncConfig::kMaxMtu));
  if (const Field* r = m.Get("refresh"))
    sync.refresh = DurationIn(*r, Duration(5'000), Duration(3'600'000));
  if (const Field* r = m.Get("resync_timeout"))
    sync.resync_timeout = DurationIn(*r, Duration(1'000), Duration(300'000));
  if (const Field* r = m.Get("ring_bytes")) {
    sync.ring_bytes =
        static_cast<uint32_t>(Number(*r, SyncConfig::kMinRingBytes, SyncConfig::kMaxRingBytes));
    if ((sync.ring_bytes & (sync.ring_bytes - 1)) != 0)
      Fail(*r, absl::StrCat(sync.ring_bytes,
                            " is not a power of two (the kernel sizes a BPF ring so; expected "
                            "e.g. 1048576, 4194304, 16777216)"));
  }
  if (const Field* t = m.Get("multicast_ttl")) {
    if (!multicast)
      Fail(*t, "is unused: the peers are unicast addresses (it sets the hops of datagrams to a "
               "multicast group; remove it)");
    sync.multicast_ttl = static_cast<int>(Number(*t, 1, 255));
  }
  return sync;
}

// Where each YAML document of a text starts and its first node is. Only marks:
// the nodes themselves come from YAML::Load.
class DocumentMarks : public YAML::EventHandler {
 public:
  struct Document {
    YAML::Mark start, node;
    bool has_node = false;
  };
  std::vector<Document> documents;

  void OnDocumentStart(const YAML::Mark& mark) override { documents.push_back({mark, mark}); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override { Node(mark); }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override { Node(mark); }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override { Node(mark); }
  void OnMapEnd() override {}

 private:
  void Node(const YAML::Mark& mark) {
    if (!documents.back().has_node) documents.back().node = mark;
    documents.back().has_node = true;
  }
};

// The offset of the first byte of `text` that is not part of well-formed
// UTF-8 (no overlong forms, surrogates or code points over U+10FFFF), or npos.
size_t FirstNonUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto b = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
    const uint8_t c = b(i);
    size_t more = 0;
    uint8_t lo = 0x80, hi = 0xbf;  // the range of the first continuation byte
    if (c < 0x80) {
      more = 0;
    } else if (c >= 0xc2 && c <= 0xdf) {
      more = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      more = 2;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      more = 3;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return i;
    }
    if (i + more >= text.size()) return i;  // cut short
    for (size_t k = 1; k <= more; ++k) {
      const uint8_t low = k == 1 ? lo : 0x80, high = k == 1 ? hi : 0xbf;
      if (b(i + k) < low || b(i + k) > high) return i;
    }
    i += more + 1;
  }
  return absl::string_view::npos;
}

}  // namespace

absl::Status CheckUtf8(absl::string_view text, const std::string& file_name) {
  const size_t bad = FirstNonUtf8(text);
  if (bad == absl::string_view::npos) return absl::OkStatus();
  const size_t line_start = bad == 0 ? 0 : text.rfind('\n', bad - 1) + 1;  // npos + 1 = 0
  return absl::InvalidArgumentError(absl::StrCat(
      file_name, ":", 1 + std::count(text.begin(), text.begin() + bad, '\n'),
      ": not UTF-8 text (column ", bad - line_start + 1, ")"));
}

namespace {

absl::StatusOr<Config> ParseText(const std::string& yaml_text, const std::string& file_name,
                                 bool check_machine) {
  // YAML is Unicode text; yaml-cpp reads other bytes into strings, but writes
  // them back (ToYaml) as U+FFFD: a saved config would differ from the file.
  if (absl::Status utf8 = CheckUtf8(yaml_text, file_name); !utf8.ok()) return utf8;
  YAML::Node doc;
  DocumentMarks marks;
  try {
    // At most three documents are looked at, not YAML::LoadAll: yaml-cpp 0.7
    // never consumes a ',' outside [ ] or { } (",", "[a]\n,"), and LoadAll
    // then makes empty documents at it without end. A document that starts
    // where the one before did is that.
    std::istringstream in(yaml_text);
    YAML::Parser scan(in);
    while (marks.documents.size() < 3 && scan.HandleNextDocument(marks)) {
      const size_t n = marks.documents.size();
      if (n >= 2 && marks.documents[n - 1].start.pos == marks.documents[n - 2].start.pos)
        return absl::InvalidArgumentError(
            absl::StrCat(file_name, ":", marks.documents[n - 1].start.line + 1,
                         ": YAML syntax: unexpected ',' (outside [ ] or { })"));
    }
    doc = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    std::string hint;
    // `port: *` reads as an alias; the fix is not obvious from yaml-cpp's words.
    if (absl::StrContains(e.msg, "alias")) hint = " (for all ports write port: \"*\", quoted)";
    // So does an IPv6 address ending in "::", which YAML reads as a key.
    if (absl::StrContains(e.msg, "illegal map value"))
      hint = " (quote a value that contains ': ' or ends in ':', e.g. vip: \"2001:db8::\")";
    return absl::InvalidArgumentError(absl::StrCat(
        file_name, ":", e.mark.is_null() ? 1 : e.mark.line + 1, ": YAML syntax: ", e.msg, hint));
  }
  Parser parser(file_name, check_machine);
  try {
    if (marks.documents.size() > 1)
      parser.Fail(marks.documents[1].node.line + 1, "",
                  "a second YAML document (after '---'); expected one document");
    return parser.Parse(doc);
  } catch (const ConfigError& e) {
    return e.status;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(file_name, ":", e.mark.is_null() ? 1 : e.mark.line + 1, ": YAML: ", e.msg));
  }
}

}  // namespace

absl::StatusOr<ServiceConfig> ParseServiceEntry(const YAML::Node& service,
                                                const FieldNamer& name_of,
                                                std::optional<uid_t> script_uid) {
  // Never without a namer: its absence is what makes the parser name a file.
  Parser parser(name_of ? name_of : [](const std::string& path) { return path; }, script_uid);
  try {
    return parser.ParseOneService(service);
  } catch (const ConfigError& e) {
    return e.status;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("YAML: ", e.msg));
  }
}

absl::StatusOr<Config> ParseConfig(const std::string& yaml_text, const std::string& file_name) {
  return ParseText(yaml_text, file_name, false);
}

// Far beyond any real config (100 services x 100 reals is about 1 MB): a
// wrong path (a log, /dev/zero) is refused instead of read into memory.
constexpr size_t kMaxConfigFile = size_t{64} << 20;

absl::StatusOr<Config> LoadConfigFile(const std::string& path) {
  auto text = ReadWholeFile(path, kMaxConfigFile, "an xlb YAML configuration");
  if (!text.ok()) return text.status();
  return ParseText(*text, path, true);
}

}  // namespace xlb::config
