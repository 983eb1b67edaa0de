#include "libscale/decider.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "libscale/decider_spec.hpp"
#include "libscale/time.hpp"

namespace {

using namespace std::chrono_literals;

// Fixed epoch. 100 s is an even second, like Go's zero time.Time that Knative's delay tests start from,
// so 2 s delay slots line up with Knative's at every even offset.
constexpr scale::time_point t0 = scale::at(std::chrono::seconds{100});

// Knative autoscaler_test.go `newTestAutoscalerWithScalingMetric`: total = target / 0.75, panic threshold
// 2, both rate limits 10, activator capacity 150, stable window 60 s, reachable, no delay. EBC expectations
// below follow Knative's `expectedEBC`: floor(ready × target / 0.75 − TBC − panic), evaluated in doubles.
scale::decider_spec knative_spec(double target, double tbc) {
  scale::decider_spec spec;
  spec.metric = scale::scaling_metric::concurrency;
  spec.target_value = target;
  spec.total_value = target / 0.75;
  spec.target_burst_capacity = tbc;
  spec.panic_threshold = 2;
  spec.max_scale_up_rate = 10;
  spec.max_scale_down_rate = 10;
  spec.activator_capacity = 150;
  spec.stable_window = 60s;
  spec.scale_down_delay = 0s;
  spec.reachable = true;
  spec.activation_scale = 0;
  return spec;
}

// Knative autoscaler_test.go `TestAutoscalerScaleDownDelay*`: a mostly zero DeciderSpec (TBC 0, total 0,
// stable window 0) with target 10, rates 10, panic threshold 100 (never reached) and a 5 min delay.
scale::decider_spec delay_spec(bool reachable = true, scale::duration delay = 5min) {
  scale::decider_spec spec;
  spec.target_value = 10;
  spec.total_value = 0;
  spec.target_burst_capacity = 0;
  spec.activator_capacity = 0;
  spec.panic_threshold = 100;
  spec.max_scale_up_rate = 10;
  spec.max_scale_down_rate = 10;
  spec.stable_window = 0s;
  spec.scale_down_delay = delay;
  spec.initial_scale = 0;
  spec.reachable = reachable;
  return spec;
}

template <class F>
scale::decider_spec with(scale::decider_spec spec, F change) {
  change(spec);
  return spec;
}

std::optional<scale::observed_values> obs(double stable, double panic) {
  return scale::observed_values{stable, panic};
}

constexpr scale::scale_result ok(std::int32_t desired, std::int32_t ebc) { return {desired, ebc, true}; }

constexpr scale::scale_result invalid{};

// One tick of a sequence. `want_panic_since` is the expected panic_time() after the tick as an offset
// from t0 (nullopt: not panicking). `update` is applied with decider::update just before the tick.
struct tick {
  scale::duration at{};
  std::optional<int> ready;
  std::optional<scale::observed_values> observed;
  scale::scale_result want;
  std::optional<scale::duration> want_panic_since;
  std::optional<scale::decider_spec> update{};
};

struct sequence_case {
  std::string name;
  scale::decider_spec spec;
  int ready_at_creation = 1;
  scale::duration created_at{};
  std::vector<tick> ticks;
};

void run(const std::vector<sequence_case>& cases) {
  for (const auto& c : cases) {
    CAPTURE(c.name);
    scale::decider d(c.spec, c.ready_at_creation, t0 + c.created_at);
    for (std::size_t i = 0; i < c.ticks.size(); ++i) {
      const tick& k = c.ticks[i];
      CAPTURE(i);
      if (k.update) {
        d.update(*k.update);
        CHECK(d.spec() == *k.update);
      }
      const scale::scale_result got = d.scale(t0 + k.at, k.ready, k.observed);
      CHECK(got.desired_pod_count == k.want.desired_pod_count);
      CHECK(got.excess_burst_capacity == k.want.excess_burst_capacity);
      CHECK(got.valid == k.want.valid);
      const std::optional<scale::time_point> want_panic =
          k.want_panic_since ? std::optional<scale::time_point>{t0 + *k.want_panic_since} : std::nullopt;
      CHECK(d.panic_time() == want_panic);
      CHECK(d.in_panic() == want_panic.has_value());
    }
  }
}

constexpr std::optional<scale::duration> calm = std::nullopt;

}  // namespace

