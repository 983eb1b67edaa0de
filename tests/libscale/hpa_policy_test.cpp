#include "libscale/hpa_policy.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using scale::duration;
using scale::hpa_policy;
using scale::hpa_spec;
using scale::pod_counts;
using scale::policy_decision;
using scale::time_point;

time_point at(duration d) { return time_point{d}; }

// Pods that start at once: the driver's counts after applying `n` replicas.
pod_counts settled(std::int32_t n) { return {n, 0, n}; }

// Holds the number of requests in the function at `level` from `now` on.
struct load {
  std::int64_t level = 0;
  void set(hpa_policy& p, time_point now, std::int64_t to) {
    for (; level < to; ++level) p.on_arrival(now);
    for (; level > to; --level) p.on_completion(now);
  }
};

// Runs syncs every 15 s from 15 s: before the sync at 15 k s the load is levels[k-1] (set right after the
// previous sync). Returns the replicas after each sync; pods follow at once.
std::vector<std::int32_t> run_syncs(hpa_policy& p, const std::vector<std::int64_t>& levels) {
  load l;
  std::vector<std::int32_t> out;
  time_point t{};
  for (const std::int64_t level : levels) {
    l.set(p, t, level);
    t += 15s;
    out.push_back(p.on_timer(t, settled(p.replicas())).desired_pods);
  }
  return out;
}

TEST_CASE("hpa: tolerance: a usage ratio of 1.05 changes nothing, 1.2 does") {
  hpa_spec spec;
  spec.target = 10;
  hpa_policy p(spec);
  // Sync 15 s: 40 requests on 1 pod: ratio 4 > 1.1: ceil(4 × 1) = 4 (scale-up limit max(1 + 4, 2) = 5).
  // Sync 30 s: 42 requests on 4 pods: 10.5 per pod, ratio 1.05: within 10 %: stays 4.
  // Sync 45 s: 48 on 4: ratio 1.2: ceil(1.2 × 4) = ceil(4.8) = 5.
  // Sync 60 s: 46 on 5: 9.2 per pod, ratio 0.92: within 10 %: stays 5.
  CHECK(run_syncs(p, {40, 42, 48, 46}) == std::vector<std::int32_t>{4, 4, 5, 5});
  CHECK(p.last_metric() == doctest::Approx(46));
}

TEST_CASE("hpa: the scale-up limit is max(100 %, 4 pods) per 15 s") {
  hpa_spec spec;
  spec.target = 10;
  hpa_policy p(spec);
  // 1000 requests, target 10: the calculator always wants 100.
  // 1 → max(1 + 4, ceil(1 × 2)) = 5; 5 → max(9, 10) = 10; 10 → max(14, 20) = 20; 20 → 40; 40 → 80; 80 → 100.
  // Each sync's event lies exactly at the next sync's cutoff (now - 15 s), which Kubernetes does not count
  // (After(cutoff)), so each period starts from the current count.
  CHECK(run_syncs(p, {1000, 1000, 1000, 1000, 1000, 1000}) == std::vector<std::int32_t>{5, 10, 20, 40, 80, 100});
}

TEST_CASE("hpa: scale-up events within the period lower the limit") {
  hpa_spec spec;
  spec.target = 10;
  spec.sync_period = 5s;
  hpa_policy p(spec);
  load l;
  l.set(p, at(0s), 1000);
  // Syncs every 5 s, policies per 15 s. 5 s: 1 → 5 (event +4 at 5 s).
  // 10 s and 15 s: the event at 5 s is after the cutoff (now - 15 s = -5 s, 0 s): period start 5 - 4 = 1,
  // limit max(1 + 4, 2) = 5: stays 5. 20 s: cutoff 5 s, the event is not after it: start 5, limit max(9, 10) = 10.
  std::vector<std::int32_t> got;
  for (int k = 1; k <= 4; ++k) got.push_back(p.on_timer(at(std::chrono::seconds{5 * k}), settled(p.replicas())).desired_pods);
  CHECK(got == std::vector<std::int32_t>{5, 5, 5, 10});
}

TEST_CASE("hpa: the 300 s scale-down stabilization keeps the highest recommendation of the window") {
  hpa_spec spec;
  spec.target = 10;
  hpa_policy p(spec);
  // Sync 15 s: 40 requests on 1 pod: 4 (recorded 4 at 15 s). Then 20 requests: ratio 0.5 on 4 pods: the
  // calculator wants 2, but 4 (at 15 s) is in the window (15 > now - 300) until the sync at 315 s, where
  // 15 > 15 is false: then 2 (scale-down limit trunc(4 × 0) = 0, min 1).
  std::vector<std::int64_t> levels{40};
  for (int k = 2; k <= 22; ++k) levels.push_back(20);
  std::vector<std::int32_t> expected{4};
  for (int k = 2; k <= 20; ++k) expected.push_back(4);  // syncs 30 s .. 300 s
  expected.push_back(2);                               // 315 s
  expected.push_back(2);                               // 330 s
  CHECK(run_syncs(p, levels) == expected);
}

