// xlbctl's argument parsing: what each command asks of the API, and the
// one-line errors for bad arguments.
#include "controlplane/xlbctl/args.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace xlb::xlbctl {
namespace {

Command Parse(std::vector<std::string> args) {
  auto c = ParseArgs(args);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : Command{};
}

std::string Error(std::vector<std::string> args) {
  auto c = ParseArgs(args);
  EXPECT_FALSE(c.ok());
  return c.ok() ? "" : std::string(c.status().message());
}

TEST(ArgsTest, GlobalOptions) {
  Command c = Parse({"--socket", "/tmp/x.sock", "--json", "status"});
  EXPECT_EQ(c.socket, "/tmp/x.sock");
  EXPECT_TRUE(c.json);
  EXPECT_EQ(c.method, "GET");
  EXPECT_EQ(c.target, "/v1/status");
  EXPECT_EQ(Parse({"--socket=/a", "list"}).socket, "/a");
}

// Global options anywhere on the line, by every command; `--` ends options.
TEST(ArgsTest, GlobalOptionsAnywhere) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--json", "list", "--socket", "/x"},
           {"list", "--json", "--socket=/x"},
           {"list", "--socket", "/x", "--json"},
       }) {
    Command c = Parse(args);
    EXPECT_TRUE(c.json);
    EXPECT_EQ(c.socket, "/x");
    EXPECT_EQ(c.view, View::kList);
  }
  Command add = Parse({"service", "add", "198.51.100.10:80", "--name", "web", "--socket", "/x",
                       "--json", "--forward", "nat"});
  EXPECT_EQ(add.socket, "/x");
  EXPECT_TRUE(add.json);
  EXPECT_EQ(add.body["forward"], "nat");
  EXPECT_EQ(add.body["name"], "web");
  // Local commands take them too.
  Command import = Parse({"import", "--json", "keepalived", "k.conf"});
  EXPECT_TRUE(import.json);
  ASSERT_NE(import.spec, nullptr);
  EXPECT_NE(import.spec->run, nullptr);
  EXPECT_EQ(import.args, std::vector<std::string>{"k.conf"});
  Command plan =
      Parse({"vrrp", "plan", "--directors", "a,b", "--json", "--vips=192.0.2.1,192.0.2.2"});
  EXPECT_TRUE(plan.json);
  EXPECT_EQ(plan.options.at("--directors"), "a,b");
  EXPECT_EQ(plan.options.at("--vips"), "192.0.2.1,192.0.2.2");
  // After --, a word that looks like an option is an argument.
  EXPECT_EQ(Parse({"config", "save", "--json", "--", "--odd.yaml"}).body["path"],
            (std::filesystem::current_path() / "--odd.yaml").string());
}

// Every command's --help (anywhere) and `help COMMAND` print its usage and
// options; --help alone lists every command.
TEST(ArgsTest, Help) {
  for (const CommandSpec& spec : Commands()) {
    std::vector<std::string> args = absl::StrSplit(spec.words, ' ');
    std::vector<std::string> help_cmd = {"help"};
    help_cmd.insert(help_cmd.end(), args.begin(), args.end());
    args.push_back("--help");
    Command c = Parse(args);
    if (spec.words == "help") {
      EXPECT_EQ(c.help, Usage());
      continue;
    }
    EXPECT_EQ(c.help, CommandHelp(spec)) << spec.words;
    EXPECT_EQ(Parse(help_cmd).help, CommandHelp(spec)) << spec.words;
    EXPECT_NE(c.help.find(absl::StrCat("usage: xlbctl ", spec.words)), std::string::npos);
    for (const Option& o : spec.options)
      EXPECT_NE(c.help.find(std::string(o.name)), std::string::npos);
    for (const Option& o : GlobalOptions())
      EXPECT_NE(c.help.find(std::string(o.name)), std::string::npos);
    EXPECT_NE(Usage().find(absl::StrCat("\n  ", spec.words)), std::string::npos) << spec.words;
  }
  EXPECT_EQ(Parse({"--help"}).help, Usage());
  EXPECT_EQ(Parse({"-h"}).help, Usage());
  EXPECT_EQ(Parse({"help"}).help, Usage());
  // After the arguments, with a bad argument still: help wins.
  EXPECT_NE(Parse({"real", "add", "x", "-h"}).help.find("usage: xlbctl real add"),
            std::string::npos);
  // A group: each of its commands.
  const std::string real = Parse({"real", "--help"}).help;
  for (const char* verb : {"real add", "real set", "real del"})
    EXPECT_NE(real.find(verb), std::string::npos) << real;
  EXPECT_TRUE(Parse({"list", "--version"}).version);
}

