#pragma once
/// Service-time distributions, written one way everywhere (flags, configs, docs): `2s`, `const:2s`, `exp:MEAN`,
/// `lognormal:MEDIAN,SIGMA`, `uniform:A,B`, `empirical:FILE`. See docs/traces.md, "Distributions".

#include <libscale/result.hpp>
#include <libscale/time.hpp>

#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace scale::sim {

/// One point of an empirical inverse CDF: `quantile` in [0, 1] maps to `seconds`.
struct quantile_point {
  double quantile = 0;
  double seconds = 0;

  bool operator==(const quantile_point&) const = default;
};

/// A distribution of durations (service times). A value type: cheap to copy, immutable, shareable across
/// threads. Samples are drawn with Boost.Random's distributions from the caller's engine, so a given engine
/// state gives the same sample on every platform.
class distribution {
 public:
  enum class kind { constant, exponential, lognormal, uniform, empirical };

  /// Always `value`.
  static distribution constant(duration value);
  /// Exponential with the given mean (> 0).
  static distribution exponential(duration mean);
  /// Log-normal with the given median (> 0) and shape `sigma` (>= 0): exp(N(ln median, sigma^2)).
  static distribution lognormal(duration median, double sigma);
  /// Uniform over [low, high], 0 <= low <= high, to the nanosecond.
  static distribution uniform(duration low, duration high);
  /// Inverse-CDF sampling with linear interpolation between `points`: quantiles strictly increasing from
  /// exactly 0 to exactly 1, seconds finite, >= 0 and non-decreasing. `text` is what text() returns.
  static result<distribution> empirical(std::vector<quantile_point> points, std::string text);

  /// Const 0 s.
  distribution();

  /// One sample, rounded to the nanosecond and clamped to [0, 9.2e9 s].
  duration sample(std::mt19937_64& engine) const;
  /// The exact mean in seconds (for empirical: the integral of the interpolated inverse CDF).
  double mean_s() const;
  /// The canonical spelling, which parse_distribution reads back to the same distribution (for an empirical
  /// table built in code, the `text` it was given).
  std::string text() const;

  kind which() const { return kind_; }

 private:
  kind kind_ = kind::constant;
  duration a_{};       // constant value, exponential mean, lognormal median, uniform low
  duration b_{};       // uniform high
  double sigma_ = 0;   // lognormal shape
  std::shared_ptr<const std::vector<quantile_point>> points_;
  std::string text_;   // empirical only
};

/// Parses the distribution syntax: `D` or `const:D`, `exp:MEAN`, `lognormal:MEDIAN,SIGMA`, `uniform:A,B`,
/// `empirical:FILE`, where every duration is a Go duration ("250ms", "1m30s") or bare seconds ("2.5") and
/// SIGMA is a plain number. The empirical file is CSV with the header `quantile,seconds` (docs/traces.md).
/// Errors name the text and what was expected; an error in the file names the file and line.
result<distribution> parse_distribution(std::string_view text);

/// Bare decimal seconds with up to 9 fractional digits ("2", "0.25") or a Go duration ("250ms", "1m30s").
/// Negative values parse; callers decide whether they are allowed.
result<duration> parse_duration_text(std::string_view text);

/// Shortest decimal seconds that parse back to exactly `d`: "2", "0.25", "1.000000001", "-0.5".
std::string seconds_text(duration d);

}  // namespace scale::sim
