#include "libscale/kpa.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using scale::active_condition;
using scale::activity_reason;
using scale::duration;
using scale::kpa_action;
using scale::kpa_observation;
using scale::kpa_spec;
using scale::kpa_state;
using scale::pa_activity;
using scale::scaler_result;
using scale::sks_mode;
using scale::time_point;

constexpr active_condition activating_fresh{pa_activity::activating, activity_reason::none};
constexpr active_condition activating{pa_activity::activating, activity_reason::queued};
constexpr active_condition active{pa_activity::active, activity_reason::none};
constexpr active_condition no_traffic{pa_activity::inactive, activity_reason::no_traffic};
constexpr active_condition timed_out{pa_activity::inactive, activity_reason::timed_out};

const char* name_of(pa_activity a) {
  switch (a) {
    case pa_activity::activating: return "activating";
    case pa_activity::active: return "active";
    case pa_activity::inactive: return "inactive";
  }
  return "?";
}

// The configuration of Knative's kpa_test.go `defaultConfig`: stable window 5 min, grace 60 s, progress
// deadline 121 s, TBC 200, container-concurrency-target-default 10 (so TotalValue 10).
kpa_spec knative_test_spec() {
  kpa_spec s;
  s.stable_window = 5min;
  s.scale_to_zero_grace_period = 60s;
  s.progress_deadline = 121s;
  s.target_burst_capacity = 200;
  s.total_value = 10;
  return s;
}

using tweak_fn = void (*)(kpa_spec&);

kpa_spec spec_with(tweak_fn tweak) {
  kpa_spec s = knative_test_spec();
  if (tweak != nullptr) tweak(s);
  return s;
}

}  // namespace

TEST_CASE("apply_bounds clamps into [min, max] with max 0 unbounded") {
  struct test_case {
    std::int32_t min, max, x, want;
  };
  // scaler.go applyBounds; the -1 rows are spec §8 step 4 ("this also turns −1 into min").
  const test_case cases[] = {
      {0, 0, 5, 5},   {0, 0, 0, 0},   {0, 0, -1, 0},  {2, 0, -1, 2}, {2, 0, 0, 2},
      {2, 0, 1, 2},   {2, 0, 3, 3},   {0, 8, 10, 8},  {0, 8, 8, 8},  {2, 8, 1, 2},
      {11, 0, 10, 11}, {11, 11, 12, 11}, {0, 0, 1000000, 1000000},
  };
  for (const auto& c : cases) {
    CAPTURE(c.min);
    CAPTURE(c.max);
    CAPTURE(c.x);
    CHECK(scale::apply_bounds(c.min, c.max, c.x) == c.want);
  }
}

TEST_CASE("scale_bounds, scaler_bounds and active_threshold") {
  struct test_case {
    const char* label;
    std::int32_t min, max, initial;
    bool reachable, initialized;
    scale::kpa_bounds pa_bounds, scaler_bounds;
    std::int32_t threshold;
  };
  // pa_lifecycle.go ScaleBounds (min dropped when unreachable), scaler.go scale (initial-scale raise),
  // kpa.go activeThreshold (initial scale before initialization, even when unreachable); spec §8 and §9.
  const test_case cases[] = {
      {"defaults", 0, 0, 1, true, false, {0, 0}, {0, 0}, 1},
      {"defaults initialized", 0, 0, 1, true, true, {0, 0}, {0, 0}, 1},
      {"min and max", 2, 8, 1, true, true, {2, 8}, {2, 8}, 2},
      {"min unreachable", 2, 8, 1, false, true, {0, 8}, {0, 8}, 1},
      {"initial 5 not initialized", 0, 0, 5, true, false, {0, 0}, {5, 0}, 5},
      {"initial 5 initialized", 0, 0, 5, true, true, {0, 0}, {0, 0}, 1},
      {"initial 20 above min 11", 11, 0, 20, true, false, {11, 0}, {20, 0}, 20},
      {"min 11 above initial 5", 11, 0, 5, true, false, {11, 0}, {11, 0}, 11},
      {"initial 2 unreachable", 0, 0, 2, false, false, {0, 0}, {0, 0}, 2},
      {"initial 0", 0, 0, 0, true, false, {0, 0}, {0, 0}, 0},
      {"initial 0 initialized", 0, 0, 0, true, true, {0, 0}, {0, 0}, 1},
      {"initial 1 never raises", 0, 0, 1, true, false, {0, 0}, {0, 0}, 1},
  };
  for (const auto& c : cases) {
    CAPTURE(c.label);
    kpa_spec s;
    s.min_scale = c.min;
    s.max_scale = c.max;
    s.initial_scale = c.initial;
    s.reachable = c.reachable;
    CHECK(scale::scale_bounds(s) == c.pa_bounds);
    CHECK(scale::scaler_bounds(s, c.initialized) == c.scaler_bounds);
    CHECK(scale::active_threshold(s, c.initialized) == c.threshold);
  }
}

TEST_CASE("compute_num_activators") {
  struct test_case {
    const char* label;
    std::int32_t ready;
    double total, tbc, capacity;
    std::int32_t want;
  };
  const test_case cases[] = {
      // kpa_test.go TestComputeActivatorNum (also spec §6.5).
      {"default", 0, 100, 200, 100, 2},
      {"1 pod", 1, 100, 200, 100, 3},
      {"tbc = 0", 100, 100, 0, 100, 2},
      {"tbc = -1", 5, 100, -1, 100, 5},
      {"many pods", 15, 100, 200, 100, 17},
      // kpa_test.go TestReconcile defaultAct / scaledAct (total 10, TBC 200).
      {"defaultAct 1 pod", 1, 10, 200, 100, 3},
      {"defaultAct 10 pods", 10, 10, 200, 100, 3},
      {"scaledAct 11 pods", 11, 10, 200, 100, 4},
      {"scaledAct 12 pods", 12, 10, 200, 100, 4},
      // Hand derivations: ceil((1×100 + 211) / 100) = ceil(3.11) = 4; TBC -1 with 1 pod: max(2, 1) = 2;
      // capacity 250: ceil((3×100 + 211) / 250) = ceil(2.044) = 3.
      {"defaults 1 pod", 1, 100, 211, 100, 4},
      {"tbc -1 one pod floors at 2", 1, 100, -1, 100, 2},
      {"capacity 250", 3, 100, 211, 250, 3},
  };
  for (const auto& c : cases) {
    CAPTURE(c.label);
    CHECK(scale::compute_num_activators(c.ready, c.total, c.tbc, c.capacity) == c.want);
  }
}

