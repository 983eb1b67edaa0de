// scalesim run, driven in-process: JSON contract, hand-worked scenarios, determinism and errors.
#include "run_command.hpp"

#include "command_test_support.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#ifndef LIBSCALE_TEST_DATA_DIR
#define LIBSCALE_TEST_DATA_DIR "tests/data"
#endif

namespace {

namespace fs = std::filesystem;

using run_output = scale::tools::testing::command_output;

run_output run(const scale::tools::run_options& options) {
  return scale::tools::testing::capture(options, scale::tools::run_simulation);
}

using scale::tools::testing::read_file;

fs::path scratch(const std::string& name) { return scale::tools::testing::scratch("scalesim-run-test", name); }

const std::string data = LIBSCALE_TEST_DATA_DIR;

}  // namespace

TEST_CASE("run: one request to an idle service is one cold start, cold start + service time") {
  // tests/data/run/one-request.csv: one 1 s request at t=10 s. The activator holds it and pokes the decider at once
  // (kpa-spec §6.3): desired 1, the pod is requested at 10 s and ready at 12 s (--cold-start 2s), serves 12-13 s.
  // Latency 3 s, of which 2 s queueing. The last non-zero second in the windows is bucket 13 (the scrape at 13 s
  // reports [12 s, 13 s)), so the stable average first reads 0 at 73 s; the next 2 s tick, 74 s, decides 0; the PA has
  // been Active for >= 60 s and the activator was already in the path (EBC < 0 with one pod) for >= 30 s, so the pod
  // is deleted at 74 s and gone after the 30 s drain, at 104 s: 94 pod-seconds, 93 of them idle (kpa-spec §8.1).
  scale::tools::run_options o;
  o.traces = {data + "/run/one-request.csv"};
  o.cold_start = "2s";
  o.json_file = scratch("one.json").string();
  o.quiet = true;
  const auto r = run(o);
  REQUIRE(r.err == "");
  REQUIRE(r.code == 0);
  const auto doc = nlohmann::json::parse(read_file(o.json_file));
  const auto& total = doc["total"];
  CHECK(doc["seed"] == 1);
  CHECK(total["requests"] == 1);
  CHECK(total["completed"] == 1);
  CHECK(total["failed"] == 0);
  CHECK(total["cold_starts"] == 1);
  CHECK(total["latency_ms"]["max"].get<double>() == doctest::Approx(3000.0));
  CHECK(total["latency_ms"]["mean"].get<double>() == doctest::Approx(3000.0));
  CHECK(total["latency_ms"]["p50"].get<double>() == doctest::Approx(3000.0));
  CHECK(total["queueing_ms"]["max"].get<double>() == doctest::Approx(2000.0));
  CHECK(total["pod_seconds"].get<double>() == doctest::Approx(94.0));
  CHECK(total["idle_pod_seconds"].get<double>() == doctest::Approx(93.0));
  CHECK(total["peak_pods"] == 1);
  const auto& solo = doc["functions"].at(0);
  CHECK(solo["id"] == "solo");
  CHECK(solo["scale_events"] == 2);  // 0 -> 1, 1 -> 0
  // At zero before the pod was requested (0-10 s) and after it was gone (104 s, the end): 10 s.
  CHECK(solo["time_at_zero_s"].get<double>() == doctest::Approx(10.0));
}

TEST_CASE("run: the JSON summary has every field of the contract") {
  scale::tools::run_options o;
  o.traces = {data + "/run/three-functions.csv"};
  o.json_file = scratch("three.json").string();
  o.quiet = true;
  REQUIRE(run(o).code == 0);
  const auto doc = nlohmann::json::parse(read_file(o.json_file));
  const std::vector<std::string> fields = {"requests",  "completed",   "failed",           "cold_starts", "latency_ms",
                                           "pod_seconds", "idle_pod_seconds", "peak_pods"};
  for (const auto& field : fields) {
    CAPTURE(field);
    CHECK(doc["total"].contains(field));
  }
  for (const auto* q : {"mean", "p50", "p90", "p99", "p999", "max"}) {
    CAPTURE(q);
    CHECK(doc["total"]["latency_ms"].contains(q));
  }
  REQUIRE(doc["functions"].size() == 3);
  std::uint64_t requests = 0;
  for (const auto& f : doc["functions"]) {
    for (const auto& field : fields) CHECK(f.contains(field));
    CHECK(f.contains("id"));
    CHECK(f.contains("time_at_zero_s"));
    CHECK(f.contains("scale_events"));
    requests += f["requests"].get<std::uint64_t>();
  }
  // Functions in file order of first appearance: a (4 requests), b (2), c (2).
  CHECK(doc["functions"][0]["id"] == "a");
  CHECK(doc["functions"][0]["requests"] == 4);
  CHECK(requests == 8);
  CHECK(doc["total"]["requests"] == 8);
}

