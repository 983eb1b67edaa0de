#include "tune_shard.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>

#include <unistd.h>

namespace scale::tools {
namespace {

using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

constexpr std::string_view shard_format = "scalesim-tune-shard/1";
constexpr std::string_view exchange_format = "scalesim-tune-exchange/1";

#define SCALESIM_TUNE_GET(target, type, ...)             \
  {                                                      \
    auto value = rd.get<type>(__VA_ARGS__);              \
    if (!value) return value.error_value();              \
    target = std::move(value).value();                   \
  }

result<figures> figures_from_json(const json_reader& rd, const json& j, const std::string& at) {
  figures f;
  SCALESIM_TUNE_GET(f.requests, std::uint64_t, j, at, "requests")
  SCALESIM_TUNE_GET(f.pod_seconds, double, j, at, "pod_seconds")
  SCALESIM_TUNE_GET(f.p50_ms, double, j, at, "p50_ms")
  SCALESIM_TUNE_GET(f.p90_ms, double, j, at, "p90_ms")
  SCALESIM_TUNE_GET(f.p95_ms, double, j, at, "p95_ms")
  SCALESIM_TUNE_GET(f.p99_ms, double, j, at, "p99_ms")
  SCALESIM_TUNE_GET(f.cold_share, double, j, at, "cold_start_share")
  SCALESIM_TUNE_GET(f.failed_share, double, j, at, "failed_share")
  return f;
}

result<tune_batch> batch_from_json(const json_reader& rd, const json& j, const std::string& at) {
  tune_batch batch;
  auto jobs = rd.field(j, at, "jobs");
  if (!jobs) return jobs.error_value();
  if (!(*jobs)->is_array()) return rd.bad(at + ".jobs", "an array");
  for (std::size_t k = 0; k < (*jobs)->size(); ++k) {
    const json& job_json = (**jobs)[k];
    const std::string jat = fmt::format("{}.jobs[{}]", at, k);
    tune_job job;
    std::string part;
    SCALESIM_TUNE_GET(part, std::string, job_json, jat, "part")
    if (part != "tuning" && part != "held-out") return rd.bad(jat + ".part", "\"tuning\" or \"held-out\"");
    job.held_out = part == "held-out";
    auto knobs = rd.field(job_json, jat, "knobs");
    if (!knobs) return knobs.error_value();
    if (!(*knobs)->is_null()) {
      if (!(*knobs)->is_array() || (*knobs)->size() != knob_count) {
        return rd.bad(jat + ".knobs", fmt::format("null (the default config) or {} numbers", knob_count));
      }
      knob_values values{};
      for (std::size_t i = 0; i < knob_count; ++i) {
        auto v = rd.as<double>((**knobs)[i], fmt::format("{}.knobs[{}]", jat, i));
        if (!v) return v.error_value();
        values[i] = *v;
      }
      job.knobs = values;
    }
    batch.jobs.push_back(job);
  }
  batch.outcomes.resize(batch.jobs.size());
  batch.known.assign(batch.jobs.size(), false);
  auto outcomes = rd.field(j, at, "outcomes");
  if (!outcomes) return outcomes.error_value();
  if (!(*outcomes)->is_array()) return rd.bad(at + ".outcomes", "an array");
  for (std::size_t k = 0; k < (*outcomes)->size(); ++k) {
    const json& o = (**outcomes)[k];
    const std::string oat = fmt::format("{}.outcomes[{}]", at, k);
    std::size_t job = 0;
    SCALESIM_TUNE_GET(job, std::size_t, o, oat, "job")
    if (job >= batch.jobs.size() || batch.known[job]) {
      return rd.bad(oat + ".job", fmt::format("a job index below {}, once", batch.jobs.size()));
    }
    point_outcome outcome;
    SCALESIM_TUNE_GET(outcome.valid, bool, o, oat, "valid")
    if (outcome.valid) {
      auto fj = rd.field(o, oat, "figures");
      if (!fj) return fj.error_value();
      auto f = figures_from_json(rd, **fj, oat + ".figures");
      if (!f) return f.error_value();
      outcome.fig = *f;
    } else {
      SCALESIM_TUNE_GET(outcome.rejected, std::string, o, oat, "rejected")
    }
    batch.outcomes[job] = std::move(outcome);
    batch.known[job] = true;
  }
  return batch;
}

result<json> read_json_file(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return error{fmt::format("{}: cannot open file", path)};
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    return error{fmt::format("{}: expected {} (JSON), got a parse error at byte {}", path, what, e.byte)};
  } catch (const json::exception&) {  // e.g. a number beyond a double's range
    return error{fmt::format("{}: expected {} (JSON), got a value JSON cannot hold here", path, what)};
  }
}

json string_map_json(const string_map& m) {
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

result<string_map> string_map_from_json(const json_reader& rd, const json& j, const std::string& at) {
  if (!j.is_object()) return rd.bad(at, "an object of strings");
  string_map m;
  for (const auto& [k, v] : j.items()) {
    auto s = rd.as<std::string>(v, json_reader::join(at, k));
    if (!s) return s.error_value();
    m[k] = *s;
  }
  return m;
}

result<std::vector<std::string>> strings_from_json(const json_reader& rd, const json& j, const std::string& at,
                                                   const char* key) {
  auto array = rd.field(j, at, key);
  if (!array) return array.error_value();
  const std::string where = json_reader::join(at, key);
  if (!(*array)->is_array()) return rd.bad(where, "an array of strings");
  std::vector<std::string> strings;
  for (std::size_t k = 0; k < (*array)->size(); ++k) {
    auto s = rd.as<std::string>((**array)[k], fmt::format("{}[{}]", where, k));
    if (!s) return s.error_value();
    strings.push_back(*s);
  }
  return strings;
}

json record_json(const tune_record& r) {
  json space = json::object();
  for (std::size_t k = 0; k < knob_count; ++k) {
    space[std::string{knob_infos()[k].name}] = json::array({r.space.ranges[k].low, r.space.ranges[k].high});
  }
  return json{{"seed", r.seed},
              {"budget", r.budget},
              {"slos", r.slo_texts},
              {"space", std::move(space)},
              {"holdout", r.holdout},
              {"end_ns", r.end.count()},
              {"cut_ns", r.cut.count()},
              {"container_concurrency", r.container_concurrency},
              {"cold_start", r.cold_start},
              {"service", r.service_name},
              {"sources", r.sources},
              {"functions", r.functions},
              {"config_data", string_map_json(r.config_data)},
              {"annotations", string_map_json(r.annotations)},
              {"default_knobs", r.default_knobs}};
}

result<tune_record> record_from_json(const json_reader& rd, const json& j) {
  const std::string at = "record";
  tune_record r;
  SCALESIM_TUNE_GET(r.seed, std::uint64_t, j, at, "seed")
  SCALESIM_TUNE_GET(r.budget, std::size_t, j, at, "budget")
  auto slos = strings_from_json(rd, j, at, "slos");
  if (!slos) return slos.error_value();
  r.slo_texts = std::move(slos).value();
  auto space = rd.field(j, at, "space");
  if (!space) return space.error_value();
  for (std::size_t k = 0; k < knob_count; ++k) {
    const std::string name{knob_infos()[k].name};
    auto range = rd.field(**space, at + ".space", name.c_str());
    if (!range) return range.error_value();
    const std::string rat = fmt::format("{}.space.{}", at, name);
    if (!(*range)->is_array() || (*range)->size() != 2) return rd.bad(rat, "[low, high]");
    auto low = rd.as<double>((**range)[0], rat + "[0]");
    if (!low) return low.error_value();
    auto high = rd.as<double>((**range)[1], rat + "[1]");
    if (!high) return high.error_value();
    r.space.ranges[k] = knob_range{*low, *high};
  }
  SCALESIM_TUNE_GET(r.holdout, double, j, at, "holdout")
  std::int64_t end_ns = 0;
  std::int64_t cut_ns = 0;
  SCALESIM_TUNE_GET(end_ns, std::int64_t, j, at, "end_ns")
  SCALESIM_TUNE_GET(cut_ns, std::int64_t, j, at, "cut_ns")
  r.end = duration{end_ns};
  r.cut = duration{cut_ns};
  SCALESIM_TUNE_GET(r.container_concurrency, std::int32_t, j, at, "container_concurrency")
  SCALESIM_TUNE_GET(r.cold_start, std::string, j, at, "cold_start")
  SCALESIM_TUNE_GET(r.service_name, std::string, j, at, "service")
  auto sources = strings_from_json(rd, j, at, "sources");
  if (!sources) return sources.error_value();
  r.sources = std::move(sources).value();
  SCALESIM_TUNE_GET(r.functions, std::size_t, j, at, "functions")
  auto config_data = rd.field(j, at, "config_data");
  if (!config_data) return config_data.error_value();
  auto data = string_map_from_json(rd, **config_data, at + ".config_data");
  if (!data) return data.error_value();
  r.config_data = std::move(data).value();
  auto annotations = rd.field(j, at, "annotations");
  if (!annotations) return annotations.error_value();
  auto ann = string_map_from_json(rd, **annotations, at + ".annotations");
  if (!ann) return ann.error_value();
  r.annotations = std::move(ann).value();
  auto knobs = rd.field(j, at, "default_knobs");
  if (!knobs) return knobs.error_value();
  if (!(*knobs)->is_object()) return rd.bad(at + ".default_knobs", "an object");
  r.default_knobs = **knobs;
  return r;
}

}  // namespace

json figures_json(const figures& f) {
  return json{{"requests", f.requests},     {"pod_seconds", f.pod_seconds}, {"p50_ms", f.p50_ms},
              {"p90_ms", f.p90_ms},         {"p95_ms", f.p95_ms},           {"p99_ms", f.p99_ms},
              {"cold_start_share", f.cold_share}, {"failed_share", f.failed_share}};
}

void take_known_outcomes(tune_batch& into, const tune_batch& from) {
  for (std::size_t j = 0; j < into.jobs.size(); ++j) {
    if (from.known[j] && !into.known[j]) {
      into.outcomes[j] = from.outcomes[j];
      into.known[j] = true;
    }
  }
}

std::size_t tune_job_owner(std::size_t k, std::size_t shard_count) { return k % shard_count; }

json tune_batch_json(const tune_batch& batch, const std::vector<bool>& written) {
  json jobs = json::array();
  for (const auto& job : batch.jobs) {
    jobs.push_back(json{{"part", job.held_out ? "held-out" : "tuning"},
                        {"knobs", job.knobs ? json(*job.knobs) : json(nullptr)}});
  }
  json outcomes = json::array();
  for (std::size_t j = 0; j < batch.jobs.size(); ++j) {
    if (!written[j]) continue;
    const point_outcome& o = batch.outcomes[j];
    json entry{{"job", j}, {"valid", o.valid}};
    if (o.valid) {
      entry["figures"] = figures_json(o.fig);
    } else {
      entry["rejected"] = o.rejected;
    }
    outcomes.push_back(std::move(entry));
  }
  return json{{"jobs", std::move(jobs)}, {"outcomes", std::move(outcomes)}};
}

std::string tune_exchange_path(const std::string& dir, std::size_t batch, std::size_t shard) {
  return (fs::path(dir) / "exchange" / fmt::format("batch-{}.shard-{}.json", batch, shard)).string();
}

std::optional<error> write_file_atomically(const std::string& path, const std::string& text) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return error{fmt::format("{}: cannot create directory ({})", fs::path(path).parent_path().string(), ec.message())};
  // The process id keeps two writers of one path (a restarted shard and its stale twin) off each other's file.
  const std::string temporary = fmt::format("{}.{}.tmp", path, ::getpid());
  if (auto e = write_file(temporary, text)) return e;
  fs::rename(temporary, path, ec);
  if (ec) return error{fmt::format("{}: cannot rename into place ({})", path, ec.message())};
  return std::nullopt;
}