TEST_CASE("choose_sks_mode") {
  struct test_case {
    std::int32_t want, ebc;
    sks_mode mode;
  };
  // kpa.go ReconcileKind; spec §6.4; TestReconcile "steady not enough capacity" (11, -42) and
  // "traffic decreased, now we have enough burst capacity" (11, 1).
  const test_case cases[] = {
      {11, 0, sks_mode::serve},  {11, 1, sks_mode::serve},  {11, -42, sks_mode::proxy},
      {11, -18, sks_mode::proxy}, {0, 0, sks_mode::proxy},  {0, 5, sks_mode::proxy},
      {-1, 0, sks_mode::proxy},  {-1, 100, sks_mode::proxy}, {1, -1, sks_mode::proxy},
  };
  for (const auto& c : cases) {
    CAPTURE(c.want);
    CAPTURE(c.ebc);
    CHECK(scale::choose_sks_mode(c.want, c.ebc) == c.mode);
  }
}

TEST_CASE("compute_active_condition") {
  struct test_case {
    const char* label;
    std::int32_t want, ready, min_ready;
    active_condition previous, expected;
  };
  // The table in kpa.go computeActiveCondition's comment, row by row, and spec §8's table.
  const test_case cases[] = {
      {"want 0, any -> inactive", 0, 3, 1, active, no_traffic},
      {"want 0, inactive stays", 0, 0, 1, no_traffic, no_traffic},
      {"want 0 while activating -> timed out", 0, 1, 1, activating, timed_out},
      {"want 0 while fresh activating -> timed out", 0, 0, 1, activating_fresh, timed_out},
      {"timed out then want 0 -> no traffic", 0, 0, 1, timed_out, no_traffic},
      {">0, < min -> activating", 5, 0, 1, active, activating},
      {">0, < min, inactive -> activating", 1, 10, 11, no_traffic, activating},
      {">0, >= min -> active", 5, 1, 1, activating, active},
      {">0, >= min, inactive -> active", 11, 12, 11, no_traffic, active},
      {"-1, < min, inactive -> inactive", -1, 10, 11, no_traffic, no_traffic},
      {"-1, < min, timed out -> no traffic", -1, 0, 1, timed_out, no_traffic},
      {"-1, < min, activating -> activating", -1, 0, 1, activating_fresh, activating},
      {"-1, < min, active -> activating", -1, 0, 1, active, activating},
      {"-1, >= min, inactive stays", -1, 2, 1, no_traffic, no_traffic},
      {"-1, >= min, timed out stays", -1, 2, 1, timed_out, timed_out},
      {"-1, >= min 0, activating -> inactive", -1, 0, 0, activating_fresh, no_traffic},
      {"-1, >= min 0, active -> inactive", -1, 3, 0, active, no_traffic},
      {"-1, >= min >0, activating -> active", -1, 1, 1, activating, active},
      {"-1, >= min >0, active -> active", -1, 1, 1, active, active},
  };
  for (const auto& c : cases) {
    CAPTURE(c.label);
    const active_condition got = scale::compute_active_condition(c.want, c.ready, c.min_ready, c.previous);
    CHECK(name_of(got.activity) == std::string{name_of(c.expected.activity)});
    CHECK(got == c.expected);
  }
}

TEST_CASE("recorded_desired_scale") {
  struct test_case {
    const char* label;
    std::optional<std::int32_t> previous;
    std::int32_t want;
    std::optional<std::int32_t> expected;
  };
  // kpa_test.go TestComputeStatus, plus -1 over -1 and over nothing (kpa.go computeStatus).
  const test_case cases[] = {
      {"initial", std::nullopt, 1, 1},
      {"ready", 1, 1, 1},
      {"no metrics", 2, -1, 2},
      {"no metrics, nothing recorded", std::nullopt, -1, -1},
      {"no metrics over -1", -1, -1, -1},
      {"no metrics over 0", 0, -1, 0},
      {"to zero", 3, 0, 0},
  };
  for (const auto& c : cases) {
    CAPTURE(c.label);
    CHECK(scale::recorded_desired_scale(c.previous, c.want) == c.expected);
  }
}

TEST_CASE("time in status and proxy time") {
  kpa_state s;
  s.active = active;
  s.active_since = scale::at(100s);
  // pa_lifecycle.go inStatusFor: -1 when in another status.
  CHECK(scale::active_for(s, scale::at(160s)) == 60s);
  CHECK(scale::inactive_for(s, scale::at(160s)) == duration{-1});
  CHECK(scale::in_status_for(s, pa_activity::activating, scale::at(160s)) == duration{-1});
  s.active = activating;
  // CanFailActivation is strict: exactly the timeout is not enough.
  CHECK_FALSE(scale::can_fail_activation(s, scale::at(251s), 151s));
  CHECK(scale::can_fail_activation(s, scale::at(251s) + 1ns, 151s));
  CHECK(scale::activation_timeout(knative_test_spec()) == 151s);
  CHECK(scale::activation_timeout(kpa_spec{}) == 630s);
  CHECK(scale::proxy_for(s, scale::at(160s)) == 0s);
  s.activator_endpoints_since = scale::at(150s);
  CHECK(scale::proxy_for(s, scale::at(160s)) == 10s);
}

