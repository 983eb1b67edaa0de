#pragma once
/// Per-pod request statistics and their collection into a revision's stable and panic windows
/// (Knative `pkg/autoscaler/metrics`, `knative/networking pkg/http/stats`, and the activator's reporter).

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "libscale/decider_spec.hpp"
#include "libscale/linear_window.hpp"
#include "libscale/observed_values.hpp"
#include "libscale/time.hpp"
#include "libscale/weighted_window.hpp"
#include "libscale/window_algorithm.hpp"

namespace scale {

/// One statistic as the autoscaler receives it (Knative `metrics.Stat`): from one pod, from an
/// activator, or the scraper's extrapolated revision total.
struct pod_stat {
  /// Time-weighted mean number of requests in flight over the reporting period.
  double average_concurrency = 0;
  /// The same, counting only requests that came through an activator.
  double average_proxied_concurrency = 0;
  /// Requests that arrived in the period (per second for a queue-proxy, a raw count for an activator).
  double request_count = 0;
  /// The same, counting only requests that came through an activator.
  double proxied_request_count = 0;

  bool operator==(const pod_stat&) const = default;
};

namespace detail {

/// Go's `Duration.Seconds()`: whole seconds plus the nanosecond remainder / 1e9, which can differ in the
/// last bit from one division of the nanosecond count.
inline double go_seconds(duration d) {
  const std::int64_t whole = d.count() / 1'000'000'000;
  const std::int64_t rest = d.count() % 1'000'000'000;
  return static_cast<double>(whole) + static_cast<double>(rest) / 1e9;
}

}  // namespace detail

/// Kind of request event a `request_stats` sees (Knative `stats.ReqEventType`).
enum class request_event { in, out, proxied_in, proxied_out };

/// What a `request_stats` reports for one period (Knative `stats.RequestStatsReport`).
struct request_stats_report {
  double average_concurrency = 0;
  double average_proxied_concurrency = 0;
  /// Arrivals in the period (a count, not a rate).
  double request_count = 0;
  double proxied_request_count = 0;

  bool operator==(const request_stats_report&) const = default;
};

/// Time-weighted in-flight accounting for one pod or one activator (Knative `stats.RequestStats`):
/// ∫ concurrency dt / elapsed over each reporting period. Two 500 ms requests in one second average 1.
class request_stats {
 public:
  /// Accounting that starts at `started`.
  explicit request_stats(time_point started) : last_change_(started) {}

  /// Applies one event at `t`. A proxied arrival counts as an arrival too.
  void handle(time_point t, request_event event) {
    advance(t);
    switch (event) {
      case request_event::proxied_in:
        proxied_concurrency_ += 1;
        proxied_count_ += 1;
        [[fallthrough]];
      case request_event::in:
        request_count_ += 1;
        concurrency_ += 1;
        break;
      case request_event::proxied_out:
        proxied_concurrency_ -= 1;
        [[fallthrough]];
      case request_event::out:
        concurrency_ -= 1;
        break;
    }
  }

  /// Closes the period at `now`: the averages since the last report, then a fresh period.
  /// A period of zero length averages 0.
  request_stats_report report(time_point now) {
    advance(now);
    request_stats_report out{.request_count = request_count_, .proxied_request_count = proxied_count_};
    if (seconds_in_use_ > 0) {
      out.average_concurrency = concurrency_seconds_ / seconds_in_use_;
      out.average_proxied_concurrency = proxied_concurrency_seconds_ / seconds_in_use_;
    }
    concurrency_seconds_ = 0;
    proxied_concurrency_seconds_ = 0;
    request_count_ = 0;
    proxied_count_ = 0;
    seconds_in_use_ = 0;
    return out;
  }

  /// Requests in flight now.
  double concurrency() const { return concurrency_; }

 private:
  // Knative `RequestStats.compute`: events that arrive out of order (t before the last change) add no time.
  void advance(time_point t) {
    const duration since = t - last_change_;
    if (since <= duration::zero()) return;
    const double seconds = detail::go_seconds(since);
    seconds_in_use_ += seconds;
    concurrency_seconds_ += concurrency_ * seconds;
    proxied_concurrency_seconds_ += proxied_concurrency_ * seconds;
    last_change_ = t;
  }

