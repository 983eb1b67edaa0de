#pragma once
// `scalesim tune`'s objective and search: SLOs, the figures of one evaluated configuration, the seeded Latin
// hypercube design, the refinement rounds around the best points, and the Pareto front. No simulation here:
// the search asks a `batch_evaluator` for figures, so it is tested with cheap made-up objectives.

#include "tune_space.hpp"

#include <sim/function_result.hpp>

#include <libscale/result.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace scale::tools {

/// What an SLO bounds.
enum class slo_metric { p50, p90, p95, p99, cold, failed };

/// One `--slo`: `metric <= limit`.
struct slo {
  slo_metric metric = slo_metric::p99;
  /// Milliseconds for the latency quantiles, a share in [0, 1] for cold and failed.
  double limit = 0;
  /// The text as given, for reports.
  std::string text;

  bool operator==(const slo&) const = default;
};

/// Parses `p50|p90|p95|p99<=DURATION` (a Go duration or bare seconds) or `cold|failed<=PERCENT` ("1%", or "1"
/// meaning 1 %). Spaces around the parts are allowed. Errors quote the text and show the expected forms.
result<slo> parse_slo(std::string_view text);

/// The figures of one configuration over the whole (tuning) trace.
struct figures {
  std::uint64_t requests = 0;
  double pod_seconds = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p95_ms = 0;
  double p99_ms = 0;
  /// Cold starts and failures as shares of all requests.
  double cold_share = 0;
  double failed_share = 0;

  bool operator==(const figures&) const = default;
};

/// The figures of a merged run result.
figures figures_of(const sim::function_result& total);

/// The figure an SLO bounds (ms or share).
double slo_value(const figures& f, slo_metric metric);

/// How far `f` misses the SLOs: Σ max(0, value / limit − 1), and for a limit of 0, 1 + value when value > 0.
/// 0 exactly when every SLO is met.
double slo_violation(const figures& f, std::span<const slo> slos);

/// The outcome of evaluating one configuration: figures, or why it was not simulated (libscale's validation
/// refused it, e.g. min-scale above a max-scale from --config).
struct point_outcome {
  bool valid = true;
  std::string rejected;  // the validation message when !valid
  figures fig;
};

/// Evaluates a batch of configurations, results in the batch's order. The search calls it once per round, so an
/// implementation can run the whole batch in parallel.
using batch_evaluator = std::function<std::vector<point_outcome>(const std::vector<knob_values>&)>;

/// `n` points of a Latin hypercube in [0, 1)^knob_count: in every coordinate each of the n strata [i/n, (i+1)/n)
/// holds exactly one point, at a uniform position inside it. The same `n` and `seed` give the same points on every
/// platform (std::mt19937_64 and our own integer-to-real and shuffle steps; no std:: distributions).
std::vector<unit_point> latin_hypercube(std::size_t n, std::uint64_t seed);

/// Indices of the points not dominated in (pod-seconds, p99, cold share), all three minimised, over the valid
/// outcomes; ordered by pod-seconds, then p99, cold share and index. Equal figures: the earliest index only.
std::vector<std::size_t> pareto_front(std::span<const point_outcome> outcomes);

/// How the search spends its budget.
struct search_options {
  /// Configurations to evaluate in all (each distinct; the default config is not counted).
  std::size_t budget = 48;
  std::uint64_t seed = 1;
  /// Latin hypercube points; 0 = half the budget (at least min(budget, 10)).
  std::size_t initial = 0;
  /// Points per refinement round.
  std::size_t round_size = 8;
};

/// One evaluated configuration.
struct search_point {
  std::size_t index = 0;
  /// 0 for the Latin hypercube, then the refinement round.
  std::size_t round = 0;
  unit_point unit{};
  knob_values values{};
  bool clipped = false;
  point_outcome outcome;
  bool feasible = false;
  double violation = 0;
};

/// Everything the search evaluated, in order, with the front and the recommendation.
struct search_result {
  std::vector<search_point> points;
  std::vector<std::size_t> front;
  /// Lowest pod-seconds among feasible points (ties: lower p99, then cold share, then index); none if no point
  /// met every SLO.
  std::optional<std::size_t> best;
  /// Without a feasible point: the one closest to meeting the SLOs (least violation, then pod-seconds).
  std::optional<std::size_t> closest;
};

/// Runs the search: a Latin hypercube of `options.initial` points, then rounds of `round_size` points, each a
/// Gaussian step (in unit coordinates, σ = 0.2 × 0.6^(round − 1), at least 0.02) from a parent; parents are the 3
/// cheapest feasible points and up to 3 more of the Pareto front, or without a feasible point the 4 closest to
/// feasibility. Points whose knob values equal an earlier point's are redrawn (up to 20 times) or dropped.
/// The result depends only on the space, SLOs, options and the evaluator's answers.
search_result run_search(const search_space& space, std::span<const slo> slos, const search_options& options,
                         const batch_evaluator& evaluate);

}  // namespace scale::tools
