// Property tests of the decider (libscale/decider.hpp) on seeded random specs and inputs: the rate bounds,
// activation scale, panic's ratchet, the scale-down delay and the excess burst capacity's sign rules hold on
// every tick. The linear window's brute-force comparison lives in linear_window_test.cpp.
#include "libscale/decider.hpp"

#include <doctest/doctest.h>

#include <libscale/config.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>

namespace {

using namespace std::chrono_literals;
using scale::at;
using scale::decider;
using scale::decider_spec;
using scale::duration;
using scale::observed_values;
using scale::scale_result;
using scale::time_point;

// Draws from the engine's raw output only, so the cases are the same with every standard library
// (std::uniform_*_distribution are implementation-defined).
class draws {
 public:
  explicit draws(std::uint64_t seed) : engine_(seed) {}
  /// Uniform in [low, high).
  double real(double low, double high) {
    return low + (high - low) * static_cast<double>(engine_() >> 11) * 0x1p-53;
  }
  /// Uniform in [low, high] (a range far below 2^64, so the modulo bias is negligible).
  std::int64_t integer(std::int64_t low, std::int64_t high) {
    return low + static_cast<std::int64_t>(engine_() % static_cast<std::uint64_t>(high - low + 1));
  }
  bool chance(double p) { return real(0, 1) < p; }

