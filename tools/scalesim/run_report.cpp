#include "run_report.hpp"

#include "decimal_time.hpp"

#include <sim/distribution.hpp>
#include <libscale/config.hpp>

#include <fmt/format.h>
#include <fmt/ostream.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <unistd.h>

namespace scale::tools {
namespace {

using json = nlohmann::ordered_json;

double share(std::uint64_t part, std::uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

json latency_json(const sim::latency_histogram& h) {
  return json{{"mean", h.mean_ms()},          {"p50", h.quantile_ms(0.50)},  {"p90", h.quantile_ms(0.90)},
              {"p99", h.quantile_ms(0.99)},   {"p999", h.quantile_ms(0.999)}, {"max", h.max_ms()}};
}

}  // namespace

json result_fields(const sim::function_result& r) {
  return json{{"requests", r.requests},
              {"completed", r.completed},
              {"failed", r.failed},
              {"cold_starts", r.cold_starts},
              {"cold_start_share", share(r.cold_starts, r.requests)},
              {"latency_ms", latency_json(r.latency)},
              {"queueing_ms", latency_json(r.queueing)},
              {"pod_seconds", r.pod_seconds},
              {"idle_pod_seconds", r.idle_pod_seconds},
              {"peak_pods", r.peak_pods},
              {"scale_events", r.scale_events},
              {"time_at_zero_s", r.time_at_zero_s},
              {"simulated_s", r.simulated_s}};
}

json config_json(const sim::simulation_config& c) {
  const revision_autoscaling& r = c.revision;
  return json{{"metric", r.metric == scaling_metric::rps ? "rps" : "concurrency"},
              {"target", r.target_value},
              {"total", r.total_value},
              {"target_burst_capacity", r.target_burst_capacity},
              {"stable_window", format_go_duration(r.stable_window)},
              {"panic_window", format_go_duration(r.panic_window)},
              {"panic_threshold", r.panic_threshold},
              {"scale_down_delay", format_go_duration(r.scale_down_delay)},
              {"scale_to_zero_grace_period", format_go_duration(r.scale_to_zero_grace_period)},
              {"pod_retention", format_go_duration(r.pod_retention)},
              {"min_scale", r.min_scale},
              {"max_scale", r.max_scale},
              {"initial_scale", r.initial_scale},
              {"activation_scale", r.activation_scale},
              {"enable_scale_to_zero", r.enable_scale_to_zero},
              {"container_concurrency", c.container_concurrency},
              {"revision_timeout", format_go_duration(c.revision_timeout)}};
}

namespace {

/// Quantile of per-function values, by sorting (a few thousand functions at most).
double quantile_of(std::vector<double> values, double q) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

}  // namespace

std::optional<error> write_file(const std::string& path, const std::string& text) {
  errno = 0;
  std::ofstream file(path, std::ios::binary);
  // The stream hides why; open(2)'s errno says it (a missing directory, no permission, a full disk).
  if (!file) return error{fmt::format("{}: cannot write ({})", path, errno != 0 ? std::strerror(errno) : "unknown reason")};
  file << text;
  file.close();
  if (!file) return error{fmt::format("{}: write failed", path)};
  return std::nullopt;
}

std::optional<error> run_gnuplot(const std::string& path, const std::vector<plot_data>& data,
                                 const std::string& script_body, std::string_view size) {
  namespace fs = std::filesystem;
  static std::atomic<unsigned> plots{0};
  const bool png = path.size() >= 4 && path.substr(path.size() - 4) == ".png";
  const fs::path work = fs::temp_directory_path() / fmt::format("scalesim-plot-{}-{}", ::getpid(), plots++);
  std::error_code ec;
  fs::create_directories(work, ec);
  if (ec) return error{fmt::format("{}: cannot create ({})", work.string(), ec.message())};
  std::string script = fmt::format("set terminal {}\nset output '{}'\n",
                                   png ? fmt::format("pngcairo size {}", size)
                                       : fmt::format("svg size {} dynamic background rgb 'white'", size),
                                   path);
  std::string body = script_body;
  for (const plot_data& d : data) {
    const fs::path file = work / d.name;
    if (auto e = write_file(file.string(), d.text)) return e;
    // Scripts name their data files as @NAME@.
    const std::string token = "@" + d.name + "@";
    for (auto at = body.find(token); at != std::string::npos; at = body.find(token, at)) {
      body.replace(at, token.size(), "'" + file.string() + "'");
    }
  }
  script += body;
  const fs::path script_file = work / "plot.gp";
  if (auto e = write_file(script_file.string(), script)) return e;
  const std::string command = fmt::format("gnuplot '{}' 2>'{}'", script_file.string(), (work / "gnuplot.err").string());
  const int status = std::system(command.c_str());
  std::string gnuplot_err;
  {
    std::ifstream in(work / "gnuplot.err");
    std::stringstream buffer;
    buffer << in.rdbuf();
    gnuplot_err = buffer.str();
  }
  fs::remove_all(work, ec);
  if (status != 0) {
    return error{fmt::format("{}: gnuplot failed (is gnuplot installed? tools/dev/install-deps.sh installs it){}{}",
                             path, gnuplot_err.empty() ? "" : ": ", gnuplot_err.substr(0, gnuplot_err.find('\n')))};
  }
  return std::nullopt;
}

namespace {

/// Demand (in flight + queued), ready and desired pods summed over all functions at each tick.
struct aggregate_row {
  std::int64_t demand = 0;
  std::int64_t ready = 0;
  std::int64_t desired = 0;
};

std::map<std::int64_t, aggregate_row> aggregate_timeline(const run_outcome& outcome) {
  std::map<std::int64_t, aggregate_row> rows;
  for (const auto& timeline : outcome.timelines) {
    for (const auto& row : timeline) {
      auto& a = rows[row.time.time_since_epoch().count()];
      a.demand += row.in_flight + row.activator_queue;
      a.ready += row.ready_pods;
      a.desired += std::max(row.desired_pods, 0);
    }
  }
  return rows;
}

std::optional<error> write_plot(const run_outcome& outcome, const sim::function_result& total, const std::string& path) {
  // A day has 43 200 ticks: plot at most ~4000 points, each the maximum of its group so peaks stay visible.
  const auto rows = aggregate_timeline(outcome);
  const std::size_t group = std::max<std::size_t>(1, (rows.size() + 3999) / 4000);
  std::string timeline;
  std::size_t in_group = 0;
  aggregate_row peak;
  std::int64_t group_start = 0;
  for (const auto& [t, a] : rows) {
    if (in_group == 0) group_start = t;
    peak.demand = std::max(peak.demand, a.demand);
    peak.ready = std::max(peak.ready, a.ready);
    peak.desired = std::max(peak.desired, a.desired);
    if (++in_group == group) {
      timeline += fmt::format("{} {} {} {}\n", static_cast<double>(group_start) / 1e9, peak.demand, peak.ready, peak.desired);
      in_group = 0;
      peak = {};
    }
  }
  if (in_group != 0) {
    timeline += fmt::format("{} {} {} {}\n", static_cast<double>(group_start) / 1e9, peak.demand, peak.ready, peak.desired);
  }
  if (timeline.empty()) timeline = "0 0 0 0\n";
  std::string cdf;
  for (int i = 0; i <= 1000; ++i) {
    const double q = i / 1000.0;
    cdf += fmt::format("{} {}\n", total.latency.quantile_ms(q), q);
  }
  const std::string script = fmt::format(
      "set multiplot layout 2,1\n"
      "set title 'Demand and pods over time (all functions)'\n"
      "set xlabel 'time (s)'\nset ylabel 'requests / pods'\nset key top right\nset grid\n"
      "plot @timeline.dat@ using 1:2 with steps title 'demand (in flight + queued)' lw 1, "
      "'' using 1:4 with steps title 'desired pods' lw 2, '' using 1:3 with steps title 'ready pods' lw 2\n"
      "set title 'Latency CDF'\nset xlabel 'latency (ms)'\nset ylabel 'share of requests'\nset logscale x\n"
      "set yrange [0:1]\nset xrange [{}:*]\nset key bottom right\n"
      "plot @cdf.dat@ using 1:2 with lines title 'latency' lw 2\n"
      "unset multiplot\n",
      std::max(1e-3, total.latency.quantile_ms(0.001) / 2));
  return run_gnuplot(path, {{"timeline.dat", timeline}, {"cdf.dat", cdf}}, script);
}

}  // namespace

sim::function_result total_of(const std::vector<sim::function_result>& functions) {
  sim::function_result total;
  total.id = "total";
  for (const auto& f : functions) total.merge(f);
  return total;
}

std::string policy_name(const sim::simulation_config& config) { return config.policy ? config.policy->name : "kpa"; }

std::string summary_json(const run_outcome& outcome, const sim::simulation_config& config, const report_options& options) {
  return summary_json(outcome, config_json(config), policy_name(config), options);
}

std::string summary_json(const run_outcome& outcome, const nlohmann::ordered_json& config, std::string_view policy,
                         const report_options& options) {
  json doc;
  doc["seed"] = options.seed;
  doc["sources"] = options.sources;
  doc["config"] = config;
  doc["policy"] = policy;
  doc["total"] = result_fields(total_of(outcome.functions));
  json functions = json::array();
  for (const auto& f : outcome.functions) {
    json entry{{"id", f.id}};
    entry.update(result_fields(f));
    functions.push_back(std::move(entry));
  }
  doc["functions"] = std::move(functions);
  // The spread across functions (the paper's per-function cold-start CDF, summarised).
  std::vector<double> shares;
  for (const auto& f : outcome.functions) shares.push_back(share(f.cold_starts, f.requests));
  doc["across_functions"] = json{{"cold_start_share", json{{"p50", quantile_of(shares, 0.5)},
                                                           {"p90", quantile_of(shares, 0.9)},
                                                           {"p99", quantile_of(shares, 0.99)},
                                                           {"max", quantile_of(shares, 1.0)}}}};
  return doc.dump(2) + "\n";
}

void write_timeline_csv(const run_outcome& outcome, std::ostream& out) {
  out << "time_s,function,ready_pods,desired_pods,panic_mode,observed_stable,observed_panic,in_flight,"
         "activator_queue,excess_burst_capacity,activator_in_path\n";
  for (std::size_t i = 0; i < outcome.timelines.size(); ++i) {
    const std::string& id = outcome.functions[i].id;
    for (const auto& r : outcome.timelines[i]) {
      fmt::print(out, "{},{},{},{},{},{},{},{},{},{},{}\n", sim::seconds_text(r.time.time_since_epoch()), id,
                 r.ready_pods, r.desired_pods, r.panic_mode ? 1 : 0, r.observed_stable, r.observed_panic, r.in_flight,
                 r.activator_queue, r.excess_burst_capacity, r.activator_in_path ? 1 : 0);
    }
  }
}

void print_summary(const run_outcome& outcome, const report_options& options, std::ostream& out) {
  const sim::function_result total = total_of(outcome.functions);
  fmt::print(out, "scalesim run: {} — {} function{}, seed {}, {:.0f} s simulated{}\n\n", fmt::join(options.sources, ", "),
             outcome.functions.size(), outcome.functions.size() == 1 ? "" : "s", options.seed, total.simulated_s,
             options.policy.empty() || options.policy == "kpa" ? "" : fmt::format(", policy {}", options.policy));
  const auto row = [&](const sim::function_result& r, std::string_view name) {
    fmt::print(out, "{:<24.24} {:>10} {:>9} {:>7} {:>7.2f}% {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>11.1f} {:>11.1f} {:>5} {:>7}\n",
               name, r.requests, r.cold_starts, r.failed, 100.0 * share(r.cold_starts, r.requests),
               r.latency.quantile_ms(0.5), r.latency.quantile_ms(0.99), r.latency.quantile_ms(0.999), r.latency.max_ms(),
               r.pod_seconds, r.idle_pod_seconds, r.peak_pods, r.scale_events);
  };
  fmt::print(out, "{:<24} {:>10} {:>9} {:>7} {:>8} {:>9} {:>9} {:>9} {:>9} {:>11} {:>11} {:>5} {:>7}\n", "function", "requests",
             "cold", "failed", "cold %", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "pod-s", "idle pod-s", "peak", "scale");
  // The busiest functions first; the whole list is in the JSON.
  std::vector<const sim::function_result*> order;
  for (const auto& f : outcome.functions) order.push_back(&f);
  std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->requests > b->requests; });
  constexpr std::size_t shown = 15;
  for (std::size_t i = 0; i < std::min(shown, order.size()); ++i) row(*order[i], order[i]->id);
  if (order.size() > shown) fmt::print(out, "... {} more functions (see the JSON)\n", order.size() - shown);
  if (order.size() > 1) row(total, "total");
  if (outcome.functions.size() > 1) {
    std::vector<double> shares;
    for (const auto& f : outcome.functions) shares.push_back(100.0 * share(f.cold_starts, f.requests));
    fmt::print(out, "\ncold-start share across functions: p50 {:.2f}%, p90 {:.2f}%, p99 {:.2f}%, max {:.2f}%\n",
               quantile_of(shares, 0.5), quantile_of(shares, 0.9), quantile_of(shares, 0.99), quantile_of(shares, 1.0));
  }
}

