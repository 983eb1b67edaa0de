#pragma once
/// Time-bucketed weighted-exponential average (Knative `aggregation.WeightedFloat64Buckets`).

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "libscale/linear_window.hpp"
#include "libscale/time.hpp"

namespace scale {

namespace detail {

/// `x` to the power `n` (n ≥ 0) by the steps Go's `math.Pow` takes for a whole exponent: repeated
/// squaring of the mantissa with the exponent kept apart. Knative's weighted average raises
/// (1 − m) to the number of silent buckets this way; std::pow may differ in the last bits.
inline double go_pow_whole(double x, std::int64_t n) {
  if (n == 0 || x == 1.0) return 1.0;
  if (n == 1) return x;
  double acc = 1.0;
  int acc_exp = 0;
  int x_exp = 0;
  double x_mant = std::frexp(x, &x_exp);
  for (std::int64_t i = n; i != 0; i >>= 1) {
    if (x_exp < -(1 << 12) || (1 << 12) < x_exp) {
      acc_exp += x_exp;
      break;
    }
    if ((i & 1) == 1) {
      acc *= x_mant;
      acc_exp += x_exp;
    }
    x_mant *= x_mant;
    x_exp <<= 1;
    if (x_mant < 0.5) {
      x_mant += x_mant;
      --x_exp;
    }
  }
  return std::ldexp(acc, acc_exp);
}

}  // namespace detail

/// Smoothing coefficient m for `bucket_count` buckets (Knative `computeSmoothingCoeff`): the decay
/// at which the newest `bucket_count` weights add up to 0.9999, but never below 0.2.
/// nb=5 → 0.84151…, 6 → 0.78456…, 40 → 0.20567…, ≥ 60 → 0.2.
inline double smoothing_coefficient(std::int64_t bucket_count) {
  // Knative writes the base as 1 − 0.9999, which Go folds to exactly 1e-4 at compile time.
  constexpr double base = 1e-4;
  const double exponent = 1.0 / static_cast<double>(bucket_count);
  // Go's math.Pow: exponent 1 returns the base, 1/2 a square root, and a fractional exponent
  // below 1/2 exp(exponent · log(base)); mirroring those steps keeps the same bits.
  double power = 0.0;
  if (exponent == 1.0) {
    power = base;
  } else if (exponent == 0.5) {
    power = std::sqrt(base);
  } else {
    power = std::exp(exponent * std::log(base));
  }
  return std::max(1.0 - power, 0.2);
}

/// Knative's weighted-exponential window on integer bucket indices: the same ring and record rules as
/// `linear_buckets`, averaged with weights m·(1 − m)^age, newest first.
class weighted_buckets {
 public:
  /// See `linear_buckets(bucket_count, idle_limit)`.
  explicit weighted_buckets(std::int64_t bucket_count, std::int64_t idle_limit)
      : ring_(bucket_count, idle_limit), smoothing_(smoothing_coefficient(ring_.bucket_count())) {}

  /// A window of exactly `bucket_count` buckets.
  explicit weighted_buckets(std::int64_t bucket_count) : weighted_buckets(bucket_count, bucket_count) {}

  /// Adds `value` to bucket `bucket` (same rules as `linear_buckets::record`).
  void record(std::int64_t bucket, double value) { ring_.record(bucket, value); }

  /// Σ m·(1 − m)^(k + z) · bucket(newest − k) over the buckets still inside the window, where z is the
  /// number of buckets `now` lies past the newest write (Knative `WeightedFloat64Buckets.WindowAverage`).
  /// Not normalised and not rounded: one bucket of v reads m·v. O(bucket_count()).
  double average(std::int64_t now) const {
    if (ring_.is_empty(now)) return 0.0;
    const std::int64_t newest = *ring_.last_write();
    std::int64_t count = ring_.bucket_count();
    double weight = smoothing_;
    if (now > newest) {
      const std::int64_t silent = now - newest;
      weight *= detail::go_pow_whole(1.0 - smoothing_, silent);
      count -= silent;
    }
    double sum = 0.0;
    for (std::int64_t k = 0; k < count; ++k) {
      sum += ring_.bucket(newest - k) * weight;
      weight *= 1.0 - smoothing_;
    }
    return sum;
  }

  /// See `linear_buckets::is_empty`.
  bool is_empty(std::int64_t now) const { return ring_.is_empty(now); }

  /// Knative `WeightedFloat64Buckets.ResizeWindow`: the ring resize, then a new coefficient.
  void resize(std::int64_t bucket_count, std::int64_t idle_limit, std::int64_t now) {
    ring_.resize(bucket_count, idle_limit, now);
    smoothing_ = smoothing_coefficient(ring_.bucket_count());
  }

  /// The smoothing coefficient m in use.
  double smoothing() const { return smoothing_; }

  /// The underlying ring, for inspection.
  const linear_buckets& ring() const { return ring_; }

 private:
  linear_buckets ring_;
  double smoothing_;
};

/// Weighted-exponential average of values recorded over the last `window` of model time (Knative
/// `WeightedFloat64Buckets`): `weighted_buckets` behind the same time adapter as `linear_window`.
using weighted_window = detail::timed_window<weighted_buckets>;

}  // namespace scale
