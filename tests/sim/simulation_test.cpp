#include "sim/simulation.hpp"

#include <doctest/doctest.h>

#include <libscale/hpa_policy.hpp>
#include <libscale/hybrid_histogram_policy.hpp>
#include <libscale/keepalive_policy.hpp>
#include <libscale/kpa_policy.hpp>
#include <libscale/oracle_policy.hpp>

#include <boost/random/exponential_distribution.hpp>

#include <algorithm>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using scale::at;
using scale::duration;
using scale::time_point;
using scale::sim::arrival;
using scale::sim::arrival_source;
using scale::sim::closed_loop_phase;
using scale::sim::closed_loop_workload;
using scale::sim::function_result;
using scale::sim::service_event;
using scale::sim::simulation_config;
using scale::sim::start_state;
using scale::sim::timeline_row;

/// Arrivals from a list.
class list_source final : public arrival_source {
 public:
  explicit list_source(std::vector<arrival> arrivals) : arrivals_(std::move(arrivals)) {}
  std::optional<arrival> next() override {
    if (next_ == arrivals_.size()) return std::nullopt;
    return arrivals_[next_++];
  }

 private:
  std::vector<arrival> arrivals_;
  std::size_t next_ = 0;
};

/// One arrival every `gap` in [first, end), each with service time `service`; generated on demand.
class periodic_source final : public arrival_source {
 public:
  periodic_source(time_point first, time_point end, duration gap, duration service)
      : next_(first), end_(end), gap_(gap), service_(service) {}
  std::optional<arrival> next() override {
    if (next_ >= end_) return std::nullopt;
    const arrival a{next_, service_};
    next_ += gap_;
    return a;
  }

 private:
  time_point next_;
  time_point end_;
  duration gap_;
  duration service_;
};

/// Poisson arrivals at `rate_per_s` until `end`, exponential service times with mean `mean_service`.
class poisson_source final : public arrival_source {
 public:
  poisson_source(std::uint64_t seed, double rate_per_s, time_point end, duration mean_service)
      : rng_(seed), gap_(rate_per_s), service_(1.0 / std::chrono::duration<double>(mean_service).count()), end_(end) {}
  std::optional<arrival> next() override {
    now_ += std::chrono::duration_cast<duration>(std::chrono::duration<double>(gap_(rng_)));
    if (now_ >= end_) return std::nullopt;
    return arrival{now_, std::chrono::duration_cast<duration>(std::chrono::duration<double>(service_(rng_)))};
  }

 private:
  std::mt19937_64 rng_;
  boost::random::exponential_distribution<double> gap_;
  boost::random::exponential_distribution<double> service_;
  time_point end_;
  time_point now_{};
};

scale::sim::duration_sampler constant(duration d) {
  return [d](std::mt19937_64&) { return d; };
}

/// Knative's defaults, a constant cold start.
simulation_config defaults_with_cold_start(duration cold) {
  simulation_config c;
  c.cold_start = constant(cold);
  return c;
}

double seconds(duration d) { return std::chrono::duration<double>(d).count(); }

struct run_output {
  function_result result;
  std::vector<timeline_row> rows;
};

run_output run(arrival_source& source, const simulation_config& config, std::uint64_t seed = 1) {
  run_output out;
  out.result = scale::sim::simulate(source, config, seed, [&](const timeline_row& r) { out.rows.push_back(r); });
  return out;
}

const timeline_row* row_at(const std::vector<timeline_row>& rows, duration t) {
  for (const auto& r : rows) {
    if (r.time == at(t)) return &r;
  }
  return nullptr;
}

bool same_rows(const timeline_row& a, const timeline_row& b) {
  return a.time == b.time && a.ready_pods == b.ready_pods && a.desired_pods == b.desired_pods &&
         a.panic_mode == b.panic_mode && a.observed_stable == b.observed_stable &&
         a.observed_panic == b.observed_panic && a.in_flight == b.in_flight &&
         a.activator_queue == b.activator_queue && a.excess_burst_capacity == b.excess_burst_capacity &&
         a.activator_in_path == b.activator_in_path;
}

void check_same_result(const function_result& a, const function_result& b) {
  CHECK(a.requests == b.requests);
  CHECK(a.completed == b.completed);
  CHECK(a.failed == b.failed);
  CHECK(a.cold_starts == b.cold_starts);
  CHECK(a.latency.count() == b.latency.count());
  CHECK(a.latency.mean_ms() == b.latency.mean_ms());
  CHECK(a.latency.max_ms() == b.latency.max_ms());
  CHECK(a.latency.quantile_ms(0.5) == b.latency.quantile_ms(0.5));
  CHECK(a.latency.quantile_ms(0.99) == b.latency.quantile_ms(0.99));
  CHECK(a.queueing.count() == b.queueing.count());
  CHECK(a.queueing.mean_ms() == b.queueing.mean_ms());
  CHECK(a.pod_seconds == b.pod_seconds);
  CHECK(a.idle_pod_seconds == b.idle_pod_seconds);
  CHECK(a.peak_pods == b.peak_pods);
  CHECK(a.scale_events == b.scale_events);
  CHECK(a.time_at_zero_s == b.time_at_zero_s);
  CHECK(a.simulated_s == b.simulated_s);
}

void check_same_rows(const std::vector<timeline_row>& a, const std::vector<timeline_row>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CAPTURE(i);
    CAPTURE(seconds(a[i].time.time_since_epoch()));
    CHECK(same_rows(a[i], b[i]));
  }
}

}  // namespace

TEST_CASE("make_kpa_spec and scale_floor follow the resolved revision") {
  simulation_config c;
  c.revision.min_scale = 2;
  c.revision.max_scale = 9;
  c.revision.initial_scale = 3;
  c.revision.stable_window = 90s;
  c.revision.scale_to_zero_grace_period = 20s;
  c.revision.pod_retention = 5s;
  c.revision.target_burst_capacity = -1;
  c.revision.total_value = 10;
  c.revision.activator_capacity = 50;
  c.progress_deadline = 120s;
  const scale::kpa_spec s = scale::sim::make_kpa_spec(c);
  CHECK(s.min_scale == 2);
  CHECK(s.max_scale == 9);
  CHECK(s.initial_scale == 3);
  CHECK(s.enable_scale_to_zero);
  CHECK(s.reachable);
  CHECK(s.stable_window == 90s);
  CHECK(s.scale_to_zero_grace_period == 20s);
  CHECK(s.scale_to_zero_pod_retention == 5s);
  CHECK(s.progress_deadline == 120s);
  CHECK(s.target_burst_capacity == -1);
  CHECK(s.total_value == 10);
  CHECK(s.activator_capacity == 50);

  struct test_case {
    bool enable_scale_to_zero;
    std::int32_t min_scale;
    std::int32_t want;
  };
  const test_case cases[] = {{true, 0, 0}, {true, 3, 3}, {false, 0, 1}, {false, 4, 4}};
  for (const auto& t : cases) {
    CAPTURE(t.enable_scale_to_zero);
    CAPTURE(t.min_scale);
    scale::revision_autoscaling r;
    r.enable_scale_to_zero = t.enable_scale_to_zero;
    r.min_scale = t.min_scale;
    CHECK(scale::sim::scale_floor(r) == t.want);
  }
}

TEST_CASE("no arrivals: an idle service at its floor ends at time 0") {
  list_source none({});
  const auto idle = run(none, defaults_with_cold_start(2s));
  CHECK(idle.result.requests == 0);
  CHECK(idle.result.simulated_s == 0);
  CHECK(idle.result.pod_seconds == 0);
  CHECK(idle.rows.empty());
}

