#include "libscale/keepalive_policy.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

namespace {

using namespace std::chrono_literals;
using scale::duration;
using scale::keepalive_policy;
using scale::keepalive_spec;
using scale::pod_counts;
using scale::policy_decision;
using scale::time_point;

time_point at(duration d) { return time_point{d}; }

// One request: arrival, service time.
struct request {
  duration arrival;
  duration service;
};

// Drives the policy as a simulator would for requests that never overlap: the timer when it falls before the
// next event, then the arrival, then the completion. Returns, per request, whether the policy had a warm pod.
std::vector<bool> run(keepalive_policy& p, const std::vector<request>& requests, std::vector<std::int32_t>& pods) {
  std::vector<bool> warm;
  std::optional<time_point> wake;
  auto apply = [&](const policy_decision& d) {
    pods.push_back(d.desired_pods);
    wake = d.wake_at;
  };
  auto timers_until = [&](time_point t) {
    while (wake && *wake <= t) apply(p.on_timer(*wake, {}));
  };
  for (const request& r : requests) {
    timers_until(at(r.arrival));
    p.on_arrival(at(r.arrival));
    warm.push_back(p.last_arrival_warm());
    apply(p.decide(at(r.arrival), {}));
    timers_until(at(r.arrival + r.service));
    p.on_completion(at(r.arrival + r.service));
    apply(p.decide(at(r.arrival + r.service), {}));
  }
  timers_until(time_point::max());
  return warm;
}

TEST_CASE("keepalive: the 10-minute default makes a request every 11 minutes cold and every 9 minutes warm") {
  struct row {
    const char* name;
    duration period;
    std::vector<bool> warm;
  };
  // Service 1 s. A pod is warm until its last request ended + 10 min: 1 s + 10 min = 10 min 1 s.
  // Every 11 min: the next request (11 min) comes after 10 min 1 s: cold every time.
  // Every 9 min: the next request (9 min) comes before 10 min 1 s: only the first is cold.
  // Every 10 min: 10 min is before 10 min 1 s: warm (the service time counts in the gap).
  const std::vector<row> rows{
      {"every 11 min", 11min, {false, false, false, false}},
      {"every 9 min", 9min, {false, true, true, true}},
      {"every 10 min", 10min, {false, true, true, true}},
  };
  for (const row& r : rows) {
    CAPTURE(r.name);
    keepalive_policy p;
    std::vector<request> reqs;
    for (int i = 0; i < 4; ++i) reqs.push_back({r.period * i, 1s});
    std::vector<std::int32_t> pods;
    CHECK(run(p, reqs, pods) == r.warm);
  }
}

TEST_CASE("keepalive: pod count timeline for requests every 11 minutes") {
  keepalive_policy p;
  std::vector<std::int32_t> pods;
  run(p, {{0s, 1s}, {11min, 1s}}, pods);
  // arrival 1, completion 1, expiry at 10m1s 0, arrival 1, completion 1, expiry at 21m1s 0.
  CHECK(pods == std::vector<std::int32_t>{1, 1, 0, 1, 1, 0});
}

TEST_CASE("keepalive: one pod per concurrent request, each with its own idle time") {
  keepalive_policy p(keepalive_spec{.idle = 60s});
  // Two requests overlap: two pods. They end at 10 s and 20 s, so the pods expire at 70 s and 80 s.
  p.on_arrival(at(0s));
  CHECK_FALSE(p.last_arrival_warm());
  p.on_arrival(at(5s));
  CHECK_FALSE(p.last_arrival_warm());
  CHECK(p.decide(at(5s), {}) == policy_decision{2, std::nullopt, false});
  p.on_completion(at(10s));
  CHECK(p.decide(at(10s), {}) == policy_decision{2, at(70s), false});
  p.on_completion(at(20s));
  CHECK(p.decide(at(20s), {}) == policy_decision{2, at(70s), false});
  CHECK(p.on_timer(at(70s), {}) == policy_decision{1, at(80s), false});
  // A request at 75 s takes the pod still warm (until 80 s): warm, and no more timer.
  p.on_arrival(at(75s));
  CHECK(p.last_arrival_warm());
  CHECK(p.decide(at(75s), {}) == policy_decision{1, std::nullopt, false});
}

TEST_CASE("keepalive: idle 0 releases a pod as soon as its request ends") {
  keepalive_policy p(keepalive_spec{.idle = 0s});
  p.on_arrival(at(0s));
  p.on_completion(at(1s));
  CHECK(p.decide(at(1s), pod_counts{}) == policy_decision{0, std::nullopt, false});
  p.on_arrival(at(2s));
  CHECK_FALSE(p.last_arrival_warm());
}

}  // namespace
