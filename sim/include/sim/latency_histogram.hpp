#pragma once
/// Latency distribution of a run: a Boost.Histogram on a log axis, mergeable across functions and threads.

#include <libscale/time.hpp>

#include <boost/histogram.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
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
    // The bin Boost's fill would pick; out of range is not counted, as the axis has no flow bins.
    const int bin = bin_of(latency, std::clamp(ms, axis_min_ms, axis_top_ms));
    if (bin >= 0 && bin < bins) {
      ++boost::histogram::unsafe_access::storage(histogram_)[static_cast<std::size_t>(bin)];
    }
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
  /// The largest value below axis_max_ms (std::nextafter(axis_max_ms, 0.0), which is not constexpr).
  static constexpr double axis_top_ms = std::bit_cast<double>(std::bit_cast<std::uint64_t>(axis_max_ms) - 1);

  /// The axis's index of `x` = `latency` in ms clamped to [axis_min_ms, axis_top_ms], the same integer as
  /// `axis().index(x)`, mostly without its logarithm (two a request made it the costliest part of recording).
  // Exact by construction: a bin is taken from the table only when the latency lies inside it by a relative
  // margin of 1e-9, which moves the axis's scaled coordinate by 4e-8 bins, against rounding errors below 1e-12
  // bins in `index` (a logarithm within an ulp, then a subtraction, a division and a product) and 2e-16 in the
  // conversion to ms. Closer to an edge, and wherever the table's guess is off, the axis computes the index.
  // The table is looked up in nanoseconds, so the lookup does not wait for the division that makes `x`.
  int bin_of(duration latency, double x) const {
    const std::int64_t ns = latency.count();
    // At most 1 µs, x is the minimum, whose index is 0 without a logarithm: log(min) - log(min) = 0.
    if (ns <= bin_table::min_ns) return 0;
    if (ns >= bin_table::top_ns) return histogram_.axis().index(x);
    const bin_table& t = bin_table::get();
    const auto v = static_cast<double>(ns);  // exact: below 2^53
    const std::uint64_t cell = (std::bit_cast<std::uint64_t>(v) >> bin_table::cell_shift) - bin_table::first_cell;
    int bin = t.cell_first_bin[cell];
    // A cell is narrower than a bin, so it overlaps at most two.
    if (v >= t.safe_ns[static_cast<std::size_t>(bin) + 1].low) ++bin;
    const bin_table::range& r = t.safe_ns[static_cast<std::size_t>(bin)];
    if (r.low <= v && v < r.high) return bin;
    return histogram_.axis().index(x);
  }

  /// Per bin, the latencies in ns surely inside it; per cell of doubles (exponent and top 6 mantissa bits, 1.6 %
  /// wide against 2.3 % a bin), the bin where it starts. Built once, shared by every histogram (20 KB).
  struct bin_table {
    struct range {
      double low = 0;
      double high = 0;
    };
    /// At most this many ns, the latency in ms is at most axis_min_ms (1000 / 1e6 rounds to 1e-3).
    static constexpr std::int64_t min_ns = 1000;
    /// From this many ns on, the latency in ms is at least axis_max_ms and is clamped to axis_top_ms.
    static constexpr std::int64_t top_ns = 10'000'000'000'000;
    static constexpr int cell_shift = 52 - 6;
    static constexpr std::uint64_t first_cell = std::bit_cast<std::uint64_t>(double{min_ns}) >> cell_shift;
    static constexpr std::uint64_t last_cell = std::bit_cast<std::uint64_t>(double{top_ns}) >> cell_shift;
    static constexpr std::uint64_t cells = last_cell - first_cell + 1;

    /// bins + 1 ranges; the last one (beyond the axis) is never inside.
    std::vector<range> safe_ns;
    std::vector<std::uint16_t> cell_first_bin;

    static const bin_table& get() {
      static const bin_table table = make();
      return table;
    }

    static bin_table make() {
      constexpr double margin = 1e-9;
      const double log_min = std::log(axis_min_ms);
      const double log_width = (std::log(axis_max_ms) - log_min) / bins;
      std::vector<double> edges_ns(bins + 1);
      for (std::size_t i = 0; i <= bins; ++i) {
        edges_ns[i] = std::exp(log_min + static_cast<double>(i) * log_width) * 1e6;
      }
      bin_table t;
      t.safe_ns.resize(bins + 1);
      for (std::size_t i = 0; i < bins; ++i) {
        t.safe_ns[i] = {edges_ns[i] * (1 + margin), edges_ns[i + 1] * (1 - margin)};
      }
      t.safe_ns[bins] = {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
      t.cell_first_bin.resize(cells);
      for (std::uint64_t c = 0; c < cells; ++c) {
        const double start = std::bit_cast<double>((first_cell + c) << cell_shift);
        const auto above = std::upper_bound(edges_ns.begin(), edges_ns.end(), start) - edges_ns.begin();
        t.cell_first_bin[c] = static_cast<std::uint16_t>(std::clamp<std::ptrdiff_t>(above - 1, 0, bins - 1));
      }
      return t;
    }
  };

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