TEST_CASE("one request to an idle service: one cold start, latency = cold start + service, zero after 94 s") {
  // Defaults (target 70, TBC 211, stable window 60 s, grace 30 s, drain quiet period 30 s), cold start 2 s;
  // one request at 0.5 s with 1 s of service.
  //  0.5  the activator pushes {concurrency 1} into bucket 0 and pokes the decider (desired 0 → 1): pod created.
  //  1    activator report: 1 − 1 (the push taken back) = 0 into bucket 1.
  //  2    report 1 (request still waiting) into bucket 2; tick: stable (1+0+1)/3 = 0.666667 → desired 1.
  //  2.5  pod ready (0.5 + 2): the request is forwarded; the PA goes Active.
  //  3    report 1 into bucket 3; the pod's proxied load is subtracted (records 0).
  //  3.5  done: latency 3 s (2 s waiting, 1 s service).
  //  4    report 0.5 into bucket 4; 5: report 0, the activator forgets the revision; the scraper writes zeros.
  //  62   the window holds buckets 3..62: (1 + 0.5) / 60 = 0.025 → still 1 pod.
  //  64   bucket 4 left the window: desired 0. The PA has been Active 61.5 s ≥ 60 s: Inactive; the SKS has been
  //       in Proxy mode all along (1 × 100 − 211 < 0), so the fast path applies 0 in the same reconcile.
  //  94   the pod, draining since 64 with nothing in flight, is gone after the 30 s quiet period.
  list_source one({arrival{at(500ms), 1s}});
  const auto out = run(one, defaults_with_cold_start(2s));
  const function_result& r = out.result;
  CHECK(r.requests == 1);
  CHECK(r.completed == 1);
  CHECK(r.failed == 0);
  CHECK(r.cold_starts == 1);
  CHECK(r.latency.count() == 1);
  CHECK(r.latency.max_ms() == doctest::Approx(3000));
  CHECK(r.queueing.max_ms() == doctest::Approx(2000));
  CHECK(r.pod_seconds == doctest::Approx(93.5));        // 0.5 → 94
  CHECK(r.idle_pod_seconds == doctest::Approx(92.5));   // all but the 1 s of service
  CHECK(r.peak_pods == 1);
  CHECK(r.scale_events == 2);                           // 0 → 1 at 0.5 s, 1 → 0 at 64 s
  CHECK(r.time_at_zero_s == doctest::Approx(0.5));
  CHECK(r.simulated_s == doctest::Approx(94));

  // Rows every 2 s until the end (the pod is gone at 94 s, before that tick).
  REQUIRE(out.rows.size() == 46);
  CHECK(out.rows.front().time == at(2s));
  CHECK(out.rows.back().time == at(92s));
  const timeline_row* t2 = row_at(out.rows, 2s);
  REQUIRE(t2 != nullptr);
  CHECK(t2->ready_pods == 0);
  CHECK(t2->desired_pods == 1);
  CHECK(t2->observed_stable == doctest::Approx(0.666667));
  CHECK(t2->activator_queue == 1);
  CHECK(t2->in_flight == 0);
  CHECK(t2->activator_in_path);
  CHECK(t2->excess_burst_capacity == -212);  // floor(0 × 100 − 211 − 0.666667)
  const timeline_row* t4 = row_at(out.rows, 4s);
  REQUIRE(t4 != nullptr);
  CHECK(t4->ready_pods == 1);
  CHECK(t4->observed_stable == doctest::Approx(0.7));  // (1 + 0 + 1 + 1 + 0.5) / 5
  CHECK(row_at(out.rows, 62s)->desired_pods == 1);
  CHECK(row_at(out.rows, 62s)->observed_stable == doctest::Approx(0.025));
  CHECK(row_at(out.rows, 64s)->desired_pods == 0);
  CHECK(row_at(out.rows, 64s)->ready_pods == 1);  // the decider's input; the pod drains right after
  CHECK(row_at(out.rows, 66s)->ready_pods == 0);
}

TEST_CASE("no traffic after deployment: zero at the time the KPA's gates predict (spec §8.1)") {
  struct test_case {
    const char* name;
    std::int32_t initial_scale;
    double target_burst_capacity;
    double zero_applied_s;
    double pod_seconds;
    std::uint64_t scale_events;
  };
  const test_case cases[] = {
      // Initial scale 3, TBC 211. At 2 s the decider says 1 (rate limit ⌊3/2⌋) and two pods drain (gone at 32 s);
      // at 4 s it says 0, but the PA has been Active for only 4 s: hold 1 pod and requeue at 60 s. From 4 s the SKS
      // is in Proxy mode (EBC 100 − 211 < 0). At 60 s: Active 60 s → Inactive, and the activator has been in the
      // path for 56 s ≥ 30 s → 0 at once. The last pod is gone at 90 s. Pod-seconds: 32 + 32 + 90.
      {"active gate, fast path", 3, 211, 60, 154, 2},
      // Initial scale 1, TBC 0 (Serve whenever the want is positive). At 2 s desired 0: Active 2 s < 60 s → hold 1,
      // requeue at 60 s, SKS → Serve. At 60 s: Inactive, SKS → Proxy (activator in the path from now), requeue
      // after the 30 s grace period. At 90 s: Inactive for 30 s → 0. Gone at 120 s.
      {"grace period", 1, 0, 90, 120, 1},
  };
  for (const auto& t : cases) {
    const std::string name = t.name;
    CAPTURE(name);
    simulation_config c = defaults_with_cold_start(2s);
    c.start = start_state::deployed;
    c.revision.initial_scale = t.initial_scale;
    c.revision.target_burst_capacity = t.target_burst_capacity;
    list_source none({});
    const auto out = run(none, c);
    CHECK(out.result.simulated_s == doctest::Approx(t.zero_applied_s + 30));
    CHECK(out.result.pod_seconds == doctest::Approx(t.pod_seconds));
    CHECK(out.result.idle_pod_seconds == doctest::Approx(t.pod_seconds));
    CHECK(out.result.peak_pods == t.initial_scale);
    CHECK(out.result.scale_events == t.scale_events);
    CHECK(out.result.time_at_zero_s == 0);
    // The desired count the decider reports: 0 from 4 s (or 2 s) on; the last ready pod leaves at zero_applied_s.
    const auto* before = row_at(out.rows, std::chrono::duration_cast<duration>(std::chrono::duration<double>(t.zero_applied_s - 2)));
    const auto* after = row_at(out.rows, std::chrono::duration_cast<duration>(std::chrono::duration<double>(t.zero_applied_s + 2)));
    REQUIRE(before != nullptr);
    REQUIRE(after != nullptr);
    CHECK(before->ready_pods == 1);
    CHECK(after->ready_pods == 0);
    CHECK(before->desired_pods == 0);
  }
}

TEST_CASE("a steady load at 10 × the target settles at 10 pods") {
  // One request every 10 ms, 7 s each: 100 req/s × 7 s = 700 in flight (Little's law), 10 × the per-pod target
  // of 70. From zero the panic overshoots (11 pods); once panic ends (a stable window after the last
  // over-threshold tick) the stable average 700 asks for ceil(700 / 70) = 10, and round robin keeps every pod at
  // exactly 70 so the extrapolated sample agrees.
  simulation_config c = defaults_with_cold_start(2s);
  c.until = 400s;
  periodic_source load(at(0s), at(400s), 10ms, 7s);
  const auto out = run(load, c);
  int checked = 0;
  for (const auto& row : out.rows) {
    if (row.time < at(200s)) continue;
    CAPTURE(seconds(row.time.time_since_epoch()));
    CHECK(row.ready_pods == 10);
    CHECK(row.desired_pods == 10);
    CHECK_FALSE(row.panic_mode);
    CHECK(row.observed_stable == doctest::Approx(700));
    CHECK_FALSE(row.activator_in_path);  // EBC = 10 × 100 − 211 − 700 = 89 ≥ 0: Serve mode
    CHECK(row.excess_burst_capacity == 89);
    ++checked;
  }
  CHECK(checked == 101);  // 200, 202, ..., 400
  CHECK(out.result.simulated_s == 400);
  CHECK(out.result.requests == 40000);
  CHECK(out.result.failed == 0);
  // Requests still in service at the hard stop are neither completed nor failed.
  CHECK(out.result.completed == 40000 - 699);
}

