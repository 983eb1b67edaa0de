#include "libscale/kpa_policy.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libscale/config.hpp"

namespace {

using namespace std::chrono_literals;
using scale::decider;
using scale::decider_status;
using scale::duration;
using scale::kpa_policy;
using scale::kpa_policy_config;
using scale::kpa_start;
using scale::pod_counts;
using scale::pod_stat;
using scale::policy_decision;
using scale::time_point;

time_point at(duration d) { return time_point{d}; }

constexpr duration cold_start = 3s;
constexpr duration step = 500ms;

// Pods as a toy simulator keeps them: created at once, ready one cold start later; a scale-down removes the
// newest starting pods first, then ready ones, at once.
struct toy_pods {
  std::vector<time_point> starting_ready_at;  // creation order
  std::int32_t ready = 0;

  pod_counts counts() const {
    const auto s = static_cast<std::int32_t>(starting_ready_at.size());
    return {ready, s, ready + s};
  }
  void apply(std::int32_t desired, time_point now) {
    while (counts().existing < desired) starting_ready_at.push_back(now + cold_start);
    while (counts().existing > desired) {
      if (!starting_ready_at.empty()) {
        starting_ready_at.pop_back();
      } else {
        --ready;
      }
    }
  }
  // Pods whose cold start ends at `now` become ready; true when any did.
  bool advance(time_point now) {
    bool changed = false;
    std::erase_if(starting_ready_at, [&](time_point t) {
      if (t > now) return false;
      ++ready;
      changed = true;
      return true;
    });
    return changed;
  }
};

// What the two drivers are fed: one arrival whose activator push carries concurrency 1, and per-second stats
// with the given concurrency over [first, last], and zeros while a pod is ready (the scrape of idle pods).
struct scenario {
  std::string name;
  kpa_start start;
  duration arrival;
  duration stats_first;
  duration stats_last;
  double concurrency;
  duration end;
  // Most replicas the run asks for (worked out from the decider: ceil(concurrency / 70), panic included).
  std::int32_t peak = 0;
};

kpa_policy_config config_for(const scenario& s) {
  const scale::revision_autoscaling revision{};
  kpa_policy_config c;
  c.decider = scale::make_decider_spec(revision);
  c.kpa.target_burst_capacity = revision.target_burst_capacity;
  c.stable_window = revision.stable_window;
  c.panic_window = revision.panic_window;
  c.start = s.start;
  return c;
}

bool stat_at(const scenario& s, time_point t, std::int32_t ready, pod_stat& out) {
  if (t.time_since_epoch() % 1s != duration::zero()) return false;
  if (t >= at(s.stats_first) && t <= at(s.stats_last)) {
    out = pod_stat{.average_concurrency = s.concurrency, .request_count = s.concurrency};
    return true;
  }
  out = pod_stat{};
  return ready > 0;
}

// The decider, multiscaler bookkeeping and KPA called directly, in sim/src/simulation.cpp's order.
std::vector<std::int32_t> run_direct(const scenario& s) {
  const kpa_policy_config c = config_for(s);
  decider d(c.decider, 0, at(0s));
  scale::metric_collection collection(c.stable_window, c.panic_window, c.algorithm, true);
  scale::kpa_state state;
  decider_status status;
  toy_pods pods;
  if (s.start == kpa_start::idle) {
    const duration long_ago = c.kpa.stable_window + c.kpa.scale_to_zero_grace_period + 1h;
    state.active = {scale::pa_activity::inactive, scale::activity_reason::no_traffic};
    state.active_since = at(0s) - long_ago;
    state.scale_target_initialized = true;
    state.has_service_name = true;
    state.desired_scale = 0;
    state.actual_scale = 0;
    state.num_activators = scale::compute_num_activators(0, c.kpa.total_value, c.kpa.target_burst_capacity,
                                                         c.kpa.activator_capacity);
    state.activator_endpoints_since = at(0s) - long_ago;
    state.spec_replicas = 0;
    status = decider_status{0, scale::detail::go_int32(std::floor(-c.decider.target_burst_capacity))};
  } else {
    state = scale::initial_kpa_state(c.kpa, at(0s));
    status = scale::initial_decider_status(c.decider);
    pods.ready = c.kpa.initial_scale;
  }
  std::optional<time_point> requeue;
  time_point now = at(0s);
  auto reconcile_now = [&] {
    for (int pass = 0; pass < scale::kpa_max_reconcile_passes; ++pass) {
      const std::int32_t ready = pods.ready;
      const scale::kpa_action a = scale::reconcile(
          c.kpa, state,
          {.decider_desired_scale = status.desired_scale, .excess_burst_capacity = status.excess_burst_capacity,
           .ready_pods = ready},
          now);
      if (a.requeue_after && (!requeue || now + *a.requeue_after < *requeue)) requeue = now + *a.requeue_after;
      if (a.apply_replicas) pods.apply(*a.apply_replicas, now);
      if (!a.triggers_reconcile && pods.ready == ready) break;
    }
  };
  auto run_decider = [&] {
    const auto observed = collection.stable_and_panic(now, c.decider.metric);
    if (scale::apply_result(status, d.scale(now, pods.ready, observed))) reconcile_now();
  };
  std::vector<std::int32_t> out;
  reconcile_now();
  for (now = at(0s); now <= at(s.end); now += step) {
    if (requeue && *requeue == now) {
      requeue.reset();
      reconcile_now();
    }
    if (pods.advance(now)) reconcile_now();
    if (now == at(s.arrival)) {
      const pod_stat push{.average_concurrency = 1, .request_count = 1};
      collection.record(now, push);
      if (scale::should_poke(status, push.average_concurrency)) run_decider();
    }
    pod_stat st;
    if (stat_at(s, now, pods.ready, st)) collection.record(now, st);
    if (now > at(0s) && now.time_since_epoch() % scale::decider_tick_interval == duration::zero()) run_decider();
    out.push_back(state.spec_replicas.value_or(1));
  }
  return out;
}

// The same through the scaling_policy interface.
std::vector<std::int32_t> run_policy(const scenario& s, int& timer_calls) {
  const kpa_policy_config c = config_for(s);
  kpa_policy p(c);
  toy_pods pods;
  if (s.start == kpa_start::deployed) pods.ready = c.kpa.initial_scale;
  std::optional<time_point> wake;
  time_point now = at(0s);
  auto settle = [&](policy_decision d) {
    for (;;) {
      wake = d.wake_at;
      const pod_counts before = pods.counts();
      pods.apply(d.desired_pods, now);
      if (!d.call_again && pods.counts() == before) return;
      d = p.decide(now, pods.counts());
    }
  };
  std::vector<std::int32_t> out;
  settle(p.decide(now, pods.counts()));
  for (now = at(0s); now <= at(s.end); now += step) {
    if (pods.advance(now)) settle(p.decide(now, pods.counts()));
    if (now == at(s.arrival)) {
      p.on_arrival(now);
      p.on_stat(now, pod_stat{.average_concurrency = 1, .request_count = 1}, true);
      settle(p.decide(now, pods.counts()));
    }
    // The request leaves when its load ends (the KPA itself only reads the stats).
    if (now == at(s.stats_last) && s.arrival <= s.stats_last) p.on_completion(now);
    pod_stat st;
    if (stat_at(s, now, pods.ready, st)) p.on_stat(now, st, false);
    if (wake && *wake <= now) {
      ++timer_calls;
      settle(p.on_timer(now, pods.counts()));
    }
    out.push_back(p.state().spec_replicas.value_or(1));
  }
  return out;
}

TEST_CASE("kpa_policy: the adapter decides exactly as the decider and the KPA called directly") {
  const std::vector<scenario> rows{
      // Idle start; one request at 1.5 s pokes the decider (0 → 1); load 5 until 40 s; then scale to zero
      // after the stable window and the grace period.
      {"idle, poke, scale to zero", kpa_start::idle, 1500ms, 2s, 40s, 5.0, 400s, 1},
      // A burst of 350 concurrent requests: panic, several pods, then down again.
      {"idle, burst", kpa_start::idle, 1500ms, 2s, 20s, 350.0, 400s, 5},
      // Just deployed with one pod and no traffic at all: activating, then down to zero.
      {"deployed, no traffic", kpa_start::deployed, 10000s, 10000s, 10000s, 0.0, 400s, 1},
      // Deployed, traffic from the start.
      {"deployed, traffic", kpa_start::deployed, 0s, 1s, 100s, 150.0, 400s, 3},
  };
  for (const scenario& s : rows) {
    CAPTURE(s.name);
    int timer_calls = 0;
    const auto direct = run_direct(s);
    const auto policy = run_policy(s, timer_calls);
    CHECK(policy == direct);
    // The replicas went up and back to zero (except where there is no traffic).
    CHECK(direct.back() == 0);
    CHECK(*std::max_element(direct.begin(), direct.end()) == s.peak);
    // Idle functions cost nothing: far fewer wake-ups than the 200 decider ticks of the run.
    CHECK(timer_calls < 200);
  }
}

TEST_CASE("kpa_policy: a Poke scales from zero at the arrival, before any periodic tick") {
  scenario s{"poke", kpa_start::idle, 1500ms, 2s, 40s, 5.0, 10s};
  kpa_policy p(config_for(s));
  CHECK(p.decide(at(0s), {}) == policy_decision{0, at(2s), false});
  p.on_arrival(at(1500ms));
  p.on_stat(at(1500ms), pod_stat{.average_concurrency = 1, .request_count = 1}, true);
  const policy_decision d = p.decide(at(1500ms), {});
  CHECK(d.desired_pods == 1);
  CHECK(p.status().desired_scale == 1);
}

TEST_CASE("kpa_policy: works through any_scaling_policy") {
  scenario s{"any", kpa_start::idle, 1500ms, 2s, 40s, 5.0, 10s};
  scale::any_scaling_policy any{kpa_policy(config_for(s))};
  CHECK(any.uses_stats());
  any.on_arrival(at(1500ms));
  any.on_stat(at(1500ms), pod_stat{.average_concurrency = 1, .request_count = 1}, true);
  CHECK(any.decide(at(1500ms), {}).desired_pods == 1);
  REQUIRE(any.get_if<kpa_policy>() != nullptr);
  CHECK(any.get_if<kpa_policy>()->status().desired_scale == 1);
}

}  // namespace

