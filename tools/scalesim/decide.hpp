#pragma once
// `scalesim decide`: replays observed metrics through libscale's decider, one CSV row per decision.

#include <iosfwd>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace scale::tools {

/// Everything `scalesim decide` takes on its command line (the interface is fixed by issue #2).
struct decide_options {
  std::string config_file;
  std::vector<std::string> config_sets;    // --set KEY=VALUE
  std::vector<std::string> annotations;    // --annotation KEY=VALUE
  std::vector<std::string> decider_sets;   // --decider FIELD=VALUE
  std::string input = "samples";           // samples | averages
  std::string tick = "2";                  // seconds between decisions in samples mode
  std::string file = "-";
};

/// Registers the `decide` subcommand; `options` must outlive the parse.
CLI::App* add_decide_command(CLI::App& app, decide_options& options);

/// Runs the replay: CSV on `out`, one diagnostic line on `err` and exit code 1 on bad input.
int run_decide(const decide_options& options, std::istream& standard_input, std::ostream& out, std::ostream& err);

}  // namespace scale::tools
