// Cost of the simulator: whole replays, the event queue, and one scrape-and-decide tick with N pods
// (issue #7 targets: >= 5 M requests/s per core on a Poisson trace with the KPA).
#include <sim/azure_shape_trace.hpp>
#include <sim/distribution.hpp>
#include <sim/event_queue.hpp>
#include <sim/simulation.hpp>
#include <sim/synthetic_trace.hpp>

#include <libscale/decider.hpp>
#include <libscale/metric_collector.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

namespace {

using namespace std::chrono_literals;

// One function, Poisson at `range(0)` requests/s for 1000 s, exponential 100 ms service, Knative's defaults
// (KPA, concurrency target 100 x 70 %, scale to zero). Items are requests replayed.
void BM_Simulation_PoissonReplay(benchmark::State& state) {
  scale::sim::synthetic_spec spec;
  spec.rate_per_s = static_cast<double>(state.range(0));
  spec.length = 1000s;
  spec.service_time = scale::sim::distribution::exponential(100ms);
  const auto trace = scale::sim::make_synthetic_trace(spec);
  const scale::sim::simulation_config config;
  std::uint64_t requests = 0;
  for (auto _ : state) {
    auto arrivals = trace->functions[0].open(1);
    const auto result = scale::sim::simulate(*arrivals, config, 1);
    requests += result.requests;
    benchmark::DoNotOptimize(result.pod_seconds);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(requests));
}
BENCHMARK(BM_Simulation_PoissonReplay)->Arg(100)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

// The arrival stream alone (no simulation): what generating the Poisson trace costs inside the replay above.
void BM_SyntheticTrace_PoissonStream(benchmark::State& state) {
  scale::sim::synthetic_spec spec;
  spec.rate_per_s = 1000;
  spec.length = 1000s;
  spec.service_time = scale::sim::distribution::exponential(100ms);
  const auto trace = scale::sim::make_synthetic_trace(spec);
  std::uint64_t requests = 0;
  for (auto _ : state) {
    auto arrivals = trace->functions[0].open(1);
    while (auto a = arrivals->next()) {
      benchmark::DoNotOptimize(*a);
      ++requests;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(requests));
}
BENCHMARK(BM_SyntheticTrace_PoissonStream)->Unit(benchmark::kMillisecond);

// 1000 Azure-shaped functions (rates capped at 1/s) over one hour, replayed one after the other: the idle-tick
// shortcut is what keeps the mostly idle ones cheap. Items are functions.
void BM_Simulation_AzureShapeFunctions(benchmark::State& state) {
  scale::sim::azure_shape_spec spec;
  spec.functions = 1000;
  spec.length = 1h;
  spec.max_rate_per_s = 1;
  const auto trace = scale::sim::make_azure_shape_trace(spec);
  scale::sim::simulation_config config;
  config.skip_idle_ticks = state.range(0) != 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < trace->functions.size(); ++i) {
      auto arrivals = trace->functions[i].open(scale::sim::function_seed(1, i));
      benchmark::DoNotOptimize(scale::sim::simulate(*arrivals, config, 1).requests);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(spec.functions));
}
BENCHMARK(BM_Simulation_AzureShapeFunctions)->ArgName("skip_idle_ticks")->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

struct small_event {
  std::uint32_t kind = 0;
  std::uint32_t pod = 0;
};

// Steady state: `range(0)` pending events, pop the earliest and push one a random 0..10 s later.
void BM_EventQueue_PopPush(benchmark::State& state) {
  scale::sim::event_queue<small_event> queue;
  std::mt19937_64 engine(1);
  for (std::int64_t i = 0; i < state.range(0); ++i) {
    queue.push(scale::at(std::chrono::nanoseconds{static_cast<std::int64_t>(engine() % 10'000'000'000)}), {});
  }
  for (auto _ : state) {
    const auto e = queue.pop();
    queue.push(e.time + std::chrono::nanoseconds{static_cast<std::int64_t>(engine() % 10'000'000'000)}, e.event);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EventQueue_PopPush)->Arg(16)->Arg(1024)->Arg(65536);

// One autoscaler second with `range(0)` ready pods, rebuilt from libscale's public pieces the way the engine uses
// them (the engine's own tick is private to sim/src/simulation.cpp): every pod's queue-proxy closes its period,
// the scraper samples and extrapolates, the collection records, and the decider decides (every tick here; the
// engine decides every second tick).
void BM_Tick_ScrapeAndDecide(benchmark::State& state) {
  const auto pods = static_cast<std::size_t>(state.range(0));
  std::vector<scale::request_stats> stats(pods, scale::request_stats(scale::at(0s)));
  std::vector<scale::duration> ages(pods, 120s);
  std::vector<scale::pod_stat> sample;
  scale::metric_collection collection(60s, 6s);
  scale::decider decider(scale::decider_spec{}, static_cast<int>(pods), scale::at(0s));
  std::int64_t second = 0;
  for (auto _ : state) {
    const auto now = scale::at(std::chrono::seconds{++second});
    for (auto& s : stats) {
      s.handle(now - 500ms, scale::request_event::in);
      s.handle(now - 100ms, scale::request_event::out);
    }
    const auto picked = scale::pick_sample(ages, 60s);
    sample.clear();
    for (const auto k : picked) sample.push_back(scale::queue_proxy_stat(stats[k].report(now), 1s));
    for (std::size_t k = picked.size(); k < pods; ++k) benchmark::DoNotOptimize(stats[k].report(now));
    if (const auto total = scale::extrapolate(sample, pods)) collection.record(now, *total);
    const auto observed = collection.stable_and_panic(now, scale::scaling_metric::concurrency);
    benchmark::DoNotOptimize(decider.scale(now, static_cast<int>(pods), observed));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Tick_ScrapeAndDecide)->Arg(1)->Arg(10)->Arg(100)->Arg(1000);

}  // namespace
