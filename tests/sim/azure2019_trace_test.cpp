// Azure 2019 reader: the three layouts, the three expansions with hand-derived times, streaming over the bundled
// 10-function day, and verbatim errors for malformed files.
#include <sim/azure2019_trace.hpp>

#include "trace_test_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#ifndef LIBSCALE_TEST_DATA_DIR
#define LIBSCALE_TEST_DATA_DIR "tests/data"
#endif
#ifndef LIBSCALE_SOURCE_DIR
#define LIBSCALE_SOURCE_DIR "."
#endif

namespace {

using namespace std::chrono_literals;
using scale::at;
using scale::duration;
using scale::sim::arrival;
using scale::sim::minute_expansion;
using scale::sim::read_azure2019_trace;

const std::string dir = std::string{LIBSCALE_TEST_DATA_DIR} + "/traces/azure2019/";
const std::string bundled = std::string{LIBSCALE_SOURCE_DIR} + "/traces/";

using scale::sim::testing::drain;

std::vector<scale::time_point> times(const std::vector<arrival>& arrivals) {
  std::vector<scale::time_point> out;
  for (const auto& a : arrivals) out.push_back(a.time);
  return out;
}

/// Sum of every minute column of an invocations file, computed independently of the reader.
std::uint64_t sum_of_counts(const std::string& path, std::size_t first_minute_column) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  std::uint64_t sum = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string field;
    for (std::size_t column = 0; std::getline(fields, field, ','); ++column) {
      if (column >= first_minute_column) sum += std::stoull(field);
    }
  }
  return sum;
}

}  // namespace

TEST_CASE("azure2019: equal expansion puts minute i's n arrivals at 60 s * i + k * 60 s / n") {
  const auto t = read_azure2019_trace(dir + "invocations.csv", dir + "durations.csv", minute_expansion::equal);
  REQUIRE(t.has_value());
  CHECK(t->source == dir + "invocations.csv");
  REQUIRE(t->functions.size() == 3);
  CHECK(t->functions[0].id == "f1");
  CHECK(t->functions[1].id == "f2");
  CHECK(t->functions[2].id == "f3");

  // f1 counts 0,3,0,1: the column labelled 2 is minute index 1, [60 s, 120 s): 60 + 0, 20, 40 s; the column
  // labelled 4 is index 3: 180 s. Its percentiles are all 100 ms, so every service time is exactly 100 ms.
  const auto f1 = drain(t->functions[0], 1);
  CHECK(f1 == std::vector<arrival>{{at(60s), 100ms}, {at(80s), 100ms}, {at(100s), 100ms}, {at(180s), 100ms}});
  // f2 counts 2,0,0,0: 0 s and 30 s; service times lie on its percentiles, 0 to 60 ms.
  const auto f2 = drain(t->functions[1], 1);
  CHECK(times(f2) == std::vector{at(0s), at(30s)});
  for (const auto& a : f2) CHECK((a.service_time >= 0ms && a.service_time <= 60ms));
  // f3 has no invocations at all.
  CHECK(drain(t->functions[2], 1).empty());
}

TEST_CASE("azure2019: the invitro sampler layout (ids first, no Trigger, minute_N) and its _run sibling") {
  const auto sibling = scale::sim::azure2019_durations_sibling(dir + "2_inv.csv");
  REQUIRE(sibling.has_value());
  CHECK(sibling->string() == dir + "2_run.csv");
  const auto t = read_azure2019_trace(dir + "2_inv.csv", *sibling, minute_expansion::equal);
  REQUIRE(t.has_value());
  REQUIRE(t->functions.size() == 2);
  CHECK(t->functions[0].id == "s1");
  // s1 counts 1,0,2 -> 0 s; 120 s + 0 and 30 s. Durations (matched although the row order differs) are 8 ms.
  CHECK(drain(t->functions[0], 5) == std::vector<arrival>{{at(0s), 8ms}, {at(120s), 8ms}, {at(150s), 8ms}});
  CHECK(drain(t->functions[1], 5).empty());
}

TEST_CASE("azure2019: minute labels need not start at 1 — CRLF line ends are fine") {
  // Labels 540, 541 (invitro's excerpt of 09:00 onwards): the first minute column still covers [0, 60 s).
  // Count 2 in the second column -> 60 s and 90 s; every percentile is 1000 ms.
  const auto t = read_azure2019_trace(dir + "excerpt-invocations.csv", dir + "excerpt-durations.csv",
                                      minute_expansion::equal);
  REQUIRE(t.has_value());
  REQUIRE(t->functions.size() == 1);
  CHECK(drain(t->functions[0], 0) == std::vector<arrival>{{at(60s), 1s}, {at(90s), 1s}});
}

TEST_CASE("azure2019: a function hash shared by two apps gets HashApp/HashFunction ids") {
  const auto t = read_azure2019_trace(dir + "shared-invocations.csv", dir + "shared-durations.csv",
                                      minute_expansion::equal);
  REQUIRE(t.has_value());
  REQUIRE(t->functions.size() == 2);
  CHECK(t->functions[0].id == "a1/f1");
  CHECK(t->functions[1].id == "a2/f1");
  CHECK(drain(t->functions[0], 0) == std::vector<arrival>{{at(0s), 1ms}});
  CHECK(drain(t->functions[1], 0) == std::vector<arrival>{{at(0s), 2ms}});
}

