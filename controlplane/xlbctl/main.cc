// xlbctl: the command line of xlbd's API. Human tables by default, the
// API's JSON with --json; a non-zero exit with a one-line reason on error.
#include <chrono>
#include <iostream>
#include <thread>

#include "controlplane/api/contract.h"
#include "controlplane/xlbctl/args.h"
#include "controlplane/xlbctl/client.h"
#include "controlplane/xlbctl/local_commands.h"
#include "controlplane/xlbctl/render.h"
#include "model/version.h"

namespace {

int Fail(const std::string& why, int code = 1) {
  std::cerr << "xlbctl: " << why << "\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace xlb::xlbctl;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << kUsage;
    return 0;
  }
  if (!args.empty() && args[0] == "--version") {
    std::cout << "xlbctl " << xlb::kVersion << "\n";
    return 0;
  }
  // Local commands need no daemon.
  if (!args.empty() && args[0] == "import") return RunImport({args.begin() + 1, args.end()});
  if (args.size() >= 2 && args[0] == "vrrp" && args[1] == "plan")
    return RunVrrpPlan({args.begin() + 2, args.end()});
  auto cmd = ParseArgs(args);
  if (!cmd.ok()) return Fail(std::string(cmd.status().message()), 2);
  const std::string body = cmd->body.is_null() ? "" : cmd->body.dump();
  auto call = [&]() -> absl::StatusOr<nlohmann::json> {
    auto answer = Call(cmd->socket, cmd->method, cmd->target, body);
    if (!answer.ok()) return answer.status();
    auto json = nlohmann::json::parse(answer->body, nullptr, false);
    if (json.is_discarded()) return absl::InternalError("xlbd answered something that is not JSON");
    if (answer->status >= 400) {
      auto error = xlb::api::Decode<xlb::api::ErrorAnswer>(json, "error");
      return absl::UnknownError(error.ok() ? error->error : "error");
    }
    return json;
  };
  auto first = call();
  if (!first.ok()) return Fail(std::string(first.status().message()));
  if (cmd->view == View::kListRate) {
    // Rates are counter differences over a second, measured here.
    auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    auto second = call();
    if (!second.ok()) return Fail(std::string(second.status().message()));
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (cmd->json) {
      std::cout << second->dump(2) << "\n";
      return 0;
    }
    auto text = RenderRate(*first, *second, s);
    if (!text.ok()) return Fail(std::string(text.status().message()));
    std::cout << *text;
    return 0;
  }
  if (cmd->json) {
    std::cout << first->dump(2) << "\n";
    return 0;
  }
  auto text = Render(cmd->view, *first);
  if (!text.ok()) return Fail(std::string(text.status().message()));
  std::cout << *text;
  return 0;
}
