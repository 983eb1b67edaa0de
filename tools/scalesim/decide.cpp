#include "decide.hpp"

#include "csv_table.hpp"
#include "decimal_time.hpp"
#include "revision_flags.hpp"

#include <sim/distribution.hpp>
#include <libscale/config.hpp>
#include <libscale/decider.hpp>
#include <libscale/metric_collector.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <charconv>
#include <fstream>
#include <iostream>
#include <optional>

namespace scale::tools {
namespace {

using namespace std::chrono_literals;

/// What the flags resolve to: the decider's spec plus the window shapes and the start state.
struct replay_setup {
  decider_spec spec;
  duration panic_window{};
  window_algorithm algorithm = window_algorithm::linear;
  int initial_ready_pods = 0;
};

result<double> parse_number(std::string_view field, std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    return error{fmt::format("{} = \"{}\": expected a number", field, text)};
  }
  return value;
}

result<long long> parse_integer(std::string_view field, std::string_view text) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    return error{fmt::format("{} = \"{}\": expected an integer", field, text)};
  }
  return value;
}

result<bool> parse_flag_bool(std::string_view field, std::string_view text) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  return error{fmt::format("{} = \"{}\": expected true or false", field, text)};
}

/// Applies one `--decider FIELD=VALUE` override on top of the resolved spec.
std::optional<error> apply_decider_override(replay_setup& setup, const std::string& field, const std::string& value) {
  auto set_number = [&](double& target, bool positive) -> std::optional<error> {
    auto parsed = parse_number(field, value);
    if (!parsed) return parsed.error_value();
    if (positive && !(*parsed > 0)) return error{fmt::format("{} = {}: must be positive", field, value)};
    target = *parsed;
    return std::nullopt;
  };
  auto set_duration = [&](duration& target, bool positive) -> std::optional<error> {
    auto parsed = sim::parse_duration_text(value);
    if (!parsed) return error{fmt::format("{} = \"{}\": expected seconds or a duration like 60s", field, value)};
    if (positive ? *parsed <= 0s : *parsed < 0s) {
      return error{fmt::format("{} = {}: must be {}", field, value, positive ? "positive" : "non-negative")};
    }
    target = *parsed;
    return std::nullopt;
  };
  auto set_int32 = [&](auto& target, long long low) -> std::optional<error> {
    auto parsed = parse_integer(field, value);
    if (!parsed) return parsed.error_value();
    if (*parsed < low || *parsed > 2147483647) {
      return error{fmt::format("{} = {}: must be in [{}, 2147483647]", field, value, low)};
    }
    target = static_cast<std::remove_reference_t<decltype(target)>>(*parsed);
    return std::nullopt;
  };
  decider_spec& s = setup.spec;
  if (field == "target") return set_number(s.target_value, true);
  if (field == "total") return set_number(s.total_value, false);
  if (field == "target-burst-capacity") return set_number(s.target_burst_capacity, false);
  if (field == "panic-threshold") return set_number(s.panic_threshold, false);  // a ratio, deliberately unvalidated
  if (field == "max-scale-up-rate") return set_number(s.max_scale_up_rate, true);
  if (field == "max-scale-down-rate") return set_number(s.max_scale_down_rate, true);
  if (field == "activation-scale") return set_int32(s.activation_scale, 0);
  if (field == "stable-window") return set_duration(s.stable_window, true);
  if (field == "panic-window") return set_duration(setup.panic_window, true);
  if (field == "scale-down-delay") return set_duration(s.scale_down_delay, false);
  if (field == "initial-ready-pods") return set_int32(setup.initial_ready_pods, 0);
  if (field == "reachable") {
    auto parsed = parse_flag_bool(field, value);
    if (!parsed) return parsed.error_value();
    s.reachable = *parsed;
    return std::nullopt;
  }
  return error{fmt::format("unknown --decider field \"{}\" (expected one of target, total, target-burst-capacity, "
                           "panic-threshold, max-scale-up-rate, max-scale-down-rate, activation-scale, stable-window, "
                           "panic-window, scale-down-delay, reachable, initial-ready-pods)",
                           field)};
}

