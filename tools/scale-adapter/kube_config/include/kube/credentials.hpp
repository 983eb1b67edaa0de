#pragma once
/// The three credential sources behind kube::credential_source: fixed values, a token file re-read every
/// minute (client-go NewCachedFileTokenSource), and an exec credential plugin (client.authentication.k8s.io).
/// Every source is safe to call from several threads. No error message ever holds a token or a key.

#include <kube/rest_config.hpp>

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scale::kube {

/// Reads a monotonic clock; injected so tests need no sleep.
using steady_clock_fn = std::function<std::chrono::steady_clock::time_point()>;
/// Reads the wall clock (exec plugins report expiry as RFC 3339); injected so tests need no sleep.
using system_clock_fn = std::function<std::chrono::system_clock::time_point()>;

/// Clocks and limits shared by the sources that refresh themselves.
struct credential_options {
  steady_clock_fn steady_now = [] { return std::chrono::steady_clock::now(); };
  system_clock_fn system_now = [] { return std::chrono::system_clock::now(); };
  /// How long a token file's content is trusted before it is read again (cluster-adapter.md §2: 1 minute).
  std::chrono::seconds token_file_period{60};
  /// An exec plugin still running after this is killed and reported as an error.
  std::chrono::milliseconds exec_timeout{30000};
};

/// Fixed credentials (kubeconfig `token`, client certificate and key); a 401 changes nothing.
class static_credentials final : public credential_source {
 public:
  explicit static_credentials(credentials value) : value_(std::move(value)) {}
  result<credentials> current() override { return value_; }
  result<credentials> refresh_after_unauthorized() override { return value_; }

 private:
  credentials value_;
};

/// A bearer token read from a file (kubeconfig `tokenFile`, the service-account token): read again when the
/// cached copy is older than `token_file_period` and after every 401 (cluster-adapter.md §2, §3). The token
/// is trimmed of surrounding whitespace; an empty file is an error naming the file. `base` supplies the other
/// fields (a client certificate from the same kubeconfig user).
class token_file_source final : public credential_source {
 public:
  token_file_source(std::string path, credential_options options = {}, credentials base = {});
  result<credentials> current() override;
  result<credentials> refresh_after_unauthorized() override;
  const std::string& path() const { return path_; }

 private:
  result<credentials> read_locked();

  std::string path_;
  credential_options options_;
  credentials base_;
  std::mutex mutex_;
  std::optional<credentials> cached_;
  std::chrono::steady_clock::time_point read_at_{};
};

/// One `env` entry of an exec plugin.
struct exec_env_var {
  std::string name;
  std::string value;

  bool operator==(const exec_env_var&) const = default;
};

/// kubeconfig `users[].user.exec` (client-go clientcmd/api/v1 ExecConfig), with the command already resolved
/// against the kubeconfig's directory when it names a path.
struct exec_config {
  /// client.authentication.k8s.io/v1 or client.authentication.k8s.io/v1beta1.
  std::string api_version;
  std::string command;
  std::vector<std::string> args;
  std::vector<exec_env_var> env;
  std::string install_hint;
  bool provide_cluster_info = false;
  /// Never, IfAvailable or Always; empty = not given (allowed in v1beta1 only, meaning IfAvailable).
  std::string interactive_mode;

  bool operator==(const exec_config&) const = default;
};

/// What the plugin learns about the cluster in KUBERNETES_EXEC_INFO when `provideClusterInfo` is set.
struct exec_cluster_info {
  std::string server;
  /// PEM; sent base64-encoded as `certificate-authority-data`.
  std::string ca_pem;
  std::string tls_server_name;
  bool insecure_skip_tls_verify = false;
  std::string proxy_url;
  /// JSON text of the cluster's `client.authentication.k8s.io/exec` extension; empty = none.
  std::string config_json;

  bool operator==(const exec_cluster_info&) const = default;
};

/// The accepted exec API versions.
inline constexpr std::string_view exec_api_v1 = "client.authentication.k8s.io/v1";
inline constexpr std::string_view exec_api_v1beta1 = "client.authentication.k8s.io/v1beta1";

/// Checks an exec config the way client-go's validation does, plus our non-interactive rule: a known
/// apiVersion, a command, interactiveMode present in v1 and one of Never/IfAvailable, never Always.
/// `where` prefixes the message (e.g. `kubeconfig /x/config: users[0].user.exec`).
result<bool> validate_exec_config(const exec_config& config, const std::string& where);

/// An exec credential plugin (cluster-adapter.md §2): run with stdin from /dev/null, KUBERNETES_EXEC_INFO in
/// its environment, killed after `exec_timeout`. Its ExecCredential is cached until `expirationTimestamp`
/// (forever when absent) and the plugin runs again on refresh_after_unauthorized.
class exec_credential_source final : public credential_source {
 public:
  exec_credential_source(exec_config config, exec_cluster_info cluster, credential_options options = {});
  result<credentials> current() override;
  result<credentials> refresh_after_unauthorized() override;

 private:
  result<credentials> run_locked();

  exec_config config_;
  exec_cluster_info cluster_;
  credential_options options_;
  std::mutex mutex_;
  std::optional<credentials> cached_;
};

/// The KUBERNETES_EXEC_INFO value: a JSON ExecCredential with `spec.interactive: false` and, when
/// `provideClusterInfo` is set, `spec.cluster`.
std::string exec_info_json(const exec_config& config, const exec_cluster_info& cluster);

/// Parses a plugin's stdout (an ExecCredential of `api_version`); `where` prefixes errors, which never quote
/// the output. PEM cert/key data are taken as text, `expirationTimestamp` as RFC 3339.
result<credentials> parse_exec_credential(std::string_view stdout_text, std::string_view api_version,
                                          const std::string& where);

/// Parses an RFC 3339 timestamp (`2024-01-02T03:04:05Z`, fractional seconds and `+hh:mm` offsets allowed).
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

}  // namespace scale::kube
