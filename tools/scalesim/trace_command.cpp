#include "trace_command.hpp"

#include <sim/azure_shape_trace.hpp>
#include <sim/csv_trace.hpp>
#include <sim/distribution.hpp>
#include <sim/synthetic_trace.hpp>
#include <sim/trace_format.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <fstream>
#include <optional>
#include <vector>

namespace scale::tools {
namespace {

using namespace std::chrono_literals;

int fail(std::ostream& err, std::string_view action, const error& e) {
  fmt::print(err, "scalesim trace {}: {}\n", action, e.message);
  return 1;
}

result<double> parse_rate(std::string_view flag, const std::string& text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value) || value < 0) {
    return error{fmt::format("{} \"{}\": expected requests per second (a number >= 0)", flag, text)};
  }
  return value;
}

result<double> parse_fraction(std::string_view flag, const std::string& text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !(value >= 0 && value <= 1)) {
    return error{fmt::format("{} \"{}\": expected a number in [0, 1]", flag, text)};
  }
  return value;
}

result<duration> parse_length(std::string_view flag, const std::string& text) {
  const auto d = sim::parse_duration_text(text);
  if (!d || *d < 0s) return error{fmt::format("{} \"{}\": expected a duration like 60s, 5m or 2.5 (seconds)", flag, text)};
  return *d;
}

/// Which flags each kind takes; every other kind-specific flag given is an error, every listed one is required.
struct kind_flag {
  const char* name;
  const std::string trace_command_options::*field;
  std::vector<sim::synthetic_kind> kinds;
};

const std::vector<kind_flag>& kind_flags() {
  using k = sim::synthetic_kind;
  static const std::vector<kind_flag> flags = {
      {"--rate", &trace_command_options::rate, {k::poisson, k::even, k::onoff, k::diurnal, k::spike}},
      {"--length", &trace_command_options::length, {k::poisson, k::even, k::onoff, k::diurnal, k::spike}},
      {"--steps", &trace_command_options::steps, {k::steps}},
      {"--on", &trace_command_options::on, {k::onoff}},
      {"--off", &trace_command_options::off, {k::onoff}},
      {"--period", &trace_command_options::period, {k::diurnal}},
      {"--amplitude", &trace_command_options::amplitude, {k::diurnal}},
      {"--spike-start", &trace_command_options::spike_start, {k::spike}},
      {"--spike-length", &trace_command_options::spike_length, {k::spike}},
      {"--spike-rate", &trace_command_options::spike_rate, {k::spike}},
  };
  return flags;
}

result<sim::synthetic_spec> make_spec(const trace_command_options& o) {
  auto kind = sim::parse_synthetic_kind(o.kind);
  if (!kind) return error{"--" + kind.error_value().message};
  for (const auto& flag : kind_flags()) {
    const bool used = std::find(flag.kinds.begin(), flag.kinds.end(), *kind) != flag.kinds.end();
    const bool given = !(o.*flag.field).empty();
    if (used && !given) return error{fmt::format("{} is required with --kind {}", flag.name, o.kind)};
    if (!used && given) return error{fmt::format("{} does not go with --kind {}", flag.name, o.kind)};
  }
  if (o.duration.empty()) return error{"--duration is required (a service-time distribution such as 100ms or exp:1s)"};

  sim::synthetic_spec spec;
  spec.kind = *kind;
  auto service = sim::parse_distribution(o.duration);
  if (!service) return error{"--duration: " + service.error_value().message};
  spec.service_time = *service;
  std::size_t functions = 0;
  const auto [end, ec] = std::from_chars(o.functions.data(), o.functions.data() + o.functions.size(), functions);
  if (o.functions.empty() || ec != std::errc{} || end != o.functions.data() + o.functions.size() || functions < 1) {
    return error{fmt::format("--functions \"{}\": expected a whole number >= 1", o.functions)};
  }
  spec.functions = functions;

  // Each flag in turn, so the error names the first bad one.
  auto set_rate = [](double& target, std::string_view flag, const std::string& text) -> std::optional<error> {
    if (text.empty()) return std::nullopt;
    auto v = parse_rate(flag, text);
    if (!v) return v.error_value();
    target = *v;
    return std::nullopt;
  };
  auto set_length = [](duration& target, std::string_view flag, const std::string& text) -> std::optional<error> {
    if (text.empty()) return std::nullopt;
    auto v = parse_length(flag, text);
    if (!v) return v.error_value();
    target = *v;
    return std::nullopt;
  };
  if (auto e = set_rate(spec.rate_per_s, "--rate", o.rate)) return *e;
  if (auto e = set_length(spec.length, "--length", o.length)) return *e;
  if (auto e = set_length(spec.on, "--on", o.on)) return *e;
  if (auto e = set_length(spec.off, "--off", o.off)) return *e;
  if (auto e = set_length(spec.period, "--period", o.period)) return *e;
  if (!o.amplitude.empty()) {
    auto v = parse_fraction("--amplitude", o.amplitude);
    if (!v) return v.error_value();
    spec.amplitude = *v;
  }
  if (auto e = set_length(spec.spike_start, "--spike-start", o.spike_start)) return *e;
  if (auto e = set_length(spec.spike_length, "--spike-length", o.spike_length)) return *e;
  if (auto e = set_rate(spec.spike_rate_per_s, "--spike-rate", o.spike_rate)) return *e;
  if (!o.steps.empty()) {
    auto steps = sim::parse_rate_steps(o.steps);
    if (!steps) return error{"--" + steps.error_value().message};
    spec.steps = std::move(steps).value();
  }
  return spec;
}

