#pragma once
// `scalesim compare`: several scaling policies on the same arrivals, side by side (issue #4).

#include "run_command.hpp"

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace scale::tools {

/// `scalesim compare` takes `run`'s trace and model flags plus the policies to put side by side.
struct compare_options {
  run_options run;
  std::string policies = "kpa,hpa,keepalive,hybrid,oracle";  // --policies, comma-separated
};

/// One policy's results over every function of the trace, in trace order.
struct policy_run {
  std::string name;
  run_outcome outcome;
};

/// What `compare` reports, simulated here or merged from shards (`scalesim merge`).
struct compare_results {
  std::uint64_t seed = 0;
  std::vector<std::string> sources;
  nlohmann::ordered_json config;            // `config_json` of the first policy's config
  std::int32_t container_concurrency = 0;   // the first policy's, as the title shows it
  std::vector<policy_run> runs;             // in --policies order
};

/// The table on `out` (unless `options.quiet`), compare.json and the plot where `options` (`--out`, `--json`,
/// `--plot`) asks; an error names the file or directory that could not be written.
std::optional<error> write_compare_reports(const compare_results& results, const run_options& options,
                                           std::ostream& out);

/// Registers the `compare` subcommand; `options` must outlive the parse.
CLI::App* add_compare_command(CLI::App& app, compare_options& options);

/// Runs every policy on the same arrivals (same seed): table on `out`, JSON and plot where asked; 1 on bad input.
int run_compare(const compare_options& options, std::ostream& out, std::ostream& err);

}  // namespace scale::tools
