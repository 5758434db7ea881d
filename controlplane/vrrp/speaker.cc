#include "controlplane/vrrp/speaker.h"

#include <linux/rtnetlink.h>
#include <net/if.h>

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "asio/steady_timer.hpp"
#include "controlplane/health/checker.h"
#include "controlplane/vrrp/addresses.h"
#include "glog/logging.h"

namespace xlb::vrrp {

using model::Family;
using model::IpAddress;

namespace {

// Notify scripts get this long before they are killed, so a hung one does
// not pile up behind every later state change.
constexpr auto kNotifyTimeout = std::chrono::seconds(30);

std::string Where(const config::VrrpInstance& v) { return absl::StrCat("vrrp ", v.name); }

Family FamilyOf(const config::VrrpInstance& v) { return v.addresses.front().first.family(); }

// The source of an instance's adverts (see speaker.h).
absl::StatusOr<IpAddress> SourceAddress(const config::VrrpInstance& v, int ifindex,
                                        const std::set<IpAddress>& vips) {
  if (v.unicast_source) return *v.unicast_source;
  auto addresses = ListAddresses(ifindex);
  if (!addresses.ok())
    return absl::Status(addresses.status().code(),
                        absl::StrCat(Where(v), ": ", addresses.status().message()));
  const Family family = FamilyOf(v);
  for (const InterfaceAddress& a : *addresses) {
    if (a.address.family() != family) continue;
    if (family == Family::kV4 && a.scope == RT_SCOPE_UNIVERSE && !vips.contains(a.address) &&
        !IsVipLabel(v.interface, a.label))
      return a.address;
    if (family == Family::kV6 && a.scope == RT_SCOPE_LINK) return a.address;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      Where(v), ": interface ", v.interface, " has no ",
      family == Family::kV4 ? "IPv4 address (other than the VIPs)" : "IPv6 link-local address",
      " to send adverts from; add one, or set unicast.source"));
}

}  // namespace

struct Speaker::Slot {
  explicit Slot(asio::io_context& io) : retry(io) {}
  std::unique_ptr<Channel> channel;
  bool multicast = false;
  std::optional<IpAddress> source;  // IPv6: the channel's source
  std::vector<Instance*> instances;
  bool receiving = false;
  asio::steady_timer retry;  // after a receive error
};

Speaker::Speaker(asio::io_context& io) : io_(io) {}

Speaker::~Speaker() { Shutdown(); }

// Step 1 of Configure: what every instance needs (its interface, its
// source address, its channel's settings), checked before anything changes.
absl::Status Speaker::PlanInstances(const std::vector<config::VrrpInstance>& wanted,
                                    std::vector<InstancePlan>* plans,
                                    std::map<SlotKey, SlotWant>* wants) {
  std::map<std::string, std::set<IpAddress>> vips_by_interface;
  for (const auto& v : wanted)
    for (const auto& [address, prefix] : v.addresses) vips_by_interface[v.interface].insert(address);
  for (const auto& v : wanted) {
    const int ifindex = static_cast<int>(if_nametoindex(v.interface.c_str()));
    if (ifindex == 0)
      return absl::NotFoundError(
          absl::StrCat(Where(v), ": interface ", v.interface, " does not exist"));
    auto source = SourceAddress(v, ifindex, vips_by_interface[v.interface]);
    if (!source.ok()) return source.status();
    SlotKey key{v.interface, FamilyOf(v)};
    SlotWant& want = (*wants)[key];
    want.multicast |= v.unicast_peers.empty();
    if (key.second == Family::kV6) {
      if (want.source && *want.source != *source)
        return absl::InvalidArgumentError(absl::StrCat(
            Where(v), ": sends IPv6 adverts on ", v.interface, " from ", source->ToString(),
            " but ", want.first, " from ", want.source->ToString(),
            " (expected one IPv6 source per interface)"));
      want.source = *source;
      want.first = v.name;
    }
    plans->push_back({&v, ifindex, *source, key});
  }
  return absl::OkStatus();
}

absl::Status Speaker::Check(const std::vector<config::VrrpInstance>& wanted) {
  std::vector<InstancePlan> plans;
  std::map<SlotKey, SlotWant> wants;
  return PlanInstances(wanted, &plans, &wants);
}

