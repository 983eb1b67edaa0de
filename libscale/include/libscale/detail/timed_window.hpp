#pragma once
/// The thin adapter from time points to bucket indices that every bucketed window shares.

#include <cstdint>

#include "libscale/time.hpp"

namespace scale::detail {

/// Number of `granularity`-wide buckets a `window` needs, rounded up and at least one
/// (Knative `NewTimedFloat64Buckets`: ceil(window / granularity)).
constexpr std::int64_t bucket_count_for(duration window, duration granularity) {
  const std::int64_t w = window.count();
  const std::int64_t g = granularity.count();
  const std::int64_t n = w / g + (w % g > 0 ? 1 : 0);
  return n < 1 ? 1 : n;
}

/// Whole buckets after the newest write beyond which a `window` counts as empty: floor(window / granularity).
/// Knative compares `now - lastWrite > window` in durations; for whole-bucket distances k that is
/// k > floor(window / granularity).
constexpr std::int64_t idle_limit_for(duration window, duration granularity) {
  return window.count() / granularity.count();
}

/// A window over `window` of model time in `granularity` buckets, averaged by `Buckets` (which only sees
/// bucket indices: `record(index, v)`, `average(index)`, `is_empty(index)`, `resize(count, idle, index)`).
template <class Buckets>
class timed_window {
 public:
  /// A window of `window` (> 0) in buckets of `granularity` (> 0), ceil(window / granularity) of them.
  explicit timed_window(duration window, duration granularity = std::chrono::seconds{1})
      : window_(window),
        granularity_(granularity),
        buckets_(bucket_count_for(window, granularity), idle_limit_for(window, granularity)) {}

  /// Adds `value` at time `t`; values in the same bucket add up.
  void record(time_point t, double value) { buckets_.record(bucket_index(t, granularity_), value); }

  /// The window average as of `now` (Knative `WindowAverage`).
  double average(time_point now) const { return buckets_.average(bucket_index(now, granularity_)); }

  /// Knative `IsEmpty`: no write within `window` before `now`.
  bool is_empty(time_point now) const { return buckets_.is_empty(bucket_index(now, granularity_)); }

  /// Knative `ResizeWindow` as of `now`; a no-op when `window` is unchanged.
  void resize(duration window, time_point now) {
    if (window == window_) return;
    buckets_.resize(bucket_count_for(window, granularity_), idle_limit_for(window, granularity_),
                    bucket_index(now, granularity_));
    window_ = window;
  }

  /// Current window length.
  duration window() const { return window_; }

  /// Bucket width.
  duration granularity() const { return granularity_; }

  /// The buckets, for inspection.
  const Buckets& buckets() const { return buckets_; }

 private:
  duration window_;
  duration granularity_;
  Buckets buckets_;
};

}  // namespace scale::detail
