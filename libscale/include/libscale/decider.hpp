#pragma once
/// The per-tick scale decision (Knative `pkg/autoscaler/scaling/autoscaler.go`) and the bookkeeping the
/// multiscaler does with its results (`multiscaler.go`).

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>

#include "libscale/decider_spec.hpp"
#include "libscale/max_window.hpp"
#include "libscale/observed_values.hpp"
#include "libscale/time.hpp"

namespace scale {

/// How often the multiscaler ticks a decider; also the slot width of the scale-down delay window
/// (Knative `multiscaler.go: tickInterval`).
inline constexpr duration decider_tick_interval = std::chrono::seconds{2};

/// One decision (Knative `ScaleResult`); an invalid result carries no decision.
struct scale_result {
  std::int32_t desired_pod_count = 0;
  std::int32_t excess_burst_capacity = 0;
  bool valid = false;

  bool operator==(const scale_result&) const = default;
};

namespace detail {

// Go's math.Max: +Inf wins over NaN, NaN wins over everything else, +0 beats -0.
inline double go_max(double x, double y) {
  if (std::isinf(x) && x > 0) return x;
  if (std::isinf(y) && y > 0) return y;
  if (std::isnan(x) || std::isnan(y)) return std::numeric_limits<double>::quiet_NaN();
  if (x == 0 && x == y) return std::signbit(x) ? y : x;
  return x > y ? x : y;
}

// Go's math.Min: -Inf wins over NaN, NaN wins over everything else, -0 beats +0.
inline double go_min(double x, double y) {
  if (std::isinf(x) && x < 0) return x;
  if (std::isinf(y) && y < 0) return y;
  if (std::isnan(x) || std::isnan(y)) return std::numeric_limits<double>::quiet_NaN();
  if (x == 0 && x == y) return std::signbit(x) ? x : y;
  return x < y ? x : y;
}

// Go's int32(f) on amd64 (CVTTSD2SL): truncation toward zero; NaN and values outside int32 give
// math.MinInt32. In C++ such a conversion is undefined, so the range is checked first.
inline std::int32_t go_int32(double f) {
  const double t = std::trunc(f);
  if (!(t >= -2147483648.0 && t <= 2147483647.0)) {
    return std::numeric_limits<std::int32_t>::min();
  }
  return static_cast<std::int32_t>(t);
}

// Knative `multiscaler.go: sameSign`: compares sign bits, so 0 counts as non-negative.
constexpr bool same_sign(std::int32_t a, std::int32_t b) { return (a < 0) == (b < 0); }

}  // namespace detail

/// Knative's autoscaler for one revision: turns ready pods and observed values into a desired pod count,
/// guarding the panic state and the scale-down delay window between ticks.
class decider {
 public:
  /// A decider created at `now` with `ready_pods` ready (pass 0 when they cannot be counted, as Knative
  /// does). More than one ready pod starts it in panic at `now`, holding that count; the delay window is
  /// created here, and only if `spec.scale_down_delay > 0` (Knative `New`, `newAutoscaler`).
  decider(const decider_spec& spec, int ready_pods, time_point now)
      : spec_(spec), max_panic_pods_(static_cast<std::int32_t>(ready_pods)) {
    // A restarted autoscaler has no metric history; starting in panic keeps the current scale until
    // the windows fill up again.
    if (ready_pods > 1) {
      panic_time_ = now;
    }
    if (spec.scale_down_delay > duration::zero()) {
      delay_window_.emplace(spec.scale_down_delay, decider_tick_interval);
    }
  }

