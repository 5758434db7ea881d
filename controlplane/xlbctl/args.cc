#include "controlplane/xlbctl/args.h"

#include <filesystem>

#include <map>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "controlplane/api/contract.h"
#include "model/names.h"
#include "model/service.h"

namespace xlb::xlbctl {

const char kUsage[] = R"(usage: xlbctl [--socket PATH] [--json] COMMAND
       xlbctl --help | --version
  status                                 the daemon: config, interfaces, counters
  list [--stats | --rate]                services and reals (like ipvsadm -Ln / --stats / --rate)
  service add VIP:PORT[/tcp|udp] [--forward dr|nat] [--scheduler maglev|source-hash]
                                 [--persistence SECONDS] [--name NAME]
  service del VIP:PORT[/proto]
  real add VIP:PORT[/proto] ADDRESS[:PORT] [--weight N]
  real set VIP:PORT[/proto] ADDRESS[:PORT] (--weight N | --drain)
  real del VIP:PORT[/proto] ADDRESS[:PORT]
  real flush VIP:PORT[/proto] ADDRESS[:PORT]
                                         cut the real's connections now (remove its flow
                                         entries; their clients are reset by another real)
  conns [VIP:PORT[/proto]] [--limit N]   connection-table entries (like ipvsadm -Lnc), the
                                         first N (10000), then how many more there are
  health                                 every real's check: state, last result, since when
  config save [PATH]                     the running state as a config file xlbd accepts
  config reload                          read the config file again, dropping runtime changes
  vrrp                                   every VRRP instance: state, priorities, master, counters
  trace VIP:PORT[/proto] CLIENT:PORT [--syn] [--interface IF]
                                         which real the flow goes to, as the loaded XDP program
                                         decides (a TCP ACK; --syn: a new connection); changes
                                         nothing
Without a daemon:
  import keepalived FILE                 a keepalived.conf as xlb YAML, and what did not carry over
  vrrp plan --directors A,B,C --vips ADDR,... [--interface IF] [--vrid-base N]
            [--advert-interval 100ms] [--check-capacity TRAFFIC,LINK] [--output-dir DIR]
                                         each director's vrrp: section, masters spread evenly
Runtime changes (service/real add, set, del) last until `config reload` or a restart; a SIGHUP
with an unchanged file keeps them; `config save` makes them the file.
)";

namespace {

absl::Status Bad(const std::string& why) { return absl::InvalidArgumentError(why); }

// Positional words and --flags (with values where `valued` says so).
struct Words {
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;
};

absl::StatusOr<Words> Split(const std::vector<std::string>& args, size_t from,
                            const std::set<std::string>& valued,
                            const std::set<std::string>& bare) {
  Words w;
  for (size_t i = from; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0) {
      w.positional.push_back(a);
      continue;
    }
    std::string name = a, value;
    if (auto eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
    } else if (valued.contains(a)) {
      if (i + 1 >= args.size()) return Bad(absl::StrCat(a, " needs a value"));
      value = args[++i];
    }
    if (!valued.contains(name) && !bare.contains(name))
      return Bad(absl::StrCat("unknown option ", name));
    if (w.flags.contains(name)) return Bad(absl::StrCat(name, " given twice"));
    w.flags[name] = value;
  }
  return w;
}

absl::Status Count(const Words& w, size_t min, size_t max, const std::string& usage) {
  if (w.positional.size() < min) return Bad(absl::StrCat("missing argument: ", usage));
  if (w.positional.size() > max)
    return Bad(absl::StrCat("unexpected argument '", w.positional[max], "': ", usage));
  return absl::OkStatus();
}

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
  if (!absl::SimpleAtoi(value, &n)) return Bad(absl::StrCat(flag, " wants a number, not '", value, "'"));
  return n;
}

