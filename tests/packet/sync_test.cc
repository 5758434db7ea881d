// Packet tests of the flow events for sync (bpf/sync.h): what the ring
// flow_events receives for new flows (DR, NAT, tunnel) and first FIN/RST,
// batched and per flow; nothing when sync is off or for a connection-table
// hit; a full ring counted, forwarding unchanged. The ring is read as xlbd
// will, with libbpf's ring_buffer.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "dataplane/trace.h"
#include "tests/packet/packet_fixture.h"

namespace xlb::testing {
namespace {

constexpr char kDrVip[] = "192.0.2.10", kNatVip[] = "192.0.2.20", kTunVip[] = "192.0.2.40";

class SyncTest : public PacketTest {
 protected:
  void SetUp() override {}
  void TearDown() override {
    if (ring_) ring_buffer__free(ring_);
  }

  // Loads with sync on (off: `on` false) and the services of the tests.
  void LoadSync(bool on, bool per_flow, uint32_t ring_bytes = XLB_SYNC_RING_DEFAULT) {
    Load("", XLB_FLOOD_RATE_DEFAULT, [&](dataplane::ProgramOptions& o) {
      o.sync_events = on;
      o.sync_per_flow = per_flow;
      o.sync_ring_bytes = ring_bytes;
    });
    AddService("192.0.2.10:80/tcp", {"203.0.113.1", "203.0.113.2"});
    AddService("192.0.2.20:80/tcp", {"203.0.113.21:8080"},
               [](model::ServiceOptions& o) { o.forward = model::Forward::kNat; });
    AddService("192.0.2.40:80/tcp", {"203.0.113.11"});
    xlb_tunnel tun{};
    tun.src[0] = Ip("192.0.2.128").words()[0];
    tun.mtu = 1500;
    tun.overhead = 20;
    ASSERT_TRUE(MakeTunnelService(prog_->maps(), Key("192.0.2.40:80/tcp"), tun).ok());
    ring_ = ring_buffer__new(prog_->maps().flow_events.fd(), &SyncTest::OnRecord, this, nullptr);
    ASSERT_NE(ring_, nullptr);
  }

  static int OnRecord(void* ctx, void* data, size_t size) {
    auto* self = static_cast<SyncTest*>(ctx);
    const auto* b = static_cast<const xlb_flow_event_batch*>(data);
    EXPECT_GE(b->count, 1u);
    EXPECT_LE(b->count, static_cast<uint32_t>(XLB_FLOW_EVENT_BATCH));
    EXPECT_EQ(size, offsetof(xlb_flow_event_batch, ev) + b->count * sizeof(xlb_flow_event))
        << "a record is as long as its events";
    self->record_sizes_.push_back(b->count);
    for (uint32_t i = 0; i < b->count && i < XLB_FLOW_EVENT_BATCH; ++i)
      self->events_.push_back(b->ev[i]);
    return 0;
  }

  // Reads the ring until it holds `want` events in all or 200 ms passed (the
  // timer sends a partial batch after 1 ms).
  void ReadEvents(size_t want) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
    do {
      ASSERT_GE(ring_buffer__consume(ring_), 0);
      if (events_.size() >= want) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    } while (std::chrono::steady_clock::now() < deadline);
  }

  xlb_flow_key FlowKey(const char* client, const char* vip, uint16_t cport, uint16_t vport) {
    xlb_flow_key k{};
    for (int i = 0; i < 4; ++i) {
      k.src[i] = Ip(client).words()[i];
      k.dst[i] = Ip(vip).words()[i];
    }
    k.sport = htons(cport);
    k.dport = htons(vport);
    k.proto = kTcp;
    k.family = XLB_FAMILY_V4;
    return k;
  }

