#include <adapter/target_controller.hpp>

#include <doctest/doctest.h>

#include <deque>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using scale::at;
using scale::pod_counts;
using scale::pod_stat;
using scale::time_point;
using scale::adapter::step_input;
using scale::adapter::target_controller;

namespace {

/// The scale subresource as a value: records writes with their time, fails on demand.
struct fake_kube {
  std::int32_t replicas = 0;
  std::vector<std::pair<time_point, std::int32_t>> writes;
  std::deque<int> get_failures;
  std::deque<int> set_failures;
  std::vector<scale::kube::event_record> events;
  int gets = 0;
  time_point now{};

  scale::adapter::scale_api api() {
    return {.get_scale =
                [this]() -> scale::kube::api_result<scale::kube::scale_info> {
              ++gets;
              if (!get_failures.empty()) {
                const int code = get_failures.front();
                get_failures.pop_front();
                return scale::kube::api_error{code, "X", "get failed " + std::to_string(code), "", {}};
              }
              return scale::kube::scale_info{replicas, 0, "app=hello", "1"};
            },
            .set_replicas =
                [this](std::int32_t n) -> scale::kube::api_result<scale::kube::scale_info> {
              if (!set_failures.empty()) {
                const int code = set_failures.front();
                set_failures.pop_front();
                return scale::kube::api_error{code, "X", "patch failed " + std::to_string(code), "", {}};
              }
              replicas = n;
              writes.emplace_back(now, n);
              return scale::kube::scale_info{replicas, 0, "app=hello", "2"};
            },
            .record_event = [this](const scale::kube::event_record& e) { events.push_back(e); }};
  }
};

scale::adapter::target_config proxy_target(const std::string& extra_annotations = "") {
  const std::string text =
      "targets:\n- name: hello\n  containerConcurrency: 10\n  config:\n    stable-window: 6s\n"
      "    scale-to-zero-grace-period: 6s\n  annotations:\n    autoscaling.knative.dev/max-scale: \"3\"\n" +
      extra_annotations;
  auto c = scale::adapter::parse_adapter_config(text, "t.yaml");
  REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error_value().message));
  return c->targets[0];
}

/// Drives a controller second by second like the runner: the stat of the second, then a step.
struct driver {
  fake_kube kube;
  std::vector<std::string> lines;
  target_controller controller;
  std::int32_t ready = 0;

  explicit driver(scale::adapter::target_config t, std::int32_t initial = 0)
      : controller(std::move(t), kube.api(), [this](auto, const std::string& l) { lines.push_back(l); }) {
    kube.replicas = initial;
  }

  void step(time_point now, bool metrics_missing = false) {
    kube.now = now;
    controller.step(now, step_input{.pods = pod_counts{ready, 0, ready}, .metrics_missing = metrics_missing});
  }
  /// One second of the proxy's report (concurrency c, r arrivals) at `now`, then a step.
  void second(time_point now, double c, double r) {
    if (c > 0 || r > 0) {
      controller.on_stat(now, pod_stat{c, 0, r, 0}, false);
      if (r > 0) controller.on_requests(now);
    }
    step(now);
  }
  /// A first request at `now` (the proxy's push and poke), then a step.
  void poke(time_point now) {
    controller.on_requests(now);
    controller.on_stat(now, pod_stat{1, 0, 1, 0}, true);
    step(now);
  }
};

}  // namespace

TEST_CASE("0 to 1 on a poke, back to 0 when the stable window has no load") {
  driver d(proxy_target());
  d.step(at(0s));
  CHECK(d.kube.writes.empty());
  REQUIRE(d.controller.policy() != nullptr);
  CHECK(d.controller.status().desired == 0);
  // Idle for a while: no write while at 0.
  for (int s = 1; s <= 9; ++s) d.second(at(std::chrono::seconds{s}), 0, 0);
  CHECK(d.kube.writes.empty());
  // First request at 10.5 s: Knative's Poke decides at once (kpa-spec.md §6.3): concurrency 1 over the
  // per-pod target 10 × 0.7 = 7 is ceil(1 / 7) = 1 pod.
  d.poke(at(10500ms));
  REQUIRE(d.kube.writes.size() == 1);
  CHECK(d.kube.writes[0] == std::pair{at(10500ms), 1});
  // The pod is ready at 12 s; load of one request until 15 s, reported every second.
  for (int s = 11; s <= 15; ++s) {
    if (s == 12) d.ready = 1;
    d.second(at(std::chrono::seconds{s}), 1, s == 11 ? 1 : 0);
  }
  CHECK(d.kube.writes.size() == 1);
  // Then no load: the proxy reports nothing more. The last non-zero bucket is second 15; the 6 s window
  // leaves it at 21 s, and the decider ticks on even seconds of the policy (epoch 0), so 22 s. The PA has been
  // Active since 12 s (>= the 6 s stable window): it goes Inactive; with TBC -1 the activator has been in the
  // path for good, so the grace-period fast path applies 0 in the same tick (kpa-spec.md §8, §8.1).
  std::optional<time_point> zero_at;
  for (int s = 16; s <= 40 && !zero_at; ++s) {
    d.second(at(std::chrono::seconds{s}), 0, 0);
    if (d.kube.replicas == 0) zero_at = at(std::chrono::seconds{s});
  }
  REQUIRE(zero_at.has_value());
  CHECK(*zero_at == at(22s));
  // Every write stays within [0, 3], and the reasons were logged once per change.
  for (const auto& [t, n] : d.kube.writes) CHECK((n >= 0 && n <= 3));
  CHECK(d.kube.events.size() == d.kube.writes.size());
  CHECK(d.kube.events.back().reason == "SuccessfulRescale");
}