// Every option of service add is a key of the config's service, read by the
// config's parser: the request carries it, and a bad value is refused in
// the config's words, naming the option.
TEST(ArgsTest, ServiceAddTakesWhatTheConfigSays) {
  Command c = Parse({"service", "add", "198.51.100.10:443", "--persistence", "5m",
                     "--persistence-netmask", "24", "--table-size", "251", "--drop-fragments",
                     "--tcp-timeout", "15m", "--tcp-fin-timeout", "30s", "--udp-timeout", "1m",
                     "--health-type", "https", "--health-port", "8443", "--health-path",
                     "/ready", "--health-expect", "200,204", "--health-body", "ok",
                     "--health-server-name", "web.example.com", "--health-verify", "false",
                     "--health-interval", "2s", "--health-timeout", "1s", "--health-rise", "3",
                     "--health-fall", "4", "--on-down", "shutdown"});
  EXPECT_EQ(c.body["persistence"], 300);
  EXPECT_EQ(c.body["on_down"], "shutdown");
  EXPECT_EQ(c.body["netmask"], 24);
  EXPECT_EQ(c.body["table_size"], 251);
  EXPECT_EQ(c.body["drop_fragments"], true);
  EXPECT_EQ(c.body["timeouts"],
            nlohmann::json({{"tcp", "15m"}, {"tcp_fin", "30s"}, {"udp", "1m"}}));
  EXPECT_EQ(c.body["health"], nlohmann::json({{"type", "https"},
                                              {"port", "8443"},
                                              {"path", "/ready"},
                                              {"expect", {"200", "204"}},
                                              {"body", "ok"},
                                              {"server_name", "web.example.com"},
                                              {"verify", "false"},
                                              {"interval", "2s"},
                                              {"timeout", "1s"},
                                              {"rise", "3"},
                                              {"fall", "4"}}));
  EXPECT_FALSE(Parse({"service", "add", "198.51.100.10:80"}).body.contains("health"));
  struct Bad {
    std::vector<std::string> args;
    const char* says;
  } cases[] = {
      {{"--persistence-netmask", "33"},
       "--persistence-netmask: 33 is out of range (expected 0..32)"},
      {{"--table-size", "100"}, "--table-size: 100 is not a prime"},
      {{"--tcp-timeout", "1.5s"}, "--tcp-timeout: '1.5s' is not a whole number of seconds"},
      {{"--udp-timeout", "0s"}, "--udp-timeout: '0s' is too short"},
      {{"--health-type", "icmp"}, "--health-type: 'icmp' is not one of: none, tcp, http"},
      {{"--health-path", "/x"}, "--health-path: only for a health check"},
      {{"--health-type", "tcp", "--health-path", "/x"}, "--health-path: only for type http"},
      {{"--health-type", "http", "--health-expect", "200,99"},
       "--health-expect: 99 is out of range (expected 100..599)"},
      {{"--health-type", "tcp", "--health-interval", "1s", "--health-timeout", "2s"},
       "--health-timeout: 2s is longer than the interval 1s"},
      {{"--health-type", "exec"}, "--health-command: missing"},
      {{"--health-type", "tcp", "--health-source", "2001:db8::1"},
       "--health-source: 2001:db8::1 is IPv6"},
      {{"--name", "a b"}, "--name: 'a b' is not a name"},
  };
  for (const auto& bad : cases) {
    std::vector<std::string> args = {"service", "add", "198.51.100.10:80"};
    args.insert(args.end(), bad.args.begin(), bad.args.end());
    std::string e = Error(args);
    EXPECT_NE(e.find(bad.says), std::string::npos) << "got: " << e;
  }
}