TEST_CASE("make_kpa_spec and make_kpa_policy_config carry a resolved revision over field by field") {
  // A revision resolved from annotations (docs/config.md): every field the reconciler and decider read.
  scale::autoscaler_config config;
  const scale::string_map annotations{{"autoscaling.knative.dev/min-scale", "2"},
                                      {"autoscaling.knative.dev/max-scale", "9"},
                                      {"autoscaling.knative.dev/initial-scale", "3"},
                                      {"autoscaling.knative.dev/window", "30s"},
                                      {"autoscaling.knative.dev/scale-to-zero-pod-retention-period", "45s"},
                                      {"autoscaling.knative.dev/target-burst-capacity", "50"},
                                      {"autoscaling.knative.dev/target", "20"}};
  const auto r = scale::resolve_revision(config, annotations, 0);
  REQUIRE(r.has_value());
  const scale::kpa_spec s = scale::make_kpa_spec(*r);
  CHECK(s.min_scale == 2);
  CHECK(s.max_scale == 9);
  CHECK(s.initial_scale == 3);
  CHECK(s.enable_scale_to_zero == r->enable_scale_to_zero);
  CHECK(s.reachable);
  CHECK(s.stable_window == 30s);
  CHECK(s.scale_to_zero_grace_period == r->scale_to_zero_grace_period);
  CHECK(s.scale_to_zero_pod_retention == 45s);
  CHECK(s.target_burst_capacity == 50);
  CHECK(s.total_value == r->total_value);
  CHECK(s.activator_capacity == r->activator_capacity);
  CHECK(s.progress_deadline == 600s);  // config-deployment's default; not a revision setting

  const kpa_policy_config p = scale::make_kpa_policy_config(*r, kpa_start::deployed);
  CHECK(p.kpa == s);
  CHECK(p.decider == scale::make_decider_spec(*r, true));
  CHECK(p.stable_window == 30s);
  CHECK(p.panic_window == r->panic_window);
  CHECK(p.algorithm == r->algorithm);
  CHECK(p.start == kpa_start::deployed);
}
