// Synthetic generators: exact times for the deterministic kind, counts within five standard deviations for the
// Poisson kinds (seeded, so fixed), stream properties, and verbatim validation errors.
#include <sim/synthetic_trace.hpp>

#include "trace_test_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using scale::at;
using scale::duration;
using scale::sim::arrival;
using scale::sim::synthetic_kind;
using scale::sim::synthetic_spec;

using scale::sim::testing::drain;

std::vector<arrival> generate(const synthetic_spec& spec, std::uint64_t seed) {
  const auto t = scale::sim::make_synthetic_trace(spec);
  REQUIRE(t.has_value());
  return drain(t->functions[0], seed);
}

/// Arrivals with from <= time < to.
std::size_t count_between(const std::vector<arrival>& arrivals, duration from, duration to) {
  return static_cast<std::size_t>(std::count_if(arrivals.begin(), arrivals.end(), [&](const arrival& a) {
    return a.time >= at(from) && a.time < at(to);
  }));
}

bool sorted(const std::vector<arrival>& arrivals) {
  return std::is_sorted(arrivals.begin(), arrivals.end(), [](const arrival& a, const arrival& b) { return a.time < b.time; });
}

/// |observed - mean| within five standard deviations of a Poisson count of that mean.
bool poisson_close(std::size_t observed, double mean) {
  return std::abs(static_cast<double>(observed) - mean) <= 5 * std::sqrt(mean);
}

}  // namespace

TEST_CASE("synthetic: even spacing is exact: arrival k at round(k / rate) in ns") {
  synthetic_spec spec;
  spec.kind = synthetic_kind::even;
  spec.rate_per_s = 4;
  spec.length = 1s;
  spec.service_time = scale::sim::distribution::constant(100ms);
  CHECK(generate(spec, 1) ==
        std::vector<arrival>{{at(0ms), 100ms}, {at(250ms), 100ms}, {at(500ms), 100ms}, {at(750ms), 100ms}});
  // 1/3 s = 333333333.3 ns -> 333333333; 2/3 s = 666666666.7 ns -> 666666667; 1 s is the end, excluded.
  spec.rate_per_s = 3;
  CHECK(generate(spec, 1) == std::vector<arrival>{{at(0ns), 100ms}, {at(333333333ns), 100ms}, {at(666666667ns), 100ms}});
}

TEST_CASE("synthetic: poisson count, order and bounds — same seed, same stream — functions independent") {
  synthetic_spec spec;
  spec.rate_per_s = 10;
  spec.length = 1000s;
  spec.functions = 3;
  spec.service_time = *scale::sim::parse_distribution("exp:100ms");
  const auto t = scale::sim::make_synthetic_trace(spec);
  REQUIRE(t.has_value());
  CHECK(t->source == "synthetic poisson");
  REQUIRE(t->functions.size() == 3);
  CHECK(t->functions[0].id == "f1");
  CHECK(t->functions[2].id == "f3");
  const auto a = drain(t->functions[0], 5);
  CHECK(poisson_close(a.size(), 10000));  // rate 10/s * 1000 s
  CHECK(sorted(a));
  CHECK(a.back().time < at(1000s));
  CHECK(a == drain(t->functions[0], 5));
  CHECK(a != drain(t->functions[0], 6));
  // Same seed, different function: an independent stream.
  CHECK(a != drain(t->functions[1], 5));
  // Service times: exponential with mean 100 ms.
  double sum_s = 0;
  for (const auto& x : a) sum_s += static_cast<double>(x.service_time.count()) / 1e9;
  CHECK(sum_s / static_cast<double>(a.size()) == doctest::Approx(0.1).epsilon(0.05));
}

TEST_CASE("synthetic: onoff sends nothing while off") {
  synthetic_spec spec;
  spec.kind = synthetic_kind::onoff;
  spec.rate_per_s = 100;
  spec.on = 1s;
  spec.off = 2s;
  spec.length = 30s;
  const auto a = generate(spec, 3);
  CHECK(sorted(a));
  for (const auto& x : a) CHECK(x.time.time_since_epoch() % 3s < 1s);
  CHECK(poisson_close(a.size(), 1000));  // ten on-phases of 1 s at 100/s
}

TEST_CASE("synthetic: steps run each rate for its length") {
  const auto steps = scale::sim::parse_rate_steps("10@60s,50@1m,0@30,5@30s");
  REQUIRE(steps.has_value());
  CHECK(*steps == std::vector<scale::sim::rate_step>{{10, 60s}, {50, 60s}, {0, 30s}, {5, 30s}});
  synthetic_spec spec;
  spec.kind = synthetic_kind::steps;
  spec.steps = *steps;
  spec.length = 1s;  // ignored: the steps set the length (180 s)
  const auto a = generate(spec, 11);
  CHECK(sorted(a));
  CHECK(poisson_close(count_between(a, 0s, 60s), 600));
  CHECK(poisson_close(count_between(a, 60s, 120s), 3000));
  CHECK(count_between(a, 120s, 150s) == 0);
  CHECK(poisson_close(count_between(a, 150s, 180s), 150));
  CHECK(a.back().time < at(180s));
}