std::string tune_exchange_text(const tune_batch& batch, const std::vector<bool>& written, const std::string& fingerprint,
                               std::size_t batch_index, shard_spec from) {
  json doc{{"format", exchange_format},
           {"fingerprint", fingerprint},
           {"shard", json{{"index", from.index}, {"count", from.count}}},
           {"batch", batch_index}};
  doc["batch_content"] = tune_batch_json(batch, written);
  return doc.dump() + "\n";
}

result<std::optional<tune_batch>> read_tune_exchange(const std::string& path, const std::string& fingerprint,
                                                     std::size_t batch_index, shard_spec from) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::optional<tune_batch>{};
  auto doc = read_json_file(path, "a scalesim tune exchange file");
  if (!doc) return doc.error_value();
  const json_reader rd(path);
  if (!doc->is_object() || !doc->contains("format") || (*doc)["format"] != exchange_format) {
    return error{fmt::format("{}: expected a scalesim tune exchange file (JSON with \"format\": \"{}\")", path,
                             exchange_format)};
  }
  std::string file_fingerprint;
  SCALESIM_TUNE_GET(file_fingerprint, std::string, *doc, "", "fingerprint")
  if (file_fingerprint != fingerprint) {
    return error{fmt::format("{}: written by a different tune run (fingerprint {}, this run's is {}); give each run an "
                             "empty --out directory",
                             path, file_fingerprint, fingerprint)};
  }
  shard_spec shard;
  auto shard_json = rd.field(*doc, "", "shard");
  if (!shard_json) return shard_json.error_value();
  SCALESIM_TUNE_GET(shard.index, std::size_t, **shard_json, "shard", "index")
  SCALESIM_TUNE_GET(shard.count, std::size_t, **shard_json, "shard", "count")
  std::size_t batch = 0;
  SCALESIM_TUNE_GET(batch, std::size_t, *doc, "", "batch")
  if (shard != from || batch != batch_index) {
    return rd.bad("shard, batch", fmt::format("shard {}/{} and batch {}", from.index, from.count, batch_index));
  }
  auto content = rd.field(*doc, "", "batch_content");
  if (!content) return content.error_value();
  auto parsed = batch_from_json(rd, **content, "batch_content");
  if (!parsed) return parsed.error_value();
  return std::optional<tune_batch>{std::move(parsed).value()};
}

