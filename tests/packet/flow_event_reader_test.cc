// Packet tests of the sender's reading side of sync (issue #16): new flows
// and first FINs made by BPF_PROG_TEST_RUN come out of the ring flow_events
// through dataplane::FlowEventReader, and TranslateFlowEvent names them by
// address through the service table: the service, the client, and the real
// the connection-table entry names (retired reals too, also after a restart
// that adopts the pins); stale ids are refused. Bounded reading per Consume.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "dataplane/conntrack.h"
#include "dataplane/flow_event_reader.h"
#include "tests/packet/packet_fixture.h"

namespace xlb::testing {
namespace {

using dataplane::FlowEventReader;
using dataplane::FlowEventVerdict;
using dataplane::SyncFlow;

constexpr char kDr[] = "192.0.2.10:80/tcp", kNat[] = "192.0.2.20:80/tcp",
               kDr6[] = "[2001:db8:10::10]:80/tcp", kAllPorts[] = "192.0.2.50:*/tcp";

class FlowEventReaderTest : public PacketTest {
 protected:
  void SetUp() override {}

  void LoadSync(bool per_flow, const std::string& pins = "") {
    reader_.reset();
    Load(pins, XLB_FLOOD_RATE_DEFAULT, [&](dataplane::ProgramOptions& o) {
      o.sync_events = true;
      o.sync_per_flow = per_flow;
    });
    ASSERT_FALSE(HasFatalFailure());
    auto r = FlowEventReader::Open(prog_->maps().flow_events,
                                   [this](const xlb_flow_event& e) { events_.push_back(e); });
    ASSERT_TRUE(r.ok()) << r.status();
    reader_ = std::move(*r);
  }

  void AddServices() {
    AddService(kDr, {"203.0.113.1", "203.0.113.2"});
    AddService(kNat, {"203.0.113.21:8080"},
               [](model::ServiceOptions& o) { o.forward = model::Forward::kNat; });
    AddService(kDr6, {"2001:db8:20::1", "2001:db8:20::2"});
    AddService(kAllPorts, {"203.0.113.31"});
  }

  // Reads until `want` events came or 200 ms passed (a partial batch waits
  // for the program's 1 ms timer).
  void ReadEvents(size_t want) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
    do {
      auto n = reader_->Consume();
      ASSERT_TRUE(n.ok()) << n.status();
      if (events_.size() >= want) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    } while (std::chrono::steady_clock::now() < deadline);
  }

  // The real (address, port it receives on) that the connection-table entry
  // of the event's flow names, by the table's own listing of its service.
  std::pair<model::IpAddress, uint16_t> RealOfEntry(const xlb_flow_event& e,
                                                     const std::string& service) {
    xlb_conn conn{};
    auto found = prog_->maps().conn_table.Lookup(&e.flow, &conn);
    EXPECT_TRUE(found.ok() && *found) << "the event's flow has an entry";
    auto state = table_->Get(Key(service));
    EXPECT_TRUE(state.ok()) << state.status();
    if (state.ok())
      for (const auto& r : state->reals)
        if (r.id == conn.real_id)
          return {r.spec.address, model::EffectivePort(state->service.key, r.spec)};
    ADD_FAILURE() << "no real " << conn.real_id << " in " << service;
    return {};
  }

  FlowEventVerdict Translate(const xlb_flow_event& e, SyncFlow* f) {
    return dataplane::TranslateFlowEvent(e, *table_, dataplane::CoarseNowNs(), f);
  }

  // Writes one record of `size` bytes whose count field is `count` (the
  // rest zeros) into flow_events, by a small socket filter program run once:
  // what the data path never writes, for the reader's checks.
  void WriteRecord(uint32_t count, uint32_t size) {
    constexpr int16_t kBuf = -72;  // a 72-byte stack buffer: a record of one event
    auto insn = [](uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
      bpf_insn i{};
      i.code = code;
      i.dst_reg = dst;
      i.src_reg = src;
      i.off = off;
      i.imm = imm;
      return i;
    };
    std::vector<bpf_insn> insns;
    for (int16_t off = kBuf; off < 0; off += 8)
      insns.push_back(insn(BPF_ST | BPF_MEM | BPF_DW, BPF_REG_10, 0, off, 0));
    insns.push_back(
        insn(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, kBuf, static_cast<int32_t>(count)));
    insns.push_back(insn(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0,
                         prog_->maps().flow_events.fd()));
    insns.push_back(insn(0, 0, 0, 0, 0));  // the second half of the 64-bit load
    insns.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0));
    insns.push_back(insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, kBuf));
    insns.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, static_cast<int32_t>(size)));
    insns.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, 0));
    insns.push_back(insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ringbuf_output));
    insns.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
    insns.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    ASSERT_LE(size, 72u);
    int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "xlb_ring_junk", "GPL", insns.data(),
                           insns.size(), nullptr);
    ASSERT_GE(fd, 0) << "load the record writer: " << strerror(errno);
    std::string frame(64, '\0');
    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = frame.data(), .data_size_in = 64);
    EXPECT_EQ(bpf_prog_test_run_opts(fd, &run), 0) << strerror(errno);
    close(fd);
  }

  std::unique_ptr<FlowEventReader> reader_;
  std::vector<xlb_flow_event> events_;
};

