// The distribution syntax: parsing, canonical text, exact means, sampling rules and verbatim errors.
#include <sim/distribution.hpp>

#include <doctest/doctest.h>

#include <libscale/config.hpp>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#ifndef LIBSCALE_TEST_DATA_DIR
#define LIBSCALE_TEST_DATA_DIR "tests/data"
#endif

namespace {

using namespace std::chrono_literals;
using scale::duration;
using scale::sim::distribution;
using scale::sim::parse_distribution;

const std::string traces_dir = std::string{LIBSCALE_TEST_DATA_DIR} + "/traces/";

}  // namespace

TEST_CASE("distribution: every spelling parses to its canonical text and exact mean") {
  struct row {
    std::string text;
    std::string canonical;
    double mean_s;
  };
  const std::vector<row> rows = {
      {"2s", "const:2s", 2},
      {"2.5", "const:2.5s", 2.5},           // bare seconds
      {"0", "const:0s", 0},
      {"const:250ms", "const:250ms", 0.25},
      {"const:1m30s", "const:1m30s", 90},
      {"exp:0.5", "exp:500ms", 0.5},
      {"exp:2s", "exp:2s", 2},
      // mean = median * exp(sigma^2 / 2) = 0.1 * e^0.5 (sigma = 1).
      {"lognormal:100ms,1", "lognormal:100ms,1", 0.1 * std::exp(0.5)},
      {"lognormal:1,0", "lognormal:1s,0", 1},
      {"uniform:1s,3s", "uniform:1s,3s", 2},
      {"uniform:0,0.5", "uniform:0s,500ms", 0.25},
      {"uniform:2s,2s", "uniform:2s,2s", 2},
  };
  for (const auto& r : rows) {
    CAPTURE(r.text);
    const auto d = parse_distribution(r.text);
    REQUIRE(d.has_value());
    CHECK(d->text() == r.canonical);
    CHECK(d->mean_s() == doctest::Approx(r.mean_s).epsilon(1e-12));
    // The canonical text reads back to the same distribution.
    const auto again = parse_distribution(d->text());
    REQUIRE(again.has_value());
    CHECK(again->text() == r.canonical);
  }
}

TEST_CASE("distribution: empirical file, exact mean and inverse-CDF samples") {
  const std::string file = traces_dir + "quantiles.csv";
  const auto d = parse_distribution("empirical:" + file);
  REQUIRE(d.has_value());
  CHECK(d->text() == "empirical:" + file);
  // Points (0, 0.1) (0.5, 0.2) (0.9, 1) (1, 3): trapezoids 0.5*(0.1+0.2)/2 + 0.4*(0.2+1)/2 + 0.1*(1+3)/2
  // = 0.075 + 0.24 + 0.2 = 0.515.
  CHECK(d->mean_s() == doctest::Approx(0.515).epsilon(1e-12));

  // A sample takes one engine draw x, u = x / 2^64 (Boost's uniform_real over a 64-bit engine), and
  // interpolates inside the segment that holds u. Recompute that from a copy of the engine.
  std::mt19937_64 engine(7);
  for (int i = 0; i < 1000; ++i) {
    std::mt19937_64 copy = engine;
    const double u = static_cast<double>(copy()) / 18446744073709551616.0;
    double expected_s = 0;
    if (u < 0.5) {
      expected_s = 0.1 + (u - 0) / 0.5 * 0.1;
    } else if (u < 0.9) {
      expected_s = 0.2 + (u - 0.5) / 0.4 * 0.8;
    } else {
      expected_s = 1 + (u - 0.9) / 0.1 * 2;
    }
    CAPTURE(i);
    CAPTURE(u);
    const duration got = d->sample(engine);
    CHECK(std::abs(static_cast<double>(got.count()) - expected_s * 1e9) <= 1.0);
    CHECK(engine == copy);  // exactly one draw per sample
  }
}

TEST_CASE("distribution: empirical tables built in code") {
  using scale::sim::quantile_point;
  // Two equal points: every sample is exactly 1 s.
  const auto flat = distribution::empirical({{0, 1}, {1, 1}}, "flat");
  REQUIRE(flat.has_value());
  std::mt19937_64 engine(1);
  for (int i = 0; i < 100; ++i) CHECK(flat->sample(engine) == 1s);
  CHECK(flat->text() == "flat");

  struct bad_case {
    std::vector<quantile_point> points;
    std::string message;
  };
  const std::vector<bad_case> cases = {
      {{{0, 1}}, "empirical \"t\": expected at least two points (quantiles 0 and 1)"},
      {{{0.1, 1}, {1, 2}}, "empirical \"t\": the first quantile must be 0"},
      {{{0, 1}, {0.9, 2}}, "empirical \"t\": the last quantile must be 1"},
      {{{0, 1}, {0, 2}, {1, 3}}, "empirical \"t\": point 2: quantile 0 does not increase"},
      {{{0, 2}, {1, 1}}, "empirical \"t\": point 2: seconds 1 decreases"},
      {{{0, -1}, {1, 1}}, "empirical \"t\": point 1: seconds -1 is not >= 0"},
      {{{0, 1}, {1.5, 1}}, "empirical \"t\": point 2: quantile 1.5 is not in [0, 1]"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.message);
    const auto d = distribution::empirical(c.points, "t");
    REQUIRE_FALSE(d.has_value());
    CHECK(d.error_value().message == c.message);
  }
}