TEST_CASE("container concurrency is never exceeded, and every request is accounted for") {
  struct test_case {
    const char* name;
    std::int32_t container_concurrency;
    double target_burst_capacity;
    std::int32_t max_scale;
    duration revision_timeout;
    bool fails;
  };
  const test_case cases[] = {
      {"cc 1, default tbc", 1, 211, 0, 300s, false},
      // Serve mode as soon as one pod is up: 20 req/s × 0.4 s = 8 in flight hit a pod that takes 2, and
      // queue-proxy's breaker (2 + 10 × 2 places) rejects the overflow until more pods are ready.
      {"cc 2, serve mode (tbc 0)", 2, 0, 0, 300s, true},
      {"cc 3, activator always (tbc -1)", 3, -1, 0, 300s, false},
      {"cc 2, capped at 2 pods, short timeout", 2, 211, 2, 5s, true},
      {"cc 2, tbc 0, capped, short timeout", 2, 0, 2, 5s, true},
  };
  for (const auto& t : cases) {
    const std::string name = t.name;
    CAPTURE(name);
    simulation_config c = defaults_with_cold_start(1500ms);
    c.container_concurrency = t.container_concurrency;
    c.revision.container_concurrency = t.container_concurrency;
    c.revision.total_value = t.container_concurrency;
    c.revision.target_value = 0.7 * t.container_concurrency;
    c.revision.target_burst_capacity = t.target_burst_capacity;
    c.revision.max_scale = t.max_scale;
    c.revision_timeout = t.revision_timeout;
    std::map<std::uint32_t, std::int32_t> in_service;  // by pod slot
    std::int64_t violations = 0;
    std::int64_t starts = 0;
    std::int64_t ends = 0;
    c.service_observer = [&](const service_event& e) {
      std::int32_t& n = in_service[e.pod];
      n += e.started ? 1 : -1;
      if (n != e.in_service || n < 0 || n > t.container_concurrency) ++violations;
      ++(e.started ? starts : ends);
    };
    poisson_source load(7, 20, at(120s), 400ms);
    const auto out = run(load, c);
    CHECK(violations == 0);
    CHECK(starts == ends);
    CHECK(out.result.requests > 2000);
    CHECK(out.result.requests == out.result.completed + out.result.failed);
    CHECK(static_cast<std::int64_t>(out.result.completed) == ends);
    CHECK(out.result.latency.count() == out.result.completed);
    CHECK(out.result.queueing.count() == out.result.completed);
    CHECK(out.result.cold_starts <= out.result.completed);
    CHECK(out.result.idle_pod_seconds <= out.result.pod_seconds);
    CHECK(out.result.time_at_zero_s <= out.result.simulated_s);
    if (t.max_scale > 0) CHECK(out.result.peak_pods <= t.max_scale + 0);
    CHECK((out.result.failed > 0) == t.fails);
  }
}

TEST_CASE("requests still waiting at the revision timeout fail") {
  // One pod at most, CC 1, timeout 10 s, cold start 2 s; five 4 s requests at t = 0.
  // The poke asks for ceil(1 / 0.7) = 2 pods, max-scale caps it at 1, ready at 2 s.
  // Request 1 is served 2..6 s (latency 6 s), request 2 6..10 s (latency 10 s); at 10 s requests 3, 4 and 5
  // have waited the whole timeout and fail.
  simulation_config c = defaults_with_cold_start(2s);
  c.container_concurrency = 1;
  c.revision.container_concurrency = 1;
  c.revision.total_value = 1;
  c.revision.target_value = 0.7;
  c.revision.max_scale = 1;
  c.revision_timeout = 10s;
  std::vector<arrival> five(5, arrival{at(0s), 4s});
  list_source load(five);
  const auto out = run(load, c);
  CHECK(out.result.requests == 5);
  CHECK(out.result.completed == 2);
  CHECK(out.result.failed == 3);
  CHECK(out.result.cold_starts == 2);  // both waited for the pod that was starting when they arrived
  CHECK(out.result.latency.min_ms() == doctest::Approx(6000));
  CHECK(out.result.latency.max_ms() == doctest::Approx(10000));
  CHECK(out.result.queueing.max_ms() == doctest::Approx(6000));
  CHECK(out.result.peak_pods == 1);
}

TEST_CASE("skipping idle ticks gives the same result and timeline as ticking through") {
  // Bursts separated by long silences: the service scales to zero in between, and the windows empty out.
  std::vector<arrival> bursts;
  for (const double start_s : {0.5, 1.2, 300.0, 300.25, 1000.3, 5000.0}) {
    for (int i = 0; i < 40; ++i) {
      bursts.push_back(arrival{at(std::chrono::duration_cast<duration>(std::chrono::duration<double>(start_s + i * 0.05))),
                               std::chrono::milliseconds{200 + 37 * (i % 5)}});
    }
  }
  std::sort(bursts.begin(), bursts.end(), [](const arrival& a, const arrival& b) { return a.time < b.time; });
  struct test_case {
    const char* name;
    double target_burst_capacity;
    std::optional<duration> until;
    start_state start;
    duration retention;
  };
  const test_case cases[] = {
      {"defaults", 211, std::nullopt, start_state::idle, 0s},
      {"tbc -1 (no scraper)", -1, std::nullopt, start_state::idle, 0s},
      {"tbc 0", 0, std::nullopt, start_state::idle, 0s},
      {"until past the end", 211, 7000s, start_state::idle, 0s},
      {"until mid-silence", -1, 4001s, start_state::deployed, 0s},
      {"retention 90 s", 211, std::nullopt, start_state::deployed, 90s},
  };
  for (const auto& t : cases) {
    const std::string name = t.name;
    CAPTURE(name);
    simulation_config c = defaults_with_cold_start(2500ms);
    c.revision.target_burst_capacity = t.target_burst_capacity;
    c.revision.pod_retention = t.retention;
    c.until = t.until;
    c.start = t.start;
    c.skip_idle_ticks = true;
    list_source a(bursts);
    const auto skipped = run(a, c);
    c.skip_idle_ticks = false;
    list_source b(bursts);
    const auto ticked = run(b, c);
    check_same_result(skipped.result, ticked.result);
    check_same_rows(skipped.rows, ticked.rows);
    CHECK(skipped.result.requests == (t.until == 4001s ? 200 : 240));
    CHECK(skipped.result.cold_starts > 0);
    CHECK(skipped.result.time_at_zero_s > 3000);
    // Rows every 2 s from 2 s to the end, silences included (the end's own tick only with a hard stop).
    const auto end = at(std::chrono::duration_cast<duration>(std::chrono::duration<double>(skipped.result.simulated_s)));
    for (std::size_t i = 0; i < skipped.rows.size(); ++i) REQUIRE(skipped.rows[i].time == at(2s * static_cast<std::int64_t>(i + 1)));
    REQUIRE_FALSE(skipped.rows.empty());
    if (t.until) {
      CHECK(skipped.rows.back().time + 2s > end);
    } else {
      CHECK(skipped.rows.back().time < end);
      CHECK(skipped.rows.back().time + 2s >= end);
    }
  }
}

TEST_CASE("the same seed gives the same run — another seed another one") {
  simulation_config c;
  c.cold_start = [](std::mt19937_64& rng) {
    boost::random::exponential_distribution<double> d(1.0 / 3.0);
    return std::chrono::duration_cast<duration>(std::chrono::duration<double>(d(rng)));
  };
  c.container_concurrency = 4;
  c.revision.total_value = 4;
  c.revision.target_value = 2.8;
  const auto once = [&](std::uint64_t seed) {
    poisson_source load(99, 15, at(200s), 300ms);
    return run(load, c, seed);
  };
  const auto a = once(5);
  const auto b = once(5);
  check_same_result(a.result, b.result);
  check_same_rows(a.rows, b.rows);
  const auto other = once(6);
  CHECK(other.result.pod_seconds != a.result.pod_seconds);
}

