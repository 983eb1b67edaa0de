#include <sim/distribution.hpp>

#include "trace_text.hpp"

#include <libscale/config.hpp>

#include <boost/random/exponential_distribution.hpp>
#include <boost/random/lognormal_distribution.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace scale::sim {
namespace {

using namespace std::chrono_literals;

double to_seconds(duration d) { return static_cast<double>(d.count()) / 1e9; }

/// Why a table of points is not an inverse CDF, or an empty string.
std::string check_points(const std::vector<quantile_point>& points) {
  if (points.size() < 2) return "expected at least two points (quantiles 0 and 1)";
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto& p = points[i];
    if (!std::isfinite(p.quantile) || p.quantile < 0 || p.quantile > 1) {
      return fmt::format("point {}: quantile {} is not in [0, 1]", i + 1, p.quantile);
    }
    if (!std::isfinite(p.seconds) || p.seconds < 0) return fmt::format("point {}: seconds {} is not >= 0", i + 1, p.seconds);
    if (i > 0 && !(p.quantile > points[i - 1].quantile)) {
      return fmt::format("point {}: quantile {} does not increase", i + 1, p.quantile);
    }
    if (i > 0 && p.seconds < points[i - 1].seconds) return fmt::format("point {}: seconds {} decreases", i + 1, p.seconds);
  }
  if (points.front().quantile != 0) return "the first quantile must be 0";
  if (points.back().quantile != 1) return "the last quantile must be 1";
  return {};
}

/// Reads an empirical file: header `quantile,seconds`, then rows of (q, value) with q rising from 0 to 1.
result<std::vector<quantile_point>> read_quantile_file(const std::filesystem::path& path) {
  detail::line_reader reader(path);
  if (!reader.is_open()) return error{fmt::format("{}: cannot open file", path.string())};
  std::string line;
  bool have_header = false;
  std::vector<quantile_point> points;
  std::size_t last_line = 0;
  while (reader.next(line)) {
    if (detail::is_blank(line)) continue;
    const std::size_t n = reader.line_number();
    const auto fields = detail::split_fields(line);
    if (!have_header) {
      if (fields.size() != 2 || fields[0] != "quantile" || fields[1] != "seconds") {
        return error{detail::at_line(path, n, fmt::format("header \"{}\": expected \"quantile,seconds\"", line))};
      }
      have_header = true;
      continue;
    }
    if (fields.size() != 2) {
      return error{detail::at_line(path, n, fmt::format("expected 2 fields (quantile,seconds), got {}", fields.size()))};
    }
    const auto q = detail::parse_double(fields[0]);
    if (!q || *q < 0 || *q > 1) {
      return error{detail::at_line(path, n, fmt::format("quantile = \"{}\": expected a number in [0, 1]", fields[0]))};
    }
    const auto v = parse_duration_text(fields[1]);
    if (!v || *v < 0s) {
      return error{detail::at_line(
          path, n, fmt::format("seconds = \"{}\": expected a duration >= 0 (seconds like 0.25, or 250ms)", fields[1]))};
    }
    if (points.empty() && *q != 0) {
      return error{detail::at_line(path, n, fmt::format("quantile = {}: the first row must have quantile 0", fields[0]))};
    }
    if (!points.empty() && !(*q > points.back().quantile)) {
      return error{detail::at_line(path, n, fmt::format("quantile = {}: must be above the previous row's {}", fields[0],
                                                        points.back().quantile))};
    }
    if (!points.empty() && to_seconds(*v) < points.back().seconds) {
      return error{detail::at_line(path, n, fmt::format("seconds = {}: below the previous row's {} (values must not decrease)",
                                                        fields[1], points.back().seconds))};
    }
    points.push_back(quantile_point{*q, to_seconds(*v)});
    last_line = n;
  }
  if (reader.line_number() == 0 && !have_header) return error{fmt::format("{}: empty file", path.string())};
  if (points.size() < 2) return error{fmt::format("{}: expected at least two rows (quantiles 0 and 1)", path.string())};
  if (points.back().quantile != 1) {
    return error{detail::at_line(path, last_line,
                                 fmt::format("quantile = {}: the last row must have quantile 1", points.back().quantile))};
  }
  return points;
}