TEST_CASE("scale_target: Knative TestScaler and TestDisableScaleToZero") {
  struct test_case {
    const char* label;
    std::optional<std::int32_t> start_replicas;
    std::int32_t scale_to;
    pa_activity activity;
    duration in_status;  // how long the PA has been in `activity`
    bool initialized;
    tweak_fn tweak;
    sks_mode mode;
    std::optional<duration> proxy_for;
    bool probe_ok;
    scaler_result want;  // Knative's wantReplicas; apply iff wantScaling; requeue iff wantCBCount 1
  };
  constexpr auto A = pa_activity::active;
  constexpr auto I = pa_activity::inactive;
  constexpr auto U = pa_activity::activating;
  constexpr auto serve = sks_mode::serve;
  constexpr auto proxy = sks_mode::proxy;
  const auto none = std::nullopt;
  // Knative's TestScaler uses stableWindow 5 min, paStableWindow 45 s, gracePeriod 60 s, activation timeout
  // 121 s + 30 s = 151 s; the default SKS is in Serve mode with no activator endpoints; a PA with no mutation
  // was just created (activating for 0 s).
  const test_case cases[] = {
      {"waits to scale to zero (just before idle period)", 1, 0, A, 299s, false, nullptr, serve, none, true,
       {1, none, 1s, false}},
      {"waits to scale to zero (just before idle period), custom PA window", 1, 0, A, 44s, false,
       [](kpa_spec& s) { s.stable_window = 45s; }, serve, none, true, {1, none, 1s, false}},
      {"custom PA window, check for standard window, no probe", 1, 0, A, 300s, false,
       [](kpa_spec& s) { s.stable_window = 45s; }, serve, none, true, {0, none, none, false}},
      {"scale to 1 waiting for idle expires", 10, 0, A, 299s, false, nullptr, serve, none, true,
       {1, 1, 1s, false}},
      {"waits to scale to zero after idle period", 1, 0, A, 300s, false, nullptr, serve, none, true,
       {0, none, none, false}},
      {"waits to scale to zero after idle period; sks in proxy mode", 1, 0, A, 300s, false, nullptr, proxy, none,
       true, {0, none, 3s, false}},
      {"waits to scale to zero after idle period (custom PA window)", 1, 0, A, 45s, false,
       [](kpa_spec& s) { s.stable_window = 45s; }, serve, none, true, {0, none, none, false}},
      // The annotation 0 wins over a config retention of 120 s: the resolved retention is 0.
      {"can scale to zero after grace period, but 0 PA retention", 1, 0, I, 60s, false, nullptr, serve, none, true,
       {0, 0, none, false}},
      {"can't scale to zero after grace period, but before last pod retention", 1, 0, I, 60s, false,
       [](kpa_spec& s) { s.scale_to_zero_pod_retention = 120s; }, serve, none, true, {0, none, 60s, false}},
      {"can't scale to zero after grace period, but before last pod retention, pa defined", 1, 0, I, 60s, false,
       [](kpa_spec& s) { s.scale_to_zero_pod_retention = 120s; }, serve, none, true, {0, none, 60s, false}},
      {"scale to zero after grace period, and after last pod retention", 1, 0, I, 60s, false,
       [](kpa_spec& s) { s.scale_to_zero_pod_retention = 60s; }, serve, none, true, {0, 0, none, false}},
      {"scale to zero after grace period", 1, 0, I, 60s, false, nullptr, serve, none, true, {0, 0, none, false}},
      {"waits to scale to zero (just before grace period)", 1, 0, I, 59s, false, nullptr, serve, none, true,
       {0, none, 60s, false}},
      {"waits to scale to zero (just before grace period, sks short)", 1, 0, I, 59s, false, nullptr, serve, 59s,
       true, {0, none, 1s, false}},
      {"waits to scale to zero (just before grace period, sks in proxy long) and last pod timeout positive", 1, 0,
       I, 59s, false, [](kpa_spec& s) { s.scale_to_zero_pod_retention = 42s; }, serve, 60s, true,
       {0, 0, none, false}},
      {"waits to scale to zero (just before grace period, sks in proxy long)", 1, 0, I, 59s, false, nullptr, serve,
       60s, true, {0, 0, none, false}},
      // The probe would fail, but TBC -1 skips it.
      {"scale to zero with TBC=-1", 1, 0, I, 60s, false, [](kpa_spec& s) { s.target_burst_capacity = -1; }, serve,
       none, false, {0, 0, none, false}},
      {"scale to zero after grace period, but fail prober", 1, 0, I, 60s, false, nullptr, serve, none, false,
       {0, none, none, true}},
      {"scale to zero after grace period, but wrong prober response", 1, 0, I, 60s, false, nullptr, serve, none,
       false, {0, none, none, true}},
      // Activating for 151 s / 2 = 75.5 s; the requeue is the whole activation timeout.
      {"waits to scale to zero while activating until after deadline exceeded", 1, 0, U, 75500ms, false, nullptr,
       serve, none, true, {-1, none, 151s, false}},
      {"scale to zero while activating after deadline exceeded", 1, 0, U, 152s, false, nullptr, serve, none, true,
       {0, 0, none, false}},
      {"scale to zero while activating after revision deadline exceeded", 1, 0, U, 36s, false,
       [](kpa_spec& s) { s.progress_deadline = 5s; }, serve, none, true, {0, 0, none, false}},
      {"scale down to minScale before grace period", 10, 0, I, 59s, false, [](kpa_spec& s) { s.min_scale = 2; },
       serve, none, true, {2, 2, none, false}},
      {"scale down to minScale after grace period", 10, 0, I, 60s, false, [](kpa_spec& s) { s.min_scale = 2; },
       serve, none, true, {2, 2, none, false}},
      {"scale to zero ignore last pod retention if revision is unreachable", 1, 0, I, 60s, false,
       [](kpa_spec& s) {
         s.scale_to_zero_pod_retention = 600s;
         s.reachable = false;
       },
       serve, none, true, {0, 0, none, false}},
      {"can't scale to zero if revision is unreachable, but before deadline", 1, 0, I, 59s, false,
       [](kpa_spec& s) {
         s.scale_to_zero_pod_retention = 600s;
         s.reachable = false;
       },
       serve, none, true, {0, none, 60s, false}},
      {"ignore minScale if unreachable", 10, 0, I, 60s, false,
       [](kpa_spec& s) {
         s.min_scale = 2;
         s.reachable = false;
       },
       serve, none, true, {0, 0, none, false}},
      {"observe minScale if reachability unknown", 10, 0, I, 60s, false, [](kpa_spec& s) { s.min_scale = 2; },
       serve, none, true, {2, 2, none, false}},
      {"scales up", 1, 10, U, 0s, false, nullptr, serve, none, true, {10, 10, none, false}},
      {"scales up to maxScale", 1, 10, U, 0s, false, [](kpa_spec& s) { s.max_scale = 8; }, serve, none, true,
       {8, 8, none, false}},
      {"scale up inactive revision", 1, 10, I, 30s, false, nullptr, serve, none, true, {10, 10, none, false}},
      {"does not scale up from zero with no metrics", 0, -1, I, 0s, false, nullptr, serve, none, true,
       {-1, none, none, false}},
      {"scales up from zero to desired one", 0, 1, U, 0s, false, nullptr, serve, none, true, {1, 1, none, false}},
      {"scales up from zero to desired high scale", 0, 10, U, 0s, false, nullptr, serve, none, true,
       {10, 10, none, false}},
      {"negative scale does not scale", 12, -1, A, 0s, false, nullptr, serve, none, true, {-1, none, none, false}},
      // Active 120 s of a 300 s window: hold 1 and come back in 180 s.
      {"initial scale attained, but now time to scale down", 2, 0, A, 120s, true,
       [](kpa_spec& s) { s.initial_scale = 2; }, serve, none, true, {1, 1, 180s, false}},
      {"haven't scaled to initial scale, override desired scale with initial scale", 0, 1, U, 0s, false,
       [](kpa_spec& s) { s.initial_scale = 2; }, serve, none, true, {2, 2, none, false}},
      {"initial scale reached for the first time", 5, 1, U, 0s, false, [](kpa_spec& s) { s.initial_scale = 5; },
       serve, none, true, {5, none, none, false}},
      {"reaching initial scale zero", 0, 0, I, 0s, false, [](kpa_spec& s) { s.initial_scale = 0; }, serve, none,
       true, {0, none, 60s, false}},
      {"unreachable revision with initialScale > 1 can scale to 0", 2, 0, A, 120s, false,
       [](kpa_spec& s) {
         s.initial_scale = 2;
         s.reachable = false;
       },
       serve, none, true, {1, 1, 180s, false}},
      // TestDisableScaleToZero: PA active since now, reachable.
      {"EnableScaleToZero == false and minScale == 0", 10, 0, A, 0s, false,
       [](kpa_spec& s) { s.enable_scale_to_zero = false; }, serve, none, true, {1, 1, none, false}},
      {"EnableScaleToZero == false and minScale == 2", 10, 0, A, 0s, false,
       [](kpa_spec& s) {
         s.enable_scale_to_zero = false;
         s.min_scale = 2;
       },
       serve, none, true, {2, 2, none, false}},
      {"EnableScaleToZero == false and desire pod is -1(initial value)", 10, -1, A, 0s, false,
       [](kpa_spec& s) { s.enable_scale_to_zero = false; }, serve, none, true, {-1, none, none, false}},
      // Own boundary cases. Activating exactly the timeout is not "longer than" it (CanFailActivation is >).
      {"activating exactly the activation timeout still waits", 1, 0, U, 151s, false, nullptr, serve, none, true,
       {-1, none, 151s, false}},
      {"activating with no decision is bounded and may time out", 1, -1, U, 152s, false, nullptr, serve, none,
       true, {0, 0, none, false}},
      {"activating with no decision bounded to min-scale", 1, -1, U, 0s, false, [](kpa_spec& s) { s.min_scale = 3; },
       serve, none, true, {3, 3, none, false}},
      {"missing replicas count as 1: no patch to 1", std::nullopt, 1, A, 0s, true, nullptr, serve, none, true,
       {1, none, none, false}},
      {"missing replicas count as 1: patch to 0", std::nullopt, 0, I, 60s, true, nullptr, serve, none, true,
       {0, 0, none, false}},
      {"retention 90 s, inactive 3 s, proxy long: retention wins", 1, 0, I, 3s, true,
       [](kpa_spec& s) { s.scale_to_zero_pod_retention = 90s; }, proxy, 600s, true, {0, none, 87s, false}},
  };
  const time_point now = scale::at(1000s);
  for (const auto& c : cases) {
    CAPTURE(c.label);
    const kpa_spec spec = spec_with(c.tweak);
    kpa_state state;
    state.active = {c.activity, c.activity == U ? activity_reason::none : activity_reason::no_traffic};
    if (c.activity == A) state.active.reason = activity_reason::none;
    state.active_since = now - c.in_status;
    state.scale_target_initialized = c.initialized;
    state.mode = c.mode;
    if (c.proxy_for) state.activator_endpoints_since = now - *c.proxy_for;
    state.spec_replicas = c.start_replicas;
    kpa_observation obs;
    obs.decider_desired_scale = c.scale_to;
    obs.activator_probe_ok = c.probe_ok;
    const scaler_result got = scale::scale_target(spec, state, obs, now);
    CHECK(got.want == c.want.want);
    CHECK(got.apply_replicas == c.want.apply_replicas);
    CHECK(got.requeue_after == c.want.requeue_after);
    CHECK(got.start_async_probe == c.want.start_async_probe);
  }
}

