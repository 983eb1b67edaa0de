// scalesim tune, driven in-process on a small generated trace: files, YAML round trip, determinism across thread
// counts, the held-out part, and errors.
#include "tune_command.hpp"

#include "command_test_support.hpp"
#include "merge_command.hpp"

#include <libscale/config.hpp>
#include <libscale/configmap_yaml.hpp>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;

using tune_output = scale::tools::testing::command_output;

tune_output tune(const scale::tools::tune_options& options) {
  return scale::tools::testing::capture(options, scale::tools::run_tune);
}

using scale::tools::testing::read_file;

fs::path scratch(const std::string& name) { return scale::tools::testing::scratch("scalesim-tune-test", name); }

/// Two functions over 40 minutes: "bursty" gets 30 requests of 200 ms within 3 s every 5 minutes (each burst after
/// a quiet spell, so cold starts depend on retention, grace and delay); "steady" one 100 ms request every 2 s.
fs::path generated_trace() {
  const fs::path path = scratch("trace.csv");
  std::ofstream out(path);
  out << "timestamp_s,function,duration_ms\n";
  for (int s = 0; s < 2400; s += 2) {
    out << s << ",steady,100\n";
    if (s % 300 == 0) {
      for (int i = 0; i < 30; ++i) out << fmt::format("{:.1f},bursty,200\n", s + i * 0.1);
    }
  }
  return path;
}

scale::tools::tune_options small_run(const std::string& out_dir) {
  scale::tools::tune_options o;
  o.traces = {generated_trace().string()};
  o.slos = {"p99<=2s", "cold<=5%"};
  o.budget = 10;
  o.seed = 3;
  o.out_dir = scratch(out_dir).string();
  o.cold_start = "1s";
  return o;
}

}  // namespace

TEST_CASE("tune: writes every file, the same bytes on 1 and 2 threads, with or without the arrival cache, and a "
          "recommendation that meets the SLOs") {
  auto one = small_run("one");
  one.threads = 1;
  one.arrival_cache_mb = 0;  // every evaluation expands the trace again
  auto two = small_run("two");
  two.threads = 2;  // the default cache: expanded once
  const auto r1 = tune(one);
  const auto r2 = tune(two);
  REQUIRE(r1.err == "");
  REQUIRE(r1.code == 0);
  REQUIRE(r2.code == 0);
  CHECK(r1.out == r2.out);
  for (const char* file : {"tune.json", "front.csv", "config-autoscaler.yaml", "annotations.yaml"}) {
    CAPTURE(file);
    CHECK(read_file(fs::path(one.out_dir) / file) == read_file(fs::path(two.out_dir) / file));
    CHECK_FALSE(read_file(fs::path(one.out_dir) / file).empty());
  }
  CHECK(fs::file_size(fs::path(one.out_dir) / "plot.svg") > 1000);

  const auto doc = nlohmann::json::parse(read_file(fs::path(one.out_dir) / "tune.json"));
  CHECK(doc["points"].size() == 10);
  CHECK(doc["slos"] == nlohmann::json::array({"p99<=2s", "cold<=5%"}));
  const auto& rec = doc["recommendation"];
  REQUIRE(rec.is_object());
  const auto& f = rec["figures"];
  CHECK(f["p99_ms"].get<double>() <= 2000.0);
  CHECK(f["cold_start_share"].get<double>() <= 0.05);
  // It is the cheapest feasible point of all evaluated.
  for (const auto& p : doc["points"]) {
    if (p["valid"] && p["feasible"]) CHECK(p["figures"]["pod_seconds"].get<double>() >= f["pod_seconds"].get<double>());
  }
  // front.csv: a header and one row per front point.
  const std::string csv = read_file(fs::path(one.out_dir) / "front.csv");
  CHECK(csv.rfind("index,feasible,pod_seconds,p50_ms,p90_ms,p95_ms,p99_ms,cold_start_share,failed_share,target,", 0) == 0);
  CHECK(static_cast<std::size_t>(std::count(csv.begin(), csv.end(), '\n')) == doc["front"].size() + 1);
  CHECK(r1.out.find("recommended #") != std::string::npos);
}

