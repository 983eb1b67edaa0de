#pragma once
/// A loopback test double of kube-apiserver for scale-adapter's tests: Deployments and their scale subresource,
/// Pods with list and watch, Leases, Events, enough discovery for real kubectl, token / client-certificate
/// authentication, per-user permissions and injected faults, all as recorded in
/// docs/cluster-adapter.md (../shared/docs/cluster-adapter.md). Nothing reconciles: no pods appear by themselves.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace scale::fake_k8s {

/// One pod as the test sets it; the server turns it into a core/v1 Pod with status.phase, status.podIP, a Ready
/// condition, metadata.deletionTimestamp when `deleting`, and `port` in annotation `fake-k8s/port` and in
/// spec.containers[0].ports[0].containerPort.
struct pod_spec {
  std::string name;
  std::map<std::string, std::string> labels;
  std::string phase = "Running";
  bool ready = true;
  std::string pod_ip = "127.0.0.1";
  int port = 0;
  bool deleting = false;
};

/// One HTTP request the server received, with the status it answered (0 until answered; a watch shows 200 as soon
/// as its stream is open).
struct recorded_request {
  std::string method, target /* path?query */, content_type, authorization, user_agent, body;
  int status = 0;
};

/// How the server listens and whom it lets in.
struct server_options {
  bool tls = false;                     // HTTPS with cert_pem/key_pem (tests/data/adapter/tls/ has a test CA, a server cert for 127.0.0.1 and a client cert)
  std::string cert_pem, key_pem;        // server certificate chain and key (PEM text)
  std::string client_ca_pem;            // when set, client certificates signed by it authenticate as CN (user) / O (group)
  std::map<std::string, std::string> tokens;   // bearer token -> user name; no credentials at all -> 403 as system:anonymous; unknown token -> 401
  std::map<std::string, std::set<std::string>> permissions; // user -> {"get deployments/scale", "patch deployments/scale", "list pods", ...}; a user absent from the map may do everything
  // Extensions (not in the pinned interface):
  /// Port to listen on; 0 = any free port.
  std::uint16_t port = 0;
  /// How often open watches with allowWatchBookmarks=true get a BOOKMARK event.
  std::chrono::milliseconds bookmark_interval{std::chrono::seconds(2)};
};

/// The server. Listens on 127.0.0.1 and serves on background threads; every method is safe to call from any
/// thread while it serves. The anonymous user `system:anonymous` may do nothing unless `permissions` names it.
class fake_apiserver {
 public:
  /// Listens on 127.0.0.1:options.port (0 = any free port) and serves on a background thread; throws
  /// std::runtime_error when it cannot listen or the TLS material is unusable.
  explicit fake_apiserver(server_options options = {});
  /// Closes the listener and every open connection (watch streams included) and joins all threads.
  ~fake_apiserver();
  fake_apiserver(const fake_apiserver&) = delete;
  fake_apiserver& operator=(const fake_apiserver&) = delete;

  /// "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT".
  std::string url() const;
  /// Adds (or replaces) an apps/v1 Deployment whose selector is `match_labels`.
  void add_deployment(const std::string& ns, const std::string& name, int replicas,
                      std::map<std::string, std::string> match_labels);
  /// The Deployment's spec.replicas; nullopt = no such deployment.
  std::optional<int> replicas(const std::string& ns, const std::string& name) const;
  /// Adds or replaces a pod; produces a watch event (ADDED or MODIFIED).
  void set_pod(const std::string& ns, const pod_spec& pod);
  /// Removes a pod (no-op when absent); produces a DELETED watch event.
  void delete_pod(const std::string& ns, const std::string& name);
  /// Every resourceVersion issued so far becomes too old: LIST with it (exact match) and WATCH from it get 410.
  void compact();
  /// The next `count` API requests answer `status` with a Status body (and `Retry-After` when given).
  void fail_next(int count, int status, std::optional<int> retry_after_s = std::nullopt);
  /// Every response is delayed this long (watch streams: their response header).
  void set_latency(std::chrono::milliseconds delay);
  /// "API server down": closes the listener and every open connection, so connections are refused.
  void stop_listening();
  /// Listens again on the same port (std::runtime_error if another process took it meanwhile).
  /// stop_listening/resume_listening are for one controlling thread.
  void resume_listening();
  /// Called after a non-dry-run write changed a Deployment's spec.replicas, before its reply is sent (so the
  /// writer sees the reply only once the hook returned), on that connection's thread and outside the server's lock
  /// (the hook may call back into the server, e.g. set_pod). Keep it short: the writer waits for it. Writes on
  /// different connections may call it concurrently. Replaces any earlier hook.
  void on_replicas_changed(std::function<void(const std::string& ns, const std::string& name, int replicas)> hook);
  /// Every request received so far, in arrival order.
  std::vector<recorded_request> requests() const;
  /// Stored Event objects (events.k8s.io/v1 and core v1), in arrival order.
  std::vector<nlohmann::json> events() const;

  // Extensions (not in the pinned interface):
  /// The port it listens on.
  std::uint16_t port() const;
  /// Sets spec.replicas as another writer would (a human's `kubectl scale`): bumps resourceVersion and
  /// generation, no hook call.
  void set_replicas(const std::string& ns, const std::string& name, int replicas);
  /// The Deployment's current metadata.resourceVersion; nullopt = no such deployment.
  std::optional<std::string> resource_version(const std::string& ns, const std::string& name) const;
  /// The stored Lease object; nullopt = none.
  std::optional<nlohmann::json> lease(const std::string& ns, const std::string& name) const;
  /// Sends a BOOKMARK now on every open watch that asked for bookmarks (tests use this instead of waiting).
  void send_bookmarks();
  /// Forgets the recorded requests.
  void clear_requests();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace scale::fake_k8s