TEST_CASE("reconcile: Knative TestReconcile") {
  struct test_case {
    const char* label;
    tweak_fn tweak;
    kpa_state before;
    kpa_observation obs;
    kpa_action want;
    // Expected PA status after the reconcile: desiredScale, actualScale, ScaleTargetInitialized.
    std::optional<std::int32_t> desired, actual;
    bool initialized;
  };
  const time_point now = scale::at(10000s);
  const time_point old = now - 1h;  // kpa_test.go markOld
  const auto none = std::nullopt;
  constexpr auto serve = sks_mode::serve;
  constexpr auto proxy = sks_mode::proxy;
  // Abbreviations for PA states: condition, since, initialized, has service name, desired, actual, SKS mode,
  // SKS activators, activator endpoints since, Deployment replicas.
  const auto pa = [](active_condition c, time_point since, bool init, bool svc, std::optional<std::int32_t> desired,
                     std::optional<std::int32_t> actual, sks_mode mode, std::int32_t acts,
                     std::optional<time_point> endpoints, std::optional<std::int32_t> replicas) {
    return kpa_state{c, since, init, svc, desired, actual, mode, acts, endpoints, replicas};
  };
  const auto seen = [](std::int32_t d, std::int32_t ebc, std::int32_t ready) {
    kpa_observation o;
    o.decider_desired_scale = d;
    o.excess_burst_capacity = ebc;
    o.ready_pods = ready;
    return o;
  };
  const auto act = [](std::optional<std::int32_t> apply, std::optional<duration> requeue, std::int32_t want,
                      sks_mode mode, std::int32_t acts, active_condition c, bool triggers) {
    return kpa_action{apply, requeue, false, want, mode, acts, c, triggers};
  };
  constexpr tweak_fn min11 = [](kpa_spec& s) { s.min_scale = 11; };
  constexpr tweak_fn initial0 = [](kpa_spec& s) { s.initial_scale = 0; };
  kpa_observation no_private_service = seen(11, 0, 0);
  no_private_service.private_service_ready = false;
  kpa_observation no_public_service = seen(-1, 0, 0);
  no_public_service.public_service_ready = false;

  // Knative's default decider is DesiredScale 11 with EBC 0; defaultAct = 3 activators (1..10 ready pods),
  // scaledAct = 4 (11 or 12). "triggers" is false exactly where Knative expects neither a PA status update nor
  // an SKS update.
  const test_case cases[] = {
      {"steady state", nullptr, pa(active, old, true, true, 11, 1, serve, 3, none, 11), seen(11, 0, 1),
       act(none, none, 11, serve, 3, active, false), 11, 1, true},
      {"scale up deployment", nullptr, pa(active, old, true, true, 11, 1, serve, 3, none, none), seen(11, 0, 1),
       act(11, none, 11, serve, 3, active, false), 11, 1, true},
      {"pa activates", nullptr, pa(no_traffic, old, true, true, 11, 0, proxy, 2, old, 11), seen(11, 0, 0),
       act(none, none, 11, serve, 2, activating, true), 11, 0, true},
      {"sks is still not ready", nullptr, pa(active, old, false, true, 11, 0, serve, 4, none, 11), seen(11, 0, 11),
       act(none, none, 11, serve, 4, active, true), 11, 11, true},
      {"sks becomes ready", nullptr, pa(activating, old, false, false, -1, 0, serve, 2, now, 11), seen(11, 0, 0),
       act(none, none, 11, serve, 2, activating, true), 11, 0, false},
      {"sks is out of whack", nullptr, pa(active, old, false, false, 11, 0, serve, 2, now, 11), seen(11, 0, 0),
       act(none, none, 11, serve, 2, activating, true), 11, 0, false},
      {"kpa does not become ready without minScale endpoints when reachable", [](kpa_spec& s) { s.min_scale = 2; },
       pa(activating_fresh, old, false, false, 11, 1, serve, 3, none, 11), seen(11, 0, 1),
       act(none, none, 11, serve, 3, activating, true), 11, 1, false},
      {"kpa becomes ready without minScale endpoints when unreachable",
       [](kpa_spec& s) {
         s.min_scale = 2;
         s.reachable = false;
       },
       pa(activating_fresh, old, false, false, 11, 1, serve, 3, none, 11), seen(11, 0, 1),
       act(none, none, 11, serve, 3, active, true), 11, 1, true},
      {"kpa becomes ready with minScale endpoints when reachable", [](kpa_spec& s) { s.min_scale = 2; },
       pa(activating, old, false, true, 11, 1, serve, 3, none, 11), seen(11, 0, 2),
       act(none, none, 11, serve, 3, active, true), 11, 2, true},
      {"sks does not exist", nullptr, pa(active, old, false, false, 11, 1, serve, 3, none, 11), no_private_service,
       act(none, none, -1, proxy, 2, activating, true), 11, 0, false},
      {"steady not serving", nullptr, pa(no_traffic, old, true, true, 0, 0, proxy, 2, old, 0), seen(0, 0, 0),
       act(none, none, 0, proxy, 2, no_traffic, false), 0, 0, true},
      {"steady not serving (scale to zero)", nullptr, pa(no_traffic, old, true, true, 0, 0, proxy, 2, old, none),
       seen(0, 0, 0), act(0, none, 0, proxy, 2, no_traffic, false), 0, 0, true},
      {"from serving to proxy", nullptr, pa(active, old, false, true, 0, 0, serve, 3, none, none), seen(0, 0, 1),
       act(none, none, 0, proxy, 3, no_traffic, true), 0, 1, true},
      // Active since now: hold 1 (already 1) and come back after the 5 min window.
      {"scaling to 0, but not stable for long enough, so no-op", nullptr,
       pa(active, now, true, true, 1, 1, serve, 3, none, none), seen(0, 0, 1),
       act(none, 5min, 1, serve, 3, active, false), 1, 1, true},
      {"activation failure", nullptr, pa(activating, old, false, true, 0, 0, serve, 3, none, none), seen(0, 0, 1),
       act(0, none, 0, proxy, 3, timed_out, true), 0, 1, true},
      {"want=-1, underscaled, PA inactive", min11, pa(no_traffic, old, true, true, -1, 10, proxy, 3, old, 10),
       seen(-1, 0, 10), act(none, none, -1, proxy, 3, no_traffic, false), -1, 10, true},
      {"want=1, underscaled, PA inactive", min11, pa(no_traffic, old, true, true, -1, 10, proxy, 3, old, 10),
       seen(1, 0, 10), act(11, none, 11, serve, 3, activating, true), 11, 10, true},
      {"underscaled, PA activating", min11, pa(activating, old, false, true, 11, 10, serve, 3, none, 10),
       seen(2, 0, 10), act(11, none, 11, serve, 3, activating, false), 11, 10, false},
      {"underscaled, PA active", min11, pa(active, old, true, true, 11, 10, serve, 3, none, 10), seen(11, 0, 10),
       act(11, none, 11, serve, 3, activating, true), 11, 10, true},
      {"overscaled, PA inactive", min11, pa(no_traffic, old, true, true, -1, 12, proxy, 4, old, 12), seen(0, 0, 12),
       act(11, none, 11, serve, 4, active, true), 11, 12, true},
      {"overscaled, PA activating", min11, pa(no_traffic, old, true, true, -1, 12, proxy, 4, old, 12),
       seen(1, 0, 12), act(11, none, 11, serve, 4, active, true), 11, 12, true},
      {"over maxScale for real, PA active", min11, pa(active, old, true, true, 12, 12, serve, 4, none, 12),
       seen(12, 0, 12), act(none, none, 12, serve, 4, active, false), 12, 12, true},
      {"over maxScale, need to scale down, PA active", min11, pa(active, old, true, true, 12, 12, serve, 4, none, 12),
       seen(1, 0, 12), act(11, none, 11, serve, 4, active, true), 11, 12, true},
      {"scaled-to-0-no-scale-data", nullptr, pa(no_traffic, old, true, true, -1, 0, proxy, 2, old, 11),
       seen(-1, 0, 0), act(none, none, -1, proxy, 2, no_traffic, false), -1, 0, true},
      {"steady not enough capacity", nullptr, pa(active, old, true, true, 11, 1, proxy, 3, old, 11),
       seen(11, -42, 1), act(none, none, 11, proxy, 3, active, false), 11, 1, true},
      {"traffic increased, no longer enough burst capacity", nullptr,
       pa(active, old, true, true, 11, 1, serve, 2, none, 11), seen(11, -18, 1),
       act(none, none, 11, proxy, 3, active, true), 11, 1, true},
      {"traffic decreased, now we have enough burst capacity", nullptr,
       pa(active, old, true, true, 11, 1, proxy, 3, old, 11), seen(11, 1, 1),
       act(none, none, 11, serve, 3, active, true), 11, 1, true},
      {"initial scale > minScale, have not reached initial scale, PA still activating",
       [](kpa_spec& s) {
         s.min_scale = 11;
         s.initial_scale = 20;
       },
       pa(activating, old, false, true, 11, 11, proxy, 4, old, 11), seen(11, -42, 11),
       act(20, none, 20, proxy, 4, activating, true), 20, 11, false},
      {"initial scale reached, mark PA as active", [](kpa_spec& s) { s.initial_scale = 20; },
       pa(activating, old, false, true, 11, 20, proxy, 4, old, 11), seen(11, -42, 20),
       act(20, none, 20, proxy, 4, active, true), 20, 20, true},
      // Activating since now (the PA was just created): -1 is bounded to 0, the activation timeout has not
      // passed, so the scaler requeues after 151 s and returns -1.
      {"initial scale zero: scale to zero", initial0, pa(activating_fresh, now, false, false, -1, 0, proxy, 2, now, 0),
       seen(-1, 0, 0), act(none, 151s, -1, proxy, 2, no_traffic, true), -1, 0, true},
      {"initial scale zero: sks ServiceName empty", initial0,
       pa(activating_fresh, now, false, false, -1, 0, proxy, 2, now, 0), no_public_service,
       act(none, 151s, -1, proxy, 2, no_traffic, true), -1, 0, false},
      {"initial scale zero: stay at zero", initial0, pa(activating_fresh, now, true, false, -1, 0, proxy, 2, now, 0),
       no_public_service, act(none, 151s, -1, proxy, 2, activating, true), -1, 0, true},
      {"initial scale zero: scale to greater than zero", initial0,
       pa(activating_fresh, old, true, true, 2, 2, proxy, 3, old, 2), seen(2, -42, 2),
       act(none, none, 2, proxy, 3, active, true), 2, 2, true},
  };
  for (const auto& c : cases) {
    CAPTURE(c.label);
    const kpa_spec spec = spec_with(c.tweak);
    kpa_state state = c.before;
    const kpa_action got = scale::reconcile(spec, state, c.obs, now);
    CHECK(got.apply_replicas == c.want.apply_replicas);
    CHECK(got.requeue_after == c.want.requeue_after);
    CHECK(got.start_async_probe == c.want.start_async_probe);
    CHECK(got.want == c.want.want);
    CHECK(got.mode == c.want.mode);
    CHECK(got.num_activators == c.want.num_activators);
    CHECK(name_of(got.active.activity) == std::string{name_of(c.want.active.activity)});
    CHECK(got.active == c.want.active);
    CHECK(got.triggers_reconcile == c.want.triggers_reconcile);
    CHECK(state.desired_scale == c.desired);
    CHECK(state.actual_scale == c.actual);
    CHECK(state.scale_target_initialized == c.initialized);
    CHECK(state.active == got.active);
    CHECK(state.mode == got.mode);
    CHECK(state.num_activators == got.num_activators);
    // The condition's transition time moves only when the condition changed.
    CHECK(state.active_since == (got.active == c.before.active ? c.before.active_since : now));
    if (got.apply_replicas) CHECK(state.spec_replicas == got.apply_replicas);
  }
}