/// Writes an Azure-shaped trace in the Azure 2019 layout: per-minute counts on `out` (functions one at a time,
/// 1440 counters for a day), and a durations row per function with the percentiles of its log-normal service
/// time (p0 and p100 taken at the 0.01 % and 99.99 % quantiles, as a log-normal has no finite ends).
result<bool> write_azure_shape_azure2019(const sim::trace& t, const sim::azure_shape_spec& spec, std::uint64_t seed,
                                         const std::string& durations_file, std::ostream& out) {
  std::ofstream durations(durations_file, std::ios::binary);
  if (!durations) return error{fmt::format("--durations-out \"{}\": cannot open for writing", durations_file)};
  const auto minutes = static_cast<std::size_t>((spec.length + std::chrono::minutes{1} - duration{1}) / std::chrono::minutes{1});
  fmt::print(out, "HashOwner,HashApp,HashFunction,Trigger");
  for (std::size_t m = 1; m <= minutes; ++m) fmt::print(out, ",{}", m);
  fmt::print(out, "\n");
  fmt::print(durations, "HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,percentile_Average_0,"
                        "percentile_Average_1,percentile_Average_25,percentile_Average_50,percentile_Average_75,"
                        "percentile_Average_99,percentile_Average_100\n");
  // Standard normal quantiles at 0.0001, 0.01, 0.25, 0.5, 0.75, 0.99, 0.9999.
  constexpr std::array<double, 7> z{-3.719016485, -2.326347874, -0.674489750, 0, 0.674489750, 2.326347874, 3.719016485};
  std::vector<std::uint64_t> counts(minutes);
  std::string row;
  for (std::size_t i = 0; i < t.functions.size(); ++i) {
    std::fill(counts.begin(), counts.end(), 0);
    std::uint64_t total = 0;
    auto source = t.functions[i].open(sim::function_seed(seed, i));
    while (auto a = source->next()) {
      ++counts[static_cast<std::size_t>(a->time.time_since_epoch() / std::chrono::minutes{1})];
      ++total;
    }
    const std::string id = t.functions[i].id;
    row = fmt::format("o{0},app{0},{1},http", i + 1, id);
    for (const auto c : counts) fmt::format_to(std::back_inserter(row), ",{}", c);
    row += '\n';
    out << row;
    const auto f = sim::azure_shape_function_at(spec, i);
    const double sigma = sim::azure_shape_service_sigma;
    const double mean_ms = static_cast<double>(f.mean_service_time.count()) / 1e6;
    const double median_ms = mean_ms * std::exp(-sigma * sigma / 2);
    std::array<double, 7> p{};
    for (std::size_t k = 0; k < p.size(); ++k) p[k] = median_ms * std::exp(sigma * z[k]);
    fmt::print(durations, "o{0},app{0},{1},{2},{3},{4},{5},{4},{6},{7},{8},{9},{10},{5}\n", i + 1, id, mean_ms, total,
               p[0], p[6], p[1], p[2], p[3], p[4], p[5]);
  }
  durations.close();
  if (!durations) return error{fmt::format("--durations-out \"{}\": write failed", durations_file)};
  return true;
}