// Samples are clamped to 9.2e9 s (where int64 nanoseconds end); parameters stay inside that too, so a time
// plus a sample cannot overflow.
constexpr duration max_parameter = std::chrono::seconds{9'200'000'000};

result<duration> parse_parameter(std::string_view whole, std::string_view name, std::string_view text,
                                 bool zero_allowed) {
  const auto d = parse_duration_text(text);
  if (!d) {
    return error{fmt::format("distribution \"{}\": {} \"{}\" is not a duration (expected e.g. 2s, 250ms or 2.5 seconds)",
                             whole, name, text)};
  }
  if (zero_allowed ? *d < 0s : *d <= 0s) {
    return error{fmt::format("distribution \"{}\": {} {} must be {}", whole, name, text, zero_allowed ? ">= 0" : "> 0")};
  }
  if (*d > max_parameter) {
    return error{fmt::format("distribution \"{}\": {} {} must be at most 9.2e9 s", whole, name, text)};
  }
  return *d;
}

}  // namespace

distribution::distribution() = default;

distribution distribution::constant(duration value) {
  distribution d;
  d.kind_ = kind::constant;
  d.a_ = std::max(value, duration::zero());
  return d;
}

distribution distribution::exponential(duration mean) {
  distribution d;
  d.kind_ = kind::exponential;
  d.a_ = std::max(mean, duration{1});
  return d;
}

distribution distribution::lognormal(duration median, double sigma) {
  distribution d;
  d.kind_ = kind::lognormal;
  d.a_ = std::max(median, duration{1});
  d.sigma_ = std::isfinite(sigma) && sigma > 0 ? sigma : 0;
  return d;
}

distribution distribution::uniform(duration low, duration high) {
  distribution d;
  d.kind_ = kind::uniform;
  d.a_ = std::max(low, duration::zero());
  d.b_ = std::max(high, d.a_);
  return d;
}

result<distribution> distribution::empirical(std::vector<quantile_point> points, std::string text) {
  if (auto why = check_points(points); !why.empty()) return error{fmt::format("empirical \"{}\": {}", text, why)};
  distribution d;
  d.kind_ = kind::empirical;
  d.points_ = std::make_shared<const std::vector<quantile_point>>(std::move(points));
  d.text_ = std::move(text);
  return d;
}

duration distribution::sample(std::mt19937_64& engine) const {
  switch (kind_) {
    case kind::constant:
      return a_;
    case kind::exponential:
      return detail::seconds_to_duration(boost::random::exponential_distribution<double>(1.0 / to_seconds(a_))(engine));
    case kind::lognormal:
      return detail::seconds_to_duration(
          boost::random::lognormal_distribution<double>(std::log(to_seconds(a_)), sigma_)(engine));
    case kind::uniform:
      return duration{boost::random::uniform_int_distribution<std::int64_t>(a_.count(), b_.count())(engine)};
    case kind::empirical: {
      const auto& p = *points_;
      const double u = boost::random::uniform_real_distribution<double>(0.0, 1.0)(engine);  // [0, 1)
      // The segment [p[i-1], p[i]] that holds u: p[i] is the first point above u (p.front() is 0 <= u).
      const auto above = std::upper_bound(p.begin(), p.end(), u,
                                          [](double x, const quantile_point& q) { return x < q.quantile; });
      const auto& hi = above == p.end() ? p.back() : *above;
      const auto& lo = above == p.end() ? p.back() : *(above - 1);
      const double share = hi.quantile > lo.quantile ? (u - lo.quantile) / (hi.quantile - lo.quantile) : 0;
      return detail::seconds_to_duration(lo.seconds + share * (hi.seconds - lo.seconds));
    }
  }
  return duration::zero();
}

double distribution::mean_s() const {
  switch (kind_) {
    case kind::constant:
    case kind::exponential:
      return to_seconds(a_);
    case kind::lognormal:
      return to_seconds(a_) * std::exp(sigma_ * sigma_ / 2);
    case kind::uniform:
      return (to_seconds(a_) + to_seconds(b_)) / 2;
    case kind::empirical: {
      // The mean is the integral of the inverse CDF over [0, 1]: trapezoids between the points.
      const auto& p = *points_;
      double mean = 0;
      for (std::size_t i = 1; i < p.size(); ++i) {
        mean += (p[i].quantile - p[i - 1].quantile) * (p[i].seconds + p[i - 1].seconds) / 2;
      }
      return mean;
    }
  }
  return 0;
}

