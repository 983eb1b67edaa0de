// scalesim compare and run --policy, driven in-process: the table, the JSON contract, determinism and errors.
#include "compare_command.hpp"

#include "command_test_support.hpp"

#include "run_command.hpp"

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

using command_output = scale::tools::testing::command_output;

command_output compare(const scale::tools::compare_options& options) {
  return scale::tools::testing::capture(options, scale::tools::run_compare);
}

command_output run(const scale::tools::run_options& options) {
  return scale::tools::testing::capture(options, scale::tools::run_simulation);
}

using scale::tools::testing::read_file;

fs::path scratch(const std::string& name) { return scale::tools::testing::scratch("scalesim-compare-test", name); }

const std::string data = LIBSCALE_TEST_DATA_DIR;

/// compare's defaults as the command line sets them (one request per pod).
scale::tools::compare_options compare_defaults() {
  scale::tools::compare_options o;
  o.run.container_concurrency = 1;
  o.run.quiet = true;
  return o;
}

}  // namespace

TEST_CASE("run --policy keepalive: the 11-minute and 9-minute traces of issue #4") {
  // Hand-worked in tests/sim/simulation_test.cpp: 3 cold starts and 1902 pod-seconds every 11 minutes,
  // 1 cold start and 1711 pod-seconds every 9 minutes (10 min keep-alive, 3 s cold start, 30 s drain).
  struct row {
    const char* trace;
    int cold;
    double pod_seconds;
  };
  const row rows[] = {{"every-11-minutes.csv", 3, 1902}, {"every-9-minutes.csv", 1, 1711}};
  for (const row& r : rows) {
    CAPTURE(r.trace);
    scale::tools::run_options o;
    o.traces = {data + "/run/" + r.trace};
    o.policy = "keepalive";
    o.quiet = true;
    o.json_file = scratch("keepalive.json").string();
    const auto out = run(o);
    REQUIRE(out.code == 0);
    const auto doc = nlohmann::json::parse(read_file(o.json_file));
    CHECK(doc["policy"] == "keepalive");
    CHECK(doc["config"]["container_concurrency"] == 1);  // one request per pod unless told otherwise
    CHECK(doc["total"]["cold_starts"] == r.cold);
    CHECK(doc["total"]["pod_seconds"].get<double>() == doctest::Approx(r.pod_seconds).epsilon(1e-12));
  }
}

TEST_CASE("run --set keepalive.idle changes the keep-alive: 12 minutes keeps the 11-minute trace warm") {
  // Pod made at 0, idle from 4 s, warm until 724 s > 660 s; again until 1381 + 720 = 2044 s... every reuse warm.
  scale::tools::run_options o;
  o.traces = {data + "/run/every-11-minutes.csv"};
  o.policy = "keepalive";
  o.config_sets = {"keepalive.idle=12m"};
  o.quiet = true;
  o.json_file = scratch("keepalive-12m.json").string();
  REQUIRE(run(o).code == 0);
  const auto doc = nlohmann::json::parse(read_file(o.json_file));
  CHECK(doc["total"]["cold_starts"] == 1);
  // The pod lives from 0 to 1321 + 720 = 2041 s, then drains 30 s.
  CHECK(doc["total"]["pod_seconds"].get<double>() == doctest::Approx(2071).epsilon(1e-12));
}

TEST_CASE("compare: every policy on the same arrivals, read against the oracle") {
  auto o = compare_defaults();
  o.run.traces = {data + "/run/three-functions.csv"};
  o.run.json_file = scratch("compare.json").string();
  const auto out = compare(o);
  REQUIRE(out.code == 0);
  CHECK(out.err.empty());
  const auto doc = nlohmann::json::parse(read_file(o.run.json_file));
  const std::vector<std::string> expected{"kpa", "hpa", "keepalive", "hybrid", "oracle"};
  REQUIRE(doc["policies"].size() == expected.size());
  const double oracle = doc["oracle_pod_seconds"].get<double>();
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& p = doc["policies"][i];
    CAPTURE(expected[i]);
    CHECK(p["policy"] == expected[i]);
    // Same arrivals for all: same request count, every request accounted for.
    CHECK(p["total"]["requests"] == doc["policies"][0]["total"]["requests"]);
    CHECK(p["total"]["completed"].get<std::int64_t>() + p["total"]["failed"].get<std::int64_t>() ==
          p["total"]["requests"].get<std::int64_t>());
    CHECK(p["functions"].size() == 3);
    // The oracle is the lower bound of pod time.
    CHECK(p["total"]["pod_seconds"].get<double>() >= oracle);
    CHECK(p["pod_seconds_over_oracle"].get<double>() == doctest::Approx(p["total"]["pod_seconds"].get<double>() / oracle));
  }
  CHECK(doc["policies"][4]["total"]["cold_starts"] == 0);
  CHECK(doc["policies"][4]["pod_seconds_over_oracle"] == 1.0);
}

