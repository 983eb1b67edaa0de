#pragma once
/// Latency distribution of a run: a Boost.Histogram on a log axis, mergeable across functions and threads.

#include <libscale/time.hpp>

#include <boost/histogram.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

namespace scale::sim {

/// Records latencies and answers quantiles. Bins are log-spaced from 1 µs to ~11.6 days, 100 per decade
/// (relative bin width 2.3 %); quantiles interpolate inside a bin. Count, mean, min and max are exact.
class latency_histogram {
 public:
  latency_histogram()
      : histogram_(boost::histogram::make_histogram(log_axis(bins, axis_min_ms, axis_max_ms))) {}

  /// Adds one latency.
  void record(duration latency) {
    const double ms = std::chrono::duration<double, std::milli>(latency).count();
    histogram_(std::clamp(ms, axis_min_ms, std::nextafter(axis_max_ms, 0.0)));
    ++count_;
    sum_ms_ += ms;
    min_ms_seen_ = std::min(min_ms_seen_, ms);
    max_ms_seen_ = std::max(max_ms_seen_, ms);
  }

  /// Adds everything `other` recorded.
  void merge(const latency_histogram& other) {
    histogram_ += other.histogram_;
    count_ += other.count_;
    sum_ms_ += other.sum_ms_;
    min_ms_seen_ = std::min(min_ms_seen_, other.min_ms_seen_);
    max_ms_seen_ = std::max(max_ms_seen_, other.max_ms_seen_);
  }

  /// Everything a histogram holds, for saving it exactly (`scalesim run --shard` files) and rebuilding it.
  struct state {
    /// (bin index, count) for every non-empty bin, in bin order.
    std::vector<std::pair<int, std::uint64_t>> bins;
    std::uint64_t count = 0;
    double sum_ms = 0;
    /// +infinity while empty.
    double min_ms = std::numeric_limits<double>::infinity();
    double max_ms = 0;
  };

  /// Number of bins; a `state` bin index is below it.
  static constexpr int bin_count() { return bins; }

  /// This histogram's state.
  state saved() const {
    state s{{}, count_, sum_ms_, min_ms_seen_, max_ms_seen_};
    for (int i = 0; i < bins; ++i) {
      const auto n = static_cast<std::uint64_t>(histogram_.at(i));
      if (n != 0) s.bins.emplace_back(i, n);
    }
    return s;
  }

  /// The histogram `saved()` described, or nullopt when `s` is inconsistent: a bin index out of range or
  /// repeated, or bin counts that do not add up to `count`.
  static std::optional<latency_histogram> restored(const state& s) {
    latency_histogram h;
    std::uint64_t in_bins = 0;
    int previous = -1;
    for (const auto& [index, n] : s.bins) {
      if (index <= previous || index >= bins) return std::nullopt;
      h.histogram_.at(index) = static_cast<double>(n);
      in_bins += n;
      previous = index;
    }
    if (in_bins != s.count) return std::nullopt;
    h.count_ = s.count;
    h.sum_ms_ = s.sum_ms;
    h.min_ms_seen_ = s.min_ms;
    h.max_ms_seen_ = s.max_ms;
    return h;
  }

  std::uint64_t count() const { return count_; }
  double mean_ms() const { return count_ == 0 ? 0.0 : sum_ms_ / static_cast<double>(count_); }
  double max_ms() const { return count_ == 0 ? 0.0 : max_ms_seen_; }
  double min_ms() const { return count_ == 0 ? 0.0 : min_ms_seen_; }

  /// The q-quantile (0 ≤ q ≤ 1) in milliseconds: the value below which a share q of the latencies lie,
  /// interpolated log-linearly inside its bin and clamped to the exact min and max. 0 when empty.
  double quantile_ms(double q) const {
    if (count_ == 0) return 0.0;
    const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(count_);
    double below = 0;
    for (auto&& bin : boost::histogram::indexed(histogram_)) {
      const double in_bin = *bin;
      if (in_bin > 0 && below + in_bin >= rank) {
        const double fraction = in_bin == 0 ? 0.0 : (rank - below) / in_bin;
        const double lower = bin.bin().lower();
        const double upper = bin.bin().upper();
        const double value = lower * std::pow(upper / lower, fraction);
        return std::clamp(value, min_ms_seen_, max_ms_seen_);
      }
      below += in_bin;
    }
    return max_ms_seen_;
  }

 private:
  static constexpr int bins = 1000;
  static constexpr double axis_min_ms = 1e-3;
  static constexpr double axis_max_ms = 1e7;

  using log_axis = boost::histogram::axis::regular<double, boost::histogram::axis::transform::log,
                                                   boost::histogram::use_default, boost::histogram::axis::option::none_t>;
  using histogram_type = decltype(boost::histogram::make_histogram(std::declval<log_axis>()));

  histogram_type histogram_;
  std::uint64_t count_ = 0;
  double sum_ms_ = 0;
  double min_ms_seen_ = std::numeric_limits<double>::infinity();
  double max_ms_seen_ = 0;
};

}  // namespace scale::sim
