// libFuzzer target: the API's HTTP request head parser. Input: a request head
// (what the server hands it: up to the blank line). Whatever parses is written
// back as a head (path and query percent-encoded, the Content-Length it
// found) and must parse to the same request and length; a head without a
// Content-Length header must give 0.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "controlplane/api/http.h"

namespace {

std::string PercentEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/')
      out.push_back(static_cast<char>(c));
    else
      absl::StrAppend(&out, "%", absl::Hex(c, absl::kZeroPad2));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string head(reinterpret_cast<const char*>(data), size);
  size_t length = 12345;
  absl::StatusOr<xlb::api::HttpRequest> request = xlb::api::ParseRequestHead(head, &length);
  if (!request.ok()) return 0;
  if (length != 0 && !absl::StrContains(absl::AsciiStrToLower(head), "content-length")) abort();

  std::string target = PercentEncode(request->path);
  char separator = '?';
  for (const auto& [key, value] : request->query) {
    absl::StrAppend(&target, std::string(1, separator), PercentEncode(key), "=", PercentEncode(value));
    separator = '&';
  }
  const std::string again_head =
      absl::StrCat(request->method, " ", target, " HTTP/1.1\r\nContent-Length: ", length, "\r\n");
  size_t again_length = 0;
  absl::StatusOr<xlb::api::HttpRequest> again = xlb::api::ParseRequestHead(again_head, &again_length);
  if (!again.ok() || again->method != request->method || again->path != request->path ||
      again->query != request->query || again_length != length) {
    fprintf(stderr, "written back as \"%s\", it parses differently\n",
            absl::CEscape(again_head).c_str());
    abort();
  }
  return 0;
}