TEST_CASE("tune: the emitted YAML reads back through libscale to the recommended knobs") {
  auto o = small_run("yaml");
  o.threads = 2;
  REQUIRE(tune(o).code == 0);
  const auto doc = nlohmann::json::parse(read_file(fs::path(o.out_dir) / "tune.json"));
  const auto& knobs = doc["recommendation"]["knobs"];
  // ConfigMap route.
  const auto data = scale::read_configmap_file(fs::path(o.out_dir) / "config-autoscaler.yaml");
  REQUIRE(data.has_value());
  const auto config = scale::parse_autoscaler_config(*data);
  REQUIRE(config.has_value());
  const auto via_configmap = scale::resolve_revision(*config, {});
  REQUIRE(via_configmap.has_value());
  // Annotation route: the Service's annotations over a ConfigMap with the grace period only.
  const YAML::Node service = YAML::LoadFile((fs::path(o.out_dir) / "annotations.yaml").string());
  CHECK(service["kind"].as<std::string>() == "Service");
  CHECK(service["metadata"]["name"].as<std::string>() == "my-service");
  YAML::Emitter bare;
  bare << service["spec"]["template"]["metadata"]["annotations"];
  const auto annotations = scale::read_configmap_data(bare.c_str(), "annotations.yaml");
  REQUIRE(annotations.has_value());
  const auto grace = scale::parse_autoscaler_config(
      {{"scale-to-zero-grace-period", knobs["scale-to-zero-grace-period"].get<std::string>()}});
  REQUIRE(grace.has_value());
  const auto via_annotations = scale::resolve_revision(*grace, *annotations);
  REQUIRE(via_annotations.has_value());
  CHECK(*via_configmap == *via_annotations);
  // The values are the recommendation's.
  CHECK(scale::format_go_duration(via_configmap->stable_window) == knobs["stable-window"]);
  CHECK(scale::format_go_duration(via_configmap->scale_down_delay) == knobs["scale-down-delay"]);
  CHECK(scale::format_go_duration(via_configmap->pod_retention) == knobs["scale-to-zero-pod-retention-period"]);
  CHECK(fmt::format("{}", via_configmap->min_scale) == knobs["min-scale"]);
  CHECK(fmt::format("{}", via_configmap->total_value) == knobs["target"]);
  CHECK(fmt::format("{}", 100 * via_configmap->panic_threshold) == knobs["panic-threshold-percentage"]);
}

TEST_CASE("tune: --holdout tunes on the start of the trace and reports the recommendation on its end") {
  auto o = small_run("holdout");
  o.holdout = 0.25;
  o.progress = true;
  const auto r = tune(o);
  REQUIRE(r.code == 0);
  // The progress bar went to err because --progress asked for it; it ends by clearing its line.
  CHECK(r.err.find("runs, ETA") != std::string::npos);
  const auto doc = nlohmann::json::parse(read_file(fs::path(o.out_dir) / "tune.json"));
  // The last arrival is at 2398 s (steady's last request); 0.75 × 2398 = 1798.5 → cut at 1798 s.
  CHECK(doc["holdout"]["end_s"] == 2398.0);
  CHECK(doc["holdout"]["cut_s"] == 1798.0);
  const auto& rec = doc["recommendation"];
  // Tuning part [0, 1798 s): steady's 899 requests and 6 bursts of 30 (0, 300, ..., 1500 s).
  CHECK(rec["figures"]["requests"] == 899 + 6 * 30);
  CHECK(rec["figures"]["p99_ms"].get<double>() <= 2000.0);
  CHECK(rec["figures"]["cold_start_share"].get<double>() <= 0.05);
  // Held out [1798 s, 2398 s]: steady's 301 requests and the bursts at 1800 and 2100 s.
  CHECK(rec["held_out_figures"]["requests"] == 301 + 2 * 30);
  CHECK(doc["default"]["held_out_figures"]["requests"] == 301 + 2 * 30);
  // The recommendation honours both SLOs on the part it never saw, too (on this trace; docs/tuning.md shows a
  // day where it does not), and the report says so on its held-out row.
  CHECK(rec["held_out_figures"]["p99_ms"].get<double>() <= 2000.0);
  CHECK(rec["held_out_figures"]["cold_start_share"].get<double>() <= 0.05);
  const std::string held_row = "recommended #" + std::to_string(rec["index"].get<int>()) + " (held out)";
  REQUIRE(r.out.find(held_row) != std::string::npos);
  const std::string row = r.out.substr(r.out.find(held_row), r.out.find('\n', r.out.find(held_row)) - r.out.find(held_row));
  CHECK(row.ends_with("meets the SLOs"));
}

