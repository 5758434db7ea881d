#include "controlplane/xlbctl/args.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "controlplane/api/contract.h"
#include "controlplane/config/parse.h"
#include "controlplane/xlbctl/local_commands.h"
#include "model/names.h"
#include "model/service.h"

namespace xlb::xlbctl {

namespace {

absl::Status Bad(const std::string& why) { return absl::InvalidArgumentError(why); }

// The command asks `endpoint` (of the API's route table) for `request`.
template <typename Req, typename Resp>
void Ask(Command& c, const api::Endpoint<Req, Resp>& endpoint, const Req& request) {
  api::WireRequest wire = api::ToWire(endpoint, request);
  c.method = std::move(wire.method);
  c.target = std::move(wire.target);
  c.body = std::move(wire.body);
}

absl::StatusOr<uint32_t> Number(const std::string& flag, const std::string& value) {
  uint32_t n;
  if (!absl::SimpleAtoi(value, &n))
    return Bad(absl::StrCat(flag, " wants a number, not '", value, "'"));
  return n;
}

const std::string* OptionValue(const Command& c, const std::string& name) {
  auto it = c.options.find(name);
  return it == c.options.end() ? nullptr : &it->second;
}

// ---- service add: an option per key of a service in the config ----------

// Each option of `service add` and the key of the config's service map it
// sets (xlb.yaml(5)); the value is read by the config's own parser.
struct ServiceField {
  Option option;
  absl::string_view path;  // in the config's service map
};

const std::vector<ServiceField>& ServiceFields() {
  static const std::vector<ServiceField> fields = {
      {{"--name", "NAME", "its name (default: from the protocol, VIP and port)"}, "name"},
      {{"--forward", "dr|nat|tunnel", "direct routing (default), NAT, or encapsulated to "
                                      "routed reals"},
       "forward"},
      {{"--encap", "ipip|gue", "tunnel: IP in IP (default) or GUE over UDP"}, "encap"},
      {{"--gue-port", "PORT", "tunnel gue: the outer UDP port (default 6080)"}, "gue_port"},
      {{"--tunnel-source", "PREFIX", "tunnel: outer sources, e.g. 192.0.2.128/25 (default the "
                                     "director's address toward the reals)"},
       "tunnel_source"},
      {{"--tunnel-mtu", "BYTES", "tunnel: largest outer packet (default the egress link's MTU)"},
       "tunnel_mtu"},
      {{"--mss-clamp", "true|false", "tunnel: lower a SYN's MSS to fit (default true)"},
       "mss_clamp"},
      {{"--scheduler", "maglev|source-hash", "how reals are chosen (default maglev)"}, "scheduler"},
      {{"--persistence", "DURATION", "a client sticks to its real this long (e.g. 300s; a bare "
                                     "number is seconds)"},
       "persistence.timeout"},
      {{"--persistence-netmask", "PREFIX", "clients in one such prefix count as one"},
       "persistence.netmask"},
      {{"--table-size", "PRIME", "Maglev table entries (default 65537)"}, "table_size"},
      {{"--drop-fragments", "", "drop IP fragments for the VIP instead of passing them up"},
       "drop_fragments"},
      {{"--tcp-timeout", "DURATION", "idle TCP connections are forgotten after (default 900s)"},
       "timeouts.tcp"},
      {{"--tcp-fin-timeout", "DURATION", "closing TCP connections (default 120s)"},
       "timeouts.tcp_fin"},
      {{"--udp-timeout", "DURATION", "idle UDP flows (default 300s)"}, "timeouts.udp"},
      {{"--on-down", "keep|shutdown", "a real marked down keeps its flows (default) or has "
                                      "them cut, its clients reset"},
       "on_down"},
      {{"--health-type", "none|tcp|http|https|exec", "the reals' health check (default none)"},
       "health.type"},
      {{"--health-port", "PORT", "the port checked (default the real's)"}, "health.port"},
      {{"--health-path", "PATH", "http(s): the path to GET (default /)"}, "health.path"},
      {{"--health-expect", "CODE,...", "http(s): status codes that mean up (default 200)"},
       "health.expect"},
      {{"--health-body", "TEXT", "http(s): a text the body must hold"}, "health.body"},
      {{"--health-ca-file", "FILE", "https: PEM CA certificates (default the system's)"},
       "health.ca_file"},
      {{"--health-server-name", "NAME", "https: SNI and the name verified"}, "health.server_name"},
      {{"--health-client-cert", "FILE", "https: PEM client certificate"}, "health.client_cert"},
      {{"--health-client-key", "FILE", "https: its PEM private key"}, "health.client_key"},
      {{"--health-verify", "true|false", "https: check the real's certificate (default true)"},
       "health.verify"},
      {{"--health-command", "COMMAND", "exec: a shell command, exit 0 = up"}, "health.command"},
      {{"--health-source", "ADDRESS", "tcp, http(s): the address probes leave from"},
       "health.source"},
      {{"--health-interval", "DURATION", "between checks (default 1s)"}, "health.interval"},
      {{"--health-timeout", "DURATION", "of one check (default 500ms)"}, "health.timeout"},
      {{"--health-rise", "N", "successes in a row that bring a real up (default 2)"},
       "health.rise"},
      {{"--health-fall", "N", "failures in a row that take it down (default 2)"}, "health.fall"},
      {{"--health-through-tunnel", "true|false", "tunnel: an echo to the VIP through the tunnel "
                                                 "must pass too (default false)"},
       "health.through_tunnel"},
  };
  return fields;
}

// The option that sets `path` of the config ("health.expect[1]" is
// --health-expect), for the config parser's errors.
std::string OptionOfPath(const std::string& path) {
  const std::string key = path.substr(0, path.find('['));
  for (const ServiceField& f : ServiceFields())
    if (f.path == key) return std::string(f.option.name);
  if (key == "vip" || key == "port" || key == "protocol") return "VIP:PORT[/proto]";
  return key;
}

// `value` at `path` ("health.interval") of a config map; a list for
// health.expect ("200,204").
void SetPath(YAML::Node node, absl::string_view path, const std::string& value) {
  std::vector<std::string> keys = absl::StrSplit(path, '.');
  for (size_t k = 0; k + 1 < keys.size(); ++k) node.reset(node[keys[k]]);
  YAML::Node leaf;
  if (path == "health.expect") {
    for (absl::string_view item : absl::StrSplit(value, ',')) leaf.push_back(std::string(item));
  } else {
    leaf = value;
  }
  node[keys.back()] = leaf;
}

// A map of the config as the API's JSON: the texts as they are.
nlohmann::json JsonOf(const YAML::Node& node) {
  if (node.IsMap()) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& kv : node) out[kv.first.Scalar()] = JsonOf(kv.second);
    return out;
  }
  if (node.IsSequence()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& item : node) out.push_back(JsonOf(item));
    return out;
  }
  return node.Scalar();
}