TEST_CASE("decider: Knative TestAutoscalerScale table") {
  // Each row of Knative's TestAutoscalerScale: created with 1 ready pod, then one tick at `baseScale`
  // ready pods. Rows whose prepFunc sets panicTime = now − 5 s and maxPanicPods = 5 are reproduced by
  // creating the decider 5 s earlier with 5 ready pods, which yields exactly that state.
  // ("...WithExplicitEPs" is identical to the first row in Knative and is not repeated.)
  const std::vector<sequence_case> cases = {
      // dspc = ceil(0/10) = 0; EBC floor(1 × 13.33 − 100 − 0) = −87.
      {"AutoscalerNoDataAtZeroNoAutoscale", knative_spec(10, 100), 1, 0s, {{0s, 1, obs(0, 0), ok(0, -87), calm}}},
      // ceil(21/181) = 1; TBC −1 → EBC −1.
      {"AutoscalerStableModeUnlimitedTBC", knative_spec(181, -1), 1, 0s, {{0s, 1, obs(21, 26), ok(1, -1), calm}}},
      // ceil(50/10) = 5; TBC 0 → EBC 0. dppc = 5 ≥ 2 × 1 enters panic, max(5, 5) = 5.
      {"Autoscaler0TBC", knative_spec(10, 0), 1, 0s, {{0s, 1, obs(50, 49), ok(5, 0), 0s}}},
      // 5 pods; EBC floor(13.33 − 100 − 50) = −137; dppc 5 ≥ 2 panics.
      {"AutoscalerStableModeNoChange", knative_spec(10, 100), 1, 0s, {{0s, 1, obs(50, 50), ok(5, -137), 0s}}},
      // In panic, max(stable 50, panic 30) = 50 > maxPanicPods 5; EBC floor(5 × 1.33 − 100 − 30) = −124.
      {"AutoscalerPanicStableLargerThanPanic",
       knative_spec(1, 100),
       5,
       -5s,
       {{0s, 5, obs(50, 30), ok(50, -124), 0s}}},
      // max(20, 30) = 30; same EBC.
      {"AutoscalerPanicStableLessThanPanic", knative_spec(1, 100), 5, -5s, {{0s, 5, obs(20, 30), ok(30, -124), 0s}}},
      // 5 ready, want 5: 5/5 < 2, no panic. EBC floor(66.67 − 150) = −84.
      {"AutoscalerStableModeNoChangeAlreadyScaled",
       knative_spec(10, 100),
       1,
       0s,
       {{0s, 5, obs(50, 50), ok(5, -84), calm}}},
      // maxUp = ceil(1.1 × 2) = 3; dppc ceil(3.1) = 4 clamps to 3 but 4/2 = 2 panics; max(3, 3) = 3.
      // EBC floor(2.67 − 1982 − 3.1) = −1983.
      {"AutoscalerStableModeIncreaseWithSmallScaleUpRate",
       with(knative_spec(1, 1982), [](auto& s) { s.max_scale_up_rate = 1.1; }),
       1,
       0s,
       {{0s, 2, obs(3, 3.1), ok(3, -1983), 0s}}},
      // maxDown = floor(100 / 1.1) = 90 holds the want of 1 up at 90. EBC floor(1333.33 − 1983) = −650.
      {"AutoscalerStableModeDecreaseWithSmallScaleDownRate",
       with(knative_spec(10, 1982), [](auto& s) { s.max_scale_down_rate = 1.1; }),
       1,
       0s,
       {{0s, 100, obs(1, 1), ok(90, -650), calm}}},
      // Unreachable: maxDown = 0, straight to 1.
      {"AutoscalerStableModeDecreaseNonReachable",
       with(knative_spec(10, 1982),
            [](auto& s) {
              s.max_scale_down_rate = 1.1;
              s.reachable = false;
            }),
       1,
       0s,
       {{0s, 100, obs(1, 1), ok(1, -650), calm}}},
      // Panic: max(5, 10) = 10. EBC floor(13.33 − 84 − 100) = −171.
      {"AutoscalerPanicModeDoublePodCount", knative_spec(10, 84), 1, 0s, {{0s, 1, obs(50, 100), ok(10, -171), 0s}}},
  };
  run(cases);
}

