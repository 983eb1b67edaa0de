#pragma once
/// The hybrid histogram keep-alive policy of Shahrad et al., "Serverless in the Wild: Characterizing and
/// Optimizing the Serverless Workload at a Large Cloud Provider", USENIX ATC 2020, §4.2: a per-function
/// histogram of idle times gives a pre-warm window (when to load the function again after it went idle) and a
/// keep-alive window (how long to keep it loaded then); when too many idle times fall outside the histogram a
/// time-series forecast of the next idle time replaces it, and while the histogram is not representative (or
/// has too few samples) a fixed keep-alive is used. docs/policies.md lists each rule with its source.

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "libscale/detail/warm_pool.hpp"
#include "libscale/metric_collector.hpp"
#include "libscale/scaling_policy.hpp"
#include "libscale/time.hpp"

namespace scale {

/// What the policy does while the histogram is not representative (its coefficient of variation is below the
/// threshold).
enum class hybrid_unrepresentative {
  /// The paper's choice as we read §4.2: a standard keep-alive (no pre-warm, `hybrid_spec::fallback`).
  keepalive,
  /// Use the time-series forecast, as for out-of-bounds idle times.
  forecast,
};

/// Knobs of the hybrid histogram policy (`--set hybrid.KEY=VALUE`). Defaults are the paper's unless noted.
struct hybrid_spec {
  /// `hybrid.bin`: histogram bin width; 1 minute in the paper (§4.2).
  duration bin = std::chrono::minutes{1};
  /// `hybrid.range`: histogram range; idle times at or beyond it are out of bounds. 4 hours in the paper (§4.2).
  duration range = std::chrono::hours{4};
  /// `hybrid.head`: percentile of the idle times that sets the pre-warm window; 5 in the paper (§4.2).
  double head_percent = 5;
  /// `hybrid.tail`: percentile that sets the end of the keep-alive window; 99 in the paper (§4.2).
  double tail_percent = 99;
  /// `hybrid.margin`: the pre-warm window is shortened and the keep-alive end lengthened by this share; 10 % in
  /// the paper (§4.2).
  double margin = 0.10;
  /// `hybrid.cv`: the histogram is representative when the coefficient of variation of its bin counts is at
  /// least this; 2 in the paper (§4.2).
  double cv_threshold = 2.0;
  /// `hybrid.oob`: share of out-of-bounds idle times from which the forecast replaces the histogram. The paper
  /// says "many" without a number; 0.5 is our choice (also that of the dslab-faas reimplementation).
  double oob_share = 0.5;
  /// `hybrid.min_samples`: fewer idle times than this and the fixed keep-alive is used. The paper gives no
  /// number; 10 is our choice.
  std::int32_t min_samples = 10;
  /// `hybrid.fallback`: keep-alive of the fixed fallback (no pre-warm). The paper's standard keep-alive for an
  /// uncertain pattern is the histogram range, 4 hours (§4.2).
  duration fallback = std::chrono::hours{4};
  /// `hybrid.unrepresentative`: what a non-representative histogram falls back to.
  hybrid_unrepresentative unrepresentative = hybrid_unrepresentative::keepalive;
  /// `hybrid.forecast_margin`: the forecast case pre-warms at (1 - m) × predicted idle time and keeps the
  /// function loaded for 2 m × predicted; 15 % in the paper (§4.2).
  double forecast_margin = 0.15;
  /// `hybrid.ar_order`: order p of the autoregressive forecaster (ours; the paper fits ARIMA).
  std::int32_t ar_order = 2;
  /// `hybrid.history`: idle times the forecaster fits on, newest first kept (ours).
  std::int32_t history = 64;

  bool operator==(const hybrid_spec&) const = default;
};

/// A range-limited histogram of idle times: `bins` bins of equal width from 0, and a count of out-of-bounds
/// idle times (at or beyond the range).
class idle_time_histogram {
 public:
  idle_time_histogram(duration bin, duration range)
      : bin_(bin),
        counts_(static_cast<std::size_t>(std::max<std::int64_t>(1, range / bin)), 0),
        prefix_tree_(counts_.size() + 1, 0) {}

  /// Adds one idle time (negative counts as 0).
  void add(duration idle) {
    const std::int64_t i = std::max<std::int64_t>(0, idle / bin_);
    if (i >= static_cast<std::int64_t>(counts_.size())) {
      ++out_of_bounds_;
      return;
    }
    std::int64_t& count = counts_[static_cast<std::size_t>(i)];
    sum_of_squares_ += 2 * count + 1;  // (c + 1)^2 - c^2
    ++count;
    ++in_bounds_;
    for (std::size_t k = static_cast<std::size_t>(i) + 1; k < prefix_tree_.size(); k += k & (~k + 1)) ++prefix_tree_[k];
  }

