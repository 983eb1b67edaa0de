#pragma once
/// A target's ready pods: the readiness rule as a pure function on Pod JSON, the list and watch-event readers,
/// and `pod_list_watch`, which keeps a cache by LIST then WATCH with resume and 410 recovery
/// (cluster-adapter.md §4).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <kube/api_status.hpp>
#include <kube/http_client.hpp>

namespace scale::kube {

/// Where a pod's serving port comes from.
struct pod_port_rule {
  /// Used for every pod when > 0 (the adapter is told the port).
  int fixed_port = 0;
  /// Else this annotation when the pod has it (the test API server writes `fake-k8s/port`) ...
  std::string annotation = "fake-k8s/port";
  /// ... else spec.containers[0].ports[0].containerPort, else 0.

  bool operator==(const pod_port_rule&) const = default;
};

/// What the adapter needs of one pod.
struct pod_info {
  std::string name;
  /// status.podIP ("" before the pod is scheduled).
  std::string ip;
  int port = 0;
  /// §4.3: Running, no deletionTimestamp, condition Ready = "True".
  bool ready = false;

  bool operator==(const pod_info&) const = default;
};

/// §4.3 (Knative pods.go podRunning + podReady): phase Running, no metadata.deletionTimestamp, and a condition
/// of type Ready with status "True". Anything malformed is "not ready".
bool pod_is_ready(const nlohmann::json& pod);

/// Reads one Pod object; an error when it is not an object or has no metadata.name.
result<pod_info> parse_pod(const nlohmann::json& pod, const pod_port_rule& port);

/// A PodList: its items and the list's resourceVersion to watch from (§4.5).
struct pod_list {
  std::string resource_version;
  std::vector<pod_info> pods;
  /// metadata.continue: more pages to fetch (limit/continue, §4.5).
  std::string continue_token;

  bool operator==(const pod_list&) const = default;
};

/// Parses a PodList body.
result<pod_list> parse_pod_list(std::string_view json, const pod_port_rule& port);

/// One line of a watch stream (§4.5).
struct watch_event {
  enum class kind { added, modified, deleted, bookmark, error };
  kind type = kind::added;
  /// ADDED / MODIFIED / DELETED: the pod.
  pod_info pod;
  /// The object's metadata.resourceVersion (a BOOKMARK carries only this); "" when absent.
  std::string resource_version;
  /// ERROR: the Status object inside (code 410 = too old, relist).
  api_status status;

  bool operator==(const watch_event&) const = default;
};

/// Parses one watch-event line (`{"type":...,"object":{...}}`).
result<watch_event> parse_watch_event(std::string_view line, const pod_port_rule& port);

/// Cuts a byte stream into lines; a line longer than the bound is an error (a broken server cannot fill memory).
class line_splitter {
 public:
  explicit line_splitter(std::size_t max_line_bytes = std::size_t{16} << 20) : max_(max_line_bytes) {}
  /// Appends bytes; false when a line grew past the bound (the splitter is then unusable until reset()).
  bool append(std::string_view bytes);
  /// The next complete line without its '\n' (and '\r'); nullopt when none is complete yet.
  std::optional<std::string> next_line();
  void reset() { buffer_.clear(); start_ = 0; }

 private:
  std::size_t max_;
  std::string buffer_;
  std::size_t start_ = 0;
};

namespace detail {
/// The stop flag of a watch thread, shared with its client's sleeper so a backoff wait ends at stop().
struct stop_signal {
  std::atomic<bool> stopped{false};
  std::mutex mutex;
  std::condition_variable cv;
  /// Sleeps `d` or until stopped.
  void sleep(std::chrono::nanoseconds d);
  void raise();
};
}  // namespace detail

/// Settings of a pod_list_watch.
struct pod_watch_options {
  std::string namespace_name = "default";
  /// The Scale's status.selector, unchanged (§1.2); the client URL-encodes it.
  std::string label_selector;
  pod_port_rule port;
  /// timeoutSeconds of each WATCH; the server ends the stream then and we resume from the last RV (§4.5).
  std::chrono::seconds watch_timeout{std::chrono::minutes{5}};
  /// Wait after a failed LIST or WATCH: doubles from `retry_min` to `retry_max`.
  std::chrono::milliseconds retry_min{std::chrono::milliseconds{500}};
  std::chrono::milliseconds retry_max{std::chrono::seconds{30}};
  /// Called (on the watch thread, without locks held) after the cache changed.
  std::function<void()> on_change;
};

/// Keeps the pods matching a selector by LIST then WATCH on its own thread and its own http_client:
/// BOOKMARK moves the resourceVersion, EOF re-watches from it, ERROR 410 (or a 410 answer) drops the cache and
/// LISTs again (§4.5). All public methods are thread-safe.
class pod_list_watch {
 public:
  /// Starts the thread at once; fails when the client cannot be created (bad server URL).
  static result<std::unique_ptr<pod_list_watch>> start(rest_config config, pod_watch_options options,
                                                        client_options client = {});
  /// Stops and joins.
  ~pod_list_watch();
  pod_list_watch(const pod_list_watch&) = delete;
  pod_list_watch& operator=(const pod_list_watch&) = delete;

  /// The ready pods (§4.3), by name; empty before the first LIST.
  std::vector<pod_info> ready_pods() const;
  /// Every cached pod, ready or not, by name.
  std::vector<pod_info> pods() const;
  /// True once a LIST succeeded (and since the last 410 relist completed).
  bool synced() const;
  /// The last LIST/WATCH failure, cleared by the next successful LIST; nullopt when none.
  std::optional<api_error> last_error() const;
  /// How many LISTs completed (the first one plus every relist after a 410 or an error).
  std::uint64_t list_count() const;
  /// Waits until `done(ready_pods())` holds or `timeout` passed; returns whether it holds.
  bool wait_until(const std::function<bool(const std::vector<pod_info>&)>& done,
                  std::chrono::milliseconds timeout) const;
  /// Ends the watch (an open stream is aborted) and joins the thread; idempotent.
  void stop();

 private:
  enum class watch_end { eof, gone, failed };
  pod_list_watch(pod_watch_options options, std::shared_ptr<detail::stop_signal> stop);
  void run();
  // LIST (every page) into the cache; false on failure (last_error set).
  bool list();
  // One WATCH from rv_.
  watch_end watch();
  void changed();
  void fail(api_error e);

  pod_watch_options options_;
  std::unique_ptr<http_client> client_;
  std::string path_;
  std::string rv_;
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  std::map<std::string, pod_info> cache_;
  bool synced_ = false;
  std::optional<api_error> last_error_;
  std::uint64_t lists_ = 0;
  std::shared_ptr<detail::stop_signal> stop_;
  std::thread thread_;
};

}  // namespace scale::kube
