// keepalived.conf's syntax, without its meaning: statements of words, each
// on its own line, some followed by a { block } of statements. What the
// statements mean for xlb is in offline/keepalived.h.
//
// Read as keepalived reads it: '#' and '!' at the start of a word begin a
// comment; "double quotes" make one word of what they hold (spaces, '{', '#');
// '{' and '}' are words of their own even when glued to others; a line ending
// in '\' continues on the next. A block's '{' may also open the next line.
#ifndef XLB_CONTROLPLANE_OFFLINE_KEEPALIVED_SYNTAX_H_
#define XLB_CONTROLPLANE_OFFLINE_KEEPALIVED_SYNTAX_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace xlb::migrate {

// One statement: `virtual_server 192.0.2.10 80 { ... }` has the keyword
// "virtual_server", the args {"192.0.2.10", "80"} and a block. In a list
// block (virtual_ipaddress, unicast_peer, track_script, ...) each entry is a
// statement too: its first word is the keyword.
struct KeepalivedStatement {
  std::string keyword;
  std::vector<std::string> args;
  int line = 0;                   // 1-based, where the keyword is
  // keepalived's conditional configuration: "@ID statement" applies only
  // when keepalived runs with -i ID, "@^ID statement" only when it does not.
  // The ID with its '@' (and '^'), or "" for an unconditional statement.
  std::string condition;
  bool has_block = false;
  std::vector<KeepalivedStatement> block;
};

// Splits `text` into statements. A syntax error (a '}' with no '{', a block
// never closed, an unterminated quote, a '{' with no keyword, a keyword that
// always opens a block (virtual_server, real_server, TCP_CHECK, ...) without
// its '{', nesting deeper than keepalived's own configs go) is
// InvalidArgument "FILE:LINE: what", at the line of the statement at fault.
// Parameter definitions ($NAME=...) and ~SEQ lines are refused the same way:
// what they expand to cannot be known here.
absl::StatusOr<std::vector<KeepalivedStatement>> ParseKeepalivedSyntax(
    absl::string_view text, const std::string& file_name);

}  // namespace xlb::migrate

#endif  // XLB_CONTROLPLANE_OFFLINE_KEEPALIVED_SYNTAX_H_
