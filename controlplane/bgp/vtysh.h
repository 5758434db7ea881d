// Runs FRR's vtysh (docs/bgp-design.md "Runner"): by argv, no shell, as
// xlbd's own user (root: vtysh needs root or group frrvty), output captured
// up to a limit, a deadline after which its process group is SIGKILLed (a
// stopped bgpd blocks vtysh for ever). Blocking: call it off the event loop.
#ifndef XLB_CONTROLPLANE_BGP_VTYSH_H_
#define XLB_CONTROLPLANE_BGP_VTYSH_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace xlb::bgp {

struct VtyshOptions {
  std::string binary = "/usr/bin/vtysh";
  std::string pathspace;  // `vtysh -N NAME` (FRR started with -N); empty: the default
  absl::Duration deadline = absl::Seconds(2);
  size_t output_limit = 4 << 20;  // bytes of stdout+stderr; more is an error
};

// `vtysh [-N NAME] -E -c C1 -c C2 ...`: one call, vtysh stops at the first
// failing command (the ones before it stay applied). -E echoes each command,
// so an error names the one that failed and FRR's line for it, e.g.
// "vtysh: 'network 203.0.113.300/32' failed (exit 1): % Unknown command: ...".
// DeadlineExceeded after the deadline (killed), ResourceExhausted over the
// output limit (killed), Internal if vtysh cannot be started.
absl::Status Configure(const VtyshOptions& options, const std::vector<std::string>& commands);

// `vtysh [-N NAME] -c COMMAND` (e.g. `show running-config`, `show bgp
// summary json`): its stdout (stderr, e.g. vtysh's warning about a missing
// vtysh.conf, is left out), or an error as for Configure.
absl::StatusOr<std::string> Show(const VtyshOptions& options, const std::string& command);

// `text` with the word after each "password " replaced by "<hidden>": for
// logging commands and vtysh's messages (FRR echoes an unknown command).
std::string Redacted(const std::string& text);

}  // namespace xlb::bgp

#endif  // XLB_CONTROLPLANE_BGP_VTYSH_H_