  // The event says what the connection-table entry of its flow says (but
  // for `later` flags, set after the event).
  void ExpectEventOfEntry(const xlb_flow_event& e, uint16_t type, const xlb_flow_key& flow,
                          uint32_t later = 0) {
    EXPECT_EQ(e.type, type);
    EXPECT_EQ(Hex(std::string(reinterpret_cast<const char*>(&e.flow), sizeof(flow))),
              Hex(std::string(reinterpret_cast<const char*>(&flow), sizeof(flow))));
    xlb_conn conn{};
    ASSERT_TRUE(*prog_->maps().conn_table.Lookup(&flow, &conn));
    EXPECT_EQ(e.service_id, conn.service_id);
    EXPECT_EQ(e.real_id, conn.real_id);
    EXPECT_EQ(e.real_gen, conn.real_gen);
    EXPECT_NE(e.real_id, 0u);
    EXPECT_EQ(e.conn_flags, conn.flags & ~later);
    EXPECT_EQ(e.last_seen_ns, conn.last_seen_ns);
  }

  ring_buffer* ring_ = nullptr;
  std::vector<xlb_flow_event> events_;
  std::vector<uint32_t> record_sizes_;
};

class SyncModes : public SyncTest, public ::testing::WithParamInterface<bool> {};

TEST_P(SyncModes, NewFlowsOfEachForwardingAndTheirFirstFinOrRst) {
  LoadSync(true, GetParam());
  ASSERT_EQ(prog_->sync_mode(),
            GetParam() ? dataplane::SyncMode::kPerFlow : dataplane::SyncMode::kBatched);
  const int dr_real = SentTo(Build(Tcp("198.51.100.2", kDrVip, 40000, 80)));
  EXPECT_NE(dr_real, -1);
  // A connection-table hit: no event.
  EXPECT_EQ(SentTo(Build(Tcp("198.51.100.2", kDrVip, 40000, 80, kAck))), dr_real);
  EXPECT_STREQ(VerdictName(Run(Build(Tcp("198.51.100.2", kNatVip, 40001, 80))).verdict),
               "XDP_TX");
  EXPECT_STREQ(VerdictName(Run(Build(Tcp("198.51.100.4", kTunVip, 40002, 80))).verdict),
               "XDP_TX");
  ReadEvents(3);
  ASSERT_EQ(events_.size(), 3u);
  const auto dr = FlowKey("198.51.100.2", kDrVip, 40000, 80);
  const auto nat = FlowKey("198.51.100.2", kNatVip, 40001, 80);
  const auto tun = FlowKey("198.51.100.4", kTunVip, 40002, 80);
  ExpectEventOfEntry(events_[0], XLB_FLOW_EV_NEW, dr, XLB_CONN_F_ESTABLISHED);
  EXPECT_EQ(events_[0].conn_flags & (XLB_CONN_F_NAT | XLB_CONN_F_TUNNEL), 0);
  xlb_conn dr_conn{};
  ASSERT_TRUE(*prog_->maps().conn_table.Lookup(&dr, &dr_conn));
  EXPECT_TRUE(dr_conn.flags & XLB_CONN_F_ESTABLISHED) << "the ACK was a hit";
  ExpectEventOfEntry(events_[1], XLB_FLOW_EV_NEW, nat);
  EXPECT_TRUE(events_[1].conn_flags & XLB_CONN_F_NAT);
  ExpectEventOfEntry(events_[2], XLB_FLOW_EV_NEW, tun);
  EXPECT_TRUE(events_[2].conn_flags & XLB_CONN_F_TUNNEL);

  // FIN twice on the DR flow: one CLOSING; RST on the tunnel flow: one.
  Run(Build(Tcp("198.51.100.2", kDrVip, 40000, 80, kFin | kAck)));
  Run(Build(Tcp("198.51.100.2", kDrVip, 40000, 80, kFin | kAck)));
  Run(Build(Tcp("198.51.100.4", kTunVip, 40002, 80, kRst)));
  Run(Build(Tcp("198.51.100.4", kTunVip, 40002, 80, kRst)));
  ReadEvents(5);
  ASSERT_EQ(events_.size(), 5u);
  ExpectEventOfEntry(events_[3], XLB_FLOW_EV_CLOSING, dr);
  EXPECT_TRUE(events_[3].conn_flags & XLB_CONN_F_CLOSING);
  ExpectEventOfEntry(events_[4], XLB_FLOW_EV_CLOSING, tun);

  // The NAT real closes first: the event names the client's flow.
  Frame reply = Tcp("203.0.113.21", "198.51.100.2", 8080, 40001, kFin | kAck);
  reply.src = RealMac(FakeResolver::MacNumber(reply.saddr));
  reply.dst = kDirectorMac;
  EXPECT_STREQ(VerdictName(Run(Build(reply)).verdict), "XDP_REDIRECT");
  ReadEvents(6);
  ASSERT_EQ(events_.size(), 6u);
  EXPECT_EQ(events_[5].type, XLB_FLOW_EV_CLOSING);
  EXPECT_EQ(Hex(std::string(reinterpret_cast<const char*>(&events_[5].flow), sizeof(nat))),
            Hex(std::string(reinterpret_cast<const char*>(&nat), sizeof(nat))));
  EXPECT_EQ(events_[5].real_id, events_[1].real_id);
  EXPECT_TRUE(events_[5].conn_flags & XLB_CONN_F_CLOSING);

  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // a timer round or more
  ASSERT_GE(ring_buffer__consume(ring_), 0);
  EXPECT_EQ(events_.size(), 6u) << "nothing else was sent";
  EXPECT_EQ(Global(XLB_STAT_SYNC_EVENTS), 6u);
  EXPECT_EQ(Global(XLB_STAT_SYNC_RING_FULL), 0u);
  if (GetParam()) {
    EXPECT_EQ(record_sizes_, std::vector<uint32_t>(6, 1)) << "one record per event";
  }
}

INSTANTIATE_TEST_SUITE_P(Sync, SyncModes, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "PerFlow" : "Batched"; });

