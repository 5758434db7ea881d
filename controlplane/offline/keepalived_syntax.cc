#include "controlplane/offline/keepalived_syntax.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace xlb::migrate {
namespace {

// keepalived's own configs nest four deep (virtual_server > real_server >
// HTTP_GET > url); the bound keeps a hostile file from exhausting the stack.
constexpr int kMaxDepth = 8;

// Keywords that always open a { block } in keepalived.conf(5). One of them
// without its '{' is reported where it is: otherwise its block's statements
// would be read as its siblings, and its '}' found to close nothing lines
// later.
constexpr absl::string_view kBlockKeywords[] = {
    "global_defs", "vrrp_script", "vrrp_instance", "vrrp_sync_group", "virtual_server",
    "virtual_server_group", "real_server", "TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK",
    "SMTP_CHECK", "DNS_CHECK", "UDP_CHECK", "PING_CHECK", "FILE_CHECK", "BFD_CHECK", "url",
    "authentication", "virtual_ipaddress", "virtual_ipaddress_excluded", "virtual_routes",
    "virtual_rules", "unicast_peer", "track_script", "track_interface", "track_file",
    "track_process", "track_bfd", "static_ipaddress", "static_routes", "static_rules",
    "notification_email", "linkbeat_interfaces", "vrrp_track_file", "vrrp_track_process",
    "bfd_instance"};
// Blocks whose entries are values (addresses, names), not keywords: an entry
// that happens to be spelt like a block keyword is just a value there.
constexpr absl::string_view kListBlocks[] = {
    "virtual_ipaddress", "virtual_ipaddress_excluded", "virtual_routes", "virtual_rules",
    "unicast_peer", "track_script", "track_interface", "track_file", "track_process",
    "track_bfd", "static_ipaddress", "static_routes", "static_rules", "notification_email",
    "linkbeat_interfaces", "group", "virtual_server_group"};

bool OneOf(absl::string_view word, const auto& list) {
  return std::find(std::begin(list), std::end(list), word) != std::end(list);
}

struct Token {
  enum Kind { kWord, kCondition, kOpen, kClose, kEndOfLine };
  Kind kind;
  std::string text;
  int line;
};

absl::Status SyntaxError(const std::string& file, int line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(file, ":", line, ": ", what));
}

