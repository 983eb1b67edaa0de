#pragma once
/// scale-adapter's configuration file (`--config FILE`, YAML): global settings and the list of targets, each
/// with its Knative `config-autoscaler` keys and `autoscaling.knative.dev/*` annotations, resolved by libscale's
/// own reader (`parse_autoscaler_config`, `resolve_revision`, `make_decider_spec`). docs/adapter.md has the
/// reference; an unknown key anywhere is an error naming the file, the target and the key.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <adapter/prometheus_text.hpp>
#include <kube/scale.hpp>
#include <libscale/config.hpp>
#include <libscale/kpa_policy.hpp>
#include <libscale/result.hpp>

namespace scale::adapter {

/// Where the load is measured.
enum class metrics_mode {
  /// The adapter is the target's reverse proxy (Knative's activator with target-burst-capacity -1).
  proxy,
  /// The adapter scrapes each ready pod every second; it cannot wake a target at zero by itself.
  scrape,
};

/// Proxy-mode settings of one target.
struct proxy_settings {
  std::string listen_address = "0.0.0.0";
  std::uint16_t listen_port = 8080;
  /// Held requests at most (Knative's breaker queue depth).
  std::size_t queue_limit = 10'000;
  /// Knative's revision timeoutSeconds default.
  std::chrono::milliseconds timeout{std::chrono::seconds{300}};

  bool operator==(const proxy_settings&) const = default;
};

/// Scrape-mode settings of one target.
struct scrape_settings {
  /// Queue-proxy's `http-autometric` port (cluster-adapter.md §5), or the app's metrics port.
  std::uint16_t port = 9090;
  std::string path = "/metrics";
  /// Set: read this gauge of the app's Prometheus text page instead of queue-proxy's Stat.
  std::optional<app_gauge> gauge;

  bool operator==(const scrape_settings&) const = default;
};

/// One scale target, parsed and resolved.
struct target_config {
  /// Empty: the namespace of the kubeconfig context (or `--namespace`).
  std::string namespace_name;
  std::string api_version = "apps/v1";
  std::string kind = "Deployment";
  /// The scale path's group/version/resource/name (resource from the kind, or given for other kinds).
  kube::target_ref ref;
  /// The pods' serving port (proxy mode forwards to podIP:port); 0 = the pod's first containerPort.
  int port = 0;
  metrics_mode mode = metrics_mode::proxy;
  proxy_settings proxy;
  scrape_settings scrape;
  std::int32_t container_concurrency = 0;
  /// The raw `config:` and `annotations:` maps as written.
  string_map config;
  string_map annotations;
  /// What libscale resolved from them.
  autoscaler_config autoscaler;
  revision_autoscaling revision;

  bool operator==(const target_config&) const = default;
};

/// Optional Lease-based leader election (cluster-adapter.md §6.5).
struct leader_election_settings {
  bool enabled = false;
  std::string lease_name = "scale-adapter";
  /// Empty: the kubeconfig context's namespace.
  std::string lease_namespace;
  /// Empty: $POD_NAME, else the host name.
  std::string identity;

  bool operator==(const leader_election_settings&) const = default;
};

/// The whole file.
struct adapter_config {
  /// How often each target re-reads its Scale and retries a failed write. The decider itself ticks every 2 s
  /// of libscale time (`decider_tick_interval`), as Knative's multiscaler.
  std::chrono::milliseconds decision_interval{std::chrono::seconds{2}};
  bool dry_run = false;
  kube::patch_kind patch = kube::patch_kind::json_patch;
  std::uint16_t admin_port = 9095;
  leader_election_settings leader_election;
  std::vector<target_config> targets;

  bool operator==(const adapter_config&) const = default;
};

/// Parses the config text; errors start with `source_name` (and the line when known), then name the target
/// (`targets[i] (name)`) and the key.
result<adapter_config> parse_adapter_config(std::string_view yaml_text, std::string_view source_name);

/// Reads `file` and parses it; a file that cannot be read is an error naming it.
result<adapter_config> read_adapter_config(const std::filesystem::path& file);

/// The KPA policy of one target (the simulator's `make_kpa_spec` + `make_decider_spec`, reachable revision).
kpa_policy_config make_policy_config(const target_config& target, kpa_start start);

/// "namespace/name".
std::string target_key(const target_config& target);

}  // namespace scale::adapter
