// scale-adapter: libscale's KPA driving Kubernetes scale subresources (docs/adapter.md).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <adapter/adapter_config.hpp>
#include <adapter/adapter_runtime.hpp>
#include <kube/kubeconfig.hpp>

namespace {

using scale::adapter::log_level;

std::string_view level_name(log_level l) {
  switch (l) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warning: return "warning";
    case log_level::error: return "error";
  }
  return "?";
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03}Z", buf, ms);
}

std::string identity() {
  if (const char* pod = std::getenv("POD_NAME"); pod != nullptr && *pod != '\0') return pod;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0 && host[0] != '\0') return host;
  return "scale-adapter";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"scale-adapter: drives Deployments (or any kind with a scale subresource) with libscale's KPA, "
               "scale from zero included"};
  std::string config_path;
  std::string kubeconfig;
  std::string context;
  std::string namespace_name;
  bool dry_run = false;
  int admin_port = -1;
  std::string level_text = "info";
  app.add_option("--config", config_path, "adapter config file (YAML)")->required();
  app.add_option("--kubeconfig", kubeconfig, "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)");
  app.add_option("--context", context, "kubeconfig context");
  app.add_option("--namespace", namespace_name, "namespace of targets that name none");
  app.add_flag("--dry-run", dry_run, "write with dryRun=All: the server validates, nothing is stored");
  app.add_option("--admin-port", admin_port, "admin port for /metrics, /healthz, /readyz (default: config, 9095)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--log-level", level_text, "debug | info | warning | error")
      ->check(CLI::IsMember({"debug", "info", "warning", "error"}));
  CLI11_PARSE(app, argc, argv);

  const log_level min_level = level_text == "debug"     ? log_level::debug
                              : level_text == "warning" ? log_level::warning
                              : level_text == "error"   ? log_level::error
                                                        : log_level::info;
  auto log_mutex = std::make_shared<std::mutex>();
  const scale::adapter::log_sink log = [min_level, log_mutex](log_level level, const std::string& line) {
    if (level < min_level) return;
    const std::lock_guard lock(*log_mutex);
    std::fprintf(stderr, "%s %s %s\n", utc_now().c_str(), std::string(level_name(level)).c_str(), line.c_str());
    std::fflush(stderr);
  };

  auto config = scale::adapter::read_adapter_config(config_path);
  if (!config) {
    std::fprintf(stderr, "scale-adapter: error: %s\n", config.error_value().message.c_str());
    return 1;
  }
  if (dry_run) config.value().dry_run = true;
  if (admin_port >= 0) config.value().admin_port = static_cast<std::uint16_t>(admin_port);

  scale::kube::load_options load = scale::kube::load_options_from_environment();
  load.explicit_path = kubeconfig;
  load.context = context;
  load.namespace_name = namespace_name;
  auto rest = scale::kube::load_rest_config(load);
  if (!rest) {
    std::fprintf(stderr, "scale-adapter: error: %s\n", rest.error_value().message.c_str());
    return 1;
  }

  // Block the stop signals before any thread starts, so only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  scale::adapter::runtime_options options;
  options.config = std::move(config).value();
  options.rest = std::move(rest).value();
  options.log = log;
  options.default_identity = identity();
  log(log_level::info, fmt::format("scale-adapter {} starting: {} target(s), API server {} ({}){}",
                                   SCALE_ADAPTER_VERSION, options.config.targets.size(), options.rest.server,
                                   options.rest.origin, options.config.dry_run ? ", dry run" : ""));
  auto runtime = scale::adapter::adapter_runtime::start(std::move(options));
  if (!runtime) {
    std::fprintf(stderr, "scale-adapter: error: %s\n", runtime.error_value().message.c_str());
    return 1;
  }
  log(log_level::info, fmt::format("admin server on port {}", runtime.value()->admin_port()));
  int received = 0;
  sigwait(&stop_signals, &received);
  log(log_level::info, fmt::format("signal {}: stopping", received));
  runtime.value()->stop();
  return 0;
}
