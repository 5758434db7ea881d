#include "decap/decap.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "dataplane/maps.h"
#include "dataplane/program.h"
#include "dataplane/xdp_query.h"
#include "decap/xlb_decap.skel.h"
#include "netlink/addresses.h"

namespace xlb::decap {
namespace {

// The pins in a pin directory: the program, then its maps.
constexpr const char* kPins[] = {"prog", "vips", "locals", "config", "counters"};

xlb_decap_addr Key(const model::IpAddress& a) {
  xlb_decap_addr k = {};
  k.family = a.is_v4() ? XLB_DECAP_FAMILY_V4 : XLB_DECAP_FAMILY_V6;
  a.CopyTo(k.addr);
  return k;
}

model::IpAddress FromKey(const xlb_decap_addr& k) {
  return model::IpAddress::FromWords(
      k.family == XLB_DECAP_FAMILY_V4 ? model::Family::kV4 : model::Family::kV6, k.addr);
}

absl::StatusOr<std::vector<model::IpAddress>> ReadSet(int fd, const char* what) {
  std::vector<model::IpAddress> out;
  xlb_decap_addr key, next;
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    out.push_back(FromKey(next));
    key = next;
    prev = &key;
    if (out.size() > XLB_DECAP_MAX_VIPS) break;  // bounded, whatever the map does
  }
  if (errno != ENOENT) return absl::ErrnoToStatus(errno, absl::StrCat("read the ", what));
  std::sort(out.begin(), out.end());
  return out;
}

// Makes map `fd` hold exactly `addresses`: adds first, then removes the rest.
absl::Status WriteSet(int fd, const char* what, const std::vector<model::IpAddress>& addresses) {
  const std::set<model::IpAddress> want(addresses.begin(), addresses.end());
  const uint32_t one = 1;
  for (const auto& a : addresses) {
    xlb_decap_addr k = Key(a);
    if (bpf_map_update_elem(fd, &k, &one, BPF_ANY) != 0)
      return absl::ErrnoToStatus(errno, absl::StrCat("add ", a.ToString(), " to the ", what));
  }
  auto have = ReadSet(fd, what);
  if (!have.ok()) return have.status();
  for (const auto& a : *have) {
    xlb_decap_addr k = Key(a);
    if (!want.count(a) && bpf_map_delete_elem(fd, &k) != 0 && errno != ENOENT)
      return absl::ErrnoToStatus(errno, absl::StrCat("remove ", a.ToString(), " from the ", what));
  }
  return absl::OkStatus();
}

absl::Status RemovePins(const std::string& pin_dir) {
  for (const char* name : kPins) {
    std::string path = absl::StrCat(pin_dir, "/", name);
    if (unlink(path.c_str()) != 0 && errno != ENOENT)
      return absl::ErrnoToStatus(errno, absl::StrCat("unpin ", path));
  }
  rmdir(pin_dir.c_str());  // only if empty: other files are not ours
  return absl::OkStatus();
}

// The interfaces program `id` is attached to (in this network namespace).
std::vector<Interface> AttachedInterfaces(uint32_t id) {
  std::vector<Interface> out;
  struct if_nameindex* all = if_nameindex();
  if (!all) return out;
  for (auto* i = all; i->if_index != 0; ++i) {
    auto a = dataplane::QueryAttached(i->if_index, i->if_name);
    if (a.ok() && a->id == id)
      out.push_back({i->if_name, a->mode_flag == XDP_FLAGS_SKB_MODE});
  }
  if_freenameindex(all);
  return out;
}

std::string Names(const std::vector<Interface>& interfaces) {
  return absl::StrJoin(interfaces, ", ",
                       [](std::string* out, const Interface& i) { out->append(i.name); });
}

// The addresses of `ifindex` that tunnelled packets can be sent to: IPv4,
// and IPv6 of global scope (not link-local).
absl::StatusOr<std::vector<model::IpAddress>> InterfaceAddresses(unsigned ifindex) {
  auto all = netlink::ListAddresses(ifindex);
  if (!all.ok()) return all.status();
  std::vector<model::IpAddress> out;
  for (const auto& a : *all)
    if (a.scope == RT_SCOPE_UNIVERSE) out.push_back(a.address);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Program>> Program::Load() {
  std::unique_ptr<Program> p(new Program());
  p->skel_ = xlb_decap_bpf__open_and_load();
  if (!p->skel_) return absl::ErrnoToStatus(errno, "load the xlb-decap BPF program");
  p->prog_fd_ = bpf_program__fd(p->skel_->progs.xlb_decap);
  p->vips_fd_ = bpf_map__fd(p->skel_->maps.vips);
  p->locals_fd_ = bpf_map__fd(p->skel_->maps.locals);
  p->config_fd_ = bpf_map__fd(p->skel_->maps.config);
  p->counters_fd_ = bpf_map__fd(p->skel_->maps.counters);
  return p;
}

absl::StatusOr<std::unique_ptr<Program>> Program::OpenPinned(const std::string& pin_dir) {
  std::unique_ptr<Program> p(new Program());
  p->own_fds_ = true;
  int* fds[] = {&p->prog_fd_, &p->vips_fd_, &p->locals_fd_, &p->config_fd_, &p->counters_fd_};
  for (size_t i = 0; i < std::size(kPins); ++i) {
    std::string path = absl::StrCat(pin_dir, "/", kPins[i]);
    *fds[i] = bpf_obj_get(path.c_str());
    if (*fds[i] < 0) {
      if (errno == ENOENT)
        return absl::NotFoundError(absl::StrCat("nothing pinned at ", path));
      return absl::ErrnoToStatus(errno, absl::StrCat("open pinned ", path));
    }
  }
  return p;
}

Program::~Program() {
  if (own_fds_) {
    for (int fd : {prog_fd_, vips_fd_, locals_fd_, config_fd_, counters_fd_})
      if (fd >= 0) close(fd);
  }
  if (skel_) xlb_decap_bpf__destroy(skel_);
}

uint32_t Program::prog_id() const {
  bpf_prog_info info = {};
  uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(prog_fd_, &info, &len) != 0) return 0;
  return info.id;
}

absl::Status Program::Configure(const Config& config) {
  // The port first: a VIP added before it would be decapsulated from the
  // old port for a moment.
  xlb_decap_config c = {};
  c.gue_port = htons(config.gue_port);
  const uint32_t zero = 0;
  if (bpf_map_update_elem(config_fd_, &zero, &c, BPF_ANY) != 0)
    return absl::ErrnoToStatus(errno, "write the GUE port");
  if (auto st = WriteSet(locals_fd_, "local addresses", config.locals); !st.ok()) return st;
  return WriteSet(vips_fd_, "VIPs", config.vips);
}

absl::StatusOr<Config> Program::ReadConfig() const {
  Config out;
  auto vips = ReadSet(vips_fd_, "VIPs");
  if (!vips.ok()) return vips.status();
  auto locals = ReadSet(locals_fd_, "local addresses");
  if (!locals.ok()) return locals.status();
  out.vips = *vips;
  out.locals = *locals;
  xlb_decap_config c = {};
  const uint32_t zero = 0;
  if (bpf_map_lookup_elem(config_fd_, &zero, &c) != 0)
    return absl::ErrnoToStatus(errno, "read the GUE port");
  out.gue_port = ntohs(c.gue_port);
  return out;
}

absl::StatusOr<Counters> Program::ReadCounters() const {
  Counters out{};
  std::vector<uint64_t> per_cpu(dataplane::PossibleCpus());
  for (uint32_t i = 0; i < XLB_DECAP_COUNTERS; ++i) {
    if (bpf_map_lookup_elem(counters_fd_, &i, per_cpu.data()) != 0)
      return absl::ErrnoToStatus(errno, absl::StrCat("read counter ", kCounterNames[i]));
    for (uint64_t v : per_cpu) out[i] += v;
  }
  return out;
}

absl::Status Program::Pin(const std::string& pin_dir) const {
  const int fds[] = {prog_fd_, vips_fd_, locals_fd_, config_fd_, counters_fd_};
  for (size_t i = 0; i < std::size(kPins); ++i) {
    std::string path = absl::StrCat(pin_dir, "/", kPins[i]);
    if (bpf_obj_pin(fds[i], path.c_str()) != 0) {
      auto st = absl::ErrnoToStatus(errno, absl::StrCat("pin ", path));
      RemovePins(pin_dir).IgnoreError();
      return st;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Attach(const AttachOptions& options) {
  const std::string& ifname = options.ifname;
  if (options.config.vips.empty())
    return absl::InvalidArgumentError("no VIP: give at least one --vip ADDR");
  // Checked before any map is written: a full map halfway would leave a
  // configuration that is neither the old nor the new one.
  if (options.config.vips.size() > XLB_DECAP_MAX_VIPS)
    return absl::InvalidArgumentError(absl::StrCat(options.config.vips.size(),
                                                   " VIPs: at most ", XLB_DECAP_MAX_VIPS));
  if (options.config.locals.size() > XLB_DECAP_MAX_LOCALS)
    return absl::InvalidArgumentError(absl::StrCat(
        options.config.locals.size(), " --local addresses: at most ", XLB_DECAP_MAX_LOCALS));
  auto ifindex = dataplane::IfIndex(ifname);
  if (!ifindex.ok()) return ifindex.status();
  auto current = dataplane::QueryAttached(*ifindex, ifname);
  if (!current.ok()) return current.status();
  if (current->id != 0 && dataplane::ProgName(current->id) != kProgName)
    return absl::FailedPreconditionError(absl::StrCat(
        ifname, " already has XDP program ", current->id, " (",
        dataplane::ProgName(current->id), ") attached; xlb-decap does not replace another "
        "program (remove it first, e.g. ip link set dev ", ifname, " xdp off)"));

  Config config = options.config;
  if (config.locals.empty()) {
    auto own = InterfaceAddresses(*ifindex);
    if (!own.ok()) return own.status();
    if (own->empty())
      return absl::FailedPreconditionError(absl::StrCat(
          ifname, " has no address for tunnelled packets to arrive at; give --local ADDR"));
    if (own->size() > XLB_DECAP_MAX_LOCALS)
      return absl::FailedPreconditionError(absl::StrCat(
          ifname, " has ", own->size(), " addresses, more than the ", XLB_DECAP_MAX_LOCALS,
          " xlb-decap takes; give the ones tunnels end at with --local ADDR"));
    config.locals = *own;
  }
  std::string addresses = absl::StrCat(
      "VIPs ", absl::StrJoin(config.vips, " ", [](std::string* o, const model::IpAddress& a) {
        o->append(a.ToString());
      }),
      "; outer destinations ",
      absl::StrJoin(config.locals, " ", [](std::string* o, const model::IpAddress& a) {
        o->append(a.ToString());
      }),
      "; GUE port ", config.gue_port);

  auto pinned = Program::OpenPinned(options.pin_dir);
  if (!pinned.ok() && !absl::IsNotFound(pinned.status())) return pinned.status();
  if (pinned.ok()) {
    const uint32_t id = (*pinned)->prog_id();
    auto where = AttachedInterfaces(id);
    if (current->id == id) {
      const bool generic = current->mode_flag == XDP_FLAGS_SKB_MODE;
      if ((options.mode == Mode::kNative && generic) || (options.mode == Mode::kGeneric && !generic))
        return absl::FailedPreconditionError(absl::StrCat(
            "xlb-decap is attached to ", ifname, " in ", dataplane::ModeName(current->mode_flag),
            " XDP mode; detach it first to change the mode"));
      if (auto st = (*pinned)->Configure(config); !st.ok()) return st;
      return absl::StrCat("xlb-decap on ", ifname, " updated: ", addresses);
    }
    if (!where.empty())
      return absl::FailedPreconditionError(absl::StrCat(
          "the xlb-decap pinned in ", options.pin_dir, " is attached to ", Names(where),
          " already; one interface per pin directory: detach it there, or give another "
          "--pin-dir"));
  }
  if (current->id != 0)
    return absl::FailedPreconditionError(absl::StrCat(
        ifname, " already has another xlb-decap (program ", current->id,
        ") attached, not the one pinned in ", options.pin_dir,
        "; detach it with its own --pin-dir"));
  if (pinned.ok()) {
    // Pins of a program attached nowhere (its interface went away): stale.
    pinned->reset();
    if (auto st = RemovePins(options.pin_dir); !st.ok()) return st;
  }

  auto prog = Program::Load();
  if (!prog.ok()) return prog.status();
  if (auto st = (*prog)->Configure(config); !st.ok()) return st;
  if (auto st = dataplane::EnsureBpffsDir(options.pin_dir); !st.ok()) return st;
  if (auto st = (*prog)->Pin(options.pin_dir); !st.ok()) return st;
  auto attach = [&](uint32_t mode_flag) {
    LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
    return bpf_xdp_attach(*ifindex, (*prog)->prog_fd(), mode_flag | XDP_FLAGS_UPDATE_IF_NOEXIST,
                          &opts);
  };
  uint32_t mode_flag = options.mode == Mode::kGeneric ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
  int err = attach(mode_flag);
  std::string note;
  if (err != 0 && options.mode == Mode::kNativeOrGeneric) {
    note = absl::StrCat(" (native mode failed: ", strerror(-err), "; generic is slower)");
    mode_flag = XDP_FLAGS_SKB_MODE;
    err = attach(mode_flag);
  }
  if (err != 0) {
    RemovePins(options.pin_dir).IgnoreError();
    return absl::ErrnoToStatus(-err, absl::StrCat("attach xlb-decap to ", ifname, " (",
                                                  dataplane::ModeName(mode_flag), " mode)"));
  }
  return absl::StrCat("xlb-decap attached to ", ifname, " in ", dataplane::ModeName(mode_flag),
                      " mode", note, ": ", addresses);
}

absl::Status Detach(const std::string& ifname, const std::string& pin_dir) {
  auto ifindex = dataplane::IfIndex(ifname);
  if (!ifindex.ok()) return ifindex.status();
  auto current = dataplane::QueryAttached(*ifindex, ifname);
  if (!current.ok()) return current.status();
  if (current->id == 0)
    return absl::NotFoundError(absl::StrCat("xlb-decap is not attached to ", ifname,
                                            " (it has no XDP program)"));
  const std::string name = dataplane::ProgName(current->id);
  if (name != kProgName)
    return absl::FailedPreconditionError(absl::StrCat(
        ifname, " has XDP program ", current->id, " (", name, "), not xlb-decap's; left as is"));
  auto pinned = Program::OpenPinned(pin_dir);
  if (!pinned.ok() && !absl::IsNotFound(pinned.status())) return pinned.status();
  if (pinned.ok() && (*pinned)->prog_id() != current->id)
    return absl::FailedPreconditionError(absl::StrCat(
        "the xlb-decap on ", ifname, " (program ", current->id, ") is not the one pinned in ",
        pin_dir, "; give its --pin-dir"));
  if (auto st = dataplane::DetachAttached(*ifindex, ifname, *current); !st.ok()) return st;
  if (pinned.ok() && AttachedInterfaces((*pinned)->prog_id()).empty()) {
    pinned->reset();
    return RemovePins(pin_dir);
  }
  return absl::OkStatus();
}

absl::StatusOr<Status> ReadStatus(const std::string& pin_dir) {
  Status out;
  auto pinned = Program::OpenPinned(pin_dir);
  if (absl::IsNotFound(pinned.status())) return out;
  if (!pinned.ok()) return pinned.status();
  out.pinned = true;
  out.interfaces = AttachedInterfaces((*pinned)->prog_id());
  auto config = (*pinned)->ReadConfig();
  if (!config.ok()) return config.status();
  out.config = *config;
  auto counters = (*pinned)->ReadCounters();
  if (!counters.ok()) return counters.status();
  out.counters = *counters;
  return out;
}

}  // namespace xlb::decap
