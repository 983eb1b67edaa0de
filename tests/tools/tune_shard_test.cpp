// tune's shard files and exchange files: exact round trips, who owns which job, and errors that name the file.
#include "tune_shard.hpp"

#include "command_test_support.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace scale::tools;

fs::path scratch(const std::string& name) { return testing::scratch("scalesim-tune-shard-test", name); }

/// A batch of three: the default config, a point that validation refused, and a point with awkward doubles.
tune_batch sample_batch() {
  tune_batch b;
  b.jobs = {tune_job{false, std::nullopt}, tune_job{false, knob_values{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
            tune_job{true, knob_values{0.1, 1.0 / 3.0, 1e-300, 60, 10, 200, 30, 0, 0, 211}}};
  b.outcomes.resize(3);
  b.outcomes[0].fig = figures{1234, 0.1 + 0.2, 23.3, 50, 60.5, 718.1, 6e-5, 0};
  b.outcomes[1].valid = false;
  b.outcomes[1].rejected = "min-scale 9 > max-scale 3";
  b.outcomes[2].fig = figures{18446744073709551615ULL, 1.0 / 7.0, 1, 2, 3, 4, 0.5, 1.0 / 3.0};
  b.known = {true, true, true};
  return b;
}

}  // namespace

TEST_CASE("tune shard: jobs are dealt round-robin over all batches") {
  // (k, shards) -> owner: k mod shards, k counting the valid jobs of the whole flow.
  const std::vector<std::tuple<std::size_t, std::size_t, std::size_t>> cases = {
      {0, 1, 0}, {5, 1, 0}, {0, 3, 0}, {1, 3, 1}, {2, 3, 2}, {3, 3, 0}, {13, 4, 1}};
  for (const auto& [k, n, owner] : cases) {
    CAPTURE(k);
    CAPTURE(n);
    CHECK(tune_job_owner(k, n) == owner);
  }
}

TEST_CASE("tune shard: exchange files round-trip exactly and hold only the outcomes written") {
  const tune_batch b = sample_batch();
  const std::string path = tune_exchange_path(scratch("exchange-dir").string(), 4, 1);
  CHECK(path == (scratch("exchange-dir") / "exchange" / "batch-4.shard-1.json").string());
  REQUIRE_FALSE(write_file_atomically(path, tune_exchange_text(b, {true, true, false}, "abc", 4, {1, 3})).has_value());
  const auto read = read_tune_exchange(path, "abc", 4, {1, 3});
  REQUIRE(read.has_value());
  REQUIRE(read->has_value());
  const tune_batch& back = **read;
  CHECK(back.jobs == b.jobs);
  CHECK(back.known == std::vector<bool>{true, true, false});
  CHECK(back.outcomes[0].fig == b.outcomes[0].fig);
  CHECK_FALSE(back.outcomes[1].valid);
  CHECK(back.outcomes[1].rejected == b.outcomes[1].rejected);
  // Absent: nothing yet, not an error.
  const auto absent = read_tune_exchange(tune_exchange_path(scratch("exchange-dir").string(), 5, 1), "abc", 5, {1, 3});
  REQUIRE(absent.has_value());
  CHECK_FALSE(absent->has_value());
  // Another run's file, or a file of another batch under this name.
  CHECK(read_tune_exchange(path, "def", 4, {1, 3}).error_value().message ==
        path + ": written by a different tune run (fingerprint abc, this run's is def); give each run an empty --out "
               "directory");
  CHECK(read_tune_exchange(path, "abc", 3, {1, 3}).error_value().message ==
        path + ": shard, batch: expected shard 1/3 and batch 3");
}

TEST_CASE("tune shard: shard files round-trip the record and every batch exactly") {
  tune_shard_file f;
  f.shard = {1, 2};
  f.inputs = nlohmann::ordered_json{{"command", "tune"}, {"seed", 3}};
  f.fingerprint = fingerprint_of(f.inputs);
  f.record.seed = 3;
  f.record.budget = 10;
  f.record.slo_texts = {"p99<=2s", "cold<=5%"};
  f.record.space = default_search_space();
  f.record.holdout = 0.25;
  f.record.end = std::chrono::seconds{2398};
  f.record.cut = std::chrono::seconds{1798};
  f.record.container_concurrency = 4;
  f.record.cold_start = "1s";
  f.record.service_name = "svc";
  f.record.sources = {"a.csv", "b.csv"};
  f.record.functions = 2;
  f.record.config_data = {{"stable-window", "90s"}};
  f.record.annotations = {{"autoscaling.knative.dev/max-scale", "3"}};
  f.record.default_knobs = nlohmann::ordered_json{{"target", 100}, {"stable-window", "1m30s"}};
  f.batches = {sample_batch(), sample_batch()};
  const fs::path path = scratch("shard-1.json");
  std::ofstream(path) << tune_shard_file_text(f, {{true, true, true}, {false, true, true}});
  CHECK(is_tune_shard_file(path.string()));
  const auto read = read_tune_shard_file(path.string());
  REQUIRE(read.has_value());
  const tune_shard_file& back = *read;
  CHECK(back.shard == f.shard);
  CHECK(back.fingerprint == f.fingerprint);
  CHECK(back.record.seed == 3);
  CHECK(back.record.budget == 10);
  CHECK(back.record.slo_texts == f.record.slo_texts);
  for (std::size_t k = 0; k < knob_count; ++k) {
    CHECK(back.record.space.ranges[k].low == f.record.space.ranges[k].low);
    CHECK(back.record.space.ranges[k].high == f.record.space.ranges[k].high);
  }
  CHECK(back.record.holdout == 0.25);
  CHECK(back.record.end == f.record.end);
  CHECK(back.record.cut == f.record.cut);
  CHECK(back.record.container_concurrency == 4);
  CHECK(back.record.cold_start == "1s");
  CHECK(back.record.service_name == "svc");
  CHECK(back.record.sources == f.record.sources);
  CHECK(back.record.functions == 2);
  CHECK(back.record.config_data == f.record.config_data);
  CHECK(back.record.annotations == f.record.annotations);
  CHECK(back.record.default_knobs == f.record.default_knobs);
  REQUIRE(back.batches.size() == 2);
  CHECK(back.batches[0].known == std::vector<bool>{true, true, true});
  CHECK(back.batches[1].known == std::vector<bool>{false, true, true});
  // Doubles such as 0.1 + 0.2, 1/7 and 1e-300 and the largest 64-bit count come back bit for bit.
  CHECK(back.batches[0].jobs == f.batches[0].jobs);
  CHECK(back.batches[0].outcomes[0].fig == f.batches[0].outcomes[0].fig);
  CHECK(back.batches[1].outcomes[2].fig == f.batches[1].outcomes[2].fig);
}

TEST_CASE("tune shard: a damaged shard file is refused with the file and the field") {
  const fs::path path = scratch("damaged.json");
  const auto refused = [&](const std::string& text) {
    std::ofstream(path) << text;
    return read_tune_shard_file(path.string()).error_value().message;
  };
  const std::string p = path.string();
  CHECK(refused("{") == p + ": expected a scalesim tune shard file (JSON), got a parse error at byte 2");
  CHECK(refused("{\"format\": \"scalesim-shard/1\"}") ==
        p + ": expected a scalesim tune shard file (JSON with \"format\": \"scalesim-tune-shard/1\")");
  CHECK_FALSE(is_tune_shard_file(p));
  // A number beyond a double's range is not a parse error to nlohmann::json but an out-of-range one.
  CHECK(refused(R"({"format": "scalesim-tune-shard/1", "record": 1e400})") ==
        p + ": expected a scalesim tune shard file (JSON), got a value JSON cannot hold here");
  CHECK(refused(R"({"format": "scalesim-tune-shard/1", "shard": {"index": 2, "count": 2}})") ==
        p + ": shard: expected 0 <= index < count");
  CHECK(refused(R"({"format": "scalesim-tune-shard/1", "shard": {"index": 0, "count": 2}, "fingerprint": "0",
                    "inputs": {}})") == p + ": fingerprint: expected the hash of \"inputs\" (edited?)");
}
