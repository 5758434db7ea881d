#include "controlplane/xlbd/sync_resync.h"

#include <sys/random.h>

#include <algorithm>
#include <array>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "controlplane/sync/resync.h"
#include "glog/logging.h"

namespace xlb::xlbd {
namespace {

using asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

asio::ip::address ToAsio(const model::IpAddress& a) { return asio::ip::make_address(a.ToString()); }

std::optional<model::IpAddress> FromAsio(asio::ip::address a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  auto parsed = model::IpAddress::Parse(a.to_string());
  if (!parsed.ok()) return std::nullopt;
  return *parsed;
}

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

constexpr size_t kReadChunk = 64 * 1024;

}  // namespace

// ---- server ----------------------------------------------------------------

struct ResyncServer::Shared {
  Shared(asio::io_context& io, sync::Key k) : acceptor(io), key(std::move(k)) {}
  tcp::acceptor acceptor;
  sync::Key key;
  uint32_t node_id = 0;
  std::vector<model::IpAddress> peers;
  Snapshot snapshot;
  ResyncServerCounters counters;
  bool alive = true;
  std::weak_ptr<Session> active;
};

struct ResyncServer::Session : std::enable_shared_from_this<ResyncServer::Session> {
  Session(std::shared_ptr<Shared> s, tcp::socket sock, std::string who)
      : shared(std::move(s)),
        socket(std::move(sock)),
        deadline(socket.get_executor()),
        peer(std::move(who)) {}

  std::shared_ptr<Shared> shared;
  tcp::socket socket;
  asio::steady_timer deadline;
  std::string peer;
  sync::FrameReader reader;
  std::vector<char> buffer = std::vector<char>(kReadChunk);
  uint64_t nonce = 0;
  std::vector<sync::FlowRecord> records;
  size_t next_chunk = 0;
  size_t chunks = 0;
  std::string frame;  // the one being written
  SteadyClock::time_point start = SteadyClock::now();
  bool closed = false;

  void Close() {
    if (closed) return;
    closed = true;
    std::error_code ignored;
    socket.close(ignored);
    deadline.cancel();
  }

  void Arm() {
    deadline.expires_after(kProgressDeadline);
    deadline.async_wait([self = shared_from_this()](std::error_code ec) {
      if (ec || self->closed) return;
      ++(self->nonce == 0 ? self->shared->counters.bad_request : self->shared->counters.dropped);
      LOG(WARNING) << "sync: resync for " << self->peer << " dropped: no progress in "
                   << kProgressDeadline.count() << " s";
      self->Close();
    });
  }

  void ReadRequest() {
    socket.async_read_some(
        asio::buffer(buffer), [self = shared_from_this()](std::error_code ec, size_t n) {
          if (self->closed || !self->shared->alive) return;
          if (ec) {
            ++self->shared->counters.bad_request;
            self->Close();
            return;
          }
          if (auto st = self->reader.Append(absl::string_view(self->buffer.data(), n)); !st.ok()) {
            self->Refuse(st);
            return;
          }
          auto message = self->reader.Next();
          if (!message) {
            self->ReadRequest();
            return;
          }
          auto nonce = sync::CheckResyncRequest(*message, self->shared->key);
          if (!nonce.ok()) {
            self->Refuse(nonce.status());
            return;
          }
          self->nonce = *nonce;
          self->Serve();
        });
  }

  void Refuse(const absl::Status& why) {
    ++shared->counters.bad_request;
    LOG(WARNING) << "sync: resync request from " << peer << " refused: " << why.message();
    Close();
  }

  void Serve() {
    auto records_or = shared->snapshot();
    if (!records_or.ok()) {
      LOG(ERROR) << "sync: resync for " << peer << ": " << records_or.status();
      Close();
      return;
    }
    records = std::move(*records_or);
    chunks = sync::ResyncChunkCount(records.size());
    WriteNext();
  }

