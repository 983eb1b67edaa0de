#pragma once
/// One target's control loop without sockets or clocks: statistics go into libscale's `kpa_policy` (Knative's
/// metric collection, decider and KPA reconciler), its `desired_pods` is bounded to [min, max] and written to
/// the scale subresource only when it differs from the current Scale. Time is an argument and the Kubernetes
/// calls are injected, so tests drive it deterministically.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <kube/api_status.hpp>
#include <kube/events.hpp>
#include <kube/scale.hpp>
#include <libscale/kpa_policy.hpp>
#include <libscale/metric_collector.hpp>
#include <libscale/time.hpp>

#include <adapter/adapter_config.hpp>

namespace scale::adapter {

/// The Kubernetes calls one target makes (real: kube::get_scale / set_replicas / record_event on one client).
struct scale_api {
  std::function<kube::api_result<kube::scale_info>()> get_scale;
  /// Writes spec.replicas (the patch kind and dry-run are the implementation's business).
  std::function<kube::api_result<kube::scale_info>(std::int32_t replicas)> set_replicas;
  /// Best effort: a failed event is not the controller's problem.
  std::function<void(const kube::event_record& event)> record_event;
};

enum class log_level { debug, info, warning, error };

/// Where log lines go (the binary writes them to stderr with a timestamp).
using log_sink = std::function<void(log_level level, const std::string& line)>;

/// What the world looks like at a step, apart from statistics.
struct step_input {
  /// Ready and existing pods of the target (from the pod watch).
  pod_counts pods;
  /// The last scrape failed (scrape mode): hold the current scale, write nothing.
  bool metrics_missing = false;
  /// This replica may write (leader election off, or we hold the lease).
  bool leading = true;
  /// Re-read the Scale before deciding (the runner sets it every decision interval).
  bool refresh_scale = false;
};

/// The controller's view for /metrics and /readyz.
struct target_status {
  /// The policy's desired pods after bounds; -1 before the policy exists.
  std::int32_t desired = -1;
  /// spec.replicas as last read or written; -1 when unknown.
  std::int32_t current = -1;
  std::int32_t ready = 0;
  bool panic_mode = false;
  double stable_average = 0;
  double panic_average = 0;
  /// API calls that failed (any code), since start.
  std::uint64_t api_errors = 0;
  /// Successful scale writes (dry-run included).
  std::uint64_t writes = 0;
  /// A Scale read has succeeded once.
  bool scale_known = false;
  /// The target answered 404: the controller dropped its state and does nothing more.
  bool stopped = false;
  /// Holding because metrics are missing.
  bool holding = false;

  bool operator==(const target_status&) const = default;
};

/// One target's controller. Not thread-safe: the runner calls it from one thread.
class target_controller {
 public:
  /// `target` must come from parse_adapter_config. The policy is created at the first successful Scale read:
  /// idle (scaled to zero long ago) when spec.replicas is 0, else as a fresh deployment.
  target_controller(target_config target, scale_api api, log_sink log, bool dry_run = false);

  /// A statistic (proxy: the per-second report, `pushed` = false, or the first-request push, `pushed` = true;
  /// scrape: the extrapolated total). Dropped before the policy exists.
  void on_stat(time_point now, const pod_stat& stat, bool pushed);

  /// Requests arrived (a demand signal or a report with arrivals): resumes the policy's ticks after an idle
  /// stretch (`kpa_policy::on_arrival`).
  void on_requests(time_point now);

  /// Runs the policy (decide, then its timer when due) and writes the scale when needed. `now` never goes back.
  void step(time_point now, const step_input& input);

  /// When the policy wants its timer (on the controller's timeline); nullopt = only an observation wakes it.
  std::optional<time_point> wake_at() const;

  const target_status& status() const { return status_; }
  const target_config& target() const { return target_; }
  /// The policy, once created (for tests and reports).
  const kpa_policy* policy() const { return policy_ ? &*policy_ : nullptr; }
  /// The controller time the policy's epoch (its time 0) corresponds to.
  time_point policy_epoch() const { return epoch_; }

 private:
  bool read_scale(time_point now);
  void write_if_needed(time_point now, const step_input& input, std::int32_t desired);
  void api_failed(time_point now, const std::string& verb, const kube::api_error& e);
  void emit_event(time_point now, kube::event_type type, const std::string& reason, const std::string& note);
  std::string describe(const step_input& input) const;
  time_point policy_time(time_point now) const { return time_point{now - epoch_}; }
  void log(log_level level, const std::string& line) const;

  target_config target_;
  scale_api api_;
  log_sink log_;
  bool dry_run_;
  std::string key_;
  std::optional<kpa_policy> policy_;
  time_point epoch_{};
  std::optional<std::int32_t> current_;
  std::optional<time_point> wake_;
  std::int32_t last_logged_desired_ = -1;
  std::string last_error_logged_;
  kube::event_rate_limiter events_;
  target_status status_;
};

/// The policy's desired pods bounded as the KPA bounds them (`scaler.go: applyBounds`), with the scale-to-zero
/// floor: never below max(min, 1) when scale to zero is disabled, never above max (0 = unbounded).
std::int32_t bounded_replicas(const revision_autoscaling& revision, std::int32_t desired);

}  // namespace scale::adapter
