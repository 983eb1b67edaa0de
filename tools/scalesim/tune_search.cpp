#include "tune_search.hpp"

#include <sim/arrival.hpp>
#include <sim/distribution.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numbers>
#include <random>
#include <set>

namespace scale::tools {
namespace {

constexpr std::string_view slo_forms =
    "expected p50|p90|p95|p99<=DURATION (e.g. p99<=500ms), cold<=PERCENT (e.g. cold<=1%) or failed<=PERCENT";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// A uniform double in [0, 1) from the top 53 bits: the same on every platform, unlike std::uniform_real_distribution.
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

/// A standard normal draw (Box–Muller on our own uniforms).
double standard_normal(std::mt19937_64& rng) {
  const double u1 = 1.0 - uniform01(rng);  // (0, 1]: log stays finite
  const double u2 = uniform01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

bool cheaper(const search_point& a, const search_point& b) {
  const figures& x = a.outcome.fig;
  const figures& y = b.outcome.fig;
  if (x.pod_seconds != y.pod_seconds) return x.pod_seconds < y.pod_seconds;
  if (x.p99_ms != y.p99_ms) return x.p99_ms < y.p99_ms;
  if (x.cold_share != y.cold_share) return x.cold_share < y.cold_share;
  return a.index < b.index;
}

}  // namespace

result<slo> parse_slo(std::string_view text) {
  const auto bad = [&] { return error{fmt::format("--slo \"{}\": {}", text, slo_forms)}; };
  const auto le = text.find("<=");
  if (le == std::string_view::npos) return bad();
  const std::string_view name = trim(text.substr(0, le));
  const std::string_view value = trim(text.substr(le + 2));
  slo s;
  s.text = std::string(text);
  constexpr std::array<std::pair<std::string_view, slo_metric>, 6> names = {{{"p50", slo_metric::p50},
                                                                             {"p90", slo_metric::p90},
                                                                             {"p95", slo_metric::p95},
                                                                             {"p99", slo_metric::p99},
                                                                             {"cold", slo_metric::cold},
                                                                             {"failed", slo_metric::failed}}};
  const auto it = std::find_if(names.begin(), names.end(), [&](const auto& n) { return n.first == name; });
  if (it == names.end() || value.empty()) return bad();
  s.metric = it->second;
  if (s.metric == slo_metric::cold || s.metric == slo_metric::failed) {
    std::string_view number = value;
    if (number.back() == '%') number = trim(number.substr(0, number.size() - 1));
    double percent = 0;
    const auto r = std::from_chars(number.data(), number.data() + number.size(), percent);
    if (number.empty() || r.ec != std::errc{} || r.ptr != number.data() + number.size() || !(percent >= 0) ||
        percent > 100) {
      return bad();
    }
    s.limit = percent / 100.0;
  } else {
    auto d = sim::parse_duration_text(value);
    if (!d || d->count() <= 0) return bad();
    s.limit = std::chrono::duration<double, std::milli>(*d).count();
  }
  return s;
}

figures figures_of(const sim::function_result& total) {
  figures f;
  f.requests = total.requests;
  f.pod_seconds = total.pod_seconds;
  f.p50_ms = total.latency.quantile_ms(0.50);
  f.p90_ms = total.latency.quantile_ms(0.90);
  f.p95_ms = total.latency.quantile_ms(0.95);
  f.p99_ms = total.latency.quantile_ms(0.99);
  const double requests = static_cast<double>(total.requests);
  f.cold_share = total.requests == 0 ? 0.0 : static_cast<double>(total.cold_starts) / requests;
  f.failed_share = total.requests == 0 ? 0.0 : static_cast<double>(total.failed) / requests;
  return f;
}

double slo_value(const figures& f, slo_metric metric) {
  switch (metric) {
    case slo_metric::p50: return f.p50_ms;
    case slo_metric::p90: return f.p90_ms;
    case slo_metric::p95: return f.p95_ms;
    case slo_metric::p99: return f.p99_ms;
    case slo_metric::cold: return f.cold_share;
    case slo_metric::failed: return f.failed_share;
  }
  return 0;
}

double slo_violation(const figures& f, std::span<const slo> slos) {
  double total = 0;
  for (const slo& s : slos) {
    const double v = slo_value(f, s.metric);
    if (s.limit > 0) {
      total += std::max(0.0, v / s.limit - 1.0);
    } else if (v > 0) {
      total += 1.0 + v;
    }
  }
  return total;
}

std::vector<unit_point> latin_hypercube(std::size_t n, std::uint64_t seed) {
  std::vector<unit_point> points(n);
  if (n == 0) return points;
  std::mt19937_64 rng(seed);
  std::vector<std::size_t> strata(n);
  for (std::size_t d = 0; d < knob_count; ++d) {
    for (std::size_t i = 0; i < n; ++i) strata[i] = i;
    // Fisher–Yates with our own index draw (std::shuffle's draws are implementation-defined).
    for (std::size_t i = n - 1; i > 0; --i) std::swap(strata[i], strata[rng() % (i + 1)]);
    for (std::size_t i = 0; i < n; ++i) {
      points[i][d] = (static_cast<double>(strata[i]) + uniform01(rng)) / static_cast<double>(n);
    }
  }
  return points;
}

std::vector<std::size_t> pareto_front(std::span<const point_outcome> outcomes) {
  const auto key = [&](std::size_t i) {
    const figures& f = outcomes[i].fig;
    return std::array<double, 3>{f.pod_seconds, f.p99_ms, f.cold_share};
  };
  std::vector<std::size_t> front;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (!outcomes[i].valid) continue;
    const auto a = key(i);
    bool dominated = false;
    for (std::size_t j = 0; j < outcomes.size() && !dominated; ++j) {
      if (j == i || !outcomes[j].valid) continue;
      const auto b = key(j);
      const bool no_worse = b[0] <= a[0] && b[1] <= a[1] && b[2] <= a[2];
      // Equal figures: the earlier point stands for both.
      dominated = no_worse && (b != a || j < i);
    }
    if (!dominated) front.push_back(i);
  }
  std::sort(front.begin(), front.end(), [&](std::size_t x, std::size_t y) {
    const auto a = key(x);
    const auto b = key(y);
    return a != b ? a < b : x < y;
  });
  return front;
}

search_result run_search(const search_space& space, std::span<const slo> slos, const search_options& options,
                         const batch_evaluator& evaluate) {
  search_result out;
  std::set<knob_values> seen;
  std::mt19937_64 rng(sim::function_seed(options.seed, 0x74756e65));  // "tune": the search's own stream

  const auto run_batch = [&](std::vector<search_point> batch) {
    std::vector<knob_values> values;
    for (const auto& p : batch) values.push_back(p.values);
    auto outcomes = evaluate(values);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      search_point& p = batch[i];
      p.index = out.points.size();
      p.outcome = std::move(outcomes[i]);
      p.violation = p.outcome.valid ? slo_violation(p.outcome.fig, slos) : 0.0;
      p.feasible = p.outcome.valid && p.violation == 0.0;
      out.points.push_back(std::move(p));
    }
  };
  const auto make_point = [&](const unit_point& unit, std::size_t round) -> std::optional<search_point> {
    const placed_point placed = place(space, unit);
    if (!seen.insert(placed.values).second) return std::nullopt;
    search_point p;
    p.round = round;
    p.unit = unit;
    p.values = placed.values;
    p.clipped = placed.clipped;
    return p;
  };

