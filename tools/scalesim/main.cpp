// scalesim: the libscale command line.
#include "decide.hpp"

#include <CLI/CLI.hpp>

#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"scalesim: Knative KPA autoscaling, replayed and simulated"};
  app.require_subcommand(1);
  scale::tools::decide_options decide;
  auto* decide_command = scale::tools::add_decide_command(app, decide);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (decide_command->parsed()) return scale::tools::run_decide(decide, std::cin, std::cout, std::cerr);
  return 0;
}