TEST_CASE("azure2019: uniform keeps each minute's count, in order, inside the minute — same seed, same stream") {
  const auto t = read_azure2019_trace(dir + "invocations.csv", dir + "durations.csv", minute_expansion::uniform);
  REQUIRE(t.has_value());
  for (std::uint64_t seed : {1u, 2u, 3u, 99u}) {
    CAPTURE(seed);
    const auto f1 = drain(t->functions[0], seed);
    REQUIRE(f1.size() == 4);
    for (int i = 0; i < 3; ++i) CHECK((f1[i].time >= at(60s) && f1[i].time < at(120s)));
    CHECK((f1[3].time >= at(180s) && f1[3].time < at(240s)));
    CHECK(std::is_sorted(f1.begin(), f1.end(), [](const arrival& a, const arrival& b) { return a.time < b.time; }));
    CHECK(f1 == drain(t->functions[0], seed));
  }
  CHECK(drain(t->functions[0], 1) != drain(t->functions[0], 2));
}

TEST_CASE("azure2019: uniform and poisson over the bundled 100-function day") {
  const std::string inv = bundled + "azure2019-sample100/100_inv.csv";
  const std::string run = bundled + "azure2019-sample100/100_run.csv";
  const std::uint64_t total = sum_of_counts(inv, 3);  // HashFunction,HashApp,HashOwner then minutes
  CHECK(total == 513418);                             // as computed by SOURCE.md's tooling
  for (const auto mode : {minute_expansion::uniform, minute_expansion::poisson}) {
    CAPTURE(scale::sim::to_string(mode));
    const auto t = read_azure2019_trace(inv, run, mode);
    REQUIRE(t.has_value());
    CHECK(t->functions.size() == 100);
    std::uint64_t count = 0;
    double offset_sum_s = 0;
    bool sorted = true;
    for (std::size_t i = 0; i < t->functions.size(); ++i) {
      const auto arrivals = drain(t->functions[i], scale::sim::function_seed(7, i));
      for (std::size_t k = 0; k < arrivals.size(); ++k) {
        if (k > 0 && arrivals[k].time < arrivals[k - 1].time) sorted = false;
        offset_sum_s += static_cast<double>(arrivals[k].time.time_since_epoch().count() % 60'000'000'000) / 1e9;
      }
      count += arrivals.size();
    }
    CHECK(sorted);
    if (mode == minute_expansion::uniform) {
      CHECK(count == total);
    } else {
      // Poisson(total): standard deviation sqrt(513418) = 717; five of them either side.
      CHECK(std::abs(static_cast<double>(count) - static_cast<double>(total)) < 5 * 717.0);
    }
    // Offsets inside a minute average 30 s either way.
    CHECK(offset_sum_s / static_cast<double>(count) == doctest::Approx(30).epsilon(0.01));
  }
}

TEST_CASE("azure2019: the bundled 10-function day expands to exactly its invocation count") {
  // Counting, not simulating: drain the streams (equal expansion) and compare with the file's own sum, which is
  // 13,037,064 invocations (about 13.0 M; traces/azure2019-raw10/SOURCE.md).
  const std::string inv = bundled + "azure2019-raw10/invocations.csv";
  const std::uint64_t total = sum_of_counts(inv, 4);  // HashOwner,HashApp,HashFunction,Trigger then minutes
  CHECK(total == 13'037'064);
  const auto t = read_azure2019_trace(inv, bundled + "azure2019-raw10/durations.csv", minute_expansion::equal);
  REQUIRE(t.has_value());
  REQUIRE(t->functions.size() == 10);
  std::uint64_t count = 0;
  scale::time_point last{};
  for (std::size_t i = 0; i < t->functions.size(); ++i) {
    auto source = t->functions[i].open(i);
    while (auto a = source->next()) {
      ++count;
      last = std::max(last, a->time);
    }
  }
  CHECK(count == total);
  CHECK(last < at(86400s));  // 1440 minutes
}

TEST_CASE("azure2019: expansion names") {
  CHECK(*scale::sim::parse_minute_expansion("equal") == minute_expansion::equal);
  CHECK(*scale::sim::parse_minute_expansion("poisson") == minute_expansion::poisson);
  CHECK(*scale::sim::parse_minute_expansion("uniform") == minute_expansion::uniform);
  CHECK(scale::sim::parse_minute_expansion("exponential").error_value().message ==
        "expansion \"exponential\": expected uniform, poisson or equal");
  CHECK(scale::sim::to_string(minute_expansion::poisson) == "poisson");
}

TEST_CASE("azure2019: durations file by naming convention") {
  using scale::sim::azure2019_durations_sibling;
  CHECK(azure2019_durations_sibling("d/invocations_per_function_md.anon.d01.csv")->string() ==
        "d/function_durations_percentiles.anon.d01.csv");
  CHECK(azure2019_durations_sibling("d/100_inv.csv")->string() == "d/100_run.csv");
  CHECK(azure2019_durations_sibling("invocations.csv")->string() == "durations.csv");
  CHECK(azure2019_durations_sibling("d/day1-invocations.csv")->string() == "d/day1-durations.csv");
  CHECK_FALSE(azure2019_durations_sibling("d/trace.csv").has_value());
}

TEST_CASE("azure2019: malformed files name the file, line and field") {
  struct row {
    std::string invocations;
    std::string durations;
    std::string message;  // "{I}" and "{D}" stand for the two paths
  };
  const std::vector<row> rows = {
      {"bad-minute-gap.csv", "durations.csv", "{I}:1: column 7 \"4\": expected minute 3 (minute columns must be consecutive)"},
      {"bad-column.csv", "durations.csv", "{I}:1: column 4 \"SampleCount\": expected a minute number like 1 or minute_1"},
      {"bad-no-app.csv", "durations.csv", "{I}:1: no column \"HashApp\""},
      {"header-only.csv", "durations.csv", ""},  // not an error: no functions
      {"bad-count.csv", "durations.csv",
       "{I}:3: column \"1\" = \"x\": expected a whole number of invocations from 0 to 100000000"},
      {"bad-negative-count.csv", "durations.csv",
       "{I}:2: column \"2\" = \"-3\": expected a whole number of invocations from 0 to 100000000"},
      {"bad-field-count.csv", "durations.csv", "{I}:2: expected 6 fields, got 5"},
      {"bad-no-durations.csv", "durations.csv", "{I}:4: no durations for HashOwner=o5, HashApp=a5, HashFunction=f5 in {D}"},
      {"bad-duplicate.csv", "durations.csv",
       "{I}:3: duplicate function HashOwner=o1, HashApp=a1, HashFunction=f1 (first on line 2)"},
      {"invocations.csv", "bad-durations-decreasing.csv",
       "{D}:2: percentile_Average_50 = 4: below percentile_Average_25 = 5 (percentiles must not decrease)"},
      {"invocations.csv", "bad-durations-value.csv",
       "{D}:2: percentile_Average_100 = \"abc\": expected milliseconds >= 0"},
      {"invocations.csv", "bad-durations-header.csv", "{D}:1: no column \"percentile_Average_25\""},
      {"no-such.csv", "durations.csv", "{I}: cannot open file"},
      {"invocations.csv", "no-such.csv", "{D}: cannot open file"},
      {"invocations.csv", "invocations.csv", "{D}:1: no column \"percentile_Average_0\""},
  };
  for (const auto& r : rows) {
    CAPTURE(r.invocations);
    CAPTURE(r.durations);
    const auto t = read_azure2019_trace(dir + r.invocations, dir + r.durations, minute_expansion::uniform);
    if (r.message.empty()) {
      REQUIRE(t.has_value());
      CHECK(t->functions.empty());
      continue;
    }
    REQUIRE_FALSE(t.has_value());
    std::string expected = r.message;
    for (auto [tag, path] : {std::pair{std::string{"{I}"}, dir + r.invocations}, std::pair{std::string{"{D}"}, dir + r.durations}}) {
      for (auto at = expected.find(tag); at != std::string::npos; at = expected.find(tag)) expected.replace(at, 3, path);
    }
    CHECK(t.error_value().message == expected);
  }
}

// azure2019_trace_fuzz, crash-891ddb61 (tests/data/fuzz-regressions/azure2019_trace/): heap-use-after-free in
// read_durations (sim/src/azure2019_trace.cpp:158). `header` holds string_views into `line`, which the row loop
// overwrites; the "HashApp is empty" message then reads freed memory (ASan: heap-use-after-free in fmt::format).
// Fixed: the header line keeps its own copy.
TEST_CASE("fuzz regression: an empty id in a durations row names its column") {
  const auto dir = std::filesystem::temp_directory_path();
  const auto invocations = dir / "libscale-fuzz-regression-invocations.csv";
  const auto durations = dir / "libscale-fuzz-regression-durations.csv";
  std::ofstream(invocations) << "HashOwner,HashApp,HashFunction,1\no,a,f,1\n";
  // The row is longer than the header, so reading it reallocates the line the header's fields pointed into.
  std::ofstream(durations) << "HashOwner,HashApp,HashFunction,percentile_Average_0,percentile_Average_1,"
                              "percentile_Average_25,percentile_Average_50,percentile_Average_75,"
                              "percentile_Average_99,percentile_Average_100\n"
                           << std::string(200, 'o') << ",,f,1,1,1,1,1,1,1\n";
  const auto t = scale::sim::read_azure2019_trace(invocations, durations, scale::sim::minute_expansion::equal);
  REQUIRE(!t.has_value());
  CHECK(t.error_value().message == durations.string() + ":2: HashApp is empty");
  std::filesystem::remove(invocations);
  std::filesystem::remove(durations);
}
