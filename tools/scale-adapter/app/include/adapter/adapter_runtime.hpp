#pragma once
/// The running adapter: per target a thread that feeds the proxy's or the scraper's statistics into its
/// `target_controller` every second and at once on a proxy poke, a pod watch on the Scale's selector (the
/// proxy's backends), optional leader election, and the admin server. The binary's `main` and the end-to-end
/// test both drive this. Time: std::chrono::steady_clock since start, as scale::time_point.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <adapter/adapter_config.hpp>
#include <adapter/admin_server.hpp>
#include <adapter/target_controller.hpp>
#include <kube/http_client.hpp>
#include <kube/rest_config.hpp>
#include <libscale/result.hpp>

namespace scale::adapter {

/// What the runtime needs besides the config file.
struct runtime_options {
  adapter_config config;
  /// The API server and credentials (load_rest_config); its namespace fills targets that name none.
  kube::rest_config rest;
  kube::client_options client;
  log_sink log;
  /// Admin server address; the port comes from `config.admin_port` (0 = any free port).
  std::string admin_address = "0.0.0.0";
  /// Bound on the startup checks (first Scale read of every target).
  std::chrono::milliseconds startup_timeout{std::chrono::seconds{10}};
  /// Leader-election identity when the config names none.
  std::string default_identity = "scale-adapter";
};

/// The adapter, running. Everything runs on its own threads; the public methods are thread-safe.
class adapter_runtime {
 public:
  /// Checks every target (one Scale read each: an unreachable server, a missing target or a 403 is an error
  /// naming the server or the target), then starts watches, proxies, controllers, leader election and the
  /// admin server.
  static result<std::unique_ptr<adapter_runtime>> start(runtime_options options);
  ~adapter_runtime();
  adapter_runtime(const adapter_runtime&) = delete;
  adapter_runtime& operator=(const adapter_runtime&) = delete;

  /// The proxy port of target `index` (proxy mode), else 0.
  std::uint16_t proxy_port(std::size_t index) const;
  std::uint16_t admin_port() const;
  /// A snapshot of what /metrics shows.
  adapter_metrics metrics() const;
  /// Stops every thread (proxies answer held requests 503, the lease is released); idempotent.
  void stop();

  struct impl;

 private:
  explicit adapter_runtime(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

}  // namespace scale::adapter
