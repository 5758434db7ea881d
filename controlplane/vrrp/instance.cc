#include "controlplane/vrrp/instance.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "controlplane/config/scripts.h"
#include "controlplane/vrrp/addresses.h"
#include "controlplane/vrrp/announce.h"
#include "glog/logging.h"

namespace xlb::vrrp {

using model::IpAddress;

InstanceConfig MachineConfig(const config::VrrpInstance& c, const IpAddress& source) {
  InstanceConfig m;
  m.name = c.name;
  m.vrid = c.vrid;
  m.priority = c.priority;
  m.version = c.version;
  m.advert_interval = c.advert_interval;
  m.preempt = c.preempt;
  m.preempt_delay = c.preempt_delay;
  m.accept = c.accept;
  m.primary = source;
  for (const auto& [address, prefix] : c.addresses) m.addresses.push_back(address);
  return m;
}

bool AppliesInPlace(const config::VrrpInstance& running, const config::VrrpInstance& next) {
  if ((running.priority == kPriorityOwner) != (next.priority == kPriorityOwner)) return false;
  config::VrrpInstance soft = next;
  soft.priority = running.priority;
  soft.preempt = running.preempt;
  soft.preempt_delay = running.preempt_delay;
  soft.track = running.track;
  soft.notify = running.notify;
  soft.notify_master = running.notify_master;
  soft.notify_backup = running.notify_backup;
  soft.notify_fault = running.notify_fault;
  soft.notify_stop = running.notify_stop;
  soft.notify_keepalived = running.notify_keepalived;
  soft.garp = running.garp;
  return soft == running;
}

std::vector<std::string> NotifyCommands(const config::VrrpInstance& v, State to,
                                        uint8_t priority) {
  // kInitialize: the instance stops.
  const std::string* specific = &v.notify_stop;
  const char* keepalived_state = "STOP";
  switch (to) {
    case State::kMaster: specific = &v.notify_master; keepalived_state = "MASTER"; break;
    case State::kBackup: specific = &v.notify_backup; keepalived_state = "BACKUP"; break;
    case State::kFault: specific = &v.notify_fault; keepalived_state = "FAULT"; break;
    case State::kInitialize: break;
  }
  std::vector<std::string> out;
  if (!specific->empty()) out.push_back(*specific);
  if (!v.notify_keepalived.empty())
    out.push_back(absl::StrCat(v.notify_keepalived, " INSTANCE ", config::ShellQuote(v.name), " ",
                               keepalived_state, " ", int{priority}));
  if (!v.notify.empty())
    out.push_back(absl::StrCat(config::ShellQuote(v.notify), " ", config::ShellQuote(v.name),
                               " ", StateName(to), " ", int{priority}));
  return out;
}

const char* DropCounterName(DecodeError error) {
  switch (error) {
    case DecodeError::kTooShort: return "too_short";
    case DecodeError::kBadIpHeader: return "bad_ip_header";
    case DecodeError::kNotVrrp: return "not_vrrp";
    case DecodeError::kBadVersion: return "bad_version";
    case DecodeError::kBadType: return "bad_type";
    case DecodeError::kBadLength: return "bad_length";
    case DecodeError::kBadChecksum: return "bad_checksum";
    case DecodeError::kBadAddressFamily: return "bad_address_family";
    case DecodeError::kBadTtl: return "bad_ttl";
    case DecodeError::kWrongVrid: return "wrong_vrid";
    case DecodeError::kBadAuth: return "bad_auth";
    case DecodeError::kBadInterval: return "bad_interval";
    case DecodeError::kTooLong: return "too_long";
    case DecodeError::kNone:
    case DecodeError::kCount: break;
  }
  return "other";
}

std::string VipLabel(const std::string& ifname, uint8_t vrid) {
  auto label = AddressLabel(ifname, absl::StrCat("vrrp", vrid));
  // Interface names are at most 15 bytes; a 15-byte one leaves no room for
  // a suffix, and the kernel's default label (the name) is used instead.
  return label.ok() ? *label : ifname;
}

bool IsVipLabel(const std::string& ifname, const std::string& label) {
  if (label == ifname) return false;  // the kernel's default: not ours
  for (int vrid = 1; vrid <= 255; ++vrid)
    if (label == VipLabel(ifname, static_cast<uint8_t>(vrid))) return true;
  return false;
}

Instance::Instance(asio::io_context& io, config::VrrpInstance config, Channel* channel,
                   int ifindex, IpAddress source, StateCallback on_change)
    : config_(std::move(config)),
      channel_(channel),
      ifindex_(ifindex),
      source_(source),
      on_change_(std::move(on_change)),
      machine_(MachineConfig(config_, source_)),
      timer_(io),
      garp_timer_(io),
      label_(VipLabel(config_.interface, config_.vrid)) {
  expect_.family = source_.family();
  expect_.version = config_.version;
  expect_.vrid = config_.vrid;
  if (config_.version == 2) {
    expect_.auth_type = config_.auth_secret.empty() ? kAuthNone : kAuthPass;
    expect_.auth = config_.auth_secret;
    expect_.v2_advert_int_cs = static_cast<uint16_t>(config_.advert_interval.count() / 10);
  }
}

Instance::~Instance() = default;

void Instance::Start() { Run(machine_.Start(Clock::now())); }

void Instance::Shutdown() {
  Run(machine_.Shutdown(Clock::now()));
  timer_.cancel();
  garp_timer_.cancel();
}

void Instance::Receive(const Advert& advert, const IpInfo& ip) {
  if (ip.src == source_) return;  // our own, looped back by a peer setup
  if (DecodeError e = Validate(advert, ip, expect_); e != DecodeError::kNone) {
    CountDrop(e);
    return;
  }
  if (!config_.unicast_peers.empty() &&
      std::find(config_.unicast_peers.begin(), config_.unicast_peers.end(), ip.src) ==
          config_.unicast_peers.end()) {
    ++counters_.unknown_peer;  // keepalived ignores them too: a stray router must not win
    return;
  }
  ++counters_.adverts_received;
  if (advert.priority == kPriorityResign) ++counters_.priority_zero_received;
  ReceivedAdvert r;
  r.src = ip.src;
  r.priority = advert.priority;
  r.interval_cs = advert.max_advert_int_cs;
  r.vrid = advert.vrid;
  Run(machine_.AdvertReceived(Clock::now(), r));
}

void Instance::CountDrop(DecodeError error) {
  if (error == DecodeError::kNone || error == DecodeError::kCount) return;
  ++counters_.dropped[static_cast<size_t>(error)];
}

void Instance::SetTracking(const TrackVerdict& verdict) {
  if (tracking_known_ && verdict == tracking_) return;
  const bool changed = !tracking_known_ || verdict.priority_decrease != tracking_.priority_decrease ||
                       verdict.fault != tracking_.fault;
  tracking_ = verdict;
  tracking_known_ = true;
  if (!changed) return;
  if (!verdict.why.empty())
    LOG(INFO) << "vrrp " << config_.name << ": tracking: " << verdict.why;
  else if (machine_.state() != State::kInitialize)
    LOG(INFO) << "vrrp " << config_.name << ": every tracked object is up";
  Run(machine_.TrackChanged(Clock::now(), verdict.priority_decrease, verdict.fault));
}

void Instance::Update(const config::VrrpInstance& next) {
  if (next == config_) return;
  LOG(INFO) << "vrrp " << config_.name << ": configuration changed (priority " << int{config_.priority}
            << " -> " << int{next.priority} << "), applied without a restart";
  config_ = next;
  machine_.Reconfigure(MachineConfig(config_, source_));
}

void Instance::Run(Actions actions) {
  for (const Action& action : actions) {
    if (auto* send = std::get_if<vrrp::SendAdvert>(&action)) {
      SendAdvert(send->priority);
    } else if (std::holds_alternative<BecomeMaster>(action)) {
      HoldAddresses();
    } else if (std::holds_alternative<BecomeBackup>(action) ||
               std::holds_alternative<BecomeFault>(action) ||
               std::holds_alternative<BecomeInitialize>(action)) {
      ReleaseAddresses();
    } else if (std::holds_alternative<Reannounce>(action)) {
      LOG(INFO) << "vrrp " << config_.name
                << ": a lower-priority router claims the addresses; announcing them again";
      ++counters_.reannounced;
      AnnounceBurst(0);
    } else if (auto* change = std::get_if<StateChanged>(&action)) {
      reason_ = change->reason;
      since_ = std::chrono::system_clock::now();
      if (on_change_) on_change_(*this, *change);
    }
  }
  Arm();
}

void Instance::Arm() {
  std::optional<TimePoint> deadline = machine_.NextDeadline();
  if (!deadline) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(*deadline);
  // The handler only touches *this when the wait was not cancelled, and the
  // destructor cancels it: safe after the instance is gone.
  timer_.async_wait([this, deadline = *deadline](std::error_code ec) {
    if (ec) return;
    const TimePoint now = Clock::now();
    if (now - deadline > config_.advert_interval) {
      ++counters_.timers_late;
      counters_.max_timer_late_ms =
          std::max<uint64_t>(counters_.max_timer_late_ms,
                             std::chrono::duration_cast<std::chrono::milliseconds>(now - deadline).count());
    }
    Run(machine_.Timer(now));
  });
}

std::vector<IpAddress> Instance::Addresses() const {
  std::vector<IpAddress> out;
  for (const auto& [address, prefix] : config_.addresses) out.push_back(address);
  return out;
}

void Instance::SendAdvert(uint8_t priority) {
  Advert advert;
  advert.version = config_.version;
  advert.vrid = config_.vrid;
  advert.priority = priority;
  advert.max_advert_int_cs = static_cast<uint16_t>(config_.advert_interval.count() / 10);
  advert.addresses = Addresses();
  if (config_.version == 2 && !config_.auth_secret.empty()) {
    advert.auth_type = kAuthPass;
    advert.auth = config_.auth_secret;
  }
  std::vector<IpAddress> destinations = config_.unicast_peers;
  if (destinations.empty()) destinations.push_back(VrrpMulticastGroup(source_.family()));
  for (const IpAddress& dst : destinations) {
    auto packet = source_.is_v4() ? EncodeIpv4Packet(advert, source_, dst, ++ip_id_)
                                  : Encode(advert, source_, dst);
    absl::Status st = packet.ok() ? channel_->Send(*packet, dst) : packet.status();
    if (!st.ok()) {
      ++counters_.send_errors;
      LOG_EVERY_N(WARNING, 100) << "vrrp " << config_.name << ": advert to " << dst.ToString()
                                << " not sent: " << st << " (logged every 100th)";
      continue;
    }
    ++counters_.adverts_sent;
    if (priority == kPriorityResign) ++counters_.priority_zero_sent;
  }
}

void Instance::HoldAddresses() {
  auto present = ListAddresses(static_cast<uint32_t>(ifindex_));
  if (!present.ok()) LOG(WARNING) << "vrrp " << config_.name << ": " << present.status();
  for (const auto& [address, prefix] : config_.addresses) {
    const int added = present.ok() ? VipPrefixLength(*present, address, prefix)
                                   : (address.is_v4() ? 32 : prefix);
    if (added != prefix)
      LOG(INFO) << "vrrp " << config_.name << ": adding " << address.ToString() << " as /" << added
                << " rather than /" << prefix << ": " << config_.interface
                << " has no address of its own in " << address.Masked(prefix).ToString() << "/"
                << prefix << ", and the VIP would become the source of the director's own "
                << "traffic there";
    if (auto st = AddAddress(ifindex_, address, added, address.is_v4() ? label_ : "");
        !st.ok()) {
      ++counters_.address_errors;
      LOG(ERROR) << "vrrp " << config_.name << ": " << st;
      continue;
    }
    held_[address] = added;
  }
  garp_timer_.cancel();
  AnnounceBurst(config_.garp.repeat);
}

void Instance::AnnounceBurst(int bursts_left) {
  if (auto st = Announce(config_.interface, Addresses(), config_.garp.count); !st.ok())
    LOG(WARNING) << "vrrp " << config_.name << ": announcing the addresses: " << st;
  if (bursts_left <= 0) return;
  garp_timer_.expires_after(config_.garp.interval);
  garp_timer_.async_wait([this, bursts_left](std::error_code ec) {
    if (ec || machine_.state() != State::kMaster) return;
    AnnounceBurst(bursts_left - 1);
  });
}

void Instance::ReleaseAddresses() {
  garp_timer_.cancel();
  // With the prefix each was added with (VipPrefixLength may have narrowed
  // it); an address never added is removed with its configured prefix, which
  // is harmless when it is not there.
  for (const auto& [address, prefix] : config_.addresses) {
    auto held = held_.find(address);
    const int added = held != held_.end() ? held->second : prefix;
    if (auto st = RemoveAddress(ifindex_, address, added); !st.ok()) {
      ++counters_.address_errors;
      LOG(ERROR) << "vrrp " << config_.name << ": " << st;
      continue;
    }
    if (held != held_.end()) held_.erase(held);
  }
}

InstanceStatus Instance::Status() const {
  InstanceStatus s;
  s.config = config_;
  s.state = machine_.state();
  s.reason = reason_;
  s.effective_priority = machine_.effective_priority();
  s.master = machine_.master_address();
  s.master_priority = machine_.master_priority();
  s.source = source_;
  s.master_adver_interval = machine_.master_adver_interval();
  s.since = since_;
  for (size_t i = 0; i < config_.track.size(); ++i)
    s.tracks.push_back({config_.track[i], i < tracking_.up.size() ? bool(tracking_.up[i]) : true});
  s.track_why = tracking_.why;
  const Counters& c = machine_.counters();
  s.transitions = c.became_master + c.became_backup + c.became_fault;
  s.counters = counters_;
  return s;
}

}  // namespace xlb::vrrp
