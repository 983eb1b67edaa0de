#pragma once
/// Synthetic traces shaped like the Azure Functions 2019 population (Shahrad et al., "Serverless in the Wild",
/// USENIX ATC 2020): many functions whose rates span eight orders of magnitude, most of them nearly idle, for
/// scale tests. The distributions and their sources are in docs/traces.md, "Azure-shaped populations".

#include <sim/arrival.hpp>

#include <libscale/result.hpp>
#include <libscale/time.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace scale::sim {

/// What to generate. The population (each function's rate and mean service time) is drawn from `population_seed`
/// alone, function i from its own engine, so function i is the same whatever `functions` is; arrivals and service
/// times are drawn from the seed given to `open`.
struct azure_shape_spec {
  std::size_t functions = 1000;
  duration length = std::chrono::hours{24};  // arrivals in [0, length)
  std::uint64_t population_seed = 1;
  /// Rates above this are lowered to it (requests per second); 0 = no cap. Caps the few hot functions so that a
  /// test of many idle functions stays small; fractions below the cap are unchanged.
  double max_rate_per_s = 0;
};

/// One function's drawn parameters.
struct azure_shape_function {
  /// Mean invocations per 24 hours (after the cap); arrivals are Poisson at this rate / 86400 s.
  double daily_invocations = 0;
  /// Mean service time; each request's is log-normal with this mean and shape `azure_shape_service_sigma`.
  duration mean_service_time{};

  bool operator==(const azure_shape_function&) const = default;
};

/// The quantile function of mean daily invocations per function: piecewise linear in log10 through
/// (0, 1), (0.45, 24), (0.81, 1440), (0.999, 5e5), (1, 1e8). `quantile` is clamped to [0, 1].
double azure_shape_daily_invocations(double quantile);

/// Per-function mean service time in seconds: log-normal, ln(mean) ~ N(-0.38, 2.36^2), the fit Shahrad et al. give
/// for the per-function average execution time,
/// clamped to [1 ms, 600 s].
inline constexpr double azure_shape_duration_mu = -0.38;
inline constexpr double azure_shape_duration_sigma = 2.36;
/// Shape of the log-normal spread of one function's service times around its mean (our assumption).
inline constexpr double azure_shape_service_sigma = 0.5;

/// Function `index`'s parameters under `spec` (its population seed and cap); O(1), no allocation.
azure_shape_function azure_shape_function_at(const azure_shape_spec& spec, std::size_t index);

/// Validates `spec` (functions >= 1, 0 < length <= 100 years, cap finite and >= 0) and returns its trace:
/// functions "a1" .. "aN", a few dozen bytes each. `open(seed)` streams one function in O(1) memory from two
/// engines derived from function_seed(seed, i).
result<trace> make_azure_shape_trace(const azure_shape_spec& spec);

}  // namespace scale::sim