absl::Status ServiceAdd(Command& c) {
  auto key = model::ParseServiceKey(c.args[0]);
  if (!key.ok()) return key.status();
  // The options as the config would say them, read by the config's parser:
  // a bad value is refused in the config's words, naming the option.
  api::ServiceAddRequest request;
  request.service = *key;
  YAML::Node entry = api::ServiceEntryOf(request);
  std::set<absl::string_view> given;
  for (const ServiceField& f : ServiceFields()) {
    const std::string* value = OptionValue(c, std::string(f.option.name));
    if (!value) continue;
    given.insert(f.path);
    std::string text = f.option.value.empty() ? "true" : *value;
    // ipvsadm -p takes seconds: a bare number still means them.
    if (f.path == "persistence.timeout" && !text.empty() &&
        std::all_of(text.begin(), text.end(), absl::ascii_isdigit))
      text += "s";
    SetPath(entry, f.path, text);
  }
  auto service = config::ParseServiceEntry(entry, OptionOfPath, std::nullopt);
  if (!service.ok()) return service.status();
  // The request: what was given, as read; the maps as given (xlbd reads
  // them with the same parser).
  const model::ServiceOptions& o = service->service.options;
  if (given.contains("name")) request.name = service->name;
  if (given.contains("forward")) request.forward = o.forward;
  if (given.contains("scheduler")) request.scheduler = o.scheduler;
  if (given.contains("persistence.timeout")) request.persistence = o.persistence_timeout_s;
  if (given.contains("persistence.netmask"))
    request.netmask = static_cast<uint32_t>(o.persistence_netmask);
  if (given.contains("table_size")) request.table_size = o.table_size;
  if (given.contains("drop_fragments")) request.drop_fragments = o.drop_fragments;
  if (given.contains("on_down")) request.on_down = service->on_down;
  if (given.contains("encap")) request.encap = o.tunnel.encap;
  if (given.contains("gue_port")) request.gue_port = o.tunnel.gue_port;
  if (given.contains("tunnel_source") && o.tunnel.source)
    request.tunnel_source = o.tunnel.source->ToString();
  if (given.contains("tunnel_mtu")) request.tunnel_mtu = o.tunnel.mtu;
  if (given.contains("mss_clamp")) request.mss_clamp = o.tunnel.mss_clamp;
  const YAML::Node& read = entry;  // (a const node: [] makes no key)
  if (read["timeouts"]) request.timeouts = JsonOf(read["timeouts"]);
  if (read["health"]) request.health = JsonOf(read["health"]);
  Ask(c, api::kServiceAdd, request);
  return absl::OkStatus();
}

