// Cost of the metric windows: one record, one average (issue #7 targets: record < 10 ns).
#include <libscale/linear_window.hpp>
#include <libscale/weighted_window.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>

namespace {

using namespace std::chrono_literals;

// One record per second, as the scraper writes: the common case of a window that moves by one bucket.
void BM_LinearWindow_Record(benchmark::State& state) {
  scale::linear_window window(60s);
  std::int64_t second = 0;
  for (auto _ : state) {
    window.record(scale::at(std::chrono::seconds{second++}), 12.5);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LinearWindow_Record);

void BM_LinearWindow_Average(benchmark::State& state) {
  scale::linear_window window(60s);
  for (int s = 0; s < 120; ++s) window.record(scale::at(std::chrono::seconds{s}), s % 7);
  for (auto _ : state) {
    benchmark::DoNotOptimize(window.average(scale::at(119s)));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LinearWindow_Average);

// The weighted average visits every bucket, so its cost grows with the window (Knative does the same).
void BM_WeightedWindow_Average(benchmark::State& state) {
  scale::weighted_window window(std::chrono::seconds{state.range(0)});
  for (int s = 0; s < 2 * state.range(0); ++s) window.record(scale::at(std::chrono::seconds{s}), s % 7);
  const auto now = scale::at(std::chrono::seconds{2 * state.range(0) - 1});
  for (auto _ : state) {
    benchmark::DoNotOptimize(window.average(now));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WeightedWindow_Average)->Arg(6)->Arg(60)->Arg(600);

}  // namespace
