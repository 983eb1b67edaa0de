#pragma once
/// kubeconfig files (cluster-adapter.md §2) and in-cluster configuration (§3), resolved to a rest_config the
/// way kubectl and client-go do: KUBECONFIG lists merged with the first definition of a name winning,
/// relative paths against the file's directory, `*-data` over paths, client-go's validation rules.

#include <kube/credentials.hpp>
#include <kube/rest_config.hpp>

#include <libscale/result.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scale::kube {

/// `clusters[]`: one entry; paths are absolute, `*-data` decoded to PEM text.
struct kubeconfig_cluster {
  std::string name;
  std::string server;
  /// Path of the CA bundle (resolved); ignored when `certificate_authority_data` is set.
  std::string certificate_authority;
  std::string certificate_authority_data;
  bool insecure_skip_tls_verify = false;
  std::string tls_server_name;
  std::string proxy_url;
  /// JSON text of `extensions[name=client.authentication.k8s.io/exec].extension`; empty = none.
  std::string exec_extension_json;
  /// The file that defined it, for messages.
  std::string source_file;
  /// Index in that file's `clusters` list, for messages.
  std::size_t index = 0;

  bool operator==(const kubeconfig_cluster&) const = default;
};

/// `users[]`: one entry; paths are absolute, `*-data` decoded to PEM text.
struct kubeconfig_user {
  std::string name;
  std::string token;
  /// Path of a file holding the token (resolved).
  std::string token_file;
  std::string client_certificate;
  std::string client_certificate_data;
  std::string client_key;
  std::string client_key_data;
  /// Basic auth: parsed only to be refused (removed from the API server in 1.19).
  std::string username;
  std::string password;
  /// Name of a legacy `auth-provider`; refused ("unsupported; use exec").
  std::optional<std::string> auth_provider;
  impersonation impersonate;
  /// `as-user-extra` was given; refused (rest_config has no place for it).
  bool has_impersonate_extra = false;
  std::optional<exec_config> exec;
  std::string source_file;
  std::size_t index = 0;

  bool operator==(const kubeconfig_user&) const = default;
};

/// `contexts[]`: one entry.
struct kubeconfig_context {
  std::string name;
  std::string cluster;
  std::string user;
  std::string namespace_name;
  std::string source_file;
  std::size_t index = 0;

  bool operator==(const kubeconfig_context&) const = default;
};

/// One kubeconfig file, or several merged; entries keep their order.
struct kubeconfig {
  std::vector<kubeconfig_cluster> clusters;
  std::vector<kubeconfig_user> users;
  std::vector<kubeconfig_context> contexts;
  std::string current_context;
  /// Where `current_context` was set.
  std::string current_context_file;

  const kubeconfig_cluster* find_cluster(std::string_view name) const;
  const kubeconfig_user* find_user(std::string_view name) const;
  const kubeconfig_context* find_context(std::string_view name) const;

  bool operator==(const kubeconfig&) const = default;
};

/// Parses one kubeconfig (YAML, or JSON) read from `file_path`; relative paths are resolved against its
/// directory. Errors read `kubeconfig <file_path>: <field path>: <what>`, e.g.
/// `kubeconfig /x/config: users[1].user.client-key-data: not valid base64`; they never quote a secret.
result<kubeconfig> parse_kubeconfig(std::string_view yaml_text, const std::string& file_path);

/// Reads and parses one kubeconfig file.
result<kubeconfig> read_kubeconfig_file(const std::string& file_path);

/// Adds `next` to `into` the way client-go merges a KUBECONFIG list: the first definition of a name wins,
/// and the first file that sets current-context wins.
void merge_kubeconfig(kubeconfig& into, const kubeconfig& next);

/// Inputs of the in-cluster configuration (client-go rest.InClusterConfig), explicit so tests use a temp dir.
struct in_cluster_inputs {
  /// $KUBERNETES_SERVICE_HOST and $KUBERNETES_SERVICE_PORT.
  std::string service_host;
  std::string service_port;
  /// Holds `token`, `ca.crt` and `namespace`.
  std::string service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";
  /// $POD_NAMESPACE, which wins over the namespace file as in clientcmd's inClusterClientConfig.
  std::string pod_namespace;
};

/// In-cluster configuration (cluster-adapter.md §3): `https://host:port` (IPv6 in brackets), CA from
/// `ca.crt`, a token_file_source on `token` (read now to fail early, then re-read every minute and on 401),
/// namespace from $POD_NAMESPACE, then the `namespace` file, then "default". Either variable empty is the
/// error "not running in a cluster".
result<rest_config> in_cluster_config(const in_cluster_inputs& inputs, const credential_options& options = {});

/// How to find the configuration, as kubectl's flags and environment say.
struct load_options {
  /// --kubeconfig: one file that must exist; wins over `kubeconfig_env`.
  std::string explicit_path;
  /// $KUBECONFIG: `:`-separated files merged in order; missing ones are skipped (nullopt = unset).
  std::optional<std::string> kubeconfig_env;
  /// $HOME, for ~/.kube/config when neither of the above is given.
  std::string home;
  /// --context: overrides current-context.
  std::string context;
  /// --namespace: overrides the context's namespace.
  std::string namespace_name;
  /// Use in-cluster configuration when no kubeconfig file exists (client-go's deferred loading).
  bool in_cluster_fallback = false;
  in_cluster_inputs in_cluster;
  credential_options credential;
};

/// load_options filled from the process environment (KUBECONFIG, HOME, KUBERNETES_SERVICE_HOST/PORT,
/// POD_NAMESPACE) with the in-cluster fallback on.
load_options load_options_from_environment();

/// Resolves the kubeconfig (or the in-cluster fallback) to one rest_config: the chosen context's cluster and
/// user, validated as client-go does (CA with insecure-skip-tls-verify, basic auth, auth-provider, a client
/// certificate without its key, unknown names are errors), files read into PEM text, credentials wrapped
/// in the matching source. Static token, token file or client certificate win over `exec`, as in client-go.
result<rest_config> load_rest_config(const load_options& options);

/// Builds the rest_config of one context of an already merged kubeconfig (the second half of
/// load_rest_config); `files` names the kubeconfig files for messages.
result<rest_config> rest_config_for_context(const kubeconfig& config, const std::string& files,
                                            const std::string& context_override,
                                            const std::string& namespace_override,
                                            const credential_options& options = {});

}  // namespace scale::kube
