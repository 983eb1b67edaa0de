#pragma once
/// The Kubernetes Horizontal Pod Autoscaler (autoscaling/v2) driven by mean concurrent requests per pod: the
/// replica calculator of `pkg/controller/podautoscaler/replica_calculator.go` and the behaviour normalisation of
/// `horizontal.go` (stabilisation windows, then scale-up and scale-down rate policies), synced every 15 s.
/// docs/policies.md lists the rules, defaults and knobs.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <string>

#include "libscale/metric_collector.hpp"
#include "libscale/result.hpp"
#include "libscale/scaling_policy.hpp"
#include "libscale/time.hpp"

namespace scale {

/// Knobs of the HPA policy (`--set hpa.KEY=VALUE`); defaults are Kubernetes' unless noted.
struct hpa_spec {
  /// `hpa.target`: mean concurrent requests per pod the HPA aims for (an AverageValue target). Kubernetes has no
  /// default; 70 is the KPA's default target (containerConcurrency 0, target 100 × 70 %), so the two aim alike.
  double target = 70;
  /// `hpa.tolerance`: no change while |1 - usage ratio| <= tolerance (kube-controller-manager
  /// `--horizontal-pod-autoscaler-tolerance`, 0.1).
  double tolerance = 0.1;
  /// `hpa.sync`: the controller's sync period (`--horizontal-pod-autoscaler-sync-period`, 15 s). Syncs run at
  /// whole multiples of it from the model epoch.
  duration sync_period = std::chrono::seconds{15};
  /// `hpa.min`: minReplicas (default 1). 0 only with `scale_to_zero`.
  std::int32_t min_replicas = 1;
  /// `hpa.max`: maxReplicas; 0 = unbounded (Kubernetes requires a value; ours).
  std::int32_t max_replicas = 0;
  /// `hpa.scale_to_zero`: the HPAScaleToZero feature gate. It allows min 0 and is only meaningful with an
  /// Object or External metric, measured outside the pods; the metric then is the function's total concurrency
  /// as an External AverageValue metric (`GetExternalPerPodMetricReplicas`), which scales 0 → n at a sync.
  bool scale_to_zero = false;
  /// `hpa.activate`: with scale to zero, an arrival at zero replicas sets one replica at once, as an external
  /// activator (KEDA's, or Knative's) would, instead of waiting for the next sync (ours; off by default).
  bool activate_on_arrival = false;
  /// `hpa.up_window`: behavior.scaleUp.stabilizationWindowSeconds (default 0 s).
  duration up_window{0};
  /// `hpa.up_percent`, `hpa.up_pods`, `hpa.up_period`: the default scale-up policies, Percent 100 and Pods 4 per
  /// 15 s, the larger change selected (selectPolicy Max).
  std::int32_t up_percent = 100;
  std::int32_t up_pods = 4;
  duration up_period = std::chrono::seconds{15};
  /// `hpa.down_window`: behavior.scaleDown.stabilizationWindowSeconds; unset it is the controller's
  /// `--horizontal-pod-autoscaler-downscale-stabilization`, 300 s.
  duration down_window = std::chrono::seconds{300};
  /// `hpa.down_percent`, `hpa.down_period`: the default scale-down policy, Percent 100 per 15 s.
  std::int32_t down_percent = 100;
  duration down_period = std::chrono::seconds{15};
  /// Skip syncs while nothing can change (idle at min replicas); the decisions are the same either way.
  bool skip_idle = true;

  bool operator==(const hpa_spec&) const = default;
};

/// `spec` if its values make sense, else an error naming the knob, e.g.
/// `hpa.min = 0, must be at least 1 unless hpa.scale_to_zero is true`.
inline result<hpa_spec> validate_hpa_spec(const hpa_spec& spec) {
  if (!(spec.target > 0)) return error{"hpa.target = " + std::to_string(spec.target) + ", must be above 0"};
  if (!(spec.tolerance >= 0)) return error{"hpa.tolerance = " + std::to_string(spec.tolerance) + ", must be at least 0"};
  if (spec.sync_period <= duration::zero()) return error{"hpa.sync must be above 0"};
  if (spec.min_replicas < 0) return error{"hpa.min = " + std::to_string(spec.min_replicas) + ", must be at least 0"};
  if (spec.min_replicas == 0 && !spec.scale_to_zero) {
    return error{"hpa.min = 0, must be at least 1 unless hpa.scale_to_zero is true"};
  }
  if (spec.max_replicas != 0 && spec.max_replicas < std::max<std::int32_t>(1, spec.min_replicas)) {
    return error{"hpa.max = " + std::to_string(spec.max_replicas) + ", must be 0 (unbounded) or at least hpa.min and 1"};
  }
  if (spec.up_percent < 0 || spec.up_pods < 0 || spec.down_percent < 0) {
    return error{"hpa.up_percent, hpa.up_pods and hpa.down_percent must be at least 0"};
  }
  if (spec.up_period <= duration::zero() || spec.down_period <= duration::zero()) {
    return error{"hpa.up_period and hpa.down_period must be above 0"};
  }
  if (spec.up_window < duration::zero() || spec.down_window < duration::zero()) {
    return error{"hpa.up_window and hpa.down_window must be at least 0"};
  }
  return spec;
}

/// The HPA for one function. The metric is the time-weighted mean number of requests in the function (queued or
/// in service) over the last sync period, from the arrivals and completions the driver reports.
class hpa_policy {
 public:
  /// The Deployment starts at min replicas. `spec` should have passed `validate_hpa_spec`.
  explicit hpa_policy(const hpa_spec& spec = {})
      : spec_(spec), stats_(time_point{}), desired_(spec.min_replicas), next_sync_(time_point{} + spec.sync_period) {}