TEST(ArgsTest, ListViews) {
  EXPECT_EQ(Parse({"list"}).view, View::kList);
  EXPECT_EQ(Parse({"list", "--stats"}).view, View::kListStats);
  EXPECT_EQ(Parse({"list", "--rate"}).view, View::kListRate);
  EXPECT_NE(Error({"list", "--stats", "--rate"}).find("not both"), std::string::npos);
}

TEST(ArgsTest, Vrrp) {
  Command c = Parse({"vrrp"});
  EXPECT_EQ(c.method, "GET");
  EXPECT_EQ(c.target, "/v1/vrrp");
  EXPECT_EQ(c.view, View::kVrrp);
  EXPECT_NE(Error({"vrrp", "show"}).find("unexpected argument 'show'"), std::string::npos);
}

TEST(ArgsTest, Sync) {
  Command c = Parse({"sync", "--json"});
  EXPECT_EQ(c.method, "GET");
  EXPECT_EQ(c.target, "/v1/sync");
  EXPECT_EQ(c.view, View::kSync);
  EXPECT_TRUE(c.json);
  EXPECT_NE(Error({"sync", "peers"}).find("unexpected argument 'peers'"), std::string::npos);
}

TEST(ArgsTest, ServiceAddBody) {
  Command c = Parse({"service", "add", "198.51.100.10:5432", "--forward", "nat", "--scheduler",
                     "source-hash", "--persistence", "300", "--name", "pg"});
  EXPECT_EQ(c.method, "POST");
  EXPECT_EQ(c.target, "/v1/service/add");
  EXPECT_EQ(c.body["service"], "198.51.100.10:5432/tcp");
  EXPECT_EQ(c.body["forward"], "nat");
  EXPECT_EQ(c.body["scheduler"], "source-hash");
  EXPECT_EQ(c.body["persistence"], 300);
  EXPECT_EQ(c.body["name"], "pg");
  Command tun = Parse({"service", "add", "198.51.100.10:443", "--forward", "tunnel", "--encap",
                       "gue", "--gue-port", "7000", "--tunnel-source", "192.0.2.128/25",
                       "--tunnel-mtu", "1500", "--mss-clamp", "false", "--health-type", "tcp",
                       "--health-through-tunnel", "true"});
  EXPECT_EQ(tun.body["forward"], "tunnel");
  EXPECT_EQ(tun.body["health"]["through_tunnel"], "true");
  EXPECT_EQ(tun.body["encap"], "gue");
  EXPECT_EQ(tun.body["gue_port"], 7000);
  EXPECT_EQ(tun.body["tunnel_source"], "192.0.2.128/25");
  EXPECT_EQ(tun.body["tunnel_mtu"], 1500);
  EXPECT_EQ(tun.body["mss_clamp"], false);
  EXPECT_FALSE(Parse({"service", "add", "198.51.100.10:443", "--forward", "tunnel"})
                   .body.contains("encap"));
  EXPECT_EQ(Parse({"service", "del", "[2001:db8::10]:53/udp"}).body["service"],
            "[2001:db8::10]:53/udp");
}