TEST_CASE("reconcile: the transition time is kept when nothing changes and reset on a reason change") {
  kpa_spec spec = knative_test_spec();
  // Inactive (TimedOut) for an hour, then a reconcile with want 0 marks it NoTraffic: the reason changed, so
  // InactiveFor restarts and the grace period is counted again from here.
  kpa_state state{timed_out, scale::at(0s), true, true, 0, 0, sks_mode::proxy, 2, std::nullopt, 0};
  kpa_observation obs;
  obs.decider_desired_scale = 0;
  const kpa_action a = scale::reconcile(spec, state, obs, scale::at(3600s));
  CHECK(a.active == no_traffic);
  CHECK(state.active_since == scale::at(3600s));
  CHECK(state.activator_endpoints_since == scale::at(3600s));
  const kpa_action b = scale::reconcile(spec, state, obs, scale::at(3601s));
  CHECK(b.active == no_traffic);
  CHECK(state.active_since == scale::at(3600s));
  CHECK_FALSE(b.triggers_reconcile);
  // Serve mode with ready pods clears the activator endpoints; Proxy mode sets them once.
  obs.decider_desired_scale = 2;
  obs.ready_pods = 2;
  obs.excess_burst_capacity = 5;
  scale::reconcile(spec, state, obs, scale::at(3700s));
  CHECK(state.mode == sks_mode::serve);
  CHECK(state.activator_endpoints_since == std::nullopt);
}