  /// One tick (Knative `autoscaler.Scale`). `ready_pods` is nullopt when the pod counter failed (a
  /// NotFound should be passed as 0); `observed` is nullopt when there is no data or the metric read
  /// failed. Either gives an invalid result and leaves the decider untouched.
  scale_result scale(time_point now, std::optional<int> ready_pods, std::optional<observed_values> observed) {
    // 1. Ready pods. Rate limits and the panic ratio use at least one pod; EBC uses the raw count.
    if (!ready_pods) {
      return {};
    }
    const int ready_raw = *ready_pods;
    const double ready = detail::go_max(1.0, static_cast<double>(ready_raw));

    // 2. Observed values (the caller chose stable/panic concurrency or RPS per spec.metric).
    if (!observed) {
      return {};
    }
    const double stable_value = observed->stable;
    const double panic_value = observed->panic;

    // 3. Rate bounds. The ceiling lets a slow up-rate still add a pod (1.1 × 2 → 3); the floor lets
    //    the last pod go at rate 2 (⌊1/2⌋ = 0). Unreachable revisions get no lower bound at all.
    const double max_scale_up = std::ceil(spec_.max_scale_up_rate * ready);
    const double max_scale_down = spec_.reachable ? std::floor(ready / spec_.max_scale_down_rate) : 0.0;

    // 4. Raw wants, in pods.
    const double stable_want = std::ceil(stable_value / spec_.target_value);
    const double panic_want = std::ceil(panic_value / spec_.target_value);

    // 5. Keep both wants within [max_scale_down, max_scale_up].
    std::int32_t stable_pods =
        detail::go_int32(detail::go_min(detail::go_max(stable_want, max_scale_down), max_scale_up));
    std::int32_t panic_pods =
        detail::go_int32(detail::go_min(detail::go_max(panic_want, max_scale_down), max_scale_up));

    // 6. Activation scale lifts any non-zero want to at least that many pods, past the up-rate bound.
    //    Knative reads it from the live spec, as every other field here.
    if (spec_.activation_scale > 1) {
      if (stable_want > 0 && spec_.activation_scale > stable_pods) {
        stable_pods = spec_.activation_scale;
      }
      if (panic_want > 0 && spec_.activation_scale > panic_pods) {
        panic_pods = spec_.activation_scale;
      }
    }

    // 7. Panic mode, judged on the unclamped panic want. Being over the threshold enters or extends
    //    panic; leaving needs a tick strictly more than one stable window after the last such tick.
    const bool over_threshold = panic_want / ready >= spec_.panic_threshold;
    if (over_threshold) {
      panic_time_ = now;
    } else if (panic_time_ && *panic_time_ + spec_.stable_window < now) {
      panic_time_.reset();
      max_panic_pods_ = 0;
    }

    // 8. Stable mode takes the stable want. In panic the larger want counts, and the result never
    //    drops below the highest count of this panic episode.
    std::int32_t desired = stable_pods;
    if (panic_time_) {
      if (desired < panic_pods) {
        desired = panic_pods;
      }
      if (desired > max_panic_pods_) {
        max_panic_pods_ = desired;
      }
      desired = max_panic_pods_;
    }

    // 9. Scale-down delay: the maximum desired count of the last delay window. Skipped for unreachable
    //    revisions, which should drop at once.
    if (spec_.reachable && delay_window_) {
      delay_window_->record(now, desired);
      desired = delay_window_->current();
    }

    // 10. Excess burst capacity: spare capacity of the raw ready pods beyond the burst target and the
    //     panic-window load. TBC 0 never wants the activator; negative TBC always does.
    double excess_burst_capacity = -1.0;
    if (spec_.target_burst_capacity == 0) {
      excess_burst_capacity = 0.0;
    } else if (spec_.target_burst_capacity > 0) {
      const double total_capacity = static_cast<double>(ready_raw) * spec_.total_value;
      excess_burst_capacity = std::floor(total_capacity - spec_.target_burst_capacity - panic_value);
    }

    return scale_result{desired, detail::go_int32(excess_burst_capacity), true};
  }

  /// Swaps the spec for later ticks; panic state and the delay window (its presence and length) stay as
  /// they are (Knative `autoscaler.Update`).
  void update(const decider_spec& spec) { spec_ = spec; }

  /// The spec in force.
  const decider_spec& spec() const { return spec_; }

  /// Whether the decider is in panic mode.
  bool in_panic() const { return panic_time_.has_value(); }

  /// The highest desired count of the current panic episode (the ready count at construction before any
  /// tick; 0 after a panic ended).
  std::int32_t max_panic_pods() const { return max_panic_pods_; }

  /// When panic was last entered or extended; nullopt when not panicking.
  std::optional<time_point> panic_time() const { return panic_time_; }

 private:
  decider_spec spec_;
  // Knative marks "not panicking" with the zero time.Time; an empty optional says the same without
  // reserving an instant of model time.
  std::optional<time_point> panic_time_;
  std::int32_t max_panic_pods_;
  std::optional<max_time_window> delay_window_;
};

/// What the multiscaler keeps per revision and the KPA reads (Knative `DeciderStatus`).
struct decider_status {
  /// -1 until the first valid tick.
  std::int32_t desired_scale = -1;
  std::int32_t excess_burst_capacity = 0;

  bool operator==(const decider_status&) const = default;
};

/// The status before any valid tick: desired -1; EBC = TBC when TBC is -1 or 0, else
/// trunc(initial_scale × total_value − TBC) (Knative `multiscaler.go: createScaler`).
inline decider_status initial_decider_status(const decider_spec& spec) {
  const double tbc = spec.target_burst_capacity;
  if (tbc == -1.0 || tbc == 0.0) {
    return decider_status{-1, detail::go_int32(tbc)};
  }
  // Go's float-to-int conversion truncates toward zero: -50.5 becomes -50, not -51.
  return decider_status{-1, detail::go_int32(static_cast<double>(spec.initial_scale) * spec.total_value - tbc)};
}

/// Stores a valid result in `status` as the multiscaler does and returns whether the KPA must be told: the
/// desired scale changed or the EBC sign flipped (0 counts as non-negative). An invalid result changes
/// nothing and returns false (Knative `tickScaler`, `updateLatestScale`).
inline bool apply_result(decider_status& status, const scale_result& result) {
  if (!result.valid) {
    return false;
  }
  bool notify = false;
  if (status.desired_scale != result.desired_pod_count) {
    status.desired_scale = result.desired_pod_count;
    notify = true;
  }
  if (!detail::same_sign(status.excess_burst_capacity, result.excess_burst_capacity)) {
    notify = true;
  }
  // The EBC is stored every tick, even when only its magnitude changed.
  status.excess_burst_capacity = result.excess_burst_capacity;
  return notify;
}

/// Whether a pushed stat should make the decider tick at once: the last desired scale is exactly 0 and
/// the stat's average concurrency is non-zero (Knative `MultiScaler.Poke`; RPS revisions key on it too).
inline bool should_poke(const decider_status& status, double pushed_average_concurrency) {
  return status.desired_scale == 0 && pushed_average_concurrency != 0;
}

}  // namespace scale