TEST_CASE("decider: Knative single-purpose autoscaler tests") {
  const std::vector<sequence_case> cases = {
      // TestAutoscalerNoDataNoAutoscale: the metric client errors → invalid {0, 0, false}.
      {"TestAutoscalerNoDataNoAutoscale", knative_spec(10, 100), 1, 0s, {{0s, 1, std::nullopt, invalid, calm}}},
      // TestCantCountPods: the pod counter errors → invalid.
      {"TestCantCountPods", knative_spec(10, 81), 1, 0s, {{0s, std::nullopt, obs(1000, 888), invalid, calm}}},
      // TestAutoscalerMetrics: 5 pods, EBC floor(13.33 − 100 − 50) = −137 (dppc 5 panics).
      {"TestAutoscalerMetrics", knative_spec(10, 100), 1, 0s, {{0s, 1, obs(50, 50), ok(5, -137), 0s}}},
      // TestAutoscalerMetricsWithRPS: stable 100 rps → 10 (= maxUp); EBC floor(13.33 − 100 − 99) = −186.
      // The metric choice happens upstream; the decider sees the RPS values as observed values.
      {"TestAutoscalerMetricsWithRPS",
       with(knative_spec(10, 100), [](auto& s) { s.metric = scale::scaling_metric::rps; }),
       1,
       0s,
       {{61s, 1, obs(100, 99), ok(10, -186), 61s}}},
      // TestAutoscalerStableModeIncreaseWithConcurrencyDefault: 5 then 10 (= maxUp), EBC floor(13.33 −
      // 101 − 10) = −98 both times; dppc 1 never panics.
      {"TestAutoscalerStableModeIncreaseWithConcurrencyDefault",
       knative_spec(10, 101),
       1,
       0s,
       {{0s, 1, obs(50, 10), ok(5, -98), calm}, {2s, 1, obs(100, 10), ok(10, -98), calm}}},
      // TestAutoscalerStableModeIncreaseWithRPS: EBC floor(13.33 − 101 − 50) = −138, then − 99 → −187.
      {"TestAutoscalerStableModeIncreaseWithRPS",
       with(knative_spec(10, 101), [](auto& s) { s.metric = scale::scaling_metric::rps; }),
       1,
       0s,
       {{0s, 1, obs(50, 50), ok(5, -138), 0s}, {2s, 1, obs(100, 99), ok(10, -187), 2s}}},
      // TestAutoscalerUnpanicAfterSlowIncrease: 25/10 panics at 0 s (EBC floor(13.33 − 98 − 25) = −110);
      // at 30 s 41/40 < 2 so panic time stays, want 41 (EBC floor(53.33 − 139) = −86); at 62 s
      // 0 + 60 < 62 leaves panic and the stable want 50 is used (EBC floor(73.33 − 154) = −81).
      {"TestAutoscalerUnpanicAfterSlowIncrease",
       knative_spec(1, 98),
       1,
       0s,
       {{0s, 10, obs(11, 25), ok(25, -110), 0s},
        {30s, 40, obs(30, 41), ok(41, -86), 0s},
        {62s, 55, obs(50, 56), ok(50, -81), calm}}},
      // TestAutoscalerExtendPanicWindow: 80/40 = 2 ≥ 2 extends panic to 30 s; EBC floor(53.33 − 178) = −125.
      {"TestAutoscalerExtendPanicWindow",
       knative_spec(1, 98),
       1,
       0s,
       {{0s, 10, obs(11, 25), ok(25, -110), 0s}, {30s, 40, obs(30, 80), ok(80, -125), 30s}}},
      // TestAutoscalerStableModeDecrease: 8 ready, 10 then 5; EBC floor(106.67 − 198) = −92, then −42.
      {"TestAutoscalerStableModeDecrease",
       knative_spec(10, 98),
       1,
       0s,
       {{0s, 8, obs(100, 100), ok(10, -92), calm}, {2s, 8, obs(50, 50), ok(5, -42), calm}}},
      // TestAutoscalerStableModeNoTrafficScaleToZero: 1, then 0; EBC floor(13.33 − 75) = −62.
      {"TestAutoscalerStableModeNoTrafficScaleToZero",
       knative_spec(10, 75),
       1,
       0s,
       {{0s, 1, obs(1, 0), ok(1, -62), calm}, {2s, 1, obs(0, 0), ok(0, -62), calm}}},
      // TestAutoscalerActivationScale: 0 stays 0; a want of 1 is raised to activation scale 2.
      {"TestAutoscalerActivationScale",
       with(knative_spec(10, 75), [](auto& s) { s.activation_scale = 2; }),
       1,
       0s,
       {{0s, 1, obs(0, 0), ok(0, -62), calm}, {2s, 1, obs(1, 0), ok(2, -62), calm}}},
      // TestAutoscalerPanicModeExponentialTrackAndStabilize: each tick wants 6× the ready pods (≥ 2 ×
      // ready, panic extended); the last tick at 1296 ready is 1 × ready, so panic is kept but not
      // extended. EBCs: floor(1.33 − 107) = −106, floor(8 − 137) = −129, floor(48 − 317) = −269,
      // floor(288 − 1397) = −1109, floor(1728 − 1397) = 331.
      {"TestAutoscalerPanicModeExponentialTrackAndStabilize",
       knative_spec(1, 101),
       1,
       0s,
       {{0s, 1, obs(6, 6), ok(6, -106), 0s},
        {1s, 6, obs(36, 36), ok(36, -129), 1s},
        {2s, 36, obs(216, 216), ok(216, -269), 2s},
        {2s, 216, obs(1296, 1296), ok(1296, -1109), 2s},
        {3s, 1296, obs(1296, 1296), ok(1296, 331), 2s}}},
      // TestAutoscalerPanicThenUnPanicScaleDown: panic at 2 s with 100 pods; at 32 s the want is 1 but
      // panic holds 100; at 63 s (2 + 60 < 63) panic ends and 1 is returned. EBC floor(13.33 − 193) =
      // −180, floor(133.33 − 1093) = −960, then floor(133.33 − 94) = 39.
      {"TestAutoscalerPanicThenUnPanicScaleDown",
       knative_spec(10, 93),
       1,
       0s,
       {{0s, 1, obs(100, 100), ok(10, -180), 0s},
        {2s, 10, obs(100, 1000), ok(100, -960), 2s},
        {32s, 10, obs(1, 1), ok(100, 39), 2s},
        {63s, 10, obs(1, 1), ok(1, 39), calm}}},
      // TestAutoscalerRateLimitScaleUp: want 100, but ×10 per tick: 10, then 100. EBC floor(13.33 − 1062)
      // = −1049, then floor(133.33 − 1062) = −929.
      {"TestAutoscalerRateLimitScaleUp",
       knative_spec(10, 61),
       1,
       0s,
       {{0s, 1, obs(1000, 1001), ok(10, -1049), 0s}, {2s, 10, obs(1000, 1001), ok(100, -929), 2s}}},
      // TestAutoscalerRateLimitScaleDown: want 1, but ÷10 per tick: 10, then 1. EBC floor(1333.33 − 62) =
      // 1271, then floor(133.33 − 62) = 71.
      {"TestAutoscalerRateLimitScaleDown",
       knative_spec(10, 61),
       1,
       0s,
       {{0s, 100, obs(1, 1), ok(10, 1271), calm}, {2s, 10, obs(1, 1), ok(1, 71), calm}}},
      // TestAutoscalerUseOnePodAsMinimumIfEndpointsNotFound: 0 ready → rate limit uses 1 → 10; EBC uses
      // 0 pods: floor(0 − 81 − 888) = −969.
      {"TestAutoscalerUseOnePodAsMinimumIfEndpointsNotFound",
       knative_spec(10, 81),
       1,
       0s,
       {{0s, 0, obs(1000, 888), ok(10, -969), 0s}}},
      // TestAutoscalerUpdateTarget: 10 at target 10; after the update to target 1 (and, as in Knative's
      // literal, Reachable unset = false) 100 at 10 ready. EBC floor(13.33 − 178) = −165, then
      // floor(10 × 1.33 − 71 − 101) = −159.
      {"TestAutoscalerUpdateTarget",
       knative_spec(10, 77),
       1,
       0s,
       {{0s, 1, obs(100, 101), ok(10, -165), 0s},
        {2s, 10, obs(100, 101), ok(100, -159), 2s, with(knative_spec(1, 71), [](auto& s) {
                                                      s.activator_capacity = 21;
                                                      s.reachable = false;
                                                    })}}},
  };
  run(cases);
}