absl::StatusOr<std::vector<Token>> Tokenize(absl::string_view text, const std::string& file) {
  std::vector<Token> tokens;
  int line = 0;
  bool continued = false;  // the previous line ended in '\'
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line;
    if (absl::EndsWith(raw, "\r")) raw.remove_suffix(1);
    const bool statement_start = !continued;
    continued = false;
    bool first_word = true;
    size_t p = 0;
    while (true) {
      while (p < raw.size() && absl::ascii_isspace(raw[p])) ++p;
      if (p == raw.size() || raw[p] == '#' || raw[p] == '!') break;
      if (raw[p] == '{' || raw[p] == '}') {
        tokens.push_back({raw[p] == '{' ? Token::kOpen : Token::kClose, std::string(1, raw[p]), line});
        ++p;
        first_word = false;
        continue;
      }
      std::string word;
      bool in_quote = false, quoted = false, trailing_backslash = false;
      for (; p < raw.size(); ++p) {
        const char c = raw[p];
        trailing_backslash = false;
        if (in_quote) {
          if (c == '"')
            in_quote = false;
          else
            word += c;
          continue;
        }
        if (c == '"') {
          in_quote = quoted = true;
          continue;
        }
        if (absl::ascii_isspace(c) || c == '{' || c == '}') break;
        word += c;
        trailing_backslash = c == '\\';
      }
      if (in_quote) return SyntaxError(file, line, "a quoted string is not closed (missing '\"')");
      if (trailing_backslash && p == raw.size()) {
        // A line continued on the next one: the '\' is not part of the word.
        word.pop_back();
        continued = true;
        if (word.empty() && !quoted) break;
      }
      if (statement_start && first_word && !quoted) {
        if (absl::StartsWith(word, "$") && absl::StrContains(word, '='))
          return SyntaxError(file, line,
                             absl::StrCat("parameter definitions (", word,
                                          ") are not supported: run keepalived -t -d or expand "
                                          "them by hand, then import the result"));
        if (absl::StartsWith(word, "~SEQ"))
          return SyntaxError(file, line,
                             "~SEQ lines are not supported: expand them by hand, then import the "
                             "result");
        if (absl::StartsWith(word, "@")) {
          if (word.size() == 1 || word == "@^")
            return SyntaxError(file, line, "'@' with no config id after it (expected e.g. @main)");
          tokens.push_back({Token::kCondition, word, line});
          first_word = false;
          continue;
        }
      }
      tokens.push_back({Token::kWord, std::move(word), line});
      first_word = false;
    }
    if (!continued) tokens.push_back({Token::kEndOfLine, "", line});
  }
  return tokens;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, const std::string& file)
      : tokens_(std::move(tokens)), file_(file) {}

  // Reads statements until the '}' that closes `opener`'s block (or the end
  // of the file at the top, where `opener` is null).
  absl::Status ParseBlock(std::vector<KeepalivedStatement>& out,
                          const KeepalivedStatement* opener, int depth) {
    while (true) {
      SkipEndsOfLine();
      if (i_ == tokens_.size()) {
        if (opener == nullptr) return absl::OkStatus();
        return SyntaxError(file_, opener->line,
                           absl::StrCat("'", Describe(*opener),
                                        " {' is never closed (expected a '}' before the end of "
                                        "the file)"));
      }
      const Token& t = tokens_[i_];
      if (t.kind == Token::kClose) {
        if (opener == nullptr) return SyntaxError(file_, t.line, "'}' closes nothing (no '{' is open)");
        ++i_;
        return absl::OkStatus();
      }
      if (t.kind == Token::kOpen)
        return SyntaxError(file_, t.line, "'{' with no keyword before it");

      KeepalivedStatement s;
      s.line = t.line;
      if (t.kind == Token::kCondition) {
        s.condition = t.text;
        ++i_;
        if (i_ == tokens_.size() || tokens_[i_].kind != Token::kWord)
          return SyntaxError(file_, s.line,
                             absl::StrCat("'", s.condition, "' with no statement after it"));
      }
      s.keyword = tokens_[i_++].text;
      while (i_ < tokens_.size() && tokens_[i_].kind == Token::kWord)
        s.args.push_back(tokens_[i_++].text);

      // The '{' on this line, or alone at the start of a later one.
      size_t j = i_;
      while (j < tokens_.size() && tokens_[j].kind == Token::kEndOfLine) ++j;
      if (j < tokens_.size() && tokens_[j].kind == Token::kOpen) {
        if (depth + 1 > kMaxDepth)
          return SyntaxError(file_, tokens_[j].line,
                             absl::StrCat("blocks nested deeper than ", kMaxDepth,
                                          " levels (keepalived's own go 4 deep)"));
        i_ = j + 1;
        s.has_block = true;
        if (absl::Status st = ParseBlock(s.block, &s, depth + 1); !st.ok()) return st;
      } else if (OneOf(s.keyword, kBlockKeywords) &&
                 (opener == nullptr || !OneOf(opener->keyword, kListBlocks))) {
        return SyntaxError(file_, s.line,
                           absl::StrCat("'", Describe(s),
                                        "' opens no block: '{' missing (expected it at the end "
                                        "of the line or alone on the next)"));
      }
      out.push_back(std::move(s));
    }
  }

 private:
  void SkipEndsOfLine() {
    while (i_ < tokens_.size() && tokens_[i_].kind == Token::kEndOfLine) ++i_;
  }

  static std::string Describe(const KeepalivedStatement& s) {
    return s.args.empty() ? s.keyword : absl::StrCat(s.keyword, " ", absl::StrJoin(s.args, " "));
  }

  std::vector<Token> tokens_;
  size_t i_ = 0;
  const std::string& file_;
};

}  // namespace

absl::StatusOr<std::vector<KeepalivedStatement>> ParseKeepalivedSyntax(
    absl::string_view text, const std::string& file_name) {
  absl::StatusOr<std::vector<Token>> tokens = Tokenize(text, file_name);
  if (!tokens.ok()) return tokens.status();
  std::vector<KeepalivedStatement> top;
  Parser parser(*std::move(tokens), file_name);
  if (absl::Status st = parser.ParseBlock(top, nullptr, 0); !st.ok()) return st;
  return top;
}

}  // namespace xlb::migrate
