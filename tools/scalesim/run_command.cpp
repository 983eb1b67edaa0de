#include "run_command.hpp"

#include "decimal_time.hpp"
#include "policy_flags.hpp"
#include "revision_flags.hpp"
#include "run_report.hpp"
#include "shard_file.hpp"
#include "worker_pool.hpp"

#include <sim/distribution.hpp>
#include <sim/replayed_trace.hpp>
#include <sim/simulation.hpp>
#include <sim/trace_format.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include <unistd.h>

#ifndef LIBSCALE_SOURCE_DIR
#define LIBSCALE_SOURCE_DIR "."
#endif

namespace scale::tools {
namespace {

using namespace std::chrono_literals;

int fail(std::ostream& err, const error& e) {
  fmt::print(err, "scalesim run: {}\n", e.message);
  return 1;
}

result<duration> parse_flag_duration(std::string_view flag, std::string_view text) {
  auto parsed = sim::parse_duration_text(text);
  if (!parsed || *parsed < 0s) {
    return error{fmt::format("{} {}: expected a duration like 300s or 5m, or seconds", flag, text)};
  }
  return *parsed;
}

result<sim::duration_sampler> parse_sampler(std::string_view flag, std::string_view text) {
  auto parsed = sim::parse_distribution(text);
  if (!parsed) return error{fmt::format("{} {}: {}", flag, text, parsed.error_value().message)};
  return sim::duration_sampler{[d = std::move(parsed).value()](std::mt19937_64& rng) { return d.sample(rng); }};
}

/// "12@90s,18@90s" → phases.
result<std::vector<sim::closed_loop_phase>> parse_phases(std::string_view text) {
  std::vector<sim::closed_loop_phase> phases;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view part = text.substr(0, comma);
    const auto at = part.find('@');
    const auto bad = [&] {
      return error{fmt::format("--closed {}: expected USERS@LENGTH[,USERS@LENGTH...], e.g. 12@90s,18@90s", part)};
    };
    if (at == std::string_view::npos) return bad();
    sim::closed_loop_phase phase;
    const std::string users{part.substr(0, at)};
    char* end = nullptr;
    const long long n = std::strtoll(users.c_str(), &end, 10);
    if (users.empty() || *end != '\0' || n < 0 || n > 1'000'000) return bad();
    phase.users = n;
    auto length = sim::parse_duration_text(part.substr(at + 1));
    if (!length || *length <= 0s) return bad();
    phase.length = *length;
    phases.push_back(phase);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  if (phases.empty()) return error{"--closed: expected at least one USERS@LENGTH phase"};
  return phases;
}

result<sim::simulation_config> make_config(const run_options& o, const std::string& policy,
                                          const std::vector<std::string>& known_policies) {
  auto sets = split_set_flags(o.config_sets);
  if (!sets) return sets.error_value();
  // Keep-alive, hybrid and the oracle model one request per pod (Lambda-like) unless told otherwise.
  const std::int32_t cc =
      o.container_concurrency == 0 && one_request_per_pod(policy) ? 1 : o.container_concurrency;
  revision_flags flags;
  flags.config_file = o.config_file;
  flags.config_sets = sets->config_sets;
  flags.annotations_file = o.annotations_file;
  flags.annotations = o.annotations;
  flags.container_concurrency = cc;
  auto revision = resolve_revision_flags(flags);
  if (!revision) return revision.error_value();

  sim::simulation_config config;
  config.revision = *revision;
  config.container_concurrency = cc;
  auto cold = parse_sampler("--cold-start", o.cold_start);
  if (!cold) return cold.error_value();
  config.cold_start = *cold;
  auto timeout = parse_flag_duration("--revision-timeout", o.revision_timeout);
  if (!timeout) return timeout.error_value();
  config.revision_timeout = *timeout;
  auto drain = parse_flag_duration("--drain", o.drain);
  if (!drain) return drain.error_value();
  config.drain_quiet_period = *drain;
  config.start = o.start == "deployed" ? sim::start_state::deployed : sim::start_state::idle;
  if (!o.until.empty()) {
    auto until = parse_flag_duration("--until", o.until);
    if (!until) return until.error_value();
    config.until = *until;
  }
  // Below one pod in ~17 minutes a waiting creation ticks through years of model time: refuse, do not crawl.
  if (!(o.pod_creation_rate >= 0) || (o.pod_creation_rate > 0 && o.pod_creation_rate < 0.001)) {
    return error{fmt::format("--pod-creation-rate {}: must be 0 (unlimited) or at least 0.001 pods per second",
                             o.pod_creation_rate)};
  }
  config.pod_creation_rate_per_s = o.pod_creation_rate;
  auto chosen = make_policy(policy, sets->policy_knobs, known_policies, config, o.cold_start);
  if (!chosen) return chosen.error_value();
  config.policy = std::move(chosen).value();
  return config;
}

/// Copies standard input to a file that lives until the process ends, for readers that take paths.
result<std::string> spool_standard_input() {
  static const std::filesystem::path file =
      std::filesystem::temp_directory_path() / fmt::format("scalesim-stdin-{}.csv", ::getpid());
  std::ofstream copy(file, std::ios::binary);
  copy << std::cin.rdbuf();
  copy.close();
  if (!copy) return error{fmt::format("-: cannot spool standard input to {}", file.string())};
  std::atexit([] {
    std::error_code ignored;
    std::filesystem::remove(file, ignored);
  });
  return file.string();
}

/// Progress on stderr, only when it is a terminal.
class progress_line {
 public:
  progress_line(std::ostream& err, std::size_t total) : err_(err), total_(total), enabled_(isatty(STDERR_FILENO) != 0) {}
  void done_one(const std::string& id) {
    if (!enabled_) return;
    std::lock_guard lock(mutex_);
    ++done_;
    fmt::print(err_, "\r[{}/{}] {:<40.40}", done_, total_, id);
    if (done_ == total_) fmt::print(err_, "\r{:60}\r", "");
    err_.flush();
  }

