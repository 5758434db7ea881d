// The fixture of the packet tests: a freshly loaded xlb program (no pins
// unless a test asks), a service table over its maps with a fake resolver,
// and helpers to build frames and run them with BPF_PROG_TEST_RUN.
#ifndef XLB_TESTS_PACKET_PACKET_FIXTURE_H_
#define XLB_TESTS_PACKET_PACKET_FIXTURE_H_

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <net/if.h>

#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/interface_macs.h"
#include "dataplane/program.h"
#include "dataplane/service_table.h"
#include "dataplane/stats.h"
#include "dataplane/test_run.h"
#include "gtest/gtest.h"
#include "tests/packet/fake_resolver.h"
#include "tests/packet/packet_builder.h"
#include "tests/packet/sandbox.h"

namespace xlb::testing {

// Where main() mounted a private bpffs, for tests that pin.
extern std::string g_bpffs;

using model::IpAddress;
using dataplane::Nexthop;
using model::RealSpec;
using model::Service;
using model::ServiceKey;

constexpr Mac kDirectorMac = FakeResolver::kDirectorMac;

inline model::IpAddress Ip(const std::string& s) { return *model::IpAddress::Parse(s); }
inline model::ServiceKey Key(const std::string& s) { return *model::ParseServiceKey(s); }
inline Mac RealMac(int n) { return FakeResolver::RealMac(n); }
inline int Ifindex(const char* name) { return static_cast<int>(if_nametoindex(name)); }

inline std::string Hex(const std::string& s) {
  std::string out;
  char b[4];
  for (unsigned char c : s) {
    snprintf(b, sizeof(b), "%02x", c);
    out += b;
  }
  return out;
}

inline const char* VerdictName(uint32_t v) { return dataplane::XdpVerdictName(v); }

class PacketTest : public ::testing::Test {
 protected:
  void SetUp() override { Load(""); }

  void Load(const std::string& pin_dir, uint32_t flood_rate = XLB_FLOOD_RATE_DEFAULT,
            std::function<void(dataplane::ProgramOptions&)> tweak = nullptr) {
    table_.reset();
    prog_.reset();
    dataplane::ProgramOptions o;
    o.pin_dir = pin_dir;
    o.conn_table_size = 4096;
    o.nat_reply_table_size = 4096;
    o.persist_table_size = 1024;
    o.flood_rate = flood_rate;
    if (tweak) tweak(o);
    auto p = dataplane::Program::Load(o);
    ASSERT_TRUE(p.ok()) << p.status();
    prog_ = std::move(*p);
    auto t = dataplane::ServiceTable::Adopt(&prog_->maps(), &resolver_);
    ASSERT_TRUE(t.ok()) << t.status();
    table_ = std::move(*t);
    ASSERT_TRUE(AddSandboxInterfaces(prog_->maps()).ok());
  }

  void AddService(const std::string& key, std::vector<std::string> reals,
                  std::function<void(model::ServiceOptions&)> tweak = nullptr) {
    model::Service s{Key(key), {}};
    s.options.all_ports = s.key.port == 0;
    if (tweak) tweak(s.options);
    ASSERT_TRUE(table_->Upsert(s).ok()) << table_->Upsert(s);
    SetReals(key, reals);
  }

  // Each real as ParseRealSpec reads it: "203.0.113.1", "203.0.113.1:8080@0".
  void SetReals(const std::string& key, const std::vector<std::string>& reals) {
    std::vector<model::RealSpec> specs;
    for (const auto& r : reals) {
      auto spec = model::ParseRealSpec(r);
      ASSERT_TRUE(spec.ok()) << spec.status();
      specs.push_back(*spec);
    }
    auto st = table_->SetReals(Key(key), specs);
    ASSERT_TRUE(st.ok()) << st;
  }

  dataplane::TestRunResult Run(const std::string& frame) {
    auto r = dataplane::TestRun(prog_->prog_fd(), frame);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : dataplane::TestRunResult{};
  }

  // The MAC recorded for interface `ifindex` as hex, "" when there is none.
  std::string RecordedMac(uint32_t ifindex) {
    auto mac = dataplane::RecordedInterfaceMac(prog_->maps(), ifindex);
    EXPECT_TRUE(mac.ok()) << mac.status();
    if (!mac.ok() || !*mac) return "";
    return Hex(std::string((*mac)->begin(), (*mac)->end()));
  }

  uint64_t Global(int stat) {
    auto g = dataplane::ReadGlobalCounters(prog_->maps());
    EXPECT_TRUE(g.ok()) << g.status();
    return g.ok() ? (*g)[stat] : 0;
  }

  // The real (last octet) a frame was sent to, or -1 when not sent by XDP_TX.
  int SentTo(const std::string& frame) {
    auto r = Run(frame);
    if (r.verdict != XDP_TX) return -1;
    EXPECT_EQ(r.packet.substr(12), frame.substr(12)) << "only MACs may change";
    return static_cast<uint8_t>(r.packet[5]);
  }

  Frame Tcp(const std::string& src, const std::string& dst, uint16_t sport, uint16_t dport,
            uint8_t flags = kSyn) {
    Frame f;
    f.saddr = Ip(src);
    f.daddr = Ip(dst);
    f.sport = sport;
    f.dport = dport;
    f.tcp_flags = flags;
    return f;
  }

  FakeResolver resolver_;
  std::unique_ptr<dataplane::Program> prog_;
  std::unique_ptr<dataplane::ServiceTable> table_;
};

inline Frame F(const char* src, const char* dst, uint8_t proto, uint16_t dport,
        std::function<void(Frame&)> tweak = nullptr) {
  Frame f;
  f.saddr = Ip(src);
  f.daddr = Ip(dst);
  f.proto = proto;
  f.dport = dport;
  if (tweak) tweak(f);
  return f;
}

inline void ExpectEveryTruncationDropped(PacketTest* t, const std::string& frame,
                                  std::function<dataplane::TestRunResult(const std::string&)> run,
                                  std::function<uint64_t()> malformed) {
  // BPF_PROG_TEST_RUN refuses XDP frames shorter than an Ethernet header.
  for (size_t len = 14; len < frame.size(); ++len) {
    uint64_t before = malformed();
    auto r = run(frame.substr(0, len));
    EXPECT_EQ(VerdictName(r.verdict), std::string("XDP_DROP")) << "length " << len;
    EXPECT_EQ(malformed(), before + 1) << "length " << len;
  }
  (void)t;
}

}  // namespace xlb::testing

#endif  // XLB_TESTS_PACKET_PACKET_FIXTURE_H_
