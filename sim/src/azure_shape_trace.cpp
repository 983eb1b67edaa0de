#include <sim/azure_shape_trace.hpp>

#include <boost/random/exponential_distribution.hpp>
#include <boost/random/lognormal_distribution.hpp>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <random>
#include <utility>

namespace scale::sim {
namespace {

using namespace std::chrono_literals;

// About 100 years, as for the other generators: keeps every sum of times in int64 nanoseconds.
constexpr duration max_length = 3'155'760'000s;
constexpr double seconds_per_day = 86'400;

// (quantile, log10 of mean daily invocations); docs/traces.md, "Azure-shaped populations", gives the sources.
constexpr std::array<std::pair<double, double>, 5> daily_knots{{
    {0.0, 0.0},          // 1 a day: the least a function in a day's file can have
    {0.45, 1.380211242}, // log10(24): 45 % at most once an hour
    {0.81, 3.158362492}, // log10(1440): 81 % at most once a minute
    {0.999, 5.698970004},// log10(5e5): puts ~99.6 % of invocations in the top 19 %
    {1.0, 8.0},          // 1e8 a day: eight orders of magnitude above the least
}};

// Salts that keep the population's and the streams' engines apart from each other and from other generators.
constexpr std::uint64_t population_salt = 0xa2'0e'5a'9e;
constexpr std::uint64_t service_salt = 0x5e'7'71ce;

class azure_shape_source final : public arrival_source {
 public:
  azure_shape_source(azure_shape_function f, duration length, std::uint64_t seed)
      : rate_per_ns_(f.daily_invocations / seconds_per_day / 1e9),
        length_ns_(static_cast<double>(length.count())),
        // mean = median * exp(sigma^2 / 2), so this median keeps the function's mean.
        service_(std::log(static_cast<double>(f.mean_service_time.count())) -
                     azure_shape_service_sigma * azure_shape_service_sigma / 2,
                 azure_shape_service_sigma),
        arrivals_(seed),
        services_(function_seed(seed, service_salt)) {}

  std::optional<arrival> next() override {
    if (!(rate_per_ns_ > 0)) return std::nullopt;
    // Exponential gaps summed in double nanoseconds (exact to well below 1 ns over 100 years' worth of 2^53).
    position_ns_ += boost::random::exponential_distribution<double>(rate_per_ns_)(arrivals_);
    if (!(position_ns_ < length_ns_)) {
      rate_per_ns_ = 0;
      return std::nullopt;
    }
    const auto service_ns = std::min(service_(services_), 9.2e18);
    return arrival{at(duration{std::llround(std::floor(position_ns_))}), duration{std::llround(service_ns)}};
  }

 private:
  double rate_per_ns_;
  double length_ns_;
  double position_ns_ = 0;
  boost::random::lognormal_distribution<double> service_;  // in nanoseconds
  std::mt19937_64 arrivals_;
  std::mt19937_64 services_;
};

}  // namespace

double azure_shape_daily_invocations(double quantile) {
  const double q = std::clamp(quantile, 0.0, 1.0);
  for (std::size_t k = 1; k < daily_knots.size(); ++k) {
    const auto [q0, y0] = daily_knots[k - 1];
    const auto [q1, y1] = daily_knots[k];
    if (q <= q1) return std::pow(10.0, y0 + (y1 - y0) * (q - q0) / (q1 - q0));
  }
  return std::pow(10.0, daily_knots.back().second);
}

azure_shape_function azure_shape_function_at(const azure_shape_spec& spec, std::size_t index) {
  std::mt19937_64 engine(function_seed(spec.population_seed ^ population_salt, index));
  const double quantile = boost::random::uniform_real_distribution<double>(0.0, 1.0)(engine);
  double daily = azure_shape_daily_invocations(quantile);
  if (spec.max_rate_per_s > 0) daily = std::min(daily, spec.max_rate_per_s * seconds_per_day);
  const double mean_s = boost::random::lognormal_distribution<double>(azure_shape_duration_mu,
                                                                     azure_shape_duration_sigma)(engine);
  const double clamped_s = std::clamp(mean_s, 1e-3, 600.0);
  return azure_shape_function{daily, duration{std::llround(clamped_s * 1e9)}};
}

result<trace> make_azure_shape_trace(const azure_shape_spec& spec) {
  if (spec.functions < 1) return error{"azure-shape: functions must be at least 1"};
  if (spec.length <= 0s || spec.length > max_length) {
    return error{"azure-shape: length must be positive and at most 100 years"};
  }
  if (!std::isfinite(spec.max_rate_per_s) || spec.max_rate_per_s < 0) {
    return error{fmt::format("azure-shape: max rate {} must be a finite number >= 0 (0 = no cap)", spec.max_rate_per_s)};
  }
  trace out;
  out.source = fmt::format("azure-shape:functions={},length={}s,population-seed={}", spec.functions,
                           std::chrono::duration<double>(spec.length).count(), spec.population_seed);
  out.functions.reserve(spec.functions);
  for (std::size_t i = 0; i < spec.functions; ++i) {
    const azure_shape_function f = azure_shape_function_at(spec, i);
    const duration length = spec.length;
    out.functions.push_back(function_trace{
        fmt::format("a{}", i + 1), [f, length, i](std::uint64_t seed) -> std::unique_ptr<arrival_source> {
          return std::make_unique<azure_shape_source>(f, length, function_seed(seed, i));
        }});
  }
  return out;
}

}  // namespace scale::sim
