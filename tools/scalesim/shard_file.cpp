#include "shard_file.hpp"

#include "run_command.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <type_traits>

namespace scale::tools {
namespace {

using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

constexpr std::string_view format_name = "scalesim-shard/1";

result<std::size_t> parse_count(std::string_view text) {
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return error{"not a count"};
  return value;
}

}  // namespace

result<shard_spec> parse_shard(std::string_view text, std::optional<std::string_view> job_completion_index) {
  const auto expected = [&] {
    return error{fmt::format("--shard {}: expected I/N with 0 <= I < N (e.g. 0/3), or auto/N to take I from "
                             "JOB_COMPLETION_INDEX",
                             text)};
  };
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return expected();
  const std::string_view index_text = text.substr(0, slash);
  auto count = parse_count(text.substr(slash + 1));
  if (!count || *count == 0) return expected();
  shard_spec shard;
  shard.count = *count;
  if (index_text == "auto") {
    if (!job_completion_index) {
      return error{fmt::format("--shard {}: JOB_COMPLETION_INDEX is not set (a Kubernetes Indexed Job sets it)", text)};
    }
    auto index = parse_count(*job_completion_index);
    if (!index || *index >= shard.count) {
      return error{fmt::format("--shard {}: JOB_COMPLETION_INDEX={} is not an index from 0 to {}", text,
                               *job_completion_index, shard.count - 1)};
    }
    shard.index = *index;
    return shard;
  }
  auto index = parse_count(index_text);
  if (!index) return expected();
  if (*index >= shard.count) {
    return error{fmt::format("--shard {}: the index must be below the count (0 to {})", text, shard.count - 1)};
  }
  shard.index = *index;
  return shard;
}

result<shard_spec> parse_shard_flag(std::string_view text) {
  const char* env = std::getenv("JOB_COMPLETION_INDEX");
  return parse_shard(text, env != nullptr ? std::optional<std::string_view>{env} : std::nullopt);
}

result<std::optional<shard_spec>> shard_from_flags(const run_options& o) {
  if (o.shard.empty()) {
    if (!o.shard_out.empty()) return error{fmt::format("--shard-out {}: needs --shard I/N", o.shard_out)};
    if (o.shard_timelines) return error{"--shard-timelines: needs --shard I/N"};
    return std::optional<shard_spec>{};
  }
  auto shard = parse_shard_flag(o.shard);
  if (!shard) return shard.error_value();
  return std::optional<shard_spec>{*shard};
}

result<std::string> shard_output_path(const run_options& o, std::size_t shard_index) {
  for (const auto& [flag, value] : {std::pair{"--json", o.json_file}, {"--timeline", o.timeline_file},
                                    {"--plot", o.plot_file}}) {
    if (!value.empty()) {
      return error{fmt::format("{} {}: a shard writes only its shard file; give {} to scalesim merge", flag, value,
                               flag)};
    }
  }
  if (o.shard_out.empty() && o.out_dir.empty()) {
    return error{"--shard: give --shard-out FILE or --out DIR for the shard file"};
  }
  // Like --out, the shard file's directory is made on demand (each Job pod may start on an empty volume).
  const fs::path path = o.shard_out.empty() ? fs::path(o.out_dir) / fmt::format("shard-{}.json", shard_index)
                                            : fs::path(o.shard_out);
  if (path.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) return error{fmt::format("{}: cannot create directory ({})", path.parent_path().string(), ec.message())};
  }
  return path.string();
}

std::optional<error> check_shard_set(const std::vector<std::string>& paths, const std::vector<shard_spec>& shards) {
  const std::size_t count = shards.front().count;
  std::vector<std::optional<std::size_t>> owner(count);
  for (std::size_t k = 0; k < shards.size(); ++k) {
    const shard_spec s = shards[k];
    if (s.count != count) {
      return error{fmt::format("{}: shard {}/{}, but {} is one of {} shards", paths[k], s.index, s.count,
                               paths.front(), count)};
    }
    if (auto& seen = owner[s.index]) {
      return error{fmt::format("{}: shard {}/{} again ({} is that shard too)", paths[k], s.index, s.count,
                               paths[*seen])};
    }
    owner[s.index] = k;
  }
  for (std::size_t i = 0; i < count; ++i) {
    if (owner[i]) continue;
    std::string given;
    for (std::size_t k = 0; k < shards.size() && k < 8; ++k) {
      given += fmt::format("{}{} is {}/{}", k == 0 ? "" : ", ", paths[k], shards[k].index, shards[k].count);
    }
    if (shards.size() > 8) given += fmt::format(", and {} more", shards.size() - 8);
    return error{fmt::format("shard {}/{} is missing ({})", i, count, given)};
  }
  return std::nullopt;
}