 private:
  std::ostream& err_;
  std::size_t total_;
  bool enabled_;
  std::size_t done_ = 0;
  std::mutex mutex_;
};

/// Runs every function on `threads` workers; results and timelines come back in function order, so the output
/// does not depend on the thread count. With a pod creation rate limit and several functions, the limit is the
/// cluster's: all functions then run in one event loop (`simulate_cluster`) on this thread.
}  // namespace

run_outcome run_functions(const sim::trace& workload, const sim::simulation_config& config, std::uint64_t seed,
                          unsigned threads, bool keep_timelines, std::ostream& err) {
  std::vector<std::size_t> indices(workload.functions.size());
  for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = i;
  return run_functions(workload, indices, config, seed, threads, keep_timelines, err);
}

run_outcome run_functions(const sim::trace& workload, const std::vector<std::size_t>& indices,
                          const sim::simulation_config& config, std::uint64_t seed, unsigned threads,
                          bool keep_timelines, std::ostream& err) {
  const std::size_t n = workload.functions.size();
  run_outcome outcome;
  outcome.functions.resize(n);
  if (keep_timelines) outcome.timelines.resize(n);
  progress_line progress(err, n);
  if (config.pod_creation_rate_per_s > 0 && n > 1) {
    // Each function's seed and stream exactly as on the parallel path.
    std::vector<std::unique_ptr<sim::arrival_source>> sources(n);
    std::vector<sim::cluster_function> cluster(n);
    for (std::size_t i = 0; i < n; ++i) {
      cluster[i].seed = sim::function_seed(seed, indices[i]);
      sources[i] = workload.functions[i].open(cluster[i].seed);
      cluster[i].arrivals = sources[i].get();
      if (keep_timelines) {
        cluster[i].timeline = [&rows = outcome.timelines[i]](const sim::timeline_row& row) { rows.push_back(row); };
      }
    }
    outcome.functions = sim::simulate_cluster(cluster, config);
    for (std::size_t i = 0; i < n; ++i) {
      outcome.functions[i].id = workload.functions[i].id;
      progress.done_one(workload.functions[i].id);
    }
    return outcome;
  }
  for_each_index(n, threads, [&](std::size_t i) {
    const auto& function = workload.functions[i];
    const std::uint64_t function_seed = sim::function_seed(seed, indices[i]);
    auto arrivals = function.open(function_seed);
    sim::timeline_sink sink;
    if (keep_timelines) sink = [&rows = outcome.timelines[i]](const sim::timeline_row& row) { rows.push_back(row); };
    outcome.functions[i] = sim::simulate(*arrivals, config, function_seed, sink);
    outcome.functions[i].id = function.id;
    progress.done_one(function.id);
  });
  return outcome;
}

std::vector<run_outcome> run_functions_to_common_end(const sim::trace& workload,
                                                     const std::vector<std::size_t>& indices,
                                                     const std::vector<sim::simulation_config>& configs,
                                                     std::uint64_t seed, unsigned threads, std::ostream& err) {
  const std::size_t n = workload.functions.size();
  std::vector<run_outcome> outcomes(configs.size());
  for (auto& o : outcomes) o.functions.resize(n);
  progress_line progress(err, n);
  for_each_index(n, threads, [&](std::size_t i) {
    const auto& function = workload.functions[i];
    const std::uint64_t function_seed = sim::function_seed(seed, indices[i]);
    // Every config reads the same arrivals: expand them once (up to 256 MiB a worker), else stream each time.
    std::shared_ptr<const std::vector<sim::arrival>> recorded;
    if (configs.size() > 1) {
      if (auto arrivals = sim::record_arrivals(function, function_seed, (std::size_t{256} << 20) / sizeof(sim::arrival))) {
        recorded = std::make_shared<const std::vector<sim::arrival>>(std::move(*arrivals));
      }
    }
    const auto open = [&]() -> std::unique_ptr<sim::arrival_source> {
      return recorded ? sim::replay_arrivals(recorded) : function.open(function_seed);
    };
    auto results = sim::simulate_to_common_end(open, configs, function_seed);
    for (std::size_t k = 0; k < configs.size(); ++k) {
      outcomes[k].functions[i] = std::move(results[k]);
      outcomes[k].functions[i].id = function.id;
    }
    progress.done_one(function.id);
  });
  return outcomes;
}

result<sim::simulation_config> make_simulation_config(const run_options& options, const std::string& policy,
                                                      const std::vector<std::string>& known_policies) {
  return make_config(options, policy, known_policies);
}

result<sim::trace> load_traces(const run_options& o, std::vector<std::string>& sources) {
  return load_trace_files(o.traces.empty() ? std::vector{default_trace_path()} : o.traces, o.expansion,
                          o.durations_file, sources);
}

result<sim::trace> load_trace_files(const std::vector<std::string>& paths, const std::string& expansion_text,
                                    const std::string& durations_file, std::vector<std::string>& sources) {
  sim::trace workload;
  sim::trace_options trace_options;
  auto expansion = sim::parse_minute_expansion(expansion_text);
  if (!expansion) return expansion.error_value();
  trace_options.expansion = *expansion;
  trace_options.durations_file = durations_file;
  for (const auto& path : paths) {
    // Readers stream from files; a trace piped in on "-" is spooled to a temporary file first.
    auto spooled = path == "-" ? spool_standard_input() : result<std::string>{path};
    if (!spooled) return spooled.error_value();
    auto opened = sim::open_trace(*spooled, trace_options);
    if (!opened) return opened.error_value();
    sim::trace opened_trace = std::move(opened).value();
    for (auto& function : opened_trace.functions) {
      // Several traces may hold the same function id: qualify ids by their file when there is more than one.
      if (paths.size() > 1) function.id = fmt::format("{}:{}", std::filesystem::path(path).filename().string(), function.id);
      workload.functions.push_back(std::move(function));
    }
    sources.push_back(path);
  }
  if (workload.functions.empty()) return error{"the trace has no functions"};
  return workload;
}

std::string default_trace_path() {
  // The source tree's copy when run from a build, else the installed one.
  const std::filesystem::path in_tree = std::filesystem::path{LIBSCALE_SOURCE_DIR} / "traces/azure2019-raw10/invocations.csv";
  return in_tree.string();
}

CLI::App* add_run_command(CLI::App& app, run_options& o) {
  auto* cmd = app.add_subcommand("run", "Replay traces through a simulated Knative service and report cold starts, "
                                        "latency and pod-seconds");
  cmd->add_option("trace", o.traces, "trace files (Azure 2019, Azure 2021, or our CSV); none = the bundled sample");
  cmd->add_option("--config", o.config_file, "config-autoscaler ConfigMap YAML")->check(CLI::ExistingFile);
  cmd->add_option("--set", o.config_sets, "a config-autoscaler key, KEY=VALUE (repeatable)")->allow_extra_args(false);
  cmd->add_option("--annotation", o.annotations,
                  "a revision annotation KEY=VALUE, autoscaling.knative.dev/ prefix optional (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--annotations", o.annotations_file, "a YAML map of revision annotations")->check(CLI::ExistingFile);
  cmd->add_option("--container-concurrency", o.container_concurrency, "the revision's hard per-pod limit (0 = none)")
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "random seed; the same seed gives the same output")->capture_default_str();
  cmd->add_option("--out", o.out_dir, "directory for summary.json, timeline.csv and plot.svg");
  cmd->add_option("--json", o.json_file, "write the summary as JSON");
  cmd->add_option("--timeline", o.timeline_file, "write the per-tick timeline as CSV");
  cmd->add_option("--plot", o.plot_file, "write a plot (.svg or .png) with gnuplot");
  cmd->add_option("--cold-start", o.cold_start, "cold start distribution (2s, exp:MEAN, lognormal:MEDIAN,SIGMA, "
                                                "uniform:A,B, empirical:FILE)")
      ->capture_default_str();
  cmd->add_option("--start", o.start, "idle (zero pods) or deployed (initial scale, ready)")
      ->check(CLI::IsMember({"idle", "deployed"}))
      ->capture_default_str();
  cmd->add_option("--until", o.until, "stop simulating here (default: when back at the floor after the last request)");
  cmd->add_option("--revision-timeout", o.revision_timeout, "requests older than this fail")->capture_default_str();
  cmd->add_option("--drain", o.drain, "how long a deleted pod drains before it is gone")->capture_default_str();
  cmd->add_option("--expansion", o.expansion, "Azure 2019 per-minute counts to arrivals: uniform, poisson or equal")
      ->check(CLI::IsMember({"uniform", "poisson", "equal"}))
      ->capture_default_str();
  cmd->add_option("--durations", o.durations_file, "Azure 2019 duration-percentiles file (default: the sibling file)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--pod-creation-rate", o.pod_creation_rate,
                  "cluster-wide: pods created per second at most, shared by all functions, which then run on one "
                  "thread (0 = unlimited)")
      ->capture_default_str();
  cmd->add_option("--threads", o.threads, "worker threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--closed", o.closed, "closed-loop load instead of a trace: USERS@LENGTH[,USERS@LENGTH...]");
  cmd->add_option("--duration", o.duration, "closed-loop service time distribution")->capture_default_str();
  cmd->add_option("--think", o.think, "closed-loop think time distribution (default none)");
  cmd->add_option("--function", o.function_name, "closed-loop function name")->capture_default_str();
  cmd->add_flag("--quiet", o.quiet, "no summary table on stdout");
  cmd->add_option("--policy", o.policy, "scaling policy: kpa, hpa, keepalive, hybrid or oracle (knobs: --set "
                                        "NAME.KEY=VALUE, see docs/policies.md)")
      ->check(CLI::IsMember(policy_names))
      ->capture_default_str();
  cmd->add_option("--shard", o.shard,
                  "run only functions i with i mod N = I: I/N, or auto/N with I from JOB_COMPLETION_INDEX; writes a "
                  "shard file for scalesim merge");
  cmd->add_option("--shard-out", o.shard_out, "the shard file (default: shard-I.json in --out)");
  cmd->add_flag("--shard-timelines", o.shard_timelines,
                "keep the per-tick timelines in the shard file, so merge can write --timeline and --plot");
  return cmd;
}

