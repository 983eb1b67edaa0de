#include "sim/latency_histogram.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using scale::sim::latency_histogram;

}  // namespace

TEST_CASE("latency_histogram: count, mean, min and max are exact, quantiles clamp to them") {
  latency_histogram h;
  CHECK(h.count() == 0);
  CHECK(h.quantile_ms(0.5) == 0);
  for (const auto d : {1ms, 2ms, 3ms, 10ms}) h.record(d);
  CHECK(h.count() == 4);
  CHECK(h.mean_ms() == doctest::Approx(4.0));  // (1 + 2 + 3 + 10) / 4
  CHECK(h.min_ms() == 1.0);
  CHECK(h.max_ms() == 10.0);
  // q = 0 is the lower edge of the first bin (1 ms is a bin edge, up to rounding), never below the minimum;
  // q = 1 is clamped to the exact maximum.
  CHECK(h.quantile_ms(0) == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(h.quantile_ms(0) >= 1.0);
  CHECK(h.quantile_ms(1) == 10.0);
}

TEST_CASE("latency_histogram: saved() and restored() round-trip exactly, merged or not") {
  std::mt19937_64 rng(5);
  std::lognormal_distribution<double> ms(3.0, 1.5);
  latency_histogram a;
  latency_histogram b;
  for (int i = 0; i < 5000; ++i) {
    a.record(std::chrono::duration_cast<scale::duration>(std::chrono::duration<double, std::milli>(ms(rng))));
    if (i % 3 == 0) b.record(std::chrono::duration_cast<scale::duration>(std::chrono::duration<double, std::milli>(ms(rng))));
  }
  for (const latency_histogram* h : {&a, &b}) {
    const auto back = latency_histogram::restored(h->saved());
    REQUIRE(back.has_value());
    CHECK(back->count() == h->count());
    CHECK(back->mean_ms() == h->mean_ms());
    CHECK(back->min_ms() == h->min_ms());
    CHECK(back->max_ms() == h->max_ms());
    for (const double q : {0.0, 0.01, 0.5, 0.9, 0.99, 0.999, 1.0}) {
      CAPTURE(q);
      CHECK(back->quantile_ms(q) == h->quantile_ms(q));
    }
  }
  // Restored histograms merge as the originals do (what `scalesim merge` relies on).
  latency_histogram merged = a;
  merged.merge(b);
  auto ra = *latency_histogram::restored(a.saved());
  ra.merge(*latency_histogram::restored(b.saved()));
  CHECK(ra.quantile_ms(0.99) == merged.quantile_ms(0.99));
  CHECK(ra.mean_ms() == merged.mean_ms());
  // Empty: the minimum stays +infinity (so a later merge keeps the other side's minimum).
  const auto empty = latency_histogram{}.saved();
  CHECK(empty.bins.empty());
  CHECK(empty.min_ms == std::numeric_limits<double>::infinity());
  CHECK(latency_histogram::restored(empty).has_value());
}

TEST_CASE("latency_histogram: an inconsistent state is refused") {
  struct row {
    const char* name;
    latency_histogram::state state;
  };
  const row rows[] = {
      {"bin index out of range", {{{latency_histogram::bin_count(), 1}}, 1, 1.0, 1.0, 1.0}},
      {"bins not ascending", {{{5, 1}, {5, 1}}, 2, 2.0, 1.0, 1.0}},
      {"counts do not add up", {{{5, 1}}, 2, 2.0, 1.0, 1.0}},
  };
  for (const row& r : rows) {
    CAPTURE(r.name);
    CHECK_FALSE(latency_histogram::restored(r.state).has_value());
  }
}

TEST_CASE("latency_histogram: every latency lands in the bin Boost.Histogram's own fill picks") {
  // The reference is the fill `record` used before it looked bins up in a table (commit 244bf27): the same
  // axis, every value clamped into it, filled by Boost.
  namespace bh = boost::histogram;
  using axis = bh::axis::regular<double, bh::axis::transform::log, bh::use_default, bh::axis::option::none_t>;
  auto reference = bh::make_histogram(axis(latency_histogram::bin_count(), 1e-3, 1e7));
  latency_histogram h;
  const auto add = [&](std::int64_t ns) {
    const scale::duration d{ns};
    h.record(d);
    reference(std::clamp(std::chrono::duration<double, std::milli>(d).count(), 1e-3, std::nextafter(1e7, 0.0)));
  };
  // 1. Ends of the axis and beyond: up to 1 µs is the minimum, from 1e7 ms on the top value.
  for (const std::int64_t ns : {std::int64_t{0}, std::int64_t{1}, std::int64_t{999}, std::int64_t{1000},
                                std::int64_t{1001}, std::int64_t{9'999'999'999'999}, std::int64_t{10'000'000'000'000},
                                std::int64_t{10'000'000'000'001}, std::numeric_limits<std::int64_t>::max()}) {
    add(ns);
  }
  // 2. Every bin edge (by exp, as the axis defines them) and the nanoseconds around it: from about 1 s up the
  //    neighbours lie within the table's 1e-9 margin, so the axis's own index decides them.
  const double log_min = std::log(1e-3);
  const double log_width = (std::log(1e7) - log_min) / latency_histogram::bin_count();
  for (int i = 0; i <= latency_histogram::bin_count(); ++i) {
    const double edge_ns = std::exp(log_min + i * log_width) * 1e6;
    for (std::int64_t delta = -3; delta <= 3; ++delta) add(std::llround(edge_ns) + delta);
  }
  // 3. Log-uniform values over the whole axis and a decade either side.
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> log_ns(std::log(1.0), std::log(1e14));
  for (int i = 0; i < 300'000; ++i) add(std::llround(std::exp(log_ns(rng))));
  const auto saved = h.saved();
  std::vector<std::pair<int, std::uint64_t>> expected;
  for (int i = 0; i < latency_histogram::bin_count(); ++i) {
    const auto n = static_cast<std::uint64_t>(reference.at(i));
    if (n != 0) expected.emplace_back(i, n);
  }
  CHECK(saved.bins == expected);
  CHECK(saved.count == 9 + 7 * 1001 + 300'000);
}