std::vector<std::size_t> shard_function_indices(std::size_t functions, shard_spec shard) {
  std::vector<std::size_t> indices;
  for (std::size_t i = shard.index; i < functions; i += shard.count) indices.push_back(i);
  return indices;
}

sim::trace select_functions(sim::trace workload, const std::vector<std::size_t>& indices) {
  sim::trace selected;
  selected.source = workload.source;
  for (const std::size_t i : indices) selected.functions.push_back(std::move(workload.functions[i]));
  return selected;
}

namespace {

/// A file the run reads, by path and size (null when not given).
result<json> file_entry(std::string_view flag, const std::string& path) {
  if (path.empty()) return json(nullptr);
  if (path == "-") return error{fmt::format("{} -: standard input cannot be sharded (give a file)", flag)};
  std::error_code ec;
  const auto bytes = fs::file_size(path, ec);
  if (ec) return error{fmt::format("{}: cannot read ({})", path, ec.message())};
  return json{{"path", path}, {"bytes", bytes}};
}

}  // namespace

result<json> shard_inputs(std::string_view command, const run_options& o, const std::vector<std::string>& policies,
                          std::size_t shard_count, bool timelines) {
  json traces = json::array();
  for (const auto& path : o.traces.empty() ? std::vector{default_trace_path()} : o.traces) {
    auto entry = file_entry("trace", path);
    if (!entry) return entry.error_value();
    traces.push_back(*entry);
  }
  json doc{{"command", command}, {"traces", std::move(traces)}};
  for (const auto& [key, path] : {std::pair{"config", o.config_file}, {"annotations_file", o.annotations_file},
                                  {"durations", o.durations_file}}) {
    auto entry = file_entry(key, path);
    if (!entry) return entry.error_value();
    doc[key] = *entry;
  }
  doc["sets"] = o.config_sets;
  doc["annotations"] = o.annotations;
  doc["container_concurrency"] = o.container_concurrency;
  doc["seed"] = o.seed;
  doc["cold_start"] = o.cold_start;
  doc["start"] = o.start;
  doc["until"] = o.until;
  doc["revision_timeout"] = o.revision_timeout;
  doc["drain"] = o.drain;
  doc["expansion"] = o.expansion;
  doc["pod_creation_rate"] = o.pod_creation_rate;
  doc["policies"] = policies;
  doc["timelines"] = timelines;
  doc["shards"] = shard_count;
  return doc;
}

std::string fingerprint_of(const json& inputs) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : inputs.dump()) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return fmt::format("{:016x}", hash);
}

json histogram_json(const sim::latency_histogram& h) {
  const sim::latency_histogram::state saved = h.saved();
  json bins = json::array();
  for (const auto& [index, count] : saved.bins) bins.push_back(json::array({index, count}));
  // An empty histogram's minimum is +infinity, which JSON cannot hold.
  return json{{"count", saved.count},
              {"sum_ms", saved.sum_ms},
              {"min_ms", std::isfinite(saved.min_ms) ? json(saved.min_ms) : json(nullptr)},
              {"max_ms", saved.max_ms},
              {"bins", std::move(bins)}};
}