TEST(ArgsTest, RealCommands) {
  Command add = Parse({"real", "add", "198.51.100.10:80", "203.0.113.11:8080", "--weight", "5"});
  EXPECT_EQ(add.target, "/v1/real/add");
  EXPECT_EQ(add.body["real"], "203.0.113.11:8080");
  EXPECT_EQ(add.body["weight"], 5);
  Command drain = Parse({"real", "set", "198.51.100.10:80", "203.0.113.11", "--drain"});
  EXPECT_EQ(drain.body["drain"], true);
  EXPECT_FALSE(drain.body.contains("weight"));
  EXPECT_EQ(Parse({"real", "del", "198.51.100.10:80", "203.0.113.11"}).target, "/v1/real/del");
  Command flush = Parse({"real", "flush", "198.51.100.10:5002", "203.0.113.11:5432"});
  EXPECT_EQ(flush.method, "POST");
  EXPECT_EQ(flush.target, "/v1/real/flush");
  EXPECT_EQ(flush.body, (nlohmann::json{{"service", "198.51.100.10:5002/tcp"},
                                        {"real", "203.0.113.11:5432"}}));
  EXPECT_EQ(flush.view, View::kFlushed);
}

TEST(ArgsTest, ConnsEncodesTheService) {
  EXPECT_EQ(Parse({"conns"}).target, "/v1/conns");
  EXPECT_EQ(Parse({"conns", "198.51.100.10:80"}).target,
            "/v1/conns?service=198.51.100.10%3a80%2ftcp");
  EXPECT_EQ(Parse({"conns", "--limit", "50"}).target, "/v1/conns?limit=50");
  EXPECT_EQ(Parse({"conns", "198.51.100.10:80", "--limit=7"}).target,
            "/v1/conns?service=198.51.100.10%3a80%2ftcp&limit=7");
}

TEST(ArgsTest, ConfigCommands) {
  EXPECT_EQ(Parse({"config", "save"}).body, nlohmann::json::object());
  EXPECT_EQ(Parse({"config", "save", "/etc/xlb/new.yaml"}).body["path"], "/etc/xlb/new.yaml");
  EXPECT_EQ(Parse({"config", "save", "new.yaml"}).body["path"],
            (std::filesystem::current_path() / "new.yaml").string());
  EXPECT_EQ(Parse({"config", "reload"}).target, "/v1/config/reload");
}

