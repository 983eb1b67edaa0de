// Trace parsing throughput in bytes/s (issue #7 target: >= 200 MB/s for our CSV and the Azure formats).
// Inputs: the bundled Azure 2019 samples, and CSV / Azure 2021 files generated once into a temporary folder.
#include <sim/azure2019_trace.hpp>
#include <sim/azure2021_trace.hpp>
#include <sim/csv_trace.hpp>
#include <sim/distribution.hpp>
#include <sim/synthetic_trace.hpp>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;


fs::path source_dir() { return fs::path{__FILE__}.parent_path().parent_path(); }

/// Generated inputs, written once per process and removed at exit.
struct generated_files {
  fs::path dir = fs::temp_directory_path() / fmt::format("scale-trace-benchmark-{}", ::getpid());
  fs::path csv = dir / "poisson.csv";
  fs::path azure2021 = dir / "azure2021.csv";

  generated_files() {
    fs::create_directories(dir);
    // Our CSV: 10 functions, Poisson 100/s each for 1000 s, exponential service: about 1 M rows, ~30 MB.
    scale::sim::synthetic_spec spec;
    spec.rate_per_s = 100;
    spec.length = 1000s;
    spec.functions = 10;
    spec.service_time = scale::sim::distribution::exponential(100ms);
    std::ofstream csv_out(csv, std::ios::binary);
    scale::sim::write_csv_trace(*scale::sim::make_synthetic_trace(spec), 1, csv_out);
    // Azure 2021: 200 000 rows over 50 functions, unsorted end timestamps as in the published file.
    std::ofstream out(azure2021, std::ios::binary);
    out << "app,func,end_timestamp,duration\n";
    std::mt19937_64 engine(1);
    for (int i = 0; i < 200'000; ++i) {
      const std::uint64_t f = engine() % 50;
      const double end = static_cast<double>(engine() % 1'000'000'000) / 1e3;
      const double d = static_cast<double>(engine() % 10'000) / 1e3;
      out << fmt::format("{:064x},{:064x},{},{}\n", f / 5 + 1, f + 1, end + d, d);
    }
  }
  ~generated_files() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
};

const generated_files& files() {
  static const generated_files instance;
  return instance;
}

void set_bytes(benchmark::State& state, const std::vector<fs::path>& paths) {
  std::int64_t bytes = 0;
  for (const auto& p : paths) bytes += static_cast<std::int64_t>(fs::file_size(p));
  state.SetBytesProcessed(state.iterations() * bytes);
}

// Validation pass of our CSV (what read_csv_trace does before the first request).
void BM_CsvTrace_Read(benchmark::State& state) {
  const auto& f = files();
  for (auto _ : state) benchmark::DoNotOptimize(scale::sim::read_csv_trace(f.csv).has_value());
  set_bytes(state, {f.csv});
}
BENCHMARK(BM_CsvTrace_Read)->Unit(benchmark::kMillisecond);

// Validation plus streaming every function's rows back (each function rescans its span of the file).
void BM_CsvTrace_ReadAndStream(benchmark::State& state) {
  const auto& f = files();
  for (auto _ : state) {
    const auto t = scale::sim::read_csv_trace(f.csv);
    for (const auto& function : t->functions) {
      auto source = function.open(1);
      while (auto a = source->next()) benchmark::DoNotOptimize(*a);
    }
  }
  set_bytes(state, {f.csv});
}
BENCHMARK(BM_CsvTrace_ReadAndStream)->Unit(benchmark::kMillisecond);

// Azure 2019: invocations + durations files (the bundled 100-function sample, 337 KB + 26 KB; and the 10-function
// day, 65 KB + 3 KB). Reading keeps the non-zero minutes; expansion into arrivals is not included.
void BM_Azure2019Trace_Read(benchmark::State& state) {
  const fs::path dir = source_dir() / "traces" / (state.range(0) == 100 ? "azure2019-sample100" : "azure2019-raw10");
  const fs::path inv = dir / (state.range(0) == 100 ? "100_inv.csv" : "invocations.csv");
  const fs::path dur = dir / (state.range(0) == 100 ? "100_run.csv" : "durations.csv");
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        scale::sim::read_azure2019_trace(inv, dur, scale::sim::minute_expansion::uniform).has_value());
  }
  set_bytes(state, {inv, dur});
}
BENCHMARK(BM_Azure2019Trace_Read)->ArgName("functions")->Arg(10)->Arg(100)->Unit(benchmark::kMicrosecond);

// Azure 2019 expansion: the 10-function day's 13.0 M arrivals streamed from the per-minute counts.
void BM_Azure2019Trace_Expand(benchmark::State& state) {
  const fs::path dir = source_dir() / "traces" / "azure2019-raw10";
  const auto t = scale::sim::read_azure2019_trace(dir / "invocations.csv", dir / "durations.csv",
                                                   scale::sim::minute_expansion::uniform);
  std::int64_t arrivals = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < t->functions.size(); ++i) {
      auto source = t->functions[i].open(i);
      while (auto a = source->next()) {
        benchmark::DoNotOptimize(*a);
        ++arrivals;
      }
    }
  }
  state.SetItemsProcessed(arrivals);
}
BENCHMARK(BM_Azure2019Trace_Expand)->Unit(benchmark::kMillisecond);

// Azure 2021: 200 000 generated rows (~27 MB), read, sorted per function and kept in memory.
void BM_Azure2021Trace_Read(benchmark::State& state) {
  const auto& f = files();
  for (auto _ : state) benchmark::DoNotOptimize(scale::sim::read_azure2021_trace(f.azure2021).has_value());
  set_bytes(state, {f.azure2021});
}
BENCHMARK(BM_Azure2021Trace_Read)->Unit(benchmark::kMillisecond);

}  // namespace
