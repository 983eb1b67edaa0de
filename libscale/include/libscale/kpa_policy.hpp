#pragma once
/// Knative's KPA as a `scaling_policy`: libscale's metric collection, decider and KPA reconciler wired as
/// sim/src/simulation.cpp wires them (decider every 2 s and on a Poke, the multiscaler's bookkeeping, the
/// reconciler on a decider change, a readiness change, its own re-enqueue and requeue).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>

#include "libscale/config.hpp"
#include "libscale/decider.hpp"
#include "libscale/decider_spec.hpp"
#include "libscale/kpa.hpp"
#include "libscale/metric_collector.hpp"
#include "libscale/scaling_policy.hpp"
#include "libscale/time.hpp"
#include "libscale/window_algorithm.hpp"

namespace scale {

/// How the function looks when the policy is created (mirrors the simulator's `start_state`).
enum class kpa_start {
  /// Scaled to zero long ago: no pod, PA Inactive, activator in the path, decider at 0.
  idle,
  /// Just deployed: `kpa_spec::initial_scale` pods ready; PA Activating, decider without data yet.
  deployed,
};

/// Everything the KPA policy needs, already resolved (`make_kpa_policy_config` builds it from a
/// `revision_autoscaling`).
struct kpa_policy_config {
  kpa_spec kpa{};
  decider_spec decider{};
  duration stable_window = std::chrono::seconds{60};
  duration panic_window = std::chrono::seconds{6};
  window_algorithm algorithm = window_algorithm::linear;
  kpa_start start = kpa_start::idle;

  bool operator==(const kpa_policy_config&) const = default;
};

/// The KPA reconciler's inputs for a resolved revision that takes traffic (reachable), as Knative's PA
/// reconciler reads them from the revision's annotations and config-autoscaler; the progress deadline keeps
/// its default (config-deployment's, 600 s).
inline kpa_spec make_kpa_spec(const revision_autoscaling& r) {
  kpa_spec s;
  s.min_scale = r.min_scale;
  s.max_scale = r.max_scale;
  s.initial_scale = r.initial_scale;
  s.enable_scale_to_zero = r.enable_scale_to_zero;
  s.reachable = true;
  s.stable_window = r.stable_window;
  s.scale_to_zero_grace_period = r.scale_to_zero_grace_period;
  s.scale_to_zero_pod_retention = r.pod_retention;
  s.target_burst_capacity = r.target_burst_capacity;
  s.total_value = r.total_value;
  s.activator_capacity = r.activator_capacity;
  return s;
}

/// The whole KPA policy for a resolved, reachable revision: `make_kpa_spec`, `make_decider_spec` and the windows.
inline kpa_policy_config make_kpa_policy_config(const revision_autoscaling& r, kpa_start start) {
  return kpa_policy_config{.kpa = make_kpa_spec(r),
                           .decider = make_decider_spec(r, true),
                           .stable_window = r.stable_window,
                           .panic_window = r.panic_window,
                           .algorithm = r.algorithm,
                           .start = start};
}

/// Most reconciles in a row at one instant (sim/src/simulation.cpp `max_reconcile_passes`: Knative re-enqueues
/// the PA after each status write; the state machine settles in two or three passes).
inline constexpr int kpa_max_reconcile_passes = 10;

/// The KPA behind the `scaling_policy` interface. Created at the model epoch (time 0), as the simulator's
/// service is.
class kpa_policy {
 public:
  explicit kpa_policy(const kpa_policy_config& config)
      : kpa_spec_(config.kpa),
        decider_spec_(config.decider),
        decider_(decider_spec_, 0, time_point{}),
        collection_(config.stable_window, config.panic_window, config.algorithm,
                    // Knative `kpa.go: resolveScrapeTarget`: no scraper when TBC is -1.
                    config.kpa.target_burst_capacity != -1),
        window_idle_buckets_(config.stable_window / metric_collection::bucket_size) {
    const time_point start{};
    if (config.start == kpa_start::idle) {
      // Scaled to zero long ago; the decider's last valid tick saw no pod and no load (as the simulator's idle start).
      state_ = idle_kpa_state(kpa_spec_, start);
      status_ = decider_status{0, excess_burst_capacity_at_zero()};
    } else {
      state_ = initial_kpa_state(kpa_spec_, start);
      status_ = initial_decider_status(decider_spec_);
    }
  }

  /// The KPA reads load only through its metrics.
  bool uses_stats() const { return true; }

  /// A request reached the function: counted for the idle test; wakes the decider ticks after an idle stretch.
  void on_arrival(time_point now) {
    ++in_flight_;
    if (idle_) {
      // The simulator's `resume_ticks`: periodic ticks again from the next whole second, so the next decider
      // tick is the next even second (this very instant if it is one, after the event).
      idle_ = false;
      next_tick_ = detail::ceil_to(now, decider_tick_interval);
    }
  }

  /// A request left the function (served or failed).
  void on_completion(time_point) { --in_flight_; }

  /// Records a statistic; an activator push with load while the decider sits at 0 pokes the decider at once
  /// (Knative `MultiScaler.Poke`), in the next `decide`.
  void on_stat(time_point now, const pod_stat& stat, bool pushed) {
    collection_.record(now, stat);
    last_record_ = now;
    if (pushed && should_poke(status_, stat.average_concurrency)) poke_pending_ = true;
  }