// ---- the other API commands ----------------------------------------------

absl::StatusOr<model::ServiceKey> ServiceArg(const Command& c) {
  return model::ParseServiceKey(c.args[0]);
}

absl::Status ServiceDel(Command& c) {
  auto key = ServiceArg(c);
  if (!key.ok()) return key.status();
  Ask(c, api::kServiceDel, {.service = *key});
  return absl::OkStatus();
}

// A real command's service, real and --weight.
struct RealArgs {
  model::ServiceKey service;
  api::RealRef real;
  std::optional<uint32_t> weight;
};

absl::StatusOr<RealArgs> ReadReal(const Command& c) {
  auto key = ServiceArg(c);
  if (!key.ok()) return key.status();
  auto real = model::ParseRealSpec(c.args[1]);
  if (!real.ok()) return real.status();
  if (c.args[1].find('@') != std::string::npos) return Bad("give the weight with --weight");
  RealArgs out{*key, {real->address, real->port}, std::nullopt};
  if (const std::string* w = OptionValue(c, "--weight")) {
    auto n = Number("--weight", *w);
    if (!n.ok()) return n.status();
    if (*n > model::kMaxWeight)
      return Bad(absl::StrCat("--weight ", *n, " is over ", model::kMaxWeight));
    out.weight = *n;
  }
  return out;
}

absl::Status RealAdd(Command& c) {
  auto r = ReadReal(c);
  if (!r.ok()) return r.status();
  Ask(c, api::kRealAdd, {.service = r->service, .real = r->real, .weight = r->weight});
  return absl::OkStatus();
}

absl::Status RealSet(Command& c) {
  auto r = ReadReal(c);
  if (!r.ok()) return r.status();
  const bool drain = c.options.contains("--drain");
  if (drain == r->weight.has_value()) return Bad("real set needs --weight N or --drain");
  Ask(c, api::kRealSet,
      {.service = r->service,
       .real = r->real,
       .weight = r->weight,
       .drain = drain ? std::optional(true) : std::nullopt});
  return absl::OkStatus();
}

absl::Status RealDel(Command& c) {
  auto r = ReadReal(c);
  if (!r.ok()) return r.status();
  Ask(c, api::kRealDel, {.service = r->service, .real = r->real});
  return absl::OkStatus();
}

absl::Status RealFlush(Command& c) {
  auto r = ReadReal(c);
  if (!r.ok()) return r.status();
  Ask(c, api::kRealFlush, {.service = r->service, .real = r->real});
  c.view = View::kFlushed;
  return absl::OkStatus();
}

absl::Status Status(Command& c) {
  Ask(c, api::kStatus, {});
  c.view = View::kStatus;
  return absl::OkStatus();
}

absl::Status List(Command& c) {
  const bool stats = c.options.contains("--stats"), rate = c.options.contains("--rate");
  if (stats && rate) return Bad("--stats or --rate, not both");
  Ask(c, api::kServices, {});
  c.view = stats ? View::kListStats : rate ? View::kListRate : View::kList;
  return absl::OkStatus();
}

