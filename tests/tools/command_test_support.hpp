#pragma once
// What the in-process tests of the scalesim subcommands share: running one with captured output, reading the
// files it wrote, and scratch paths of their own.

#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>

#include <unistd.h>

namespace scale::tools::testing {

/// A subcommand's exit code and what it printed.
struct command_output {
  int code = 0;
  std::string out;
  std::string err;
};

/// Runs `command(options, out, err)` (e.g. `run_simulation`) and keeps what it printed.
template <class Options, class Command>
command_output capture(const Options& options, Command command) {
  std::ostringstream out, err;
  command_output r;
  r.code = command(options, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

/// The whole file, bytes as they are; empty when it cannot be read.
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

/// `name` in a scratch directory of `area` for this process: CTest runs the test cases of one file in parallel
/// processes, which must not write each other's files.
inline std::filesystem::path scratch(std::string_view area, const std::string& name) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / (std::string{area} + "-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir / name;
}

}  // namespace scale::tools::testing