int run_gen_azure_shape(const trace_command_options& o, std::ostream& out, std::ostream& err) {
  // Only the flags this kind takes; the others would be silently ignored.
  for (const auto& flag : kind_flags()) {
    if (std::string_view{flag.name} != "--length" && !(o.*flag.field).empty()) {
      return fail(err, "gen", error{fmt::format("{} does not go with --kind azure-shape", flag.name)});
    }
  }
  if (!o.duration.empty()) {
    return fail(err, "gen", error{"--duration does not go with --kind azure-shape (service times are drawn per function)"});
  }
  if (o.length.empty()) return fail(err, "gen", error{"--length is required with --kind azure-shape"});
  sim::azure_shape_spec spec;
  auto length = parse_length("--length", o.length);
  if (!length) return fail(err, "gen", length.error_value());
  spec.length = *length;
  const auto [end, ec] = std::from_chars(o.functions.data(), o.functions.data() + o.functions.size(), spec.functions);
  if (o.functions.empty() || ec != std::errc{} || end != o.functions.data() + o.functions.size() || spec.functions < 1) {
    return fail(err, "gen", error{fmt::format("--functions \"{}\": expected a whole number >= 1", o.functions)});
  }
  if (!o.max_rate.empty()) {
    auto cap = parse_rate("--max-rate", o.max_rate);
    if (!cap) return fail(err, "gen", cap.error_value());
    spec.max_rate_per_s = *cap;
  }
  spec.population_seed = o.population_seed;
  auto t = sim::make_azure_shape_trace(spec);
  if (!t) return fail(err, "gen", t.error_value());
  if (o.format == "azure2019") {
    if (o.durations_out.empty()) return fail(err, "gen", error{"--format azure2019 needs --durations-out FILE"});
    auto written = write_azure_shape_azure2019(*t, spec, o.seed, o.durations_out, out);
    if (!written) return fail(err, "gen", written.error_value());
    return 0;
  }
  if (!o.durations_out.empty()) return fail(err, "gen", error{"--durations-out goes only with --format azure2019"});
  sim::write_csv_trace(*t, o.seed, out);
  return 0;
}

int run_gen(const trace_command_options& o, std::ostream& out, std::ostream& err) {
  if (o.kind == "azure-shape") return run_gen_azure_shape(o, out, err);
  if (!o.max_rate.empty() || o.format != "csv" || !o.durations_out.empty() || o.population_seed != 1) {
    return fail(err, "gen", error{fmt::format("--max-rate, --population-seed, --format and --durations-out go only "
                                              "with --kind azure-shape")});
  }
  auto spec = make_spec(o);
  if (!spec) return fail(err, "gen", spec.error_value());
  auto t = sim::make_synthetic_trace(*spec);
  if (!t) return fail(err, "gen", t.error_value());
  sim::write_csv_trace(*t, o.seed, out);
  return 0;
}

/// Counts of one function's stream.
struct stream_summary {
  std::uint64_t requests = 0;
  std::optional<time_point> first, last;
  double service_ns_sum = 0;

  void add(const stream_summary& other) {
    requests += other.requests;
    service_ns_sum += other.service_ns_sum;
    if (other.first && (!first || *other.first < *first)) first = other.first;
    if (other.last && (!last || *other.last > *last)) last = other.last;
  }
};

stream_summary summarise(const sim::function_trace& f, std::uint64_t seed) {
  stream_summary s;
  auto source = f.open(seed);
  while (auto a = source->next()) {
    ++s.requests;
    if (!s.first) s.first = a->time;
    s.last = a->time;
    s.service_ns_sum += static_cast<double>(a->service_time.count());
  }
  return s;
}

std::string time_text(const std::optional<time_point>& t) {
  return t ? sim::seconds_text(t->time_since_epoch()) : std::string{};
}

int run_info(const trace_command_options& o, std::ostream& out, std::ostream& err) {
  auto expansion = sim::parse_minute_expansion(o.expansion);
  if (!expansion) return fail(err, "info", error{"--" + expansion.error_value().message});
  if (o.files.empty()) return fail(err, "info", error{"expected at least one trace file"});
  sim::trace_options options;
  options.expansion = *expansion;
  options.durations_file = o.durations;

  // Open (and so validate) every file before printing anything.
  struct opened {
    std::string file;
    sim::trace_format format;
    sim::trace trace;
  };
  std::vector<opened> traces;
  for (const auto& file : o.files) {
    auto format = sim::detect_trace_format(file);
    if (!format) return fail(err, "info", format.error_value());
    auto t = sim::open_trace(file, options);
    if (!t) return fail(err, "info", t.error_value());
    traces.push_back(opened{file, *format, std::move(t).value()});
  }

  fmt::print(out, "{}\n", o.per_function ? "file,format,function,requests,first_s,last_s,mean_service_s"
                                         : "file,format,functions,requests,first_s,last_s");
  for (const auto& t : traces) {
    stream_summary total;
    for (std::size_t i = 0; i < t.trace.functions.size(); ++i) {
      const auto& f = t.trace.functions[i];
      const stream_summary s = summarise(f, sim::function_seed(o.seed, i));
      if (o.per_function) {
        const std::string mean =
            s.requests == 0 ? std::string{}
                            : sim::seconds_text(duration{std::llround(s.service_ns_sum / static_cast<double>(s.requests))});
        fmt::print(out, "{},{},{},{},{},{},{}\n", t.file, to_string(t.format), f.id, s.requests, time_text(s.first),
                   time_text(s.last), mean);
      }
      total.add(s);
    }
    if (!o.per_function) {
      fmt::print(out, "{},{},{},{},{},{}\n", t.file, to_string(t.format), t.trace.functions.size(), total.requests,
                 time_text(total.first), time_text(total.last));
    }
  }
  return 0;
}

}  // namespace