  // 1. The Latin hypercube: spread over every knob's whole range at once.
  std::size_t initial = options.initial != 0 ? options.initial
                                             : std::max((options.budget + 1) / 2, std::min<std::size_t>(options.budget, 10));
  initial = std::min(initial, options.budget);
  {
    std::vector<search_point> batch;
    for (const auto& unit : latin_hypercube(initial, rng())) {
      if (auto p = make_point(unit, 0)) batch.push_back(std::move(*p));
    }
    run_batch(std::move(batch));
  }

  // 2. Refinement rounds: Gaussian steps around the cheapest feasible points and the front, shrinking each round.
  const std::size_t round_size = std::max<std::size_t>(1, options.round_size);
  for (std::size_t round = 1; out.points.size() < options.budget; ++round) {
    std::vector<std::size_t> parents;
    std::vector<std::size_t> feasible;
    for (const auto& p : out.points) {
      if (p.feasible) feasible.push_back(p.index);
    }
    const auto by_cost = [&](std::size_t a, std::size_t b) { return cheaper(out.points[a], out.points[b]); };
    if (!feasible.empty()) {
      std::sort(feasible.begin(), feasible.end(), by_cost);
      for (std::size_t i = 0; i < std::min<std::size_t>(3, feasible.size()); ++i) parents.push_back(feasible[i]);
      std::vector<point_outcome> outcomes;
      for (const auto& p : out.points) outcomes.push_back(p.outcome);
      std::size_t added = 0;
      for (const std::size_t i : pareto_front(outcomes)) {
        if (added == 3) break;
        if (std::find(parents.begin(), parents.end(), i) != parents.end()) continue;
        parents.push_back(i);
        ++added;
      }
    } else {
      std::vector<std::size_t> valid;
      for (const auto& p : out.points) {
        if (p.outcome.valid) valid.push_back(p.index);
      }
      std::sort(valid.begin(), valid.end(), [&](std::size_t a, std::size_t b) {
        const auto& x = out.points[a];
        const auto& y = out.points[b];
        return x.violation != y.violation ? x.violation < y.violation : cheaper(x, y);
      });
      valid.resize(std::min<std::size_t>(4, valid.size()));
      parents = valid;
    }
    if (parents.empty()) break;  // nothing valid to refine around
    const double sigma = std::max(0.02, 0.2 * std::pow(0.6, static_cast<double>(round - 1)));
    const std::size_t wanted = std::min(round_size, options.budget - out.points.size());
    std::vector<search_point> batch;
    for (std::size_t c = 0; c < wanted; ++c) {
      const unit_point& from = out.points[parents[c % parents.size()]].unit;
      for (int attempt = 0; attempt < 20; ++attempt) {
        unit_point unit = from;
        for (std::size_t d = 0; d < knob_count; ++d) {
          if (!space.ranges[d].fixed()) unit[d] = std::clamp(unit[d] + sigma * standard_normal(rng), 0.0, 1.0);
        }
        if (auto p = make_point(unit, round)) {
          batch.push_back(std::move(*p));
          break;
        }
      }
    }
    if (batch.empty()) break;  // the neighbourhoods are exhausted (a small discrete space)
    run_batch(std::move(batch));
  }

  // 3. The front and the recommendation.
  std::vector<point_outcome> outcomes;
  for (const auto& p : out.points) outcomes.push_back(p.outcome);
  out.front = pareto_front(outcomes);
  for (const auto& p : out.points) {
    if (p.feasible && (!out.best || cheaper(p, out.points[*out.best]))) out.best = p.index;
  }
  if (!out.best) {
    for (const auto& p : out.points) {
      if (!p.outcome.valid) continue;
      if (!out.closest) {
        out.closest = p.index;
        continue;
      }
      const auto& c = out.points[*out.closest];
      if (p.violation < c.violation || (p.violation == c.violation && cheaper(p, c))) out.closest = p.index;
    }
  }
  return out;
}

}  // namespace scale::tools