TEST_CASE("closed loop: one user, 1 s requests, no think time") {
  // Idle start, cold start 2 s: the first request (sent at 0) completes at 3 s, then one request a second.
  // Sent at 0, 3, 4, ..., 99: 98 requests, all complete (the last at 100 s, as the phase ends).
  closed_loop_workload w;
  w.phases = {closed_loop_phase{1, 100s}};
  w.service_time = constant(1s);
  simulation_config c = defaults_with_cold_start(2s);
  std::vector<timeline_row> rows;
  const auto r = scale::sim::simulate_closed_loop(w, c, 1, [&](const timeline_row& row) { rows.push_back(row); });
  CHECK(r.requests == 98);
  CHECK(r.completed == 98);
  CHECK(r.failed == 0);
  CHECK(r.cold_starts == 1);
  CHECK(r.latency.max_ms() == doctest::Approx(3000));
  CHECK(r.latency.min_ms() == doctest::Approx(1000));
  CHECK(r.peak_pods == 1);
  REQUIRE(row_at(rows, 50s) != nullptr);
  CHECK(row_at(rows, 50s)->in_flight == 1);
}

TEST_CASE("closed loop: users join and leave at phase boundaries") {
  // A deployed pod with unlimited concurrency serves every request at once in exactly 1 s.
  // [0, 10): 2 users × 10 requests; [10, 20): 4 users × 10; [20, 30): users 1..3 leave, user 0 sends 10.
  closed_loop_workload w;
  w.phases = {closed_loop_phase{2, 10s}, closed_loop_phase{4, 10s}, closed_loop_phase{1, 10s}};
  w.service_time = constant(1s);
  simulation_config c = defaults_with_cold_start(2s);
  c.start = start_state::deployed;
  const auto r = scale::sim::simulate_closed_loop(w, c, 1);
  CHECK(r.requests == 70);
  CHECK(r.completed == 70);
  CHECK(r.cold_starts == 0);
  CHECK(r.latency.max_ms() == doctest::Approx(1000));
  CHECK(r.latency.min_ms() == doctest::Approx(1000));

  // Think time 1 s halves the rate: each user sends at 0, 2, 4, 6, 8 in the first phase.
  w.think_time = constant(1s);
  const auto slow = scale::sim::simulate_closed_loop(w, c, 1);
  CHECK(slow.requests == 35);
  CHECK(slow.completed == 35);
}

TEST_CASE("pod creation rate limit: a token bucket of one second's worth") {
  // Idle start with min-scale 5: the first reconcile asks for 5 pods; default cold start 3 s; the run ends when
  // all 5 are ready.
  struct test_case {
    double rate_per_s;
    double end_s;
    double pod_seconds;
  };
  const test_case cases[] = {
      // Unlimited: all created at 0, ready at 3.
      {0, 3, 15},
      // 1/s, burst 1: created at 0, 1, 2, 3, 4; ready at 3..7; 7 + 6 + 5 + 4 + 3 = 25.
      {1, 7, 25},
      // 2.5/s, burst 2, one token per 0.4 s: created at 0, 0, 0.4, 0.8, 1.2; 4.2 × 2 + 3.8 + 3.4 + 3 = 18.6.
      {2.5, 4.2, 18.6},
  };
  for (const auto& t : cases) {
    CAPTURE(t.rate_per_s);
    simulation_config c;
    c.revision.min_scale = 5;
    c.pod_creation_rate_per_s = t.rate_per_s;
    list_source none({});
    const auto out = run(none, c);
    CHECK(out.result.simulated_s == doctest::Approx(t.end_s));
    CHECK(out.result.pod_seconds == doctest::Approx(t.pod_seconds));
    CHECK(out.result.peak_pods == 5);
    CHECK(out.result.scale_events == 1);
    CHECK(out.result.time_at_zero_s == 0);
  }
}

TEST_CASE("closed loop: a failed request is retried after the backoff, not at the same instant") {
  // One pod at most with CC 1 and a 0.5 s timeout; 3 users with 1 s requests and no think time. The pod is
  // ready at 2 s; whoever waits 0.5 s fails and retries 1 s later.
  closed_loop_workload w;
  w.phases = {closed_loop_phase{3, 20s}};
  w.service_time = constant(1s);
  simulation_config c = defaults_with_cold_start(2s);
  c.container_concurrency = 1;
  c.revision.total_value = 1;
  c.revision.target_value = 0.7;
  c.revision.max_scale = 1;
  c.revision_timeout = 500ms;
  const auto r = scale::sim::simulate_closed_loop(w, c, 1);
  CHECK(r.requests == r.completed + r.failed);
  CHECK(r.failed > 0);
  CHECK(r.completed > 0);
  // At most one request per second per user: 3 users × 20 s.
  CHECK(r.requests <= 60);
  // The first three requests (sent at 0) wait for the cold start and fail at 0.5 s.
  CHECK(r.failed >= 3);
}

TEST_CASE("serve mode: queue-proxy queues up to 10 x CC behind the pod and rejects the rest") {
  // Deployed with one pod, TBC 0, CC 1, max-scale 1. At 2 s the decider says 0 (no load), the PA has been Active
  // for 2 s < 60 s so the KPA holds 1 pod, and with EBC 0 (TBC 0) the SKS goes to Serve. At 3 s, 15 requests of
  // 1 s arrive straight at the pod: 1 in service, 10 in queue-proxy's queue, 4 rejected. They are served one
  // after the other: latencies 1, 2, ..., 11 s.
  simulation_config c = defaults_with_cold_start(2s);
  c.start = start_state::deployed;
  c.container_concurrency = 1;
  c.revision.container_concurrency = 1;
  c.revision.total_value = 1;
  c.revision.target_value = 0.7;
  c.revision.max_scale = 1;
  c.revision.target_burst_capacity = 0;
  std::vector<arrival> burst(15, arrival{at(3s), 1s});
  list_source load(burst);
  const auto out = run(load, c);
  CHECK(out.result.requests == 15);
  CHECK(out.result.completed == 11);
  CHECK(out.result.failed == 4);
  CHECK(out.result.cold_starts == 0);
  CHECK(out.result.latency.min_ms() == doctest::Approx(1000));
  CHECK(out.result.latency.max_ms() == doctest::Approx(11000));
  CHECK(out.result.latency.mean_ms() == doctest::Approx(6000));  // (1 + ... + 11) / 11
  CHECK(out.result.queueing.max_ms() == doctest::Approx(10000));
  const timeline_row* t4 = row_at(out.rows, 4s);
  REQUIRE(t4 != nullptr);
  CHECK_FALSE(t4->activator_in_path);
  CHECK(t4->in_flight == 10);  // 1 in service + 9 queued at 4 s
  CHECK(t4->activator_queue == 0);
}

// ---- simulate_cluster ----------------------------------------------------------------------------------------

namespace {

using scale::sim::cluster_function;

struct cluster_output {
  std::vector<function_result> results;
  std::vector<std::vector<timeline_row>> rows;
};

/// Runs `sources` as one cluster, function i with seed `seeds[i]`, keeping every timeline.
cluster_output run_cluster(const std::vector<arrival_source*>& sources, const simulation_config& config,
                           const std::vector<std::uint64_t>& seeds) {
  cluster_output out;
  out.rows.resize(sources.size());
  std::vector<cluster_function> functions;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    functions.push_back(cluster_function{
        .arrivals = sources[i],
        .seed = seeds[i],
        .timeline = [&rows = out.rows[i]](const timeline_row& r) { rows.push_back(r); }});
  }
  out.results = scale::sim::simulate_cluster(functions, config);
  return out;
}

time_point at_s(double s) { return at(std::chrono::duration_cast<duration>(std::chrono::duration<double>(s))); }

}  // namespace