TEST_CASE("run: same seed, same output, whatever the thread count") {
  scale::tools::run_options o;
  o.traces = {data + "/run/three-functions.csv"};
  o.quiet = true;
  o.cold_start = "exp:2s";
  std::vector<std::string> outputs;
  for (unsigned threads : {1u, 2u, 1u}) {
    o.threads = threads;
    o.json_file = scratch("seed-" + std::to_string(outputs.size()) + ".json").string();
    REQUIRE(run(o).code == 0);
    outputs.push_back(read_file(o.json_file));
  }
  CHECK(outputs[0] == outputs[1]);
  CHECK(outputs[0] == outputs[2]);
  o.seed = 2;
  o.json_file = scratch("seed-other.json").string();
  REQUIRE(run(o).code == 0);
  CHECK(read_file(o.json_file) != outputs[0]);  // exponential cold starts draw other values
}

TEST_CASE("run: the timeline CSV has the contract header and one row per tick") {
  scale::tools::run_options o;
  o.traces = {data + "/run/one-request.csv"};
  o.timeline_file = scratch("timeline.csv").string();
  o.cold_start = "2s";
  o.quiet = true;
  REQUIRE(run(o).code == 0);
  std::istringstream csv(read_file(o.timeline_file));
  std::string line;
  std::getline(csv, line);
  CHECK(line ==
        "time_s,function,ready_pods,desired_pods,panic_mode,observed_stable,observed_panic,in_flight,activator_queue,"
        "excess_burst_capacity,activator_in_path");
  std::size_t rows = 0;
  while (std::getline(csv, line)) {
    ++rows;
    CHECK(line.find(",solo,") != std::string::npos);
  }
  CHECK(rows > 0);
}

TEST_CASE("run: closed-loop load replaces the trace") {
  // One user, 1 s requests, no think time, 100 s, --cold-start 2s: the first request waits 2 s for the pod and
  // completes at 3 s, then one request a second: 98 complete by 100 s (the simulator's own test derives the same).
  scale::tools::run_options o;
  o.closed = "1@100s";
  o.duration = "1s";
  o.cold_start = "2s";
  o.json_file = scratch("closed.json").string();
  o.quiet = true;
  const auto r = run(o);
  REQUIRE(r.err == "");
  const auto doc = nlohmann::json::parse(read_file(o.json_file));
  CHECK(doc["functions"][0]["id"] == "closed-loop");
  CHECK(doc["total"]["completed"] == 98);
  CHECK(doc["total"]["cold_starts"] == 1);
}