namespace {

/// `run --shard`: simulates this shard's functions and writes the shard file `scalesim merge` reads.
int run_shard(const run_options& o, const sim::simulation_config& config, shard_spec shard, unsigned threads,
              std::ostream& out, std::ostream& err) {
  if (!o.closed.empty()) return fail(err, error{"--shard: a closed-loop run is one function; it cannot be sharded"});
  if (config.pod_creation_rate_per_s > 0 && shard.count > 1) {
    return fail(err, error{"--shard: with --pod-creation-rate all functions share one cluster's limit, so a shard "
                           "alone would not give the unsharded results"});
  }
  auto path = shard_output_path(o, shard.index);
  if (!path) return fail(err, path.error_value());
  auto inputs = shard_inputs("run", o, {o.policy}, shard.count, o.shard_timelines);
  if (!inputs) return fail(err, inputs.error_value());
  std::vector<std::string> sources;
  auto workload = load_traces(o, sources);
  if (!workload) return fail(err, workload.error_value());

  shard_file file;
  file.command = "run";
  file.shard = shard;
  file.fingerprint = fingerprint_of(*inputs);
  file.inputs = std::move(inputs).value();
  file.functions_total = workload->functions.size();
  file.seed = o.seed;
  file.sources = sources;
  file.config = config_json(config);
  file.policy_flag = o.policy;
  file.container_concurrency = config.container_concurrency;
  file.timelines = o.shard_timelines;
  shard_run run;
  run.policy = policy_name(config);
  run.indices = shard_function_indices(file.functions_total, shard);
  const sim::trace mine = select_functions(std::move(workload).value(), run.indices);
  run.outcome = run_functions(mine, run.indices, config, o.seed, threads, o.shard_timelines, err);
  file.runs.push_back(std::move(run));
  if (auto e = write_file(*path, shard_file_text(file))) return fail(err, *e);
  if (!o.quiet) {
    fmt::print(out, "scalesim run: shard {}/{}: {} of {} functions -> {}\n", shard.index, shard.count,
               file.runs.front().indices.size(), file.functions_total, *path);
  }
  return 0;
}

}  // namespace