CLI::App* add_trace_command(CLI::App& app, trace_command_options& options) {
  auto* cmd = app.add_subcommand("trace", "Generate synthetic traces and summarise trace files");
  cmd->require_subcommand(1);

  auto* gen = cmd->add_subcommand("gen", "Write a synthetic trace as CSV (timestamp_s,function,duration_ms) on stdout");
  gen->parse_complete_callback([&options] { options.action = "gen"; });
  gen->add_option("--kind", options.kind,
                  "arrival process: poisson, even, onoff, diurnal, steps, spike, or azure-shape (a population shaped "
                  "like Azure Functions 2019)")
      ->check(CLI::IsMember({"poisson", "even", "onoff", "diurnal", "steps", "spike", "azure-shape"}))
      ->capture_default_str();
  gen->add_option("--rate", options.rate, "requests per second (onoff: while on; diurnal: the mean; spike: the base)");
  gen->add_option("--length", options.length, "length of the trace, e.g. 10m or 600 (seconds)");
  gen->add_option("--duration", options.duration,
                  "service-time distribution: 2s, const:2s, exp:MEAN, lognormal:MEDIAN,SIGMA, uniform:A,B, "
                  "empirical:FILE");
  gen->add_option("--functions", options.functions, "number of independent functions (f1 .. fN)")->capture_default_str();
  gen->add_option("--seed", options.seed, "run seed; function i draws from function_seed(seed, i)")->capture_default_str();
  gen->add_option("--steps", options.steps, "steps: RATE@DURATION,... e.g. 10@60s,50@60s");
  gen->add_option("--on", options.on, "onoff: how long each burst lasts");
  gen->add_option("--off", options.off, "onoff: the pause after each burst");
  gen->add_option("--period", options.period, "diurnal: the period of the sine, e.g. 24h");
  gen->add_option("--amplitude", options.amplitude, "diurnal: relative amplitude in [0, 1]");
  gen->add_option("--spike-start", options.spike_start, "spike: when the spike starts");
  gen->add_option("--spike-length", options.spike_length, "spike: how long it lasts");
  gen->add_option("--spike-rate", options.spike_rate, "spike: requests per second during the spike");
  gen->add_option("--max-rate", options.max_rate, "azure-shape: cap on each function's requests per second");
  gen->add_option("--population-seed", options.population_seed,
                  "azure-shape: seed of the functions' rates and mean service times")
      ->capture_default_str();
  gen->add_option("--format", options.format,
                  "azure-shape: csv (ours) or azure2019 (per-minute counts on stdout, durations to --durations-out)")
      ->check(CLI::IsMember({"csv", "azure2019"}))
      ->capture_default_str();
  gen->add_option("--durations-out", options.durations_out, "azure-shape --format azure2019: the durations file");

  auto* info = cmd->add_subcommand("info", "Summarise trace files: format, functions, requests, time span (CSV)");
  info->parse_complete_callback([&options] { options.action = "info"; });
  info->add_option("files", options.files, "trace files (our CSV, Azure 2019 invocations, Azure 2021)")->required();
  info->add_flag("--functions", options.per_function, "one row per function instead of per file");
  info->add_option("--expansion", options.expansion, "Azure 2019 minute expansion: uniform, poisson or equal")
      ->check(CLI::IsMember({"uniform", "poisson", "equal"}))
      ->capture_default_str();
  info->add_option("--durations", options.durations, "Azure 2019 durations file (default: the sibling by name)");
  info->add_option("--seed", options.seed, "run seed for randomised expansions")->capture_default_str();
  return cmd;
}

int run_trace(const trace_command_options& options, std::istream& /*standard_input*/, std::ostream& out,
              std::ostream& err) {
  if (options.action == "gen") return run_gen(options, out, err);
  if (options.action == "info") return run_info(options, out, err);
  fmt::print(err, "scalesim trace: expected a subcommand, gen or info\n");
  return 1;
}

}  // namespace scale::tools
