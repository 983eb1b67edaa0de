#include "libscale/hybrid_histogram_policy.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

namespace {

using namespace std::chrono_literals;
using scale::ar_forecast;
using scale::compute_hybrid_windows;
using scale::duration;
using scale::hybrid_histogram_policy;
using scale::hybrid_mode;
using scale::hybrid_spec;
using scale::hybrid_unrepresentative;
using scale::hybrid_windows;
using scale::idle_time_histogram;
using scale::policy_decision;
using scale::time_point;

time_point at(duration d) { return time_point{d}; }

// 18 idle times in the 10-minute bin, one in the 2-minute bin, one in the 30-minute bin: 20 in all.
idle_time_histogram known_histogram() {
  idle_time_histogram h(1min, 4h);
  h.add(2min + 30s);
  for (int i = 0; i < 18; ++i) h.add(10min + 5s);
  h.add(30min + 59s);
  return h;
}

TEST_CASE("hybrid: the histogram has 240 one-minute bins — 4 h and beyond is out of bounds") {
  idle_time_histogram h(1min, 4h);
  CHECK(h.bins() == 240);
  h.add(4h - 1ns);
  h.add(4h);
  h.add(-5s);  // counts as 0
  CHECK(h.in_bounds() == 2);
  CHECK(h.out_of_bounds() == 1);
  CHECK(h.percentile_bin(100) == std::optional<std::size_t>{239});
  CHECK(h.percentile_bin(50) == std::optional<std::size_t>{0});
}

TEST_CASE("hybrid: percentiles, coefficient of variation and windows of a known histogram") {
  const idle_time_histogram h = known_histogram();
  // Head 5 %: 5 % of 20 = 1 idle time; the cumulative count reaches 1 at bin 2.
  CHECK(h.percentile_bin(5) == std::optional<std::size_t>{2});
  // Tail 99 %: 19.8 idle times; bin 10 reaches 19, bin 30 reaches 20.
  CHECK(h.percentile_bin(99) == std::optional<std::size_t>{30});
  // CV: counts 18, 1, 1 and 237 zeros; mean 20/240 = 1/12.
  // Sum of squares = (18 - 1/12)^2 + 2 (1 - 1/12)^2 + 237 (1/12)^2 = (46225 + 242 + 237) / 144 = 46704 / 144.
  // Variance = 46704 / 144 / 240; CV = sqrt(variance) × 12 = 13.9463...
  CHECK(h.coefficient_of_variation() == doctest::Approx(std::sqrt(46704.0 / 144.0 / 240.0) * 12.0));
  CHECK(h.coefficient_of_variation() > 2.0);
  // Pre-warm: head bin 2's lower edge, 2 min, less 10 % = 108 s.
  // Keep-alive end: tail bin 30's upper edge, 31 min = 1860 s, plus 10 % = 2046 s; keep-alive = 2046 - 108 = 1938 s.
  const std::vector<double> none;
  CHECK(compute_hybrid_windows(h, none, hybrid_spec{}) == hybrid_windows{108s, 1938s, hybrid_mode::histogram});
}

TEST_CASE("hybrid: the O(log n) percentile and O(1) CV test agree with a scan of the bins") {
  // The reference is the definition: the first bin whose cumulative count reaches percent % of the in-bounds
  // idle times (scanned), and the per-bin CV compared with the threshold.
  std::mt19937_64 rng(20261127);
  for (int trial = 0; trial < 300; ++trial) {
    const auto bins = std::uniform_int_distribution<int>(1, 300)(rng);
    idle_time_histogram h(1min, bins * 1min);
    std::vector<std::int64_t> counts(static_cast<std::size_t>(bins), 0);
    const int adds = std::uniform_int_distribution<int>(0, 400)(rng);
    // Skewed idle times: most in a few bins, some spread out, some out of bounds.
    std::geometric_distribution<int> skewed(trial % 2 == 0 ? 0.3 : 0.02);
    for (int a = 0; a < adds; ++a) {
      const int bin = std::min(skewed(rng), bins + 2);
      h.add(bin * 1min + 7s);
      if (bin < bins) ++counts[static_cast<std::size_t>(bin)];
    }
    for (const double percent : {0.0, 1.0, 5.0, 33.3, 50.0, 99.0, 99.9, 100.0, 120.0}) {
      CAPTURE(trial);
      CAPTURE(percent);
      std::optional<std::size_t> expected;
      if (h.in_bounds() > 0) {
        std::int64_t cumulative = 0;
        expected = counts.size() - 1;
        for (std::size_t i = 0; i < counts.size(); ++i) {
          cumulative += counts[i];
          if (static_cast<double>(cumulative) * 100.0 >= percent * static_cast<double>(h.in_bounds())) {
            expected = i;
            break;
          }
        }
      }
      CHECK(h.percentile_bin(percent) == expected);
    }
    const double cv = h.coefficient_of_variation();
    for (const double threshold : {0.0, 0.5, 2.0, 5.0, cv, std::nextafter(cv, 0.0), std::nextafter(cv, 100.0)}) {
      CAPTURE(threshold);
      CHECK(h.coefficient_of_variation_below(threshold) == (cv < threshold));
    }
  }
}

TEST_CASE("hybrid: a head in bin 0 means no pre-warm: the pod stays loaded until the keep-alive end") {
  idle_time_histogram h(1min, 4h);
  for (int i = 0; i < 10; ++i) h.add(20s);
  // Head and tail both bin 0: pre-warm 0 × 0.9 = 0; keep-alive end 1 min × 1.1 = 66 s.
  CHECK(compute_hybrid_windows(h, {}, hybrid_spec{}) == hybrid_windows{0s, 66s, hybrid_mode::histogram});
}

TEST_CASE("hybrid: fallbacks") {
  struct row {
    const char* name;
    idle_time_histogram histogram;
    std::vector<double> idle_seconds;
    hybrid_spec spec;
    hybrid_windows expected;
  };
  // Too few: 9 idle times < 10 samples: fixed keep-alive 4 h, no pre-warm.
  idle_time_histogram few(1min, 4h);
  for (int i = 0; i < 9; ++i) few.add(10min);
  // Not representative: one idle time in every 4th bin (60 of 240 bins): mean 1/4, variance 1/4 × 3/4 = 3/16,
  // CV = sqrt(3/16) / (1/4) = sqrt(3) = 1.73 < 2.
  idle_time_histogram flat(1min, 4h);
  for (int i = 0; i < 60; ++i) flat.add(std::chrono::minutes{4 * i});
  // Out of bounds: 10 idle times of 5 h, all beyond 4 h (share 1 >= 0.5). The series is constant, so every AR
  // fit is singular and the forecast is the mean, 5 h = 18000 s: pre-warm 0.85 × 18000 = 15300 s, keep-alive
  // 0.30 × 18000 = 5400 s.
  idle_time_histogram oob(1min, 4h);
  for (int i = 0; i < 10; ++i) oob.add(5h);
  const std::vector<double> five_hours(10, 18000.0);
  // Out of bounds at exactly half: 5 of 10 beyond 4 h; the others at 1 h. Series alternating 3600, 18000
  // (ending 18000): AR(2) is singular (x[t-1] + x[t-2] is constant), AR(1) fits x[t] = 21600 - x[t-1]
  // exactly: forecast 3600 s; pre-warm 3060 s, keep-alive 1080 s.
  idle_time_histogram half(1min, 4h);
  std::vector<double> alternating;
  for (int i = 0; i < 5; ++i) {
    half.add(1h);
    half.add(5h);
    alternating.push_back(3600);
    alternating.push_back(18000);
  }
  hybrid_spec forecast_flat;
  forecast_flat.unrepresentative = hybrid_unrepresentative::forecast;
  // The flat histogram with the forecast fallback: a constant series of 600 s gives 600 s: 510 s and 180 s.
  const std::vector<double> ten_minutes(60, 600.0);
  const std::vector<row> rows{
      {"too few samples", few, {}, hybrid_spec{}, {0s, 4h, hybrid_mode::warmup}},
      {"not representative", flat, {}, hybrid_spec{}, {0s, 4h, hybrid_mode::unrepresentative}},
      {"not representative, forecast", flat, ten_minutes, forecast_flat, {510s, 180s, hybrid_mode::unrepresentative}},
      {"out of bounds", oob, five_hours, hybrid_spec{}, {15300s, 5400s, hybrid_mode::forecast}},
      {"half out of bounds", half, alternating, hybrid_spec{}, {3060s, 1080s, hybrid_mode::forecast}},
  };
  for (const row& r : rows) {
    CAPTURE(r.name);
    CHECK(compute_hybrid_windows(r.histogram, r.idle_seconds, r.spec) == r.expected);
  }
  CHECK(flat.coefficient_of_variation() == doctest::Approx(std::sqrt(3.0)));
}

TEST_CASE("hybrid: the AR forecaster on hand-worked series") {
  struct row {
    const char* name;
    std::vector<double> series;
    std::int32_t order;
    std::optional<double> expected;
  };
  const std::vector<row> rows{
      {"empty", {}, 2, std::nullopt},
      {"one value: the mean", {42}, 2, 42.0},
      // A linear trend: AR(1) fits x[t] = 60 + x[t-1] exactly (AR(2) is singular: x[t-2] = x[t-1] - 60).
      {"trend", {60, 120, 180, 240, 300}, 2, 360.0},
      // Two values cannot fit AR(1) (needs 3): the mean.
      {"too short", {100, 300}, 1, 200.0},
      // AR(1) fits x[t] = -100 + x[t-1] exactly; 300, 200, 100 predicts 0 (a negative forecast would be clamped).
      {"never negative", {300, 200, 100}, 1, 0.0},
  };
  for (const row& r : rows) {
    CAPTURE(r.name);
    const auto f = ar_forecast(r.series, r.order);
    REQUIRE(f.has_value() == r.expected.has_value());
    if (f) CHECK(*f == doctest::Approx(*r.expected).epsilon(1e-9));
  }
}

TEST_CASE("hybrid: the policy pre-warms before the expected arrival and releases after the keep-alive") {
  hybrid_spec spec;
  spec.min_samples = 3;
  hybrid_histogram_policy p(spec);
  // Requests of 1 s every 10 min: idle times of 9 min 59 s, all in bin 9.
  // Windows after the third idle time: pre-warm 9 min × 0.9 = 486 s; end 10 min × 1.1 = 660 s; keep-alive 174 s.
  time_point t{};
  for (int i = 0; i < 4; ++i) {
    t = at(std::chrono::minutes{10 * i});
    p.on_arrival(t);
    p.decide(t, {});
    p.on_completion(t + 1s);
    p.decide(t + 1s, {});
  }
  CHECK(p.last_windows() == hybrid_windows{486s, 174s, hybrid_mode::histogram});
  // Last completion at 30 min 1 s: unloaded until 30:01 + 486 s = 38 min 7 s, loaded until 41 min 1 s.
  const time_point done = at(30min + 1s);
  CHECK(p.decide(done, {}) == policy_decision{0, done + 486s, false});
  CHECK(p.on_timer(done + 486s, {}) == policy_decision{1, done + 660s, false});
  // The next request at 40 min finds the pre-warmed pod.
  p.on_arrival(at(40min));
  CHECK(p.last_arrival_warm());
}

TEST_CASE("hybrid: an arrival during the pre-warm delay is cold and takes the pending pod") {
  hybrid_spec spec;
  spec.min_samples = 1;
  hybrid_histogram_policy p(spec);
  p.on_arrival(at(0s));
  CHECK_FALSE(p.last_arrival_warm());
  p.on_completion(at(1s));
  // Warm-up fallback (no idle time yet): loaded for 4 h.
  p.on_arrival(at(10min + 1s));  // idle 10 min: bin 10
  CHECK(p.last_arrival_warm());
  p.on_completion(at(10min + 2s));
  // One idle time in bin 10: pre-warm 540 s, end 11 min × 1.1 = 726 s, keep-alive 186 s.
  CHECK(p.last_windows() == hybrid_windows{540s, 186s, hybrid_mode::histogram});
  CHECK(p.decide(at(10min + 2s), {}) == policy_decision{0, at(10min + 2s + 540s), false});
  p.on_arrival(at(12min));
  CHECK_FALSE(p.last_arrival_warm());
  // The pending pre-warm was consumed: one busy pod, no timer.
  CHECK(p.decide(at(12min), {}) == policy_decision{1, std::nullopt, false});
}

}  // namespace