TEST_CASE("no write when the desired scale equals the current one") {
  driver d(proxy_target());
  for (int s = 0; s <= 30; ++s) d.second(at(std::chrono::seconds{s}), 0, 0);
  CHECK(d.kube.writes.empty());
  CHECK(d.kube.events.empty());
}

TEST_CASE("missing metrics hold the scale: no scale to zero because a scrape failed") {
  driver d(proxy_target(), 2);
  d.ready = 2;
  d.step(at(0s));
  // With metrics missing every second, the decider's zeros never turn into a write.
  for (int s = 1; s <= 60; ++s) d.step(at(std::chrono::seconds{s}), /*metrics_missing=*/true);
  CHECK(d.kube.writes.empty());
  CHECK(d.kube.replicas == 2);
  CHECK(d.controller.status().holding);
  // Metrics back: the controller acts again.
  for (int s = 61; s <= 90; ++s) d.step(at(std::chrono::seconds{s}));
  CHECK_FALSE(d.controller.status().holding);
  CHECK_FALSE(d.kube.writes.empty());
}

TEST_CASE("the write is bounded to [min, max]") {
  // A burst of 50 concurrent requests wants ceil(50 / 7) = 8 pods; max-scale 3 caps it; min-scale 1 keeps one.
  driver d(proxy_target("    autoscaling.knative.dev/min-scale: \"1\"\n"), 1);
  d.ready = 1;
  d.step(at(0s));
  for (int s = 1; s <= 10; ++s) {
    d.ready = d.kube.replicas;
    d.second(at(std::chrono::seconds{s}), 50, 50);
  }
  REQUIRE_FALSE(d.kube.writes.empty());
  for (const auto& [t, n] : d.kube.writes) CHECK((n >= 1 && n <= 3));
  CHECK(d.kube.replicas == 3);
  for (int s = 11; s <= 80; ++s) {
    d.ready = d.kube.replicas;
    d.second(at(std::chrono::seconds{s}), 0, 0);
  }
  for (const auto& [t, n] : d.kube.writes) CHECK((n >= 1 && n <= 3));
  CHECK(d.kube.replicas == 1);
  CHECK(scale::adapter::bounded_replicas(d.controller.target().revision, 7) == 3);
  CHECK(scale::adapter::bounded_replicas(d.controller.target().revision, 0) == 1);
}

TEST_CASE("409, 429 and 5xx on a write: retried on a later step after a fresh read") {
  struct error_case {
    int code;
  };
  for (const error_case c : {error_case{409}, error_case{429}, error_case{500}, error_case{503}, error_case{0}}) {
    CAPTURE(c.code);
    driver d(proxy_target());
    d.step(at(0s));
    d.kube.set_failures = {c.code, c.code};
    d.poke(at(1500ms));
    CHECK(d.kube.writes.empty());
    CHECK(d.controller.status().api_errors == 1);
    CHECK(d.kube.events.back().reason == "FailedRescale");
    const int gets_before = d.kube.gets;
    d.second(at(2s), 1, 0);
    // Re-read first (cluster-adapter.md §6.4: do not resend blindly), then the second failure.
    CHECK(d.kube.gets == gets_before + 1);
    CHECK(d.kube.writes.empty());
    d.second(at(3s), 1, 0);
    REQUIRE(d.kube.writes.size() == 1);
    CHECK(d.kube.writes[0].second >= 1);
    CHECK(d.kube.writes[0].second <= 3);
    CHECK_FALSE(d.controller.status().stopped);
  }
}

TEST_CASE("404 stops the target and drops its state, 403 is logged loudly with verb and resource") {
  driver gone(proxy_target());
  gone.step(at(0s));
  gone.kube.set_failures = {404};
  gone.poke(at(1s));
  CHECK(gone.controller.status().stopped);
  CHECK(gone.controller.policy() == nullptr);
  gone.second(at(2s), 1, 1);
  CHECK(gone.kube.writes.empty());
  CHECK(gone.lines.back() == "default/hello: patch deployments/scale failed: patch failed 404; target deleted, "
                             "controller stopped");

  driver denied(proxy_target());
  denied.kube.get_failures = {403};
  denied.step(at(0s));
  CHECK(denied.controller.policy() == nullptr);
  CHECK(denied.lines.back() == "default/hello: FORBIDDEN: the adapter may not get deployments/scale in namespace : "
                               "get failed 403");
  denied.step(at(1s));
  REQUIRE(denied.controller.policy() != nullptr);
  CHECK(denied.controller.status().scale_known);
}

TEST_CASE("a non-leader decides but never writes") {
  driver d(proxy_target());
  d.step(at(0s));
  d.controller.on_requests(at(1s));
  d.controller.on_stat(at(1s), pod_stat{1, 0, 1, 0}, true);
  d.controller.step(at(1s), step_input{.pods = {}, .leading = false});
  CHECK(d.kube.writes.empty());
  CHECK(d.controller.status().desired >= 1);
  d.controller.step(at(2s), step_input{.pods = {}, .leading = true});
  CHECK(d.kube.writes.size() == 1);
}