absl::Status ServiceCmd(const std::vector<std::string>& args, size_t i, Command& c) {
  if (i >= args.size()) return Bad("service: add or del?");
  const std::string verb = args[i];
  if (verb == "del") {
    auto w = Split(args, i + 1, {}, {});
    if (!w.ok()) return w.status();
    if (auto st = Count(*w, 1, 1, "service del VIP:PORT[/proto]"); !st.ok()) return st;
    auto key = model::ParseServiceKey(w->positional[0]);
    if (!key.ok()) return key.status();
    Ask(c, api::kServiceDel, {.service = *key});
    return absl::OkStatus();
  }
  if (verb != "add") return Bad(absl::StrCat("service: add or del, not '", verb, "'"));
  auto w = Split(args, i + 1, {"--forward", "--scheduler", "--persistence", "--name"}, {});
  if (!w.ok()) return w.status();
  if (auto st = Count(*w, 1, 1, "service add VIP:PORT[/tcp|udp] [options]"); !st.ok()) return st;
  auto key = model::ParseServiceKey(w->positional[0]);
  if (!key.ok()) return key.status();
  api::ServiceAddRequest request{.service = *key};
  for (const auto& [flag, value] : w->flags) {
    if (flag == "--forward") {
      auto forward = model::ParseEnum<model::Forward>(value);
      if (!forward.ok()) return Bad(absl::StrCat("--", forward.status().message()));
      request.forward = *forward;
    } else if (flag == "--scheduler") {
      auto scheduler = model::ParseEnum<model::Scheduler>(value);
      if (!scheduler.ok()) return Bad(absl::StrCat("--", scheduler.status().message()));
      request.scheduler = *scheduler;
    } else if (flag == "--persistence") {
      auto n = Number(flag, value);
      if (!n.ok()) return n.status();
      request.persistence = *n;
    } else if (flag == "--name") {
      request.name = value;
    }
  }
  Ask(c, api::kServiceAdd, request);
  return absl::OkStatus();
}