  /// Index of the first bin at which the cumulative share of in-bounds idle times reaches `percent`; nullopt
  /// when the histogram is empty.
  std::optional<std::size_t> percentile_bin(double percent) const {
    if (in_bounds_ == 0) return std::nullopt;
    // cumulative / total >= percent / 100, in exact integer-valued doubles. The cumulative count only grows
    // with the bin, so a descent of the prefix-sum (Fenwick) tree finds the longest prefix still below it:
    // the same bin as a scan, in O(log bins) per completion instead of O(bins).
    const double threshold = percent * static_cast<double>(in_bounds_);
    const std::size_t n = counts_.size();
    std::size_t below = 0;  // bins whose cumulative count is still under the threshold
    std::int64_t cumulative = 0;
    for (std::size_t step = std::bit_floor(n); step > 0; step >>= 1) {
      const std::size_t next = below + step;
      if (next <= n && static_cast<double>(cumulative + prefix_tree_[next]) * 100.0 < threshold) {
        below = next;
        cumulative += prefix_tree_[next];
      }
    }
    return std::min(below, n - 1);
  }

  /// Coefficient of variation of the bin counts (population standard deviation over the mean, every bin
  /// counted); 0 when the histogram is empty. The paper does not say which standard deviation; with 240 bins
  /// the two differ by 0.2 %.
  double coefficient_of_variation() const {
    if (in_bounds_ == 0) return 0;
    const double n = static_cast<double>(counts_.size());
    const double mean = static_cast<double>(in_bounds_) / n;
    double squares = 0;
    for (const std::int64_t c : counts_) squares += (static_cast<double>(c) - mean) * (static_cast<double>(c) - mean);
    return std::sqrt(squares / n) / mean;
  }

  /// Whether `coefficient_of_variation() < threshold`, in O(1) from the running sum of squared counts
  /// (CV^2 = (bins x sum c^2 - total^2) / total^2); within 1e-6 of the threshold the per-bin sum above decides,
  /// so the answer is always the same as comparing `coefficient_of_variation()`.
  bool coefficient_of_variation_below(double threshold) const {
    if (in_bounds_ == 0) return 0.0 < threshold;
    const double total = static_cast<double>(in_bounds_);
    const double spread = static_cast<double>(counts_.size()) * static_cast<double>(sum_of_squares_) - total * total;
    const double cv = std::sqrt(std::max(0.0, spread)) / total;
    if (std::abs(cv - threshold) > 1e-6 * std::max(1.0, std::abs(threshold))) return cv < threshold;
    return coefficient_of_variation() < threshold;
  }

  std::int64_t in_bounds() const { return in_bounds_; }
  std::int64_t out_of_bounds() const { return out_of_bounds_; }
  std::int64_t total() const { return in_bounds_ + out_of_bounds_; }
  duration bin() const { return bin_; }
  std::size_t bins() const { return counts_.size(); }

