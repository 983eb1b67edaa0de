#pragma once
// `scalesim merge`: combines the shard files of a sharded `run`, `compare` or `tune` into exactly what the
// unsharded command prints and writes (issue #5; docs/simulator.md, "Sharding").

#include <iosfwd>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace scale::tools {

/// Everything `scalesim merge` takes on its command line.
struct merge_options {
  std::vector<std::string> shard_files;  // in any order
  std::string out_dir;                   // --out DIR: as the unsharded command's --out
  std::string json_file;                 // --json FILE
  std::string timeline_file;             // --timeline FILE (run shards kept with --shard-timelines)
  std::string plot_file;                 // --plot FILE
  bool quiet = false;                    // no table on stdout
};

/// Registers the `merge` subcommand; `options` must outlive the parse.
CLI::App* add_merge_command(CLI::App& app, merge_options& options);

/// Checks that the files are every shard of one run, once, and reports as that run would: table on `out`,
/// files where asked; diagnostics on `err`; 1 on bad input (the error names the file).
int run_merge(const merge_options& options, std::ostream& out, std::ostream& err);

}  // namespace scale::tools