  double concurrency_ = 0;
  double proxied_concurrency_ = 0;
  time_point last_change_;
  double request_count_ = 0;
  double proxied_count_ = 0;
  double concurrency_seconds_ = 0;
  double proxied_concurrency_seconds_ = 0;
  double seconds_in_use_ = 0;
};

/// The stat a queue-proxy serves for a period of length `period` (Knative
/// `queue.ProtobufStatsReporter.Report`): concurrencies as measured, counts turned into per-second rates.
inline pod_stat queue_proxy_stat(const request_stats_report& report, duration period) {
  const double seconds = detail::go_seconds(period);
  return pod_stat{.average_concurrency = report.average_concurrency,
                  .average_proxied_concurrency = report.average_proxied_concurrency,
                  .request_count = report.request_count / seconds,
                  .proxied_request_count = report.proxied_request_count / seconds};
}

/// One activator's reporting for one revision (Knative `handler.ConcurrencyReporter`). The first
/// request for a revision it is not tracking is pushed at once as concurrency 1 and one request, so the
/// autoscaler can scale from zero; the next periodic report takes that 1 back out. A revision is
/// forgotten after a period with zero average concurrency and nothing in flight.
class activator_reporter {
 public:
  /// A request arrived at `t`. Returns the stat to push immediately when the revision was not tracked.
  std::optional<pod_stat> request_arrived(time_point t) {
    std::optional<pod_stat> push;
    if (!stats_) {
      stats_.emplace(t);
      first_request_ = 1;
      push = pod_stat{.average_concurrency = 1, .request_count = 1};
    }
    stats_->handle(t, request_event::in);
    ++in_flight_;
    return push;
  }

  /// A request that arrived through `request_arrived` finished at `t`.
  void request_finished(time_point t) {
    if (!stats_) return;
    stats_->handle(t, request_event::out);
    --in_flight_;
  }

  /// The periodic report at `now` (every second in Knative), or nothing when the revision is not tracked.
  /// Concurrency is clamped at 0 after taking back the immediate push; the request count is not.
  std::optional<pod_stat> report(time_point now) {
    if (!stats_) return std::nullopt;
    const request_stats_report period = stats_->report(now);
    const double adjustment = first_request_;
    first_request_ = 0;
    const pod_stat out{.average_concurrency = std::max(period.average_concurrency - adjustment, 0.0),
                       .request_count = period.request_count - adjustment};
    if (period.average_concurrency == 0 && in_flight_ == 0) stats_.reset();
    return out;
  }

  /// True while the revision has an entry (so the next arrival is not pushed at once).
  bool tracking() const { return stats_.has_value(); }

 private:
  std::optional<request_stats> stats_;
  double first_request_ = 0;
  std::int64_t in_flight_ = 0;
};

/// How many of `population` ready pods a scrape samples (Knative `populationMeanSampleSize`): all of
/// them up to 3, else ceil(N·X / (N + X − 1)) with X = 1.96² · 100 / 5² = 15.3664.
/// 0→0, 1→1, 2→2, 5→4, 10→7, 100→14, 1000→16.
inline std::size_t population_mean_sample_size(std::size_t population) {
  if (population <= 3) return population;
  // Go folds 1.96 * 1.96 * 100 / (5 * 5) exactly at compile time; 15.3664 is that value.
  constexpr double unbounded_sample = 15.3664;
  const double n = static_cast<double>(population);
  return static_cast<std::size_t>(std::ceil(n * unbounded_sample / (n + unbounded_sample - 1)));
}

/// Which pods a direct scrape reads, as indices into `pod_ages` (Knative `serviceScraper.scrapePods` with
/// `PodIPsSplitByAge`): the sample size for all of them, old pods (age ≥ `stable_window`) first and young
/// pods only to fill. Knative shuffles the group it draws from; this keeps input order, so shuffle the
/// input for a random draw. Fills `picked` (cleared first, its storage reused: the simulator scrapes every second).
inline void pick_sample(std::span<const duration> pod_ages, duration stable_window, std::vector<std::size_t>& picked) {
  const std::size_t wanted = population_mean_sample_size(pod_ages.size());
  picked.clear();
  picked.reserve(wanted);
  for (int pass = 0; pass < 2; ++pass) {
    const bool want_old = pass == 0;
    for (std::size_t i = 0; i < pod_ages.size() && picked.size() < wanted; ++i) {
      if ((pod_ages[i] >= stable_window) == want_old) picked.push_back(i);
    }
  }
}

/// `pick_sample` into a new vector.
inline std::vector<std::size_t> pick_sample(std::span<const duration> pod_ages, duration stable_window) {
  std::vector<std::size_t> picked;
  pick_sample(pod_ages, stable_window, picked);
  return picked;
}

/// The revision total from a sample of pod stats (Knative `computeAverages`): each field summed over the
/// sample, divided by the sample size and multiplied by `ready_pods`. Nothing (no record) when there
/// are no ready pods or no sampled stats.
inline std::optional<pod_stat> extrapolate(std::span<const pod_stat> sampled, std::size_t ready_pods) {
  if (ready_pods == 0 || sampled.empty()) return std::nullopt;
  pod_stat sum;
  for (const pod_stat& s : sampled) {
    sum.average_concurrency += s.average_concurrency;
    sum.average_proxied_concurrency += s.average_proxied_concurrency;
    sum.request_count += s.request_count;
    sum.proxied_request_count += s.proxied_request_count;
  }
  // Knative divides by the sample first, then multiplies by the population.
  const double n = static_cast<double>(sampled.size());
  const double total = static_cast<double>(ready_pods);
  return pod_stat{.average_concurrency = sum.average_concurrency / n * total,
                  .average_proxied_concurrency = sum.average_proxied_concurrency / n * total,
                  .request_count = sum.request_count / n * total,
                  .proxied_request_count = sum.proxied_request_count / n * total};
}

/// What a window type must offer to serve in a `metric_collection` (Knative `windowAverager`).
template <class W>
concept averaging_window = requires(W w, const W cw, time_point t, duration d, double v) {
  w.record(t, v);
  w.resize(d, t);
  { cw.average(t) } -> std::convertible_to<double>;
  { cw.is_empty(t) } -> std::convertible_to<bool>;
  { cw.window() } -> std::convertible_to<duration>;
};

static_assert(averaging_window<linear_window>);
static_assert(averaging_window<weighted_window>);

/// A revision's four metric windows (Knative `metrics.collection`): stable and panic, for concurrency
/// and for requests per second, all in 1 s buckets.
class metric_collection {
 public:
  /// Knative `config.BucketSize`.
  static constexpr duration bucket_size = std::chrono::seconds{1};

