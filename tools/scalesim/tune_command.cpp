#include "tune_command.hpp"

#include "run_report.hpp"

#include "knative_yaml.hpp"
#include "revision_flags.hpp"
#include "run_command.hpp"
#include "tune_search.hpp"
#include "tune_shard.hpp"
#include "tune_space.hpp"
#include "worker_pool.hpp"

#include <sim/distribution.hpp>
#include <sim/replayed_trace.hpp>
#include <sim/simulation.hpp>
#include <sim/trace_format.hpp>

#include <libscale/config.hpp>
#include <libscale/configmap_yaml.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <sstream>
#include <thread>

#include <unistd.h>

namespace scale::tools {
namespace {

using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

int fail(std::ostream& err, const error& e) {
  fmt::print(err, "scalesim tune: {}\n", e.message);
  return 1;
}

// ---------------------------------------------------------------------------------------------------------------
// The trace, and its tuning and held-out parts.

/// The arrivals of `inner` in [from, to), shifted so that `from` is time 0: each part starts as its own run.
class window_source final : public sim::arrival_source {
 public:
  window_source(std::unique_ptr<sim::arrival_source> inner, duration from, std::optional<duration> to)
      : inner_(std::move(inner)), from_(from), to_(to) {}
  std::optional<sim::arrival> next() override {
    while (auto a = inner_->next()) {
      const duration t = a->time.time_since_epoch();
      if (to_ && t >= *to_) return std::nullopt;
      if (t < from_) continue;
      a->time = time_point{t - from_};
      return a;
    }
    return std::nullopt;
  }

 private:
  std::unique_ptr<sim::arrival_source> inner_;
  duration from_;
  std::optional<duration> to_;
};

sim::trace window_of(const sim::trace& whole, duration from, std::optional<duration> to) {
  sim::trace part;
  part.source = whole.source;
  for (const auto& f : whole.functions) {
    part.functions.push_back({f.id, [open = f.open, from, to](std::uint64_t seed) -> std::unique_ptr<sim::arrival_source> {
                                return std::make_unique<window_source>(open(seed), from, to);
                              }});
  }
  return part;
}

/// `whole` with each function's arrivals for the run's seed read once (on `threads` workers) and replayed from
/// memory, while all fit in `max_bytes`; functions beyond keep streaming. Every evaluation then skips the trace
/// expansion, which costs about as much as a simulation; the arrivals, hence the results, are the same.
sim::trace with_cached_arrivals(const sim::trace& whole, std::uint64_t seed, std::size_t max_bytes, unsigned threads) {
  sim::trace cached = whole;
  std::atomic<std::size_t> left{max_bytes / sizeof(sim::arrival)};  // arrivals the budget still holds
  for_each_index(whole.functions.size(), threads, [&](std::size_t i) {
    const std::uint64_t function_seed = sim::function_seed(seed, i);
    auto arrivals = sim::record_arrivals(whole.functions[i], function_seed, left.load());
    if (!arrivals) return;
    // Take this function's share of the budget, unless other workers took it meanwhile.
    std::size_t budget = left.load();
    while (budget >= arrivals->size() && !left.compare_exchange_weak(budget, budget - arrivals->size())) {
    }
    if (budget < arrivals->size()) return;
    cached.functions[i] = sim::replay_function(whole.functions[i], function_seed,
                                               std::make_shared<const std::vector<sim::arrival>>(std::move(*arrivals)));
  });
  return cached;
}

/// The last arrival of any function (the streams as the runs will see them).
duration trace_end(const sim::trace& t, std::uint64_t seed) {
  duration end{0};
  for (std::size_t i = 0; i < t.functions.size(); ++i) {
    auto source = t.functions[i].open(sim::function_seed(seed, i));
    while (auto a = source->next()) end = std::max(end, a->time.time_since_epoch());
  }
  return end;
}

// ---------------------------------------------------------------------------------------------------------------
// The baseline: what --config, --set and the annotations give, and how a point's knobs go on top of it.

/// The user's config-autoscaler data and annotations, before any knob is applied.
struct baseline {
  string_map config_data;
  string_map annotations;
  std::int32_t container_concurrency = 0;
  revision_autoscaling revision;  // the default configuration, as `scalesim run` would resolve it
};

result<baseline> make_baseline(const tune_options& o) {
  revision_flags flags;
  flags.config_file = o.config_file;
  flags.config_sets = o.config_sets;
  flags.annotations_file = o.annotations_file;
  flags.annotations = o.annotations;
  flags.container_concurrency = o.container_concurrency;
  // Resolving first gives exactly `scalesim run`'s errors for the flags.
  auto revision = resolve_revision_flags(flags);
  if (!revision) return revision.error_value();
  baseline b;
  b.revision = *revision;
  b.container_concurrency = o.container_concurrency;
  if (!o.config_file.empty()) {
    auto read = read_configmap_file(o.config_file);
    if (!read) return read.error_value();
    b.config_data = std::move(read).value();
  }
  for (const auto& text : o.config_sets) {
    auto kv = split_assignment("--set", text);
    if (!kv) return kv.error_value();
    b.config_data[kv->first] = kv->second;
  }
  if (!o.annotations_file.empty()) {
    auto read = read_configmap_file(o.annotations_file);
    if (!read) return read.error_value();
    for (const auto& [key, value] : *read) b.annotations[annotation_key(key)] = value;
  }
  for (const auto& text : o.annotations) {
    auto kv = split_assignment("--annotation", text);
    if (!kv) return kv.error_value();
    b.annotations[annotation_key(kv->first)] = kv->second;
  }
  // An annotation would silently override the tuned value: refuse it and point at --space.
  for (const auto& [key, value] : b.annotations) {
    if (const knob_info* k = knob_of_annotation(key)) {
      return error{fmt::format("annotation {}: sets the tuned knob {}; fix it with --space (e.g. \"{}: {}\") instead",
                               key, k->name, k->name, value)};
    }
  }
  return b;
}

/// The config-autoscaler data of a point: the baseline's with every knob's key replaced.
string_map point_configmap(const string_map& config_data, const knob_values& values) {
  string_map data = config_data;
  for (auto& [key, value] : configmap_entries(values)) data[key] = value;
  return data;
}

/// The revision a point runs with: the grace period (no annotation exists) in the ConfigMap, every other knob as
/// an annotation over the baseline's — as Knative resolves a revision that carries them.
result<revision_autoscaling> point_revision(const baseline& b, const knob_values& values) {
  string_map data = b.config_data;
  const std::size_t grace = static_cast<std::size_t>(knob::scale_to_zero_grace_period);
  data[std::string{knob_infos()[grace].configmap_key}] = knob_text(knob::scale_to_zero_grace_period, values[grace]);
  auto config = parse_autoscaler_config(data);
  if (!config) return config.error_value();
  string_map annotations = b.annotations;
  for (auto& [key, value] : annotation_entries(values)) annotations[key] = value;
  return resolve_revision(*config, annotations, b.container_concurrency);
}

// ---------------------------------------------------------------------------------------------------------------
// Running configurations over the trace, in parallel.

/// A progress bar with an ETA on stderr. Wall-clock time is read here only, at the tool's edge.
class progress_bar {
 public:
  progress_bar(std::ostream& err, bool enabled) : err_(err), enabled_(enabled), start_(std::chrono::steady_clock::now()) {}
  void add_total(std::size_t n) { total_ += n; }
  void done_one() {
    if (!enabled_) return;
    std::lock_guard lock(mutex_);
    ++done_;
    const auto permille = total_ == 0 ? 1000 : done_ * 1000 / total_;
    if (permille == shown_) return;
    shown_ = permille;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double eta = done_ == 0 ? 0.0 : elapsed / static_cast<double>(done_) * static_cast<double>(total_ - done_);
    constexpr std::size_t width = 30;
    const std::size_t filled = std::min(width, done_ * width / std::max<std::size_t>(1, total_));
    fmt::print(err_, "\r[{}{}] {:3}% {}/{} runs, ETA {}:{:02}  ", std::string(filled, '#'), std::string(width - filled, '.'),
               permille / 10, done_, total_, static_cast<long>(eta) / 60, static_cast<long>(eta) % 60);
    err_.flush();
  }
  void finish() {
    if (!enabled_) return;
    fmt::print(err_, "\r{:70}\r", "");
    err_.flush();
  }