TEST_CASE("simulate_cluster with rate 0 gives each function exactly its lone run, timeline included") {
  // Without a creation limit the functions do not interact: interleaving their events in one loop must change
  // nothing, whatever the load (bursts, steady Poisson, none) and the options.
  std::vector<arrival> bursts;
  for (const double start_s : {0.5, 300.0, 1000.3}) {
    for (int i = 0; i < 40; ++i) bursts.push_back(arrival{at_s(start_s + i * 0.05), std::chrono::milliseconds{200}});
  }
  struct test_case {
    const char* name;
    std::int32_t container_concurrency;
    std::optional<duration> until;
    start_state start;
  };
  const test_case cases[] = {
      {"defaults", 0, std::nullopt, start_state::idle},
      {"cc 2, deployed", 2, std::nullopt, start_state::deployed},
      {"until 400 s", 0, 400s, start_state::idle},
  };
  for (const auto& t : cases) {
    const std::string name = t.name;
    CAPTURE(name);
    simulation_config c;
    c.cold_start = [](std::mt19937_64& rng) {
      boost::random::exponential_distribution<double> d(1.0 / 3.0);
      return std::chrono::duration_cast<duration>(std::chrono::duration<double>(d(rng)));
    };
    c.container_concurrency = t.container_concurrency;
    if (t.container_concurrency > 0) {
      c.revision.total_value = t.container_concurrency;
      c.revision.target_value = 0.7 * t.container_concurrency;
    }
    c.until = t.until;
    c.start = t.start;
    const std::vector<std::uint64_t> seeds = {11, 12, 13, 14};
    // Four fresh sources each time: bursts, two Poisson loads, nothing.
    const auto make = [&] {
      std::vector<std::unique_ptr<arrival_source>> s;
      s.push_back(std::make_unique<list_source>(bursts));
      s.push_back(std::make_unique<poisson_source>(7, 20, at(300s), 150ms));
      s.push_back(std::make_unique<poisson_source>(8, 0.2, at(900s), 1s));
      s.push_back(std::make_unique<list_source>(std::vector<arrival>{}));
      return s;
    };
    auto cluster_sources = make();
    std::vector<arrival_source*> pointers;
    for (auto& s : cluster_sources) pointers.push_back(s.get());
    const cluster_output cluster = run_cluster(pointers, c, seeds);
    REQUIRE(cluster.results.size() == 4);
    auto lone_sources = make();
    for (std::size_t i = 0; i < 4; ++i) {
      CAPTURE(i);
      const run_output lone = run(*lone_sources[i], c, seeds[i]);
      check_same_result(cluster.results[i], lone.result);
      check_same_rows(cluster.rows[i], lone.rows);
      CHECK(cluster.results[i].id.empty());
    }
    CHECK(cluster.results[0].requests == (t.until ? 80 : 120));
  }
  CHECK(scale::sim::simulate_cluster({}, simulation_config{}).empty());
}

TEST_CASE("simulate_cluster with a single function is its lone run, rate limit included") {
  // One function has the bucket to itself, as in `simulate`: the same creations at the same times.
  struct test_case {
    double rate_per_s;
    std::int32_t min_scale;
  };
  const test_case cases[] = {{1, 5}, {2.5, 5}, {0.5, 0}, {3, 0}};
  for (const auto& t : cases) {
    CAPTURE(t.rate_per_s);
    CAPTURE(t.min_scale);
    simulation_config c = defaults_with_cold_start(2s);
    c.pod_creation_rate_per_s = t.rate_per_s;
    c.revision.min_scale = t.min_scale;
    // A load that needs several pods fast (panic), so creations wait for tokens.
    poisson_source a(3, 400, at(120s), 500ms);
    const cluster_output cluster = run_cluster({&a}, c, {9});
    poisson_source b(3, 400, at(120s), 500ms);
    const run_output lone = run(b, c, 9);
    REQUIRE(cluster.results.size() == 1);
    check_same_result(cluster.results[0], lone.result);
    check_same_rows(cluster.rows[0], lone.rows);
    CHECK(lone.result.peak_pods > 2);
  }
}

TEST_CASE("cluster rate 1 pod/s: the second function's pod is created 1 s after the first's") {
  // Defaults, cold start 2 s; functions 0 and 1 each get one 1 s request at 0.5 s. The bucket holds one token
  // (1/s, burst max(1, floor(1)) = 1), full at 0.
  //  f0  0.5  the activator pokes, desired 1, the pod is asked for and takes the token (next one due at 1.5).
  //           As in the lone one-request case: ready 2.5, served 2.5-3.5 (latency 3 s, 2 s queueing), desired 0
  //           at 64 s, gone at 94 s: 93.5 pod-seconds, 92.5 idle, zero for 0.5 s, run ends at 94 s.
  //  f1  0.5  asks too (after f0: same instant, higher index) and waits for the token due at 1.5.
  //      1.5  the pod is created; ready 3.5; serves 3.5-4.5: latency 4 s, 3 s of it queueing.
  //           Its request is then exactly that of a lone run with a 3 s cold start (asked at 0.5, ready 3.5), so
  //           everything but the pod's creation time matches that run: the activator reports 1 for buckets
  //           2..4 and 0.5 for bucket 5 (the request ends at 4.5); at 64 s the 60 s window (buckets 5..64)
  //           still holds 0.5 → 1 pod; at 66 s it is empty → desired 0. The PA has been Active since 3.5
  //           (62.5 s ≥ 60 s) and the activator in the path all along, so the pod is deleted at 66 s and gone
  //           after the 30 s drain, at 96 s: 96 − 1.5 = 94.5 pod-seconds, 93.5 idle (1 s of service); the
  //           function had no pod for its first 1.5 s.
  simulation_config c = defaults_with_cold_start(2s);
  c.pod_creation_rate_per_s = 1;
  list_source f0({arrival{at(500ms), 1s}});
  list_source f1({arrival{at(500ms), 1s}});
  const cluster_output out = run_cluster({&f0, &f1}, c, {1, 2});
  REQUIRE(out.results.size() == 2);
  const function_result& r0 = out.results[0];
  const function_result& r1 = out.results[1];
  CHECK(r0.cold_starts == 1);
  CHECK(r0.latency.max_ms() == doctest::Approx(3000));
  CHECK(r0.queueing.max_ms() == doctest::Approx(2000));
  CHECK(r0.pod_seconds == doctest::Approx(93.5));
  CHECK(r0.idle_pod_seconds == doctest::Approx(92.5));
  CHECK(r0.time_at_zero_s == doctest::Approx(0.5));
  CHECK(r0.simulated_s == doctest::Approx(94));
  CHECK(r1.cold_starts == 1);
  CHECK(r1.latency.max_ms() == doctest::Approx(4000));
  CHECK(r1.queueing.max_ms() == doctest::Approx(3000));
  CHECK(r1.pod_seconds == doctest::Approx(94.5));
  CHECK(r1.idle_pod_seconds == doctest::Approx(93.5));
  CHECK(r1.time_at_zero_s == doctest::Approx(1.5));
  CHECK(r1.simulated_s == doctest::Approx(96));
  CHECK(r1.scale_events == 2);
  CHECK(row_at(out.rows[1], 64s)->desired_pods == 1);
  CHECK(row_at(out.rows[1], 66s)->desired_pods == 0);

  // The lone run with a 3 s cold start: the same request timeline, its pod created 1 s earlier.
  list_source solo({arrival{at(500ms), 1s}});
  const run_output lone = run(solo, defaults_with_cold_start(3s), 2);
  CHECK(lone.result.latency.max_ms() == doctest::Approx(4000));
  CHECK(lone.result.pod_seconds == doctest::Approx(95.5));
  CHECK(lone.result.simulated_s == doctest::Approx(96));
  check_same_rows(out.rows[1], lone.rows);

  // Each function alone (or the cluster without a limit) gets its pod at 0.5 s: both latencies 3 s.
  c.pod_creation_rate_per_s = 0;
  list_source g0({arrival{at(500ms), 1s}});
  list_source g1({arrival{at(500ms), 1s}});
  const cluster_output free = run_cluster({&g0, &g1}, c, {1, 2});
  CHECK(free.results[1].latency.max_ms() == doctest::Approx(3000));
  CHECK(free.results[1].pod_seconds == doctest::Approx(93.5));
}