// Batched: 16 events make one record at once; fewer wait for the timer.
TEST_F(SyncTest, BatchesOfSixteenAndTheTimerSendsTheRest) {
  LoadSync(true, false);
  for (int i = 0; i < 40; ++i) {
    auto r = Run(Build(Tcp("198.51.100.2", kDrVip, static_cast<uint16_t>(20000 + i), 80)));
    ASSERT_STREQ(VerdictName(r.verdict), "XDP_TX");
  }
  ReadEvents(40);
  ASSERT_EQ(events_.size(), 40u);
  for (int i = 0; i < 40; ++i)
    EXPECT_EQ(ntohs(events_[i].flow.sport), 20000 + i) << "in order, each once";
  uint32_t full = 0;
  for (uint32_t n : record_sizes_) full += n == XLB_FLOW_EVENT_BATCH;
  // 40 events on one CPU: full batches unless the timer fired between calls.
  EXPECT_GE(full, 1u);
  EXPECT_LT(record_sizes_.size(), 40u) << "batched, not one record per event";
  EXPECT_EQ(Global(XLB_STAT_SYNC_EVENTS), 40u);
}

TEST_F(SyncTest, OffEmitsNothing) {
  LoadSync(false, false);
  EXPECT_EQ(prog_->sync_mode(), dataplane::SyncMode::kOff);
  Run(Build(Tcp("198.51.100.2", kDrVip, 40000, 80)));
  Run(Build(Tcp("198.51.100.2", kNatVip, 40001, 80)));
  Run(Build(Tcp("198.51.100.2", kDrVip, 40000, 80, kFin | kAck)));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_GE(ring_buffer__consume(ring_), 0);
  EXPECT_TRUE(events_.empty());
  EXPECT_EQ(Global(XLB_STAT_SYNC_EVENTS), 0u);
  EXPECT_EQ(Global(XLB_STAT_CONN_MISS), 2u) << "the flows were new ones";
}

// A ring nobody reads fills: records are dropped and their events counted,
// and every packet is forwarded all the same.
TEST_F(SyncTest, FullRingIsCountedAndForwardingGoesOn) {
  LoadSync(true, true, 4096);  // 4096 / 80-byte records: ~50 fit
  constexpr int kFlows = 100;
  for (int i = 0; i < kFlows; ++i) {
    auto r = Run(Build(Tcp("198.51.100.2", kDrVip, static_cast<uint16_t>(20000 + i), 80)));
    ASSERT_STREQ(VerdictName(r.verdict), "XDP_TX") << i;
  }
  const uint64_t sent = Global(XLB_STAT_SYNC_EVENTS), full = Global(XLB_STAT_SYNC_RING_FULL);
  EXPECT_GT(full, 0u);
  EXPECT_EQ(sent + full, static_cast<uint64_t>(kFlows));
  ReadEvents(sent);
  EXPECT_EQ(events_.size(), sent) << "what the ring took is readable";
}