 private:
  duration bin_;
  std::vector<std::int64_t> counts_;
  std::vector<std::int64_t> prefix_tree_;  // Fenwick tree over counts_, 1-based
  std::int64_t sum_of_squares_ = 0;        // sum of counts_[i]^2
  std::int64_t in_bounds_ = 0;
  std::int64_t out_of_bounds_ = 0;
};

/// The next value of `series` predicted by an autoregressive model of order p with intercept,
/// x[t] = c + a1 x[t-1] + ... + ap x[t-p], fitted by ordinary least squares (normal equations, Gaussian
/// elimination with partial pivoting). This is not ARIMA: there is no differencing and no moving-average part.
/// The order is lowered while there are fewer than 2p + 1 values or the fit is singular (a constant series);
/// below order 1 the forecast is the mean. Never negative. nullopt for an empty series.
// The solver is a few lines of std rather than Eigen so that libscale stays dependency-free; p is tiny.
inline std::optional<double> ar_forecast(std::span<const double> series, std::int32_t order) {
  if (series.empty()) return std::nullopt;
  const std::size_t n = series.size();
  for (std::size_t p = static_cast<std::size_t>(std::max(0, order)); p >= 1; --p) {
    if (n < 2 * p + 1) continue;
    const std::size_t k = p + 1;  // intercept and p lags
    std::vector<double> a(k * (k + 1), 0.0);  // augmented [X'X | X'y], row-major
    std::vector<double> row(k);
    for (std::size_t t = p; t < n; ++t) {
      row[0] = 1.0;
      for (std::size_t j = 1; j <= p; ++j) row[j] = series[t - j];
      for (std::size_t r = 0; r < k; ++r) {
        for (std::size_t c = 0; c < k; ++c) a[r * (k + 1) + c] += row[r] * row[c];
        a[r * (k + 1) + k] += row[r] * series[t];
      }
    }
    double scale_of = 0;
    for (std::size_t r = 0; r < k; ++r) scale_of = std::max(scale_of, std::abs(a[r * (k + 1) + r]));
    bool singular = false;
    for (std::size_t c = 0; c < k && !singular; ++c) {
      std::size_t pivot = c;
      for (std::size_t r = c + 1; r < k; ++r) {
        if (std::abs(a[r * (k + 1) + c]) > std::abs(a[pivot * (k + 1) + c])) pivot = r;
      }
      if (std::abs(a[pivot * (k + 1) + c]) <= 1e-9 * scale_of) {
        singular = true;
        break;
      }
      if (pivot != c) {
        for (std::size_t j = 0; j <= k; ++j) std::swap(a[c * (k + 1) + j], a[pivot * (k + 1) + j]);
      }
      for (std::size_t r = c + 1; r < k; ++r) {
        const double f = a[r * (k + 1) + c] / a[c * (k + 1) + c];
        for (std::size_t j = c; j <= k; ++j) a[r * (k + 1) + j] -= f * a[c * (k + 1) + j];
      }
    }
    if (singular) continue;
    std::vector<double> beta(k);
    for (std::size_t r = k; r-- > 0;) {
      double s = a[r * (k + 1) + k];
      for (std::size_t j = r + 1; j < k; ++j) s -= a[r * (k + 1) + j] * beta[j];
      beta[r] = s / a[r * (k + 1) + r];
    }
    double next = beta[0];
    for (std::size_t j = 1; j <= p; ++j) next += beta[j] * series[n - j];
    return std::max(0.0, next);
  }
  double sum = 0;
  for (const double x : series) sum += x;
  return std::max(0.0, sum / static_cast<double>(n));
}

/// Which rule set the windows.
enum class hybrid_mode {
  /// Too few idle times yet: fixed keep-alive.
  warmup,
  /// The histogram's head and tail.
  histogram,
  /// Too many out-of-bounds idle times: the forecast.
  forecast,
  /// The histogram is not representative: fixed keep-alive (or the forecast, per the spec).
  unrepresentative,
};

/// What a pod that goes idle does: stays unloaded for `prewarm`, then loaded for `keepalive`.
struct hybrid_windows {
  duration prewarm{};
  duration keepalive{};
  hybrid_mode mode = hybrid_mode::warmup;

  bool operator==(const hybrid_windows&) const = default;
};

namespace detail {

inline duration scaled(duration d, double factor) {
  return duration{static_cast<duration::rep>(std::llround(static_cast<double>(d.count()) * factor))};
}

inline hybrid_windows forecast_windows(std::span<const double> idle_seconds, const hybrid_spec& spec,
                                       hybrid_mode mode) {
  const double predicted_s = ar_forecast(idle_seconds, spec.ar_order).value_or(0.0);
  const duration predicted = duration{static_cast<duration::rep>(std::llround(predicted_s * 1e9))};
  return {scaled(predicted, 1.0 - spec.forecast_margin), scaled(predicted, 2.0 * spec.forecast_margin), mode};
}

}  // namespace detail

/// The windows for the histogram and idle-time history so far (`idle_seconds`: the most recent idle times, in
/// seconds, oldest first), following §4.2 in this order:
///  1. fewer than `min_samples` idle times: no pre-warm, keep-alive `fallback`;
///  2. out-of-bounds share at least `oob_share`: forecast f of the next idle time; pre-warm (1 - m) f,
///     keep-alive 2 m f, m = `forecast_margin`;
///  3. coefficient of variation below `cv_threshold`: no pre-warm, keep-alive `fallback` (or the forecast);
///  4. otherwise head bin h and tail bin t at `head_percent` and `tail_percent`: pre-warm = h × bin × (1 - margin)
///     (the head bin's lower edge, shortened), keep-alive ends at (t + 1) × bin × (1 + margin) (the tail bin's
///     upper edge, lengthened), so keep-alive = that end - pre-warm.
inline hybrid_windows compute_hybrid_windows(const idle_time_histogram& histogram,
                                             std::span<const double> idle_seconds, const hybrid_spec& spec) {
  const std::int64_t total = histogram.total();
  if (total < spec.min_samples || total == 0) return {duration::zero(), spec.fallback, hybrid_mode::warmup};
  const double oob = static_cast<double>(histogram.out_of_bounds()) / static_cast<double>(total);
  if (oob >= spec.oob_share) return detail::forecast_windows(idle_seconds, spec, hybrid_mode::forecast);
  if (histogram.coefficient_of_variation_below(spec.cv_threshold)) {
    if (spec.unrepresentative == hybrid_unrepresentative::forecast) {
      return detail::forecast_windows(idle_seconds, spec, hybrid_mode::unrepresentative);
    }
    return {duration::zero(), spec.fallback, hybrid_mode::unrepresentative};
  }
  const auto head = histogram.percentile_bin(spec.head_percent);
  const auto tail = histogram.percentile_bin(spec.tail_percent);
  const duration prewarm = detail::scaled(histogram.bin() * static_cast<std::int64_t>(*head), 1.0 - spec.margin);
  const duration end = detail::scaled(histogram.bin() * static_cast<std::int64_t>(*tail + 1), 1.0 + spec.margin);
  return {prewarm, std::max(duration::zero(), end - prewarm), hybrid_mode::histogram};
}

/// The hybrid histogram policy for one function. An idle time is the time from the moment the function had no
/// request left to the next arrival (0 for an arrival while a request is in flight); each arrival after the
/// first adds one. Each pod that goes idle follows the windows computed at that moment; pods are one per
/// request in flight, as in the fixed keep-alive policy (the paper reasons about one application instance:
/// with one request at a time the two agree).
class hybrid_histogram_policy {
 public:
  explicit hybrid_histogram_policy(const hybrid_spec& spec = {})
      : spec_(spec), histogram_(spec.bin, spec.range) {}

