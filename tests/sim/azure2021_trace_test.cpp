// Azure 2021 reader: start = end - duration, per-function sorting, rebasing to the earliest start, ids, errors.
#include <sim/azure2021_trace.hpp>

#include "trace_test_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
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
using scale::sim::arrival;
using scale::sim::read_azure2021_trace;

const std::string dir = std::string{LIBSCALE_TEST_DATA_DIR} + "/traces/azure2021/";

using scale::sim::testing::drain;

}  // namespace

TEST_CASE("azure2021: starts are end - duration, sorted per function, rebased to the earliest start") {
  const auto t = read_azure2021_trace(dir + "small.csv");
  REQUIRE(t.has_value());
  CHECK(t->source == dir + "small.csv");
  // Rows (start = end - duration): a1/f1 10, a1/f2 2, a2/f1 4, a1/f1 3, a1/f1 10. The earliest start, 2 s,
  // becomes 0. "f1" is used by two apps, so every id is app/func.
  REQUIRE(t->functions.size() == 3);
  CHECK(t->functions[0].id == "a1/f1");
  CHECK(t->functions[1].id == "a1/f2");
  CHECK(t->functions[2].id == "a2/f1");
  // a1/f1 sorted by start: 3 (2 s), 10 (0.5 s, file order first), 10 (2 s) -> 1, 8, 8.
  CHECK(drain(t->functions[0]) == std::vector<arrival>{{at(1s), 2s}, {at(8s), 500ms}, {at(8s), 2s}});
  CHECK(drain(t->functions[1]) == std::vector<arrival>{{at(0s), 1s}});
  CHECK(drain(t->functions[2]) == std::vector<arrival>{{at(2s), 250ms}});
  // Opening again replays the same stream (the seed plays no part).
  CHECK(drain(t->functions[0]) == drain(t->functions[0]));
}

TEST_CASE("azure2021: columns in any order — unique func hashes are the ids") {
  const auto t = read_azure2021_trace(dir + "reordered.csv");
  REQUIRE(t.has_value());
  REQUIRE(t->functions.size() == 2);
  CHECK(t->functions[0].id == "f1");
  CHECK(t->functions[1].id == "f2");
  // f1: start 2 - 1 = 1; f2: 0.5 - 0 = 0.5; earliest 0.5.
  CHECK(drain(t->functions[0]) == std::vector<arrival>{{at(500ms), 1s}});
  CHECK(drain(t->functions[1]) == std::vector<arrival>{{at(0s), 0s}});
}

TEST_CASE("azure2021: the bundled 199-invocation excerpt") {
  const auto t = read_azure2021_trace(std::string{LIBSCALE_SOURCE_DIR} + "/traces/azure2021/Azure2021_200.csv");
  REQUIRE(t.has_value());
  CHECK(t->functions.size() == 31);  // traces/azure2021/SOURCE.md: 31 functions, 199 rows
  std::size_t count = 0;
  scale::time_point first = at(1000000s), last{};
  for (const auto& f : t->functions) {
    const auto arrivals = drain(f);
    CHECK(std::is_sorted(arrivals.begin(), arrivals.end(),
                         [](const arrival& a, const arrival& b) { return a.time < b.time; }));
    count += arrivals.size();
    for (const auto& a : arrivals) {
      first = std::min(first, a.time);
      last = std::max(last, a.time);
    }
  }
  CHECK(count == 199);
  CHECK(first == at(0s));
  // Latest start 1200.0147980537415 minus earliest 0.0014909000396728517 = 1200.01330715... s.
  CHECK(std::chrono::abs(last - at(std::chrono::nanoseconds{1'200'013'307'150})) < 2us);
}

TEST_CASE("azure2021: malformed files name the file, line and field") {
  struct row {
    std::string file;
    std::string message;  // after the path
  };
  const std::vector<row> rows = {
      {"no-such.csv", ": cannot open file"},
      {"bad-header.csv", ":1: header \"app,func,end_timestamp\": expected the columns app,func,end_timestamp,duration"},
      {"bad-field-count.csv", ":3: expected 4 fields (app,func,end_timestamp,duration), got 3"},
      {"bad-end.csv", ":3: end_timestamp = \"soon\": expected seconds"},
      {"bad-negative-duration.csv", ":2: duration = \"-1\": expected seconds >= 0"},
      {"bad-empty-app.csv", ":2: app is empty"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.file);
    const auto t = read_azure2021_trace(dir + r.file);
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error_value().message == dir + r.file + r.message);
  }
}