  bool uses_stats() const { return false; }
  /// `decide` repeats the last sync's answer, which only `on_arrival` and `on_timer` change.
  static constexpr bool decisions_hold_until_observed = true;

  void on_arrival(time_point now) {
    if (idle_) resume(now);
    stats_.handle(now, request_event::in);
    ++in_flight_;
    if (spec_.scale_to_zero && spec_.activate_on_arrival && desired_ == 0) desired_ = 1;
  }

  void on_completion(time_point now) {
    stats_.handle(now, request_event::out);
    --in_flight_;
  }

  void on_stat(time_point, const pod_stat&, bool) {}

  policy_decision decide(time_point, const pod_counts&) { return decision(); }

  /// A sync when one is due (`horizontal.go: reconcileAutoscaler`).
  policy_decision on_timer(time_point now, const pod_counts& pods) {
    if (!idle_ && now >= next_sync_) {
      sync(now, pods);
      next_sync_ = now + spec_.sync_period;
      if (spec_.skip_idle && can_idle(pods)) idle_ = true;
    }
    return decision();
  }

  /// The replica count the HPA last wrote (scale.spec.replicas).
  std::int32_t replicas() const { return desired_; }
  /// The metric of the last sync (mean requests in the function over the period).
  double last_metric() const { return last_metric_; }
  const hpa_spec& spec() const { return spec_; }

  /// The replica calculator (`replica_calculator.go`) for a total mean concurrency `total` and `current`
  /// replicas; nullopt when Kubernetes would fail to compute one (a Pods metric with no ready pod). Exposed
  /// for tests.
  std::optional<std::int32_t> raw_recommendation(double total, std::int32_t current, const pod_counts& pods) const {
    if (spec_.scale_to_zero) {
      // `GetExternalPerPodMetricReplicas`: status replicas are the pods not being deleted. At 0 replicas the
      // ratio is +Inf (load) or NaN (none): NaN fails the tolerance test and keeps 0.
      const std::int32_t status = pods.ready + pods.starting;
      const double ratio = total / (spec_.target * static_cast<double>(status));
      if (std::abs(1.0 - ratio) > spec_.tolerance) return static_cast<std::int32_t>(std::ceil(total / spec_.target));
      return status;
    }
    // `calcPlainMetricReplicas` for a Pods metric: the ready pods report, starting pods are missing.
    if (pods.ready <= 0) return std::nullopt;
    const double ready = static_cast<double>(pods.ready);
    const double usage = total / ready / spec_.target;
    const std::int32_t missing = std::max<std::int32_t>(0, pods.starting);
    if (missing == 0) {
      if (std::abs(1.0 - usage) <= spec_.tolerance) return current;
      return static_cast<std::int32_t>(std::ceil(usage * ready));
    }
    // Missing pods count as using the target on a scale-down and nothing on a scale-up; a change of direction,
    // or a change within tolerance, keeps the current count.
    const double all = ready + static_cast<double>(missing);
    const double per_pod = usage < 1.0 ? (total + static_cast<double>(missing) * spec_.target) / all : total / all;
    const double new_usage = per_pod / spec_.target;
    if (std::abs(1.0 - new_usage) <= spec_.tolerance || (usage < 1.0 && new_usage > 1.0) ||
        (usage > 1.0 && new_usage < 1.0)) {
      return current;
    }
    return static_cast<std::int32_t>(std::ceil(new_usage * all));
  }

 private:
  struct timed_value {
    time_point time;
    std::int32_t value;
  };

  policy_decision decision() const {
    std::optional<time_point> wake;
    if (!idle_) wake = next_sync_;
    return {desired_, wake, false};
  }

  void sync(time_point now, const pod_counts& pods) {
    last_metric_ = stats_.report(now).average_concurrency;
    const std::int32_t current = desired_;
    const std::int32_t max = spec_.max_replicas == 0 ? std::numeric_limits<std::int32_t>::max() : spec_.max_replicas;
    std::int32_t next = current;
    // 1. Out of [min, max]: straight to the bound, no recommendation recorded.
    if (current > max) {
      next = max;
    } else if (current < spec_.min_replicas) {
      next = spec_.min_replicas;
    } else {
      // 2. The replica calculator; a failure changes nothing.
      const auto raw = raw_recommendation(last_metric_, current, pods);
      if (!raw) return;
      // 3. Stabilisation, then the rate policies (`normalizeDesiredReplicasWithBehaviors`).
      next = limit_rate(stabilize(*raw, current, now), current, now, max);
    }
    if (next != current) {
      // `storeScaleEvent`
      if (next > current) {
        up_events_.push_back({now, next - current});
      } else {
        down_events_.push_back({now, current - next});
      }
      desired_ = next;
    }
  }

