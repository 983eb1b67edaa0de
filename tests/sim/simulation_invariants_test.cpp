// Property tests of the simulator (sim/simulation.hpp) on seeded random synthetic workloads
// (sim/synthetic_trace.hpp) and random configs within Knative's valid ranges: requests are conserved, no pod
// ever serves more than its container concurrency, pods are billed at least their busy time, and the same
// seed gives the same result.
#include "sim/simulation.hpp"

#include <doctest/doctest.h>

#include <sim/distribution.hpp>
#include <sim/synthetic_trace.hpp>

#include <libscale/config.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <random>
#include <string>

namespace {

using namespace std::chrono_literals;
using scale::duration;
using scale::sim::distribution;
using scale::sim::function_result;
using scale::sim::service_event;
using scale::sim::simulation_config;
using scale::sim::synthetic_kind;
using scale::sim::synthetic_spec;

// Draws from the engine's raw output only, so the cases are the same with every standard library.
class draws {
 public:
  explicit draws(std::uint64_t seed) : engine_(seed) {}
  double real(double low, double high) { return low + (high - low) * static_cast<double>(engine_() >> 11) * 0x1p-53; }
  std::int64_t integer(std::int64_t low, std::int64_t high) {
    return low + static_cast<std::int64_t>(engine_() % static_cast<std::uint64_t>(high - low + 1));
  }
  bool chance(double p) { return real(0, 1) < p; }
  template <class T, std::size_t n>
  const T& pick(const T (&items)[n]) { return items[static_cast<std::size_t>(integer(0, n - 1))]; }

