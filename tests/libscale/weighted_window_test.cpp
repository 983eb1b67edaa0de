#include "libscale/weighted_window.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <vector>

namespace {
using namespace std::chrono_literals;
}  // namespace

TEST_CASE("smoothing_coefficient matches Knative computeSmoothingCoeff") {
  struct test_case {
    std::int64_t buckets;
    double want;
  };
  // Expected bits: Knative's computeSmoothingCoeff run under Go 1.19 on amd64, printed with %x.
  // Knative TestComputeDecayMultiplier lists 6 → 0.78456, 40 → 0.20567, 60 and 100 → 0.2; kpa-spec 2.5
  // adds 5 → 0.84151. 1 and 2 take Go's math.Pow shortcuts (the base itself, a square root).
  const test_case cases[] = {
      {1, 0x1.fff2e48e8a71ep-1},  // 0.9999
      {2, 0x1.fae147ae147aep-1},  // 0.99
      {3, 0x1.e83c2d3b29c00p-1},  // 0.95358…
      {5, 0x1.aeda7cea25322p-1},  // 0.84151…
      {6, 0x1.91b164c4fd313p-1},  // 0.78456…
      {10, 0x1.342b4c0456da6p-1},  // 0.60189…
      {40, 0x1.a5373d0c8ef30p-3},  // 0.20567…
      {41, 0x1.9c0dcfdbc3fbcp-3},  // 0.20120…, the last one above the floor
      {42, 0.2},
      {60, 0.2},
      {100, 0.2},
      {3600, 0.2},
  };
  for (const auto& c : cases) {
    CAPTURE(c.buckets);
    CHECK(scale::smoothing_coefficient(c.buckets) == c.want);
  }
  // Go's amd64 exp/log differ from the C library's in the last bits for a few sizes (24, 25, 31,
  // 34, 35 between 1 and 200); there the values agree to within 4 ulps. Go: 0x1.465b5f317cceep-2 for 24.
  CHECK(scale::smoothing_coefficient(24) == doctest::Approx(0x1.465b5f317cceep-2).epsilon(1e-15));
}

TEST_CASE("smoothing_coefficient: the newest weight is never below 0.2 (kpa-spec 11.8)") {
  for (std::int64_t nb = 1; nb <= 4000; ++nb) {
    CAPTURE(nb);
    const double m = scale::smoothing_coefficient(nb);
    REQUIRE(m >= 0.2);
    REQUIRE(m < 1.0);
  }
}

TEST_CASE("go_pow_whole reproduces Go math.Pow for whole exponents") {
  struct test_case {
    double base;
    std::int64_t exponent;
    double want;
  };
  // Expected bits: Go 1.19 math.Pow(base, float64(exponent)) printed with %x.
  const test_case cases[] = {
      {0.8, 0, 1.0},
      {0.8, 1, 0.8},
      {0.8, 3, 0x1.0624dd2f1a9fdp-1},
      {0.8, 10, 0x1.b7cdfd9d7bdc3p-4},
      {0.3, 3, 0x1.ba5e353f7ced9p-6},
      {0.3, 10, 0x1.8c4568d7ea3e1p-18},
      {0x1.96b26bf8769ecp-1, 10, 0x1.999bee29e358fp-4},  // 1 − 0.20567
      {0x1.449667b5f1bf0p-3, 10, 0x1.579cb55d15c96p-27},  // 1 − 0.84151
      {0.5, 10, 0x1p-10},
  };
  for (const auto& c : cases) {
    CAPTURE(c.base);
    CAPTURE(c.exponent);
    CHECK(scale::detail::go_pow_whole(c.base, c.exponent) == c.want);
  }
}

TEST_CASE("weighted_buckets: Knative TestTimedFloat64BucketsWeightedAverage") {
  scale::weighted_buckets b(5);
  const double m = b.smoothing();
  CHECK(m == scale::smoothing_coefficient(5));

  b.record(100, 2);
  double want = 2 * m;  // one bucket of v reads m·v: no normalisation
  CHECK(b.average(100) == want);

  want *= (1 - m);  // one silent bucket later
  CHECK(b.average(101) == want);

  b.record(101, 2);
  want += 2 * m;
  CHECK(b.average(101) == want);

  for (int i = 0; i < 5; ++i) b.record(102 + i, static_cast<double>(i + 2));  // buckets 102…106 = 2…6
  want = 6 * m + 5 * m * (1 - m) + 4 * m * (1 - m) * (1 - m) + 3 * m * (1 - m) * (1 - m) * (1 - m) +
         2 * m * (1 - m) * (1 - m) * (1 - m) * (1 - m);
  CHECK(b.average(106) == want);

  CHECK(b.average(116) == 0.0);  // an empty window
}

