// xlbctl: the command line of xlbd's API. Human tables by default, the
// API's JSON with --json; a non-zero exit with a one-line reason on error.
#include <chrono>
#include <iostream>
#include <thread>

#include "absl/status/status.h"

#include "controlplane/api/contract.h"
#include "controlplane/xlbctl/args.h"
#include "controlplane/xlbctl/client.h"
#include "controlplane/xlbctl/render.h"
#include "model/version.h"

namespace {

// Exit statuses (xlbctl(8)): 1 what xlbd refused, 2 bad arguments, 3 xlbd
// not reached (no socket, refused, no answer), so scripts can tell them apart.
constexpr int kExitRefused = 1, kExitUnreachable = 3;

int Fail(const std::string& why, int code = kExitRefused) {
  std::cerr << "xlbctl: " << why << "\n";
  return code;
}

int Fail(const absl::Status& status) {
  return Fail(std::string(status.message()),
              absl::IsUnavailable(status) ? kExitUnreachable : kExitRefused);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace xlb::xlbctl;
  auto cmd = ParseArgs({argv + 1, argv + argc});
  if (!cmd.ok()) return Fail(std::string(cmd.status().message()), 2);
  if (!cmd->help.empty()) {
    std::cout << cmd->help;
    return 0;
  }
  if (cmd->version) {
    std::cout << "xlbctl " << xlb::kVersion << "\n";
    return 0;
  }
  // Local commands need no daemon.
  if (cmd->spec->run) return cmd->spec->run(*cmd);
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
  if (!first.ok()) return Fail(first.status());
  if (cmd->view == View::kListRate) {
    // Rates are counter differences over a second, measured here.
    auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    auto second = call();
    if (!second.ok()) return Fail(second.status());
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
