// scalesim tune's objective and search, with made-up objectives in place of the simulator.
#include "tune_search.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace {

using scale::tools::figures;
using scale::tools::knob;
using scale::tools::point_outcome;
using scale::tools::slo;
using scale::tools::slo_metric;

point_outcome outcome(double pod_seconds, double p99_ms, double cold_share) {
  point_outcome o;
  o.fig.pod_seconds = pod_seconds;
  o.fig.p99_ms = p99_ms;
  o.fig.cold_share = cold_share;
  return o;
}

/// A cost/latency trade-off: more target = fewer pods and worse p99; more retention = fewer cold starts, more pods.
std::vector<point_outcome> made_up(const std::vector<scale::tools::knob_values>& batch) {
  std::vector<point_outcome> out;
  for (const auto& v : batch) {
    const double target = v[static_cast<std::size_t>(knob::target)];
    const double retention = v[static_cast<std::size_t>(knob::scale_to_zero_pod_retention_period)];
    out.push_back(outcome(1000.0 / target + retention, 10.0 * target, 0.1 / (1.0 + retention / 60.0)));
  }
  return out;
}

}  // namespace

TEST_CASE("tune search: SLO syntax") {
  struct slo_case {
    std::string text;
    slo_metric metric;
    double limit;
  };
  const std::vector<slo_case> cases = {
      {"p99<=500ms", slo_metric::p99, 500},  {"p50<=0.25", slo_metric::p50, 250},  {"p90 <= 2s", slo_metric::p90, 2000},
      {"p95<=1m", slo_metric::p95, 60000},   {"cold<=1%", slo_metric::cold, 0.01}, {"cold<=0.5", slo_metric::cold, 0.005},
      {"failed<=0%", slo_metric::failed, 0},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const auto s = scale::tools::parse_slo(c.text);
    REQUIRE(s.has_value());
    CHECK(s->metric == c.metric);
    CHECK(s->limit == doctest::Approx(c.limit));
    CHECK(s->text == c.text);
  }
  for (const std::string bad : {"p99<500ms", "p98<=1s", "p99<=", "p99<=-1s", "p99<=fast", "cold<=101%", "cold<=x%", "p99"}) {
    CAPTURE(bad);
    const auto s = scale::tools::parse_slo(bad);
    REQUIRE_FALSE(s.has_value());
    CHECK(s.error_value().message ==
          "--slo \"" + bad +
              "\": expected p50|p90|p95|p99<=DURATION (e.g. p99<=500ms), cold<=PERCENT (e.g. cold<=1%) or "
              "failed<=PERCENT");
  }
}

TEST_CASE("tune search: SLO violation is 0 exactly when every SLO is met") {
  const std::vector<slo> slos = {*scale::tools::parse_slo("p99<=500ms"), *scale::tools::parse_slo("cold<=1%")};
  figures f;
  f.p99_ms = 500;
  f.cold_share = 0.01;
  CHECK(scale::tools::slo_violation(f, slos) == 0);
  f.p99_ms = 750;   // 750 / 500 − 1 = 0.5
  f.cold_share = 0.02;  // 0.02 / 0.01 − 1 = 1
  CHECK(scale::tools::slo_violation(f, slos) == doctest::Approx(1.5));
  const std::vector<slo> none_failed = {*scale::tools::parse_slo("failed<=0%")};
  f.failed_share = 0.25;  // a limit of 0: 1 + 0.25
  CHECK(scale::tools::slo_violation(f, none_failed) == doctest::Approx(1.25));
}

TEST_CASE("tune search: the Latin hypercube puts one point in each stratum of every coordinate") {
  for (const std::size_t n : {1u, 7u, 24u}) {
    CAPTURE(n);
    const auto points = scale::tools::latin_hypercube(n, 42);
    REQUIRE(points.size() == n);
    for (std::size_t d = 0; d < scale::tools::knob_count; ++d) {
      std::set<std::size_t> strata;
      for (const auto& p : points) {
        CHECK(p[d] >= 0.0);
        CHECK(p[d] < 1.0);
        strata.insert(static_cast<std::size_t>(p[d] * static_cast<double>(n)));
      }
      CHECK(strata.size() == n);
    }
    CHECK(scale::tools::latin_hypercube(n, 42) == points);
  }
  CHECK(scale::tools::latin_hypercube(8, 1) != scale::tools::latin_hypercube(8, 2));
}

TEST_CASE("tune search: the Pareto front over pod-seconds, p99 and cold share") {
  std::vector<point_outcome> o = {
      outcome(100, 50, 0.10),  // 0: front (cheapest)
      outcome(200, 40, 0.10),  // 1: front (better p99)
      outcome(250, 45, 0.10),  // 2: dominated by 1
      outcome(300, 60, 0.01),  // 3: front (fewest cold starts)
      outcome(100, 50, 0.10),  // 4: equal to 0: 0 stands for both
      outcome(50, 10, 0.0),    // 5: dominates everything, but refused
  };
  o[5].valid = false;
  CHECK(scale::tools::pareto_front(o) == std::vector<std::size_t>{0, 1, 3});
}

TEST_CASE("tune search: spends the budget on distinct points and recommends the cheapest feasible one") {
  const std::vector<slo> slos = {*scale::tools::parse_slo("p99<=300ms"), *scale::tools::parse_slo("cold<=2%")};
  scale::tools::search_options options;
  options.budget = 30;
  options.seed = 7;
  const auto space = scale::tools::default_search_space();
  std::size_t calls = 0;
  const scale::tools::batch_evaluator evaluate = [&](const std::vector<scale::tools::knob_values>& batch) {
    ++calls;
    return made_up(batch);
  };
  const auto r = scale::tools::run_search(space, slos, options, evaluate);
  CHECK(r.points.size() == 30);
  // 15 hypercube points (half the budget), then rounds of 8, 7.
  CHECK(calls == 3);
  CHECK(std::count_if(r.points.begin(), r.points.end(), [](const auto& p) { return p.round == 0; }) == 15);
  std::set<scale::tools::knob_values> distinct;
  for (const auto& p : r.points) distinct.insert(p.values);
  CHECK(distinct.size() == r.points.size());
  REQUIRE(r.best.has_value());
  const auto& best = r.points[*r.best];
  CHECK(best.feasible);
  for (const auto& p : r.points) {
    CAPTURE(p.index);
    CHECK(p.index < r.points.size());
    if (p.feasible) CHECK(p.outcome.fig.pod_seconds >= best.outcome.fig.pod_seconds);
    CHECK(p.feasible == (p.outcome.fig.p99_ms <= 300 && p.outcome.fig.cold_share <= 0.02));
  }
  // The same inputs give the same search.
  const auto again = scale::tools::run_search(space, slos, options, made_up);
  REQUIRE(again.points.size() == r.points.size());
  for (std::size_t i = 0; i < r.points.size(); ++i) CHECK(again.points[i].values == r.points[i].values);
  CHECK(again.best == r.best);
  CHECK(again.front == r.front);
}

TEST_CASE("tune search: a small discrete space is exhausted, not looped over; without a feasible point the closest") {
  auto space = scale::tools::default_search_space();
  for (auto& range : space.ranges) range = {range.low, range.low};
  space[knob::min_scale] = {0, 2};  // three distinct configurations in all
  const std::vector<slo> impossible = {*scale::tools::parse_slo("p99<=1ms")};
  scale::tools::search_options options;
  options.budget = 20;
  const auto r = scale::tools::run_search(space, impossible, options, made_up);
  CHECK(r.points.size() <= 3);
  CHECK_FALSE(r.best.has_value());
  REQUIRE(r.closest.has_value());
}
