// What an xlbd configuration says, once read and validated: an immutable
// value the rest of the daemon works from. The YAML file (config/*.yaml at
// the top of the repo shows examples) is read by config/parse.h.
#ifndef XLB_CONTROLPLANE_CONFIG_MODEL_H_
#define XLB_CONTROLPLANE_CONFIG_MODEL_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "dataplane/service.h"

namespace xlb::config {

using Duration = std::chrono::milliseconds;

enum class HealthType { kNone, kTcp, kHttp, kExec };

inline const char* HealthTypeName(HealthType t) {
  switch (t) {
    case HealthType::kTcp: return "tcp";
    case HealthType::kHttp: return "http";
    case HealthType::kExec: return "exec";
    case HealthType::kNone: break;
  }
  return "none";
}

struct HealthCheck {
  HealthType type = HealthType::kNone;
  uint16_t port = 0;              // 0: the real's port
  std::string path = "/";         // http: the path to GET
  std::vector<int> expect = {200};  // http: status codes that mean "up"
  std::string body;               // http: a substring the body must hold ("" = any)
  std::string command;            // exec: run with /bin/sh -c; exit 0 = up
  Duration interval = Duration(1000);
  Duration timeout = Duration(500);
  int rise = 2;                   // successes in a row that bring a real up
  int fall = 2;                   // failures in a row that take it down

  bool operator==(const HealthCheck&) const = default;
};

struct ServiceConfig {
  std::string name;                         // unique; used by track and in logs
  dataplane::Service service;               // key and data-plane options
  std::vector<dataplane::RealSpec> reals;   // configured weights
  HealthCheck health;

  bool operator==(const ServiceConfig&) const = default;
};

struct ApiConfig {
  std::string socket = "/run/xlb/xlbd.sock";  // HTTP/JSON API, mode 0600
  std::string group;                          // if set: this group may use it too (0660)
  std::string metrics = "127.0.0.1:9470";     // Prometheus text; "" = off

  bool operator==(const ApiConfig&) const = default;
};

struct Config {
  std::vector<std::string> interfaces;  // where the XDP program runs
  ApiConfig api;
  std::vector<ServiceConfig> services;

  bool operator==(const Config&) const = default;
};

}  // namespace xlb::config

#endif  // XLB_CONTROLPLANE_CONFIG_MODEL_H_
