#pragma once
/// Reader for the Azure Functions 2019 trace (Shahrad et al., "Serverless in the Wild", ATC'20): per-minute
/// invocation counts plus per-function duration percentiles, expanded lazily into arrivals. docs/traces.md has
/// the layouts, the expansion rules and the naming conventions.

#include <sim/arrival.hpp>

#include <libscale/result.hpp>

#include <filesystem>
#include <optional>
#include <string_view>

namespace scale::sim {

/// How a minute's count n becomes arrival times inside that minute [T, T + 60 s):
/// - `equal`: T + k * 60 s / n for k = 0 .. n-1 (integer nanoseconds, rounded down): evenly spaced, first at T.
/// - `uniform`: n independent uniform times in [T, T + 60 s), sorted (drawn in order as successive order
///   statistics, so nothing is buffered). This is exactly a Poisson process conditioned on n arrivals.
/// - `poisson`: a Poisson process of rate n / 60 s over the minute, so the minute gets Poisson(n) arrivals:
///   the total matches the file only on average. Minutes with n = 0 stay empty.
enum class minute_expansion { uniform, poisson, equal };

/// "uniform", "poisson" or "equal".
result<minute_expansion> parse_minute_expansion(std::string_view text);
std::string_view to_string(minute_expansion mode);

/// The durations file that goes with an invocations file by name, whether or not it exists:
/// `invocations_per_function_md.anon.dNN.csv` -> `function_durations_percentiles.anon.dNN.csv` (Azure),
/// `NNN_inv.csv` -> `NNN_run.csv` (invitro sampler), otherwise the first "invocations" in the name replaced by
/// "durations" (`invocations.csv` -> `durations.csv`, invitro). nullopt when no rule applies.
std::optional<std::filesystem::path> azure2019_durations_sibling(const std::filesystem::path& invocations);

/// Reads and validates both files whole (every error names file, line and field) and keeps, per function, only
/// its non-zero minutes and its duration percentiles; arrivals are produced on demand.
///
/// Invocations: columns HashOwner, HashApp, HashFunction, optional Trigger, and consecutive minute columns
/// labelled `N` or `minute_N` (any order of columns; the Azure and both invitro layouts). The i-th minute
/// column (from 0) covers [60 s * i, 60 s * (i + 1)), whatever its label. Counts are whole numbers up to 10^8.
/// Durations: columns HashOwner, HashApp, HashFunction and percentile_Average_{0,1,25,50,75,99,100} in ms
/// (others such as Average or Count are ignored); service times are sampled from the piecewise-linear inverse
/// CDF through (0, p0), (0.01, p1), (0.25, p25), (0.5, p50), (0.75, p75), (0.99, p99), (1, p100).
/// A function of the invocations file without a durations row is an error.
///
/// Function ids: HashFunction; if two rows share it, HashApp/HashFunction for all; if still not unique,
/// HashOwner/HashApp/HashFunction. `open(seed)` streams one function: arrivals from one engine, service times
/// from another, both derived from the seed.
result<trace> read_azure2019_trace(const std::filesystem::path& invocations, const std::filesystem::path& durations,
                                   minute_expansion mode);

}  // namespace scale::sim