TEST_CASE("decider: Knative scale-down delay tests") {
  const std::vector<sequence_case> cases = {
      // TestAutoscalerScaleDownDelay "simple" then "gradual" (one autoscaler across both). 0 ready pods,
      // delay 5 min = 150 slots. The 4 recorded at 2 s (slot 51) holds at 300 s (slot 200, 149 slots
      // later) and is gone at 302 s (slot 201). Then 4 at 9 min, 3 at 10 min: the 4 scrolls out at 14 min
      // (slot 470 − 320 = 150) and the 3 at 15 min.
      {"TestAutoscalerScaleDownDelay",
       delay_spec(),
       0,
       0s,
       {{2s, 0, obs(40, 40), ok(4, 0), calm},
        {5min, 0, obs(0, 0), ok(4, 0), calm},
        {5min + 2s, 0, obs(0, 0), ok(0, 0), calm},
        {9min, 0, obs(40, 40), ok(4, 0), calm},
        {10min, 0, obs(30, 30), ok(4, 0), calm},
        {11min, 0, obs(0, 0), ok(4, 0), calm},
        {14min, 0, obs(0, 0), ok(3, 0), calm},
        {15min, 0, obs(0, 0), ok(0, 0), calm}}},
      // TestAutoscalerScaleDownDelayNotReachable: after the spec becomes unreachable the window is
      // bypassed and 0 comes out at once (Knative's tick even goes back to 2 s).
      {"TestAutoscalerScaleDownDelayNotReachable",
       delay_spec(),
       0,
       0s,
       {{2s, 0, obs(40, 40), ok(4, 0), calm},
        {1min, 0, obs(0, 0), ok(4, 0), calm},
        {2s, 0, obs(0, 0), ok(0, 0), calm, delay_spec(false)}}},
      // TestAutoscalerScaleDownDelayZero: no window, so 2 follows 4 within the same half second.
      {"TestAutoscalerScaleDownDelayZero",
       delay_spec(false, 0s),
       0,
       0s,
       {{0s, 0, obs(40, 40), ok(4, 0), calm}, {500ms, 0, obs(20, 20), ok(2, 0), calm}}},
  };
  run(cases);
}