std::string distribution::text() const {
  switch (kind_) {
    case kind::constant:
      return "const:" + format_go_duration(a_);
    case kind::exponential:
      return "exp:" + format_go_duration(a_);
    case kind::lognormal:
      return fmt::format("lognormal:{},{}", format_go_duration(a_), sigma_);
    case kind::uniform:
      return fmt::format("uniform:{},{}", format_go_duration(a_), format_go_duration(b_));
    case kind::empirical:
      return text_;
  }
  return {};
}

result<distribution> parse_distribution(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    const auto d = parse_duration_text(text);
    if (!d) {
      return error{fmt::format("distribution \"{}\": expected a duration like 2s or 2.5 (seconds), or KIND:ARGS with "
                               "KIND one of const, exp, lognormal, uniform, empirical",
                               text)};
    }
    if (*d < 0s) return error{fmt::format("distribution \"{}\": value {} must be >= 0", text, text)};
    if (*d > max_parameter) return error{fmt::format("distribution \"{}\": value {} must be at most 9.2e9 s", text, text)};
    return distribution::constant(*d);
  }
  const std::string_view kind = text.substr(0, colon);
  const std::string_view args = text.substr(colon + 1);
  const auto fields = detail::split_fields(args);
  if (kind == "const") {
    if (fields.size() != 1) return error{fmt::format("distribution \"{}\": expected const:VALUE", text)};
    auto value = parse_parameter(text, "value", fields[0], true);
    if (!value) return value.error_value();
    return distribution::constant(*value);
  }
  if (kind == "exp") {
    if (fields.size() != 1) return error{fmt::format("distribution \"{}\": expected exp:MEAN", text)};
    auto mean = parse_parameter(text, "mean", fields[0], false);
    if (!mean) return mean.error_value();
    return distribution::exponential(*mean);
  }
  if (kind == "lognormal") {
    if (fields.size() != 2) return error{fmt::format("distribution \"{}\": expected lognormal:MEDIAN,SIGMA", text)};
    auto median = parse_parameter(text, "median", fields[0], false);
    if (!median) return median.error_value();
    const auto sigma = detail::parse_double(fields[1]);
    // Above 10 the mean exp(sigma^2/2) is astronomically far from any sample (and overflows near 37.7).
    if (!sigma || *sigma < 0 || *sigma > 10) {
      return error{fmt::format("distribution \"{}\": sigma \"{}\" is not a number in [0, 10]", text, fields[1])};
    }
    return distribution::lognormal(*median, *sigma);
  }
  if (kind == "uniform") {
    if (fields.size() != 2) return error{fmt::format("distribution \"{}\": expected uniform:LOW,HIGH", text)};
    auto low = parse_parameter(text, "low", fields[0], true);
    if (!low) return low.error_value();
    auto high = parse_parameter(text, "high", fields[1], true);
    if (!high) return high.error_value();
    if (*low > *high) return error{fmt::format("distribution \"{}\": low {} is above high {}", text, fields[0], fields[1])};
    return distribution::uniform(*low, *high);
  }
  if (kind == "empirical") {
    // The whole rest is the file name: paths may hold commas and colons.
    if (args.empty()) return error{fmt::format("distribution \"{}\": expected empirical:FILE", text)};
    auto points = read_quantile_file(std::filesystem::path{std::string{args}});
    if (!points) return points.error_value();
    return distribution::empirical(std::move(points).value(), std::string{text});
  }
  return error{fmt::format("distribution \"{}\": unknown kind \"{}\" (expected const, exp, lognormal, uniform or empirical)",
                           text, kind)};
}

result<duration> parse_duration_text(std::string_view text) {
  if (const auto ns = detail::parse_fixed(text, 9)) return duration{*ns};
  return parse_go_duration(text);
}

std::string seconds_text(duration d) {
  const std::int64_t ns = d.count();
  const bool negative = ns < 0;
  const std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(ns) : static_cast<std::uint64_t>(ns);
  std::string out = fmt::format("{}{}", negative ? "-" : "", magnitude / 1'000'000'000);
  if (const std::uint64_t frac = magnitude % 1'000'000'000; frac != 0) {
    std::string digits = fmt::format("{:09}", frac);
    digits.erase(digits.find_last_not_of('0') + 1);
    out += '.';
    out += digits;
  }
  return out;
}

}  // namespace scale::sim
