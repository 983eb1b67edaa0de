#include "libscale/scaling_policy.hpp"

#include <doctest/doctest.h>

#include "libscale/hpa_policy.hpp"
#include "libscale/hybrid_histogram_policy.hpp"
#include "libscale/keepalive_policy.hpp"
#include "libscale/kpa_policy.hpp"
#include "libscale/oracle_policy.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

namespace {

using namespace std::chrono_literals;
using scale::any_scaling_policy;
using scale::decisions_hold_until_observed_v;
using scale::duration;
using scale::policy_decision;
using scale::time_point;

time_point at(duration d) { return time_point{d}; }

// Which policies promise that their decisions hold until they observe something: the pool- and plan-based ones
// and the HPA (which decides only in its syncs); not the KPA, whose `decide` pokes the decider and re-enqueues.
static_assert(decisions_hold_until_observed_v<scale::keepalive_policy>);
static_assert(decisions_hold_until_observed_v<scale::hybrid_histogram_policy>);
static_assert(decisions_hold_until_observed_v<scale::hpa_policy>);
static_assert(decisions_hold_until_observed_v<scale::oracle_policy>);
static_assert(!decisions_hold_until_observed_v<scale::kpa_policy>);
static_assert(!decisions_hold_until_observed_v<any_scaling_policy>);

/// A policy that declares the member false: no promise.
struct declares_false {
  static constexpr bool decisions_hold_until_observed = false;
  bool uses_stats() const { return false; }
  void on_arrival(time_point) {}
  void on_completion(time_point) {}
  void on_stat(time_point, const scale::pod_stat&, bool) {}
  policy_decision decide(time_point, const scale::pod_counts&) { return {}; }
  policy_decision on_timer(time_point, const scale::pod_counts&) { return {}; }
};
static_assert(scale::scaling_policy<declares_false>);
static_assert(!decisions_hold_until_observed_v<declares_false>);

/// Drives `p` with random arrivals and completions (one pod per request) and checks the promise: between two
/// observations, `decide` at any instant before the last answer's `wake_at` repeats that answer, and at
/// `wake_at` the timer's answer starts the next stretch.
template <class P>
std::int64_t broken_promises(P p, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::int64_t broken = 0;
  std::int32_t in_flight = 0;
  time_point now{};
  policy_decision last = p.decide(now, {});
  for (int i = 0; i < 20'000; ++i) {
    const time_point next_event = now + std::chrono::seconds{static_cast<std::int64_t>(rng() % 900)};
    // Timers before the next observation, with probes of `decide` in between.
    for (;;) {
      const time_point until = last.wake_at && *last.wake_at < next_event ? *last.wake_at : next_event;
      for (int k = 0; k < 3 && until > now; ++k) {
        const auto span_ns = static_cast<std::uint64_t>((until - now).count());
        const time_point probe = now + duration{static_cast<std::int64_t>(rng() % span_ns)};
        if (p.decide(probe, {}) != last) ++broken;
        now = probe;
      }
      if (!last.wake_at || *last.wake_at >= next_event) break;
      now = *last.wake_at;
      last = p.on_timer(now, {});
    }
    now = next_event;
    if (in_flight > 0 && rng() % 2 == 0) {
      p.on_completion(now);
      --in_flight;
    } else {
      p.on_arrival(now);
      ++in_flight;
    }
    last = p.decide(now, {});
  }
  return broken;
}

}  // namespace

TEST_CASE("decisions_hold_until_observed: any_scaling_policy reports its policy's promise") {
  CHECK(any_scaling_policy{scale::keepalive_policy{}}.decisions_hold_until_observed());
  CHECK(any_scaling_policy{scale::hybrid_histogram_policy{}}.decisions_hold_until_observed());
  CHECK(any_scaling_policy{scale::hpa_policy{}}.decisions_hold_until_observed());
  CHECK_FALSE(any_scaling_policy{declares_false{}}.decisions_hold_until_observed());
  // Moved, the promise goes along.
  any_scaling_policy moved{any_scaling_policy{scale::keepalive_policy{}}};
  CHECK(moved.decisions_hold_until_observed());
}

TEST_CASE("decisions_hold_until_observed: the pool-based policies keep their promise over random traffic") {
  CHECK(broken_promises(scale::keepalive_policy{scale::keepalive_spec{600s}}, 1) == 0);
  CHECK(broken_promises(scale::keepalive_policy{scale::keepalive_spec{0s}}, 2) == 0);
  // Minute bins over an hour: idle times up to 15 min fill the histogram, so pre-warm windows appear.
  scale::hybrid_spec hybrid;
  hybrid.range = 1h;
  hybrid.fallback = 20min;
  CHECK(broken_promises(scale::hybrid_histogram_policy{hybrid}, 3) == 0);
}

TEST_CASE("decisions_hold_until_observed: the oracle's plan changes only at the wake times it answers") {
  std::vector<scale::known_request> requests;
  for (int i = 0; i < 50; ++i) requests.push_back({at(10s + 37s * i), std::chrono::seconds{1 + i % 7}});
  scale::oracle_policy p(requests, scale::oracle_spec{3s, 30s});
  policy_decision last = p.decide(at(0s), {});
  std::int64_t broken = 0;
  time_point now = at(0s);
  while (last.wake_at) {
    for (const duration step : {duration{1ns}, duration{1s}, duration{5s}}) {
      if (now + step < *last.wake_at && p.decide(now + step, {}) != last) ++broken;
    }
    now = *last.wake_at;
    last = p.on_timer(now, {});
  }
  CHECK(broken == 0);
  CHECK(last.desired_pods == 0);
}