TEST_CASE("hpa: starting pods count as missing: a scale-up that they would turn into a scale-down waits") {
  hpa_spec spec;
  spec.target = 10;
  hpa_policy p(spec);
  // 1 ready pod, 4 starting, 40 requests: ratio 4 on the ready pod; with the 4 missing at 0: 40 / 5 / 10 = 0.8,
  // the other direction: keep the current count.
  CHECK(p.raw_recommendation(40, 5, pod_counts{1, 4, 5}) == std::optional<std::int32_t>{5});
  // 60 requests: with the missing at 0, 60 / 5 / 10 = 1.2: ceil(1.2 × 5) = 6.
  CHECK(p.raw_recommendation(60, 5, pod_counts{1, 4, 5}) == std::optional<std::int32_t>{6});
  // No ready pod: no metric, no recommendation (Kubernetes fails the sync).
  CHECK(p.raw_recommendation(60, 5, pod_counts{0, 5, 5}) == std::nullopt);
}

TEST_CASE("hpa: scale to zero and back with the HPAScaleToZero gate") {
  hpa_spec spec;
  spec.target = 10;
  spec.min_replicas = 0;
  spec.scale_to_zero = true;
  hpa_policy p(spec);
  CHECK(p.decide(at(0s), settled(0)) == policy_decision{0, at(15s), false});
  // One request from 1 s to 20 s. Sync 15 s: mean 14/15 over [0, 15], 0 replicas: ratio +Inf: ceil(0.93 / 10) = 1.
  p.on_arrival(at(1s));
  CHECK(p.on_timer(at(15s), settled(0)).desired_pods == 1);
  p.on_completion(at(20s));
  // Sync 30 s: mean 5/15 on 1 replica: ratio 1/30: ceil(1/30) = 1. From 45 s the calculator wants 0, but the
  // recommendation 1 of 30 s stays in the 300 s window until the sync at 330 s.
  for (int k = 2; k <= 21; ++k) {
    CAPTURE(k);
    CHECK(p.on_timer(at(std::chrono::seconds{15 * k}), settled(1)).desired_pods == 1);
  }
  CHECK(p.on_timer(at(330s), settled(1)) == policy_decision{0, at(345s), false});
  // 345 s: idle at 0: no more syncs.
  CHECK(p.on_timer(at(345s), settled(0)) == policy_decision{0, std::nullopt, false});
  // An arrival at 400 s: syncs resume at 405 s, which scales to 1.
  p.on_arrival(at(400s));
  CHECK(p.decide(at(400s), settled(0)) == policy_decision{0, at(405s), false});
  CHECK(p.on_timer(at(405s), settled(0)).desired_pods == 1);
}

TEST_CASE("hpa: activation on arrival sets one replica at once") {
  hpa_spec spec;
  spec.min_replicas = 0;
  spec.scale_to_zero = true;
  spec.activate_on_arrival = true;
  hpa_policy p(spec);
  p.on_arrival(at(3s));
  CHECK(p.decide(at(3s), settled(0)).desired_pods == 1);
}

TEST_CASE("hpa: skipping idle syncs gives the same decisions as running them all") {
  struct phase {
    duration at;
    std::int64_t level;
  };
  const std::vector<phase> phases{{0s, 0}, {100s, 30}, {130s, 0}, {2000s, 200}, {2100s, 0}, {5000s, 5}, {5003s, 0}};
  int timer_calls = 0;
  auto run = [&](bool skip) {
    hpa_spec spec;
    spec.target = 10;
    spec.skip_idle = skip;
    hpa_policy p(spec);
    load l;
    std::vector<std::int32_t> replicas;
    std::size_t next_phase = 0;
    for (time_point t = at(1s); t <= at(6000s); t += 1s) {
      while (next_phase < phases.size() && at(phases[next_phase].at) <= t) {
        l.set(p, t, phases[next_phase].level);
        p.decide(t, settled(p.replicas()));
        ++next_phase;
      }
      // The driver only calls the timer when asked; without skipping it is asked every 15 s.
      const policy_decision d = p.decide(t, settled(p.replicas()));
      if (d.wake_at && *d.wake_at == t) {
        ++timer_calls;
        p.on_timer(t, settled(p.replicas()));
      }
      replicas.push_back(p.replicas());
    }
    return replicas;
  };
  const auto all = run(false);
  const int all_calls = timer_calls;
  timer_calls = 0;
  CHECK(run(true) == all);
  // 6000 s / 15 s = 400 syncs without skipping; far fewer with.
  CHECK(all_calls == 400);
  CHECK(timer_calls < 150);
  // 200 requests at target 10 ramp 1 → 5 → 10 → 20.
  CHECK(*std::max_element(all.begin(), all.end()) == 20);
}

TEST_CASE("hpa: invalid knobs are named") {
  struct row {
    hpa_spec spec;
    std::string message;
  };
  hpa_spec zero_min;
  zero_min.min_replicas = 0;
  hpa_spec low_max;
  low_max.min_replicas = 3;
  low_max.max_replicas = 2;
  hpa_spec no_target;
  no_target.target = 0;
  const std::vector<row> rows{
      {zero_min, "hpa.min = 0, must be at least 1 unless hpa.scale_to_zero is true"},
      {low_max, "hpa.max = 2, must be 0 (unbounded) or at least hpa.min and 1"},
      {no_target, "hpa.target = 0.000000, must be above 0"},
  };
  for (const row& r : rows) {
    CAPTURE(r.message);
    const auto v = scale::validate_hpa_spec(r.spec);
    REQUIRE_FALSE(v.has_value());
    CHECK(v.error_value().message == r.message);
  }
  CHECK(scale::validate_hpa_spec(hpa_spec{}).has_value());
}

}  // namespace
