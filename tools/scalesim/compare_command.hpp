#pragma once
// `scalesim compare`: several scaling policies on the same arrivals, side by side (issue #4).

#include "run_command.hpp"

#include <iosfwd>
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

/// Registers the `compare` subcommand; `options` must outlive the parse.
CLI::App* add_compare_command(CLI::App& app, compare_options& options);

/// Runs every policy on the same arrivals (same seed): table on `out`, JSON and plot where asked; 1 on bad input.
int run_compare(const compare_options& options, std::ostream& out, std::ostream& err);

}  // namespace scale::tools