namespace {


json result_json(const sim::function_result& r) {
  return json{{"id", r.id},
              {"requests", r.requests},
              {"completed", r.completed},
              {"failed", r.failed},
              {"cold_starts", r.cold_starts},
              {"latency", histogram_json(r.latency)},
              {"queueing", histogram_json(r.queueing)},
              {"pod_seconds", r.pod_seconds},
              {"idle_pod_seconds", r.idle_pod_seconds},
              {"peak_pods", r.peak_pods},
              {"scale_events", r.scale_events},
              {"time_at_zero_s", r.time_at_zero_s},
              {"simulated_s", r.simulated_s}};
}

json timeline_json(const std::vector<sim::timeline_row>& rows) {
  // One array per row, in the timeline CSV's column order, to keep the file small.
  json out = json::array();
  for (const auto& r : rows) {
    out.push_back(json::array({r.time.time_since_epoch().count(), r.ready_pods, r.desired_pods, r.panic_mode,
                               r.observed_stable, r.observed_panic, r.in_flight, r.activator_queue,
                               r.excess_burst_capacity, r.activator_in_path}));
  }
  return out;
}

result<sim::function_result> result_from_json(const json_reader& rd, const json& j, const std::string& where) {
  sim::function_result r;
  auto id = rd.get<std::string>(j, where, "id");
  if (!id) return id.error_value();
  r.id = *id;
#define SCALESIM_READ(field, type)                               \
  {                                                              \
    auto value = rd.get<type>(j, where, #field);                 \
    if (!value) return value.error_value();                      \
    r.field = *value;                                            \
  }
  SCALESIM_READ(requests, std::uint64_t)
  SCALESIM_READ(completed, std::uint64_t)
  SCALESIM_READ(failed, std::uint64_t)
  SCALESIM_READ(cold_starts, std::uint64_t)
  SCALESIM_READ(pod_seconds, double)
  SCALESIM_READ(idle_pod_seconds, double)
  SCALESIM_READ(peak_pods, std::int32_t)
  SCALESIM_READ(scale_events, std::uint64_t)
  SCALESIM_READ(time_at_zero_s, double)
  SCALESIM_READ(simulated_s, double)
#undef SCALESIM_READ
  for (const auto& [key, target] : {std::pair{"latency", &r.latency}, {"queueing", &r.queueing}}) {
    auto h = rd.field(j, where, key);
    if (!h) return h.error_value();
    auto parsed = histogram_from_json(**h, fmt::format("{}: {}", rd.file(), json_reader::join(where, key)));
    if (!parsed) return parsed.error_value();
    *target = std::move(parsed).value();
  }
  return r;
}

result<std::vector<sim::timeline_row>> timeline_from_json(const json_reader& rd, const json& j, const std::string& where) {
  if (!j.is_array()) return rd.bad(where, "an array of timeline rows");
  std::vector<sim::timeline_row> rows;
  rows.reserve(j.size());
  for (std::size_t k = 0; k < j.size(); ++k) {
    const json& a = j[k];
    const std::string at = fmt::format("{}[{}]", where, k);
    const auto shape = [&] {
      return rd.bad(at, "[time_ns, ready, desired, panic, stable, panic_avg, in_flight, queue, ebc, activator]");
    };
    if (!a.is_array() || a.size() != 10 || !a[0].is_number_integer() || !a[1].is_number_integer() ||
        !a[2].is_number_integer() || !a[3].is_boolean() || !a[4].is_number() || !a[5].is_number() ||
        !a[6].is_number_integer() || !a[7].is_number_integer() || !a[8].is_number_integer() || !a[9].is_boolean()) {
      return shape();
    }
    sim::timeline_row r;
    r.time = time_point{duration{a[0].get<std::int64_t>()}};
    r.ready_pods = a[1].get<std::int32_t>();
    r.desired_pods = a[2].get<std::int32_t>();
    r.panic_mode = a[3].get<bool>();
    r.observed_stable = a[4].get<double>();
    r.observed_panic = a[5].get<double>();
    r.in_flight = a[6].get<std::int64_t>();
    r.activator_queue = a[7].get<std::int64_t>();
    r.excess_burst_capacity = a[8].get<std::int32_t>();
    r.activator_in_path = a[9].get<bool>();
    rows.push_back(r);
  }
  return rows;
}

}  // namespace

result<sim::latency_histogram> histogram_from_json(const json& j, const std::string& where) {
  const auto bad = [&](std::string_view expected) { return error{fmt::format("{}: expected {}", where, expected)}; };
  const auto shape = "{\"count\", \"sum_ms\", \"min_ms\", \"max_ms\", \"bins\": [[bin, count], ...]}";
  if (!j.is_object()) return bad(shape);
  for (const char* key : {"count", "sum_ms", "min_ms", "max_ms", "bins"}) {
    if (!j.contains(key)) return bad(fmt::format("{} (no \"{}\")", shape, key));
  }
  const json& count = j["count"];
  const json& sum = j["sum_ms"];
  const json& min = j["min_ms"];
  const json& max = j["max_ms"];
  if (!count.is_number_unsigned()) return bad("\"count\" a whole number of at least 0");
  if (!sum.is_number() || !max.is_number()) return bad("\"sum_ms\" and \"max_ms\" numbers");
  if (!(min.is_number() || (min.is_null() && count.get<std::uint64_t>() == 0))) {
    return bad("\"min_ms\" a number (null only when count is 0)");
  }
  if (!j["bins"].is_array()) return bad("\"bins\" an array of [bin, count]");
  sim::latency_histogram::state saved;
  saved.count = count.get<std::uint64_t>();
  saved.sum_ms = sum.get<double>();
  saved.min_ms = min.is_null() ? std::numeric_limits<double>::infinity() : min.get<double>();
  saved.max_ms = max.get<double>();
  std::uint64_t in_bins = 0;
  int previous = -1;
  const int bin_count = sim::latency_histogram::bin_count();
  for (const json& bin : j["bins"]) {
    if (!bin.is_array() || bin.size() != 2 || !bin[0].is_number_unsigned() || !bin[1].is_number_unsigned() ||
        bin[0].get<std::uint64_t>() >= static_cast<std::uint64_t>(bin_count) ||
        static_cast<int>(bin[0].get<std::uint64_t>()) <= previous) {
      return bad(fmt::format("\"bins\" [bin, count] pairs, bins ascending and below {}", bin_count));
    }
    previous = static_cast<int>(bin[0].get<std::uint64_t>());
    saved.bins.emplace_back(previous, bin[1].get<std::uint64_t>());
    in_bins += bin[1].get<std::uint64_t>();
  }
  if (in_bins != saved.count) {
    return bad(fmt::format("bin counts adding up to \"count\" ({}, not {})", saved.count, in_bins));
  }
  auto h = sim::latency_histogram::restored(saved);
  if (!h) return bad("a consistent histogram");
  return *h;
}

std::string shard_file_text(const shard_file& s) {
  json doc;
  doc["format"] = format_name;
  doc["command"] = s.command;
  doc["shard"] = json{{"index", s.shard.index}, {"count", s.shard.count}};
  doc["fingerprint"] = s.fingerprint;
  doc["inputs"] = s.inputs;
  doc["functions_total"] = s.functions_total;
  doc["seed"] = s.seed;
  doc["sources"] = s.sources;
  doc["config"] = s.config;
  doc["policy_flag"] = s.policy_flag;
  doc["container_concurrency"] = s.container_concurrency;
  doc["timelines"] = s.timelines;
  json runs = json::array();
  for (const auto& run : s.runs) {
    json functions = json::array();
    for (std::size_t k = 0; k < run.indices.size(); ++k) {
      json entry{{"index", run.indices[k]}, {"result", result_json(run.outcome.functions[k])}};
      if (s.timelines) entry["timeline"] = timeline_json(run.outcome.timelines[k]);
      functions.push_back(std::move(entry));
    }
    runs.push_back(json{{"policy", run.policy}, {"functions", std::move(functions)}});
  }
  doc["runs"] = std::move(runs);
  return doc.dump() + "\n";
}

result<shard_file> read_shard_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return error{fmt::format("{}: cannot open file", path)};
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::parse_error& e) {
    return error{fmt::format("{}: expected a scalesim shard file (JSON), got a parse error at byte {}", path, e.byte)};
  } catch (const json::exception&) {  // e.g. a number beyond a double's range
    return error{fmt::format("{}: expected a scalesim shard file (JSON), got a value JSON cannot hold here", path)};
  }
  const json_reader rd(path);
  if (!doc.is_object() || !doc.contains("format") || doc["format"] != format_name) {
    return error{fmt::format("{}: expected a scalesim shard file (JSON with \"format\": \"{}\")", path, format_name)};
  }
  shard_file s;
