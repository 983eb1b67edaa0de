#pragma once
// `scalesim tune`: searches Knative's autoscaling knobs for the configuration that meets the given SLOs on a
// trace at the lowest pod-seconds, and writes it as ready-to-apply YAML (issue #5, docs/tuning.md).

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace scale::tools {

/// Everything `scalesim tune` takes on its command line.
struct tune_options {
  std::vector<std::string> traces;        // at least one
  std::vector<std::string> slos;          // --slo 'p99<=500ms' (repeatable, at least one)
  std::string space_file;                 // --space FILE: YAML overrides of the search ranges
  std::size_t budget = 48;                // configurations evaluated, besides the default
  std::uint64_t seed = 1;                 // search and simulation seed
  unsigned threads = 0;                   // 0 = all cores
  std::string out_dir;                    // tune.json, front.csv, config-autoscaler.yaml, annotations.yaml, plot.svg
  std::string plot_file;                  // --plot FILE (.svg or .png); default DIR/plot.svg with --out
  double holdout = 0;                     // share of the trace's time range held out (the end), 0 = none
  std::string config_file;                // the baseline config-autoscaler ConfigMap
  std::vector<std::string> config_sets;   // --set KEY=VALUE over it
  std::vector<std::string> annotations;   // --annotation KEY=VALUE (not for a tuned knob)
  std::string annotations_file;           // --annotations FILE
  std::int32_t container_concurrency = 0;
  std::string cold_start = "3s";          // distribution syntax
  std::string expansion = "uniform";      // Azure 2019 per-minute counts
  std::string durations_file;             // Azure 2019 durations file
  std::string service_name = "my-service";  // metadata.name in annotations.yaml
  bool progress = false;                  // progress bar even when stderr is not a terminal
  std::string shard;                      // --shard I/N or auto/N: one of N peers sharing --out
  std::string shard_timeout = "6h";       // how long a shard waits for a peer's part of a batch
  std::size_t arrival_cache_mb = 1024;    // arrivals read once and replayed from memory up to this; 0 = stream
};

/// Registers the `tune` subcommand; `options` must outlive the parse.
CLI::App* add_tune_command(CLI::App& app, tune_options& options);

/// Runs the search: the report on `out`, diagnostics and progress on `err`. 0 with a recommendation; 1 on bad
/// input or when no evaluated configuration meets every SLO (the search's files are still written).
int run_tune(const tune_options& options, std::ostream& out, std::ostream& err);

/// `scalesim merge` of the shard files of `tune --shard`: checks they are every shard of one run, once, and
/// prints and writes exactly what the unsharded `tune` does (`out_dir` and `plot_file` as its --out and --plot).
int merge_tune_shards(const std::vector<std::string>& shard_files, const std::string& out_dir,
                      const std::string& plot_file, bool quiet, std::ostream& out, std::ostream& err);

}  // namespace scale::tools