absl::Status Speaker::Configure(const std::vector<config::VrrpInstance>& wanted) {
  // 1. Everything that can fail, before anything changes.
  std::vector<InstancePlan> plans;
  std::map<SlotKey, SlotWant> wants;
  if (auto st = PlanInstances(wanted, &plans, &wants); !st.ok()) return st;
  std::map<SlotKey, std::shared_ptr<Slot>> slots;
  for (const auto& [key, want] : wants) {
    auto old = slots_.find(key);
    if (old != slots_.end() && old->second->multicast == want.multicast &&
        old->second->source == want.source) {
      slots[key] = old->second;
      continue;
    }
    ChannelOptions options;
    options.ifname = key.first;
    options.family = key.second;
    options.source = want.source;
    options.join_multicast = want.multicast;
    auto channel = Channel::Open(io_, options);
    if (!channel.ok()) return channel.status();
    auto slot = std::make_shared<Slot>(io_);
    slot->channel = std::move(*channel);
    slot->multicast = want.multicast;
    slot->source = want.source;
    slots[key] = slot;
  }
  if (!links_) {
    auto links = LinkWatcher::Open(io_, [this] { UpdateTracking(); });
    if (!links.ok()) return links.status();
    links_ = std::move(*links);
  }
  if (!scripts_) {
    scripts_ = std::make_unique<health::Monitor>(
        io_, [this](const std::string& id, bool up, const std::string& detail) {
          objects_.scripts[id] = up;
          LOG(INFO) << "vrrp track script " << id << (up ? " is up: " : " is down: ") << detail;
          UpdateTracking();
        });
  }

  // 2. Stop what goes or changes: it still has its old channel to resign on.
  std::vector<std::unique_ptr<Instance>> keep;
  for (auto& instance : instances_) {
    auto plan = std::find_if(plans.begin(), plans.end(), [&](const InstancePlan& p) {
      return p.config->name == instance->config().name;
    });
    const bool same = plan != plans.end() && AppliesInPlace(instance->config(), *plan->config) &&
                      plan->source == instance->source() &&
                      slots_.contains(plan->key) && slots[plan->key] == slots_[plan->key];
    if (same) {
      keep.push_back(std::move(instance));
      continue;
    }
    LOG(INFO) << Where(instance->config())
              << (plan == plans.end() ? ": removed" : ": configuration changed, restarting");
    instance->Shutdown();
  }
  instances_.clear();
  if (!configured_once_) RemoveStaleAddresses();
  configured_once_ = true;

  // 3. The new set, in the config's order.
  slots_ = std::move(slots);
  for (auto& [key, slot] : slots_) slot->instances.clear();
  std::vector<Instance*> started;
  for (const InstancePlan& p : plans) {
    auto kept = std::find_if(keep.begin(), keep.end(), [&](const auto& i) {
      return i && i->config().name == p.config->name;
    });
    std::unique_ptr<Instance> instance;
    if (kept != keep.end()) {
      instance = std::move(*kept);
      instance->Update(*p.config);  // priority, preempt, tracks, notify, garp
    } else {
      instance = std::make_unique<Instance>(
          io_, *p.config, slots_[p.key]->channel.get(), p.ifindex, p.source,
          [this](const Instance& i, const StateChanged& c) { OnStateChange(i, c); });
      started.push_back(instance.get());
    }
    slots_[p.key]->instances.push_back(instance.get());
    instances_.push_back(std::move(instance));
  }
  std::set<std::string> script_ids;
  for (const auto& v : wanted) {
    for (size_t i = 0; i < v.track.size(); ++i) {
      const config::VrrpTrack& t = v.track[i];
      if (t.kind != config::VrrpTrack::kExec) continue;
      config::HealthCheck check;
      check.type = config::HealthType::kExec;
      check.command = t.target;
      check.interval = t.interval;
      check.timeout = t.interval;
      check.rise = t.rise;
      check.fall = t.fall;
      const std::string id = ExecTrackId(v.name, i);
      script_ids.insert(id);
      scripts_->Set(id, check, IpAddress(), 0);
    }
  }
  for (const auto& id : scripts_->Ids())
    if (!script_ids.contains(id)) scripts_->Remove(id);
  std::erase_if(objects_.scripts, [&](const auto& e) { return !script_ids.contains(e.first); });
  UpdateTracking();  // before Start: an instance with a failed track starts in Fault
  for (Instance* i : started) i->Start();
  for (auto& [key, slot] : slots_) {
    if (slot->receiving) continue;  // one receive outstanding per channel
    slot->receiving = true;
    Receive(slot);
  }
  return absl::OkStatus();
}

void Speaker::Receive(const std::shared_ptr<Slot>& slot) {
  std::weak_ptr<Slot> weak = slot;
  slot->channel->AsyncReceive([this, weak](absl::StatusOr<Received> packet) {
    std::shared_ptr<Slot> s = weak.lock();
    if (!s) return;
    if (!packet.ok()) {
      if (absl::IsCancelled(packet.status())) return;
      LOG_EVERY_N(WARNING, 100) << "vrrp: receive: " << packet.status() << " (logged every 100th)";
      // An error that repeats must not spin the loop: try again shortly.
      s->retry.expires_after(std::chrono::milliseconds(100));
      s->retry.async_wait([this, weak](std::error_code ec) {
        if (auto again = weak.lock(); again && !ec) Receive(again);
      });
      return;
    }
    Dispatch(*s, *packet);
    Receive(s);
  });
}