absl::Status Health(Command& c) {
  Ask(c, api::kServices, {});
  c.view = View::kHealth;
  return absl::OkStatus();
}

absl::Status Vrrp(Command& c) {
  Ask(c, api::kVrrp, {});
  c.view = View::kVrrp;
  return absl::OkStatus();
}

absl::Status Bgp(Command& c) {
  Ask(c, api::kBgp, {});
  c.view = View::kBgp;
  return absl::OkStatus();
}

absl::Status BgpDrain(Command& c) {
  Ask(c, api::kBgpDrain, {});
  c.view = View::kBgpDrained;
  return absl::OkStatus();
}

absl::Status BgpUndrain(Command& c) {
  Ask(c, api::kBgpUndrain, {});
  c.view = View::kBgpDrained;
  return absl::OkStatus();
}

absl::Status Sync(Command& c) {
  Ask(c, api::kSync, {});
  c.view = View::kSync;
  return absl::OkStatus();
}

absl::Status Conns(Command& c) {
  api::ConnsQuery query;
  if (const std::string* limit = OptionValue(c, "--limit")) {
    auto n = Number("--limit", *limit);
    if (!n.ok()) return n.status();
    if (*n == 0) return Bad("--limit wants at least 1");
    query.limit = *n;
  }
  if (!c.args.empty()) {
    auto key = ServiceArg(c);
    if (!key.ok()) return key.status();
    query.service = *key;
  }
  Ask(c, api::kConns, query);
  c.view = View::kConns;
  return absl::OkStatus();
}

absl::Status Trace(Command& c) {
  auto flow = ServiceArg(c);
  if (!flow.ok()) return flow.status();
  if (flow->port == 0) return Bad("trace: give the port the client sends to, not *");
  auto client = model::ParseEndpoint(c.args[1], "client");
  if (!client.ok()) return client.status();
  api::TraceRequest request{.flow = *flow, .client = client->address, .client_port = client->port, .syn = false};
  if (c.options.contains("--syn")) {
    if (flow->protocol != model::Protocol::kTcp) return Bad("--syn is for a TCP flow");
    request.syn = true;
  }
  if (const std::string* interface = OptionValue(c, "--interface")) request.interface = *interface;
  Ask(c, api::kTrace, request);
  c.view = View::kTrace;
  return absl::OkStatus();
}

absl::Status ConfigSave(Command& c) {
  api::ConfigSaveRequest request;
  // A relative path is the user's, from where xlbctl runs (xlbd writes
  // only into its configuration's directory, and says so).
  if (!c.args.empty())
    request.path = std::filesystem::absolute(c.args[0]).lexically_normal().string();
  Ask(c, api::kConfigSave, request);
  c.view = View::kSaved;
  return absl::OkStatus();
}

absl::Status ConfigReload(Command& c) {
  Ask(c, api::kConfigReload, {});
  return absl::OkStatus();
}

std::vector<Option> ServiceAddOptions() {
  std::vector<Option> out;
  for (const ServiceField& f : ServiceFields()) out.push_back(f.option);
  return out;
}

constexpr absl::string_view kHelpWords = "help";

// ---- the help -------------------------------------------------------------

std::string Padded(std::string text, size_t width) {
  if (text.size() + 2 > width) return absl::StrCat(text, "\n", std::string(width, ' '));
  text.resize(width, ' ');
  return text;
}

std::string OptionLines(const std::vector<Option>& options) {
  std::string out;
  for (const Option& o : options)
    absl::StrAppend(
        &out, Padded(absl::StrCat("  ", o.name, o.value.empty() ? "" : " ", o.value), 32),
        o.help, "\n");
  return out;
}

std::string UsageLine(const CommandSpec& spec) {
  return absl::StrCat(spec.words, spec.synopsis.empty() ? "" : " ", spec.synopsis);
}

// The commands whose words start with `words`.
std::vector<const CommandSpec*> Under(const std::vector<std::string>& words) {
  std::vector<const CommandSpec*> out;
  for (const CommandSpec& spec : Commands()) {
    std::vector<std::string> own = absl::StrSplit(spec.words, ' ');
    if (own.size() >= words.size() && std::equal(words.begin(), words.end(), own.begin()))
      out.push_back(&spec);
  }
  return out;
}