TEST_CASE("compare: the same seed gives byte-identical JSON on 1 and 2 threads") {
  std::string first;
  for (const unsigned threads : {1u, 2u}) {
    auto o = compare_defaults();
    o.run.traces = {data + "/run/three-functions.csv"};
    o.run.threads = threads;
    o.run.json_file = scratch("compare-threads.json").string();
    REQUIRE(compare(o).code == 0);
    const std::string json = read_file(o.run.json_file);
    if (first.empty()) {
      first = json;
    } else {
      CHECK(json == first);
    }
  }
}

TEST_CASE("compare: the table names every policy and its ratio to the oracle") {
  auto o = compare_defaults();
  o.run.quiet = false;
  o.policies = "keepalive,oracle";
  o.run.traces = {data + "/run/every-11-minutes.csv"};
  const auto out = compare(o);
  REQUIRE(out.code == 0);
  // keepalive: 3 cold of 3, 1902 pod-s (3 × 634); the oracle: pods from 3 s before each arrival to its end,
  // plus the 30 s drain, 34 s each, except the first, wanted from -3 s and so ready from time 0: 31 s.
  // 31 + 34 + 34 = 99 pod-s; 1902 / 99 = 19.21.
  CHECK(out.out.find("keepalive           3         3 100.000%") != std::string::npos);
  CHECK(out.out.find("1902") != std::string::npos);
  CHECK(out.out.find("   99 ") != std::string::npos);
  CHECK(out.out.find("19.21") != std::string::npos);
  CHECK(out.out.find("oracle              3         0   0.000%") != std::string::npos);
}

TEST_CASE("compare and run --policy: bad policies and knobs are named") {
  struct row {
    const char* policies;
    std::vector<std::string> sets;
    const char* error;
  };
  const row rows[] = {
      {"kpa,bogus", {}, "scalesim compare: --policies kpa,bogus: bogus is not a policy (expected a comma-separated "
                        "list of kpa, hpa, keepalive, hybrid, oracle)\n"},
      {"kpa,kpa", {}, "scalesim compare: --policies: kpa is listed twice\n"},
      {"kpa", {"hpa.target=5"}, "scalesim compare: --set hpa.target=5: policy hpa is not being run\n"},
      {"keepalive", {"keepalive.bogus=1"},
       "scalesim compare: --set keepalive.bogus: unknown knob of policy keepalive (known: keepalive.idle)\n"},
      {"keepalive", {"keepalive.idle=soon"},
       "scalesim compare: --set keepalive.idle=soon: expected a duration of at least 0, like 10m or 30s\n"},
      {"hpa", {"hpa.min=0"},
       "scalesim compare: --set hpa.min = 0, must be at least 1 unless hpa.scale_to_zero is true\n"},
      {"hybrid", {"hybrid.head=99"}, "scalesim compare: --set hybrid.head=99: must be below hybrid.tail (99)\n"},
      {"kpa", {"foo.x=1"},
       "scalesim compare: --set foo.x=1: foo is not a policy (expected KEY=VALUE for config-autoscaler, or "
       "POLICY.KEY=VALUE with POLICY one of kpa, hpa, keepalive, hybrid, oracle)\n"},
      {"kpa", {"kpa.stable-window=5s"}, nullptr},  // kpa.KEY is config-autoscaler's KEY: Knative rejects 5s
  };
  for (const row& r : rows) {
    CAPTURE(r.policies);
    auto o = compare_defaults();
    o.policies = r.policies;
    o.run.config_sets = r.sets;
    o.run.traces = {data + "/run/one-request.csv"};
    const auto out = compare(o);
    CHECK(out.code == 1);
    if (r.error != nullptr) {
      CHECK(out.err == r.error);
    } else {
      CHECK(out.err.find("stable-window") != std::string::npos);
    }
  }
}

TEST_CASE("run --policy oracle needs a constant cold start and a trace") {
  scale::tools::run_options o;
  o.traces = {data + "/run/one-request.csv"};
  o.policy = "oracle";
  o.cold_start = "exp:2s";
  auto out = run(o);
  CHECK(out.code == 1);
  CHECK(out.err == "scalesim run: policy oracle: --cold-start exp:2s is not a constant; set oracle.cold_start\n");
  o.config_sets = {"oracle.cold_start=2s"};
  o.quiet = true;
  CHECK(run(o).code == 0);

  scale::tools::run_options closed;
  closed.policy = "oracle";
  closed.closed = "2@10s";
  out = run(closed);
  CHECK(out.code == 1);
  CHECK(out.err == "scalesim run: --policy oracle needs the future arrivals: it takes a trace, not --closed\n");
}