TEST_CASE("weighted_buckets: Knative TestWeightedFloat64BucketsResizeWindow") {
  scale::weighted_buckets b(5);
  for (int i = 0; i < 6; ++i) b.record(100 + i, static_cast<double>(i + 1));
  // Knative: computed by hand, 5.812 after rounding to 3 decimals.
  CHECK(scale::detail::round_to_digits(b.average(105), 3) == 5.812);
  b.resize(10, 10, 105);
  CHECK(b.ring().bucket_count() == 10);
  CHECK(b.smoothing() == scale::smoothing_coefficient(10));
}

TEST_CASE("weighted_buckets: kpa-spec 11.8 checklist, hand-worked") {
  struct test_case {
    const char* name;
    std::int64_t buckets;
    std::vector<std::pair<std::int64_t, double>> records;
    std::int64_t now;
    double want;
    double approx;  // the same value in decimals, from a hand calculation
  };
  const double m60 = 0.2;
  const double d60 = 1 - m60;
  const double m5 = scale::smoothing_coefficient(5);
  const test_case cases[] = {
      // One bucket of 10 with m = 0.2 reads 2, not 10: the weights are not normalised.
      {"one bucket, nb=60", 60, {{0, 10}}, 0, 10 * m60, 2.0},
      // With m = 0.84151 the newest bucket dominates: 10 · 0.84151.
      {"one bucket, nb=5", 5, {{0, 10}}, 0, 10 * m5, 8.4151068},
      // Newest first: 20·0.2 + 10·0.2·0.8 = 4 + 1.6.
      {"two buckets", 60, {{0, 10}, {1, 20}}, 1, 20 * m60 + 10 * (m60 * d60), 5.6},
      // Three silent buckets shift every weight by 0.8³: 10 · 0.2 · 0.512.
      {"silent buckets", 60, {{0, 10}}, 3, 10 * (m60 * scale::detail::go_pow_whole(d60, 3)), 1.024},
      // No firstWrite handling: an inner gap costs weight, it does not change a divisor.
      {"inner gap", 60, {{0, 10}, {2, 20}}, 2, 20 * m60 + 10 * (m60 * d60 * d60), 5.28},
      // Same-bucket records add up before weighting.
      {"same bucket summed", 60, {{0, 10}, {0, 5}}, 0, 15 * m60, 3.0},
      // Exactly a window after the newest write no weight is left; beyond it the window is empty.
      {"a window later", 5, {{0, 10}}, 5, 0.0, 0.0},
      {"beyond the window", 5, {{0, 10}}, 6, 0.0, 0.0},
      {"nothing recorded", 5, {}, 0, 0.0, 0.0},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    scale::weighted_buckets b(c.buckets);
    for (const auto& [bucket, value] : c.records) b.record(bucket, value);
    CHECK(b.average(c.now) == c.want);
    CHECK(b.average(c.now) == doctest::Approx(c.approx).epsilon(1e-7));
  }
}

TEST_CASE("weighted_window: time adapter") {
  scale::weighted_window w(5s);
  CHECK(w.window() == 5s);
  CHECK(w.is_empty(scale::at(100s)));
  w.record(scale::at(100s), 2);
  w.record(scale::at(100500ms), 1);  // same one-second bucket
  const double m = w.buckets().smoothing();
  CHECK(w.average(scale::at(100s)) == 3 * m);
  CHECK(w.average(scale::at(101900ms)) == 3 * (m * scale::detail::go_pow_whole(1 - m, 1)));
  CHECK_FALSE(w.is_empty(scale::at(105s)));
  CHECK(w.is_empty(scale::at(106s)));

  w.resize(60s, scale::at(101s));
  CHECK(w.window() == 60s);
  CHECK(w.buckets().smoothing() == 0.2);
  CHECK(w.average(scale::at(100s)) == 3 * 0.2);
}