void Speaker::Dispatch(Slot& slot, const Received& packet) {
  const bool v4 = slot.channel->family() == Family::kV4;
  DecodeResult r;
  if (packet.truncated)
    r.error = DecodeError::kTooLong;  // counted below, like any malformed advert
  else
    r = v4 ? DecodeIpv4Packet(packet.data) : DecodeIpv6Payload(packet.data, packet.ip);
  // The VRID byte, when the packet is long enough to have one, tells whose
  // error a malformed advert is.
  const std::optional<uint8_t> vrid = r.ok() ? r.advert->vrid : FindVrid(packet.data, v4);
  Instance* owner = nullptr;
  for (Instance* i : slot.instances)
    if (vrid && i->config().vrid == *vrid) owner = i;
  if (!owner) {
    const DecodeError e = r.ok() ? DecodeError::kWrongVrid : r.error;
    for (Instance* i : slot.instances) i->CountDrop(e);
    return;
  }
  if (!r.ok()) {
    owner->CountDrop(r.error);
    return;
  }
  owner->Receive(*r.advert, r.ip);
}

void Speaker::SetServices(std::map<std::string, bool> services) {
  if (services == objects_.services) return;
  objects_.services = std::move(services);
  UpdateTracking();
}

void Speaker::SetMainLoopStalled(bool stalled) {
  if (stalled == objects_.main_loop_stalled) return;
  objects_.main_loop_stalled = stalled;
  UpdateTracking();
}

void Speaker::UpdateTracking() {
  std::set<std::string> interfaces;
  for (const auto& i : instances_) {
    interfaces.insert(i->config().interface);
    for (const auto& t : i->config().track)
      if (t.kind == config::VrrpTrack::kInterface) interfaces.insert(t.target);
  }
  objects_.links.clear();
  for (const auto& name : interfaces) objects_.links[name] = LinkUp(name);
  for (const auto& i : instances_) i->SetTracking(EvaluateTracks(i->config(), objects_));
}

void Speaker::OnStateChange(const Instance& instance, const StateChanged& change) {
  const config::VrrpInstance& v = instance.config();
  std::vector<std::string> vips;
  for (const auto& [address, prefix] : v.addresses)
    vips.push_back(absl::StrCat(address.ToString(), "/", prefix));
  LOG(INFO) << Where(v) << ": " << StateName(change.from) << " -> " << StateName(change.to) << " ("
            << ReasonName(change.reason) << "), priority " << int{instance.effective_priority()}
            << ", vrid " << int{v.vrid} << " on " << v.interface << ", "
            << (change.to == State::kMaster ? "holding " : "not holding ")
            << absl::StrJoin(vips, " ");
  const std::vector<std::string> commands =
      NotifyCommands(v, change.to, instance.effective_priority());
  if (commands.empty()) return;
  const std::string name = v.name;
  // One at a time per instance, in order: a script must never see BACKUP
  // after MASTER when the instance went BACKUP -> MASTER.
  auto& queue = notify_queues_[name];
  if (queue == nullptr)
    queue = health::ScriptQueue::Create(
        io_, std::chrono::duration_cast<health::Duration>(kNotifyTimeout));
  for (const std::string& command : commands) {
    ++*notifies_unfinished_;
    queue->Push(command, instance.source(),
                [name, unfinished = notifies_unfinished_](const std::string& command,
                                                          const health::ProbeResult& r) {
                  --*unfinished;
                  if (!r.ok)
                    LOG(WARNING) << "vrrp " << name << ": notify " << command << ": " << r.detail;
                });
  }
}

void Speaker::RemoveStaleAddresses() {
  // On every interface: the instance that added one may be gone from the
  // configuration, with its interface.
  auto addresses = ListAddresses(0);
  if (!addresses.ok()) {
    LOG(ERROR) << addresses.status();
    return;
  }
  for (const InterfaceAddress& a : *addresses) {
    char name[IF_NAMESIZE] = {};
    if (if_indextoname(a.ifindex, name) == nullptr) continue;
    // The protocol marks ours; the label alone those of an xlbd from before it.
    if (a.protocol != kVipAddressProtocol && !IsVipLabel(name, a.label)) continue;
    LOG(INFO) << "vrrp: removing " << a.address.ToString() << "/" << a.prefix_len << " left on "
              << name << " by an earlier run";
    if (auto st = RemoveAddress(a.ifindex, a.address, a.prefix_len); !st.ok()) LOG(ERROR) << st;
  }
}

void Speaker::Shutdown() {
  for (auto& i : instances_) i->Shutdown();
  instances_.clear();
  scripts_.reset();
  links_.reset();
  slots_.clear();
}

std::vector<InstanceStatus> Speaker::Status() const {
  std::vector<InstanceStatus> out;
  for (const auto& i : instances_) out.push_back(i->Status());
  return out;
}

}  // namespace xlb::vrrp
