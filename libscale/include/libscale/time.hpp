#pragma once
/// Model time: integer nanoseconds since an epoch the caller chooses. The library never reads a clock.

#include <chrono>
#include <cstdint>

namespace scale {

using duration = std::chrono::nanoseconds;

/// Clock tag for model time. It has no now(): time is always an argument.
struct model_clock {
  using rep = scale::duration::rep;
  using period = scale::duration::period;
  using duration = scale::duration;
  using time_point = std::chrono::time_point<model_clock, scale::duration>;
  static constexpr bool is_steady = true;
};

using time_point = model_clock::time_point;

/// Time point `offset` after the model epoch.
constexpr time_point at(duration offset) { return time_point{offset}; }

/// Floor division for bucket indices: times before the epoch still map to the bucket that contains them
/// (Go's Time.Truncate rounds toward the zero time, which is far in the past, so it is a floor for every
/// timestamp Knative sees).
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/// Index of the `granularity`-wide bucket that contains `t`.
constexpr std::int64_t bucket_index(time_point t, duration granularity) {
  return floor_div(t.time_since_epoch().count(), granularity.count());
}

}  // namespace scale
