#pragma once
// `scalesim run`: replays traces (or a closed-loop load) through the simulated service and reports.

#include "run_report.hpp"

#include <sim/arrival.hpp>
#include <sim/simulation.hpp>

#include <libscale/result.hpp>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace scale::tools {

/// Everything `scalesim run` takes on its command line (flags fixed by issue #3; only ever extended).
struct run_options {
  std::vector<std::string> traces;        // none = the bundled default sample
  std::string config_file;
  std::vector<std::string> config_sets;   // --set KEY=VALUE
  std::vector<std::string> annotations;   // --annotation KEY=VALUE (prefix optional)
  std::string annotations_file;           // --annotations FILE: a YAML map of annotations
  std::int32_t container_concurrency = 0;
  std::uint64_t seed = 1;
  std::string out_dir;                    // --out DIR: summary.json, timeline.csv, plots
  std::string json_file;                  // --json FILE
  std::string timeline_file;              // --timeline FILE
  std::string plot_file;                  // --plot FILE (.svg or .png)
  std::string cold_start = "3s";          // distribution syntax
  std::string start = "idle";             // idle | deployed
  std::string until;                      // duration; empty = until back at the floor
  std::string revision_timeout = "300s";
  std::string drain = "30s";              // a deleted pod's drain before it is gone (queue-proxy drain sleep)
  std::string expansion = "uniform";      // Azure 2019 per-minute counts: uniform | poisson | equal
  std::string durations_file;             // Azure 2019 durations file (default: the sibling by naming convention)
  double pod_creation_rate = 0;           // pods per second, 0 = unlimited
  unsigned threads = 0;                   // 0 = all cores
  std::string closed;                     // USERS@LENGTH[,USERS@LENGTH...]
  std::string duration = "1s";            // service time for closed-loop load
  std::string think;                      // think time for closed-loop load
  std::string function_name = "closed-loop";
  bool quiet = false;                     // no summary table
  std::string policy = "kpa";             // --policy: kpa | hpa | keepalive | hybrid | oracle (issue #4)
  std::string shard;                      // --shard I/N or auto/N: run only functions i with i mod N = I (issue #5)
  std::string shard_out;                  // --shard-out FILE: the shard file (default DIR/shard-I.json with --out)
  bool shard_timelines = false;           // --shard-timelines: keep timelines in the shard file for merge
};

/// The bundled sample `scalesim run` replays when given no trace (relative to the source tree or the install).
std::string default_trace_path();

/// Registers the `run` subcommand; `options` must outlive the parse.
CLI::App* add_run_command(CLI::App& app, run_options& options);

/// Runs the simulation: summary on `out`, diagnostics on `err`; 1 on bad input.
int run_simulation(const run_options& options, std::ostream& out, std::ostream& err);

/// The simulation config `run` would use for `options` with `policy` in place of `options.policy`
/// (`compare` builds one per policy; `known_policies` are those whose `--set NAME.KEY` knobs are allowed).
result<sim::simulation_config> make_simulation_config(const run_options& options, const std::string& policy,
                                                      const std::vector<std::string>& known_policies);

/// Opens every trace of `paths` ("-" = standard input) as one workload, ids qualified by file name when there
/// are several; `expansion` and `durations_file` as `--expansion` and `--durations` take them; `sources`
/// receives the paths.
result<sim::trace> load_trace_files(const std::vector<std::string>& paths, const std::string& expansion,
                                    const std::string& durations_file, std::vector<std::string>& sources);

/// `load_trace_files` for `options.traces` (none = the bundled sample).
result<sim::trace> load_traces(const run_options& options, std::vector<std::string>& sources);

/// Runs every function of `workload` on `threads` workers (or as one cluster under a pod creation limit);
/// results in function order, identical for any thread count.
run_outcome run_functions(const sim::trace& workload, const sim::simulation_config& config, std::uint64_t seed,
                          unsigned threads, bool keep_timelines, std::ostream& err);

/// As above for part of a trace: function k of `workload` is function `indices[k]` of the whole trace and keeps
/// that function's seed, `function_seed(seed, indices[k])`, so its result equals the unsharded run's.
run_outcome run_functions(const sim::trace& workload, const std::vector<std::size_t>& indices,
                          const sim::simulation_config& config, std::uint64_t seed, unsigned threads,
                          bool keep_timelines, std::ostream& err);

/// Runs every function of `workload` (function k is `indices[k]` of the whole trace, with its seed) through every
/// config of `configs` on `threads` workers, each function billed over one span for all configs
/// (`sim::simulate_to_common_end`); one outcome per config, results in function order, no timelines.
std::vector<run_outcome> run_functions_to_common_end(const sim::trace& workload,
                                                     const std::vector<std::size_t>& indices,
                                                     const std::vector<sim::simulation_config>& configs,
                                                     std::uint64_t seed, unsigned threads, std::ostream& err);

}  // namespace scale::tools
