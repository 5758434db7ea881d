#include "controlplane/bgp/status.h"

#include <algorithm>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace xlb::bgp {
namespace {

using nlohmann::json;

template <typename T>
T Get(const json& object, const char* key, T fallback) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  return it->get<T>();
}

}  // namespace

absl::StatusOr<std::vector<Session>> ParseSessions(const std::string& summary_json,
                                                   const std::string& bfd_json) {
  std::map<std::string, Session> sessions;
  try {
    const json summary = json::parse(summary_json);
    if (!summary.is_object()) {
      return absl::InvalidArgumentError("show bgp summary json: not an object");
    }
    // No `router bgp`: bgpd answers {} (no family).
    for (const char* family : {"ipv4Unicast", "ipv6Unicast"}) {
      auto f = summary.find(family);
      if (f == summary.end()) continue;
      auto peers = f->find("peers");
      if (peers == f->end()) continue;
      if (!peers->is_object()) {
        return absl::InvalidArgumentError(
            absl::StrCat("show bgp summary json: ", family, ".peers is not an object"));
      }
      for (const auto& [address, p] : peers->items()) {
        Session& s = sessions[address];
        s.neighbor = address;
        s.remote_as = Get<uint32_t>(p, "remoteAs", 0);
        s.state = Get<std::string>(p, "state", "");
        s.uptime_ms = Get<int64_t>(p, "peerUptimeMsec", 0);
        s.prefixes_sent += Get<uint64_t>(p, "pfxSnt", 0);
        s.prefixes_received += Get<uint64_t>(p, "pfxRcd", 0);
        // Per peer, repeated in each family (absent in some): the largest.
        s.connections_dropped =
            std::max(s.connections_dropped, Get<uint64_t>(p, "connectionsDropped", 0));
        s.description = Get<std::string>(p, "desc", "");
      }
    }
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("show bgp summary json: ", e.what()));
  }
  if (!bfd_json.empty()) {
    try {
      const json bfd = json::parse(bfd_json);
      if (!bfd.is_array()) return absl::InvalidArgumentError("show bfd peers json: not an array");
      for (const json& peer : bfd) {
        auto it = sessions.find(Get<std::string>(peer, "peer", ""));
        if (it != sessions.end()) it->second.bfd = Get<std::string>(peer, "status", "");
      }
    } catch (const json::exception& e) {
      return absl::InvalidArgumentError(absl::StrCat("show bfd peers json: ", e.what()));
    }
  }
  std::vector<Session> out;
  for (auto& [address, s] : sessions) out.push_back(std::move(s));
  return out;
}

}  // namespace xlb::bgp