TEST_CASE("synthetic: spike and diurnal follow their rate curves") {
  synthetic_spec spike;
  spike.kind = synthetic_kind::spike;
  spike.rate_per_s = 1;
  spike.spike_start = 10s;
  spike.spike_length = 10s;
  spike.spike_rate_per_s = 100;
  spike.length = 30s;
  const auto s = generate(spike, 2);
  CHECK(sorted(s));
  CHECK(poisson_close(count_between(s, 0s, 10s), 10));
  CHECK(poisson_close(count_between(s, 10s, 20s), 1000));
  CHECK(poisson_close(count_between(s, 20s, 30s), 10));

  synthetic_spec diurnal;
  diurnal.kind = synthetic_kind::diurnal;
  diurnal.rate_per_s = 100;
  diurnal.amplitude = 1;
  diurnal.period = 100s;
  diurnal.length = 100s;
  const auto d = generate(diurnal, 4);
  CHECK(sorted(d));
  // Integral of 100 (1 + sin(2 pi t / 100)) over [0, 50) is 100 (50 + 100/pi) = 8183.1; over [50, 100)
  // 100 (50 - 100/pi) = 1816.9.
  CHECK(poisson_close(count_between(d, 0s, 50s), 100 * (50 + 100 / std::numbers::pi)));
  CHECK(poisson_close(count_between(d, 50s, 100s), 100 * (50 - 100 / std::numbers::pi)));
}

TEST_CASE("synthetic: zero rates give empty streams") {
  for (const auto kind : {synthetic_kind::poisson, synthetic_kind::even, synthetic_kind::diurnal}) {
    CAPTURE(scale::sim::to_string(kind));
    synthetic_spec spec;
    spec.kind = kind;
    spec.rate_per_s = 0;
    CHECK(generate(spec, 1).empty());
  }
}

TEST_CASE("synthetic: kinds and steps parse — bad specs give one clear error") {
  for (const std::string name : {"poisson", "even", "onoff", "diurnal", "steps", "spike"}) {
    const auto kind = scale::sim::parse_synthetic_kind(name);
    REQUIRE(kind.has_value());
    CHECK(scale::sim::to_string(*kind) == name);
  }
  CHECK(scale::sim::parse_synthetic_kind("burst").error_value().message ==
        "kind \"burst\": expected poisson, even, onoff, diurnal, steps or spike");

  struct step_case {
    std::string text;
    std::string message;
  };
  for (const auto& c : std::vector<step_case>{
           {"", "steps \"\": step 1 \"\": expected RATE@DURATION like 10@60s"},
           {"10@60s,", "steps \"10@60s,\": step 2 \"\": expected RATE@DURATION like 10@60s"},
           {"10", "steps \"10\": step 1 \"10\": expected RATE@DURATION like 10@60s"},
           {"ten@60s", "steps \"ten@60s\": step 1 \"ten@60s\": expected RATE@DURATION like 10@60s"},
           {"-1@60s", "steps \"-1@60s\": step 1 rate -1: must be >= 0"},
           {"1@0s", "steps \"1@0s\": step 1 length 0s: must be > 0"},
       }) {
    CAPTURE(c.text);
    const auto steps = scale::sim::parse_rate_steps(c.text);
    REQUIRE_FALSE(steps.has_value());
    CHECK(steps.error_value().message == c.message);
  }

  struct spec_case {
    synthetic_spec spec;
    std::string message;
  };
  auto with = [](auto change) {
    synthetic_spec s;
    change(s);
    return s;
  };
  const std::vector<spec_case> cases = {
      {with([](synthetic_spec& s) { s.rate_per_s = -1; }), "rate -1: must be a number of requests per second in [0, 1e9]"},
      {with([](synthetic_spec& s) { s.length = 0s; }), "length 0s: must be > 0 and at most 100 years"},
      {with([](synthetic_spec& s) { s.functions = 0; }), "functions 0: must be in [1, 1000000]"},
      {with([](synthetic_spec& s) {
         s.kind = synthetic_kind::onoff;
         s.on = 0s;
       }),
       "on 0s: must be > 0 and at most 100 years"},
      {with([](synthetic_spec& s) {
         s.kind = synthetic_kind::diurnal;
         s.amplitude = 1.5;
       }),
       "amplitude 1.5: must be in [0, 1]"},
      {with([](synthetic_spec& s) { s.kind = synthetic_kind::steps; }), "steps: expected at least one RATE@DURATION"},
      {with([](synthetic_spec& s) {
         s.kind = synthetic_kind::spike;
         s.spike_length = 0s;
       }),
       "spike length 0s: must be > 0 and at most 100 years"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.message);
    const auto t = scale::sim::make_synthetic_trace(c.spec);
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error_value().message == c.message);
  }
}
