#include "controlplane/api/status_page.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "controlplane/api/metrics.h"
#include "controlplane/api/routes.h"

namespace xlb::api {
namespace {

// A real's active and inactive connection counts (ipvsadm's ActiveConn and
// InActConn), by their key in RealInfo's JSON, and their column. PLUG-IN:
// the one place that names them; while the API's answer has no such key,
// their cells stay empty.
constexpr std::array<std::pair<absl::string_view, absl::string_view>, 2> kRealConnKeys{
    {{"active_connections", "Active"}, {"inactive_connections", "Inactive"}}};

// Seconds between reloads without JavaScript; milliseconds between the
// script's fetches.
constexpr int kReloadSeconds = 2;
constexpr int kFetchMs = 1000;

std::string Escape(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// A value as the page shows it; the script's text() writes the same.
std::string Text(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out;
    for (const auto& e : v) absl::StrAppend(&out, out.empty() ? "" : " ", Text(e));
    return out;
  }
  return v.dump();
}

// How the script treats a bound value.
enum class Binding {
  kValue,     // updated in place
  kOptional,  // the same, and may be missing (an empty cell) without a reload
  kIdentity,  // what the row is (a service, a real, an instance): a change reloads
};

// Writes the page from the document; every value through Bound, which
// names its JSON pointer for the script.
class Page {
 public:
  explicit Page(const json& doc) : doc_(doc) {}

  const json& At(const std::string& pointer) const {
    static const json kNull;
    const json::json_pointer p(pointer);
    return doc_.contains(p) ? doc_.at(p) : kNull;
  }
  size_t Count(const std::string& pointer) const { return At(pointer).size(); }

  // <tag data-p=POINTER ATTRS>value</tag>.
  std::string Bound(absl::string_view tag, const std::string& pointer, absl::string_view attrs = "",
                    Binding binding = Binding::kValue) const {
    return absl::StrCat("<", tag, " data-p=\"", Escape(pointer), "\"", attrs.empty() ? "" : " ",
                        attrs, binding == Binding::kOptional ? " data-opt" : "",
                        binding == Binding::kIdentity ? " data-fixed" : "", ">",
                        Escape(Text(At(pointer))), "</", tag, ">");
  }
  // The attributes of an element whose data-v follows a value (for CSS).
  std::string BoundClass(const std::string& pointer) const {
    return absl::StrCat("data-vp=\"", Escape(pointer), "\" data-v=\"", Escape(Text(At(pointer))),
                        "\"");
  }
  // A rate of the counter at `pointer`: empty until the script has two samples.
  static std::string Rate(absl::string_view tag, const std::string& pointer,
                          absl::string_view unit) {
    return absl::StrCat("<", tag, " class=\"rate\" data-rate=\"", Escape(pointer),
                        "\" data-unit=\"", unit, "\"></", tag, ">");
  }
  // A container whose number of children (array items, object keys) the
  // page was written for: another number in a new sample reloads it.
  std::string Counted(const std::string& pointer) const {
    return absl::StrCat("data-count=\"", Escape(pointer), "\" data-n=\"", Count(pointer), "\"");
  }