// The longest command whose words begin `words`, or null.
const CommandSpec* Match(const std::vector<std::string>& words, size_t* used) {
  const CommandSpec* best = nullptr;
  for (const CommandSpec& spec : Commands()) {
    std::vector<std::string> own = absl::StrSplit(spec.words, ' ');
    if (own.size() <= words.size() && std::equal(own.begin(), own.end(), words.begin()) &&
        (!best || own.size() > *used)) {
      best = &spec;
      *used = own.size();
    }
  }
  return best;
}

bool IsOption(const std::string& word) { return word.size() > 1 && word[0] == '-'; }

const Option* Find(const std::vector<Option>& options, const std::string& name) {
  for (const Option& o : options)
    if (o.name == name) return &o;
  return nullptr;
}

// "add or del", "add, set or del"
std::string Alternatives(const std::vector<std::string>& words) {
  if (words.size() == 1) return words[0];
  return absl::StrCat(absl::StrJoin(words.begin(), words.end() - 1, ", "), " or ", words.back());
}

// What can follow `words` (a prefix of some commands' words).
std::vector<std::string> NextWords(const std::vector<std::string>& words) {
  std::vector<std::string> next;
  for (const CommandSpec* spec : Under(words)) {
    std::vector<std::string> own = absl::StrSplit(spec->words, ' ');
    if (own.size() > words.size() &&
        std::find(next.begin(), next.end(), own[words.size()]) == next.end())
      next.push_back(own[words.size()]);
  }
  return next;
}

std::string HelpFor(const std::vector<std::string>& words) {
  size_t used = 0;
  const CommandSpec* spec = Match(words, &used);
  if (spec) return CommandHelp(*spec);  // extra words: its arguments
  std::vector<const CommandSpec*> under = Under(words);
  if (words.empty() || under.empty()) return Usage();
  std::string out = "usage:\n";
  for (const CommandSpec* s : under)
    absl::StrAppend(&out, Padded(absl::StrCat("  xlbctl ", UsageLine(*s)), 48), s->summary, "\n");
  absl::StrAppend(&out, "(xlbctl COMMAND --help: its arguments and options)\n");
  return out;
}

}  // namespace

const std::vector<Option>& GlobalOptions() {
  static const std::vector<Option> options = {
      {"--socket", "PATH", "xlbd's API socket (default /run/xlb/xlbd.sock)"},
      {"--json", "", "print JSON: the API's answer as it is, or a local command's result"},
      {"--help", "", "this help, or with a command its usage and options (also -h)"},
      {"--version", "", "print xlbctl's version"},
  };
  return options;
}