// Sixteen new flows of four services (DR, NAT with its real's port, IPv6,
// all-ports) read back as SyncFlows with the right addresses.
TEST_F(FlowEventReaderTest, SixteenNewFlowsReadBackByAddress) {
  LoadSync(false);
  AddServices();
  struct Sent {
    const char* service;
    const char* client;
    const char* vip;
    uint16_t cport, vport;
  };
  std::vector<Sent> sent;
  for (uint16_t i = 0; i < 4; ++i) {
    sent.push_back({kDr, "198.51.100.2", "192.0.2.10", static_cast<uint16_t>(30000 + i), 80});
    sent.push_back({kNat, "198.51.100.3", "192.0.2.20", static_cast<uint16_t>(31000 + i), 80});
    sent.push_back(
        {kDr6, "2001:db8:1::2", "2001:db8:10::10", static_cast<uint16_t>(32000 + i), 80});
    sent.push_back(
        {kAllPorts, "198.51.100.4", "192.0.2.50", static_cast<uint16_t>(33000 + i),
         static_cast<uint16_t>(4000 + i)});
  }
  for (const Sent& s : sent)
    ASSERT_STREQ(VerdictName(Run(Build(Tcp(s.client, s.vip, s.cport, s.vport))).verdict),
                 "XDP_TX")
        << s.vip << " " << s.cport;
  ReadEvents(16);
  ASSERT_EQ(events_.size(), 16u);
  EXPECT_EQ(reader_->counters().events, 16u);
  EXPECT_EQ(reader_->counters().malformed, 0u);
  for (size_t i = 0; i < sent.size(); ++i) {
    SCOPED_TRACE(sent[i].service + std::string(" client port ") + std::to_string(sent[i].cport));
    const xlb_flow_event& e = events_[i];  // one CPU at a time: in order
    EXPECT_EQ(e.type, XLB_FLOW_EV_NEW);
    SyncFlow f;
    ASSERT_EQ(Translate(e, &f), FlowEventVerdict::kOk);
    EXPECT_EQ(f.service, Key(sent[i].service));
    EXPECT_EQ(f.client, Ip(sent[i].client));
    EXPECT_EQ(f.client_port, sent[i].cport);
    EXPECT_EQ(f.vip_port, sent[i].vport);
    const auto [real, port] = RealOfEntry(e, sent[i].service);
    EXPECT_EQ(f.real, real);
    EXPECT_EQ(f.real_port, port);
    EXPECT_EQ(f.flags & (XLB_CONN_F_ESTABLISHED | XLB_CONN_F_CLOSING), 0u) << "a SYN alone";
    EXPECT_LT(f.age_ms, 1000u);
  }
  SyncFlow nat;
  ASSERT_EQ(Translate(events_[1], &nat), FlowEventVerdict::kOk);
  EXPECT_EQ(nat.real_port, 8080) << "the NAT real's own port";
  SyncFlow all;
  ASSERT_EQ(Translate(events_[3], &all), FlowEventVerdict::kOk);
  EXPECT_EQ(all.service.port, 0) << "all-ports";
  EXPECT_EQ(all.real_port, 0) << "an all-ports real's port: the flow's (as SyncApplier keys it)";
  EXPECT_EQ(all.vip_port, 4000);
}