 private:
  const json& doc_;
};

// A table cell with its column's name (shown before it on a narrow screen).
std::string Td(absl::string_view label, const std::string& inner) {
  return absl::StrCat("<td data-l=\"", label, "\">", inner, "</td>");
}

std::string Header(const Page& p) {
  return absl::StrCat(
      "<header><h1>xlb ", p.Bound("span", "/host"), "</h1>",
      "<p id=\"live\" data-v=\"plain\">as of this request; without JavaScript the page "
      "reloads every ", kReloadSeconds, " s (and shows no rates)</p>",
      "<p class=\"meta\">xlbd ", p.Bound("span", "/status/version"), ", running since ",
      p.Bound("span", "/status/started"), " · config ", p.Bound("span", "/status/config_file"),
      " · interfaces ", p.Bound("span", "/status/interfaces"), " · ",
      p.Bound("span", "/status/services"), " services, ", p.Bound("span", "/status/reals"),
      " reals, ", p.Bound("b", "/status/reals_down"), " down</p></header>");
}

std::string Reals(const Page& p, const std::string& s) {
  std::string out = absl::StrCat("<div class=\"scroll\"><table class=\"cards\"><thead><tr>",
                                 "<th>Real</th><th>Health</th><th>Weight</th>");
  for (const auto& [key, label] : kRealConnKeys) absl::StrAppend(&out, "<th>", label, "</th>");
  absl::StrAppend(&out,
                  "<th>Packets/s</th><th>Bytes/s</th><th>Packets</th><th>Bytes</th>"
                  "<th>New flows</th><th>Since</th><th>Last check</th></tr></thead><tbody ",
                  p.Counted(s + "/reals"), ">");
  for (size_t j = 0; j < p.Count(s + "/reals"); ++j) {
    const std::string r = absl::StrCat(s, "/reals/", j);
    const std::string c = r + "/counters";
    const bool v6 = Text(p.At(r + "/address")).find(':') != std::string::npos;
    absl::StrAppend(
        &out, "<tr class=\"real\" ", p.BoundClass(r + "/health"), ">",
        Td("Real", absl::StrCat(v6 ? "[" : "",
                                p.Bound("span", r + "/address", "", Binding::kIdentity),
                                v6 ? "]:" : ":",
                                p.Bound("span", r + "/port", "", Binding::kIdentity))),
        Td("Health", p.Bound("b", r + "/health", "class=\"health\"")),
        Td("Weight", absl::StrCat(p.Bound("span", r + "/effective_weight"), " / ",
                                  p.Bound("span", r + "/weight"))));
    for (const auto& [key, label] : kRealConnKeys)
      absl::StrAppend(
          &out, Td(label, p.Bound("span", absl::StrCat(r, "/", key), "", Binding::kOptional)));
    absl::StrAppend(&out, Td("Packets/s", Page::Rate("span", c + "/packets", "")),
                    Td("Bytes/s", Page::Rate("span", c + "/bytes", "B")),
                    Td("Packets", p.Bound("span", c + "/packets")),
                    Td("Bytes", p.Bound("span", c + "/bytes")),
                    Td("New flows", p.Bound("span", c + "/new_flows")),
                    Td("Since", p.Bound("span", r + "/since")),
                    Td("Last check", p.Bound("span", r + "/health_detail")), "</tr>");
  }
  return out + "</tbody></table></div>";
}

std::string Services(const Page& p) {
  std::string out = absl::StrCat("<section><h2>Services</h2><div ", p.Counted("/services"), ">");
  if (p.Count("/services") == 0) absl::StrAppend(&out, "<p class=\"meta\">none configured</p>");
  for (size_t i = 0; i < p.Count("/services"); ++i) {
    const std::string s = absl::StrCat("/services/", i);
    const std::string c = s + "/counters";
    absl::StrAppend(
        &out, "<div class=\"svc\"><h3>", p.Bound("span", s + "/service", "", Binding::kIdentity),
        " ",
        p.Bound("span", s + "/name", "class=\"name\""), "</h3><p class=\"meta\">",
        p.Bound("span", s + "/forward"), " · ", p.Bound("span", s + "/scheduler"), " · check ",
        p.Bound("span", s + "/check"), " · ", Page::Rate("b", c + "/packets", ""),
        " packets/s · ", Page::Rate("b", c + "/bytes", "B"), "/s · ",
        p.Bound("span", c + "/packets"), " packets, ", p.Bound("span", c + "/bytes"),
        " bytes, ", p.Bound("span", c + "/new_flows"), " new flows</p>",
        p.Bound("p", s + "/error", "class=\"error\""), Reals(p, s), "</div>");
  }
  return out + "</div></section>";
}

std::string Vrrp(const Page& p) {
  std::string out = absl::StrCat(
      "<section><h2>VRRP</h2><div class=\"scroll\"><table class=\"cards\"><thead><tr>"
      "<th>Instance</th><th>Interface</th><th>VRID</th><th>State</th><th>Priority</th>"
      "<th>Master</th><th>Own address</th><th>Addresses</th><th>Since</th><th>Why</th>"
      "</tr></thead><tbody ",
      p.Counted("/vrrp"), ">");
  for (size_t k = 0; k < p.Count("/vrrp"); ++k) {
    const std::string v = absl::StrCat("/vrrp/", k);
    absl::StrAppend(
        &out, "<tr class=\"vrrp\" ", p.BoundClass(v + "/state"), ">",
        Td("Instance", p.Bound("b", v + "/name", "", Binding::kIdentity)),
        Td("Interface", p.Bound("span", v + "/interface")),
        Td("VRID", p.Bound("span", v + "/vrid")),
        Td("State", p.Bound("b", v + "/state", "class=\"state\"")),
        Td("Priority", absl::StrCat(p.Bound("span", v + "/effective_priority"), " / ",
                                    p.Bound("span", v + "/priority"))),
        Td("Master", absl::StrCat(p.Bound("span", v + "/master", "class=\"master\""), " (",
                                  p.Bound("span", v + "/master_priority"), ")")),
        Td("Own address", p.Bound("span", v + "/source")),
        Td("Addresses", p.Bound("span", v + "/addresses")),
        Td("Since", p.Bound("span", v + "/since")),
        Td("Why", absl::StrCat(p.Bound("span", v + "/reason"), " ",
                               p.Bound("span", v + "/track_why"))),
        "</tr>");
  }
  if (p.Count("/vrrp") == 0)
    absl::StrAppend(&out, "<tr><td colspan=\"10\" class=\"meta\">no instances</td></tr>");
  return out + "</tbody></table></div></section>";
}

// The bgp: section's card: sessions and VIPs. Without one, no card: only
// the bound flag, so that a reload that adds the section reloads the page.
std::string Bgp(const Page& p) {
  if (p.At("/bgp/configured") != true)
    return p.Bound("span", "/bgp/configured", "hidden", Binding::kIdentity);
  std::string out = absl::StrCat(
      "<section><h2>BGP ", p.Bound("span", "/bgp/configured", "hidden", Binding::kIdentity),
      "</h2><p class=\"meta\" ", p.BoundClass("/bgp/drained"), ">AS ",
      p.Bound("span", "/bgp/local_as"), " · router id ", p.Bound("span", "/bgp/router_id"),
      " · drained ", p.Bound("b", "/bgp/drained", "class=\"drained\""), " · ",
      p.Bound("span", "/bgp/announcements"), " announcements, ",
      p.Bound("span", "/bgp/withdrawals"), " withdrawals, ", p.Bound("span", "/bgp/frr_errors"),
      " FRR errors</p>", p.Bound("p", "/bgp/last_error", "class=\"error\""),
      p.Bound("p", "/bgp/sessions_error", "class=\"error\""),
      "<div class=\"pair\"><div class=\"scroll\"><table><thead><tr><th>Neighbor</th><th>AS</th>"
      "<th>State</th><th>In state (ms)</th><th>Sent</th><th>Received</th><th>BFD</th></tr>"
      "</thead><tbody ",
      p.Counted("/bgp/sessions"), ">");
  for (size_t i = 0; i < p.Count("/bgp/sessions"); ++i) {
    const std::string n = absl::StrCat("/bgp/sessions/", i);
    absl::StrAppend(&out, "<tr class=\"bgp\" ", p.BoundClass(n + "/state"), ">",
                    Td("Neighbor", p.Bound("b", n + "/neighbor", "", Binding::kIdentity)),
                    Td("AS", p.Bound("span", n + "/remote_as")),
                    Td("State", p.Bound("b", n + "/state", "class=\"state\"")),
                    Td("In state (ms)", p.Bound("span", n + "/uptime_ms")),
                    Td("Sent", p.Bound("span", n + "/prefixes_sent")),
                    Td("Received", p.Bound("span", n + "/prefixes_received")),
                    Td("BFD", p.Bound("span", n + "/bfd")), "</tr>");
  }
  absl::StrAppend(&out,
                  "</tbody></table></div><div class=\"scroll\"><table><thead><tr><th>VIP</th>"
                  "<th>Healthy</th><th>Wanted</th><th>Announced</th></tr></thead><tbody ",
                  p.Counted("/bgp/vips"), ">");
  for (size_t i = 0; i < p.Count("/bgp/vips"); ++i) {
    const std::string v = absl::StrCat("/bgp/vips/", i);
    absl::StrAppend(&out, "<tr ", p.BoundClass(v + "/announced"), ">",
                    Td("VIP", p.Bound("b", v + "/vip", "", Binding::kIdentity)),
                    Td("Healthy", p.Bound("span", v + "/healthy")),
                    Td("Wanted", p.Bound("span", v + "/wanted")),
                    Td("Announced", p.Bound("b", v + "/announced", "class=\"announced\"")),
                    "</tr>");
  }
  return out + "</tbody></table></div></div></section>";
}

std::string Director(const Page& p) {
  std::string out = absl::StrCat(
      "<section><h2>Director</h2><div class=\"pair\"><div class=\"scroll\"><table><thead><tr>"
      "<th>Flow table</th><th>Entries</th><th>Capacity</th><th>Failed inserts</th>"
      "<th>Not recorded (flood)</th></tr></thead><tbody ",
      p.Counted("/status/tables"), ">");
  for (size_t t = 0; t < p.Count("/status/tables"); ++t) {
    const std::string b = absl::StrCat("/status/tables/", t);
    absl::StrAppend(&out, "<tr>", Td("Flow table", p.Bound("b", b + "/name")),
                    Td("Entries", p.Bound("span", b + "/entries")),
                    Td("Capacity", p.Bound("span", b + "/capacity")),
                    Td("Failed inserts", p.Bound("span", b + "/insert_failures")),
                    Td("Not recorded (flood)", p.Bound("span", b + "/unrecorded")), "</tr>");
  }
  absl::StrAppend(&out,
                  "</tbody></table></div><div class=\"scroll\"><table><thead><tr>"
                  "<th>Packets by action</th><th>Packets</th><th>Packets/s</th></tr></thead>"
                  "<tbody ",
                  p.Counted("/status/counters"), ">");
  for (const auto& [reason, count] : p.At("/status/counters").items()) {
    const std::string b = absl::StrCat("/status/counters/", reason);
    absl::StrAppend(&out, "<tr>", Td("Action", absl::StrCat("<b>", Escape(reason), "</b>")),
                    Td("Packets", p.Bound("span", b)), Td("Packets/s", Page::Rate("span", b, "")),
                    "</tr>");
  }
  return out + "</tbody></table></div></div></section>";
}

constexpr char kStyle[] = R"css(
:root{--ok:#1a7f37;--bad:#cf222e;--mute:#57606a;--line:#d0d7de}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1400px;padding:8px 12px;color:#1f2328;background:#fff;
 font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif}
h1{font-size:20px;margin:4px 0}
h2{font-size:17px;margin:18px 0 6px;border-bottom:2px solid var(--line)}
h3{font-size:15px;margin:12px 0 2px}.name{color:var(--mute);font-weight:normal}
.meta{color:var(--mute);margin:2px 0}
.error{color:var(--bad);font-weight:600;margin:2px 0}.error:empty{display:none}
#live{margin:2px 0;font-size:13px}#live[data-v=live]{color:var(--ok)}
#live[data-v=stale]{color:#fff;background:var(--bad);padding:2px 6px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;margin:4px 0}
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid var(--line);white-space:nowrap}
th{background:#f6f8fa;font-weight:600}
td span:empty::before,td b:empty::before{content:"\2013";color:var(--mute)}
tr[data-v=up] .health,tr[data-v=MASTER] .state{color:var(--ok)}
tr[data-v=down]{background:#ffebe9}tr[data-v=down] .health{color:var(--bad)}
tr[data-v=none] .health,tr[data-v=BACKUP] .state{color:var(--mute)}
tr[data-v=MASTER]{background:#dafbe1}
tr[data-v=FAULT]{background:#ffebe9}tr[data-v=FAULT] .state{color:var(--bad)}
tr[data-v=Established] .state,tr[data-v=true] .announced{color:var(--ok)}
tr[data-v=false] .announced,p[data-v=true] .drained{color:var(--bad)}
.rate{font-variant-numeric:tabular-nums}
td[data-l="Last check"],td[data-l=Why]{white-space:normal;min-width:14em}
.pair{display:flex;flex-wrap:wrap;gap:0 24px}.pair>div{flex:1 1 420px}
/* A phone: the wide tables' rows become cards, a line per column. */
@media (max-width:760px){
 table.cards,table.cards tbody,table.cards td{display:block;width:100%}
 table.cards thead{display:none}
 table.cards tr{border:1px solid var(--line);border-radius:6px;margin:6px 0;padding:4px 0;
  display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr))}
 table.cards td{border:0;padding:1px 8px;white-space:normal;overflow-wrap:anywhere}
 table.cards td::before{content:attr(data-l) ": ";color:var(--mute)}
 th,td{padding:2px 4px}
}
)css";

// Generic: it knows the page's bindings (data-p with data-opt or
// data-fixed, data-vp, data-rate, data-count), not its layout.
constexpr char kScript[] = R"js(
"use strict";
(function () {
  const live = document.getElementById("live");
  let previous = null;  // {ms, counters: Map(pointer -> value)}
  function at(doc, pointer) {
    let v = doc;
    for (const key of pointer.split("/").slice(1)) {
      if (v === null || typeof v !== "object" || !Object.prototype.hasOwnProperty.call(v, key))
        return undefined;
      v = v[key];
    }
    return v;
  }
  function text(v) {
    if (v === null || v === undefined) return "";
    if (Array.isArray(v)) return v.map(text).join(" ");
    return String(v);
  }
  function si(x) {
    const units = ["", "k", "M", "G", "T"];
    let i = 0;
    while (x >= 1000 && i < units.length - 1) { x /= 1000; i++; }
    const digits = x < 10 && i > 0 ? 2 : x < 100 ? 1 : 0;
    return x.toFixed(digits) + " " + units[i];
  }
  // False when the page was written for other services, reals or instances.
  function fits(doc) {
    for (const el of document.querySelectorAll("[data-fixed]"))
      if (text(at(doc, el.dataset.p)) !== el.textContent) return false;
    for (const el of document.querySelectorAll("[data-count]")) {
      const v = at(doc, el.dataset.count);
      const n = v !== null && typeof v === "object" ? Object.keys(v).length : -1;
      if (n !== Number(el.dataset.n)) return false;
    }
    for (const el of document.querySelectorAll("[data-p]:not([data-opt])"))
      if (at(doc, el.dataset.p) === undefined) return false;
    return true;
  }
  function show(doc) {
    for (const el of document.querySelectorAll("[data-p]")) {
      const t = text(at(doc, el.dataset.p));
      if (el.textContent !== t) el.textContent = t;
    }
    for (const el of document.querySelectorAll("[data-vp]"))
      el.dataset.v = text(at(doc, el.dataset.vp));
    // Rates: the counters' differences over the samples' (sample_ms).
    const seconds = previous ? (doc.sample_ms - previous.ms) / 1000 : 0;
    const counters = new Map();
    for (const el of document.querySelectorAll("[data-rate]")) {
      const now = at(doc, el.dataset.rate);
      const before = previous ? previous.counters.get(el.dataset.rate) : undefined;
      counters.set(el.dataset.rate, now);
      const ok = seconds > 0 && typeof now === "number" && typeof before === "number" &&
        now >= before;  // not across a counter reset
      el.textContent = ok ? si((now - before) / seconds) + el.dataset.unit : "";
    }
    previous = {ms: doc.sample_ms, counters: counters};
  }
  function stamp() { return new Date().toLocaleTimeString(); }
  let lastGood = null;
  async function poll() {
    if (!document.hidden) {
      const abort = new AbortController();
      const timer = setTimeout(function () { abort.abort(); }, 5000);
      try {
        const answer = await fetch("status.json", {cache: "no-store", signal: abort.signal});
        if (!answer.ok) throw new Error("HTTP " + answer.status);
        const doc = await answer.json();
        if (!fits(doc)) { location.reload(); return; }
        show(doc);
        lastGood = stamp();
        live.dataset.v = "live";
        live.textContent = "live, updated " + lastGood;
      } catch (e) {
        live.dataset.v = "stale";
        const why = e.name === "AbortError" ? "no answer in 5 s" : e.message;
        live.textContent =
          "NOT UPDATING (" + why + ")" + (lastGood ? ", last update " + lastGood : "");
      } finally {
        clearTimeout(timer);
      }
    }
    setTimeout(poll, FETCH_MS);
  }
  live.textContent = "connecting...";
  poll();
})();
)js";

std::string Nonce() {
  std::random_device random;
  return absl::StrFormat("%08x%08x%08x%08x", random(), random(), random(), random());
}

HttpResponse PlainText(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

}  // namespace

std::string RenderStatusPage(const json& doc, const std::string& nonce) {
  const Page p(doc);
  std::string script(kScript);
  const std::string fetch_ms = "FETCH_MS";
  script.replace(script.find(fetch_ms), fetch_ms.size(), std::to_string(kFetchMs));
  return absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>xlb ", Escape(Text(p.At("/host"))), "</title>",
      "<noscript><meta http-equiv=\"refresh\" content=\"", kReloadSeconds, "\"></noscript>",
      "<style nonce=\"", nonce, "\">", kStyle, "</style></head><body>", Header(p), "<main>",
      Services(p), Vrrp(p), Bgp(p), Director(p), "</main><script nonce=\"", nonce, "\">", script,
      "</script></body></html>\n");
}