/// config file, then --set, then annotations, then --decider: the order Knative resolves them in.
result<replay_setup> resolve_setup(const decide_options& options) {
  revision_flags flags;
  flags.config_file = options.config_file;
  flags.config_sets = options.config_sets;
  flags.annotations = options.annotations;
  auto revision = resolve_revision_flags(flags);
  if (!revision) return revision.error_value();

  replay_setup setup;
  setup.spec = make_decider_spec(*revision);
  setup.panic_window = revision->panic_window;
  setup.algorithm = revision->algorithm;
  for (const auto& text : options.decider_sets) {
    auto kv = split_assignment("--decider", text);
    if (!kv) return kv.error_value();
    if (auto failed = apply_decider_override(setup, kv->first, kv->second)) return *failed;
  }
  return setup;
}

/// One decision as printed: the contract's columns.
struct decision_row {
  duration time{};
  observed_values observed;
  int ready_pods = 0;
  bool valid = false;
  std::int32_t desired_pods = -1;
  std::int32_t excess_burst_capacity = 0;
  bool panic_mode = false;
};

constexpr std::string_view output_header =
    "time_s,observed_stable,observed_panic,ready_pods,valid,desired_pods,excess_burst_capacity,panic_mode\n";

void print_row(std::ostream& out, const decision_row& row) {
  // {} prints the shortest text that parses back to the same double.
  fmt::print(out, "{},{},{},{},{},{},{},{}\n", sim::seconds_text(row.time), row.observed.stable, row.observed.panic,
             row.ready_pods, row.valid ? 1 : 0, row.desired_pods, row.excess_burst_capacity, row.panic_mode ? 1 : 0);
}

/// The optional per-row state columns: a value holds from its row on.
struct state_columns {
  std::optional<std::size_t> ready_pods;
  std::optional<std::size_t> reachable;
};

result<std::optional<int>> read_ready_pods(const csv_table& table, const csv_row& row, const state_columns& columns) {
  if (!columns.ready_pods) return std::optional<int>{};
  const auto& text = row.fields[*columns.ready_pods];
  long long value = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < 0 || value > 2147483647) {
    return error{row_error(table, row, fmt::format("ready_pods = \"{}\": expected a whole number >= 0", text))};
  }
  return std::optional<int>{static_cast<int>(value)};
}

result<std::optional<bool>> read_reachable(const csv_table& table, const csv_row& row, const state_columns& columns) {
  if (!columns.reachable) return std::optional<bool>{};
  const auto& text = row.fields[*columns.reachable];
  if (text == "1") return std::optional<bool>{true};
  if (text == "0") return std::optional<bool>{false};
  return error{row_error(table, row, fmt::format("reachable = \"{}\": expected 0 or 1", text))};
}

result<duration> read_time(const csv_table& table, const csv_row& row, std::size_t column) {
  auto parsed = parse_decimal_seconds(row.fields[column]);
  if (!parsed) return error{row_error(table, row, fmt::format("time_s = \"{}\": expected seconds", row.fields[column]))};
  if (*parsed < 0s) return error{row_error(table, row, fmt::format("time_s = {}: must be >= 0", row.fields[column]))};
  return *parsed;
}

result<double> read_value(const csv_table& table, const csv_row& row, std::size_t column) {
  const auto& name = table.header[column];
  auto parsed = parse_number(name, row.fields[column]);
  if (!parsed) return error{row_error(table, row, parsed.error_value().message)};
  if (!(*parsed >= 0) || *parsed > 1e300) {
    return error{row_error(table, row, fmt::format("{} = {}: must be a finite number >= 0", name, row.fields[column]))};
  }
  return *parsed;
}

/// Carries the decider and the status the multiscaler keeps between decisions.
struct replay_state {
  decider engine;
  decider_status status;
  decider_spec spec;