TEST_CASE("distribution: samples obey each kind's rule") {
  std::mt19937_64 engine(42);
  const auto constant = *parse_distribution("1.5");
  for (int i = 0; i < 10; ++i) CHECK(constant.sample(engine) == 1500ms);

  // Uniform draws integer nanoseconds in [low, high], both ends included.
  const auto uniform = *parse_distribution("uniform:1s,2s");
  for (int i = 0; i < 10000; ++i) {
    const duration d = uniform.sample(engine);
    CHECK((d >= 1s && d <= 2s));
  }

  // Sample means land near the exact means (seeded, so this is a fixed check, not a flaky one).
  struct row {
    std::string text;
    double tolerance;
  };
  for (const auto& r : std::vector<row>{{"exp:2s", 0.05}, {"lognormal:1s,0.5", 0.02}, {"uniform:0,1", 0.01},
                                        {"empirical:" + traces_dir + "quantiles.csv", 0.01}}) {
    CAPTURE(r.text);
    const auto d = *parse_distribution(r.text);
    double sum = 0;
    constexpr int n = 100000;
    for (int i = 0; i < n; ++i) sum += static_cast<double>(d.sample(engine).count()) / 1e9;
    CHECK(sum / n == doctest::Approx(d.mean_s()).epsilon(r.tolerance));
  }
}

TEST_CASE("distribution: the same seed gives the same stream") {
  for (const std::string& text : std::vector<std::string>{"exp:1s", "lognormal:50ms,1.2", "uniform:0,10",
                                                          "empirical:" + traces_dir + "quantiles.csv"}) {
    CAPTURE(text);
    const auto d = *parse_distribution(text);
    std::mt19937_64 a(123), b(123), c(124);
    std::vector<duration> first, second, other;
    for (int i = 0; i < 100; ++i) {
      first.push_back(d.sample(a));
      second.push_back(d.sample(b));
      other.push_back(d.sample(c));
    }
    CHECK(first == second);
    CHECK(first != other);
  }
}

TEST_CASE("distribution: malformed text gives one clear error") {
  struct row {
    std::string text;
    std::string message;
  };
  const std::vector<row> rows = {
      {"", "distribution \"\": expected a duration like 2s or 2.5 (seconds), or KIND:ARGS with KIND one of const, exp, "
           "lognormal, uniform, empirical"},
      {"fast", "distribution \"fast\": expected a duration like 2s or 2.5 (seconds), or KIND:ARGS with KIND one of "
               "const, exp, lognormal, uniform, empirical"},
      {"-1s", "distribution \"-1s\": value -1s must be >= 0"},
      {"normal:1s", "distribution \"normal:1s\": unknown kind \"normal\" (expected const, exp, lognormal, uniform or "
                    "empirical)"},
      {"const:", "distribution \"const:\": value \"\" is not a duration (expected e.g. 2s, 250ms or 2.5 seconds)"},
      {"const:1s,2s", "distribution \"const:1s,2s\": expected const:VALUE"},
      {"exp:x", "distribution \"exp:x\": mean \"x\" is not a duration (expected e.g. 2s, 250ms or 2.5 seconds)"},
      {"exp:0", "distribution \"exp:0\": mean 0 must be > 0"},
      {"lognormal:1s", "distribution \"lognormal:1s\": expected lognormal:MEDIAN,SIGMA"},
      {"lognormal:0s,1", "distribution \"lognormal:0s,1\": median 0s must be > 0"},
      {"lognormal:1s,-1", "distribution \"lognormal:1s,-1\": sigma \"-1\" is not a number in [0, 10]"},
      {"lognormal:1s,x", "distribution \"lognormal:1s,x\": sigma \"x\" is not a number in [0, 10]"},
      {"uniform:1s", "distribution \"uniform:1s\": expected uniform:LOW,HIGH"},
      {"uniform:3s,1s", "distribution \"uniform:3s,1s\": low 3s is above high 1s"},
      {"uniform:-1s,1s", "distribution \"uniform:-1s,1s\": low -1s must be >= 0"},
      {"uniform:1s,5y", "distribution \"uniform:1s,5y\": high \"5y\" is not a duration (expected e.g. 2s, 250ms or "
                        "2.5 seconds)"},
      {"empirical:", "distribution \"empirical:\": expected empirical:FILE"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.text);
    const auto d = parse_distribution(r.text);
    REQUIRE_FALSE(d.has_value());
    CHECK(d.error_value().message == r.message);
  }
}

