#include "controlplane/api/metrics.h"

#include "absl/strings/str_cat.h"

namespace xlb::api {
namespace {

struct Family {
  const char* name;
  const char* type;
  const char* help;
  std::string samples;
};

void Add(Family& f, const std::string& labels, uint64_t value) {
  if (labels.empty()) absl::StrAppend(&f.samples, f.name, " ", value, "\n");
  else absl::StrAppend(&f.samples, f.name, "{", labels, "} ", value, "\n");
}

std::string ServiceLabels(const ServiceView& s) {
  const auto& k = s.config.service.key;
  return absl::StrCat("vip=\"", k.vip.ToString(), "\",port=\"", k.port, "\",protocol=\"",
                      dataplane::ProtocolName(k.protocol), "\"");
}

}  // namespace

std::string RenderMetrics(const StatusView& status, const std::vector<ServiceView>& services) {
  Family svc_packets{"xlb_service_packets_total", "counter", "Packets forwarded for the service.", ""};
  Family svc_bytes{"xlb_service_bytes_total", "counter", "Bytes forwarded for the service.", ""};
  Family svc_conns{"xlb_service_new_connections_total", "counter",
                   "New connections (flows) of the service.", ""};
  Family real_packets{"xlb_real_packets_total", "counter", "Packets forwarded to the real.", ""};
  Family real_bytes{"xlb_real_bytes_total", "counter", "Bytes forwarded to the real.", ""};
  Family real_conns{"xlb_real_new_connections_total", "counter",
                    "New connections (flows) sent to the real.", ""};
  Family real_up{"xlb_real_health", "gauge", "1 while the real passes its health check (or has none).", ""};
  Family real_weight{"xlb_real_weight", "gauge", "The weight the data plane uses (0 while down or drained).", ""};
  Family real_cfg{"xlb_real_configured_weight", "gauge", "The weight configured for the real.", ""};
  for (const auto& s : services) {
    const std::string sl = ServiceLabels(s);
    Add(svc_packets, sl, s.counters.packets);
    Add(svc_bytes, sl, s.counters.bytes);
    Add(svc_conns, sl, s.counters.new_flows);
    for (const auto& r : s.reals) {
      const std::string rl =
          absl::StrCat(sl, ",real=\"", r.spec.address.ToString(), "\",real_port=\"", r.port, "\"");
      Add(real_packets, rl, r.counters.packets);
      Add(real_bytes, rl, r.counters.bytes);
      Add(real_conns, rl, r.counters.new_flows);
      Add(real_up, rl, r.health != "down");
      Add(real_weight, rl, r.effective_weight);
      Add(real_cfg, rl, r.spec.weight);
    }
  }
  Family global{"xlb_packets_total", "counter",
                "Packets the XDP program saw, by what it did with them.", ""};
  for (int i = 0; i < XLB_STAT__COUNT; ++i)
    Add(global, absl::StrCat("reason=\"", dataplane::GlobalStatName(i), "\""), status.counters[i]);
  Family conns{"xlb_conn_table_entries", "gauge", "Entries in the connection table.", ""};
  Add(conns, "", status.conn_table_entries);

  std::string out;
  for (const Family* f : {&svc_packets, &svc_bytes, &svc_conns, &real_packets, &real_bytes,
                          &real_conns, &real_up, &real_weight, &real_cfg, &global, &conns})
    absl::StrAppend(&out, "# HELP ", f->name, " ", f->help, "\n# TYPE ", f->name, " ", f->type,
                    "\n", f->samples);
  return out;
}

}  // namespace xlb::api
