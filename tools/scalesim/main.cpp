// scalesim: the libscale command line.
#include "compare_command.hpp"
#include "decide.hpp"
#include "merge_command.hpp"
#include "run_command.hpp"
#include "trace_command.hpp"
#include "tune_command.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"scalesim: Knative KPA autoscaling, replayed and simulated"};
  app.require_subcommand(1);
  scale::tools::decide_options decide;
  auto* decide_command = scale::tools::add_decide_command(app, decide);
  scale::tools::run_options run;
  auto* run_command = scale::tools::add_run_command(app, run);
  scale::tools::compare_options compare;
  auto* compare_command = scale::tools::add_compare_command(app, compare);
  scale::tools::merge_options merge;
  auto* merge_command = scale::tools::add_merge_command(app, merge);
  scale::tools::trace_command_options trace;
  auto* trace_command = scale::tools::add_trace_command(app, trace);
  scale::tools::tune_options tune;
  auto* tune_command = scale::tools::add_tune_command(app, tune);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (decide_command->parsed()) return scale::tools::run_decide(decide, std::cin, std::cout, std::cerr);
  if (run_command->parsed()) return scale::tools::run_simulation(run, std::cout, std::cerr);
  if (compare_command->parsed()) return scale::tools::run_compare(compare, std::cout, std::cerr);
  if (merge_command->parsed()) return scale::tools::run_merge(merge, std::cout, std::cerr);
  if (tune_command->parsed()) return scale::tools::run_tune(tune, std::cout, std::cerr);
  if (trace_command->parsed()) return scale::tools::run_trace(trace, std::cin, std::cout, std::cerr);
  return 0;
}
