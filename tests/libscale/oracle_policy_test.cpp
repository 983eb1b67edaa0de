#include "libscale/oracle_policy.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <vector>

namespace {

using namespace std::chrono_literals;
using scale::duration;
using scale::known_request;
using scale::oracle_policy;
using scale::oracle_segment;
using scale::oracle_spec;
using scale::plan_oracle;
using scale::policy_decision;
using scale::time_point;

time_point at(duration d) { return time_point{d}; }

// Five requests (arrival, service): 10 s + 2, 11 s + 2, 14 s + 1, 20 s + 1, 23 s + 1.
const std::vector<known_request> tiny{
    {at(10s), 2s}, {at(11s), 2s}, {at(14s), 1s}, {at(20s), 1s}, {at(23s), 1s}};

TEST_CASE("oracle: the plan and its pod time on a tiny trace equal the hand sums") {
  struct row {
    const char* name;
    oracle_spec spec;
    std::vector<oracle_segment> segments;
    duration pod_time;
  };
  // Cold start 3 s, no drain (keep a pod when the gap is at most 3 s):
  //   10 s: pod A asked at 7 s.   11 s: A is busy until 12 s: pod B asked at 8 s.
  //   14 s: A free since 12 s, B since 13 s; B (most recent, gap 1 s) is kept.  B busy until 15 s.
  //   20 s: A freed 8 s ago, B 5 s ago: both released; pod C asked at 17 s.  23 s: C free since 21 s, gap 2 s.
  //   A [7, 12) 5 s + B [8, 15) 7 s + C [17, 24) 7 s = 19 s
  //   = service 7 s + three cold starts 9 s + kept gaps 1 s + 2 s.
  // Drain 30 s (keep when the gap is at most 33 s): 20 s reuses B (gap 5 s) and 23 s reuses B (gap 2 s):
  //   A [7, 12) 5 s + B [8, 24) 16 s + two drains 60 s = 81 s.
  const std::vector<row> rows{
      {"cold start 3 s", {3s, 0s}, {{at(7s), at(12s)}, {at(8s), at(15s)}, {at(17s), at(24s)}}, 19s},
      {"cold start 3 s, drain 30 s", {3s, 30s}, {{at(7s), at(12s)}, {at(8s), at(24s)}}, 81s},
  };
  for (const row& r : rows) {
    CAPTURE(r.name);
    oracle_policy p(tiny, r.spec);
    CHECK(p.segments() == r.segments);
    CHECK(p.pod_time() == r.pod_time);
  }
}

TEST_CASE("oracle: desired pods follow the plan, waking at each change") {
  oracle_policy p(tiny, oracle_spec{3s, 0s});
  struct step {
    duration now;
    policy_decision expected;
  };
  const std::vector<step> steps{
      {0s, {0, at(7s), false}},   {7s, {1, at(8s), false}},   {8s, {2, at(12s), false}},
      {12s, {1, at(15s), false}}, {15s, {0, at(17s), false}}, {17s, {1, at(24s), false}},
      {24s, {0, std::nullopt, false}},
  };
  for (const step& s : steps) {
    CAPTURE(s.now.count());
    CHECK(p.on_timer(at(s.now), {}) == s.expected);
  }
}

TEST_CASE("oracle: input order does not matter, and the plan never leaves a request without a ready pod") {
  std::vector<known_request> shuffled{tiny[3], tiny[0], tiny[4], tiny[2], tiny[1]};
  CHECK(plan_oracle(shuffled, {}) == plan_oracle(tiny, {}));
  // Every request lies inside a segment that began at least one cold start before it.
  const auto plan = plan_oracle(tiny, {});
  for (const known_request& r : tiny) {
    CAPTURE(r.arrival.time_since_epoch().count());
    bool covered = false;
    for (const oracle_segment& s : plan) covered |= s.begin + 3s <= r.arrival && r.arrival + r.service <= s.end;
    CHECK(covered);
  }
}

TEST_CASE("oracle: a request earlier than one cold start asks for its pod before the epoch") {
  const std::vector<known_request> early{{at(1s), 1s}};
  oracle_policy p(early, {});
  CHECK(p.segments() == std::vector<oracle_segment>{{at(-2s), at(2s)}});
  CHECK(p.decide(at(0s), {}) == policy_decision{1, at(2s), false});
}

// The least pod time over every way of chaining requests onto pods: each request either starts a pod (one cold
// start before it, plus a drain after its pod's last request) or follows an earlier request whose service ended
// by its arrival, keeping that pod for the gap. Exhaustive, for a handful of requests.
duration brute_force_pod_time(const std::vector<known_request>& rs, const oracle_spec& spec) {
  const std::size_t n = rs.size();
  std::vector<int> pred(n, -1);
  std::vector<bool> used(n, false);
  duration best = duration::max();
  std::function<void(std::size_t, duration)> go = [&](std::size_t i, duration cost) {
    if (cost >= best) return;
    if (i == n) {
      best = cost;
      return;
    }
    cost += rs[i].service;
    go(i + 1, cost + spec.cold_start + spec.drain);  // a new pod
    for (std::size_t j = 0; j < i; ++j) {
      const time_point free = rs[j].arrival + rs[j].service;
      if (used[j] || free > rs[i].arrival) continue;
      used[j] = true;
      go(i + 1, cost + (rs[i].arrival - free));  // keep j's pod through the gap
      used[j] = false;
    }
  };
  go(0, duration::zero());
  return best;
}

TEST_CASE("oracle: the plan's pod time is the least possible on random small traces") {
  std::mt19937_64 rng(20260426);
  for (int trial = 0; trial < 200; ++trial) {
    CAPTURE(trial);
    // 2 to 6 requests, arrivals in [0, 40) s, service 1 to 5 s (sorted by arrival, as the brute force needs).
    const std::size_t n = 2 + rng() % 5;
    std::vector<known_request> rs;
    for (std::size_t i = 0; i < n; ++i) {
      rs.push_back({at(std::chrono::seconds{static_cast<std::int64_t>(rng() % 40)}),
                    std::chrono::seconds{static_cast<std::int64_t>(1 + rng() % 5)}});
    }
    std::sort(rs.begin(), rs.end(), [](const known_request& a, const known_request& b) { return a.arrival < b.arrival; });
    const oracle_spec spec{std::chrono::seconds{static_cast<std::int64_t>(1 + rng() % 6)},
                           std::chrono::seconds{static_cast<std::int64_t>(rng() % 3)}};
    CHECK(oracle_policy(rs, spec).pod_time() == brute_force_pod_time(rs, spec));
  }
}

}  // namespace
