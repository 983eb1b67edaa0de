#include <sim/synthetic_trace.hpp>

#include "trace_text.hpp"

#include <libscale/config.hpp>

#include <boost/random/exponential_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numbers>

namespace scale::sim {
namespace {

using namespace std::chrono_literals;

// About 100 years: keeps every sum of times in int64 nanoseconds.
constexpr duration max_length = 3'155'760'000s;
// 10^9 requests per second is one per nanosecond, the finest step time has.
constexpr double max_rate_per_s = 1e9;

/// A stretch of constant rate: `rate_per_s` from the current time until `end`.
struct segment {
  double rate_per_s = 0;
  duration end{};
};

/// The trace's end: the sum of the steps, or `length`.
duration total_length(const synthetic_spec& s) {
  if (s.kind != synthetic_kind::steps) return s.length;
  duration total{};
  for (const auto& step : s.steps) total += step.length;
  return total;
}

/// The constant-rate stretch that holds `t` (t < total length), for the piecewise-constant kinds.
segment segment_at(const synthetic_spec& s, duration t, duration total) {
  switch (s.kind) {
    case synthetic_kind::onoff: {
      const duration cycle = s.on + s.off;
      const duration start = t - t % cycle;
      if (t - start < s.on) return {s.rate_per_s, std::min(start + s.on, total)};
      return {0, std::min(start + cycle, total)};
    }
    case synthetic_kind::steps: {
      duration end{};
      for (const auto& step : s.steps) {
        end += step.length;
        if (t < end) return {step.rate_per_s, end};
      }
      return {0, total};
    }
    case synthetic_kind::spike: {
      const duration spike_end = s.spike_start + s.spike_length;
      if (t < s.spike_start) return {s.rate_per_s, std::min(s.spike_start, total)};
      if (t < spike_end) return {s.spike_rate_per_s, std::min(spike_end, total)};
      return {s.rate_per_s, total};
    }
    default:
      return {s.rate_per_s, total};
  }
}

class synthetic_source final : public arrival_source {
 public:
  synthetic_source(std::shared_ptr<const synthetic_spec> spec, std::uint64_t seed)
      : spec_(std::move(spec)), total_(total_length(*spec_)), arrivals_(seed), services_(function_seed(seed, 0x5e7'71ce)) {}

  std::optional<arrival> next() override {
    const auto t = next_time();
    if (!t) return std::nullopt;
    return arrival{at(*t), spec_->service_time.sample(services_)};
  }

 private:
  double exponential_s(double rate_per_s) {
    return boost::random::exponential_distribution<double>(rate_per_s)(arrivals_);
  }

  std::optional<duration> next_time() {
    const synthetic_spec& s = *spec_;
    switch (s.kind) {
      case synthetic_kind::even: {
        if (!(s.rate_per_s > 0)) return std::nullopt;
        const double ns = std::round(static_cast<double>(count_) * 1e9 / s.rate_per_s);
        if (!(ns < static_cast<double>(total_.count()))) return std::nullopt;
        ++count_;
        return duration{static_cast<std::int64_t>(ns)};
      }
      case synthetic_kind::diurnal: {
        // Thinning (Lewis and Shedler): candidates at the peak rate, each kept with probability rate(t) / peak.
        const double peak = s.rate_per_s * (1 + s.amplitude);
        if (!(peak > 0)) return std::nullopt;
        while (true) {
          const double position = static_cast<double>(now_.count()) + exponential_s(peak) * 1e9;
          if (!(position < static_cast<double>(total_.count()))) return std::nullopt;
          now_ = duration{std::llround(position)};
          const double phase = 2 * std::numbers::pi * static_cast<double>(now_.count()) / static_cast<double>(s.period.count());
          const double rate = s.rate_per_s * (1 + s.amplitude * std::sin(phase));
          if (boost::random::uniform_real_distribution<double>(0.0, 1.0)(arrivals_) * peak < rate) return now_;
        }
      }
      default: {
        // Piecewise-constant rate: exponential gaps at the current stretch's rate; a gap that crosses the
        // stretch's end is dropped and drawing restarts there (exact, as the exponential has no memory).
        while (now_ < total_) {
          const segment seg = segment_at(s, now_, total_);
          if (!(seg.rate_per_s > 0)) {
            now_ = seg.end;
            continue;
          }
          const double position = static_cast<double>(now_.count()) + exponential_s(seg.rate_per_s) * 1e9;
          if (!(position < static_cast<double>(seg.end.count()))) {
            now_ = seg.end;
            continue;
          }
          now_ = std::min(duration{std::llround(position)}, seg.end - 1ns);
          return now_;
        }
        return std::nullopt;
      }
    }
  }

  std::shared_ptr<const synthetic_spec> spec_;
  duration total_;
  std::mt19937_64 arrivals_;
  std::mt19937_64 services_;
  duration now_{};
  std::int64_t count_ = 0;
};

std::optional<error> check_rate(std::string_view name, double rate) {
  if (!std::isfinite(rate) || rate < 0 || rate > max_rate_per_s) {
    return error{fmt::format("{} {}: must be a number of requests per second in [0, 1e9]", name, rate)};
  }
  return std::nullopt;
}

std::optional<error> check_length(std::string_view name, duration d, bool zero_allowed) {
  if ((zero_allowed ? d < 0s : d <= 0s) || d > max_length) {
    return error{fmt::format("{} {}: must be {} and at most 100 years", name, format_go_duration(d),
                             zero_allowed ? ">= 0" : "> 0")};
  }
  return std::nullopt;
}

std::optional<error> validate(const synthetic_spec& s) {
  if (s.functions < 1 || s.functions > 1'000'000) {
    return error{fmt::format("functions {}: must be in [1, 1000000]", s.functions)};
  }
  if (s.kind != synthetic_kind::steps) {
    if (auto e = check_rate("rate", s.rate_per_s)) return e;
    if (auto e = check_length("length", s.length, false)) return e;
  }
  switch (s.kind) {
    case synthetic_kind::onoff:
      if (auto e = check_length("on", s.on, false)) return e;
      if (auto e = check_length("off", s.off, true)) return e;
      break;
    case synthetic_kind::diurnal:
      if (auto e = check_length("period", s.period, false)) return e;
      if (!(s.amplitude >= 0 && s.amplitude <= 1)) return error{fmt::format("amplitude {}: must be in [0, 1]", s.amplitude)};
      break;
    case synthetic_kind::steps: {
      if (s.steps.empty()) return error{"steps: expected at least one RATE@DURATION"};
      duration total{};
      for (const auto& step : s.steps) {
        if (auto e = check_rate("step rate", step.rate_per_s)) return e;
        if (auto e = check_length("step length", step.length, false)) return e;
        total += step.length;
        if (total > max_length) return error{"steps: the total length must be at most 100 years"};
      }
      break;
    }
    case synthetic_kind::spike:
      if (auto e = check_length("spike start", s.spike_start, true)) return e;
      if (auto e = check_length("spike length", s.spike_length, false)) return e;
      if (auto e = check_rate("spike rate", s.spike_rate_per_s)) return e;
      break;
    default:
      break;
  }
  return std::nullopt;
}

}  // namespace

result<synthetic_kind> parse_synthetic_kind(std::string_view text) {
  for (const auto kind : {synthetic_kind::poisson, synthetic_kind::even, synthetic_kind::onoff, synthetic_kind::diurnal,
                          synthetic_kind::steps, synthetic_kind::spike}) {
    if (text == to_string(kind)) return kind;
  }
  return error{fmt::format("kind \"{}\": expected poisson, even, onoff, diurnal, steps or spike", text)};
}

std::string_view to_string(synthetic_kind kind) {
  switch (kind) {
    case synthetic_kind::poisson: return "poisson";
    case synthetic_kind::even: return "even";
    case synthetic_kind::onoff: return "onoff";
    case synthetic_kind::diurnal: return "diurnal";
    case synthetic_kind::steps: return "steps";
    case synthetic_kind::spike: return "spike";
  }
  return "?";
}

result<std::vector<rate_step>> parse_rate_steps(std::string_view text) {
  std::vector<rate_step> steps;
  const auto items = detail::split_fields(text);
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string_view item = items[i];
    const auto bad = [&] {
      return error{fmt::format("steps \"{}\": step {} \"{}\": expected RATE@DURATION like 10@60s", text, i + 1, item)};
    };
    const auto at_sign = item.find('@');
    if (at_sign == std::string_view::npos) return bad();
    const auto rate = detail::parse_double(item.substr(0, at_sign));
    const auto length = parse_duration_text(item.substr(at_sign + 1));
    if (!rate || !length) return bad();
    if (*rate < 0) return error{fmt::format("steps \"{}\": step {} rate {}: must be >= 0", text, i + 1, *rate)};
    if (*length <= 0s) {
      return error{fmt::format("steps \"{}\": step {} length {}: must be > 0", text, i + 1, item.substr(at_sign + 1))};
    }
    steps.push_back(rate_step{*rate, *length});
  }
  return steps;
}

result<trace> make_synthetic_trace(const synthetic_spec& spec) {
  if (auto e = validate(spec)) return *e;
  auto shared = std::make_shared<const synthetic_spec>(spec);
  trace out;
  out.source = fmt::format("synthetic {}", to_string(spec.kind));
  for (std::size_t i = 0; i < spec.functions; ++i) {
    out.functions.push_back(function_trace{fmt::format("f{}", i + 1), [shared, i](std::uint64_t seed) {
                                             return std::make_unique<synthetic_source>(shared, function_seed(seed, i));
                                           }});
  }
  return out;
}

}  // namespace scale::sim