  replay_state(const replay_setup& setup)
      : engine(setup.spec, setup.initial_ready_pods, at(0s)), status(initial_decider_status(setup.spec)),
        spec(setup.spec) {}

  void set_reachable(bool reachable) {
    if (spec.reachable == reachable) return;
    spec.reachable = reachable;
    engine.update(spec);
  }

  decision_row decide(duration time, int ready_pods, std::optional<observed_values> observed) {
    const scale_result result = engine.scale(at(time), ready_pods, observed);
    apply_result(status, result);
    return decision_row{time,          observed.value_or(observed_values{}), ready_pods, result.valid,
                        status.desired_scale, status.excess_burst_capacity,   engine.in_panic()};
  }
};

int fail(std::ostream& err, const error& e) {
  fmt::print(err, "scalesim decide: {}\n", e.message);
  return 1;
}

int replay_averages(const csv_table& table, const replay_setup& setup, std::ostream& out, std::ostream& err) {
  const std::size_t time_col = *table.column("time_s");
  const std::size_t stable_col = *table.column("observed_stable");
  const std::size_t panic_col = *table.column("observed_panic");
  const state_columns columns{table.column("ready_pods"), table.column("reachable")};
  replay_state state{setup};
  fmt::print(out, "{}", output_header);
  for (const auto& row : table.rows) {
    auto time = read_time(table, row, time_col);
    if (!time) return fail(err, time.error_value());
    auto stable = read_value(table, row, stable_col);
    if (!stable) return fail(err, stable.error_value());
    auto panic = read_value(table, row, panic_col);
    if (!panic) return fail(err, panic.error_value());
    auto ready = read_ready_pods(table, row, columns);
    if (!ready) return fail(err, ready.error_value());
    auto reachable = read_reachable(table, row, columns);
    if (!reachable) return fail(err, reachable.error_value());
    if (*reachable) state.set_reachable(**reachable);
    print_row(out, state.decide(*time, ready->value_or(0), observed_values{*stable, *panic}));
  }
  return 0;
}

/// Most decisions a samples replay prints (about 231 days at the 2 s tick).
constexpr std::int64_t max_decisions = 10'000'000;

int replay_samples(const csv_table& table, const replay_setup& setup, duration tick, std::ostream& out,
                   std::ostream& err) {
  const std::size_t time_col = *table.column("time_s");
  const std::size_t value_col = *table.column("concurrency");
  const state_columns columns{table.column("ready_pods"), table.column("reachable")};

  // Validate every row first, so bad input yields an error and no partial output.
  struct sample {
    duration time;
    double value;
    std::optional<int> ready_pods;
    std::optional<bool> reachable;
  };
  std::vector<sample> samples;
  samples.reserve(table.rows.size());
  for (const auto& row : table.rows) {
    auto time = read_time(table, row, time_col);
    if (!time) return fail(err, time.error_value());
    if (!samples.empty() && *time < samples.back().time) {
      return fail(err, error{row_error(table, row, fmt::format("time_s = {} goes backwards (previous row {})",
                                                                row.fields[time_col],
                                                                sim::seconds_text(samples.back().time)))});
    }
    auto value = read_value(table, row, value_col);
    if (!value) return fail(err, value.error_value());
    auto ready = read_ready_pods(table, row, columns);
    if (!ready) return fail(err, ready.error_value());
    auto reachable = read_reachable(table, row, columns);
    if (!reachable) return fail(err, reachable.error_value());
    samples.push_back(sample{*time, *value, *ready, *reachable});
  }
  // One decision per tick from 0 to the last sample: a stray huge time_s would print billions of rows.
  if (!samples.empty() && samples.back().time / tick >= max_decisions) {
    const auto& row = table.rows.back();
    return fail(err, error{row_error(table, row, fmt::format("time_s = {}: replaying to it takes {} decisions at "
                                                             "--tick {} (at most {}); raise --tick or split the input",
                                                             row.fields[time_col], samples.back().time / tick + 1,
                                                             sim::seconds_text(tick), max_decisions))});
  }

  fmt::print(out, "{}", output_header);
  if (samples.empty()) return 0;
  // Without a scrape target (TBC = -1) Knative reads empty windows as zeros instead of "no data".
  const bool has_scrape_target = setup.spec.target_burst_capacity != -1;
  metric_collection collection(setup.spec.stable_window, setup.panic_window, setup.algorithm, has_scrape_target);
  replay_state state{setup};
  std::optional<int> ready_from_column;
  std::size_t next = 0;
  const duration last = samples.back().time;
  for (std::int64_t k = 0; tick * k <= last; ++k) {
    const duration now = tick * k;
    for (; next < samples.size() && samples[next].time <= now; ++next) {
      const sample& s = samples[next];
      // The column names concurrency; under the rps metric it carries the request rate.
      collection.record(at(s.time), pod_stat{.average_concurrency = s.value, .request_count = s.value});
      if (s.ready_pods) ready_from_column = s.ready_pods;
      if (s.reachable) state.set_reachable(*s.reachable);
    }
    const int ready = ready_from_column.value_or(std::max<std::int32_t>(state.status.desired_scale, 0));
    print_row(out, state.decide(now, ready, collection.stable_and_panic(at(now), setup.spec.metric)));
  }
  return 0;
}

}  // namespace