TEST(ArgsTest, OneLineErrors) {
  struct Bad {
    std::vector<std::string> args;
    const char* says;
  } cases[] = {
      {{}, "no command"},
      {{"frobnicate"}, "unknown command 'frobnicate'"},
      {{"--verbose", "list"}, "unknown option --verbose"},
      {{"service"}, "add or del"},
      {{"service", "add"}, "missing argument"},
      {{"service", "add", "198.51.100.10"}, "no port"},
      {{"service", "add", "198.51.100.10:80/sctp"}, "unknown protocol 'sctp'"},
      {{"service", "add", "198.51.100.10:80", "--forward", "tun"},
       "--forward: 'tun' is not one of: dr, nat, tunnel"},
      {{"service", "add", "198.51.100.10:80", "--encap", "gue"},
       "--encap: only for forward: tunnel (forward is dr)"},
      {{"service", "add", "198.51.100.10:80", "--forward", "tunnel", "--gue-port", "7000"},
       "--gue-port: only for encap: gue (encap is ipip)"},
      {{"service", "add", "198.51.100.10:80", "--forward", "tunnel", "--tunnel-source",
        "2001:db8::/64"},
       "--tunnel-source: '2001:db8::/64' is IPv6 but the VIP is IPv4"},
      {{"service", "add", "198.51.100.10:80", "--forward", "tunnel", "--tunnel-mtu", "100"},
       "--tunnel-mtu: 100 is out of range (expected 596..9216)"},
      {{"service", "add", "198.51.100.10:80", "--forward", "tunnel", "--mss-clamp", "no way"},
       "--mss-clamp:"},
      {{"service", "add", "198.51.100.10:80", "--health-type", "tcp", "--health-through-tunnel",
        "true"},
       "--health-through-tunnel: only for forward: tunnel (forward is dr)"},
      {{"service", "add", "198.51.100.10:80", "--persistence", "long"},
       "--persistence: 'long' is not a duration"},
      {{"service", "add", "198.51.100.10:80", "--persistence"}, "needs a value"},
      {{"service", "add", "198.51.100.10:80", "extra"}, "unexpected argument 'extra'"},
      {{"real", "add", "198.51.100.10:80"}, "missing argument"},
      {{"real", "add", "198.51.100.10:80", "not-an-ip"}, "not-an-ip"},
      {{"real", "add", "198.51.100.10:80", "203.0.113.1", "--weight", "70000"}, "is over 65535"},
      {{"real", "set", "198.51.100.10:80", "203.0.113.1"}, "--weight N or --drain"},
      {{"real", "set", "198.51.100.10:80", "203.0.113.1", "--weight", "1", "--drain"},
       "--weight N or --drain"},
      {{"real", "del", "198.51.100.10:80", "203.0.113.1", "--weight", "1"}, "unknown option"},
      {{"real", "move"}, "add, set, del or flush"},
      {{"real", "flush", "198.51.100.10:80"}, "missing argument: real flush VIP:PORT[/proto]"},
      {{"real", "flush", "198.51.100.10", "203.0.113.1"}, "no port"},
      {{"real", "flush", "198.51.100.10:80", "203.0.113.1:x"}, "203.0.113.1:x"},
      {{"real", "flush", "198.51.100.10:80", "203.0.113.1", "--weight", "1"}, "unknown option"},
      {{"real", "flush", "198.51.100.10:80", "203.0.113.1", "203.0.113.2"},
       "unexpected argument '203.0.113.2'"},
      {{"list", "--all"}, "unknown option --all"},
      {{"config", "load"}, "save or reload"},
      {{"conns", "a", "b"}, "unexpected argument 'b'"},
      {{"conns", "--limit"}, "--limit needs a value"},
      {{"conns", "--limit", "many"}, "--limit wants a number, not 'many'"},
      {{"conns", "--limit", "0"}, "--limit wants at least 1"},
      {{"trace", "198.51.100.10:80"}, "missing argument"},
      {{"trace", "198.51.100.10", "192.0.2.7:1"}, "no port"},
      {{"trace", "198.51.100.10:*", "192.0.2.7:1"}, "not *"},
      {{"trace", "198.51.100.10:80", "192.0.2.7"}, "client '192.0.2.7': no port"},
      {{"trace", "198.51.100.10:80", "192.0.2.7:0"}, "port '0' is not 1..65535"},
      {{"trace", "198.51.100.10:80", "2001:db8::7:1"}, "[ADDR]:PORT"},
      {{"trace", "198.51.100.10:53/udp", "192.0.2.7:1", "--syn"}, "--syn is for a TCP flow"},
      {{"trace", "198.51.100.10:80", "192.0.2.7:1", "--interface"}, "needs a value"},
      {{"list", "--json", "--json"}, "--json given twice"},
      {{"list", "--stats=yes"}, "--stats takes no value"},
      {{"status", "--socket"}, "--socket needs a value"},
      {{"--weight", "5", "real", "add"}, "unknown option --weight"},
      {{"real", "add", "--drain", "198.51.100.10:80", "203.0.113.1"}, "unknown option --drain"},
      {{"import", "keepalived", "--vips", "x", "a.conf"}, "unknown option --vips"},
      {{"import", "keepalived"}, "missing argument: import keepalived FILE"},
      {{"import"}, "import: keepalived?"},
      {{"vrrp", "plan", "extra"}, "unexpected argument 'extra'"},
      {{"help", "frobnicate"}, "unknown command 'frobnicate'"},
      {{"frobnicate", "--help"}, "unknown command 'frobnicate'"},
  };
  for (const auto& c : cases) {
    std::string e = Error(c.args);
    EXPECT_NE(e.find(c.says), std::string::npos) << "got: " << e;
    EXPECT_EQ(e.find('\n'), std::string::npos);
  }
}

}  // namespace
}  // namespace xlb::xlbctl