 private:
  std::ostream& err_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
  std::size_t total_ = 0;
  std::size_t done_ = 0;
  std::size_t shown_ = 1001;
  std::mutex mutex_;
};

/// Runs each config over every function of `workload` on `threads` workers; the functions' results are merged in
/// function order, so the figures do not depend on the thread count. Every config sees the same arrivals and
/// the same per-function seeds (common random numbers: differences come from the knobs, not from the draws).
std::vector<sim::function_result> run_configs(const std::vector<sim::simulation_config>& configs,
                                              const sim::trace& workload, std::uint64_t seed, unsigned threads,
                                              progress_bar& progress) {
  const std::size_t functions = workload.functions.size();
  const std::size_t tasks = configs.size() * functions;
  std::vector<sim::function_result> per_task(tasks);
  for_each_index(tasks, threads, [&](std::size_t t) {
    const std::size_t c = t / functions;
    const std::size_t f = t % functions;
    const std::uint64_t function_seed = sim::function_seed(seed, f);
    auto arrivals = workload.functions[f].open(function_seed);
    per_task[t] = sim::simulate(*arrivals, configs[c], function_seed);
    progress.done_one();
  });
  std::vector<sim::function_result> totals(configs.size());
  for (std::size_t c = 0; c < configs.size(); ++c) {
    for (std::size_t f = 0; f < functions; ++f) totals[c].merge(per_task[c * functions + f]);
  }
  return totals;
}

// ---------------------------------------------------------------------------------------------------------------
// Reports.

double percent(double share) { return 100.0 * share; }

json knobs_json(const knob_values& values) {
  json j = json::object();
  for (std::size_t i = 0; i < knob_count; ++i) j[std::string{knob_infos()[i].name}] = knob_text(static_cast<knob>(i), values[i]);
  return j;
}

json map_json(const string_map& m) {
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

/// The default configuration's knobs as the revision resolves them (percentages and the target are derived).
json default_knobs_json(const revision_autoscaling& r) {
  const double utilization = r.total_value == 0 ? 0.0 : 100.0 * r.target_value / r.total_value;
  return json{{"target", r.total_value},
              {"target-utilization-percentage", utilization},
              {"stable-window", format_go_duration(r.stable_window)},
              {"panic-window", format_go_duration(r.panic_window)},
              {"panic-threshold-percentage", 100.0 * r.panic_threshold},
              {"scale-to-zero-grace-period", format_go_duration(r.scale_to_zero_grace_period)},
              {"scale-to-zero-pod-retention-period", format_go_duration(r.pod_retention)},
              {"min-scale", r.min_scale},
              {"scale-down-delay", format_go_duration(r.scale_down_delay)},
              {"target-burst-capacity", r.target_burst_capacity}};
}

/// A JSON string without quotes, a number as {} prints it (100, 0.7).
std::string json_text(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number_float()) return fmt::format("{}", j.get<double>());
  return j.dump();
}

std::optional<error> write_file(const fs::path& path, const std::string& text) {
  return tools::write_file(path.string(), text);
}

/// The front, one row per point, knobs as Knative spells them.
std::string front_csv(const search_result& search) {
  std::string out = "index,feasible,pod_seconds,p50_ms,p90_ms,p95_ms,p99_ms,cold_start_share,failed_share";
  for (const auto& k : knob_infos()) out += fmt::format(",{}", k.name);
  out += '\n';
  for (const std::size_t i : search.front) {
    const auto& p = search.points[i];
    const figures& f = p.outcome.fig;
    out += fmt::format("{},{},{},{},{},{},{},{},{}", p.index, p.feasible ? 1 : 0, f.pod_seconds, f.p50_ms, f.p90_ms,
                       f.p95_ms, f.p99_ms, f.cold_share, f.failed_share);
    for (std::size_t k = 0; k < knob_count; ++k) out += fmt::format(",{}", knob_text(static_cast<knob>(k), p.values[k]));
    out += '\n';
  }
  return out;
}

/// pod-seconds against p99 and against the cold-start share: every point, the front, the default and the
/// recommendation, with the SLO limits as dashed lines. Uses gnuplot as `scalesim run --plot` does.
std::optional<error> write_plot(const search_result& search, const figures& default_fig, std::span<const slo> slos,
                                const fs::path& path) {
  std::vector<bool> on_front(search.points.size(), false);
  for (const std::size_t i : search.front) on_front[i] = true;
  std::string points;
  for (const auto& p : search.points) {
    if (!p.outcome.valid) continue;
    const int kind = on_front[p.index] ? 2 : p.feasible ? 1 : 0;
    points += fmt::format("{} {} {} {}\n", p.outcome.fig.pod_seconds, p.outcome.fig.p99_ms, percent(p.outcome.fig.cold_share), kind);
  }
  if (points.empty()) points = "0 0 0 -1\n";
  std::string marks = fmt::format("{} {} {}\n", default_fig.pod_seconds, default_fig.p99_ms, percent(default_fig.cold_share));
  if (search.best) {
    const figures& b = search.points[*search.best].outcome.fig;
    marks += fmt::format("{} {} {}\n", b.pod_seconds, b.p99_ms, percent(b.cold_share));
  }
  std::string p99_line;
  std::string cold_line;
  for (const slo& s : slos) {
    if (s.metric == slo_metric::p99) {
      p99_line = fmt::format("set arrow from graph 0, first {0} to graph 1, first {0} nohead dt 2 lc rgb '#c00000'\n", s.limit);
    }
    if (s.metric == slo_metric::cold) {
      cold_line = fmt::format("set arrow from graph 0, first {0} to graph 1, first {0} nohead dt 2 lc rgb '#c00000'\n",
                              percent(s.limit));
    }
  }
  const std::string series =
      "{0} using 1:($4==0?${1}:1/0) with points pt 7 ps 0.6 lc rgb '#b0b0b0' title 'misses an SLO', "
      "{0} using 1:($4==1?${1}:1/0) with points pt 7 ps 0.7 lc rgb '#4070c0' title 'meets the SLOs', "
      "{0} using 1:($4==2?${1}:1/0) with points pt 7 ps 1.0 lc rgb '#d05000' title 'Pareto front', "
      "{2} every ::0::0 using 1:{1} with points pt 5 ps 1.6 lc rgb 'black' title 'default config'{3}\n";
  const std::string best_series = search.best ? ", {2} every ::1::1 using 1:{1} with points pt 3 ps 2.5 lw 2 lc rgb '#008000' title 'recommended'" : "";
  const auto plot_line = [&](int column) {
    return fmt::format(fmt::runtime(series), "@points.dat@", column, "@marks.dat@",
                       fmt::format(fmt::runtime(best_series), "@points.dat@", column, "@marks.dat@"));
  };
  const std::string script = fmt::format(
      "set multiplot layout 1,2\nset grid\nset key top right\n"
      "set xlabel 'pod-seconds'\nset logscale y\nset ylabel 'p99 latency (ms)'\nset title 'Cost against p99'\n{}plot {}"
      "unset arrow\nunset logscale y\nset ylabel 'cold-start share (%)'\nset title 'Cost against cold starts'\n{}plot {}"
      "unset multiplot\n",
      p99_line, plot_line(2), cold_line, plot_line(3));
  return run_gnuplot(path.string(), {{"points.dat", points}, {"marks.dat", marks}}, script, "1300,560");
}

std::string knob_cell(const knob_info& k, double v) {
  return k.is_duration ? format_go_duration(std::chrono::seconds{static_cast<std::int64_t>(v)})
                       : fmt::format("{}", v);
}

void print_figures_row(std::ostream& out, std::string_view name, const figures& f, std::string_view ok) {
  fmt::print(out, "{:<28} {:>14.1f} {:>9.1f} {:>9.1f} {:>8.3f}% {:>8.3f}%  {}\n", name, f.pod_seconds, f.p50_ms, f.p99_ms,
             percent(f.cold_share), percent(f.failed_share), ok);
}

}  // namespace

CLI::App* add_tune_command(CLI::App& app, tune_options& o) {
  auto* cmd = app.add_subcommand("tune", "Search config-autoscaler / annotation values that meet SLOs on a trace at the "
                                         "lowest pod-seconds");
  cmd->add_option("trace", o.traces, "trace files (Azure 2019, Azure 2021, or our CSV)")->required();
  cmd->add_option("--slo", o.slos, "an SLO: p50|p90|p95|p99<=DURATION, cold<=PERCENT or failed<=PERCENT (repeatable)")
      ->required()
      ->allow_extra_args(false);
  cmd->add_option("--space", o.space_file, "YAML: knob: VALUE (fixed) or knob: {min: A, max: B}")->check(CLI::ExistingFile);
  cmd->add_option("--budget", o.budget, "configurations to evaluate (besides the default)")->capture_default_str();
  cmd->add_option("--seed", o.seed, "search and simulation seed; the same seed gives the same output")->capture_default_str();
  cmd->add_option("--threads", o.threads, "worker threads (0 = all cores); the output does not depend on it")
      ->capture_default_str();
  cmd->add_option("--arrival-cache-mb", o.arrival_cache_mb,
                  "keep the trace's arrivals in memory up to this many MiB (16 bytes each), read once instead of once "
                  "per evaluation; 0 = read every time. The output does not depend on it")
      ->capture_default_str();
  cmd->add_option("--out", o.out_dir, "directory for tune.json, front.csv, config-autoscaler.yaml, annotations.yaml, plot.svg");
  cmd->add_option("--plot", o.plot_file, "write the Pareto plot here (.svg or .png) with gnuplot");
  cmd->add_option("--holdout", o.holdout, "hold out this share of the trace's time range (its end) and report on it")
      ->capture_default_str();
  cmd->add_option("--config", o.config_file, "baseline config-autoscaler ConfigMap YAML")->check(CLI::ExistingFile);
  cmd->add_option("--set", o.config_sets, "a baseline config-autoscaler key, KEY=VALUE (repeatable)")->allow_extra_args(false);
  cmd->add_option("--annotation", o.annotations, "a revision annotation KEY=VALUE that is not tuned (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--annotations", o.annotations_file, "a YAML map of revision annotations")->check(CLI::ExistingFile);
  cmd->add_option("--container-concurrency", o.container_concurrency, "the revision's hard per-pod limit (0 = none)")
      ->capture_default_str();
  cmd->add_option("--cold-start", o.cold_start, "cold start distribution (as for scalesim run)")->capture_default_str();
  cmd->add_option("--expansion", o.expansion, "Azure 2019 per-minute counts to arrivals: uniform, poisson or equal")
      ->check(CLI::IsMember({"uniform", "poisson", "equal"}))
      ->capture_default_str();
  cmd->add_option("--durations", o.durations_file, "Azure 2019 duration-percentiles file (default: the sibling file)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--service", o.service_name, "metadata.name of the Service in annotations.yaml")->capture_default_str();
  cmd->add_flag("--progress", o.progress, "show the progress bar even when stderr is not a terminal");
  cmd->add_option("--shard", o.shard,
                  "I/N or auto/N (I from JOB_COMPLETION_INDEX): run as shard I of N peers that share --out DIR; "
                  "all N must run at once, then scalesim merge DIR/shard-*.json");
  cmd->add_option("--shard-timeout", o.shard_timeout, "how long a shard waits for its peers' part of a batch")
      ->capture_default_str();
  return cmd;
}


namespace {

// ---------------------------------------------------------------------------------------------------------------
// The flow: the default config, the search, the held-out part — whoever evaluates the jobs.

/// Thrown out of a job evaluator to end the run with an error (a peer's file, a timeout, a replay mismatch).
struct tune_stop {
  error reason;
};

/// Evaluates one batch of jobs, outcomes in the batch's order.
using job_evaluator = std::function<std::vector<point_outcome>(const std::vector<tune_job>&)>;

/// What the flow found, and every batch it asked for (in order, every outcome known).
struct tune_outcome {
  figures default_fig;
  search_result search;
  std::optional<figures> default_held;
  std::optional<figures> best_held;
  std::vector<tune_batch> batches;
};

tune_outcome run_tune_flow(const tune_record& r, std::span<const slo> slos, const job_evaluator& evaluate) {
  tune_outcome t;
  const auto ask = [&](const std::vector<tune_job>& jobs) {
    auto outcomes = evaluate(jobs);
    t.batches.push_back(tune_batch{jobs, outcomes, std::vector<bool>(jobs.size(), true)});
    return outcomes;
  };
  t.default_fig = ask({tune_job{}})[0].fig;
  search_options search_opts;
  search_opts.budget = r.budget;
  search_opts.seed = r.seed;
  t.search = run_search(r.space, slos, search_opts, [&](const std::vector<knob_values>& points) {
    std::vector<tune_job> jobs;
    for (const auto& values : points) jobs.push_back(tune_job{false, values});
    return ask(jobs);
  });
  if (r.holdout > 0) {
    std::vector<tune_job> jobs{tune_job{true, std::nullopt}};
    if (t.search.best) jobs.push_back(tune_job{true, t.search.points[*t.search.best].values});
    const auto outcomes = ask(jobs);
    t.default_held = outcomes[0].fig;
    if (t.search.best) t.best_held = outcomes[1].fig;
  }
  return t;
}

// ---------------------------------------------------------------------------------------------------------------
// Setting up from the command line, and simulating jobs.

/// Everything needed to simulate jobs, and the record the report is made of.
struct tune_setup {
  tune_record record;
  std::vector<slo> slos;
  baseline base;
  sim::simulation_config sim_defaults;
  sim::trace tuning;
  sim::trace held_out;
  unsigned threads = 1;
};

result<std::vector<slo>> parse_slos(const std::vector<std::string>& texts) {
  std::vector<slo> slos;
  for (const auto& text : texts) {
    auto s = parse_slo(text);
    if (!s) return s.error_value();
    slos.push_back(*s);
  }
  if (slos.empty()) return error{"no --slo given; e.g. --slo 'p99<=500ms' --slo 'cold<=1%'"};
  return slos;
}

result<tune_setup> prepare_tune(const tune_options& o) {
  if (o.traces.empty()) return error{"no trace given"};
  tune_setup s;
  auto slos = parse_slos(o.slos);
  if (!slos) return slos.error_value();
  s.slos = std::move(slos).value();
  tune_record& r = s.record;
  r.space = default_search_space();
  if (!o.space_file.empty()) {
    auto read = read_search_space(o.space_file);
    if (!read) return read.error_value();
    r.space = *read;
  }
  if (o.budget == 0) return error{"--budget 0: must be at least 1"};
  if (!(o.holdout >= 0 && o.holdout < 1)) {
    return error{fmt::format("--holdout {}: must be in [0, 1), the share of the time range held out", o.holdout)};
  }
  auto base = make_baseline(o);
  if (!base) return base.error_value();
  s.base = std::move(base).value();
  {
    auto cold = sim::parse_distribution(o.cold_start);
    if (!cold) return error{fmt::format("--cold-start {}: {}", o.cold_start, cold.error_value().message)};
    s.sim_defaults.cold_start = [d = std::move(cold).value()](std::mt19937_64& rng) { return d.sample(rng); };
    s.sim_defaults.container_concurrency = o.container_concurrency;
  }
  auto loaded = load_trace_files(o.traces, o.expansion, o.durations_file, r.sources);
  if (!loaded) return loaded.error_value();
  s.threads = o.threads != 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  // MiB to bytes, saturating: a cache larger than the address space is no limit at all.
  const std::size_t cache_bytes = std::min(o.arrival_cache_mb, std::numeric_limits<std::size_t>::max() >> 20) << 20;
  const sim::trace whole = cache_bytes == 0 ? std::move(loaded).value()
                                            : with_cached_arrivals(*loaded, o.seed, cache_bytes, s.threads);
  s.tuning = whole;
  if (o.holdout > 0) {
    r.end = trace_end(whole, o.seed);
    // The tuning part is the start of the trace, the held-out part its end (docs/tuning.md says why time, not
    // functions); the cut falls on a whole second.
    r.cut = std::chrono::seconds{
        static_cast<std::int64_t>(std::floor((1.0 - o.holdout) * std::chrono::duration<double>(r.end).count()))};
    if (r.cut <= duration{0} || r.cut >= r.end) {
      return error{fmt::format("--holdout {}: leaves an empty part of a {} s trace", o.holdout, sim::seconds_text(r.end))};
    }
    s.tuning = window_of(whole, duration{0}, r.cut);
    s.held_out = window_of(whole, r.cut, std::nullopt);
  }
  r.seed = o.seed;
  r.budget = o.budget;
  r.slo_texts = o.slos;
  r.holdout = o.holdout;
  r.container_concurrency = o.container_concurrency;
  r.cold_start = o.cold_start;
  r.service_name = o.service_name;
  r.functions = whole.functions.size();
  r.config_data = s.base.config_data;
  r.annotations = s.base.annotations;
  r.default_knobs = default_knobs_json(s.base.revision);
  return s;
}

/// Validates every job and simulates the valid ones that `selected(k)` picks, k counting the batch's valid jobs.
/// Jobs refused by validation are known everywhere; a valid job not picked stays unknown.
tune_batch simulate_jobs(const tune_setup& s, const std::vector<tune_job>& jobs,
                         const std::function<bool(std::size_t)>& selected, progress_bar& progress) {
  tune_batch batch{jobs, std::vector<point_outcome>(jobs.size()), std::vector<bool>(jobs.size(), false)};
  std::array<std::vector<sim::simulation_config>, 2> configs;  // tuning part, held-out part
  std::array<std::vector<std::size_t>, 2> simulated;
  std::size_t valid = 0;
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    auto revision = jobs[j].knobs ? point_revision(s.base, *jobs[j].knobs) : result<revision_autoscaling>{s.base.revision};
    if (!revision) {
      batch.outcomes[j].valid = false;
      batch.outcomes[j].rejected = revision.error_value().message;
      batch.known[j] = true;
      continue;
    }
    if (!selected(valid++)) continue;
    sim::simulation_config c = s.sim_defaults;
    c.revision = *revision;
    const std::size_t part = jobs[j].held_out ? 1 : 0;
    configs[part].push_back(std::move(c));
    simulated[part].push_back(j);
  }
  for (std::size_t part = 0; part < 2; ++part) {
    if (configs[part].empty()) continue;
    const auto totals = run_configs(configs[part], part == 0 ? s.tuning : s.held_out, s.record.seed, s.threads, progress);
    for (std::size_t k = 0; k < simulated[part].size(); ++k) {
      batch.outcomes[simulated[part][k]].fig = figures_of(totals[k]);
      batch.known[simulated[part][k]] = true;
    }
  }
  return batch;
}

// ---------------------------------------------------------------------------------------------------------------
// The report: stdout and the files, from the record and the flow's outcome alone (so merge can write it too).

int write_tune_report(const tune_record& r, std::span<const slo> slos, const tune_outcome& t, const std::string& out_dir,
                      std::string plot_file, bool quiet, std::ostream& out, std::ostream& err) {
  const search_result& search = t.search;
  const figures& default_fig = t.default_fig;
  const auto ok = [&](const figures& f) { return slo_violation(f, slos) == 0 ? "meets the SLOs" : "misses an SLO"; };
  const search_point* best = search.best ? &search.points[*search.best] : nullptr;
  if (!quiet) {
    std::size_t refined = 0;
    for (const auto& p : search.points) refined += p.round > 0 ? 1 : 0;
    fmt::print(out, "scalesim tune: {} — {} function{}, seed {}, SLOs {}\n", fmt::join(r.sources, ", "), r.functions,
               r.functions == 1 ? "" : "s", r.seed, fmt::join(r.slo_texts, ", "));
    fmt::print(out, "{} configurations evaluated: {} Latin hypercube, {} refinement", search.points.size(),
               search.points.size() - refined, refined);
    std::size_t rejected = 0;
    for (const auto& p : search.points) rejected += p.outcome.valid ? 0 : 1;
    if (rejected != 0) fmt::print(out, " ({} refused by validation)", rejected);
    fmt::print(out, "\n");
    if (r.holdout > 0) {
      const double end_s = std::chrono::duration<double>(r.end).count();
      fmt::print(out, "tuning part: [0 s, {} s) of {:.1f} s; held out: [{} s, {:.1f} s]\n", sim::seconds_text(r.cut),
                 end_s, sim::seconds_text(r.cut), end_s);
    }
    fmt::print(out, "\n{:<28} {:>14} {:>9} {:>9} {:>9} {:>9}\n", "", "pod-seconds", "p50 ms", "p99 ms", "cold", "failed");
    const std::string part = r.holdout > 0 ? " (tuning part)" : "";
    print_figures_row(out, "default" + part, default_fig, ok(default_fig));
    if (best) {
      print_figures_row(out, fmt::format("recommended #{}{}", best->index, part), best->outcome.fig, ok(best->outcome.fig));
    }
    if (t.default_held) print_figures_row(out, "default (held out)", *t.default_held, ok(*t.default_held));
    if (t.best_held) {
      print_figures_row(out, fmt::format("recommended #{} (held out)", best->index), *t.best_held, ok(*t.best_held));
    }
    if (best) {
      fmt::print(out, "\nrecommended knobs (#{}):\n", best->index);
      const json& defaults = r.default_knobs;
      for (std::size_t k = 0; k < knob_count; ++k) {
        const knob_info& ki = knob_infos()[k];
        fmt::print(out, "  {:<36} {:>10}   (default {})\n", ki.name, knob_cell(ki, best->values[k]),
                   ki.name == "panic-window-percentage" ? "window " + defaults["panic-window"].get<std::string>()
                                                        : json_text(defaults[std::string{ki.name}]));
      }
      if (slo_violation(default_fig, slos) == 0 && default_fig.pod_seconds <= best->outcome.fig.pod_seconds) {
        fmt::print(out, "note: the default config already meets every SLO at no more pod-seconds\n");
      }
    }
    fmt::print(out, "\nPareto front (pod-seconds, p99, cold share), {} of {} points:\n", search.front.size(),
               search.points.size());
    fmt::print(out, "{:>4} {:>14} {:>9} {:>9} {:>9}  {:<3} {:>7} {:>5} {:>7} {:>5} {:>6} {:>7} {:>7} {:>4} {:>7} {:>5}\n",
               "#", "pod-seconds", "p99 ms", "cold", "failed", "ok", "target", "util", "window", "pw%", "pt%", "grace",
               "retain", "min", "sdd", "tbc");
    for (const std::size_t i : search.front) {
      const auto& p = search.points[i];
      const auto& v = p.values;
      const auto d = [&](knob k) { return knob_text(k, v[static_cast<std::size_t>(k)]); };
      fmt::print(out,
                 "{:>4} {:>14.1f} {:>9.1f} {:>8.3f}% {:>8.3f}%  {:<3} {:>7} {:>5} {:>7} {:>5} {:>6} {:>7} {:>7} {:>4} {:>7} "
                 "{:>5}\n",
                 p.index, p.outcome.fig.pod_seconds, p.outcome.fig.p99_ms, percent(p.outcome.fig.cold_share),
                 percent(p.outcome.fig.failed_share), p.feasible ? "yes" : "no", d(knob::target),
                 d(knob::target_utilization), d(knob::stable_window), d(knob::panic_window_percentage),
                 d(knob::panic_threshold_percentage), d(knob::scale_to_zero_grace_period),
                 d(knob::scale_to_zero_pod_retention_period), d(knob::min_scale), d(knob::scale_down_delay),
                 d(knob::target_burst_capacity));
    }
  }

  string_map best_configmap;
  string_map best_annotations;
  if (best) {
    best_configmap = point_configmap(r.config_data, best->values);
    best_annotations = r.annotations;
    for (auto& [key, value] : annotation_entries(best->values)) best_annotations[key] = value;
  }
  if (!out_dir.empty()) {
    const fs::path dir = out_dir;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return fail(err, error{fmt::format("{}: cannot create directory ({})", out_dir, ec.message())});
    json doc;
    doc["seed"] = r.seed;
    doc["sources"] = r.sources;
    doc["slos"] = r.slo_texts;
    json space_json = json::object();
    for (std::size_t k = 0; k < knob_count; ++k) {
      const auto kk = static_cast<knob>(k);
      space_json[std::string{knob_infos()[k].name}] =
          json{{"min", knob_text(kk, r.space.ranges[k].low)}, {"max", knob_text(kk, r.space.ranges[k].high)}};
    }
    doc["space"] = std::move(space_json);
    doc["budget"] = r.budget;
    doc["container_concurrency"] = r.container_concurrency;
    doc["cold_start"] = r.cold_start;
    if (r.holdout > 0) {
      doc["holdout"] = json{{"fraction", r.holdout}, {"cut_s", std::chrono::duration<double>(r.cut).count()},
                            {"end_s", std::chrono::duration<double>(r.end).count()}};
    } else {
      doc["holdout"] = nullptr;
    }
    json default_json{{"knobs", r.default_knobs}, {"figures", figures_json(default_fig)},
                      {"meets_slos", slo_violation(default_fig, slos) == 0}};
    default_json["held_out_figures"] = t.default_held ? figures_json(*t.default_held) : json(nullptr);
    doc["default"] = std::move(default_json);
    json points = json::array();
    for (const auto& p : search.points) {
      json j{{"index", p.index}, {"round", p.round}, {"knobs", knobs_json(p.values)}, {"clipped", p.clipped},
             {"valid", p.outcome.valid}};
      if (p.outcome.valid) {
        j["figures"] = figures_json(p.outcome.fig);
        j["feasible"] = p.feasible;
        j["violation"] = p.violation;
      } else {
        j["rejected"] = p.outcome.rejected;
      }
      points.push_back(std::move(j));
    }
    doc["points"] = std::move(points);
    doc["front"] = search.front;
    if (best) {
      json rec{{"index", best->index}, {"knobs", knobs_json(best->values)}, {"figures", figures_json(best->outcome.fig)}};
      rec["held_out_figures"] = t.best_held ? figures_json(*t.best_held) : json(nullptr);
      rec["config_autoscaler"] = map_json(best_configmap);
      rec["annotations"] = map_json(best_annotations);
      doc["recommendation"] = std::move(rec);
    } else {
      doc["recommendation"] = nullptr;
      doc["closest"] = search.closest ? json(*search.closest) : json(nullptr);
    }
    if (auto e = write_file(dir / "tune.json", doc.dump(2) + "\n")) return fail(err, *e);
    if (auto e = write_file(dir / "front.csv", front_csv(search))) return fail(err, *e);
    if (best) {
      const std::string why =
          fmt::format("scalesim tune {}: lowest pod-seconds meeting {} (point #{}).", fmt::join(r.sources, " "),
                      fmt::join(r.slo_texts, ", "), best->index);
      const std::string cm_comment =
          r.container_concurrency > 0
              ? why + fmt::format("\ncontainerConcurrency {} > 0: container-concurrency-target-default does not apply;\n"
                                  "use the target annotation of annotations.yaml.",
                                  r.container_concurrency)
              : why;
      if (auto e = write_file(dir / "config-autoscaler.yaml", configmap_yaml(best_configmap, cm_comment))) {
        return fail(err, *e);
      }
      const std::string an_comment =
          why + fmt::format("\nscale-to-zero-grace-period has no annotation: set it cluster-wide in config-autoscaler\n"
                            "(scale-to-zero-grace-period: \"{}\"). Merge these annotations into your Service.",
                            knob_text(knob::scale_to_zero_grace_period,
                                      best->values[static_cast<std::size_t>(knob::scale_to_zero_grace_period)]));
      if (auto e = write_file(dir / "annotations.yaml", service_annotations_yaml(best_annotations, r.service_name, an_comment))) {
        return fail(err, *e);
      }
    }
    if (plot_file.empty()) plot_file = (dir / "plot.svg").string();
  }
  if (!plot_file.empty()) {
    if (auto e = write_plot(search, default_fig, slos, plot_file)) return fail(err, *e);
  }
  if (!best) {
    std::string closest;
    if (search.closest) {
      const auto& c = search.points[*search.closest];
      closest = fmt::format(" (closest: #{}, p99 {:.1f} ms, cold {:.3f}%, failed {:.3f}%)", c.index, c.outcome.fig.p99_ms,
                            percent(c.outcome.fig.cold_share), percent(c.outcome.fig.failed_share));
    }
    return fail(err, error{fmt::format("no evaluated configuration meets every SLO{}; widen --space or raise --budget", closest)});
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Sharding: peers that split every batch and swap their parts through files in the shared --out directory.

/// What identifies a tune run across its shards: run's description of the inputs plus tune's own.
result<json> tune_inputs(const tune_options& o, const tune_record& r, std::size_t shard_count) {
  run_options ro;
  ro.traces = o.traces;
  ro.config_file = o.config_file;
  ro.annotations_file = o.annotations_file;
  ro.durations_file = o.durations_file;
  ro.config_sets = o.config_sets;
  ro.annotations = o.annotations;
  ro.container_concurrency = o.container_concurrency;
  ro.seed = o.seed;
  ro.cold_start = o.cold_start;
  ro.expansion = o.expansion;
  auto described = shard_inputs("tune", ro, {}, shard_count, false);
  if (!described) return described.error_value();
  json inputs = std::move(described).value();
  json space = json::array();
  for (const auto& range : r.space.ranges) space.push_back(json::array({range.low, range.high}));
  inputs["slos"] = o.slos;
  inputs["space"] = std::move(space);
  inputs["budget"] = o.budget;
  inputs["holdout"] = o.holdout;
  inputs["service"] = o.service_name;
  return inputs;
}

int run_tune_shard(const tune_options& o, const tune_setup& s, shard_spec shard, std::ostream& out, std::ostream& err) {
  if (o.out_dir.empty()) {
    return fail(err, error{"--shard: give --out DIR, a directory every shard shares (exchange files and shard-I.json "
                           "go there)"});
  }
  if (!o.plot_file.empty()) {
    return fail(err, error{fmt::format("--plot {}: a shard writes only its shard file; give --plot to scalesim merge",
                                       o.plot_file)});
  }
  auto timeout = parse_go_duration(o.shard_timeout);
  if (!timeout || *timeout <= duration{0}) {
    return fail(err, error{fmt::format("--shard-timeout {}: expected a positive duration, e.g. 6h", o.shard_timeout)});
  }
  auto inputs = tune_inputs(o, s.record, shard.count);
  if (!inputs) return fail(err, inputs.error_value());
  const std::string fingerprint = fingerprint_of(*inputs);

  progress_bar progress(err, o.progress || isatty(STDERR_FILENO) != 0);
  const std::size_t evaluations = o.budget + 1 + (o.holdout > 0 ? 2 : 0);
  progress.add_total((evaluations + shard.count - 1) / shard.count * s.record.functions);
  std::vector<std::vector<bool>> written;  // per batch: the outcomes this shard wrote (its own and the refused)
  std::size_t valid_before = 0;            // valid jobs of the earlier batches, for the round-robin owner
  std::size_t simulated_here = 0;
  const job_evaluator evaluate = [&](const std::vector<tune_job>& jobs) {
    const std::size_t b = written.size();
    const std::size_t offset = valid_before;
    const auto mine = [&](std::size_t k) { return tune_job_owner(offset + k, shard.count) == shard.index; };
    const std::string my_path = tune_exchange_path(o.out_dir, b, shard.index);
    // A restarted shard (a Job's retry) takes its own part from its earlier exchange file.
    auto earlier = read_tune_exchange(my_path, fingerprint, b, shard);
    if (!earlier) throw tune_stop{earlier.error_value()};
    tune_batch batch;
    if (*earlier && (*earlier)->jobs == jobs) {
      batch = std::move(**earlier);
    } else {
      batch = simulate_jobs(s, jobs, mine, progress);
      if (auto e = write_file_atomically(my_path, tune_exchange_text(batch, batch.known, fingerprint, b, shard))) {
        throw tune_stop{*e};
      }
    }
    written.push_back(batch.known);
    std::size_t valid = 0;
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      const bool refused = batch.known[j] && !batch.outcomes[j].valid;
      if (refused) continue;
      simulated_here += mine(valid) ? 1 : 0;
      ++valid;
    }
    valid_before += valid;
    const auto deadline = std::chrono::steady_clock::now() + *timeout;
    auto pause = std::chrono::milliseconds{10};
    for (std::size_t p = 0; p < shard.count; ++p) {
      if (p == shard.index) continue;
      const shard_spec peer{p, shard.count};
      const std::string path = tune_exchange_path(o.out_dir, b, p);
      for (;;) {
        auto got = read_tune_exchange(path, fingerprint, b, peer);
        if (!got) throw tune_stop{got.error_value()};
        if (*got) {
          if ((*got)->jobs != jobs) {
            throw tune_stop{error{fmt::format("{}: shard {}/{} evaluated other configurations in batch {} than this "
                                              "shard (a different scalesim build?)",
                                              path, p, shard.count, b)}};
          }
          take_known_outcomes(batch, **got);
          break;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
          throw tune_stop{error{fmt::format(
              "shard {}/{}: waited {} for {} (shard {}'s part of batch {}); all {} shards must run at once "
              "(a Job's parallelism = completions) and share --out {}",
              shard.index, shard.count, o.shard_timeout, path, p, b, shard.count, o.out_dir)}};
        }
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds{500});
      }
    }
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      if (!batch.known[j]) {
        throw tune_stop{error{fmt::format("batch {}: no shard's exchange file holds job {}", b, j)}};
      }
    }
    return batch.outcomes;
  };
  tune_outcome t;
  try {
    t = run_tune_flow(s.record, s.slos, evaluate);
  } catch (const tune_stop& stop) {
    progress.finish();
    return fail(err, stop.reason);
  }
  progress.finish();
  tune_shard_file file{shard, *inputs, fingerprint, s.record, std::move(t.batches)};
  const std::string path = (fs::path(o.out_dir) / fmt::format("shard-{}.json", shard.index)).string();
  if (auto e = write_file_atomically(path, tune_shard_file_text(file, written))) return fail(err, *e);
  fmt::print(out, "scalesim tune: shard {}/{}: simulated {} of {} evaluations -> {}\n", shard.index, shard.count,
             simulated_here, valid_before, path);
  return 0;
}

}  // namespace

