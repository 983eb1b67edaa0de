#pragma once
/// Synthetic workloads as a `trace`, so the simulator runs them like any file: Poisson, evenly spaced, on/off
/// bursts, diurnal, steps and spike, each with a service-time distribution. docs/traces.md, "Generators".

#include <sim/arrival.hpp>
#include <sim/distribution.hpp>

#include <libscale/result.hpp>
#include <libscale/time.hpp>

#include <chrono>
#include <cstddef>
#include <string_view>
#include <vector>

namespace scale::sim {

/// The arrival process. Every kind but `even` is a Poisson process whose rate changes with time:
/// - `poisson`: `rate` throughout.
/// - `even`: one arrival every 1/`rate` seconds, the first at 0 (deterministic).
/// - `onoff`: `rate` for `on`, then nothing for `off`, repeating from 0 (starts on).
/// - `diurnal`: rate(t) = `rate` * (1 + `amplitude` * sin(2 pi t / `period`)), by thinning.
/// - `steps`: `rate` of each step for its length, one after the other; the trace lasts their total length.
/// - `spike`: `rate`, except `spike_rate` during [`spike_start`, `spike_start` + `spike_length`).
enum class synthetic_kind { poisson, even, onoff, diurnal, steps, spike };

/// "poisson", "even", "onoff", "diurnal", "steps", "spike".
result<synthetic_kind> parse_synthetic_kind(std::string_view text);
std::string_view to_string(synthetic_kind kind);

/// One phase of a `steps` workload.
struct rate_step {
  double rate_per_s = 0;
  duration length{};

  bool operator==(const rate_step&) const = default;
};

/// "RATE@DURATION,RATE@DURATION,...", e.g. "10@60s,50@60s": rates >= 0 per second, durations > 0 (Go durations
/// or bare seconds).
result<std::vector<rate_step>> parse_rate_steps(std::string_view text);

/// Everything a generator takes; fields a kind does not use are ignored.
struct synthetic_spec {
  synthetic_kind kind = synthetic_kind::poisson;
  double rate_per_s = 1;                         // see synthetic_kind
  duration length = std::chrono::seconds{60};    // arrivals in [0, length); not used by steps
  distribution service_time;                     // per request; default const 0
  std::size_t functions = 1;                     // independent functions with the same spec
  duration on = std::chrono::seconds{60};        // onoff
  duration off = std::chrono::seconds{60};       // onoff
  duration period = std::chrono::hours{24};      // diurnal
  double amplitude = 0.5;                        // diurnal, in [0, 1]
  std::vector<rate_step> steps;                  // steps
  duration spike_start{};                        // spike
  duration spike_length{};                       // spike
  double spike_rate_per_s = 0;                   // spike
};

/// Validates `spec` and returns its trace: functions "f1" .. "fN". `open(seed)` streams one function in O(1)
/// memory; it mixes the function's index into the seed (function_seed), so functions opened with the same seed
/// are still independent. Arrival times and service times come from two engines derived from that seed.
result<trace> make_synthetic_trace(const synthetic_spec& spec);

}  // namespace scale::sim