 private:
  std::mt19937_64 engine_;
};

/// A spec within Knative's valid ranges (config.go: validate, annotation_validation.go).
decider_spec random_spec(draws& d) {
  decider_spec spec;
  spec.max_scale_up_rate = d.chance(0.3) ? d.real(1.01, 3) : d.real(1.01, 2000);
  spec.max_scale_down_rate = d.chance(0.3) ? d.real(1.01, 3) : d.real(1.01, 100);
  spec.total_value = d.chance(0.5) ? static_cast<double>(d.integer(1, 1000)) : d.real(0.01, 1000);
  spec.target_value = std::max(scale::knative::target_min, spec.total_value * d.real(0.01, 1.0));
  spec.target_burst_capacity = d.chance(0.2) ? -1.0 : d.chance(0.2) ? 0.0 : d.real(0, 1000);
  spec.panic_threshold = d.real(1.1, 10.0);
  spec.stable_window = std::chrono::seconds{d.integer(6, 3600)};
  spec.scale_down_delay = d.chance(0.3) ? std::chrono::seconds{d.integer(1, 3600)} : 0s;
  spec.reachable = d.chance(0.8);
  spec.activation_scale = d.chance(0.3) ? static_cast<std::int32_t>(d.integer(2, 50)) : 0;
  return spec;
}

/// Load that sometimes idles, sometimes bursts far past the panic threshold.
observed_values random_load(draws& d, const decider_spec& spec, int ready) {
  const double per_pod = spec.target_value * (d.chance(0.2) ? 0 : d.real(0, d.chance(0.3) ? 20 : 2));
  const double stable = per_pod * std::max(ready, 1);
  const double panic = d.chance(0.3) ? stable * d.real(1, 30) : stable * d.real(0.5, 1.5);
  return {stable, panic};
}

struct tick_bounds {
  double up = 0;
  double down = 0;
};

/// Steps 3 of decider::scale: the rate bounds of one tick.
tick_bounds bounds_of(const decider_spec& spec, int ready) {
  const double r = std::max(1.0, static_cast<double>(ready));
  return {std::ceil(spec.max_scale_up_rate * r), spec.reachable ? std::floor(r / spec.max_scale_down_rate) : 0.0};
}

TEST_CASE("decider invariants on seeded random specs and loads") {
  constexpr int specs = 300;
  constexpr int ticks = 300;
  std::int64_t panic_ticks = 0;
  std::int64_t activation_lifts = 0;
  std::int64_t delayed_ticks = 0;
  for (std::uint64_t seed = 1; seed <= specs; ++seed) {
    CAPTURE(seed);
    draws d(seed);
    decider_spec spec = random_spec(d);
    decider_spec undelayed_spec = spec;
    undelayed_spec.scale_down_delay = 0s;
    time_point now = at(std::chrono::seconds{d.integer(0, 100)});
    const int initial_ready = static_cast<int>(d.integer(0, 20));
    decider subject(spec, initial_ready, now);
    decider undelayed(undelayed_spec, initial_ready, now);  // same inputs, no scale-down delay
    int ready = initial_ready;
    std::optional<std::int32_t> previous_in_panic;
    if (subject.in_panic()) previous_in_panic = subject.max_panic_pods();
    for (int tick = 0; tick < ticks; ++tick) {
      CAPTURE(tick);
      now += d.chance(0.9) ? scale::decider_tick_interval : std::chrono::seconds{d.integer(0, 400)};
      const observed_values load = random_load(d, spec, ready);
      const scale_result r = subject.scale(now, ready, load);
      const scale_result u = undelayed.scale(now, ready, load);
      REQUIRE(r.valid);
      REQUIRE(u.valid);
      const tick_bounds b = bounds_of(spec, ready);
      const double stable_want = std::ceil(load.stable / spec.target_value);
      CAPTURE(ready);
      CAPTURE(load.stable);
      CAPTURE(load.panic);
      CAPTURE(u.desired_pod_count);

      // 1. Outside panic the answer stays within this tick's rate bounds, unless activation scale lifts a
      //    non-zero want to exactly activation_scale.
      if (!undelayed.in_panic()) {
        const bool in_bounds = u.desired_pod_count >= b.down && u.desired_pod_count <= b.up;
        const bool lifted = spec.activation_scale > 1 && stable_want > 0 && u.desired_pod_count == spec.activation_scale;
        CHECK((in_bounds || lifted));
        if (!in_bounds) ++activation_lifts;
      }
      // 2. In panic the answer never drops during one episode, and it is the episode's maximum.
      if (undelayed.in_panic()) {
        ++panic_ticks;
        if (previous_in_panic) CHECK(u.desired_pod_count >= *previous_in_panic);
        CHECK(u.desired_pod_count == undelayed.max_panic_pods());
        previous_in_panic = u.desired_pod_count;
      } else {
        previous_in_panic.reset();
      }
      // 3. Panic does not depend on the delay window, and the delay only ever holds the answer up.
      CHECK(subject.in_panic() == undelayed.in_panic());
      if (spec.reachable && spec.scale_down_delay > 0s) {
        ++delayed_ticks;
        CHECK(r.desired_pod_count >= u.desired_pod_count);
      } else {
        CHECK(r.desired_pod_count == u.desired_pod_count);
      }
      // 4. Excess burst capacity: TBC 0 never wants the activator, TBC -1 always does, otherwise it is
      //    floor(ready × total − TBC − panic load).
      CHECK(r.excess_burst_capacity == u.excess_burst_capacity);
      if (spec.target_burst_capacity == 0) CHECK(r.excess_burst_capacity == 0);
      if (spec.target_burst_capacity == -1) CHECK(r.excess_burst_capacity == -1);
      if (spec.target_burst_capacity > 0) {
        const double expected = std::floor(ready * spec.total_value - spec.target_burst_capacity - load.panic);
        CHECK(r.excess_burst_capacity == scale::detail::go_int32(expected));
      }
      // The pods follow the answer, sometimes late, sometimes not at all.
      if (d.chance(0.7)) ready = std::clamp(u.desired_pod_count, 0, 5000);
    }
  }
  // The random cases must reach the interesting states, or the checks above prove little.
  CHECK(panic_ticks > 1000);
  CHECK(activation_lifts > 2);
  CHECK(delayed_ticks > 1000);
}

TEST_CASE("decider: unreachable revisions have no lower bound and ignore the scale-down delay") {
  for (std::uint64_t seed = 1000; seed < 1100; ++seed) {
    CAPTURE(seed);
    draws d(seed);
    decider_spec spec = random_spec(d);
    spec.reachable = false;
    spec.activation_scale = 0;
    spec.scale_down_delay = std::chrono::seconds{d.integer(1, 600)};
    decider subject(spec, 0, at(0s));
    // No load at all: the answer is 0 at once, whatever was asked before.
    const int ready = static_cast<int>(d.integer(1, 1000));
    subject.scale(at(2s), ready, observed_values{spec.target_value * ready * 3, spec.target_value * ready * 3});
    const scale_result r = subject.scale(at(2s) + spec.stable_window + 2s, ready, observed_values{0, 0});
    CHECK(r.valid);
    CHECK(r.desired_pod_count == 0);
  }
}

}  // namespace
