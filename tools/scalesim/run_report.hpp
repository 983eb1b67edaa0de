#pragma once
// What `scalesim run` writes: the summary table, JSON, the timeline CSV and the gnuplot plot.

#include <sim/function_result.hpp>
#include <sim/simulation.hpp>

#include <libscale/result.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
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
  std::string policy;  // named in the table's title unless it is the default KPA
};

/// The result fields total and every function share in the JSON (issue #3 contract: "same fields").
nlohmann::ordered_json result_fields(const sim::function_result& r);

/// The resolved autoscaling settings and the model's own, as the JSON's "config".
nlohmann::ordered_json config_json(const sim::simulation_config& c);

/// Writes `text` to `path`; the error names the file.
std::optional<error> write_file(const std::string& path, const std::string& text);

/// A data file a gnuplot script reads, named `@NAME@` in the script.
struct plot_data {
  std::string name;
  std::string text;
};

/// Runs gnuplot on `script_body` (terminal and output set from `path`: .png or else SVG) with `data` in a
/// private temporary directory; the error names `path` and gnuplot's first complaint.
std::optional<error> run_gnuplot(const std::string& path, const std::vector<plot_data>& data,
                                 const std::string& script_body, std::string_view size = "1100,800");

/// All functions merged into one total.
sim::function_result total_of(const std::vector<sim::function_result>& functions);

/// The policy's name as the JSON reports it ("kpa" for the simulator's own loop).
std::string policy_name(const sim::simulation_config& config);

/// The JSON summary (issue #3 contract: seed, total{...}, functions[{id, ...}]).
std::string summary_json(const run_outcome& outcome, const sim::simulation_config& config, const report_options& options);

/// The same from the config already as `config_json` and the policy's name (`scalesim merge` has no config).
std::string summary_json(const run_outcome& outcome, const nlohmann::ordered_json& config, std::string_view policy,
                         const report_options& options);

/// The per-tick timeline as CSV (issue #3 contract header).
void write_timeline_csv(const run_outcome& outcome, std::ostream& out);

/// Summary table for a terminal.
void print_summary(const run_outcome& outcome, const report_options& options, std::ostream& out);

/// Writes everything `options` asks for; an error names the file that could not be written.
std::optional<error> write_reports(const run_outcome& outcome, const sim::simulation_config& config,
                                   const report_options& options, std::ostream& out);

/// The same from the config already as `config_json` and the policy's name (`scalesim merge`).
std::optional<error> write_reports(const run_outcome& outcome, const nlohmann::ordered_json& config,
                                   std::string_view policy, const report_options& options, std::ostream& out);

}  // namespace scale::tools