HttpResponse ServeMetricsListener(Operations& ops, const HttpRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse r = PlainText(405, absl::StrCat("method ", request.method,
                                            " not allowed: this listener is read-only\n"));
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  if (request.path == "/metrics") {
    HttpResponse r =
        PlainText(200, RenderMetrics(ops.Status(), ops.Services(), ops.Vrrp(), ops.Bgp(),
                                       ops.Sync()));
    r.content_type = "text/plain; version=0.0.4";
    return r;
  }
  if (request.path != "/" && request.path != "/status.json")
    return PlainText(404, "not found: this listener serves /metrics, / (the status page) and "
                     "/status.json\n");
  StatusPageInfo page = StatusPageOf(ops);
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0) page.host = host;
  page.sample_ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::steady_clock::now().time_since_epoch())
                                             .count());
  const json doc = page;
  HttpResponse r;
  r.headers = {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}};
  if (request.path == "/status.json") {
    // A real's health detail comes from the real: never fail on bad UTF-8.
    r.body = doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    return r;
  }
  const std::string nonce = Nonce();
  r.content_type = "text/html; charset=utf-8";
  r.headers.emplace_back(
      "Content-Security-Policy",
      absl::StrCat("default-src 'none'; connect-src 'self'; script-src 'nonce-", nonce,
                   "'; style-src 'nonce-", nonce,
                   "'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"));
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.body = RenderStatusPage(doc, nonce);
  return r;
}

}  // namespace xlb::api