const std::vector<CommandSpec>& Commands() {
  static const std::vector<CommandSpec> commands = {
      {"status", "", "the daemon: config, interfaces, counters", {}, 0, 0, Status, nullptr, ""},
      {"list", "[--stats | --rate]", "services and reals (like ipvsadm -Ln / --stats / --rate)",
       {{"--stats", "", "traffic counters"}, {"--rate", "", "rates over one second"}}, 0, 0, List,
       nullptr, ""},
      {"service add", "VIP:PORT[/tcp|udp] [OPTIONS]",
       "add a service; the options are the config's service keys", ServiceAddOptions(), 1, 1,
       ServiceAdd, nullptr,
       "Each option sets the key of a service in the config file (xlb.yaml(5)) and is\n"
       "checked as the config checks it; PORT * (or 0) forwards every port of the VIP.\n"},
      {"service del", "VIP:PORT[/proto]", "remove a service", {}, 1, 1, ServiceDel, nullptr, ""},
      {"real add", "VIP:PORT[/proto] ADDRESS[:PORT] [--weight N]", "add a real to a service",
       {{"--weight", "N", "0..65535 (default 1)"}}, 2, 2, RealAdd, nullptr, ""},
      {"real set", "VIP:PORT[/proto] ADDRESS[:PORT] (--weight N | --drain)",
       "change a real's weight, or drain it (weight 0)",
       {{"--weight", "N", "0..65535"}, {"--drain", "", "weight 0: no new flows"}}, 2, 2, RealSet,
       nullptr, ""},
      {"real del", "VIP:PORT[/proto] ADDRESS[:PORT]", "remove a real", {}, 2, 2, RealDel, nullptr,
       ""},
      {"real flush", "VIP:PORT[/proto] ADDRESS[:PORT]",
       "cut the real's connections now (another real resets them)", {}, 2, 2,
       RealFlush, nullptr,
       "Removes the real's connection, NAT reply and persistence entries and prints how many;\n"
       "the clients' next packets go by Maglev to another real, which resets them.\n"},
      {"conns", "[VIP:PORT[/proto]] [--limit N]", "connection-table entries (like ipvsadm -Lnc)",
       {{"--limit", "N", "list at most N (default 10000), then say how many more there are"}}, 0,
       1, Conns, nullptr, ""},
      {"health", "", "every real's check: state, last result, since when", {}, 0, 0, Health,
       nullptr, ""},
      {"config save", "[PATH]", "the running state as a config file xlbd accepts", {}, 0, 1,
       ConfigSave, nullptr, ""},
      {"config reload", "", "read the config file again, dropping runtime changes", {}, 0, 0,
       ConfigReload, nullptr, ""},
      {"vrrp", "", "every VRRP instance: state, priorities, master, counters", {}, 0, 0, Vrrp,
       nullptr, ""},
      {"bgp", "", "BGP announcement through FRR: sessions, VIPs announced, counters", {}, 0, 0,
       Bgp, nullptr,
       "Without a bgp: section in xlbd's configuration it says so (and exits 0).\n"},
      {"bgp drain", "", "withdraw every VIP from the BGP peers (kept across restarts)", {}, 0, 0,
       BgpDrain, nullptr,
       "The sessions stay up and flows that still arrive are forwarded, so the routers move\n"
       "traffic to the other directors without cutting it; `bgp undrain` announces again.\n"},
      {"bgp undrain", "", "announce the VIPs whose services are healthy again", {}, 0, 0,
       BgpUndrain, nullptr, ""},
      {"sync", "", "flow-state sync with the other directors: peers, sent, received, drops", {},
       0, 0, Sync, nullptr,
       "Without a sync: section in xlbd's configuration it says so (and exits 0).\n"},
      {"trace", "VIP:PORT[/proto] CLIENT:PORT [--syn] [--interface IF]",
       "the real the loaded XDP program picks for a flow (changes nothing)",
       {{"--syn", "", "trace a new connection (default: a TCP ACK, which follows its entry)"},
        {"--interface", "IF", "where the frame comes in (default: the first attached)"}},
       2, 2, Trace, nullptr, ""},
      {"import keepalived", "FILE",
       "a keepalived.conf as xlb YAML, and what did not carry over", {}, 1, 1,
       nullptr, RunImport,
       "Prints the YAML on stdout and one FILE:LINE: note per thing not carried over on\n"
       "stderr; with --json one object: {\"source\", \"config\" (the YAML), \"notes\"}.\n"},
      {"vrrp plan", "--directors A,B,... --vips ADDR,... [OPTIONS]",
       "each director's vrrp: section, masters spread evenly", VrrpPlanOptions(), 0,
       0, nullptr, RunVrrpPlan, kVrrpPlanDetails},
      {kHelpWords, "[COMMAND]", "this list, or a command's usage and options", {}, 0, 0,
       nullptr, nullptr, ""},
  };
  return commands;
}

std::string Usage() {
  std::string out =
      "usage: xlbctl COMMAND [ARGUMENTS] [OPTIONS]    (options and arguments in any order)\n"
      "       xlbctl --help | --version\n";
  for (bool local : {false, true}) {
    if (local) absl::StrAppend(&out, "Without a daemon:\n");
    for (const CommandSpec& spec : Commands())
      if ((spec.run != nullptr) == local)
        absl::StrAppend(&out, Padded(absl::StrCat("  ", UsageLine(spec)), 41), spec.summary, "\n");
  }
  absl::StrAppend(&out, "Global options, anywhere on the line (-- ends the options):\n",
                  OptionLines(GlobalOptions()),
                  "`xlbctl COMMAND --help` or `xlbctl help COMMAND`: its arguments and options.\n"
                  "Runtime changes (service/real add, set, del) last until `config reload` or a\n"
                  "restart; a SIGHUP with an unchanged file keeps them; `config save` makes them\n"
                  "the file.\n");
  return out;
}