TEST_CASE("decider: kpa-spec §11 edge cases") {
  const std::vector<sequence_case> cases = {
      // §11.1 / §3 step 2: ready 0. Rate limits use 1: maxUp ceil(10 × 1) = 10, maxDown floor(1/2) = 0;
      // dspc = dppc = ceil(25/10) = 3; panic ratio 3/1 ≥ 2 panics, want 3. EBC uses the raw 0 pods:
      // floor(0 × 100 − 50 − 25) = −75 (with 1 pod it would be 25).
      {"11.1 ready 0",
       with(knative_spec(10, 50),
            [](auto& s) {
              s.total_value = 100;
              s.max_scale_down_rate = 2;
            }),
       0,
       0s,
       {{0s, 0, obs(25, 25), ok(3, -75), 0s}}},
      // §11.2 / §2.7: invalid ticks change nothing. Panic entered at 0 s (dppc 3 ≥ 2); invalid ticks at
      // 61 s (pod error, then no data) would otherwise have ended it; they keep panic_time at 0 s. The
      // valid tick at 62 s ends panic (0 + 60 < 62) and drops to ceil(0/10) = 0 (maxDown floor(1/10) = 0).
      {"11.2 invalid ticks keep state",
       knative_spec(10, 0),
       1,
       0s,
       {{0s, 1, obs(30, 30), ok(3, 0), 0s},
        {61s, std::nullopt, obs(0, 0), invalid, 0s},
        {61s, 1, std::nullopt, invalid, 0s},
        {62s, 1, obs(0, 0), ok(0, 0), calm}}},
      // §11.3 / §3 step 4: floor on the down-limit lets 1 → 0 at rate 2 (floor(1/2) = 0) while 3 pods
      // keep floor(3/2) = 1. Ceil on the up-limit: rate 1.01 at 10 pods allows ceil(10.1) = 11, not 10
      // (panic threshold 1000 keeps panic out of the way; dppc 100 / 10 = 10 < 1000).
      {"11.3 floor lets the last pod go",
       with(knative_spec(10, 0), [](auto& s) { s.max_scale_down_rate = 2; }),
       1,
       0s,
       {{0s, 1, obs(0, 0), ok(0, 0), calm}, {2s, 3, obs(0, 0), ok(1, 0), calm}}},
      {"11.3 ceil adds at least one pod",
       with(knative_spec(10, 0),
            [](auto& s) {
              s.max_scale_up_rate = 1.01;
              s.panic_threshold = 1000;
            }),
       1,
       0s,
       {{0s, 10, obs(1000, 1000), ok(11, 0), calm}}},
      // §11.4 / §5: unreachable from the start, with a delay window: 4 then 0 at once (window bypassed).
      // After becoming reachable, the window holds only what was recorded since: nothing, so 0 stays 0.
      {"11.4 unreachable bypasses and does not feed the delay window",
       delay_spec(false),
       0,
       0s,
       {{0s, 0, obs(40, 40), ok(4, 0), calm},
        {2s, 0, obs(0, 0), ok(0, 0), calm},
        {4s, 0, obs(0, 0), ok(0, 0), calm, delay_spec(true)}}},
      // §11.5 / §4: entered on equality: 2 ready, dppc ceil(40/10) = 4, 4/2 = 2 ≥ 2 (3/2 before was
      // not). Want max(3, 4) = 4. At exactly 2 s + 60 s panic holds (not strictly before) and keeps 4 even
      // though the want is 1; one nanosecond later it ends and the stable want 1 returns
      // (maxDown floor(4/10) = 0).
      {"11.5 panic boundaries",
       knative_spec(10, 0),
       1,
       0s,
       {{0s, 2, obs(30, 30), ok(3, 0), calm},
        {2s, 2, obs(30, 40), ok(4, 0), 2s},
        {62s, 4, obs(10, 10), ok(4, 0), 2s},
        {62s + 1ns, 4, obs(10, 10), ok(1, 0), calm}}},
      // §11.5 / §4: created with 5 ready → panic at creation holding 5; ends at 61 s (0 + 60 < 61) with
      // want 1. maxPanicPods is reset to 0 on exit, so re-entering at 63 s (dppc 3 / 1 ≥ 2) gives
      // max(1, 3) = 3, not the old 5.
      {"11.5 start in panic, exit, re-enter",
       knative_spec(10, 0),
       5,
       0s,
       {{10s, 5, obs(10, 10), ok(5, 0), 0s},
        {61s, 5, obs(10, 10), ok(1, 0), calm},
        {63s, 1, obs(10, 30), ok(3, 0), 63s}}},
      // §11.6 / §3 step 7: activation scale 5, up rate 2 → maxUp ceil(2 × 1) = 2. A stable want of 1 is
      // raised to 5, past maxUp; a want of 0 stays 0. A panic-only want (dspc 0, dppc 3) raises only the
      // panic count: panic entered (3 ≥ 2), max(0, 5) = 5.
      {"11.6 activation scale",
       with(knative_spec(10, 0),
            [](auto& s) {
              s.activation_scale = 5;
              s.max_scale_up_rate = 2;
            }),
       1,
       0s,
       {{0s, 1, obs(1, 0), ok(5, 0), calm}, {2s, 1, obs(0, 0), ok(0, 0), calm}, {4s, 1, obs(0, 25), ok(5, 0), 4s}}},
      // §3 step 7: activation scale 1 has no effect (only values above 1 do): want 1 stays 1.
      {"11.6 activation scale 1 ignored",
       with(knative_spec(10, 0), [](auto& s) { s.activation_scale = 1; }),
       1,
       0s,
       {{0s, 1, obs(1, 0), ok(1, 0), calm}}},
      // §3 step 7: the raise applies after clamping: 10 ready, rate down 2 → maxDown 5 already exceeds
      // activation scale 3, so 5.
      {"11.6 activation below the down-limit",
       with(knative_spec(10, 0),
            [](auto& s) {
              s.activation_scale = 3;
              s.max_scale_down_rate = 2;
            }),
       1,
       0s,
       {{0s, 10, obs(1, 0), ok(5, 0), calm}}},
      // §11.9 / §6.1: EBC uses the panic value even in stable mode: floor(3 × 100 − 50 − 10) = 240
      // (the stable value 200 would give 50). Floor, not truncation: floor(1 × 10 − 10.5 − 0) = −1.
      {"11.9 EBC uses panic value and raw ready",
       with(knative_spec(100, 50), [](auto& s) { s.total_value = 100; }),
       1,
       0s,
       {{0s, 3, obs(200, 10), ok(2, 240), calm}}},
      {"11.9 EBC floors negatives",
       with(knative_spec(100, 10.5), [](auto& s) { s.total_value = 10; }),
       1,
       0s,
       {{0s, 1, obs(0, 0), ok(0, -1), calm}}},
      // §6.1: any negative TBC yields −1 (the code tests TBC < 0; validation admits only −1).
      {"11.9 EBC negative TBC", knative_spec(10, -5), 1, 0s, {{0s, 1, obs(0, 0), ok(0, -1), calm}}},
      // Go's int32(float64) on amd64 turns out-of-range values into math.MinInt32:
      // floor(13.33 − 1e12 − 0) is below −2^31.
      {"11.9 EBC beyond int32",
       knative_spec(10, 1e12),
       1,
       0s,
       {{0s, 1, obs(0, 0), ok(0, std::numeric_limits<std::int32_t>::min()), calm}}},
      // §11.10 / §5, §7: update does not create a window: created with no delay, updated to 5 min, the
      // drop from 4 to 0 is immediate.
      {"11.10 update cannot add a delay",
       delay_spec(true, 0s),
       0,
       0s,
       {{0s, 0, obs(40, 40), ok(4, 0), calm}, {2s, 0, obs(0, 0), ok(0, 0), calm, delay_spec(true, 5min)}}},
      // §11.10: update does not remove a window: created with 10 s (5 slots, t0 is slot 50), updated to 0,
      // the 4 still holds at 8 s (slot 54) and goes at 10 s (slot 55).
      {"11.10 update cannot remove a delay",
       delay_spec(true, 10s),
       0,
       0s,
       {{0s, 0, obs(40, 40), ok(4, 0), calm},
        {2s, 0, obs(0, 0), ok(4, 0), calm, delay_spec(true, 0s)},
        {8s, 0, obs(0, 0), ok(4, 0), calm},
        {10s, 0, obs(0, 0), ok(0, 0), calm}}},
      // §11.10: update does not resize: updated from 10 s to 5 min, the 4 still leaves at slot 55.
      {"11.10 update cannot resize a delay",
       delay_spec(true, 10s),
       0,
       0s,
       {{0s, 0, obs(40, 40), ok(4, 0), calm},
        {2s, 0, obs(0, 0), ok(4, 0), calm, delay_spec(true, 5min)},
        {10s, 0, obs(0, 0), ok(0, 0), calm}}},
      // §5: one slot is not "no delay": with a 2 s delay, two ticks in the same 2 s slot keep the larger
      // (4 at 2 s, want 2 at 3 s → 4); at 4 s (next slot) 2 comes out.
      {"one-slot delay keeps the larger of a slot",
       delay_spec(true, 2s),
       0,
       0s,
       {{2s, 0, obs(40, 40), ok(4, 0), calm}, {3s, 0, obs(20, 20), ok(4, 0), calm}, {4s, 0, obs(20, 20), ok(2, 0), calm}}},
      // §3 steps 9–10: the delay window sees the post-panic count. 10 s delay = 5 slots, t0 is slot 50.
      // Panic at 0 s wants 10 (dppc 10, maxUp 10). At 60 s panic still holds 10 (0 + 60 is not before 60)
      // and the window records 10 at slot 80. At 61 s panic ends (want 1), but 61 s is still slot 80, which
      // keeps the larger 10. At 70 s (slot 85 = 80 + 5) the 10 has left and 1 comes out.
      {"delay after panic",
       with(knative_spec(10, 0), [](auto& s) { s.scale_down_delay = 10s; }),
       1,
       0s,
       {{0s, 1, obs(100, 100), ok(10, 0), 0s},
        {60s, 10, obs(10, 10), ok(10, 0), 0s},
        {61s, 10, obs(10, 10), ok(10, 0), calm},
        {70s, 10, obs(10, 10), ok(1, 0), calm}}},
  };
  run(cases);
}

