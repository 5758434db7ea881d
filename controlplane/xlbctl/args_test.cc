// xlbctl's argument parsing: what each command asks of the API, and the
// one-line errors for bad arguments.
#include "controlplane/xlbctl/args.h"

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
      {{"service", "add", "198.51.100.10:80", "--forward", "tun"}, "--forward is dr or nat"},
      {{"service", "add", "198.51.100.10:80", "--persistence", "long"}, "wants a number"},
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
  };
  for (const auto& c : cases) {
    std::string e = Error(c.args);
    EXPECT_NE(e.find(c.says), std::string::npos) << "got: " << e;
    EXPECT_EQ(e.find('\n'), std::string::npos);
  }
}

}  // namespace
}  // namespace xlb::xlbctl