namespace {

// A decider change at a time: the multiscaler enqueues the PA when DesiredScale changes.
struct decider_change {
  time_point at;
  std::int32_t desired;
  std::int32_t ebc;
};

// One reconcile as the timeline driver saw it.
struct logged_reconcile {
  time_point at;
  std::int32_t want;
  std::optional<std::int32_t> apply;
  pa_activity activity;
  std::optional<duration> requeue;
  std::int32_t ready_after;

  bool operator==(const logged_reconcile&) const = default;
};

std::string describe(const logged_reconcile& r) {
  std::string s = "t=" + std::to_string(r.at.time_since_epoch().count() / 1000000) + "ms want=" +
                  std::to_string(r.want) + " apply=" + (r.apply ? std::to_string(*r.apply) : "-") + " " +
                  name_of(r.activity) + " requeue=";
  s += r.requeue ? std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(*r.requeue).count()) + "ms"
                 : "-";
  return s + " ready=" + std::to_string(r.ready_after);
}

// Compares whole reconcile logs entry by entry, printing both sides of a mismatch.
void check_log(const std::vector<logged_reconcile>& got, const std::vector<logged_reconcile>& expected) {
  CHECK(got.size() == expected.size());
  for (std::size_t i = 0; i < std::min(got.size(), expected.size()); ++i) {
    CAPTURE(i);
    const std::string got_text = describe(got[i]);
    const std::string expected_text = describe(expected[i]);
    CHECK(got_text == expected_text);
  }
}