TEST_CASE("tune: errors name what is wrong") {
  struct error_case {
    std::string name;
    scale::tools::tune_options options;
    std::string message;
  };
  auto base = small_run("errors");
  auto bad_slo = base;
  bad_slo.slos = {"p99 < 1s"};
  auto tuned_annotation = base;
  tuned_annotation.annotations = {"window=30s"};
  auto bad_space = base;
  bad_space.space_file = scratch("bad-space.yaml").string();
  std::ofstream(bad_space.space_file) << "target: 10\nretention: 0s\n";
  auto bad_holdout = base;
  bad_holdout.holdout = 1;
  auto impossible = base;
  impossible.slos = {"p50<=1ms"};
  impossible.budget = 3;
  const std::vector<error_case> cases = {
      {"slo", bad_slo,
       "scalesim tune: --slo \"p99 < 1s\": expected p50|p90|p95|p99<=DURATION (e.g. p99<=500ms), cold<=PERCENT (e.g. "
       "cold<=1%) or failed<=PERCENT\n"},
      {"annotation", tuned_annotation,
       "scalesim tune: annotation autoscaling.knative.dev/window: sets the tuned knob stable-window; fix it with --space "
       "(e.g. \"stable-window: 30s\") instead\n"},
      {"space", bad_space,
       "scalesim tune: " + bad_space.space_file +
           ":2: unknown knob \"retention\" (expected one of target, target-utilization-percentage, stable-window, "
           "panic-window-percentage, panic-threshold-percentage, scale-to-zero-grace-period, "
           "scale-to-zero-pod-retention-period, min-scale, scale-down-delay, target-burst-capacity)\n"},
      {"holdout", bad_holdout, "scalesim tune: --holdout 1: must be in [0, 1), the share of the time range held out\n"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto r = tune(c.options);
    CHECK(r.code == 1);
    CHECK(r.err == c.message);
  }
  // No feasible point: exit 1, the search's files written, no YAML.
  const auto r = tune(impossible);
  CHECK(r.code == 1);
  CHECK(r.err.rfind("scalesim tune: no evaluated configuration meets every SLO (closest: #", 0) == 0);
  CHECK(r.err.find("widen --space or raise --budget\n") != std::string::npos);
  const auto doc = nlohmann::json::parse(read_file(fs::path(impossible.out_dir) / "tune.json"));
  CHECK(doc["recommendation"].is_null());
}

namespace {

/// Runs shards `indices` of `count` of `base` at once (one thread each, as an Indexed Job runs its pods), all
/// sharing `dir`; their outputs in shard order.
std::vector<tune_output> run_shards(const scale::tools::tune_options& base, const fs::path& dir, std::size_t count,
                                    const std::vector<std::size_t>& indices) {
  std::vector<tune_output> outputs(indices.size());
  std::vector<std::thread> shards;
  for (std::size_t k = 0; k < indices.size(); ++k) {
    shards.emplace_back([&, k] {
      auto o = base;
      o.out_dir = dir.string();
      o.plot_file.clear();
      o.threads = 1;
      o.shard = fmt::format("{}/{}", indices[k], count);
      outputs[k] = tune(o);
    });
  }
  for (auto& t : shards) t.join();
  return outputs;
}

tune_output merge(const std::vector<std::string>& files, const fs::path& out_dir) {
  scale::tools::merge_options m;
  m.shard_files = files;
  m.out_dir = out_dir.string();
  return scale::tools::testing::capture(m, scale::tools::run_merge);
}

}  // namespace

TEST_CASE("tune --shard: N peers plus merge print and write exactly what one run does") {
  auto one = small_run("shard-one");
  one.holdout = 0.25;
  one.threads = 2;
  const auto whole = tune(one);
  REQUIRE(whole.code == 0);
  for (const std::size_t n : {1, 2, 3}) {
    CAPTURE(n);
    const fs::path dir = scratch(fmt::format("shards-{}", n));
    std::vector<std::size_t> indices;
    for (std::size_t i = 0; i < n; ++i) indices.push_back(i);
    const auto outputs = run_shards(one, dir, n, indices);
    std::size_t simulated = 0;
    for (std::size_t i = 0; i < n; ++i) {
      CAPTURE(i);
      REQUIRE(outputs[i].err == "");
      REQUIRE(outputs[i].code == 0);
      // 13 evaluations: the default, the 10 points and the 2 held-out runs, dealt round-robin.
      const std::string expected_tail = fmt::format(" of 13 evaluations -> {}\n", (dir / fmt::format("shard-{}.json", i)).string());
      CHECK(outputs[i].out.rfind(fmt::format("scalesim tune: shard {}/{}: simulated ", i, n), 0) == 0);
      CHECK(outputs[i].out.ends_with(expected_tail));
      simulated += std::stoul(outputs[i].out.substr(outputs[i].out.find("simulated ") + 10));
    }
    CHECK(simulated == 13);
    // Merged in reverse order.
    std::vector<std::string> files;
    for (std::size_t i = n; i-- > 0;) files.push_back((dir / fmt::format("shard-{}.json", i)).string());
    const fs::path merged = scratch(fmt::format("merged-{}", n));
    const auto m = merge(files, merged);
    REQUIRE(m.err == "");
    CHECK(m.code == 0);
    CHECK(m.out == whole.out);
    for (const char* file : {"tune.json", "front.csv", "config-autoscaler.yaml", "annotations.yaml"}) {
      CAPTURE(file);
      CHECK(read_file(merged / file) == read_file(fs::path(one.out_dir) / file));
    }
  }
}

TEST_CASE("tune --shard: a restarted shard takes its part from the exchange files, and peers that never come time out") {
  auto o = small_run("shard-restart");
  const fs::path dir = scratch("restart");
  const auto first = run_shards(o, dir, 2, {0, 1});
  REQUIRE(first[0].code == 0);
  REQUIRE(first[1].code == 0);
  const std::string shard0 = read_file(dir / "shard-0.json");
  // Shard 0 again, alone (a Job's retry): every batch's files are there, so it simulates nothing and waits for no
  // one, and writes the same shard file.
  fs::remove(dir / "shard-0.json");
  const auto again = run_shards(o, dir, 2, {0});
  REQUIRE(again[0].err == "");
  CHECK(again[0].code == 0);
  CHECK(read_file(dir / "shard-0.json") == shard0);

  // Shard 0 of 3 with no peers: it writes its part of batch 0 (the default config is its job) and gives up after
  // --shard-timeout.
  auto lonely = o;
  lonely.shard_timeout = "300ms";
  const fs::path alone = scratch("alone");
  const auto timed_out = run_shards(lonely, alone, 3, {0});
  CHECK(timed_out[0].code == 1);
  const std::string missing = (alone / "exchange" / "batch-0.shard-1.json").string();
  CHECK(timed_out[0].err == fmt::format("scalesim tune: shard 0/3: waited 300ms for {} (shard 1's part of batch 0); all 3 "
                                        "shards must run at once (a Job's parallelism = completions) and share --out {}\n",
                                        missing, alone.string()));
  CHECK(fs::exists(alone / "exchange" / "batch-0.shard-0.json"));
  CHECK_FALSE(fs::exists(alone / "shard-0.json"));
}

TEST_CASE("tune --shard: errors name the flag, the file or the shard") {
  auto o = small_run("shard-errors");
  const fs::path dir = scratch("shard-errors-dir");
  auto no_out = o;
  no_out.out_dir.clear();
  no_out.shard = "0/2";
  CHECK(tune(no_out).err ==
        "scalesim tune: --shard: give --out DIR, a directory every shard shares (exchange files and shard-I.json go "
        "there)\n");
  auto plot = o;
  plot.shard = "1/2";
  plot.plot_file = "p.svg";
  CHECK(tune(plot).err == "scalesim tune: --plot p.svg: a shard writes only its shard file; give --plot to scalesim merge\n");
  auto bad_index = o;
  bad_index.shard = "2/2";
  CHECK(tune(bad_index).err == "scalesim tune: --shard 2/2: the index must be below the count (0 to 1)\n");
  auto bad_timeout = o;
  bad_timeout.shard = "0/2";
  bad_timeout.shard_timeout = "soon";
  CHECK(tune(bad_timeout).err == "scalesim tune: --shard-timeout soon: expected a positive duration, e.g. 6h\n");

  // Two complete runs that differ in the seed.
  const auto a = run_shards(o, dir / "a", 2, {0, 1});
  REQUIRE(a[0].code == 0);
  auto other = o;
  other.seed = 4;
  const auto b = run_shards(other, dir / "b", 2, {0, 1});
  REQUIRE(b[0].code == 0);
  const std::string a0 = (dir / "a" / "shard-0.json").string();
  const std::string a1 = (dir / "a" / "shard-1.json").string();
  const std::string b1 = (dir / "b" / "shard-1.json").string();
  const fs::path merged = scratch("shard-errors-merged");
  CHECK(merge({a0}, merged).err == fmt::format("scalesim merge: shard 1/2 is missing ({} is 0/2)\n", a0));
  CHECK(merge({a0, a0}, merged).err == fmt::format("scalesim merge: {}: shard 0/2 again ({} is that shard too)\n", a0, a0));
  CHECK(merge({a0, b1}, merged).err == fmt::format("scalesim merge: {}: a shard of a different tune run than {}\n", b1, a0));
  // A shard of another run finds the exchange files of the first in a reused directory.
  auto reuse = other;
  reuse.shard_timeout = "1s";
  const auto clash = run_shards(reuse, dir / "a", 2, {1});
  CHECK(clash[0].code == 1);
  CHECK(clash[0].err.rfind(fmt::format("scalesim tune: {}: written by a different tune run (fingerprint ",
                                       (dir / "a" / "exchange" / "batch-0.shard-1.json").string()),
                           0) == 0);
  CHECK(clash[0].err.ends_with("; give each run an empty --out directory\n"));
  // merge --json is run's and compare's; tune shards merge into --out.
  scale::tools::merge_options m;
  m.shard_files = {a0, a1};
  m.json_file = "x.json";
  CHECK(scale::tools::testing::capture(m, scale::tools::run_merge).err ==
        "scalesim merge: --json x.json: tune shards merge into --out DIR (tune.json, front.csv, YAML, plot.svg) and --plot\n");
}