TEST_CASE("a storm of cold starts queues first come, first served over the cluster") {
  // Idle functions, cold start 2 s, one 1 s request each; function i's request arrives at arrival_s[i]. Each
  // asks for one pod on arrival (the activator's poke). The bucket holds max(1, floor(R)) tokens, full at 0,
  // one more every 1/R s; waiting pods are created in the order they were asked for, ties by function index.
  // Latency = creation + 2 s cold start + 1 s service − arrival.
  struct test_case {
    const char* name;
    double rate_per_s;
    std::vector<double> arrival_s;
    std::vector<double> latency_s;
  };
  const test_case cases[] = {
      // 2/s: two tokens at 0.5 (f0, f1), then one every 0.5 s: created 0.5, 0.5, 1, 1.5, 2, 2.5.
      {"six at once, 2/s", 2, {0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, {3, 3, 3.5, 4, 4.5, 5}},
      // 0.5/s: one token, then one every 2 s: created 0.5, 2.5, 4.5.
      {"three at once, 0.5/s", 0.5, {0.5, 0.5, 0.5}, {3, 5, 7}},
      // 1/s, asked at 0.7 (f0), 0.5 (f1, f2), 0.6 (f3): served f1 0.5, f2 1.5, f3 2.5, f0 3.5.
      // f0: 3.5 + 3 − 0.7 = 5.8; f1: 3; f2: 1.5 + 3 − 0.5 = 4; f3: 2.5 + 3 − 0.6 = 4.9.
      {"first asked, first served, 1/s", 1, {0.7, 0.5, 0.5, 0.6}, {5.8, 3, 4, 4.9}},
      // 10/s: ten tokens at 0.5; the eleventh and twelfth come 0.1 s apart: created 0.5 ×10, 0.6, 0.7.
      {"twelve at once, 10/s", 10, std::vector<double>(12, 0.5),
       {3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3.1, 3.2}},
      // Unlimited: every pod at once.
      {"unlimited", 0, {0.5, 0.5, 0.5, 0.5}, {3, 3, 3, 3}},
  };
  for (const auto& t : cases) {
    const std::string name = t.name;
    CAPTURE(name);
    simulation_config c = defaults_with_cold_start(2s);
    c.pod_creation_rate_per_s = t.rate_per_s;
    std::vector<std::unique_ptr<list_source>> sources;
    std::vector<arrival_source*> pointers;
    std::vector<std::uint64_t> seeds;
    for (const double s : t.arrival_s) {
      sources.push_back(std::make_unique<list_source>(std::vector<arrival>{arrival{at_s(s), 1s}}));
      pointers.push_back(sources.back().get());
      seeds.push_back(seeds.size() + 1);
    }
    const cluster_output out = run_cluster(pointers, c, seeds);
    REQUIRE(out.results.size() == t.latency_s.size());
    for (std::size_t i = 0; i < t.latency_s.size(); ++i) {
      CAPTURE(i);
      const function_result& r = out.results[i];
      CHECK(r.completed == 1);
      CHECK(r.cold_starts == 1);
      CHECK(r.peak_pods == 1);
      CHECK(r.latency.max_ms() == doctest::Approx(t.latency_s[i] * 1000));
      CHECK(r.queueing.max_ms() == doctest::Approx((t.latency_s[i] - 1) * 1000));
      // No pod until its creation: latency − 3 s after the arrival.
      CHECK(r.time_at_zero_s == doctest::Approx(t.arrival_s[i] + t.latency_s[i] - 3));
    }
  }
}

TEST_CASE("a function that no longer wants its waiting pod gives its place to the next in line") {
  // 0.01 pods/s: one token, full at 0, the next at 100.5 after f0 takes it. Cold start 2 s, revision timeout
  // 10 s, progress deadline 5 s (so an activation times out after 5 + 30 = 35 s).
  //  f0  one request at 0.5: takes the token; as the lone one-request run (3 s, 93.5 pod-seconds, ends at 94).
  //  f1  one request at 0.5: first in line for the token due at 100.5. The request fails at 10.5; the last
  //      non-zero activator bucket is 11, so the decider says 0 at 72 s. The PA has been Activating since 0.5
  //      (71.5 s > 35 s), so the KPA scales to 0 and the waiting creation is cancelled: no pod ever; the run
  //      ends at 72 s.
  //  f2  requests at 0.5, 10, 20, ..., 100 (1 s each), second in line. With f1 gone it is first, and gets the
  //      token due at 100.5 (not 200.5): ready at 102.5. The ten requests up to 90 s fail after 10 s; the one
  //      at 100 is served 102.5-103.5 (latency 3.5 s). The activator's last non-zero bucket is 104, so the
  //      decider says 0 at 164 s; the PA has been Active since 102.5 (61.5 s ≥ 60 s): deleted at 164, gone
  //      at 194: 93.5 pod-seconds, at zero for its first 100.5 s.
  simulation_config c = defaults_with_cold_start(2s);
  c.pod_creation_rate_per_s = 0.01;
  c.revision_timeout = 10s;
  c.progress_deadline = 5s;
  list_source f0({arrival{at(500ms), 1s}});
  list_source f1({arrival{at(500ms), 1s}});
  std::vector<arrival> every_10s{arrival{at(500ms), 1s}};
  for (int k = 1; k <= 10; ++k) every_10s.push_back(arrival{at(10s * k), 1s});
  list_source f2(every_10s);
  const cluster_output out = run_cluster({&f0, &f1, &f2}, c, {1, 2, 3});
  REQUIRE(out.results.size() == 3);
  CHECK(out.results[0].latency.max_ms() == doctest::Approx(3000));
  CHECK(out.results[0].pod_seconds == doctest::Approx(93.5));
  const function_result& r1 = out.results[1];
  CHECK(r1.failed == 1);
  CHECK(r1.peak_pods == 0);
  CHECK(r1.pod_seconds == 0);
  CHECK(r1.scale_events == 2);  // 0 → 1 at 0.5 s, 1 → 0 at 72 s
  CHECK(r1.simulated_s == doctest::Approx(72));
  CHECK(row_at(out.rows[1], 70s)->desired_pods == 1);
  CHECK(row_at(out.rows[1], 72s)->desired_pods == 0);
  const function_result& r2 = out.results[2];
  CHECK(r2.requests == 11);
  CHECK(r2.completed == 1);
  CHECK(r2.failed == 10);
  CHECK(r2.cold_starts == 1);
  CHECK(r2.latency.max_ms() == doctest::Approx(3500));
  CHECK(r2.pod_seconds == doctest::Approx(93.5));
  CHECK(r2.time_at_zero_s == doctest::Approx(100.5));
  CHECK(r2.simulated_s == doctest::Approx(194));
}

// ---- scaling policies other than the built-in KPA loop (simulation_config::policy, issue #4) ------------------

namespace {

/// `policy` made afresh per function (the oracle's future ignored by the others).
template <class Make>
scale::sim::policy_setup setup_of(std::string name, Make make, bool needs_future = false) {
  return scale::sim::policy_setup{
      std::move(name),
      [make](std::span<const scale::known_request> future) { return scale::any_scaling_policy{make(future)}; },
      needs_future};
}

/// One request at a time per pod, the 3 s default cold start and 30 s drain, with `policy`.
simulation_config one_per_pod(scale::sim::policy_setup policy) {
  simulation_config c = defaults_with_cold_start(3s);
  c.container_concurrency = 1;
  c.policy = std::move(policy);
  return c;
}

scale::sim::policy_setup keepalive_of(duration idle) {
  return setup_of("keepalive", [idle](auto) { return scale::keepalive_policy{scale::keepalive_spec{idle}}; });
}

}  // namespace

TEST_CASE("fixed keep-alive: a request every 11 minutes is always cold, every 9 minutes only the first") {
  // Issue #4's hand-worked case. 1 s requests, 10 min keep-alive, 3 s cold start, 30 s drain.
  struct row {
    duration gap;
    std::int64_t cold;
    double pod_seconds;
    double idle_pod_seconds;
  };
  const row rows[] = {
      // 11 min: each request creates a pod at t (ready t+3, busy until t+4, warm until t+604, gone t+634):
      // 3 pods of 634 s = 1902 pod-seconds, 3 s of them busy.
      {11min, 3, 1902, 1899},
      // 9 min: the pod made at 0 is reused at 540 and 1080 (each within 600 s of the last end at 4 and 541);
      // warm until 1081 + 600 = 1681, gone at 1711, busy 3 s.
      {9min, 1, 1711, 1708},
  };
  for (const row& r : rows) {
    CAPTURE(seconds(r.gap));
    periodic_source source(at(0s), at(3 * r.gap - 1s), r.gap, 1s);
    const auto out = run(source, one_per_pod(keepalive_of(10min)));
    CHECK(out.result.requests == 3);
    CHECK(out.result.completed == 3);
    CHECK(out.result.cold_starts == r.cold);
    CHECK(out.result.pod_seconds == doctest::Approx(r.pod_seconds).epsilon(1e-12));
    CHECK(out.result.idle_pod_seconds == doctest::Approx(r.idle_pod_seconds).epsilon(1e-12));
    // A cold request waits the 3 s cold start, a warm one only its 1 s of service.
    CHECK(out.result.latency.max_ms() == doctest::Approx(4000).epsilon(0.01));
    CHECK(out.result.peak_pods == 1);
  }
}

TEST_CASE("oracle: no cold start, and its pod time is exactly its plan's, below every other policy's") {
  // Arrivals from 10 s on (a plan starting before time 0 would be cut at the epoch), Poisson 0.5/s for an hour.
  std::vector<arrival> arrivals;
  poisson_source poisson(7, 0.5, at(3600s), 2s);
  while (auto a = poisson.next()) {
    if (a->time >= at(10s)) arrivals.push_back(*a);
  }
  std::vector<scale::known_request> known;
  for (const arrival& a : arrivals) known.push_back({a.time, a.service_time});
  const scale::oracle_spec spec{3s, 30s};
  const auto oracle = setup_of(
      "oracle", [spec](std::span<const scale::known_request> future) { return scale::oracle_policy{future, spec}; },
      true);
  list_source source(arrivals);
  const auto out = run(source, one_per_pod(oracle));
  CHECK(out.result.requests == arrivals.size());
  CHECK(out.result.completed == arrivals.size());
  CHECK(out.result.cold_starts == 0);
  const auto plan = scale::plan_oracle(known, spec);
  CHECK(out.result.pod_seconds == doctest::Approx(seconds(scale::oracle_pod_time(plan, spec))).epsilon(1e-9));
  // Queueing never happens: each request finds its pod ready at its arrival.
  CHECK(out.result.queueing.max_ms() == 0);

  const scale::sim::policy_setup others[] = {
      keepalive_of(10min), keepalive_of(0s),
      setup_of("hpa", [](auto) { return scale::hpa_policy{scale::hpa_spec{.target = 0.7}}; }),
      setup_of("hybrid", [](auto) { return scale::hybrid_histogram_policy{}; })};
  for (const auto& other : others) {
    CAPTURE(other.name);
    list_source again(arrivals);
    const auto o = run(again, one_per_pod(other));
    CHECK(o.result.completed == arrivals.size());
    CHECK(out.result.pod_seconds <= o.result.pod_seconds);
  }
}

TEST_CASE("HPA: a sync at 15 s sizes the Deployment from the mean concurrency, pods ready one cold start later") {
  // 210 users each holding a 100 s request from time 0; min replicas 1 (ready at 0), target 70 per pod, no
  // per-pod limit. Sync at 15 s: mean concurrency 210 = 3 × 70 → 3 replicas (within +100 % / +4 pods per 15 s);
  // the two new pods are ready at 18 s.
  closed_loop_workload load;
  load.phases = {closed_loop_phase{210, 100s}};
  load.service_time = constant(100s);
  simulation_config c = defaults_with_cold_start(3s);
  c.until = 20s;
  c.policy = setup_of("hpa", [](auto) { return scale::hpa_policy{scale::hpa_spec{.target = 70}}; });
  std::vector<timeline_row> rows;
  const auto result =
      scale::sim::simulate_closed_loop(load, c, 1, [&](const timeline_row& r) { rows.push_back(r); });
  struct expect {
    duration t;
    std::int32_t desired;
    std::int32_t ready;
  };
  const expect expected[] = {{2s, 1, 1}, {14s, 1, 1}, {16s, 3, 1}, {18s, 3, 3}, {20s, 3, 3}};
  for (const expect& e : expected) {
    CAPTURE(seconds(e.t));
    const timeline_row* r = row_at(rows, e.t);
    REQUIRE(r != nullptr);
    CHECK(r->desired_pods == e.desired);
    CHECK(r->ready_pods == e.ready);
    CHECK(r->in_flight == 210);
  }
  CHECK(result.cold_starts == 0);
  CHECK(result.peak_pods == 3);
  CHECK(result.scale_events == 2);  // 1 at time 0, then 3
}

TEST_CASE("hybrid histogram: a request every 30 minutes is cold once, fixed 10-minute keep-alive always") {
  // Warm-up (< 10 idle times): 4 h fallback keep-alive, so every request after the first is warm. Then all idle
  // times (30 min - 1 s) fall in bin 29: pre-warm 29 min × 0.9 = 26.1 min, loaded until 30 min × 1.1 = 33 min
  // after the pod went idle, so the next arrival (29 min 59 s later) still finds it loaded.
  const auto hybrid = setup_of("hybrid", [](auto) { return scale::hybrid_histogram_policy{}; });
  periodic_source source(at(0s), at(24 * 30min), 30min, 1s);
  const auto h = run(source, one_per_pod(hybrid));
  CHECK(h.result.requests == 24);
  CHECK(h.result.cold_starts == 1);
  periodic_source again(at(0s), at(24 * 30min), 30min, 1s);
  const auto k = run(again, one_per_pod(keepalive_of(10min)));
  CHECK(k.result.cold_starts == 24);
  // And it costs less than keeping the pod for the 4 h fallback throughout.
  periodic_source third(at(0s), at(24 * 30min), 30min, 1s);
  const auto long_keepalive = run(third, one_per_pod(keepalive_of(4h)));
  CHECK(long_keepalive.result.cold_starts == 1);
  CHECK(h.result.pod_seconds < long_keepalive.result.pod_seconds);
}

TEST_CASE("the library's kpa_policy driving the simulator matches the built-in KPA loop") {
  // Same Poisson load, same seed: once through the simulator's own reconciler loop, once through
  // scale::kpa_policy behind the policy interface. Every figure must agree.
  for (const std::int32_t cc : {0, 1, 10}) {
    CAPTURE(cc);
    simulation_config native = defaults_with_cold_start(2s);
    native.container_concurrency = cc;
    native.revision.target_value = cc == 0 ? 70 : cc * 0.7;
    simulation_config through_policy = native;
    const scale::kpa_policy_config kpa{.kpa = scale::sim::make_kpa_spec(native),
                                       .decider = scale::make_decider_spec(native.revision),
                                       .stable_window = native.revision.stable_window,
                                       .panic_window = native.revision.panic_window,
                                       .algorithm = native.revision.algorithm};
    through_policy.policy = setup_of("kpa", [kpa](auto) { return scale::kpa_policy{kpa}; });
    poisson_source a(11, 3.0, at(900s), 1500ms);
    poisson_source b(11, 3.0, at(900s), 1500ms);
    const auto x = run(a, native);
    const auto y = run(b, through_policy);
    check_same_result(x.result, y.result);
  }
}

namespace {

/// Forwards every call to `P` and counts the `decide` calls, with no promise that decisions hold.
template <class P>
class counted {
 public:
  counted(P policy, std::int64_t* decides) : policy_(std::move(policy)), decides_(decides) {}
  bool uses_stats() const { return policy_.uses_stats(); }
  void on_arrival(time_point now) { policy_.on_arrival(now); }
  void on_completion(time_point now) { policy_.on_completion(now); }
  void on_stat(time_point now, const scale::pod_stat& stat, bool pushed) { policy_.on_stat(now, stat, pushed); }
  scale::policy_decision decide(time_point now, const scale::pod_counts& pods) {
    ++*decides_;
    return policy_.decide(now, pods);
  }
  scale::policy_decision on_timer(time_point now, const scale::pod_counts& pods) {
    return policy_.on_timer(now, pods);
  }

 private:
  P policy_;
  std::int64_t* decides_;
};

/// The same, passing on `P`'s promise.
template <class P>
class counted_with_promise : public counted<P> {
 public:
  using counted<P>::counted;
  static constexpr bool decisions_hold_until_observed = scale::decisions_hold_until_observed_v<P>;
};

}  // namespace

TEST_CASE("a policy's promise that its decisions hold only saves decide calls: every figure stays the same") {
  struct row {
    const char* name;
    std::function<scale::any_scaling_policy(std::int64_t*, bool)> make;
    std::int32_t container_concurrency;
    duration drain;
    double creation_rate_per_s;
  };
  // Each row's policy once as is (the simulator may skip `decide`) and once without the promise.
  const auto wrap = [](auto policy, std::int64_t* decides, bool promise) {
    using P = decltype(policy);
    if (promise) return scale::any_scaling_policy{counted_with_promise<P>{std::move(policy), decides}};
    return scale::any_scaling_policy{counted<P>{std::move(policy), decides}};
  };
  const row rows[] = {
      {"keepalive 10 min, CC 1, drain 30 s",
       [&](std::int64_t* n, bool p) { return wrap(scale::keepalive_policy{scale::keepalive_spec{10min}}, n, p); },
       1, 30s, 0},
      {"keepalive 0 s, CC 1, no drain",
       [&](std::int64_t* n, bool p) { return wrap(scale::keepalive_policy{scale::keepalive_spec{0s}}, n, p); },
       1, 0s, 0},
      {"keepalive 1 min, CC 0, 0.5 pods/s",
       [&](std::int64_t* n, bool p) { return wrap(scale::keepalive_policy{scale::keepalive_spec{1min}}, n, p); },
       0, 30s, 0.5},
      {"hybrid, CC 1", [&](std::int64_t* n, bool p) { return wrap(scale::hybrid_histogram_policy{}, n, p); }, 1,
       30s, 0},
      {"hpa, CC 2",
       [&](std::int64_t* n, bool p) { return wrap(scale::hpa_policy{scale::hpa_spec{.target = 0.7}}, n, p); }, 2,
       30s, 0},
  };
  for (const row& r : rows) {
    CAPTURE(r.name);
    std::int64_t decides[2] = {0, 0};
    run_output out[2];
    for (const bool promise : {false, true}) {
      simulation_config c = defaults_with_cold_start(3s);
      c.container_concurrency = r.container_concurrency;
      c.drain_quiet_period = r.drain;
      c.pod_creation_rate_per_s = r.creation_rate_per_s;
      std::int64_t* count = &decides[promise ? 1 : 0];
      const auto make = r.make;
      c.policy = scale::sim::policy_setup{"counted", [make, count, promise](auto) { return make(count, promise); }};
      // Bursts of Poisson traffic with silences between them (pods expire, scale to zero, come back).
      poisson_source source(5, 2.0, at(4h), 3s);
      std::vector<arrival> bursty;
      while (auto a = source.next()) {
        if ((a->time.time_since_epoch() / 20min) % 3 != 2) bursty.push_back(*a);
      }
      list_source arrivals(bursty);
      out[promise ? 1 : 0] = run(arrivals, c);
    }
    check_same_result(out[0].result, out[1].result);
    CHECK(out[0].result.latency.saved().bins == out[1].result.latency.saved().bins);
    CHECK(out[0].result.queueing.saved().bins == out[1].result.queueing.saved().bins);
    check_same_rows(out[0].rows, out[1].rows);
    CHECK(out[0].result.requests > 15'000);
    // Without the promise, a decide after every event; with it, fewer (none after a pod became ready, a drain
    // ended or a timer fired).
    CHECK(decides[1] < decides[0]);
  }
}

TEST_CASE("simulate_to_common_end: each service is simulate() with until at the latest natural end") {
  // Ten minutes of Poisson traffic, then silence: the policies settle at different times (the HPA stops with
  // the last request, keep-alive 10 min after it, the KPA after its window and grace period, the oracle when
  // its last pod drains), so all but the latest are run on. Random cold starts make every draw count.
  std::vector<arrival> arrivals;
  poisson_source poisson(11, 0.2, at(600s), 3s);
  while (auto a = poisson.next()) arrivals.push_back(*a);
  const auto open = [&] { return std::make_unique<list_source>(arrivals); };
  const auto random_cold = [](std::mt19937_64& rng) {
    return std::chrono::duration_cast<duration>(
        std::chrono::duration<double>(1.0 + boost::random::exponential_distribution<double>(0.5)(rng)));
  };
  std::vector<simulation_config> configs;
  simulation_config kpa;
  kpa.cold_start = random_cold;
  kpa.container_concurrency = 1;
  configs.push_back(kpa);
  for (auto policy :
       {keepalive_of(10min), keepalive_of(0s),
        setup_of("hpa", [](auto) { return scale::hpa_policy{scale::hpa_spec{.target = 0.7}}; }),
        setup_of("hybrid", [](auto) { return scale::hybrid_histogram_policy{}; }),
        setup_of(
            "oracle",
            [](std::span<const scale::known_request> future) { return scale::oracle_policy{future, {3s, 30s}}; },
            true)}) {
    simulation_config c = one_per_pod(policy);
    c.cold_start = random_cold;
    configs.push_back(c);
  }
  constexpr std::uint64_t seed = 5;
  std::vector<double> natural_s;
  for (const auto& c : configs) {
    auto source = open();
    natural_s.push_back(scale::sim::simulate(*source, c, seed).simulated_s);
  }
  const double latest_s = *std::max_element(natural_s.begin(), natural_s.end());
  // The keep-alive of 10 min ends last; at least four services are run on.
  CHECK(latest_s == natural_s[1]);
  CHECK(std::count_if(natural_s.begin(), natural_s.end(), [&](double s) { return s < latest_s; }) >= 4);

  const auto together = scale::sim::simulate_to_common_end(open, configs, seed);
  REQUIRE(together.size() == configs.size());
  for (std::size_t k = 0; k < configs.size(); ++k) {
    CAPTURE(k);
    simulation_config alone = configs[k];
    alone.until = std::chrono::duration_cast<duration>(std::chrono::duration<double>(latest_s));
    auto source = open();
    const function_result expected = scale::sim::simulate(*source, alone, seed);
    check_same_result(together[k], expected);
    CHECK(together[k].simulated_s == doctest::Approx(latest_s).epsilon(1e-12));
  }

  // With their own until every service runs exactly as simulate() does.
  for (auto& c : configs) c.until = 300s;
  const auto cut = scale::sim::simulate_to_common_end(open, configs, seed);
  for (std::size_t k = 0; k < configs.size(); ++k) {
    CAPTURE(k);
    auto source = open();
    check_same_result(cut[k], scale::sim::simulate(*source, configs[k], seed));
    CHECK(cut[k].simulated_s == 300);
  }
}
