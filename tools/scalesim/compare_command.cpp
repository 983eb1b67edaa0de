#include "compare_command.hpp"

#include "policy_flags.hpp"
#include "run_report.hpp"
#include "shard_file.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <ostream>
#include <thread>

namespace scale::tools {
namespace {

using json = nlohmann::ordered_json;

int fail(std::ostream& err, const error& e) {
  fmt::print(err, "scalesim compare: {}\n", e.message);
  return 1;
}

/// "kpa,hpa" → names, each known and given once.
result<std::vector<std::string>> parse_policy_list(const std::string_view all) {
  std::vector<std::string> names;
  std::string_view text = all;
  while (true) {
    const auto comma = text.find(',');
    const std::string name{text.substr(0, comma)};
    if (std::find(policy_names.begin(), policy_names.end(), name) == policy_names.end()) {
      return error{fmt::format("--policies {}: {} is not a policy (expected a comma-separated list of kpa, hpa, "
                               "keepalive, hybrid, oracle)",
                               all, name.empty() ? "an empty name" : name)};
    }
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      return error{fmt::format("--policies: {} is listed twice", name)};
    }
    names.push_back(name);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return names;
}

double share(std::uint64_t part, std::uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

/// One policy's run.
struct policy_outcome {
  std::string name;
  run_outcome outcome;
  sim::function_result total;
};

std::string ratio_text(double pod_seconds, std::optional<double> oracle) {
  if (!oracle || *oracle <= 0) return "-";
  return fmt::format("{:.2f}", pod_seconds / *oracle);
}

void print_table(const std::vector<policy_outcome>& runs, std::optional<double> oracle,
                 const std::vector<std::string>& sources, std::uint64_t seed, std::int32_t cc, std::ostream& out) {
  fmt::print(out, "scalesim compare: {} — {} function{}, seed {}, container concurrency {}\n\n",
             fmt::join(sources, ", "), runs.front().outcome.functions.size(),
             runs.front().outcome.functions.size() == 1 ? "" : "s", seed, cc);
  fmt::print(out, "{:<10} {:>10} {:>9} {:>8} {:>9} {:>9} {:>7} {:>13} {:>13} {:>8}\n", "policy", "requests", "cold",
             "cold %", "p50 ms", "p99 ms", "failed", "pod-s", "idle pod-s", "÷ oracle");
  for (const auto& r : runs) {
    const auto& t = r.total;
    fmt::print(out, "{:<10} {:>10} {:>9} {:>7.3f}% {:>9.1f} {:>9.1f} {:>7} {:>13.0f} {:>13.0f} {:>8}\n", r.name,
               t.requests, t.cold_starts, 100 * share(t.cold_starts, t.requests), t.latency.quantile_ms(0.5),
               t.latency.quantile_ms(0.99), t.failed, t.pod_seconds, t.idle_pod_seconds,
               ratio_text(t.pod_seconds, oracle));
  }
}

/// Per-function cold-start shares, sorted: the CDF over functions (the paper's figures).
std::vector<double> function_cold_shares(const run_outcome& outcome) {
  std::vector<double> shares;
  for (const auto& f : outcome.functions) {
    if (f.requests > 0) shares.push_back(share(f.cold_starts, f.requests));
  }
  std::sort(shares.begin(), shares.end());
  return shares;
}

std::string compare_json(const std::vector<policy_outcome>& runs, std::optional<double> oracle,
                         const std::vector<std::string>& sources, std::uint64_t seed, const json& config) {
  json doc;
  doc["seed"] = seed;
  doc["sources"] = sources;
  doc["config"] = config;
  doc["oracle_pod_seconds"] = oracle ? json(*oracle) : json(nullptr);
  json policies = json::array();
  for (const auto& r : runs) {
    json entry{{"policy", r.name}};
    json total = result_fields(r.total);
    entry["total"] = total;
    entry["pod_seconds_over_oracle"] =
        oracle && *oracle > 0 ? json(r.total.pod_seconds / *oracle) : json(nullptr);
    json functions = json::array();
    for (const auto& f : r.outcome.functions) {
      functions.push_back(json{{"id", f.id},
                               {"requests", f.requests},
                               {"cold_starts", f.cold_starts},
                               {"cold_start_share", share(f.cold_starts, f.requests)},
                               {"failed", f.failed},
                               {"pod_seconds", f.pod_seconds},
                               {"idle_pod_seconds", f.idle_pod_seconds}});
    }
    entry["functions"] = std::move(functions);
    policies.push_back(std::move(entry));
  }
  doc["policies"] = std::move(policies);
  return doc.dump(2) + "\n";
}

std::optional<error> write_compare_plot(const std::vector<policy_outcome>& runs, const std::string& path) {
  std::vector<plot_data> data;
  std::string points;
  for (const auto& r : runs) {
    points += fmt::format("\"{}\" {} {}\n", r.name, 100 * share(r.total.cold_starts, r.total.requests),
                          r.total.idle_pod_seconds / 3600);
  }
  data.push_back({"points.dat", points});
  std::string cdf_plots;
  for (std::size_t k = 0; k < runs.size(); ++k) {
    const auto shares = function_cold_shares(runs[k].outcome);
    std::string cdf;
    for (std::size_t i = 0; i < shares.size(); ++i) {
      cdf += fmt::format("{} {}\n", 100 * shares[i], static_cast<double>(i + 1) / static_cast<double>(shares.size()));
    }
    if (cdf.empty()) cdf = "0 0\n";
    const std::string name = fmt::format("cdf{}.dat", k);
    data.push_back({name, cdf});
    cdf_plots += fmt::format("{}@{}@ using 1:2 with steps lw 2 title '{}'", k == 0 ? "" : ", ", name, runs[k].name);
  }
  // Every plot is titled (or notitle): an untitled one is named by its command, temporary path included, in the
  // SVG, which would then differ from run to run.
  const std::string script = fmt::format(
      "set multiplot layout 1,2\n"
      "set title 'Cold starts vs idle pod time'\nset xlabel 'cold-start share of requests (%)'\n"
      "set ylabel 'idle pod-hours'\nset grid\nset key off\nset offsets graph 0.1, graph 0.1, graph 0.1, graph 0.1\n"
      "plot @points.dat@ using 2:3 with points pt 7 ps 1.5 notitle, "
      "'' using 2:3:1 with labels offset 1,1 left notitle\n"
      "set title 'Cold-start share per function (CDF over functions)'\nset xlabel 'cold-start share (%)'\n"
      "set ylabel 'share of functions'\nset yrange [0:1]\nset xrange [0:100]\nset key bottom right\nset offsets 0,0,0,0\n"
      "plot {}\n"
      "unset multiplot\n",
      cdf_plots);
  return run_gnuplot(path, data, script);
}

}  // namespace

CLI::App* add_compare_command(CLI::App& app, compare_options& o) {
  auto* cmd = app.add_subcommand("compare", "Run several scaling policies on the same arrivals and compare cold "
                                            "starts, latency and pod-seconds (against the oracle's lower bound)");
  run_options& r = o.run;
  // One request per pod by default, as in "Serverless in the Wild": every policy and the oracle alike.
  r.container_concurrency = 1;
  cmd->add_option("trace", r.traces, "trace files (Azure 2019, Azure 2021, or our CSV); none = the bundled sample");
  cmd->add_option("--policies", o.policies, "comma-separated: kpa, hpa, keepalive, hybrid, oracle")
      ->capture_default_str();
  cmd->add_option("--set", r.config_sets,
                  "a policy knob NAME.KEY=VALUE (e.g. keepalive.idle=10m), or a config-autoscaler KEY=VALUE for the "
                  "KPA (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--config", r.config_file, "config-autoscaler ConfigMap YAML (KPA)")->check(CLI::ExistingFile);
  cmd->add_option("--annotation", r.annotations, "a revision annotation KEY=VALUE (KPA; repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--annotations", r.annotations_file, "a YAML map of revision annotations (KPA)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--container-concurrency", r.container_concurrency,
                  "per-pod limit for every policy (0 = none; the oracle's bound assumes 1)")
      ->capture_default_str();
  cmd->add_option("--seed", r.seed, "random seed; the same seed gives the same output")->capture_default_str();
  cmd->add_option("--out", r.out_dir, "directory for compare.json and compare.svg");
  cmd->add_option("--json", r.json_file, "write the comparison as JSON");
  cmd->add_option("--plot", r.plot_file, "write a plot (.svg or .png) with gnuplot");
  cmd->add_option("--cold-start", r.cold_start, "cold start distribution (see run)")->capture_default_str();
  cmd->add_option("--until", r.until, "stop simulating here");
  cmd->add_option("--revision-timeout", r.revision_timeout, "requests older than this fail")->capture_default_str();
  cmd->add_option("--drain", r.drain, "how long a deleted pod drains before it is gone")->capture_default_str();
  cmd->add_option("--expansion", r.expansion, "Azure 2019 per-minute counts to arrivals: uniform, poisson or equal")
      ->check(CLI::IsMember({"uniform", "poisson", "equal"}))
      ->capture_default_str();
  cmd->add_option("--durations", r.durations_file, "Azure 2019 duration-percentiles file (default: the sibling)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--threads", r.threads, "worker threads (0 = all cores)")->capture_default_str();
  cmd->add_flag("--quiet", r.quiet, "no table on stdout");
  cmd->add_option("--shard", r.shard,
                  "run only functions i with i mod N = I: I/N, or auto/N with I from JOB_COMPLETION_INDEX; writes a "
                  "shard file for scalesim merge");
  cmd->add_option("--shard-out", r.shard_out, "the shard file (default: shard-I.json in --out)");
  return cmd;
}

std::optional<error> write_compare_reports(const compare_results& results, const run_options& o, std::ostream& out) {
  std::vector<policy_outcome> runs;
  std::optional<double> oracle;
  for (const auto& run : results.runs) {
    runs.push_back(policy_outcome{run.name, run.outcome, total_of(run.outcome.functions)});
    if (run.name == "oracle") oracle = runs.back().total.pod_seconds;
  }
  if (!o.quiet) print_table(runs, oracle, results.sources, results.seed, results.container_concurrency, out);
  std::string json_file = o.json_file;
  std::string plot_file = o.plot_file;
  if (!o.out_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.out_dir, ec);
    if (ec) return error{fmt::format("{}: cannot create ({})", o.out_dir, ec.message())};
    if (json_file.empty()) json_file = (std::filesystem::path(o.out_dir) / "compare.json").string();
    if (plot_file.empty()) plot_file = (std::filesystem::path(o.out_dir) / "compare.svg").string();
  }
  if (!json_file.empty()) {
    if (auto e = write_file(json_file, compare_json(runs, oracle, results.sources, results.seed, results.config))) {
      return e;
    }
  }
  if (!plot_file.empty()) {
    if (auto e = write_compare_plot(runs, plot_file)) return e;
  }
  if (!o.quiet) {
    if (!json_file.empty()) fmt::print(out, "\njson: {}\n", json_file);
    if (!plot_file.empty()) fmt::print(out, "plot: {}\n", plot_file);
  }
  return std::nullopt;
}

int run_compare(const compare_options& o, std::ostream& out, std::ostream& err) {
  auto shard = shard_from_flags(o.run);
  if (!shard) return fail(err, shard.error_value());
  auto names = parse_policy_list(o.policies);
  if (!names) return fail(err, names.error_value());
  std::vector<sim::simulation_config> configs;
  for (const auto& name : *names) {
    auto config = make_simulation_config(o.run, name, *names);
    if (!config) return fail(err, config.error_value());
    configs.push_back(std::move(config).value());
  }
  std::optional<std::string> shard_path;
  std::optional<nlohmann::ordered_json> inputs;
  if (*shard) {
    auto path = shard_output_path(o.run, (*shard)->index);
    if (!path) return fail(err, path.error_value());
    shard_path = *path;
    auto described = shard_inputs("compare", o.run, *names, (*shard)->count, false);
    if (!described) return fail(err, described.error_value());
    inputs = std::move(described).value();
  }
  std::vector<std::string> sources;
  auto workload = load_traces(o.run, sources);
  if (!workload) return fail(err, workload.error_value());
  const std::size_t functions_total = workload->functions.size();
  // A shard simulates its functions only, each with the seed of its index in the whole trace.
  std::vector<std::size_t> indices = *shard ? shard_function_indices(functions_total, **shard)
                                            : shard_function_indices(functions_total, shard_spec{});
  const sim::trace mine = *shard ? select_functions(std::move(workload).value(), indices) : std::move(workload).value();
  const unsigned threads = o.run.threads != 0 ? o.run.threads : std::max(1u, std::thread::hardware_concurrency());

  // Policies settle at different times (the HPA keeps its minimum pods and stops at the last request; the oracle
  // drains its last pod): each function is billed over the same span for every policy, the latest natural end
  // among them (with --until every run already covers exactly [0, until]).
  auto outcomes = run_functions_to_common_end(mine, indices, configs, o.run.seed, threads, err);
  std::vector<policy_outcome> runs;
  for (std::size_t k = 0; k < names->size(); ++k) runs.push_back(policy_outcome{(*names)[k], std::move(outcomes[k]), {}});

  if (*shard) {
    shard_file file;
    file.command = "compare";
    file.shard = **shard;
    file.fingerprint = fingerprint_of(*inputs);
    file.inputs = std::move(*inputs);
    file.functions_total = functions_total;
    file.seed = o.run.seed;
    file.sources = sources;
    file.config = config_json(configs.front());
    file.container_concurrency = configs.front().container_concurrency;
    for (auto& r : runs) file.runs.push_back(shard_run{r.name, indices, std::move(r.outcome)});
    if (auto e = write_file(*shard_path, shard_file_text(file))) return fail(err, *e);
    if (!o.run.quiet) {
      fmt::print(out, "scalesim compare: shard {}/{}: {} of {} functions -> {}\n", file.shard.index, file.shard.count,
                 indices.size(), functions_total, *shard_path);
    }
    return 0;
  }
  compare_results results;
  results.seed = o.run.seed;
  results.sources = sources;
  results.config = config_json(configs.front());
  results.container_concurrency = configs.front().container_concurrency;
  for (auto& r : runs) results.runs.push_back(policy_run{r.name, std::move(r.outcome)});
  if (auto e = write_compare_reports(results, o.run, out)) return fail(err, *e);
  return 0;
}

}  // namespace scale::tools