TEST_CASE("distribution: a bad empirical file names the file and line") {
  struct row {
    std::string file;
    std::string message;  // after "<file>"
  };
  const std::vector<row> rows = {
      {"no-such-file.csv", ": cannot open file"},
      {"quantiles-bad-header.csv", ":1: header \"q,s\": expected \"quantile,seconds\""},
      {"quantiles-bad-value.csv",
       ":3: seconds = \"abc\": expected a duration >= 0 (seconds like 0.25, or 250ms)"},
      {"quantiles-decreasing.csv", ":3: seconds = 0.2: below the previous row's 0.5 (values must not decrease)"},
      {"quantiles-repeated.csv", ":4: quantile = 0.5: must be above the previous row's 0.5"},
      {"quantiles-no-end.csv", ":3: quantile = 0.9: the last row must have quantile 1"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.file);
    const std::string path = traces_dir + r.file;
    const auto d = parse_distribution("empirical:" + path);
    REQUIRE_FALSE(d.has_value());
    CHECK(d.error_value().message == path + r.message);
  }
}

TEST_CASE("distribution: durations are seconds or Go durations, and print back exactly") {
  using scale::sim::parse_duration_text;
  using scale::sim::seconds_text;
  CHECK(*parse_duration_text("2") == 2s);
  CHECK(*parse_duration_text("0.000000001") == 1ns);
  CHECK(*parse_duration_text("1m30s") == 90s);
  CHECK(*parse_duration_text("-0.5") == -500ms);
  CHECK_FALSE(parse_duration_text("0.0000000001").has_value());  // 10 fractional digits, and no unit
  CHECK_FALSE(parse_duration_text("").has_value());
  CHECK(seconds_text(2s) == "2");
  CHECK(seconds_text(1500ms) == "1.5");
  CHECK(seconds_text(1s + 1ns) == "1.000000001");
  CHECK(seconds_text(-500ms) == "-0.5");
  CHECK(seconds_text(duration::zero()) == "0");
}

// Inputs the fuzzers found (tests/fuzz/, docs/robustness.md); reproducers in tests/data/fuzz-regressions/.
namespace {

// go_duration_fuzz, crash-6e2cd82e: the largest duration, 2562047h47m16.854775807s, prints as
// "9223372036.854775807" but did not parse back: parse_fixed (sim/src/trace_text.cpp) refused every whole part
// above INT64_MAX / 10^9 - 1, the last 0.85 s of the range. Fixed: the check now admits the
// whole int64 range.
TEST_CASE("fuzz regression: the largest duration reads back from its seconds text") {
  const auto go = scale::parse_go_duration("2562047h47m16.854775807s");
  REQUIRE(go.has_value());
  CHECK(*go == scale::duration::max());
  const std::string text = scale::sim::seconds_text(*go);
  CHECK(text == "9223372036.854775807");
  const auto again = scale::sim::parse_duration_text(text);
  REQUIRE(again.has_value());
  CHECK(*again == scale::duration::max());
  // One past the top still overflows and is refused.
  CHECK(!scale::sim::parse_duration_text("9223372036.854775808").has_value());
  CHECK(!scale::sim::parse_duration_text("9223372037").has_value());
  CHECK(scale::sim::parse_duration_text("9223372035.999999999").has_value());
}

}  // namespace

namespace {

// go_duration_fuzz, crash-4e63497e: the smallest duration, -9223372036854775808ns, prints as
// "-9223372036.854775808", whose magnitude is one past INT64_MAX; parse_fixed refuses it. Fixed with the
// same check (a magnitude of INT64_MAX + 1 is accepted when negative).
TEST_CASE("fuzz regression: the smallest duration reads back from its seconds text") {
  const auto again = scale::sim::parse_duration_text(scale::sim::seconds_text(scale::duration::min()));
  REQUIRE(again.has_value());
  CHECK(*again == scale::duration::min());
}

// distribution_fuzz, crash-40133602: "lognormal:1s,055" parses (sigma 55), and mean_s() is
// exp(55^2 / 2) s = +inf, though every sample is clamped to 9.2e9 s. Fixed: sigma must be in [0, 10].
TEST_CASE("fuzz regression: a parsed distribution has a finite mean") {
  CHECK(!scale::sim::parse_distribution("lognormal:1s,055").has_value());
  const auto widest = scale::sim::parse_distribution("lognormal:1s,10");
  REQUIRE(widest.has_value());
  CHECK(std::isfinite(widest->mean_s()));
}

}  // namespace

namespace {

// distribution_fuzz, crash-7b0ae794 ("9209929902"): a constant of 9.21e9 s parsed, beyond the 9.2e9 s every
// sample is clamped to, so a simulated time plus that service time could overflow int64 nanoseconds. Fixed:
// every duration parameter must be at most 9.2e9 s.
TEST_CASE("fuzz regression: duration parameters stay within 9.2e9 s") {
  const auto too_long = scale::sim::parse_distribution("9209929902");
  REQUIRE(!too_long.has_value());
  CHECK(too_long.error_value().message == "distribution \"9209929902\": value 9209929902 must be at most 9.2e9 s");
  const auto too_long_mean = scale::sim::parse_distribution("exp:9209929902s");
  REQUIRE(!too_long_mean.has_value());
  CHECK(too_long_mean.error_value().message == "distribution \"exp:9209929902s\": mean 9209929902s must be at most 9.2e9 s");
  CHECK(scale::sim::parse_distribution("9200000000").has_value());
}

}  // namespace
