#include "merge_command.hpp"

#include "compare_command.hpp"
#include "run_report.hpp"
#include "shard_file.hpp"
#include "tune_command.hpp"
#include "tune_shard.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <optional>
#include <ostream>

namespace scale::tools {
namespace {

using json = nlohmann::ordered_json;

int fail(std::ostream& err, const error& e) {
  fmt::print(err, "scalesim merge: {}\n", e.message);
  return 1;
}

std::string short_dump(const json& value) {
  std::string text = value.dump();
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

/// The first input two runs differ in, as "KEY: A here, B in OTHER".
std::string first_difference(const json& here, const json& there, const std::string& other) {
  for (const auto& [key, value] : here.items()) {
    const auto it = there.find(key);
    if (it == there.end()) return fmt::format("{}: {} here, absent in {}", key, short_dump(value), other);
    if (*it != value) return fmt::format("{}: {} here, {} in {}", key, short_dump(value), short_dump(*it), other);
  }
  for (const auto& [key, value] : there.items()) {
    if (!here.contains(key)) return fmt::format("{}: absent here, {} in {}", key, short_dump(value), other);
  }
  return "the fingerprints differ";
}

/// Reads every file and checks they are all the shards of one run, each once; the error names the file.
result<std::vector<shard_file>> read_shards(const std::vector<std::string>& paths) {
  std::vector<shard_file> shards;
  for (const auto& path : paths) {
    auto shard = read_shard_file(path);
    if (!shard) return shard.error_value();
    shards.push_back(std::move(shard).value());
  }
  const shard_file& first = shards.front();
  const std::string& first_path = paths.front();
  std::vector<shard_spec> specs;
  for (std::size_t k = 0; k < shards.size(); ++k) {
    const shard_file& s = shards[k];
    if (s.command != first.command) {
      return error{fmt::format("{}: a shard of scalesim {}, but {} is of scalesim {}", paths[k], s.command, first_path,
                               first.command)};
    }
    if (s.fingerprint != first.fingerprint) {
      return error{fmt::format("{}: a shard of a different run than {} ({})", paths[k], first_path,
                               first_difference(s.inputs, first.inputs, first_path))};
    }
    if (s.functions_total != first.functions_total || s.runs.size() != first.runs.size()) {
      return error{fmt::format("{}: {} functions and {} policies, but {} has {} and {}", paths[k], s.functions_total,
                               s.runs.size(), first_path, first.functions_total, first.runs.size())};
    }
    specs.push_back(s.shard);
  }
  if (auto e = check_shard_set(paths, specs)) return *e;
  return shards;
}

/// Policy `p`'s results over the whole trace, in trace order, moved out of the shards.
run_outcome assemble(std::vector<shard_file>& shards, std::size_t p, bool timelines) {
  const std::size_t n = shards.front().functions_total;
  run_outcome whole;
  whole.functions.resize(n);
  if (timelines) whole.timelines.resize(n);
  for (auto& s : shards) {
    shard_run& run = s.runs[p];
    for (std::size_t k = 0; k < run.indices.size(); ++k) {
      whole.functions[run.indices[k]] = std::move(run.outcome.functions[k]);
      if (timelines) whole.timelines[run.indices[k]] = std::move(run.outcome.timelines[k]);
    }
  }
  return whole;
}

}  // namespace

CLI::App* add_merge_command(CLI::App& app, merge_options& o) {
  auto* cmd = app.add_subcommand("merge", "Combine the shard files of a sharded run, compare or tune (--shard "
                                          "I/N) into exactly the unsharded output");
  cmd->add_option("shards", o.shard_files, "every shard file of one run, in any order")->required();
  cmd->add_option("--out", o.out_dir, "as the unsharded command's --out (run: summary.json, timeline.csv, plot.svg; "
                                      "compare: compare.json, compare.svg; tune: tune.json, front.csv, YAML, plot.svg)");
  cmd->add_option("--json", o.json_file, "write the JSON summary (run) or comparison (compare)");
  cmd->add_option("--timeline", o.timeline_file,
                  "write the per-tick timeline as CSV (run shards with --shard-timelines)");
  cmd->add_option("--plot", o.plot_file, "write a plot (.svg or .png) with gnuplot");
  cmd->add_flag("--quiet", o.quiet, "no table on stdout");
  return cmd;
}

int run_merge(const merge_options& o, std::ostream& out, std::ostream& err) {
  if (o.shard_files.empty()) return fail(err, error{"expected shard files (from run, compare or tune with --shard I/N)"});
  if (is_tune_shard_file(o.shard_files.front())) {
    for (const auto& [flag, value] : {std::pair{"--json", o.json_file}, {"--timeline", o.timeline_file}}) {
      if (!value.empty()) {
        return fail(err, error{fmt::format("{} {}: tune shards merge into --out DIR (tune.json, front.csv, YAML, "
                                           "plot.svg) and --plot",
                                           flag, value)});
      }
    }
    return merge_tune_shards(o.shard_files, o.out_dir, o.plot_file, o.quiet, out, err);
  }
  auto read = read_shards(o.shard_files);
  if (!read) return fail(err, read.error_value());
  std::vector<shard_file> shards = std::move(read).value();
  // `assemble` moves the results out; `first`'s other fields stay.
  const shard_file& first = shards.front();

  if (first.command == "compare") {
    if (!o.timeline_file.empty()) {
      return fail(err, error{fmt::format("--timeline {}: compare writes no timeline", o.timeline_file)});
    }
    compare_results results;
    results.seed = first.seed;
    results.sources = first.sources;
    results.config = first.config;
    results.container_concurrency = first.container_concurrency;
    for (std::size_t p = 0; p < first.runs.size(); ++p) {
      std::string name = first.runs[p].policy;
      results.runs.push_back(policy_run{std::move(name), assemble(shards, p, false)});
    }
    run_options report;
    report.out_dir = o.out_dir;
    report.json_file = o.json_file;
    report.plot_file = o.plot_file;
    report.quiet = o.quiet;
    if (auto e = write_compare_reports(results, report, out)) return fail(err, *e);
    return 0;
  }

  if (!first.timelines) {
    for (const auto& [flag, value] : {std::pair{"--timeline", o.timeline_file}, {"--plot", o.plot_file},
                                      {"--out", o.out_dir}}) {
      if (!value.empty()) {
        return fail(err, error{fmt::format("{} {}: needs the timelines, which the shards do not hold (run them with "
                                           "--shard-timelines, or merge with --json only)",
                                           flag, value)});
      }
    }
  }
  report_options report;
  report.seed = first.seed;
  report.sources = first.sources;
  report.json_file = o.json_file;
  report.timeline_file = o.timeline_file;
  report.plot_file = o.plot_file;
  report.out_dir = o.out_dir;
  report.quiet = o.quiet;
  report.policy = first.policy_flag;
  const json config = first.config;
  const std::string policy = first.runs.front().policy;
  const run_outcome outcome = assemble(shards, 0, first.timelines);
  if (auto e = write_reports(outcome, config, policy, report, out)) return fail(err, *e);
  return 0;
}

}  // namespace scale::tools
