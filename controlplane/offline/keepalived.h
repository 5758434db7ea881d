// keepalived.conf -> xlb's configuration, for `xlbctl import keepalived`.
//
// vrrp_instance blocks become `vrrp:` instances (with the vrrp_script and
// track_interface they track), virtual_server blocks become `services:`
// (real_server, TCP_CHECK, HTTP_GET, MISC_CHECK; SSL_GET and SMTP_CHECK as
// a TCP connect). keepalived's defaults are written out where xlb's differ
// (VRRP version 2, NAT forwarding, accept mode, a 60 s delay_loop, ...), so
// the result behaves as the file did. What cannot be carried over is left out
// and said in a note, with its line: nothing is dropped silently.
#ifndef XLB_CONTROLPLANE_OFFLINE_KEEPALIVED_H_
#define XLB_CONTROLPLANE_OFFLINE_KEEPALIVED_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "controlplane/config/model.h"

namespace xlb::migrate {

// Something of the keepalived file that the xlb config does not hold, or
// holds differently: "lvs_sched wlc: xlb uses Maglev; the weights are kept".
struct ImportNote {
  int line = 0;  // 1-based, in the keepalived file
  std::string text;

  bool operator==(const ImportNote&) const = default;
};

struct KeepalivedImport {
  config::Config config;            // one that config::ParseConfig accepts
  std::vector<ImportNote> notes;    // by line
};

// `text` is the keepalived.conf, `file_name` is for messages. Errors are
// InvalidArgument "FILE:LINE: what": a syntax error, a value keepalived
// itself would refuse (priority 300, an address that is not one), or a
// result that xlb's own validation refuses (naming the vrrp_instance or
// virtual_server it came from). `include` is not followed (a note says so).
absl::StatusOr<KeepalivedImport> ImportKeepalived(absl::string_view text,
                                                  const std::string& file_name);

}  // namespace xlb::migrate

#endif  // XLB_CONTROLPLANE_OFFLINE_KEEPALIVED_H_
