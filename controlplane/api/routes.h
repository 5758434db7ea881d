// The HTTP/JSON API: routes requests to Operations and renders their
// results. Every error is {"error": "..."} with a status that says what
// kind (400 bad input, 404 no such service or real, 409 already exists or
// not possible now, 500 the daemon failed).
//
//   GET  /v1/status                 GET  /v1/services
//   GET  /v1/conns[?service=S&limit=N]
//   POST /v1/service/add   {"service": "VIP:PORT/proto", "name", "forward", "scheduler",
//                           "persistence": SECONDS, "netmask": N, "table_size": N}
//   POST /v1/service/del   {"service"}
//   POST /v1/real/add      {"service", "real": "ADDR[:PORT]", "weight": N}
//   POST /v1/real/set      {"service", "real", "weight": N} or {"service", "real", "drain": true}
//   POST /v1/real/del      {"service", "real"}
//   POST /v1/config/save   {"path": optional}
//   POST /v1/config/reload
#ifndef XLB_CONTROLPLANE_API_ROUTES_H_
#define XLB_CONTROLPLANE_API_ROUTES_H_

#include "controlplane/api/http.h"
#include "controlplane/api/operations.h"

namespace xlb::api {

HttpResponse Route(Operations& ops, const HttpRequest& request);

// The HTTP status for an error status.
int HttpStatusOf(const absl::Status& status);

}  // namespace xlb::api

#endif  // XLB_CONTROLPLANE_API_ROUTES_H_