std::string CommandHelp(const CommandSpec& spec) {
  std::string out = absl::StrCat("usage: xlbctl ", UsageLine(spec), "\n  ", spec.summary, "\n");
  if (!spec.details.empty()) absl::StrAppend(&out, spec.details);
  if (!spec.options.empty()) absl::StrAppend(&out, "Options:\n", OptionLines(spec.options));
  absl::StrAppend(&out, "Global options:\n", OptionLines(GlobalOptions()));
  return out;
}

absl::StatusOr<Command> ParseArgs(const std::vector<std::string>& args) {
  Command c;
  std::vector<std::string> words;  // every positional word: the command's, then its arguments
  bool help = false, options_done = false;
  std::set<std::string> globals_seen;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (options_done || !IsOption(a)) {
      words.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    std::string name = a, value;
    const bool has_value = a.find('=') != std::string::npos;
    if (has_value) {
      name = a.substr(0, a.find('='));
      value = a.substr(a.find('=') + 1);
    }
    if (name == "-h") name = "--help";
    // A global option, else one of the command's (known by the words so far).
    const Option* option = Find(GlobalOptions(), name);
    const bool global = option != nullptr;
    if (!option) {
      size_t used = 0;
      if (const CommandSpec* spec = Match(words, &used)) option = Find(spec->options, name);
    }
    if (!option) return Bad(absl::StrCat("unknown option ", name));
    if (!option->value.empty() && !has_value) {
      if (i + 1 >= args.size()) return Bad(absl::StrCat(name, " needs a value"));
      value = args[++i];
    } else if (option->value.empty() && has_value) {
      return Bad(absl::StrCat(name, " takes no value"));
    }
    if (global) {
      if (!globals_seen.insert(name).second) return Bad(absl::StrCat(name, " given twice"));
      if (name == "--socket") c.socket = value;
      if (name == "--json") c.json = true;
      if (name == "--help") help = true;
      if (name == "--version") c.version = true;
      continue;
    }
    if (!c.options.emplace(name, value).second) return Bad(absl::StrCat(name, " given twice"));
  }
  if (!words.empty() && words[0] == kHelpWords) {
    help = true;
    words.erase(words.begin());
  }
  if (help) {
    if (!words.empty() && Under({words[0]}).empty())
      return Bad(absl::StrCat("unknown command '", words[0], "' (see xlbctl --help)"));
    c.help = HelpFor(words);
    return c;
  }
  if (c.version) return c;

  if (words.empty()) return Bad("no command (see xlbctl --help)");
  size_t used = 0;
  const CommandSpec* spec = Match(words, &used);
  if (!spec || spec->words == kHelpWords) {
    // As far as the words go along the table: what could follow there.
    size_t n = 0;
    while (n < words.size() && !Under({words.begin(), words.begin() + n + 1}).empty()) ++n;
    if (n == 0) return Bad(absl::StrCat("unknown command '", words[0], "' (see xlbctl --help)"));
    const std::vector<std::string> prefix(words.begin(), words.begin() + n);
    const std::string next = Alternatives(NextWords(prefix));
    if (n == words.size()) return Bad(absl::StrCat(absl::StrJoin(prefix, " "), ": ", next, "?"));
    return Bad(absl::StrCat(absl::StrJoin(prefix, " "), ": ", next, ", not '", words[n], "'"));
  }
  c.spec = spec;
  c.args.assign(words.begin() + used, words.end());
  for (const auto& [name, value] : c.options)
    if (!Find(spec->options, name)) return Bad(absl::StrCat("unknown option ", name));
  const std::string usage = UsageLine(*spec);
  if (c.args.size() < spec->min_args) return Bad(absl::StrCat("missing argument: ", usage));
  if (c.args.size() > spec->max_args)
    return Bad(absl::StrCat("unexpected argument '", c.args[spec->max_args], "': ", usage));
  if (spec->request) {
    if (absl::Status st = spec->request(c); !st.ok()) return st;
  }
  return c;
}

}  // namespace xlb::xlbctl