int run_simulation(const run_options& o, std::ostream& out, std::ostream& err) {
  auto shard = shard_from_flags(o);
  if (!shard) return fail(err, shard.error_value());
  auto config = make_config(o, o.policy, {o.policy});
  if (!config) return fail(err, config.error_value());
  if (*shard) {
    const unsigned threads = o.threads != 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
    return run_shard(o, *config, **shard, threads, out, err);
  }
  const unsigned threads = o.threads != 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  const bool keep_timelines = !o.timeline_file.empty() || !o.plot_file.empty() || !o.out_dir.empty();

  run_outcome outcome;
  std::vector<std::string> sources;
  if (!o.closed.empty()) {
    if (!o.traces.empty()) return fail(err, error{"--closed replaces the trace: give one or the other"});
    if (config->policy && config->policy->needs_future) {
      return fail(err, error{fmt::format("--policy {} needs the future arrivals: it takes a trace, not --closed",
                                         config->policy->name)});
    }
    auto phases = parse_phases(o.closed);
    if (!phases) return fail(err, phases.error_value());
    sim::closed_loop_workload workload;
    workload.phases = *phases;
    auto service = parse_sampler("--duration", o.duration);
    if (!service) return fail(err, service.error_value());
    workload.service_time = *service;
    if (!o.think.empty()) {
      auto think = parse_sampler("--think", o.think);
      if (!think) return fail(err, think.error_value());
      workload.think_time = *think;
    }
    outcome.functions.resize(1);
    if (keep_timelines) outcome.timelines.resize(1);
    sim::timeline_sink sink;
    if (keep_timelines) sink = [&rows = outcome.timelines[0]](const sim::timeline_row& row) { rows.push_back(row); };
    const std::uint64_t seed = sim::function_seed(o.seed, 0);
    outcome.functions[0] = sim::simulate_closed_loop(workload, *config, seed, sink);
    outcome.functions[0].id = o.function_name;
    sources.push_back(fmt::format("closed:{}", o.closed));
  } else {
    auto workload = load_traces(o, sources);
    if (!workload) return fail(err, workload.error_value());
    outcome = run_functions(*workload, *config, o.seed, threads, keep_timelines, err);
  }

  report_options report;
  report.seed = o.seed;
  report.sources = sources;
  report.json_file = o.json_file;
  report.timeline_file = o.timeline_file;
  report.plot_file = o.plot_file;
  report.out_dir = o.out_dir;
  report.quiet = o.quiet;
  report.policy = o.policy;
  if (auto failed = write_reports(outcome, *config, report, out); failed) return fail(err, *failed);
  return 0;
}

}  // namespace scale::tools