TEST_CASE("decider: construction (Knative TestStartInPanicMode, TestNewFail)") {
  struct creation_case {
    std::string name;
    int ready = 0;
    bool want_panic = false;
    std::int32_t want_max_panic_pods = 0;
  };
  // TestStartInPanicMode: 0 and 1 ready pods start calm with maxPanicPods = ready; 2 starts in panic at
  // the creation time with maxPanicPods 2. TestNewFail: a failing pod counter counts as 0 → calm, 0.
  const std::vector<creation_case> cases = {
      {"0 ready (also TestNewFail)", 0, false, 0},
      {"1 ready", 1, false, 1},
      {"2 ready", 2, true, 2},
      {"7 ready", 7, true, 7},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const scale::decider d(knative_spec(100, 11), c.ready, t0);
    CHECK(d.in_panic() == c.want_panic);
    CHECK(d.panic_time() == (c.want_panic ? std::optional<scale::time_point>{t0} : std::nullopt));
    CHECK(d.max_panic_pods() == c.want_max_panic_pods);
  }
}

TEST_CASE("decider: max_panic_pods follows the panic episode") {
  // §4: created with 5 → 5; a panic tick wanting 8 raises it to 8; a lower want keeps 8; exit resets to 0.
  scale::decider d(knative_spec(10, 0), 5, t0);
  CHECK(d.max_panic_pods() == 5);
  CHECK(d.scale(t0 + 2s, 5, obs(80, 80)) == ok(8, 0));
  CHECK(d.max_panic_pods() == 8);
  CHECK(d.scale(t0 + 4s, 8, obs(10, 10)) == ok(8, 0));
  CHECK(d.max_panic_pods() == 8);
  // An invalid tick changes nothing (§11.2).
  CHECK(d.scale(t0 + 100s, std::nullopt, obs(10, 10)) == invalid);
  CHECK(d.max_panic_pods() == 8);
  CHECK(d.in_panic());
  // Panic was last entered at 0 s (the 2 s tick was under the threshold: 8/5 < 2), 0 + 60 < 100: it ends, the stable want is ceil(10/10) = 1 (maxDown floor(8/10) = 0).
  CHECK(d.scale(t0 + 100s, 8, obs(10, 10)) == ok(1, 0));
  CHECK(d.max_panic_pods() == 0);
}

