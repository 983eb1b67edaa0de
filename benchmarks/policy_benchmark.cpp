// Cost of the scaling policies' per-request work (docs/performance.md, session 4): the hybrid histogram policy
// reads its histogram's percentiles and coefficient of variation on every completion.
#include <libscale/hybrid_histogram_policy.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <random>

namespace {

using namespace std::chrono_literals;

// The windows of a 240-bin histogram holding 1 000 skewed idle times: two percentiles and the CV test.
void BM_HybridWindows(benchmark::State& state) {
  scale::idle_time_histogram histogram(1min, 4h);
  std::mt19937_64 rng(1);
  std::geometric_distribution<int> minutes(0.05);
  for (int i = 0; i < 1000; ++i) histogram.add(std::chrono::minutes{minutes(rng)} + 20s);
  const scale::hybrid_spec spec;
  for (auto _ : state) benchmark::DoNotOptimize(scale::compute_hybrid_windows(histogram, {}, spec));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HybridWindows);

// One request as the simulator drives the policy: an arrival, a decision, the completion 100 ms later, a
// decision; requests every 1–20 minutes, so the histogram and its windows are in use.
void BM_HybridPolicy_Request(benchmark::State& state) {
  scale::hybrid_histogram_policy policy;
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<std::int64_t> gap_s(60, 1200);
  scale::time_point now = scale::at(0s);
  const scale::pod_counts pods{};
  for (auto _ : state) {
    now += std::chrono::seconds{gap_s(rng)};
    policy.on_arrival(now);
    benchmark::DoNotOptimize(policy.decide(now, pods));
    policy.on_completion(now + 100ms);
    benchmark::DoNotOptimize(policy.decide(now + 100ms, pods));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HybridPolicy_Request);

}  // namespace