TEST_CASE("run: bad input names the flag, file or line and exits 1") {
  struct error_case {
    const char* name;
    scale::tools::run_options options;
    std::string expected_err;
  };
  auto with = [](auto change) {
    scale::tools::run_options o;
    o.traces = {data + "/run/one-request.csv"};
    o.quiet = true;
    change(o);
    return o;
  };
  const std::vector<error_case> cases = {
      {"unknown config key", with([](auto& o) { o.config_sets = {"stable-windw=60s"}; }),
       "scalesim run: --set: unknown config-autoscaler key \"stable-windw\"\n"},
      {"bad annotation", with([](auto& o) { o.annotations = {"min-scale=-1"}; }),
       "scalesim run: expected 0 <= -1 <= 2147483647: autoscaling.knative.dev/min-scale\n"},
      {"bad closed phases", with([](auto& o) { o.traces = {}; o.closed = "12users"; }),
       "scalesim run: --closed 12users: expected USERS@LENGTH[,USERS@LENGTH...], e.g. 12@90s,18@90s\n"},
      {"closed with a trace", with([](auto& o) { o.closed = "1@10s"; }),
       "scalesim run: --closed replaces the trace: give one or the other\n"},
      {"bad until", with([](auto& o) { o.until = "soon"; }),
       "scalesim run: --until soon: expected a duration like 300s or 5m, or seconds\n"},
      {"negative container concurrency", with([](auto& o) { o.container_concurrency = -1; }),
       "scalesim run: --container-concurrency = -1: must be >= 0\n"},
      {"negative pod creation rate", with([](auto& o) { o.pod_creation_rate = -2; }),
       "scalesim run: --pod-creation-rate -2: must be 0 (unlimited) or at least 0.001 pods per second\n"},
      {"tiny pod creation rate", with([](auto& o) { o.pod_creation_rate = 1e-6; }),
       "scalesim run: --pod-creation-rate 1e-06: must be 0 (unlimited) or at least 0.001 pods per second\n"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto r = run(c.options);
    CHECK(r.code == 1);
    CHECK(r.err == c.expected_err);
  }
}

TEST_CASE("run: an output that cannot be written names the file and the reason") {
  const fs::path blocker = scratch("a-file");
  std::ofstream(blocker) << "not a directory\n";
  scale::tools::run_options o;
  o.traces = {data + "/run/one-request.csv"};
  o.quiet = true;
  o.json_file = (blocker / "summary.json").string();  // a regular file in the way: open(2) says ENOTDIR
  const auto r = run(o);
  CHECK(r.code == 1);
  CHECK(r.err == "scalesim run: " + o.json_file + ": cannot write (Not a directory)\n");
}

TEST_CASE("run: a malformed trace line is an error naming the file and line") {
  const fs::path bad = scratch("bad-trace.csv");
  std::ofstream(bad) << "timestamp_s,function,duration_ms\n1,a,100\n2,a,fast\n";
  scale::tools::run_options o;
  o.traces = {bad.string()};
  o.quiet = true;
  const auto r = run(o);
  CHECK(r.code == 1);
  CHECK(r.err.rfind("scalesim run: " + bad.string() + ":3:", 0) == 0);
}

TEST_CASE("run: --pod-creation-rate is cluster-wide: a storm of cold starts queues across functions") {
  // Three idle functions, one 1 s request each at 10 s, --cold-start 2s. Unlimited: every pod is created at 10 s,
  // every latency is 3 s (2 s waiting), as in the one-request case above.
  // --pod-creation-rate 1: one token, full at 0, then one a second, shared: a's pod is created at 10, b's at 11,
  // c's at 12 (first asked, first served; same instant: trace order). Latencies 3, 4 and 5 s.
  // Pod-seconds: a as in the one-request case, created 10, gone 104: 94. b ends its request at 14 (last non-zero
  // bucket 14), so the decider says 0 at 74 and its PA has been Active since 13 (61 s): gone at 104, created at
  // 11: 93. c ends at 15 (bucket 15): 0 at 76 (Active since 14, 62 s), gone at 106, created at 12: 94.
  const fs::path storm = scratch("storm.csv");
  std::ofstream(storm) << "timestamp_s,function,duration_ms\n10,a,1000\n10,b,1000\n10,c,1000\n";
  struct test_case {
    double rate_per_s;
    unsigned threads;
    std::vector<double> latency_ms;
    std::vector<double> pod_seconds;
  };
  const test_case cases[] = {
      {0, 2, {3000, 3000, 3000}, {94, 94, 94}},
      {1, 2, {3000, 4000, 5000}, {94, 93, 94}},
      {1, 1, {3000, 4000, 5000}, {94, 93, 94}},
  };
  for (const auto& t : cases) {
    CAPTURE(t.rate_per_s);
    CAPTURE(t.threads);
    scale::tools::run_options o;
    o.traces = {storm.string()};
    o.cold_start = "2s";
    o.pod_creation_rate = t.rate_per_s;
    o.threads = t.threads;
    o.json_file = scratch("storm.json").string();
    o.quiet = true;
    const auto r = run(o);
    REQUIRE(r.err == "");
    REQUIRE(r.code == 0);
    const auto doc = nlohmann::json::parse(read_file(o.json_file));
    REQUIRE(doc["functions"].size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      CAPTURE(i);
      const auto& f = doc["functions"][i];
      CHECK(f["id"] == std::string(1, static_cast<char>('a' + i)));
      CHECK(f["cold_starts"] == 1);
      CHECK(f["latency_ms"]["max"].get<double>() == doctest::Approx(t.latency_ms[i]));
      CHECK(f["queueing_ms"]["max"].get<double>() == doctest::Approx(t.latency_ms[i] - 1000));
      CHECK(f["pod_seconds"].get<double>() == doctest::Approx(t.pod_seconds[i]));
    }
  }
  // One function alone is its own cluster: the limit never binds for a single pod.
  scale::tools::run_options solo;
  solo.traces = {data + "/run/one-request.csv"};
  solo.cold_start = "2s";
  solo.pod_creation_rate = 1;
  solo.json_file = scratch("solo-rate.json").string();
  solo.quiet = true;
  REQUIRE(run(solo).code == 0);
  CHECK(nlohmann::json::parse(read_file(solo.json_file))["total"]["latency_ms"]["max"].get<double>() ==
        doctest::Approx(3000.0));
}