// Drives reconcile() the way Knative's work queue would: at each decider change, at each requested requeue,
// and (when `follow_triggers`) again at once after a reconcile that wrote the PA status or the SKS, or that
// changed the ready pods. Pods appear and disappear the moment replicas are patched. Same-time enqueues are
// merged, as the work queue merges a key that is already queued.
std::vector<logged_reconcile> drive(const kpa_spec& spec, kpa_state& state, std::int32_t ready,
                                    std::int32_t ebc, const std::vector<decider_change>& changes,
                                    bool follow_triggers) {
  std::vector<logged_reconcile> log;
  std::set<time_point> queue;
  for (const auto& c : changes) queue.insert(c.at);
  kpa_observation obs;
  obs.ready_pods = ready;
  obs.excess_burst_capacity = ebc;
  while (!queue.empty() && log.size() < 50) {
    const time_point now = *queue.begin();
    queue.erase(queue.begin());
    for (const auto& c : changes) {
      if (c.at <= now) {
        obs.decider_desired_scale = c.desired;
        obs.excess_burst_capacity = c.ebc;
      }
    }
    const kpa_action a = scale::reconcile(spec, state, obs, now);
    bool pods_changed = false;
    if (a.apply_replicas && *a.apply_replicas != obs.ready_pods) {
      obs.ready_pods = *a.apply_replicas;
      pods_changed = true;
    }
    log.push_back({now, a.want, a.apply_replicas, a.active.activity, a.requeue_after, obs.ready_pods});
    if (a.requeue_after) queue.insert(now + *a.requeue_after);
    if (follow_triggers && (a.triggers_reconcile || pods_changed)) queue.insert(now);
  }
  return log;
}

// The revision of spec §8.1: default spec (stable 60 s, grace 30 s, retention 0, TBC 211, total 100); the last
// request ended at t0 = 100 s; one pod, Active since 10 s, initialized.
kpa_state serving_one_pod(sks_mode mode, std::int32_t activators, std::optional<time_point> endpoints) {
  return kpa_state{active, scale::at(10s), true, true, 1, 1, mode, activators, endpoints, 1};
}

}  // namespace

TEST_CASE("timeline: default scale to zero with the SKS already in Proxy mode (spec 8.1)") {
  const kpa_spec spec;
  // With 1 pod, TBC 211 and total 100, EBC = floor(1×100 − 211 − P) ≤ −111 < 0, so the SKS has been in Proxy
  // mode (activator endpoints populated) since the pod came up at 10 s; ceil((100 + 211) / 100) = 4 activators.
  // The stable average reaches 0 and the decider reports 0 at t0 + 60 s = 160 s.
  const std::vector<decider_change> changes{{scale::at(160s), 0, -111}};

  SUBCASE("following only the scaler's requeues") {
    kpa_state state = serving_one_pod(sks_mode::proxy, 4, scale::at(10s));
    // 160 s: Active for 150 s ≥ 60 s → return 0 unapplied, PA → Inactive; SKS already Proxy → requeue 3 s.
    // 163 s: Inactive 3 s < grace 30 s, retention 0, but the activator has been in the path 153 s ≥ 30 s → the
    //        fast path applies 0.
    const std::vector<logged_reconcile> expected{
        {scale::at(160s), 0, std::nullopt, pa_activity::inactive, 3s, 1},
        {scale::at(163s), 0, 0, pa_activity::inactive, std::nullopt, 0},
    };
    check_log(drive(spec, state, 1, -111, changes, false), expected);
    CHECK(state.active_since == scale::at(160s));
    CHECK(state.spec_replicas == 0);
  }
  SUBCASE("following the informer events too") {
    kpa_state state = serving_one_pod(sks_mode::proxy, 4, scale::at(10s));
    // 160 s: as above; the PA status write enqueues the PA at once.
    // 160 s: Inactive 0 s, activator in path 150 s ≥ 30 s → fast path applies 0; the pod goes.
    // 160 s: the pod change: ActualScale 1 → 0 and activators ceil(211 / 100) = 3 are written (0 is already
    //        applied), which enqueues the PA once more.
    // 160 s: nothing changes any more.
    // 163 s: the 3 s requeue from the first reconcile finds everything done.
    const std::vector<logged_reconcile> expected{
        {scale::at(160s), 0, std::nullopt, pa_activity::inactive, 3s, 1},
        {scale::at(160s), 0, 0, pa_activity::inactive, std::nullopt, 0},
        {scale::at(160s), 0, std::nullopt, pa_activity::inactive, std::nullopt, 0},
        {scale::at(160s), 0, std::nullopt, pa_activity::inactive, std::nullopt, 0},
        {scale::at(163s), 0, std::nullopt, pa_activity::inactive, std::nullopt, 0},
    };
    check_log(drive(spec, state, 1, -111, changes, true), expected);
    CHECK(state.num_activators == 3);
    CHECK(state.actual_scale == 0);
  }
}

TEST_CASE("timeline: default scale to zero with the SKS in Serve mode waits a full grace period (spec 8.1)") {
  // TBC 0: EBC is 0, so with pods the SKS is in Serve mode and the activator is out of the path.
  kpa_spec spec;
  spec.target_burst_capacity = 0;
  kpa_state state = serving_one_pod(sks_mode::serve, 2, std::nullopt);
  const std::vector<decider_change> changes{{scale::at(160s), 0, 0}};
  // 160 s: Active 150 s ≥ 60 s → 0 unapplied, PA → Inactive, SKS → Proxy (no requeue: the SKS change wakes the
  //        PA up).
  // 160 s: Inactive 0 s; the activator entered the path just now, proxy 0 s → requeue after 30 − 0 = 30 s.
  // 190 s: Inactive 30 s ≥ max(grace 30 s, retention 0) → apply 0; the pod goes.
  // 190 s: ActualScale 1 → 0 is written; 190 s: nothing more.
  const std::vector<logged_reconcile> expected{
      {scale::at(160s), 0, std::nullopt, pa_activity::inactive, std::nullopt, 1},
      {scale::at(160s), 0, std::nullopt, pa_activity::inactive, 30s, 1},
      {scale::at(190s), 0, 0, pa_activity::inactive, std::nullopt, 0},
      {scale::at(190s), 0, std::nullopt, pa_activity::inactive, std::nullopt, 0},
      {scale::at(190s), 0, std::nullopt, pa_activity::inactive, std::nullopt, 0},
  };
  check_log(drive(spec, state, 1, 0, changes, true), expected);
  CHECK(state.active_since == scale::at(160s));
  CHECK(state.mode == sks_mode::proxy);
  CHECK(state.activator_endpoints_since == scale::at(160s));
}