 private:
  std::mt19937_64 engine_;
};

duration millis(std::int64_t ms) { return std::chrono::milliseconds{ms}; }

/// A short random workload: one of the generators, a few to a few dozen requests per second, 1-3 minutes.
synthetic_spec random_workload(draws& d) {
  constexpr synthetic_kind kinds[] = {synthetic_kind::poisson, synthetic_kind::even, synthetic_kind::onoff,
                                      synthetic_kind::diurnal, synthetic_kind::spike};
  synthetic_spec spec;
  spec.kind = d.pick(kinds);
  spec.rate_per_s = d.real(0.2, 40);
  spec.length = std::chrono::seconds{d.integer(30, 180)};
  const distribution services[] = {distribution::constant(millis(d.integer(1, 2000))),
                                   distribution::exponential(millis(d.integer(10, 1500))),
                                   distribution::uniform(millis(0), millis(d.integer(1, 3000))),
                                   distribution::lognormal(millis(d.integer(10, 800)), d.real(0, 1.5))};
  spec.service_time = d.pick(services);
  spec.on = std::chrono::seconds{d.integer(1, 60)};
  spec.off = std::chrono::seconds{d.integer(1, 120)};
  spec.period = std::chrono::seconds{d.integer(10, 300)};
  spec.amplitude = d.real(0, 1);
  spec.spike_start = std::chrono::seconds{d.integer(0, 60)};
  spec.spike_length = std::chrono::seconds{d.integer(1, 30)};
  spec.spike_rate_per_s = d.real(0, 100);
  return spec;
}

/// A random revision and service within Knative's valid ranges, resolved through libscale like the CLI does.
simulation_config random_config(draws& d) {
  scale::autoscaler_config cluster;
  cluster.stable_window = std::chrono::seconds{d.integer(6, 120)};
  cluster.panic_window_percentage = d.real(1, 100);
  cluster.panic_threshold_percentage = d.real(110, 1000);
  cluster.max_scale_up_rate = d.real(1.1, 1000);
  cluster.max_scale_down_rate = d.real(1.1, 10);
  cluster.target_burst_capacity = d.chance(0.2) ? -1 : d.chance(0.2) ? 0 : d.real(0, 400);
  cluster.enable_scale_to_zero = d.chance(0.8);
  cluster.scale_to_zero_grace_period = std::chrono::seconds{d.integer(6, 60)};
  cluster.scale_down_delay = d.chance(0.3) ? std::chrono::seconds{d.integer(0, 60)} : 0s;
  const std::int32_t cc = d.chance(0.3) ? 0 : static_cast<std::int32_t>(d.integer(1, 10));
  scale::string_map annotations;
  if (d.chance(0.3)) annotations["autoscaling.knative.dev/max-scale"] = std::to_string(d.integer(1, 8));
  if (d.chance(0.2)) annotations["autoscaling.knative.dev/min-scale"] = "1";
  if (d.chance(0.3)) annotations["autoscaling.knative.dev/target"] = std::to_string(d.integer(1, 20));
  const auto revision = scale::resolve_revision(cluster, annotations, cc);
  REQUIRE(revision.has_value());
  simulation_config c;
  c.revision = *revision;
  c.container_concurrency = cc;
  const duration cold = millis(d.integer(0, 5000));
  c.cold_start = [cold](std::mt19937_64&) { return cold; };
  c.revision_timeout = std::chrono::seconds{d.integer(1, 300)};
  c.start = d.chance(0.5) ? scale::sim::start_state::idle : scale::sim::start_state::deployed;
  c.pod_creation_rate_per_s = d.chance(0.3) ? d.real(0.1, 5) : 0;
  c.drain_quiet_period = std::chrono::seconds{d.integer(0, 30)};
  c.skip_idle_ticks = d.chance(0.5);
  return c;
}

struct observed_run {
  function_result result;
  std::int64_t starts = 0;
  std::int64_t ends = 0;
  std::int64_t over_concurrency = 0;  // service starts that left a pod above container concurrency
  std::int64_t bad_counts = 0;        // events whose in_service disagrees with our own count
  double busy_pod_seconds = 0;        // time with at least one request in service, summed over pods
};

observed_run run_observed(const scale::sim::trace& workload, simulation_config config, std::uint64_t seed) {
  observed_run out;
  std::map<std::uint32_t, std::int32_t> in_service;   // by pod slot
  std::map<std::uint32_t, duration> busy_since;       // pods serving at least one request
  config.service_observer = [&](const service_event& e) {
    std::int32_t& n = in_service[e.pod];
    if (e.started) {
      if (n == 0) busy_since[e.pod] = e.time.time_since_epoch();
      ++n;
      ++out.starts;
      if (config.container_concurrency > 0 && n > config.container_concurrency) ++out.over_concurrency;
    } else {
      --n;
      ++out.ends;
      if (n == 0) out.busy_pod_seconds += std::chrono::duration<double>(e.time.time_since_epoch() - busy_since[e.pod]).count();
    }
    if (n != e.in_service || n < 0) ++out.bad_counts;
  };
  auto source = workload.functions.front().open(scale::sim::function_seed(seed, 0));
  out.result = scale::sim::simulate(*source, config, seed);
  return out;
}

TEST_CASE("simulation invariants on seeded random workloads and configs") {
  constexpr std::uint64_t runs = 40;
  std::uint64_t total_requests = 0;
  std::uint64_t total_failed = 0;
  for (std::uint64_t seed = 1; seed <= runs; ++seed) {
    CAPTURE(seed);
    draws d(seed);
    const synthetic_spec spec = random_workload(d);
    const simulation_config config = random_config(d);
    const auto workload = scale::sim::make_synthetic_trace(spec);
    REQUIRE(workload.has_value());
    const observed_run a = run_observed(*workload, config, seed);
    const function_result& r = a.result;
    CAPTURE(r.requests);
    CAPTURE(config.container_concurrency);
    total_requests += r.requests;
    total_failed += r.failed;

    // 1. Conservation: without a hard stop every request ends, served or failed.
    CHECK(r.requests == r.completed + r.failed);
    CHECK(a.starts == a.ends);
    CHECK(static_cast<std::uint64_t>(a.ends) == r.completed);
    CHECK(r.latency.count() == r.completed);
    CHECK(r.cold_starts <= r.completed);
    // 2. Never more in service on a pod than its container concurrency; the observer's counts add up.
    CHECK(a.over_concurrency == 0);
    CHECK(a.bad_counts == 0);
    // 3. Billing: pod-seconds cover the busy time, idle time is the rest, time at zero fits in the run.
    CHECK(r.pod_seconds >= a.busy_pod_seconds - 1e-6);
    CHECK(r.idle_pod_seconds <= r.pod_seconds + 1e-9);
    CHECK(r.pod_seconds - r.idle_pod_seconds >= a.busy_pod_seconds - 1e-6);
    CHECK(r.time_at_zero_s <= r.simulated_s + 1e-9);
    if (config.revision.max_scale > 0) CHECK(r.peak_pods <= config.revision.max_scale);
    // 4. The same seed gives the same run.
    const observed_run b = run_observed(*workload, config, seed);
    CHECK(b.result.requests == r.requests);
    CHECK(b.result.completed == r.completed);
    CHECK(b.result.failed == r.failed);
    CHECK(b.result.cold_starts == r.cold_starts);
    CHECK(b.result.pod_seconds == r.pod_seconds);
    CHECK(b.result.idle_pod_seconds == r.idle_pod_seconds);
    CHECK(b.result.peak_pods == r.peak_pods);
    CHECK(b.result.scale_events == r.scale_events);
    CHECK(b.result.time_at_zero_s == r.time_at_zero_s);
    CHECK(b.result.simulated_s == r.simulated_s);
    CHECK(b.result.latency.mean_ms() == r.latency.mean_ms());
    CHECK(b.result.latency.quantile_ms(0.99) == r.latency.quantile_ms(0.99));
    CHECK(b.busy_pod_seconds == a.busy_pod_seconds);
  }
  // The random cases must carry real load, and some of it must fail, or the checks above prove little.
  CHECK(total_requests > 20000);
  CHECK(total_failed > 0);
}

TEST_CASE("simulation invariants with a hard stop: nothing is counted twice") {
  for (std::uint64_t seed = 100; seed < 110; ++seed) {
    CAPTURE(seed);
    draws d(seed);
    const synthetic_spec spec = random_workload(d);
    simulation_config config = random_config(d);
    config.until = std::chrono::seconds{d.integer(5, 100)};
    const auto workload = scale::sim::make_synthetic_trace(spec);
    REQUIRE(workload.has_value());
    const observed_run a = run_observed(*workload, config, seed);
    const function_result& r = a.result;
    // Requests still in flight at the stop are neither completed nor failed.
    CHECK(r.completed + r.failed <= r.requests);
    CHECK(a.ends <= a.starts);
    CHECK(static_cast<std::uint64_t>(a.ends) == r.completed);
    CHECK(a.over_concurrency == 0);
    CHECK(a.bad_counts == 0);
    CHECK(r.simulated_s == doctest::Approx(std::chrono::duration<double>(*config.until).count()));
  }
}

}  // namespace
