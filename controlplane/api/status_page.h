// What the metrics listener serves, read-only: GET /metrics (Prometheus
// text, metrics.h), GET / (the status page: services, reals, VRRP
// instances, BGP sessions and VIPs, the data plane's counters; for a
// browser or a phone) and GET /status.json (the page's document, contract.h's StatusPageInfo).
// HEAD as GET; any other method 405, any other path 404.
//
// The page is rendered here, complete, from the document (so it reads
// without JavaScript, reloading itself every 2 s); its script then fetches
// /status.json every second and writes each value into the element bound
// to its JSON pointer (data-p), computes rates from two successive samples
// (data-rate, divided by sample_ms's difference), and reloads the page when
// the set of services, reals or instances changed (data-count, data-fixed). Inline CSS and script
// only (a Content-Security-Policy with a nonce per answer allows nothing
// else), every value HTML-escaped here and written as text by the script.
#ifndef XLB_CONTROLPLANE_API_STATUS_PAGE_H_
#define XLB_CONTROLPLANE_API_STATUS_PAGE_H_

#include <string>

#include "controlplane/api/contract.h"
#include "controlplane/api/http.h"
#include "controlplane/api/operations.h"

namespace xlb::api {

HttpResponse ServeMetricsListener(Operations& ops, const HttpRequest& request);

// The page for `doc` (a StatusPageInfo's JSON); `nonce` is the script's
// and the style's, as the answer's Content-Security-Policy names it.
std::string RenderStatusPage(const json& doc, const std::string& nonce);

}  // namespace xlb::api

#endif  // XLB_CONTROLPLANE_API_STATUS_PAGE_H_