// One record per event (per flow mode): a Consume reads at most its bound
// of records, the rest stays for the next.
TEST_F(FlowEventReaderTest, ConsumeReadsAtMostItsBound) {
  LoadSync(true);
  AddService(kDr, {"203.0.113.1"});
  for (uint16_t i = 0; i < 16; ++i)
    ASSERT_STREQ(
        VerdictName(Run(Build(Tcp("198.51.100.2", "192.0.2.10", 20000 + i, 80))).verdict),
        "XDP_TX");
  auto n = reader_->Consume(10);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 10u);
  n = reader_->Consume(10);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 6u);
  n = reader_->Consume(10);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 0u);
  ASSERT_EQ(events_.size(), 16u);
  for (uint16_t i = 0; i < 16; ++i) EXPECT_EQ(ntohs(events_[i].flow.sport), 20000 + i);
  EXPECT_EQ(reader_->counters().records, 16u);
  EXPECT_EQ(reader_->counters().malformed, 0u);
}

// Records the data path never writes are counted and skipped, never read
// past; the reader goes on with the next record.
TEST_F(FlowEventReaderTest, MalformedRecordsCountedAndSkipped) {
  LoadSync(true);
  const uint32_t one = offsetof(xlb_flow_event_batch, ev) + sizeof(xlb_flow_event);  // 72
  WriteRecord(0, 8);     // no event
  WriteRecord(2, one);   // two events said, one there
  WriteRecord(1, 4);     // shorter than its count
  WriteRecord(17, one);  // more than a batch holds
  WriteRecord(1, one);   // well-formed (an event of zeros)
  ASSERT_FALSE(HasFatalFailure());
  auto n = reader_->Consume();
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(events_.size(), 1u);
  EXPECT_EQ(reader_->counters().malformed, 4u);
  EXPECT_EQ(reader_->counters().records, 1u);
  EXPECT_EQ(reader_->counters().events, 1u);
}

// A real removed from its service keeps its flows, which are still named by
// its address, also by a table that adopted the pins after a restart; its
// first FIN comes as CLOSING. Ids of another generation, unknown ids and a
// flow that is not its service's are refused.
TEST_F(FlowEventReaderTest, RetiredRealsStaleIdsAndClosing) {
  const std::string pins = g_bpffs + "/flow-event-reader";
  LoadSync(true, pins);
  AddService(kDr, {"203.0.113.1", "203.0.113.2"});
  ASSERT_STREQ(VerdictName(Run(Build(Tcp("198.51.100.2", "192.0.2.10", 40000, 80))).verdict),
               "XDP_TX");
  ReadEvents(1);
  ASSERT_EQ(events_.size(), 1u);
  const xlb_flow_event e = events_[0];
  const auto [real, port] = RealOfEntry(e, kDr);
  const std::string other = real == Ip("203.0.113.1") ? "203.0.113.2" : "203.0.113.1";

  SetReals(kDr, {other});  // the flow's real is retired
  SyncFlow f;
  ASSERT_EQ(Translate(e, &f), FlowEventVerdict::kOk);
  EXPECT_EQ(f.real, real);
  EXPECT_EQ(f.real_port, port);

  // A restart: the new table learns the retired real from the pinned maps.
  LoadSync(true, pins);
  ASSERT_EQ(Translate(e, &f), FlowEventVerdict::kOk) << "after adopting the pins";
  EXPECT_EQ(f.real, real);
  EXPECT_EQ(f.service, Key(kDr));

  xlb_flow_event stale = e;
  stale.real_gen += 1;  // what the flows of the id's next holder carry
  EXPECT_EQ(Translate(stale, &f), FlowEventVerdict::kStaleId);
  xlb_flow_event unknown = e;
  unknown.real_id = XLB_MAX_REALS - 1;
  EXPECT_EQ(Translate(unknown, &f), FlowEventVerdict::kStaleId);
  xlb_flow_event other_service = e;
  other_service.service_id += 1;
  EXPECT_EQ(Translate(other_service, &f), FlowEventVerdict::kStaleId);
  xlb_flow_event not_its_vip = e;
  not_its_vip.flow.dst[0] = Ip("192.0.2.99").words()[0];
  EXPECT_EQ(Translate(not_its_vip, &f), FlowEventVerdict::kBadEvent);

  // The flow lives on at its retired real; its first FIN is an event.
  events_.clear();
  Run(Build(Tcp("198.51.100.2", "192.0.2.10", 40000, 80, kFin | kAck)));
  ReadEvents(1);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].type, XLB_FLOW_EV_CLOSING);
  ASSERT_EQ(Translate(events_[0], &f), FlowEventVerdict::kOk);
  EXPECT_EQ(f.real, real);
  EXPECT_TRUE(f.flags & XLB_CONN_F_CLOSING);
  reader_.reset();
  ASSERT_TRUE(prog_->Unpin().ok());
}

}  // namespace
}  // namespace xlb::testing
