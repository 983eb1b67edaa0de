// scalesim tune, driven in-process on a small generated trace: files, YAML round trip, determinism across thread
// counts, the held-out part, and errors.
#include "tune_command.hpp"

#include "command_test_support.hpp"

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

TEST_CASE("tune: writes every file, the same bytes on 1 and 2 threads, and a recommendation that meets the SLOs") {
  auto one = small_run("one");
  one.threads = 1;
  auto two = small_run("two");
  two.threads = 2;
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
  CHECK(r.out.find("recommended #" + std::to_string(rec["index"].get<int>()) + " (held out)") != std::string::npos);
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
