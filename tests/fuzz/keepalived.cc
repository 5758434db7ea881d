// libFuzzer target: the keepalived.conf importer (`xlbctl import
// keepalived`). Input: a keepalived.conf. Whatever it imports must be a
// config that xlb's own parser accepts as written out (the import's promise),
// reading back the same, and its notes must be in line order and point at
// lines of the file.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "controlplane/config/emit.h"
#include "controlplane/config/parse.h"
#include "controlplane/offline/keepalived.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<xlb::migrate::KeepalivedImport> import =
      xlb::migrate::ImportKeepalived(text, "keepalived.conf");
  if (!import.ok()) {
    // Internal: the import's own check found the YAML reading back different.
    if (import.status().message().empty() || import.status().code() == absl::StatusCode::kInternal)
      abort();
    return 0;
  }
  const std::string yaml = xlb::config::ToYaml(import->config);
  absl::StatusOr<xlb::config::Config> parsed = xlb::config::ParseConfig(yaml, "imported.yaml");
  if (!parsed.ok()) {
    fprintf(stderr, "imported a config ParseConfig refuses: %s\n---\n%s---\n",
            std::string(parsed.status().message()).c_str(), yaml.c_str());
    abort();
  }
  if (!(*parsed == import->config)) {
    fprintf(stderr, "imported config reads back different:\n---\n%s---\n", yaml.c_str());
    abort();
  }
  const int lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  int previous = 0;
  for (const xlb::migrate::ImportNote& note : import->notes) {
    if (note.text.empty() || note.line < previous || note.line > lines) {
      fprintf(stderr, "note out of order or off the file (line %d of %d): %s\n", note.line, lines,
              note.text.c_str());
      abort();
    }
    previous = note.line;
  }
  return 0;
}