  bool uses_stats() const { return false; }
  /// `decide` reads only the pool, which changes at its `wake_at` or on an arrival or a completion.
  static constexpr bool decisions_hold_until_observed = true;

  void on_arrival(time_point now) {
    if (seen_arrival_) {
      const duration idle = pool_.busy() > 0 ? duration::zero() : now - idle_since_;
      histogram_.add(idle);
      history_.push_back(std::chrono::duration<double>(idle).count());
      const auto keep = static_cast<std::size_t>(std::max<std::int32_t>(1, spec_.history));
      if (history_.size() - history_start_ > keep) ++history_start_;
      // Drop the forgotten head only once it is as long as the kept part: O(1) amortised per arrival.
      if (history_start_ >= keep) {
        history_.erase(history_.begin(), history_.begin() + static_cast<std::ptrdiff_t>(history_start_));
        history_start_ = 0;
      }
      windows_stale_ = true;
    }
    seen_arrival_ = true;
    last_warm_ = pool_.acquire(now);
  }

  void on_completion(time_point now) {
    // Only arrivals change the histogram and the history, so completions between two arrivals share windows.
    if (windows_stale_) {
      last_windows_ = compute_hybrid_windows(
          histogram_, std::span<const double>(history_).subspan(history_start_), spec_);
      windows_stale_ = false;
    }
    pool_.release(now, last_windows_.prewarm, last_windows_.keepalive);
    if (pool_.busy() == 0) idle_since_ = now;
  }

  void on_stat(time_point, const pod_stat&, bool) {}

  policy_decision decide(time_point now, const pod_counts&) {
    pool_.expire(now);
    // The wake time is set as a value, not copied as an optional: a 16-byte copy of an optional just written
    // piecewise stalls on store forwarding, on the simulator's per-event path.
    policy_decision d{pool_.pods(now), std::nullopt, false};
    if (const std::optional<time_point> next = pool_.next_change(now)) d.wake_at = *next;
    return d;
  }
  policy_decision on_timer(time_point now, const pod_counts& pods) { return decide(now, pods); }

  /// Whether the last arrival found a loaded pod.
  bool last_arrival_warm() const { return last_warm_; }
  /// The windows the last completion used.
  const hybrid_windows& last_windows() const { return last_windows_; }
  const idle_time_histogram& histogram() const { return histogram_; }
  const hybrid_spec& spec() const { return spec_; }

 private:
  hybrid_spec spec_;
  idle_time_histogram histogram_;
  std::vector<double> history_;   // idle times in seconds, oldest first, from history_start_ on
  std::size_t history_start_ = 0;
  detail::warm_pool pool_;
  time_point idle_since_{};
  bool seen_arrival_ = false;
  bool last_warm_ = false;
  hybrid_windows last_windows_{};
  bool windows_stale_ = true;
};

static_assert(scaling_policy<hybrid_histogram_policy>);

}  // namespace scale
