// The HTTP/JSON API: serves each route of the contract's table
// (contract.h: the paths, requests and answers) from Operations. Every
// error is {"error": "..."} with a status that says what kind (400 bad
// input, 404 no such service or real, 409 already exists or not possible
// now, 500 the daemon failed).
#ifndef XLB_CONTROLPLANE_API_ROUTES_H_
#define XLB_CONTROLPLANE_API_ROUTES_H_

#include "controlplane/api/http.h"
#include "controlplane/api/operations.h"

namespace xlb::api {

HttpResponse Route(Operations& ops, const HttpRequest& request);

// The status page's document: what /v1/status, /v1/services, /v1/vrrp and
// /v1/bgp answer, read now (its host and sample_ms are left to the caller).
StatusPageInfo StatusPageOf(Operations& ops);

// The HTTP status for an error status.
int HttpStatusOf(const absl::Status& status);

}  // namespace xlb::api

#endif  // XLB_CONTROLPLANE_API_ROUTES_H_