  /// Reacts to an event: a re-enqueue that fell due, a pending Poke, then a reconcile if the decider's status
  /// changed, the ready count changed, the previous reconcile asked for another pass, or none ran yet.
  policy_decision decide(time_point now, const pod_counts& pods) {
    run_due_requeue(now, pods);
    if (poke_pending_) {
      poke_pending_ = false;
      run_decider(now, pods);
    }
    if (reconcile_wanted_ || !last_ready_ || *last_ready_ != pods.ready) reconcile_once(now, pods);
    return decision();
  }

  /// The timer: a due re-enqueue, then the periodic decider tick (every 2 s of model time, after that instant's
  /// statistics). After a tick the decider ticks stop while the function is idle: no re-enqueue pending, no
  /// pod, no request, nothing recorded for a whole stable window, and no tick that could change anything.
  policy_decision on_timer(time_point now, const pod_counts& pods) {
    run_due_requeue(now, pods);
    if (!idle_ && now >= next_tick_) {
      run_decider(now, pods);
      if (reconcile_wanted_) reconcile_once(now, pods);
      next_tick_ = now + decider_tick_interval;
      if (can_idle(now, pods)) idle_ = true;
    }
    return decision();
  }

  /// The multiscaler's record of the last valid decision (DesiredScale, EBC).
  const decider_status& status() const { return status_; }
  /// The PA, SKS and Deployment as the last reconcile left them (SKS mode: whether the activator is in the path).
  const kpa_state& state() const { return state_; }
  /// The decider (panic mode for the timeline).
  const decider& scaler() const { return decider_; }
  /// Stable and panic values the last decider run read; nullopt when it had no data.
  const std::optional<observed_values>& last_observed() const { return last_observed_; }
  /// True while the periodic decider ticks are suspended.
  bool idle() const { return idle_; }

 private:
  /// EBC of a decider tick with no ready pod and no load (`autoscaler.go: Scale`, step 10).
  std::int32_t excess_burst_capacity_at_zero() const {
    const double tbc = decider_spec_.target_burst_capacity;
    if (tbc == 0) return 0;
    if (tbc > 0) return detail::go_int32(std::floor(-tbc));
    return -1;
  }

  void run_due_requeue(time_point now, const pod_counts& pods) {
    if (requeue_at_ && *requeue_at_ <= now) {
      requeue_at_.reset();
      reconcile_once(now, pods);
    }
  }

  /// One decider tick (periodic or Poke) and the multiscaler's bookkeeping; a notification asks for a reconcile.
  void run_decider(time_point now, const pod_counts& pods) {
    last_observed_ = collection_.stable_and_panic(now, decider_spec_.metric);
    const scale_result r = decider_.scale(now, static_cast<int>(pods.ready), last_observed_);
    if (apply_result(status_, r)) {
      reconcile_wanted_ = true;
      passes_ = 0;
      passes_at_ = now;
    }
  }

  /// One KPA reconcile. Another pass is asked for while it changes its own status, at most
  /// kpa_max_reconcile_passes in a row at one instant; a readiness change brings the driver back anyway.
  void reconcile_once(time_point now, const pod_counts& pods) {
    if (passes_at_ != now) {
      passes_at_ = now;
      passes_ = 0;
    }
    const kpa_observation obs{.decider_desired_scale = status_.desired_scale,
                              .excess_burst_capacity = status_.excess_burst_capacity,
                              .ready_pods = pods.ready};
    const kpa_action action = reconcile(kpa_spec_, state_, obs, now);
    // Knative's work queue keeps the earliest of several delayed enqueues of the same PA.
    if (action.requeue_after) {
      const time_point t = now + *action.requeue_after;
      if (!requeue_at_ || t < *requeue_at_) requeue_at_ = t;
    }
    last_ready_ = pods.ready;
    ++passes_;
    reconcile_wanted_ = action.triggers_reconcile && passes_ < kpa_max_reconcile_passes;
  }

  /// The simulator's `idle()`, on what the policy knows: pods and requests come from the driver.
  bool can_idle(time_point now, const pod_counts& pods) const {
    if (requeue_at_ || reconcile_wanted_ || poke_pending_ || pods.existing != 0 || in_flight_ != 0) return false;
    if (last_record_) {
      const std::int64_t since = bucket_index(now, metric_collection::bucket_size) -
                                 bucket_index(*last_record_, metric_collection::bucket_size);
      if (since <= window_idle_buckets_) return false;
    }
    return collection_.has_scrape_target() || (!decider_.in_panic() && status_.desired_scale == 0);
  }

  policy_decision decision() const {
    std::optional<time_point> wake = requeue_at_;
    if (!idle_) wake = detail::earliest(wake, next_tick_);
    return {state_.spec_replicas.value_or(1), wake, reconcile_wanted_};
  }

  kpa_spec kpa_spec_;
  decider_spec decider_spec_;
  decider decider_;
  decider_status status_{};
  kpa_state state_{};
  metric_collection collection_;
  std::int64_t window_idle_buckets_;

  std::int64_t in_flight_ = 0;
  std::optional<time_point> last_record_;
  std::optional<observed_values> last_observed_;
  std::optional<time_point> requeue_at_;
  std::optional<std::int32_t> last_ready_;
  bool poke_pending_ = false;
  bool reconcile_wanted_ = false;
  int passes_ = 0;
  time_point passes_at_{};
  // The first periodic decider tick: the simulator ticks every second from 1 s and runs the decider on even
  // seconds.
  time_point next_tick_ = time_point{} + decider_tick_interval;
  bool idle_ = false;
};

static_assert(scaling_policy<kpa_policy>);

}  // namespace scale
