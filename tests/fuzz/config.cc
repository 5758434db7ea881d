// libFuzzer target: the YAML configuration parser. Input: a config file.
// Whatever ParseConfig accepts, ToYaml must write in a form it accepts again
// and reads back as the same Config (what `xlbctl config save` relies on),
// and writing that again must give the same text.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "controlplane/config/emit.h"
#include "controlplane/config/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<xlb::config::Config> config = xlb::config::ParseConfig(text, "fuzz.yaml");
  if (!config.ok()) {
    if (config.status().message().empty()) abort();  // an error says what is wrong
    return 0;
  }
  const std::string yaml = xlb::config::ToYaml(*config);
  absl::StatusOr<xlb::config::Config> again = xlb::config::ParseConfig(yaml, "emitted.yaml");
  if (!again.ok()) {
    fprintf(stderr, "ToYaml wrote what ParseConfig refuses: %s\n---\n%s---\n",
            std::string(again.status().message()).c_str(), yaml.c_str());
    abort();
  }
  if (!(*again == *config)) {
    fprintf(stderr, "ToYaml's text parses to a different config:\n---\n%s---\n", yaml.c_str());
    abort();
  }
  if (xlb::config::ToYaml(*again) != yaml) abort();
  return 0;
}