int run_tune(const tune_options& o, std::ostream& out, std::ostream& err) {
  std::optional<shard_spec> shard;
  if (!o.shard.empty()) {
    auto parsed = parse_shard_flag(o.shard);
    if (!parsed) return fail(err, parsed.error_value());
    shard = *parsed;
  }
  auto setup = prepare_tune(o);
  if (!setup) return fail(err, setup.error_value());
  const tune_setup& s = *setup;
  if (shard) return run_tune_shard(o, s, *shard, out, err);

  progress_bar progress(err, o.progress || isatty(STDERR_FILENO) != 0);
  progress.add_total((o.budget + 1 + (o.holdout > 0 ? 2 : 0)) * s.record.functions);
  const job_evaluator evaluate = [&](const std::vector<tune_job>& jobs) {
    return simulate_jobs(s, jobs, [](std::size_t) { return true; }, progress).outcomes;
  };
  const tune_outcome t = run_tune_flow(s.record, s.slos, evaluate);
  progress.finish();
  return write_tune_report(s.record, s.slos, t, o.out_dir, o.plot_file, false, out, err);
}

int merge_tune_shards(const std::vector<std::string>& paths, const std::string& out_dir, const std::string& plot_file,
                      bool quiet, std::ostream& out, std::ostream& err) {
  const auto merge_fail = [&](const error& e) {
    fmt::print(err, "scalesim merge: {}\n", e.message);
    return 1;
  };
  std::vector<tune_shard_file> shards;
  for (const auto& path : paths) {
    auto read = read_tune_shard_file(path);
    if (!read) return merge_fail(read.error_value());
    shards.push_back(std::move(read).value());
  }
  const tune_shard_file& first = shards.front();
  std::vector<shard_spec> specs;
  for (std::size_t k = 0; k < shards.size(); ++k) {
    const tune_shard_file& f = shards[k];
    if (f.fingerprint != first.fingerprint) {
      return merge_fail(error{fmt::format("{}: a shard of a different tune run than {}", paths[k], paths.front())});
    }
    if (f.batches.size() != first.batches.size()) {
      return merge_fail(error{fmt::format("{}: {} batches, but {} has {}", paths[k], f.batches.size(), paths.front(),
                                          first.batches.size())});
    }
    specs.push_back(f.shard);
  }
  if (auto e = check_shard_set(paths, specs)) return merge_fail(*e);
  // Every outcome from whichever shard simulated it.
  std::vector<tune_batch> batches = first.batches;
  for (std::size_t b = 0; b < batches.size(); ++b) {
    for (std::size_t k = 1; k < shards.size(); ++k) {
      const tune_batch& theirs = shards[k].batches[b];
      if (theirs.jobs != batches[b].jobs) {
        return merge_fail(error{fmt::format("{}: batch {} holds other configurations than in {}", paths[k], b, paths.front())});
      }
      take_known_outcomes(batches[b], theirs);
    }
    for (std::size_t j = 0; j < batches[b].jobs.size(); ++j) {
      if (!batches[b].known[j]) return merge_fail(error{fmt::format("batch {}: no shard file holds job {}", b, j)});
    }
  }
  auto slos = parse_slos(first.record.slo_texts);
  if (!slos) return merge_fail(slos.error_value());
  std::size_t next = 0;
  const job_evaluator replay = [&](const std::vector<tune_job>& jobs) {
    if (next >= batches.size() || batches[next].jobs != jobs) {
      throw tune_stop{error{fmt::format("the shard files do not match the search replayed from them at batch {} (shards "
                                        "of a different scalesim build?)",
                                        next)}};
    }
    return batches[next++].outcomes;
  };
  tune_outcome t;
  try {
    t = run_tune_flow(first.record, *slos, replay);
  } catch (const tune_stop& stop) {
    return merge_fail(stop.reason);
  }
  if (next != batches.size()) {
    return merge_fail(error{fmt::format("the shard files hold {} batches, the search replayed {}", batches.size(), next)});
  }
  // The report's own errors read as tune's ("no evaluated configuration ..."), as the unsharded run prints them.
  return write_tune_report(first.record, *slos, t, out_dir, plot_file, quiet, out, err);
}

}  // namespace scale::tools
