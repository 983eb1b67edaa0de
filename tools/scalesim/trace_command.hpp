#pragma once
// `scalesim trace`: `gen` writes a synthetic trace as our CSV; `info` summarises trace files.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace scale::tools {

/// Everything `scalesim trace gen` and `scalesim trace info` take on their command lines.
struct trace_command_options {
  std::string action;  // "gen" or "info": which subcommand was given

  // gen
  std::string kind = "poisson";  // poisson | even | onoff | diurnal | steps | spike | azure-shape
  std::string rate;              // requests per second
  std::string length;            // seconds or a Go duration
  std::string duration;          // service-time distribution (docs/traces.md)
  std::string functions = "1";   // independent functions
  std::string steps;             // steps: RATE@DURATION,...
  std::string on, off;           // onoff
  std::string period, amplitude; // diurnal
  std::string spike_start, spike_length, spike_rate;  // spike
  std::string max_rate;          // azure-shape: cap on a function's rate (requests per second), empty = none
  std::uint64_t population_seed = 1;  // azure-shape: draws each function's rate and mean service time
  std::string format = "csv";    // csv | azure2019 (azure-shape only: per-minute counts, plus --durations-out)
  std::string durations_out;     // azure-shape --format azure2019: where the durations file goes

  // gen and info: function i is opened with function_seed(seed, i)
  std::uint64_t seed = 1;

  // info
  std::vector<std::string> files;
  bool per_function = false;      // --functions: one row per function
  std::string expansion = "uniform";
  std::string durations;          // Azure 2019 durations file
};

/// Registers `trace` with its `gen` and `info` subcommands; `options` must outlive the parse.
CLI::App* add_trace_command(CLI::App& app, trace_command_options& options);

/// Runs the parsed subcommand: CSV on `out`; on bad input one line on `err` and exit code 1.
int run_trace(const trace_command_options& options, std::istream& standard_input, std::ostream& out, std::ostream& err);

}  // namespace scale::tools
