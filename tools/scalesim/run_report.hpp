#pragma once
// What `scalesim run` writes: the summary table, JSON, the timeline CSV and the gnuplot plot.

#include <sim/function_result.hpp>
#include <sim/simulation.hpp>

#include <libscale/result.hpp>

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace scale::tools {

/// Per-function results (and, when asked for, timelines) in function order.
struct run_outcome {
  std::vector<sim::function_result> functions;
  std::vector<std::vector<sim::timeline_row>> timelines;
};

/// Where the reports go; empty paths are not written.
struct report_options {
  std::uint64_t seed = 0;
  std::vector<std::string> sources;
  std::string json_file;
  std::string timeline_file;
  std::string plot_file;
  std::string out_dir;  // summary.json, timeline.csv and plot.svg inside, unless given one by one
  bool quiet = false;
};

/// All functions merged into one total.
sim::function_result total_of(const std::vector<sim::function_result>& functions);

/// The JSON summary (issue #3 contract: seed, total{...}, functions[{id, ...}]).
std::string summary_json(const run_outcome& outcome, const sim::simulation_config& config, const report_options& options);

/// The per-tick timeline as CSV (issue #3 contract header).
void write_timeline_csv(const run_outcome& outcome, std::ostream& out);

/// Summary table for a terminal.
void print_summary(const run_outcome& outcome, const report_options& options, std::ostream& out);

/// Writes everything `options` asks for; an error names the file that could not be written.
std::optional<error> write_reports(const run_outcome& outcome, const sim::simulation_config& config,
                                   const report_options& options, std::ostream& out);

}  // namespace scale::tools