TEST_CASE("decider: Go float helpers") {
  // Go math.Max / math.Min special cases and amd64 int32(float64) conversion, which the decider uses so
  // that odd specs (e.g. target 0) give Knative's numbers instead of C++ undefined behaviour.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  CHECK(scale::detail::go_max(nan, inf) == inf);
  CHECK(std::isnan(scale::detail::go_max(nan, 1.0)));
  CHECK(scale::detail::go_min(nan, -inf) == -inf);
  CHECK(std::isnan(scale::detail::go_min(1.0, nan)));
  CHECK(!std::signbit(scale::detail::go_max(-0.0, 0.0)));
  CHECK(std::signbit(scale::detail::go_min(0.0, -0.0)));
  CHECK(scale::detail::go_max(2.0, 3.0) == 3.0);
  CHECK(scale::detail::go_min(2.0, 3.0) == 2.0);

  struct conversion_case {
    double in = 0;
    std::int32_t want = 0;
  };
  const std::vector<conversion_case> conversions = {
      {2.9, 2},
      {-2.9, -2},
      {2147483647.0, 2147483647},
      {-2147483648.0, std::numeric_limits<std::int32_t>::min()},
      {2147483648.0, std::numeric_limits<std::int32_t>::min()},
      {-3e9, std::numeric_limits<std::int32_t>::min()},
      {nan, std::numeric_limits<std::int32_t>::min()},
      {inf, std::numeric_limits<std::int32_t>::min()},
  };
  for (const auto& c : conversions) {
    CAPTURE(c.in);
    CHECK(scale::detail::go_int32(c.in) == c.want);
  }
}