// A trace (xlbctl trace) writes nothing, events included: of a new flow
// (SYN) and of a FIN on an open one.
TEST_F(SyncTest, TraceEmitsNothing) {
  LoadSync(true, false);
  Run(Build(Tcp("198.51.100.2", kDrVip, 40000, 80)));
  ReadEvents(1);
  ASSERT_EQ(events_.size(), 1u);
  dataplane::TraceRequest r;
  r.client = Ip("198.51.100.2");
  r.client_port = 40001;
  r.vip = Ip(kDrVip);
  r.vip_port = 80;
  r.syn = true;
  r.interface_mac = kDirectorMac;
  auto t = dataplane::Trace(*prog_, r);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->record.flags & XLB_TRACE_F_WOULD_RECORD);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_GE(ring_buffer__consume(ring_), 0);
  EXPECT_EQ(events_.size(), 1u) << "the trace's flow sent an event";
  EXPECT_EQ(Global(XLB_STAT_SYNC_EVENTS), 1u);
}

// An upgrade over the pins of an xlb from before sync (no flow_events, two
// global counters fewer): flows kept, the ring made and pinned; a ring of
// another size (sync.ring_bytes changed) is replaced, flows kept again.
TEST_F(SyncTest, UpgradeOverPinsWithoutTheRingAndRingOfAnotherSize) {
  const std::string pins = g_bpffs + "/sync-upgrade";
  Load(pins);
  AddService("192.0.2.10:80/tcp", {"203.0.113.11", "203.0.113.12"});
  const int real = SentTo(Build(Tcp("198.51.100.2", kDrVip, 40001, 80)));
  ASSERT_GT(real, 0);
  const std::string ring = pins + "/flow_events", stats = pins + "/global_stats";
  ASSERT_EQ(unlink(ring.c_str()), 0);
  ASSERT_EQ(unlink(stats.c_str()), 0);
  int fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "global_stats", sizeof(uint32_t),
                          sizeof(uint64_t), XLB_STAT_SYNC_EVENTS, nullptr);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(bpf_obj_pin(fd, stats.c_str()), 0);
  close(fd);

  auto ring_size = [&]() -> uint32_t {
    auto pinned = dataplane::Maps::OpenPinned(pins);
    EXPECT_TRUE(pinned.ok()) << pinned.status();
    if (!pinned.ok()) return 0;
    bpf_map_info info = {};
    uint32_t len = sizeof(info);
    EXPECT_EQ(bpf_obj_get_info_by_fd(pinned->flow_events.fd(), &info, &len), 0);
    EXPECT_EQ(info.type, BPF_MAP_TYPE_RINGBUF);
    return info.max_entries;
  };
  Load(pins, XLB_FLOOD_RATE_DEFAULT, [](dataplane::ProgramOptions& o) { o.sync_events = true; });
  ASSERT_FALSE(HasFatalFailure()) << "the pins were not adopted";
  EXPECT_EQ(SentTo(Build(Tcp("198.51.100.2", kDrVip, 40001, 80, kAck))), real);
  EXPECT_EQ(ring_size(), XLB_SYNC_RING_DEFAULT);

  Load(pins, XLB_FLOOD_RATE_DEFAULT, [](dataplane::ProgramOptions& o) {
    o.sync_events = true;
    o.sync_ring_bytes = 1u << 16;
  });
  ASSERT_FALSE(HasFatalFailure()) << "the pins were not adopted";
  EXPECT_EQ(SentTo(Build(Tcp("198.51.100.2", kDrVip, 40001, 80, kAck))), real);
  EXPECT_EQ(ring_size(), 1u << 16);
  ASSERT_TRUE(prog_->Unpin().ok());
}

}  // namespace
}  // namespace xlb::testing