  void WriteNext() {
    absl::StatusOr<std::string> next =
        next_chunk < chunks
            ? sync::ResyncChunk(shared->key, shared->node_id, nonce, records, next_chunk)
        : next_chunk == chunks
            ? sync::ResyncDone(shared->key, shared->node_id, nonce, records.size())
            : absl::StatusOr<std::string>(std::string());
    if (!next.ok()) {
      LOG(ERROR) << "sync: resync for " << peer << ": " << next.status();
      Close();
      return;
    }
    if (next->empty()) {  // DONE written
      ++shared->counters.served;
      LOG(INFO) << "sync: resync served to " << peer << ": " << records.size() << " flows in "
                << absl::StrFormat("%.2f", SecondsSince(start)) << " s";
      Close();
      return;
    }
    ++next_chunk;
    frame = std::move(*next);
    Arm();
    asio::async_write(
        socket, asio::buffer(frame), [self = shared_from_this()](std::error_code ec, size_t) {
          if (self->closed || !self->shared->alive) return;
          if (ec) {
            ++self->shared->counters.dropped;
            LOG(WARNING) << "sync: resync for " << self->peer << " dropped: " << ec.message();
            self->Close();
            return;
          }
          self->WriteNext();  // one frame per turn of the loop
        });
  }
};

namespace {

void Accept(const std::shared_ptr<ResyncServer::Shared>& shared);

void OnAccepted(const std::shared_ptr<ResyncServer::Shared>& shared, tcp::socket socket) {
  std::error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  std::optional<model::IpAddress> from = ec ? std::nullopt : FromAsio(remote.address());
  const std::string who = from ? from->ToString() : "an unknown address";
  if (!from ||
      std::find(shared->peers.begin(), shared->peers.end(), *from) == shared->peers.end()) {
    ++shared->counters.not_peer;
    LOG_EVERY_N(WARNING, 100) << "sync: resync connection from " << who
                              << " closed: not in sync.peers (" << google::COUNTER << " so far)";
    socket.close(ec);
    return;
  }
  if (!shared->active.expired()) {
    ++shared->counters.busy;
    LOG(INFO) << "sync: resync connection from " << who << " closed: serving another";
    socket.close(ec);
    return;
  }
  auto session = std::make_shared<ResyncServer::Session>(shared, std::move(socket), who);
  shared->active = session;
  session->Arm();
  session->ReadRequest();
}

void Accept(const std::shared_ptr<ResyncServer::Shared>& shared) {
  shared->acceptor.async_accept([shared](std::error_code ec, tcp::socket socket) {
    if (!shared->alive) return;
    if (!ec) OnAccepted(shared, std::move(socket));
    Accept(shared);
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<ResyncServer>> ResyncServer::Start(
    asio::io_context& io, const std::optional<model::IpAddress>& source, model::Family family,
    uint16_t port, const std::vector<model::IpAddress>& peers, sync::Key key, uint32_t node_id,
    Snapshot snapshot) {
  auto shared = std::make_shared<Shared>(io, std::move(key));
  shared->node_id = node_id;
  shared->peers = peers;
  shared->snapshot = std::move(snapshot);
  const asio::ip::address bind_to =
      source ? ToAsio(*source)
             : (family == model::Family::kV6 ? asio::ip::address(asio::ip::address_v6::any())
                                             : asio::ip::address(asio::ip::address_v4::any()));
  const tcp::endpoint local(bind_to, port);
  std::error_code ec;
  shared->acceptor.open(local.protocol(), ec);
  if (!ec) shared->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && local.protocol() == tcp::v6())
    shared->acceptor.set_option(asio::ip::v6_only(true), ec);
  if (!ec) shared->acceptor.bind(local, ec);
  if (!ec) shared->acceptor.listen(4, ec);
  if (ec)
    return absl::UnavailableError(absl::StrCat("sync: cannot listen for resync on TCP ",
                                               bind_to.to_string(), " port ", port, ": ",
                                               ec.message()));
  Accept(shared);
  return std::unique_ptr<ResyncServer>(new ResyncServer(std::move(shared)));
}

ResyncServer::~ResyncServer() {
  shared_->alive = false;
  std::error_code ignored;
  shared_->acceptor.close(ignored);
  if (auto s = shared_->active.lock()) s->Close();
}

const ResyncServerCounters& ResyncServer::counters() const { return shared_->counters; }

// ---- client ----------------------------------------------------------------

struct ResyncClient::State : std::enable_shared_from_this<ResyncClient::State> {
  State(asio::io_context& io, sync::Key k)
      : socket(io), overall(io), connect_deadline(io), key(std::move(k)) {}
  tcp::socket socket;
  asio::steady_timer overall, connect_deadline;
  sync::Key key;
  uint32_t node_id = 0;
  uint16_t port = 0;
  std::optional<model::IpAddress> source;
  std::vector<model::IpAddress> peers;
  std::chrono::milliseconds timeout{0};
  OnRecords on_records;
  OnDone on_done;
  bool alive = true;
  std::string state = "running", detail;
  size_t peer_index = 0;
  uint64_t nonce = 0;
  uint64_t applied = 0;  // records handed on, all peers together
  uint64_t from_peer = 0;
  std::vector<std::string> errors;  // "198.51.100.2: Connection refused"
  sync::FrameReader reader;
  std::vector<char> buffer = std::vector<char>(kReadChunk);
  std::string request;
  SteadyClock::time_point start = SteadyClock::now();
  uint64_t attempt = 0;  // tells a stale handler from the current peer's

  void Finish(std::string s, std::string d) {
    if (state != "running") return;
    state = std::move(s);
    detail = std::move(d);
    std::error_code ignored;
    socket.close(ignored);
    overall.cancel();
    connect_deadline.cancel();
    // "sync: resync from P: N flows in S s", "sync: resync timed out after
    // ...", "sync: resync failed: no peer answered (...)".
    (state == "done" ? LOG(INFO) : LOG(WARNING))
        << "sync: resync " << (state == "failed" ? "failed: " : "") << detail;
    if (alive && on_done) on_done();
  }

  void PeerFailed(const std::string& why) {
    errors.push_back(absl::StrCat(peers[peer_index].ToString(), ": ", why));
    ++peer_index;
    TryPeer();
  }

  void TryPeer() {
    if (!alive || state != "running") return;
    if (peer_index >= peers.size()) {
      Finish("failed", absl::StrCat("no peer answered (", absl::StrJoin(errors, "; "),
                                    "); taking traffic with ", applied, " flows"));
      return;
    }
    ++attempt;
    std::error_code ec;
    socket.close(ec);
    reader = sync::FrameReader();
    from_peer = 0;
    const model::IpAddress& peer = peers[peer_index];
    const tcp::endpoint remote(ToAsio(peer), port);
    socket.open(remote.protocol(), ec);
    if (!ec && source) socket.bind(tcp::endpoint(ToAsio(*source), 0), ec);
    if (ec) {
      PeerFailed(ec.message());
      return;
    }
    if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce) || nonce == 0) nonce = 1 + attempt;
    auto req = sync::ResyncRequest(key, node_id, nonce);
    if (!req.ok()) {
      Finish("failed", std::string(req.status().message()));
      return;
    }
    request = std::move(*req);
    connect_deadline.expires_after(kConnectDeadline);
    connect_deadline.async_wait([self = shared_from_this(), a = attempt](std::error_code e) {
      if (e || !self->alive || a != self->attempt || self->state != "running") return;
      std::error_code ignored;
      self->socket.close(ignored);  // the connect's handler says why
    });
    socket.async_connect(remote, [self = shared_from_this(), a = attempt](std::error_code e) {
      if (!self->alive || a != self->attempt || self->state != "running") return;
      self->connect_deadline.cancel();
      if (e) {
        self->PeerFailed(e == asio::error::operation_aborted
                             ? absl::StrCat("no answer in ", kConnectDeadline.count(), " s")
                             : e.message());
        return;
      }
      asio::async_write(self->socket, asio::buffer(self->request),
                        [self, a](std::error_code e2, size_t) {
                          if (!self->alive || a != self->attempt || self->state != "running")
                            return;
                          if (e2) {
                            self->PeerFailed(e2.message());
                            return;
                          }
                          self->Read();
                        });
    });
  }

  void Read() {
    socket.async_read_some(asio::buffer(buffer), [self = shared_from_this(), a = attempt](
                                                     std::error_code e, size_t n) {
      if (!self->alive || a != self->attempt || self->state != "running") return;
      if (e) {
        self->PeerFailed(e == asio::error::eof ? "closed before the copy was complete"
                                               : e.message());
        return;
      }
      if (auto st = self->reader.Append(absl::string_view(self->buffer.data(), n)); !st.ok()) {
        self->PeerFailed(std::string(st.message()));
        return;
      }
      while (auto frame = self->reader.Next()) {
        auto m = sync::CheckResyncAnswer(*frame, self->key, self->nonce);
        if (!m.ok()) {
          self->PeerFailed(std::string(m.status().message()));
          return;
        }
        if (m->header.type == sync::MessageType::kResyncDone) {
          if (m->header.sequence != self->from_peer) {
            self->PeerFailed(absl::StrCat("its copy said ", m->header.sequence, " flows, ",
                                          self->from_peer, " came"));
            return;
          }
          self->Finish(
              "done",
              absl::StrCat("from ", self->peers[self->peer_index].ToString(), ": ", self->from_peer,
                           " flows in ", absl::StrFormat("%.2f", SecondsSince(self->start)), " s"));
          return;
        }
        self->from_peer += m->records.size();
        self->applied += m->records.size();
        self->on_records(m->records);
        if (!self->alive || self->state != "running") return;
      }
      self->Read();
    });
  }
};

std::unique_ptr<ResyncClient> ResyncClient::Start(
    asio::io_context& io, const std::vector<model::IpAddress>& peers, uint16_t port,
    const std::optional<model::IpAddress>& source, sync::Key key, uint32_t node_id,
    std::chrono::milliseconds timeout, OnRecords on_records, OnDone on_done) {
  auto state = std::make_shared<State>(io, std::move(key));
  state->node_id = node_id;
  state->port = port;
  state->source = source;
  state->peers = peers;
  state->timeout = timeout;
  state->on_records = std::move(on_records);
  state->on_done = std::move(on_done);
  std::unique_ptr<ResyncClient> client(new ResyncClient(state));
  if (peers.empty() || peers.front().is_multicast()) {
    state->state = "none";
    state->detail = "a multicast group: no peer to ask";
    LOG(INFO) << "sync: no resync (" << state->detail << ")";
    asio::post(io, [state] {
      if (state->alive && state->on_done) state->on_done();
    });
    return client;
  }
  LOG(INFO) << "sync: resync: asking " << peers.size() << " peer(s) for their flows (at most "
            << absl::StrFormat("%g", timeout.count() / 1000.0) << " s)";
  state->overall.expires_after(timeout);
  state->overall.async_wait([state](std::error_code ec) {
    if (ec || !state->alive) return;
    state->Finish(
        "timed out",
        absl::StrCat("timed out after ", absl::StrFormat("%g", state->timeout.count() / 1000.0),
                     " s (", state->applied, " applied); taking traffic anyway"));
  });
  asio::post(io, [state] { state->TryPeer(); });
  return client;
}

ResyncClient::~ResyncClient() {
  state_->alive = false;
  std::error_code ignored;
  state_->socket.close(ignored);
  state_->overall.cancel();
  state_->connect_deadline.cancel();
}

const std::string& ResyncClient::state() const { return state_->state; }
const std::string& ResyncClient::detail() const { return state_->detail; }

}  // namespace xlb::xlbd
