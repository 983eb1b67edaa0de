// Cost of one decision (issue #7 target: < 100 ns a step).
#include <libscale/decider.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>

namespace {

using namespace std::chrono_literals;

// A steady tick: the stable path with the default spec.
void BM_Decider_Scale(benchmark::State& state) {
  scale::decider decider(scale::decider_spec{}, 1, scale::at(0s));
  std::int64_t tick = 0;
  for (auto _ : state) {
    const auto now = scale::at(std::chrono::seconds{2 * ++tick});
    benchmark::DoNotOptimize(decider.scale(now, 5, scale::observed_values{300, 310}));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Decider_Scale);

// With a 5-minute scale-down delay the max window joins every tick.
void BM_Decider_ScaleWithDelay(benchmark::State& state) {
  scale::decider_spec spec;
  spec.scale_down_delay = 5min;
  scale::decider decider(spec, 1, scale::at(0s));
  std::int64_t tick = 0;
  for (auto _ : state) {
    ++tick;
    const auto now = scale::at(std::chrono::seconds{2 * tick});
    benchmark::DoNotOptimize(decider.scale(now, 5, scale::observed_values{double(tick % 500), 310}));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Decider_ScaleWithDelay);

}  // namespace
