// Sharding (issue #5): N shards of `run` or `compare` + `scalesim merge` print and write exactly what one unsharded
// run does, byte for byte; merge refuses shards that do not make up one run; the Kubernetes Job manifest.
#include "shard_file.hpp"

#include "compare_command.hpp"
#include "merge_command.hpp"
#include "run_command.hpp"
#include "tune_command.hpp"

#include <CLI/CLI.hpp>
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#ifndef LIBSCALE_TEST_DATA_DIR
#define LIBSCALE_TEST_DATA_DIR "tests/data"
#endif
#ifndef LIBSCALE_SOURCE_DIR
#define LIBSCALE_SOURCE_DIR "."
#endif


namespace {

namespace fs = std::filesystem;
using scale::tools::shard_spec;

struct output {
  int code = 0;
  std::string out;
  std::string err;
};

output run(const scale::tools::run_options& o) {
  std::ostringstream out, err;
  const int code = scale::tools::run_simulation(o, out, err);
  return {code, out.str(), err.str()};
}

output compare(const scale::tools::compare_options& o) {
  std::ostringstream out, err;
  const int code = scale::tools::run_compare(o, out, err);
  return {code, out.str(), err.str()};
}

output merge(const scale::tools::merge_options& o) {
  std::ostringstream out, err;
  const int code = scale::tools::run_merge(o, out, err);
  return {code, out.str(), err.str()};
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

/// A fresh scratch directory per test.
fs::path scratch(const std::string& name) {
  // One directory per process: CTest runs the test cases of this file in parallel processes.
  const fs::path dir = fs::temp_directory_path() / ("scalesim-shard-test-" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

const std::string data = LIBSCALE_TEST_DATA_DIR;

/// Five functions from three files (ids qualified by file): a, b, c, and one each in the two every-N-minutes
/// traces. Cold starts are random (exp:2s), so every function's result depends on its own seed.
scale::tools::run_options five_functions() {
  scale::tools::run_options o;
  o.traces = {data + "/run/three-functions.csv", data + "/run/every-9-minutes.csv", data + "/run/every-11-minutes.csv"};
  o.cold_start = "exp:2s";
  o.seed = 7;
  return o;
}

/// Runs shards 0..n-1 of `o` (single-threaded) into `dir`; returns their files, last shard first.
std::vector<std::string> run_shards(scale::tools::run_options o, std::size_t n, const fs::path& dir) {
  fs::create_directories(dir);
  std::vector<std::string> files;
  for (std::size_t i = 0; i < n; ++i) {
    o.shard = std::to_string(i) + "/" + std::to_string(n);
    o.shard_out = (dir / ("shard-" + std::to_string(i) + ".json")).string();
    o.threads = 1;
    const output r = run(o);
    CAPTURE(r.err);
    REQUIRE(r.code == 0);
    CHECK(r.err.empty());
    files.insert(files.begin(), o.shard_out);
  }
  return files;
}

}  // namespace

TEST_CASE("shard: --shard I/N and auto/N") {
  struct row {
    std::string text;
    std::optional<std::string_view> env;
    std::optional<shard_spec> expected;
    std::string error;
  };
  const std::vector<row> rows{
      {"0/1", std::nullopt, shard_spec{0, 1}, ""},
      {"2/3", std::nullopt, shard_spec{2, 3}, ""},
      {"auto/3", "1", shard_spec{1, 3}, ""},
      {"3/2", std::nullopt, std::nullopt, "--shard 3/2: the index must be below the count (0 to 1)"},
      {"x", std::nullopt, std::nullopt,
       "--shard x: expected I/N with 0 <= I < N (e.g. 0/3), or auto/N to take I from JOB_COMPLETION_INDEX"},
      {"1/0", std::nullopt, std::nullopt,
       "--shard 1/0: expected I/N with 0 <= I < N (e.g. 0/3), or auto/N to take I from JOB_COMPLETION_INDEX"},
      {"-1/2", std::nullopt, std::nullopt,
       "--shard -1/2: expected I/N with 0 <= I < N (e.g. 0/3), or auto/N to take I from JOB_COMPLETION_INDEX"},
      {"auto/3", std::nullopt, std::nullopt,
       "--shard auto/3: JOB_COMPLETION_INDEX is not set (a Kubernetes Indexed Job sets it)"},
      {"auto/3", "3", std::nullopt, "--shard auto/3: JOB_COMPLETION_INDEX=3 is not an index from 0 to 2"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.text);
    const auto parsed = scale::tools::parse_shard(r.text, r.env);
    if (r.expected) {
      REQUIRE(parsed.has_value());
      CHECK(*parsed == *r.expected);
    } else {
      REQUIRE(!parsed.has_value());
      CHECK(parsed.error_value().message == r.error);
    }
  }
  // Round robin: function i belongs to shard i mod N.
  CHECK(scale::tools::shard_function_indices(5, {1, 2}) == std::vector<std::size_t>{1, 3});
  CHECK(scale::tools::shard_function_indices(5, {2, 3}) == std::vector<std::size_t>{2});
  CHECK(scale::tools::shard_function_indices(2, {2, 3}).empty());
}

TEST_CASE("shard: a latency histogram survives JSON text exactly") {
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> ms(3.0, 2.0);
  scale::sim::latency_histogram h;
  for (int i = 0; i < 5000; ++i) {
    h.record(std::chrono::duration_cast<scale::duration>(std::chrono::duration<double, std::milli>(ms(rng))));
  }
  const auto text = scale::tools::histogram_json(h).dump();
  const auto back = scale::tools::histogram_from_json(nlohmann::ordered_json::parse(text), "h");
  REQUIRE(back.has_value());
  CHECK(scale::tools::histogram_json(*back).dump() == text);
  CHECK(back->count() == h.count());
  CHECK(back->mean_ms() == h.mean_ms());
  CHECK(back->min_ms() == h.min_ms());
  CHECK(back->max_ms() == h.max_ms());
  for (const double q : {0.0, 0.001, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    CAPTURE(q);
    CHECK(back->quantile_ms(q) == h.quantile_ms(q));
  }
  // Empty: the minimum (+infinity inside) is null in JSON, and comes back so that merging still works.
  const auto empty = scale::tools::histogram_from_json(
      nlohmann::ordered_json::parse(scale::tools::histogram_json(scale::sim::latency_histogram{}).dump()), "e");
  REQUIRE(empty.has_value());
  scale::sim::latency_histogram merged = *empty;
  merged.merge(h);
  CHECK(merged.min_ms() == h.min_ms());
  CHECK(scale::tools::histogram_json(merged).dump() == text);

  const auto bad = scale::tools::histogram_from_json(
      nlohmann::ordered_json::parse(R"({"count":2,"sum_ms":1,"min_ms":0.5,"max_ms":0.5,"bins":[[10,1]]})"), "f: h");
  REQUIRE(!bad.has_value());
  CHECK(bad.error_value().message == "f: h: expected bin counts adding up to \"count\" (2, not 1)");
}

TEST_CASE("shard: N run shards + merge = one run, byte for byte (table, JSON, timeline)") {
  const fs::path dir = scratch("run");
  const fs::path json = dir / "summary.json";
  const fs::path timeline = dir / "timeline.csv";
  scale::tools::run_options whole = five_functions();
  whole.json_file = json.string();
  whole.timeline_file = timeline.string();
  whole.threads = 2;
  const output expected = run(whole);
  REQUIRE(expected.code == 0);
  const std::string expected_json = read_text(json);
  const std::string expected_timeline = read_text(timeline);
  REQUIRE(expected_json.find("\"functions\"") != std::string::npos);
  REQUIRE(expected_timeline.size() > 1000);

  for (const std::size_t n : {1u, 2u, 3u}) {
    CAPTURE(n);
    fs::remove(json);
    fs::remove(timeline);
    scale::tools::run_options sharded = five_functions();
    sharded.shard_timelines = true;
    scale::tools::merge_options m;
    m.shard_files = run_shards(sharded, n, dir / std::to_string(n));  // last shard first
    m.json_file = json.string();
    m.timeline_file = timeline.string();
    const output merged = merge(m);
    CAPTURE(merged.err);
    REQUIRE(merged.code == 0);
    CHECK(merged.out == expected.out);
    CHECK(read_text(json) == expected_json);
    CHECK(read_text(timeline) == expected_timeline);
  }
}

TEST_CASE("shard: a run shard says what it wrote; without timelines merge writes the JSON only") {
  const fs::path dir = scratch("run-quiet");
  scale::tools::run_options o = five_functions();
  o.shard = "1/2";
  o.out_dir = dir.string();
  const output r = run(o);
  REQUIRE(r.code == 0);
  CHECK(r.out == "scalesim run: shard 1/2: 2 of 5 functions -> " + (dir / "shard-1.json").string() + "\n");
  o.shard = "0/2";
  REQUIRE(run(o).code == 0);

  scale::tools::run_options whole = five_functions();
  whole.json_file = (dir / "whole.json").string();
  whole.quiet = true;
  REQUIRE(run(whole).code == 0);
  scale::tools::merge_options m;
  m.shard_files = {(dir / "shard-0.json").string(), (dir / "shard-1.json").string()};
  m.json_file = (dir / "merged.json").string();
  m.quiet = true;
  const output merged = merge(m);
  REQUIRE(merged.code == 0);
  CHECK(merged.out.empty());
  CHECK(read_text(dir / "merged.json") == read_text(dir / "whole.json"));

  m.json_file.clear();
  m.out_dir = (dir / "out").string();
  const output refused = merge(m);
  CHECK(refused.code == 1);
  CHECK(refused.err == "scalesim merge: --out " + m.out_dir +
                           ": needs the timelines, which the shards do not hold (run them with --shard-timelines, or "
                           "merge with --json only)\n");
}

TEST_CASE("shard: N compare shards + merge = one compare, byte for byte (table, JSON)") {
  const fs::path dir = scratch("compare");
  const fs::path json = dir / "compare.json";
  scale::tools::compare_options whole;
  whole.run = five_functions();
  whole.run.container_concurrency = 1;
  whole.run.config_sets = {"oracle.cold_start=2s"};
  whole.run.json_file = json.string();
  whole.run.threads = 2;
  const output expected = compare(whole);
  CAPTURE(expected.err);
  REQUIRE(expected.code == 0);
  const std::string expected_json = read_text(json);
  REQUIRE(expected_json.find("\"oracle\"") != std::string::npos);

  for (const std::size_t n : {1u, 2u, 3u}) {
    CAPTURE(n);
    fs::remove(json);
    scale::tools::merge_options m;
    for (std::size_t i = 0; i < n; ++i) {
      scale::tools::compare_options shard = whole;
      shard.run.json_file.clear();
      shard.run.threads = 1;
      shard.run.shard = std::to_string(i) + "/" + std::to_string(n);
      shard.run.shard_out = (dir / ("shard-" + std::to_string(n) + "-" + std::to_string(i) + ".json")).string();
      const output r = compare(shard);
      CAPTURE(r.err);
      REQUIRE(r.code == 0);
      m.shard_files.insert(m.shard_files.begin(), shard.run.shard_out);  // reverse order
    }
    m.json_file = json.string();
    const output merged = merge(m);
    CAPTURE(merged.err);
    REQUIRE(merged.code == 0);
    CHECK(merged.out == expected.out);
    CHECK(read_text(json) == expected_json);
  }
}

TEST_CASE("shard: merge refuses what is not every shard of one run, naming the file") {
  const fs::path dir = scratch("errors");
  const auto shard = [&](std::string spec, std::uint64_t seed, const std::string& name) {
    scale::tools::run_options o = five_functions();
    o.seed = seed;
    o.shard = std::move(spec);
    o.shard_out = (dir / name).string();
    o.quiet = true;
    REQUIRE(run(o).code == 0);
    return o.shard_out;
  };
  const std::string s0 = shard("0/2", 7, "s0.json");
  const std::string s1 = shard("1/2", 7, "s1.json");
  const std::string other = shard("1/2", 8, "other-seed.json");
  const std::string three = shard("1/3", 7, "of-three.json");
  fs::copy_file(s0, dir / "s0-copy.json");
  const std::string copy = (dir / "s0-copy.json").string();
  {
    std::ofstream(dir / "not-json.json") << "{\"format\": \"scalesim-shard/1\", ";
    std::ofstream(dir / "other.json") << "{\"seed\": 1}\n";
    // A shard whose first function's request count is no longer a number.
    std::string text = read_text(s0);
    const auto at = text.find("\"requests\":");
    REQUIRE(at != std::string::npos);
    text.replace(at, 11, "\"requests\":\"many\",\"was\":");
    std::ofstream(dir / "bad-field.json") << text;
  }
  const std::string not_json = (dir / "not-json.json").string();
  const std::string other_json = (dir / "other.json").string();
  const std::string bad_field = (dir / "bad-field.json").string();

  struct row {
    std::vector<std::string> files;
    std::string error;
  };
  const std::vector<row> rows{
      {{s0, other}, other + ": a shard of a different run than " + s0 + " (seed: 8 here, 7 in " + s0 + ")\n"},
      {{s0, three}, three + ": a shard of a different run than " + s0 + " (shards: 3 here, 2 in " + s0 + ")\n"},
      {{s1}, "shard 0/2 is missing (" + s1 + " is 1/2)\n"},
      {{s0, s1, copy}, copy + ": shard 0/2 again (" + s0 + " is that shard too)\n"},
      {{s0, not_json}, not_json + ": expected a scalesim shard file (JSON), got a parse error at byte 32\n"},
      {{other_json, s0},
       other_json + ": expected a scalesim shard file (JSON with \"format\": \"scalesim-shard/1\")\n"},
      {{bad_field, s1}, bad_field + ": runs[0].functions[0].result.requests: expected a whole number of at least 0\n"},
      {{s0, (dir / "no-such.json").string()}, (dir / "no-such.json").string() + ": cannot open file\n"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.files.back());
    scale::tools::merge_options m;
    m.shard_files = r.files;
    const output merged = merge(m);
    CHECK(merged.code == 1);
    CHECK(merged.out.empty());
    CHECK(merged.err == "scalesim merge: " + r.error);
  }
}

TEST_CASE("shard: check_shard_set wants each index of one count once") {
  struct row {
    std::vector<shard_spec> shards;
    std::string error;  // empty: a complete set
  };
  const std::vector<row> rows{
      {{{0, 1}}, ""},
      {{{2, 3}, {0, 3}, {1, 3}}, ""},
      {{{1, 3}, {0, 3}}, "shard 2/3 is missing (f0 is 1/3, f1 is 0/3)"},
      {{{0, 2}, {1, 2}, {0, 2}}, "f2: shard 0/2 again (f0 is that shard too)"},
      // Unreachable through merge (the fingerprint hashes the count), but never an index past the first's count.
      {{{0, 2}, {2, 3}}, "f1: shard 2/3, but f0 is one of 2 shards"},
      {{{0, 9}, {1, 9}, {2, 9}, {3, 9}, {4, 9}, {5, 9}, {6, 9}, {7, 9}, {8, 9}, {7, 9}},
       "f9: shard 7/9 again (f7 is that shard too)"},
      {{{0, 10}, {1, 10}, {2, 10}, {3, 10}, {4, 10}, {5, 10}, {6, 10}, {7, 10}, {8, 10}},
       "shard 9/10 is missing (f0 is 0/10, f1 is 1/10, f2 is 2/10, f3 is 3/10, f4 is 4/10, f5 is 5/10, f6 is 6/10, "
       "f7 is 7/10, and 1 more)"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.error);
    std::vector<std::string> paths;
    for (std::size_t k = 0; k < r.shards.size(); ++k) paths.push_back("f" + std::to_string(k));
    const auto e = scale::tools::check_shard_set(paths, r.shards);
    CHECK(e.has_value() == !r.error.empty());
    if (e) CHECK(e->message == r.error);
  }
}

TEST_CASE("shard: --shard-out makes its directory, as --out does") {
  const fs::path dir = scratch("shard-out-dir");
  scale::tools::run_options o = five_functions();
  o.shard = "1/2";
  o.threads = 1;
  o.shard_out = (dir / "not" / "yet" / "shard-1.json").string();
  const output r = run(o);
  CAPTURE(r.err);
  CHECK(r.code == 0);
  CHECK(fs::is_regular_file(o.shard_out));
  // A regular file where the directory should be is refused, naming it and the reason.
  std::ofstream(dir / "blocker") << "x\n";
  o.shard_out = (dir / "blocker" / "shard-1.json").string();
  const output blocked = run(o);
  CHECK(blocked.code == 1);
  CHECK(blocked.err == "scalesim run: " + (dir / "blocker").string() + ": cannot create directory (Not a directory)\n");
}

TEST_CASE("shard: run and compare refuse shard flags they cannot honour") {
  const fs::path dir = scratch("flags");
  struct row {
    std::string shard;
    std::string shard_out;
    std::string json;
    double pod_creation_rate = 0;
    std::string error;
  };
  const std::string out = (dir / "s.json").string();
  const std::vector<row> rows{
      {"3/2", out, "", 0, "--shard 3/2: the index must be below the count (0 to 1)"},
      {"x", out, "", 0,
       "--shard x: expected I/N with 0 <= I < N (e.g. 0/3), or auto/N to take I from JOB_COMPLETION_INDEX"},
      {"0/2", "", "", 0, "--shard: give --shard-out FILE or --out DIR for the shard file"},
      {"0/2", out, "x.json", 0, "--json x.json: a shard writes only its shard file; give --json to scalesim merge"},
      {"", out, "", 0, "--shard-out " + out + ": needs --shard I/N"},
      {"0/2", out, "", 5,
       "--shard: with --pod-creation-rate all functions share one cluster's limit, so a shard alone would not give the "
       "unsharded results"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.error);
    scale::tools::run_options o = five_functions();
    o.shard = r.shard;
    o.shard_out = r.shard_out;
    o.json_file = r.json;
    o.pod_creation_rate = r.pod_creation_rate;
    const output ran = run(o);
    CHECK(ran.code == 1);
    CHECK(ran.err == "scalesim run: " + r.error + "\n");
    if (r.pod_creation_rate > 0) continue;  // compare has no --pod-creation-rate
    scale::tools::compare_options c;
    c.run = o;
    c.policies = "kpa";
    const output compared = compare(c);
    CHECK(compared.code == 1);
    CHECK(compared.err == "scalesim compare: " + r.error + "\n");
  }
}

namespace {

/// The Job among the documents of deploy/`file` (a null node when there is none).
YAML::Node job_of(const std::string& file) {
  for (const auto& doc : YAML::LoadAllFromFile(std::string{LIBSCALE_SOURCE_DIR} + "/deploy/" + file)) {
    if (doc["kind"] && doc["kind"].as<std::string>() == "Job") return doc;
  }
  return YAML::Node{};
}

/// A container's command and args joined by spaces, with a trailing one.
std::string command_line(const YAML::Node& container) {
  std::string command;
  for (const auto& part : container["command"]) command += part.as<std::string>() + " ";
  for (const auto& part : container["args"]) command += part.as<std::string>() + " ";
  return command;
}

}  // namespace

TEST_CASE("shard: the Kubernetes Indexed Job runs one shard per completion index") {
  const YAML::Node j = job_of("scalesim-shards-job.yaml");
  REQUIRE(j.IsMap());
  CHECK(j["apiVersion"].as<std::string>() == "batch/v1");
  CHECK(j["spec"]["completionMode"].as<std::string>() == "Indexed");
  const int completions = j["spec"]["completions"].as<int>();
  CHECK(completions == 3);
  CHECK(j["spec"]["parallelism"].as<int>() >= 1);
  const YAML::Node container = j["spec"]["template"]["spec"]["containers"][0];
  const std::string command = command_line(container);
  CAPTURE(command);
  CHECK(command.find("scalesim run") != std::string::npos);
  CHECK(command.find("--shard $(JOB_COMPLETION_INDEX)/3 ") != std::string::npos);
  CHECK(command.find("--shard-out /out/shard-$(JOB_COMPLETION_INDEX).json") != std::string::npos);
  CHECK(j["spec"]["template"]["spec"]["restartPolicy"].as<std::string>() == "Never");
}

TEST_CASE("shard: the tune Indexed Job runs its peers at once, sharing one --out") {
  const YAML::Node j = job_of("scalesim-tune-job.yaml");
  REQUIRE(j.IsMap());
  CHECK(j["spec"]["completionMode"].as<std::string>() == "Indexed");
  // Peers wait for each other batch by batch: every pod must be running at once.
  CHECK(j["spec"]["completions"].as<int>() == 3);
  CHECK(j["spec"]["parallelism"].as<int>() == 3);
  const YAML::Node container = j["spec"]["template"]["spec"]["containers"][0];
  const std::string command = command_line(container);
  CAPTURE(command);
  CHECK(command.find("scalesim tune ") == 0);
  CHECK(command.find("--shard $(JOB_COMPLETION_INDEX)/3 ") != std::string::npos);
  CHECK(command.find("--out /out ") != std::string::npos);
  // The flags parse as tune's.
  scale::tools::tune_options parsed;
  CLI::App app;
  scale::tools::add_tune_command(app, parsed);
  std::vector<std::string> args;
  for (const auto& part : container["args"]) args.push_back(part.as<std::string>());
  std::reverse(args.begin(), args.end());
  REQUIRE_NOTHROW(app.parse(args));
  CHECK(parsed.shard == "$(JOB_COMPLETION_INDEX)/3");
  CHECK(parsed.slos == std::vector<std::string>{"p99<=500ms", "cold<=1%"});
  CHECK(parsed.shard_timeout == "6h");
}
