#pragma once
/// How to reach one Kubernetes API server: address, TLS and credentials, as a kubeconfig context or the pod's
/// service account resolves them. The HTTP client takes this and nothing else.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <libscale/result.hpp>

namespace scale::kube {

/// TLS settings of the connection to the API server; PEM text, never paths (the loader reads the files).
struct tls_settings {
  /// CA bundle to verify the server with; empty = the system's trust store.
  std::string ca_pem;
  /// Skip server verification (kubeconfig `insecure-skip-tls-verify`); never set together with `ca_pem`.
  bool insecure_skip_verify = false;
  /// Name to verify the server certificate against (and send as SNI) instead of the URL's host.
  std::string server_name;

  bool operator==(const tls_settings&) const = default;
};

/// What authenticates one request: a bearer token and/or a client certificate (PEM), from whichever source.
struct credentials {
  std::string bearer_token;
  std::string client_cert_pem;
  std::string client_key_pem;
  /// When these stop being valid (exec plugins report it); nullopt = no known expiry.
  std::optional<std::chrono::system_clock::time_point> expires_at;

  bool operator==(const credentials&) const = default;
};

/// Where credentials come from: fixed values, a token file re-read every minute, or an exec plugin.
// An interface: three real sources plug in, and the HTTP client must not know which one it holds.
class credential_source {
 public:
  virtual ~credential_source() = default;
  /// The credentials to send now (may re-read a file or re-run a plugin when the cached value is stale).
  virtual result<credentials> current() = 0;
  /// Called after the server answered 401 to `current()`'s credentials: drop any cache and fetch afresh.
  virtual result<credentials> refresh_after_unauthorized() = 0;
};

/// Impersonation headers (kubeconfig `as`, `as-groups`, `as-uid`): `Impersonate-User`, `-Group`, `-Uid`.
struct impersonation {
  std::string user;
  std::vector<std::string> groups;
  std::string uid;

  bool operator==(const impersonation&) const = default;
};

/// Everything needed to talk to one API server.
struct rest_config {
  /// Base URL without a trailing slash, e.g. `https://127.0.0.1:6443`.
  std::string server;
  /// Namespace of the context (or the service account's); "default" when the context names none.
  std::string namespace_name = "default";
  tls_settings tls;
  /// Null = anonymous (the server answers 403 as `system:anonymous`).
  std::shared_ptr<credential_source> auth;
  impersonation impersonate;
  /// The cluster's `proxy-url` (http, https or socks5); empty = the environment's HTTPS_PROXY / NO_PROXY, as
  /// client-go falls back to them.
  std::string proxy_url;
  /// Where the settings came from, for messages: "kubeconfig /path (context ctx)" or "in-cluster".
  std::string origin;
};

}  // namespace scale::kube