#define SCALESIM_GET(target, type, ...)                  \
  {                                                      \
    auto value = rd.get<type>(__VA_ARGS__);              \
    if (!value) return value.error_value();              \
    target = std::move(value).value();                   \
  }
  SCALESIM_GET(s.command, std::string, doc, "", "command")
  if (s.command != "run" && s.command != "compare") return rd.bad("command", "\"run\" or \"compare\"");
  auto shard = rd.field(doc, "", "shard");
  if (!shard) return shard.error_value();
  SCALESIM_GET(s.shard.index, std::size_t, **shard, "shard", "index")
  SCALESIM_GET(s.shard.count, std::size_t, **shard, "shard", "count")
  if (s.shard.count == 0 || s.shard.index >= s.shard.count) return rd.bad("shard", "0 <= index < count");
  SCALESIM_GET(s.fingerprint, std::string, doc, "", "fingerprint")
  auto inputs = rd.field(doc, "", "inputs");
  if (!inputs) return inputs.error_value();
  if (!(*inputs)->is_object()) return rd.bad("inputs", "an object");
  s.inputs = **inputs;
  if (fingerprint_of(s.inputs) != s.fingerprint) return rd.bad("fingerprint", "the hash of \"inputs\" (edited?)");
  SCALESIM_GET(s.functions_total, std::size_t, doc, "", "functions_total")
  SCALESIM_GET(s.seed, std::uint64_t, doc, "", "seed")
  auto sources = rd.field(doc, "", "sources");
  if (!sources) return sources.error_value();
  if (!(*sources)->is_array()) return rd.bad("sources", "an array of strings");
  for (std::size_t k = 0; k < (*sources)->size(); ++k) {
    auto source = rd.as<std::string>((**sources)[k], fmt::format("sources[{}]", k));
    if (!source) return source.error_value();
    s.sources.push_back(*source);
  }
  auto config = rd.field(doc, "", "config");
  if (!config) return config.error_value();
  if (!(*config)->is_object()) return rd.bad("config", "an object");
  s.config = **config;
  SCALESIM_GET(s.policy_flag, std::string, doc, "", "policy_flag")
  SCALESIM_GET(s.container_concurrency, std::int32_t, doc, "", "container_concurrency")
  SCALESIM_GET(s.timelines, bool, doc, "", "timelines")