absl::Status RealCmd(const std::vector<std::string>& args, size_t i, Command& c) {
  if (i >= args.size()) return Bad("real: add, set, del or flush?");
  const std::string verb = args[i];
  if (verb != "add" && verb != "set" && verb != "del" && verb != "flush")
    return Bad(absl::StrCat("real: add, set, del or flush, not '", verb, "'"));
  const bool weighted = verb == "add" || verb == "set";
  auto w = Split(args, i + 1, weighted ? std::set<std::string>{"--weight"} : std::set<std::string>{},
                 verb == "set" ? std::set<std::string>{"--drain"} : std::set<std::string>{});
  if (!w.ok()) return w.status();
  if (auto st = Count(*w, 2, 2, absl::StrCat("real ", verb, " VIP:PORT[/proto] ADDRESS[:PORT]"));
      !st.ok())
    return st;
  auto key = model::ParseServiceKey(w->positional[0]);
  if (!key.ok()) return key.status();
  auto real = model::ParseRealSpec(w->positional[1]);
  if (!real.ok()) return real.status();
  if (w->positional[1].find('@') != std::string::npos) return Bad("give the weight with --weight");
  const api::RealRef real_ref{real->address, real->port};
  std::optional<uint32_t> weight;
  if (auto it = w->flags.find("--weight"); it != w->flags.end()) {
    auto n = Number("--weight", it->second);
    if (!n.ok()) return n.status();
    if (*n > model::kMaxWeight)
      return Bad(absl::StrCat("--weight ", *n, " is over ", model::kMaxWeight));
    weight = *n;
  }
  if (verb == "add") {
    Ask(c, api::kRealAdd, {.service = *key, .real = real_ref, .weight = weight});
  } else if (verb == "set") {
    bool drain = w->flags.contains("--drain");
    if (drain == weight.has_value()) return Bad("real set needs --weight N or --drain");
    Ask(c, api::kRealSet,
        {.service = *key,
         .real = real_ref,
         .weight = weight,
         .drain = drain ? std::optional(true) : std::nullopt});
  } else if (verb == "flush") {
    Ask(c, api::kRealFlush, {.service = *key, .real = real_ref});
    c.view = View::kFlushed;
  } else {
    Ask(c, api::kRealDel, {.service = *key, .real = real_ref});
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Command> ParseArgs(const std::vector<std::string>& args) {
  Command c;
  size_t i = 0;
  for (; i < args.size() && args[i].rfind("--", 0) == 0; ++i) {
    if (args[i] == "--json") {
      c.json = true;
    } else if (args[i] == "--socket" && i + 1 < args.size()) {
      c.socket = args[++i];
    } else if (args[i].rfind("--socket=", 0) == 0) {
      c.socket = args[i].substr(9);
    } else {
      return Bad(absl::StrCat("unknown option ", args[i]));
    }
  }
  if (i >= args.size()) return Bad("no command (see xlbctl --help)");
  const std::string cmd = args[i++];
  if (cmd == "status" || cmd == "health" || cmd == "vrrp") {
    auto w = Split(args, i, {}, {});
    if (!w.ok()) return w.status();
    if (auto st = Count(*w, 0, 0, cmd); !st.ok()) return st;
    if (cmd == "status") {
      Ask(c, api::kStatus, {});
      c.view = View::kStatus;
    } else if (cmd == "vrrp") {
      Ask(c, api::kVrrp, {});
      c.view = View::kVrrp;
    } else {
      Ask(c, api::kServices, {});
      c.view = View::kHealth;
    }
    return c;
  }
  if (cmd == "list") {
    auto w = Split(args, i, {}, {"--stats", "--rate"});
    if (!w.ok()) return w.status();
    if (auto st = Count(*w, 0, 0, "list [--stats | --rate]"); !st.ok()) return st;
    if (w->flags.size() > 1) return Bad("--stats or --rate, not both");
    Ask(c, api::kServices, {});
    c.view = w->flags.contains("--stats") ? View::kListStats
             : w->flags.contains("--rate") ? View::kListRate
                                           : View::kList;
    return c;
  }
  if (cmd == "conns") {
    auto w = Split(args, i, {"--limit"}, {});
    if (!w.ok()) return w.status();
    if (auto st = Count(*w, 0, 1, "conns [VIP:PORT[/proto]] [--limit N]"); !st.ok()) return st;
    api::ConnsQuery query;
    if (auto it = w->flags.find("--limit"); it != w->flags.end()) {
      auto n = Number("--limit", it->second);
      if (!n.ok()) return n.status();
      if (*n == 0) return Bad("--limit wants at least 1");
      query.limit = *n;
    }
    if (!w->positional.empty()) {
      auto key = model::ParseServiceKey(w->positional[0]);
      if (!key.ok()) return key.status();
      query.service = *key;
    }
    Ask(c, api::kConns, query);
    c.view = View::kConns;
    return c;
  }
  if (cmd == "trace") {
    auto w = Split(args, i, {"--interface"}, {"--syn"});
    if (!w.ok()) return w.status();
    if (auto st = Count(*w, 2, 2, "trace VIP:PORT[/proto] CLIENT:PORT [--syn]"); !st.ok())
      return st;
    auto flow = model::ParseServiceKey(w->positional[0]);
    if (!flow.ok()) return flow.status();
    if (flow->port == 0) return Bad("trace: give the port the client sends to, not *");
    auto client = model::ParseEndpoint(w->positional[1], "client");
    if (!client.ok()) return client.status();
    api::TraceRequest request{.flow = *flow, .client = client->address,
                              .client_port = client->port};
    if (w->flags.contains("--syn")) {
      if (flow->protocol != model::Protocol::kTcp) return Bad("--syn is for a TCP flow");
      request.syn = true;
    }
    if (auto it = w->flags.find("--interface"); it != w->flags.end()) request.interface = it->second;
    Ask(c, api::kTrace, request);
    c.view = View::kTrace;
    return c;
  }
  if (cmd == "service") {
    if (auto st = ServiceCmd(args, i, c); !st.ok()) return st;
    return c;
  }
  if (cmd == "real") {
    if (auto st = RealCmd(args, i, c); !st.ok()) return st;
    return c;
  }
  if (cmd == "config") {
    if (i >= args.size()) return Bad("config: save or reload?");
    const std::string verb = args[i];
    auto w = Split(args, i + 1, {}, {});
    if (!w.ok()) return w.status();
    if (verb == "save") {
      if (auto st = Count(*w, 0, 1, "config save [PATH]"); !st.ok()) return st;
      api::ConfigSaveRequest request;
      // A relative path is the user's, from where xlbctl runs (xlbd writes
      // only into its configuration's directory, and says so).
      if (!w->positional.empty())
        request.path = std::filesystem::absolute(w->positional[0]).lexically_normal().string();
      Ask(c, api::kConfigSave, request);
      c.view = View::kSaved;
      return c;
    }
    if (verb == "reload") {
      if (auto st = Count(*w, 0, 0, "config reload"); !st.ok()) return st;
      Ask(c, api::kConfigReload, {});
      return c;
    }
    return Bad(absl::StrCat("config: save or reload, not '", verb, "'"));
  }
  return Bad(absl::StrCat("unknown command '", cmd, "' (see xlbctl --help)"));
}

}  // namespace xlb::xlbctl