  /// Windows of `stable_window` and `panic_window`, averaged by `algorithm`. Without a scrape target
  /// (Knative: TBC = −1, no scraper) empty windows read as zeros instead of "no data".
  metric_collection(duration stable_window, duration panic_window,
                    window_algorithm algorithm = window_algorithm::linear, bool has_scrape_target = true)
      : concurrency_stable_(make_window(stable_window, algorithm)),
        concurrency_panic_(make_window(panic_window, algorithm)),
        rps_stable_(make_window(stable_window, algorithm)),
        rps_panic_(make_window(panic_window, algorithm)),
        algorithm_(algorithm),
        has_scrape_target_(has_scrape_target) {}

  /// Records one stat at `t` (Knative `collection.record`): concurrency minus proxied concurrency, and
  /// requests minus proxied requests, because the activators report the proxied load themselves.
  void record(time_point t, const pod_stat& stat) {
    const double concurrency = stat.average_concurrency - stat.average_proxied_concurrency;
    const double rps = stat.request_count - stat.proxied_request_count;
    record_into(concurrency_stable_, t, concurrency);
    record_into(concurrency_panic_, t, concurrency);
    record_into(rps_stable_, t, rps);
    record_into(rps_panic_, t, rps);
  }

  /// Stable and panic averages of `metric` as of `now`, or nothing ("no data", Knative `ErrNoData`)
  /// when there is a scrape target and the metric's stable window is empty.
  std::optional<observed_values> stable_and_panic(time_point now, scaling_metric metric) const {
    const window& stable = metric == scaling_metric::rps ? rps_stable_ : concurrency_stable_;
    const window& panic = metric == scaling_metric::rps ? rps_panic_ : concurrency_panic_;
    const bool empty = std::visit([now](const auto& w) { return w.is_empty(now); }, stable);
    if (empty && has_scrape_target_) return std::nullopt;
    return observed_values{.stable = std::visit([now](const auto& w) { return w.average(now); }, stable),
                           .panic = std::visit([now](const auto& w) { return w.average(now); }, panic)};
  }

  /// New window lengths as of `now` (Knative `collection.updateMetric`); unchanged lengths keep their data.
  void update_windows(duration stable_window, duration panic_window, time_point now) {
    resize(concurrency_stable_, stable_window, now);
    resize(concurrency_panic_, panic_window, now);
    resize(rps_stable_, stable_window, now);
    resize(rps_panic_, panic_window, now);
  }

  /// Whether the revision has a scrape target (it changes with the target burst capacity).
  void set_has_scrape_target(bool has_scrape_target) { has_scrape_target_ = has_scrape_target; }
  bool has_scrape_target() const { return has_scrape_target_; }

  window_algorithm algorithm() const { return algorithm_; }
  duration stable_window() const { return window_of(concurrency_stable_); }
  duration panic_window() const { return window_of(concurrency_panic_); }

 private:
  using window = std::variant<linear_window, weighted_window>;

  static window make_window(duration length, window_algorithm algorithm) {
    if (algorithm == window_algorithm::weighted_exponential) {
      return window{std::in_place_type<weighted_window>, length, bucket_size};
    }
    return window{std::in_place_type<linear_window>, length, bucket_size};
  }
  static void record_into(window& w, time_point t, double value) {
    std::visit([t, value](auto& x) { x.record(t, value); }, w);
  }
  static void resize(window& w, duration length, time_point now) {
    std::visit([length, now](auto& x) { x.resize(length, now); }, w);
  }
  static duration window_of(const window& w) {
    return std::visit([](const auto& x) { return x.window(); }, w);
  }

  window concurrency_stable_;
  window concurrency_panic_;
  window rps_stable_;
  window rps_panic_;
  window_algorithm algorithm_;
  bool has_scrape_target_;
};

}  // namespace scale