TEST_CASE("timeline: active for less than a stable window holds one pod first (spec 8.1)") {
  const kpa_spec spec;
  // Two pods, Active since 130 s (a scale-up from zero at 120 s put the activator in the path then; two pods
  // keep EBC = 200 − 211 − P < 0, so the SKS stayed in Proxy mode).
  kpa_state state{active, scale::at(130s), true, true, 2, 2, sks_mode::proxy, 5, scale::at(120s), 2};
  const std::vector<decider_change> changes{{scale::at(160s), 0, -11}};
  // 160 s: Active 30 s < 60 s → apply 1 and requeue after 60 − 30 = 30 s.
  // 190 s: Active 60 s ≥ 60 s → 0 unapplied, PA → Inactive, SKS already Proxy → requeue 3 s.
  // 193 s: Inactive 3 s, proxy 73 s ≥ 30 s → fast path applies 0.
  const std::vector<logged_reconcile> expected{
      {scale::at(160s), 1, 1, pa_activity::active, 30s, 1},
      {scale::at(190s), 0, std::nullopt, pa_activity::inactive, 3s, 1},
      {scale::at(193s), 0, 0, pa_activity::inactive, std::nullopt, 0},
  };
  check_log(drive(spec, state, 2, -11, changes, false), expected);
}

TEST_CASE("timeline: pod retention keeps the last pod despite the fast path (spec 8.1)") {
  kpa_spec spec;
  spec.scale_to_zero_pod_retention = 90s;
  kpa_state state = serving_one_pod(sks_mode::proxy, 4, scale::at(10s));
  const std::vector<decider_change> changes{{scale::at(160s), 0, -111}};
  // 160 s: → Inactive, requeue 3 s (SKS already Proxy).
  // 163 s: Inactive 3 s < max(30 s, 90 s); retention 90 s > 3 s → requeue after 87 s (the fast path is not
  //        consulted).
  // 250 s: Inactive 90 s ≥ 90 s → apply 0.
  const std::vector<logged_reconcile> expected{
      {scale::at(160s), 0, std::nullopt, pa_activity::inactive, 3s, 1},
      {scale::at(163s), 0, std::nullopt, pa_activity::inactive, 87s, 1},
      {scale::at(250s), 0, 0, pa_activity::inactive, std::nullopt, 0},
  };
  check_log(drive(spec, state, 1, -111, changes, false), expected);
}

TEST_CASE("timeline: scale from zero (spec 8.1)") {
  const kpa_spec spec;
  // Scaled to zero at 190 s: Inactive since 160 s, Proxy, 2 activators, no pods.
  kpa_state state{no_traffic, scale::at(160s), true, true, 0, 0, sks_mode::proxy, 2, scale::at(160s), 0};
  kpa_observation obs;
  // 500 s: the first request's stat pokes the decider: desired ceil(1 / 70) = 1; EBC = 0×100 − 211 − 1 < 0.
  obs.decider_desired_scale = 1;
  obs.excess_burst_capacity = -212;
  obs.ready_pods = 0;
  kpa_action a = scale::reconcile(spec, state, obs, scale::at(500s));
  CHECK(a.apply_replicas == 1);
  CHECK(a.want == 1);
  CHECK(a.mode == sks_mode::proxy);
  CHECK(a.active == activating);
  CHECK(state.active_since == scale::at(500s));
  // 503 s: the pod is ready; with 1 pod EBC = 100 − 211 − 1 = −112 keeps Proxy mode; the PA becomes Active.
  obs.ready_pods = 1;
  obs.excess_burst_capacity = -112;
  a = scale::reconcile(spec, state, obs, scale::at(503s));
  CHECK(a.apply_replicas == std::nullopt);
  CHECK(a.active == active);
  CHECK(a.mode == sks_mode::proxy);
  CHECK(a.num_activators == 4);
  CHECK(state.active_since == scale::at(503s));
  CHECK(state.activator_endpoints_since == scale::at(160s));
}

TEST_CASE("reconcile: activator probe failure and TBC -1") {
  kpa_spec spec;
  kpa_state state{no_traffic, scale::at(0s), true, true, 0, 1, sks_mode::proxy, 2, scale::at(0s), 1};
  kpa_observation obs;
  obs.decider_desired_scale = 0;
  obs.ready_pods = 1;
  obs.activator_probe_ok = false;
  kpa_action a = scale::reconcile(spec, state, obs, scale::at(100s));
  CHECK(a.start_async_probe);
  CHECK(a.apply_replicas == std::nullopt);
  CHECK(a.requeue_after == std::nullopt);
  CHECK(a.want == 0);
  spec.target_burst_capacity = -1;
  a = scale::reconcile(spec, state, obs, scale::at(101s));
  CHECK_FALSE(a.start_async_probe);
  CHECK(a.apply_replicas == 0);
  // TBC -1: ceil(1 × 100 / 100) = 1, floored at 2 activators.
  CHECK(a.num_activators == 2);
}

TEST_CASE("idle_kpa_state: scaled to zero long ago, the first decision scales from zero at once") {
  // Defaults: stable window 60 s, grace 30 s, retention 0 -> Inactive since 60 + 30 s + 1 h before `now`.
  const scale::kpa_spec spec;
  const scale::time_point now = scale::at(std::chrono::seconds{5000});
  scale::kpa_state state = scale::idle_kpa_state(spec, now);
  CHECK(state.active.activity == scale::pa_activity::inactive);
  CHECK(state.active.reason == scale::activity_reason::no_traffic);
  CHECK(state.active_since == now - std::chrono::seconds{90} - std::chrono::hours{1});
  CHECK(state.mode == scale::sks_mode::proxy);
  CHECK(state.spec_replicas == std::optional<std::int32_t>{0});
  // compute_num_activators(0 ready, total 100, TBC 211, capacity 100) = max(2, ceil(211/100)) = 3 (spec §6.5).
  CHECK(state.num_activators == 3);
  // Still no traffic: the decider says 0, nothing is patched.
  scale::kpa_observation quiet;
  quiet.decider_desired_scale = 0;
  CHECK(scale::reconcile(spec, state, quiet, now).apply_replicas == std::nullopt);
  // The poked decider wants 1 pod: the KPA patches 1 replica at once (spec §8 step 5).
  scale::kpa_observation poke;
  poke.decider_desired_scale = 1;
  poke.excess_burst_capacity = -211;
  CHECK(scale::reconcile(spec, state, poke, now).apply_replicas == std::optional<std::int32_t>{1});
}