TEST_CASE("decider: target 0 gives Go's int32 of NaN / Inf") {
  // Not reachable with a validated spec (target ≥ 0.01). stable 0 / 0 = NaN propagates through Go's
  // Max/Min into int32 → MinInt32; the panic ratio NaN ≥ 2 is false, so no panic.
  scale::decider d(with(knative_spec(10, 0), [](auto& s) { s.target_value = 0; }), 1, t0);
  CHECK(d.scale(t0, 1, obs(0, 0)) == ok(std::numeric_limits<std::int32_t>::min(), 0));
  CHECK(!d.in_panic());
}

TEST_CASE("multiscaler: initial decider status") {
  struct initial_case {
    std::string name;
    std::int32_t initial_scale = 1;
    double total = 100;
    double tbc = 0;
    scale::decider_status want;
  };
  const std::vector<initial_case> cases = {
      // Knative TestMultiscalerCreateTBC42: 2 × 25 − 42 = 8.
      {"TestMultiscalerCreateTBC42", 2, 25, 42, {-1, 8}},
      // Knative TestMultiscalerCreateTBCMinus1.
      {"TestMultiscalerCreateTBCMinus1", 1, 0, -1, {-1, -1}},
      // Knative TestMultiScaler: newDecider has TBC 0 → EBC 0.
      {"TestMultiScaler (TBC 0)", 0, 0, 0, {-1, 0}},
      // §6.2: truncation toward zero: 1 × 100 − 150.5 = −50.5 → −50 (floor would be −51).
      {"truncates toward zero", 1, 100, 150.5, {-1, -50}},
      // §6.2 with defaults: 1 × 100 − 211 = −111.
      {"defaults", 1, 100, 211, {-1, -111}},
      // §6.2: other negative TBCs take the formula: 1 × 100 − (−5) = 105.
      {"TBC -5", 1, 100, -5, {-1, 105}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    scale::decider_spec spec;
    spec.initial_scale = c.initial_scale;
    spec.total_value = c.total;
    spec.target_burst_capacity = c.tbc;
    CHECK(scale::initial_decider_status(spec) == c.want);
  }
}

TEST_CASE("multiscaler: sameSign") {
  // Knative multiscaler_test.go TestSameSign, every row.
  struct sign_case {
    std::int32_t a = 0;
    std::int32_t b = 0;
    bool want = false;
  };
  const std::vector<sign_case> cases = {
      {1982, 1984, true}, {-1984, -1988, true}, {-1988, 2006, false},
      {-2006, 2009, false}, {0, 1, true}, {0, -42, false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.a);
    CAPTURE(c.b);
    CHECK(scale::detail::same_sign(c.a, c.b) == c.want);
  }
}

TEST_CASE("multiscaler: apply_result sequence") {
  struct apply_step {
    std::string name;
    scale::scale_result result;
    bool want_notify = false;
    scale::decider_status want_status;
  };
  // One status through a sequence of results (§6.3). The first steps follow Knative TestMultiScaler
  // (result {1, 1}: notify once, then not again) and TestMultiScalerOnlyCapacityChange ({1, −1}: notify
  // on the sign flip alone).
  const std::vector<apply_step> steps = {
      {"first valid result changes desired -1 → 1", ok(1, 1), true, {1, 1}},
      {"same result again: no notification", ok(1, 1), false, {1, 1}},
      {"EBC sign flips 1 → -1", ok(1, -1), true, {1, -1}},
      {"invalid result is ignored", scale::scale_result{7, 7, false}, false, {1, -1}},
      {"EBC magnitude only: stored, no notification", ok(1, -5), false, {1, -5}},
      {"EBC -5 → 0 counts as a flip", ok(1, 0), true, {1, 0}},
      {"EBC 0 → 3: same sign", ok(1, 3), false, {1, 3}},
      {"desired 1 → 0 (TestMultiScalerScaleToZero)", ok(0, 3), true, {0, 3}},
  };
  scale::decider_status status;  // default: {-1, 0}
  CHECK(status == scale::decider_status{-1, 0});
  for (const auto& s : steps) {
    CAPTURE(s.name);
    CHECK(scale::apply_result(status, s.result) == s.want_notify);
    CHECK(status == s.want_status);
  }
}

TEST_CASE("multiscaler: should_poke") {
  struct poke_case {
    std::string name;
    std::int32_t desired = 0;
    double concurrency = 0;
    bool want = false;
  };
  const std::vector<poke_case> cases = {
      // Knative TestMultiScalerScaleFromZero: desired 0, pushed stat with concurrency 1 → tick.
      {"TestMultiScalerScaleFromZero", 0, 1, true},
      // §6.3: no decision yet (-1) does not poke.
      {"no decision yet", -1, 1, false},
      // §6.3: zero concurrency does not poke.
      {"zero concurrency", 0, 0, false},
      // §6.3: already scaled up.
      {"already up", 3, 1, false},
      // Any non-zero value pokes, fractions too.
      {"fractional", 0, 0.25, true},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(scale::should_poke(scale::decider_status{c.desired, 0}, c.concurrency) == c.want);
  }
}