CLI::App* add_decide_command(CLI::App& app, decide_options& options) {
  auto* cmd = app.add_subcommand("decide", "Replay observed metrics through the KPA decider, one CSV row per decision");
  cmd->add_option("--config", options.config_file, "config-autoscaler ConfigMap YAML")->check(CLI::ExistingFile);
  cmd->add_option("--set", options.config_sets, "a config-autoscaler key, KEY=VALUE (repeatable)")->allow_extra_args(false);
  cmd->add_option("--annotation", options.annotations,
                  "a revision annotation, KEY=VALUE; a bare KEY means autoscaling.knative.dev/KEY (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--decider", options.decider_sets,
                  "override a resolved decider field, FIELD=VALUE (repeatable): target, total, target-burst-capacity, "
                  "panic-threshold, max-scale-up-rate, max-scale-down-rate, activation-scale, stable-window, "
                  "panic-window, scale-down-delay, reachable, initial-ready-pods")
      ->allow_extra_args(false);
  cmd->add_option("--input", options.input, "input kind: samples (time_s,concurrency) or averages "
                                            "(time_s,observed_stable,observed_panic,ready_pods)")
      ->check(CLI::IsMember({"samples", "averages"}))
      ->capture_default_str();
  cmd->add_option("--tick", options.tick, "seconds between decisions in samples mode")->capture_default_str();
  cmd->add_option("file", options.file, "input CSV, or - for standard input")->capture_default_str();
  return cmd;
}

int run_decide(const decide_options& options, std::istream& standard_input, std::ostream& out, std::ostream& err) {
  auto setup = resolve_setup(options);
  if (!setup) return fail(err, setup.error_value());
  auto tick = parse_decimal_seconds(options.tick);
  if (!tick || *tick <= 0s) return fail(err, error{fmt::format("--tick {}: expected a positive number of seconds", options.tick)});

  std::ifstream file_stream;
  std::istream* in = &standard_input;
  std::string source = "<stdin>";
  if (options.file != "-") {
    file_stream.open(options.file);
    if (!file_stream) return fail(err, error{fmt::format("{}: cannot open file", options.file)});
    in = &file_stream;
    source = options.file;
  }

  const bool averages = options.input == "averages";
  auto table = averages ? read_csv_table(*in, source, {"time_s", "observed_stable", "observed_panic", "ready_pods"},
                                         {"reachable"})
                        : read_csv_table(*in, source, {"time_s", "concurrency"}, {"ready_pods", "reachable"});
  if (!table) return fail(err, table.error_value());
  return averages ? replay_averages(*table, *setup, out, err) : replay_samples(*table, *setup, *tick, out, err);
}

}  // namespace scale::tools