std::optional<error> write_reports(const run_outcome& outcome, const sim::simulation_config& config,
                                   const report_options& options, std::ostream& out) {
  return write_reports(outcome, config_json(config), policy_name(config), options, out);
}

std::optional<error> write_reports(const run_outcome& outcome, const nlohmann::ordered_json& config,
                                   std::string_view policy, const report_options& options, std::ostream& out) {
  namespace fs = std::filesystem;
  std::string json_file = options.json_file;
  std::string timeline_file = options.timeline_file;
  std::string plot_file = options.plot_file;
  if (!options.out_dir.empty()) {
    std::error_code ec;
    fs::create_directories(options.out_dir, ec);
    if (ec) return error{fmt::format("{}: cannot create directory ({})", options.out_dir, ec.message())};
    if (json_file.empty()) json_file = (fs::path(options.out_dir) / "summary.json").string();
    if (timeline_file.empty()) timeline_file = (fs::path(options.out_dir) / "timeline.csv").string();
    if (plot_file.empty()) plot_file = (fs::path(options.out_dir) / "plot.svg").string();
  }
  if (!options.quiet) print_summary(outcome, options, out);
  if (!json_file.empty()) {
    if (auto e = write_file(json_file, summary_json(outcome, config, policy, options))) return e;
  }
  if (!timeline_file.empty()) {
    std::ostringstream csv;
    write_timeline_csv(outcome, csv);
    if (auto e = write_file(timeline_file, csv.str())) return e;
  }
  if (!plot_file.empty()) {
    if (auto e = write_plot(outcome, total_of(outcome.functions), plot_file)) return e;
  }
  if (!options.quiet) {
    for (const auto& [what, path] : {std::pair{"json", json_file}, {"timeline", timeline_file}, {"plot", plot_file}}) {
      if (!path.empty()) fmt::print(out, "{}: {}\n", what, path);
    }
  }
  return std::nullopt;
}

}  // namespace scale::tools