std::string tune_shard_file_text(const tune_shard_file& file, const std::vector<std::vector<bool>>& written) {
  json batches = json::array();
  for (std::size_t b = 0; b < file.batches.size(); ++b) batches.push_back(tune_batch_json(file.batches[b], written[b]));
  json doc{{"format", shard_format},
           {"command", "tune"},
           {"shard", json{{"index", file.shard.index}, {"count", file.shard.count}}},
           {"fingerprint", file.fingerprint},
           {"inputs", file.inputs},
           {"record", record_json(file.record)},
           {"batches", std::move(batches)}};
  return doc.dump(1) + "\n";
}

result<tune_shard_file> read_tune_shard_file(const std::string& path) {
  auto doc = read_json_file(path, "a scalesim tune shard file");
  if (!doc) return doc.error_value();
  const json_reader rd(path);
  if (!doc->is_object() || !doc->contains("format") || (*doc)["format"] != shard_format) {
    return error{fmt::format("{}: expected a scalesim tune shard file (JSON with \"format\": \"{}\")", path, shard_format)};
  }
  tune_shard_file file;
  auto shard = rd.field(*doc, "", "shard");
  if (!shard) return shard.error_value();
  SCALESIM_TUNE_GET(file.shard.index, std::size_t, **shard, "shard", "index")
  SCALESIM_TUNE_GET(file.shard.count, std::size_t, **shard, "shard", "count")
  if (file.shard.count == 0 || file.shard.index >= file.shard.count) return rd.bad("shard", "0 <= index < count");
  SCALESIM_TUNE_GET(file.fingerprint, std::string, *doc, "", "fingerprint")
  auto inputs = rd.field(*doc, "", "inputs");
  if (!inputs) return inputs.error_value();
  if (!(*inputs)->is_object()) return rd.bad("inputs", "an object");
  file.inputs = **inputs;
  if (fingerprint_of(file.inputs) != file.fingerprint) return rd.bad("fingerprint", "the hash of \"inputs\" (edited?)");
  auto record = rd.field(*doc, "", "record");
  if (!record) return record.error_value();
  auto parsed_record = record_from_json(rd, **record);
  if (!parsed_record) return parsed_record.error_value();
  file.record = std::move(parsed_record).value();
  auto batches = rd.field(*doc, "", "batches");
  if (!batches) return batches.error_value();
  if (!(*batches)->is_array()) return rd.bad("batches", "an array");
  for (std::size_t b = 0; b < (*batches)->size(); ++b) {
    auto batch = batch_from_json(rd, (**batches)[b], fmt::format("batches[{}]", b));
    if (!batch) return batch.error_value();
    file.batches.push_back(std::move(batch).value());
  }
  return file;
}

bool is_tune_shard_file(const std::string& path) {
  // The format is the first key; a run's shard file can be large, so only its start is read.
  std::ifstream in(path, std::ios::binary);
  std::string start(256, '\0');
  in.read(start.data(), static_cast<std::streamsize>(start.size()));
  start.resize(static_cast<std::size_t>(in.gcount()));
  return start.find(fmt::format("\"{}\"", shard_format)) != std::string::npos;
}

#undef SCALESIM_TUNE_GET

}  // namespace scale::tools
