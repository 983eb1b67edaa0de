// Azure-shaped populations: the quantile function at its knots (worked out from the table in docs/traces.md),
// the published fractions on a drawn population, determinism and independence of the function count, the cap,
// stream properties, and verbatim validation errors.
#include <sim/azure_shape_trace.hpp>

#include "trace_test_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace {

using namespace std::chrono_literals;
using scale::sim::arrival;
using scale::sim::azure_shape_spec;

using scale::sim::testing::drain;

}  // namespace

TEST_CASE("azure-shape: the quantile function passes through its knots") {
  struct row {
    double quantile;
    double daily;
  };
  // Knots (q, daily): (0, 1), (0.45, 24), (0.81, 1440), (0.999, 5e5), (1, 1e8); between them linear in log10,
  // e.g. q = 0.225 is halfway from 1 to 24 in log10: sqrt(24) = 4.898979...
  const row rows[] = {{0, 1},        {0.45, 24},     {0.81, 1440},     {0.999, 5e5},   {1, 1e8},
                      {0.225, std::sqrt(24.0)}, {-1, 1},      {2, 1e8},         {0.63, std::sqrt(24.0 * 1440)}};
  for (const auto& r : rows) {
    CAPTURE(r.quantile);
    CHECK(scale::sim::azure_shape_daily_invocations(r.quantile) == doctest::Approx(r.daily).epsilon(1e-9));
  }
}

TEST_CASE("azure-shape: a drawn population has the published fractions") {
  azure_shape_spec spec;
  spec.functions = 20000;
  std::size_t hourly = 0, per_minute = 0, under_1s = 0;
  double least = 1e300, most = 0;
  for (std::size_t i = 0; i < spec.functions; ++i) {
    const auto f = scale::sim::azure_shape_function_at(spec, i);
    if (f.daily_invocations <= 24) ++hourly;
    if (f.daily_invocations <= 1440) ++per_minute;
    if (f.mean_service_time < 1s) ++under_1s;
    least = std::min(least, f.daily_invocations);
    most = std::max(most, f.daily_invocations);
    CHECK(f.mean_service_time >= 1ms);
    CHECK(f.mean_service_time <= 600s);
  }
  const double n = static_cast<double>(spec.functions);
  // Binomial standard deviation at n = 20000 is at most 0.0036; five of them is 0.018.
  CHECK(static_cast<double>(hourly) / n == doctest::Approx(0.45).epsilon(0.018 / 0.45));
  CHECK(static_cast<double>(per_minute) / n == doctest::Approx(0.81).epsilon(0.018 / 0.81));
  // P(ln mean_s < 0) = Phi(0.38 / 2.36) = Phi(0.161) = 0.564.
  CHECK(static_cast<double>(under_1s) / n == doctest::Approx(0.564).epsilon(0.018 / 0.564));
  // Eight orders of magnitude: the extremes of 20000 draws come close to both ends.
  CHECK(least < 1.01);
  CHECK(most > 1e7);
}

TEST_CASE("azure-shape: function i does not depend on the function count and the cap lowers only hot functions") {
  azure_shape_spec small, large, capped;
  small.functions = 10;
  large.functions = 1000;
  capped.functions = 1000;
  capped.max_rate_per_s = 1.0 / 60;  // once a minute: 1440 a day
  for (std::size_t i = 0; i < small.functions; ++i) {
    CAPTURE(i);
    CHECK(scale::sim::azure_shape_function_at(small, i) == scale::sim::azure_shape_function_at(large, i));
  }
  for (std::size_t i = 0; i < capped.functions; ++i) {
    CAPTURE(i);
    const auto free = scale::sim::azure_shape_function_at(large, i);
    const auto cap = scale::sim::azure_shape_function_at(capped, i);
    CHECK(cap.daily_invocations == doctest::Approx(std::min(free.daily_invocations, 1440.0)));
    CHECK(cap.mean_service_time == free.mean_service_time);
  }
}

TEST_CASE("azure-shape: streams are sorted, within the length, repeatable per seed and Poisson in count") {
  azure_shape_spec spec;
  spec.functions = 200;
  spec.length = 1h;
  const auto t = scale::sim::make_azure_shape_trace(spec);
  REQUIRE(t.has_value());
  REQUIRE(t->functions.size() == 200);
  CHECK(t->functions.front().id == "a1");
  CHECK(t->functions.back().id == "a200");
  double expected = 0, observed = 0;
  for (std::size_t i = 0; i < t->functions.size(); ++i) {
    CAPTURE(i);
    const auto a = drain(t->functions[i], 7);
    CHECK(a == drain(t->functions[i], 7));
    CHECK(std::is_sorted(a.begin(), a.end(), [](const arrival& x, const arrival& y) { return x.time < y.time; }));
    if (!a.empty()) {
      CHECK(a.front().time >= scale::at(0s));
      CHECK(a.back().time < scale::at(1h));
    }
    expected += scale::sim::azure_shape_function_at(spec, i).daily_invocations / 24;
    observed += static_cast<double>(a.size());
  }
  // The total of independent Poisson counts is Poisson: within five standard deviations of its mean.
  CHECK(std::abs(observed - expected) <= 5 * std::sqrt(expected));
  // Another seed gives other arrivals for a busy function.
  std::size_t busiest = 0;
  for (std::size_t i = 1; i < spec.functions; ++i) {
    if (scale::sim::azure_shape_function_at(spec, i).daily_invocations >
        scale::sim::azure_shape_function_at(spec, busiest).daily_invocations) {
      busiest = i;
    }
  }
  CHECK(drain(t->functions[busiest], 7) != drain(t->functions[busiest], 8));
}

TEST_CASE("azure-shape: service times keep the function's mean") {
  azure_shape_spec spec;
  spec.functions = 1;
  spec.length = 24h;
  spec.max_rate_per_s = 0;
  // Find a function with many arrivals so the sample mean is tight.
  std::size_t index = 0;
  while (scale::sim::azure_shape_function_at(spec, index).daily_invocations < 1e5) ++index;
  spec.functions = index + 1;
  const auto f = scale::sim::azure_shape_function_at(spec, index);
  const auto t = scale::sim::make_azure_shape_trace(spec);
  REQUIRE(t.has_value());
  const auto a = drain(t->functions[index], 1);
  REQUIRE(a.size() > 50000);
  double sum = 0;
  for (const auto& x : a) sum += static_cast<double>(x.service_time.count());
  // Log-normal with sigma 0.5: coefficient of variation sqrt(exp(0.25) - 1) = 0.533; the sample mean of n > 5e4
  // is within 5 * 0.533 / sqrt(5e4) = 1.2 % of the mean.
  CHECK(sum / static_cast<double>(a.size()) ==
        doctest::Approx(static_cast<double>(f.mean_service_time.count())).epsilon(0.012));
}

TEST_CASE("azure-shape: invalid specs are errors") {
  struct row {
    azure_shape_spec spec;
    const char* message;
  };
  azure_shape_spec none;
  none.functions = 0;
  azure_shape_spec zero_length;
  zero_length.length = 0s;
  azure_shape_spec negative_cap;
  negative_cap.max_rate_per_s = -1;
  const row rows[] = {
      {none, "azure-shape: functions must be at least 1"},
      {zero_length, "azure-shape: length must be positive and at most 100 years"},
      {negative_cap, "azure-shape: max rate -1 must be a finite number >= 0 (0 = no cap)"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.message);
    const auto t = scale::sim::make_azure_shape_trace(r.spec);
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error_value().message == r.message);
  }
}