  /// `stabilizeRecommendationWithBehaviors`: the current count raised to the lowest recommendation of the
  /// scale-up window and lowered to the highest of the scale-down window (this sync's included), counting
  /// recommendations strictly after each cutoff; then this sync's recommendation is recorded.
  std::int32_t stabilize(std::int32_t raw, std::int32_t current, time_point now) {
    const time_point up_cutoff = now - spec_.up_window;
    const time_point down_cutoff = now - spec_.down_window;
    std::int32_t up = raw;
    std::int32_t down = raw;
    for (const timed_value& r : recommendations_) {
      if (r.time > up_cutoff) up = std::min(up, r.value);
      if (r.time > down_cutoff) down = std::max(down, r.value);
    }
    std::int32_t recommendation = current;
    if (recommendation < up) recommendation = up;
    if (recommendation > down) recommendation = down;
    record(now, raw);
    return recommendation;
  }

  void record(time_point now, std::int32_t raw) {
    // A recommendation at or before both cutoffs will never count again.
    const time_point oldest = now - std::max(spec_.up_window, spec_.down_window);
    while (!recommendations_.empty() && recommendations_.front().time <= oldest) recommendations_.pop_front();
    recommendations_.push_back({now, raw});
  }

  /// Replicas changed by the events strictly after now - period.
  static std::int32_t change_in(const std::deque<timed_value>& events, time_point now, duration period) {
    std::int32_t sum = 0;
    for (const timed_value& e : events) {
      if (e.time > now - period) sum += e.value;
    }
    return sum;
  }

  /// `convertDesiredReplicasWithBehaviorRate` with the default policy lists: scale-up limit = max over the
  /// policies of (period start + pods) and ceil(period start × (1 + percent / 100)); scale-down limit = min over
  /// them of trunc(period start × (1 - percent / 100)); period start = current - added + deleted in the period.
  std::int32_t limit_rate(std::int32_t wanted, std::int32_t current, time_point now, std::int32_t max) {
    prune(now);
    if (wanted > current) {
      const std::int32_t start = current - change_in(up_events_, now, spec_.up_period) +
                                 change_in(down_events_, now, spec_.up_period);
      const auto by_percent = static_cast<std::int32_t>(
          std::ceil(static_cast<double>(start) * (1.0 + static_cast<double>(spec_.up_percent) / 100.0)));
      std::int32_t limit = std::max(start + spec_.up_pods, by_percent);
      limit = std::max(limit, current);
      return std::min(wanted, std::min(max, limit));
    }
    if (wanted < current) {
      const std::int32_t start = current - change_in(up_events_, now, spec_.down_period) +
                                 change_in(down_events_, now, spec_.down_period);
      std::int32_t limit = static_cast<std::int32_t>(
          static_cast<double>(start) * (1.0 - static_cast<double>(spec_.down_percent) / 100.0));
      limit = std::min(limit, current);
      return std::max(wanted, std::max(spec_.min_replicas, limit));
    }
    return wanted;
  }

  void prune(time_point now) {
    const time_point oldest = now - std::max(spec_.up_period, spec_.down_period);
    while (!up_events_.empty() && up_events_.front().time <= oldest) up_events_.pop_front();
    while (!down_events_.empty() && down_events_.front().time <= oldest) down_events_.pop_front();
  }

  /// Nothing can change at the coming syncs: no load in the last period and none now, the pods settled at min
  /// replicas. Each skipped sync would have recorded the same recommendation and changed nothing.
  bool can_idle(const pod_counts& pods) const {
    return in_flight_ == 0 && last_metric_ == 0 && desired_ == spec_.min_replicas && pods.ready == desired_ &&
           pods.starting == 0 && pods.existing == desired_;
  }

  /// Back from idle at `now`: the last skipped sync closes its (empty) metric period and records its
  /// recommendation, which stands for all the skipped ones (they are equal); syncs resume on the grid.
  void resume(time_point now) {
    idle_ = false;
    const time_point upcoming = detail::ceil_to(now, spec_.sync_period);
    const time_point last_skipped = upcoming - spec_.sync_period;
    if (last_skipped >= next_sync_) {
      last_metric_ = stats_.report(last_skipped).average_concurrency;
      const pod_counts settled{desired_, 0, desired_};
      if (const auto raw = raw_recommendation(0, desired_, settled)) record(last_skipped, *raw);
    }
    next_sync_ = upcoming;
  }

  hpa_spec spec_;
  request_stats stats_;
  std::int64_t in_flight_ = 0;
  std::int32_t desired_;
  double last_metric_ = 0;
  std::deque<timed_value> recommendations_;
  std::deque<timed_value> up_events_;
  std::deque<timed_value> down_events_;
  time_point next_sync_;
  bool idle_ = false;
};

static_assert(scaling_policy<hpa_policy>);

}  // namespace scale