#undef SCALESIM_GET
  auto runs = rd.field(doc, "", "runs");
  if (!runs) return runs.error_value();
  if (!(*runs)->is_array() || (*runs)->empty()) return rd.bad("runs", "a non-empty array");
  for (std::size_t p = 0; p < (*runs)->size(); ++p) {
    const json& run_json = (**runs)[p];
    const std::string at = fmt::format("runs[{}]", p);
    shard_run run;
    auto policy = rd.get<std::string>(run_json, at, "policy");
    if (!policy) return policy.error_value();
    run.policy = *policy;
    auto functions = rd.field(run_json, at, "functions");
    if (!functions) return functions.error_value();
    if (!(*functions)->is_array()) return rd.bad(at + ".functions", "an array");
    for (std::size_t k = 0; k < (*functions)->size(); ++k) {
      const json& f = (**functions)[k];
      const std::string fat = fmt::format("{}.functions[{}]", at, k);
      auto index = rd.get<std::size_t>(f, fat, "index");
      if (!index) return index.error_value();
      if (*index >= s.functions_total || *index % s.shard.count != s.shard.index) {
        return rd.bad(fat + ".index", fmt::format("a function of shard {}/{} (i mod {} = {}) below {}", s.shard.index,
                                                  s.shard.count, s.shard.count, s.shard.index, s.functions_total));
      }
      run.indices.push_back(*index);
      auto r = rd.field(f, fat, "result");
      if (!r) return r.error_value();
      auto parsed = result_from_json(rd, **r, fat + ".result");
      if (!parsed) return parsed.error_value();
      run.outcome.functions.push_back(std::move(parsed).value());
      if (s.timelines) {
        auto t = rd.field(f, fat, "timeline");
        if (!t) return t.error_value();
        auto rows = timeline_from_json(rd, **t, fat + ".timeline");
        if (!rows) return rows.error_value();
        run.outcome.timelines.push_back(std::move(rows).value());
      }
    }
    if (run.indices != shard_function_indices(s.functions_total, s.shard)) {
      return rd.bad(at + ".functions", fmt::format("every function of shard {}/{} once, ascending", s.shard.index,
                                                   s.shard.count));
    }
    s.runs.push_back(std::move(run));
  }
  return s;
}

}  // namespace scale::tools
