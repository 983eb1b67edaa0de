// Our CSV: exact parsing, per-function streaming in chunks, the writer's merge, and verbatim errors.
#include <sim/csv_trace.hpp>

#include "trace_test_support.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#ifndef LIBSCALE_TEST_DATA_DIR
#define LIBSCALE_TEST_DATA_DIR "tests/data"
#endif

namespace {

using namespace std::chrono_literals;
using scale::at;
using scale::duration;
using scale::sim::arrival;

const std::string dir = std::string{LIBSCALE_TEST_DATA_DIR} + "/traces/csv/";

using scale::sim::testing::drain;

/// A function that replays a fixed list.
scale::sim::function_trace fixed(std::string id, std::vector<arrival> arrivals) {
  struct replay final : scale::sim::arrival_source {
    std::vector<arrival> list;
    std::size_t next_index = 0;
    std::optional<arrival> next() override {
      if (next_index == list.size()) return std::nullopt;
      return list[next_index++];
    }
  };
  return {std::move(id), [arrivals](std::uint64_t) {
            auto r = std::make_unique<replay>();
            r->list = arrivals;
            return r;
          }};
}

}  // namespace

TEST_CASE("csv: rows parse exactly and stream per function") {
  const auto t = scale::sim::read_csv_trace(dir + "small.csv");
  REQUIRE(t.has_value());
  CHECK(t->source == dir + "small.csv");
  REQUIRE(t->functions.size() == 2);
  CHECK(t->functions[0].id == "api");
  CHECK(t->functions[1].id == "worker");
  // 0.000001 ms is exactly 1 ns; 1500.5 ms is 1.5005 s. The blank line is skipped.
  CHECK(drain(t->functions[0]) == std::vector<arrival>{{at(0s), 100ms}, {at(500ms), 1ns}, {at(2s), 20ms}});
  CHECK(drain(t->functions[1]) == std::vector<arrival>{{at(500ms), 1500500us}});
  // Two opens are independent streams.
  auto a = t->functions[0].open(1);
  auto b = t->functions[0].open(2);
  CHECK(a->next()->time == at(0s));
  CHECK(a->next()->time == at(500ms));
  CHECK(b->next()->time == at(0s));

  // The same file with CRLF line ends streams the same (offsets count the '\r').
  const auto crlf = scale::sim::read_csv_trace(dir + "small-crlf.csv");
  REQUIRE(crlf.has_value());
  REQUIRE(crlf->functions.size() == 2);
  CHECK(drain(crlf->functions[0]) == drain(t->functions[0]));
  CHECK(drain(crlf->functions[1]) == drain(t->functions[1]));

  const auto empty = scale::sim::read_csv_trace(dir + "header-only.csv");
  REQUIRE(empty.has_value());
  CHECK(empty->functions.empty());
}

TEST_CASE("csv: the writer merges functions in time order, and reading it back gives the same streams") {
  // Two interleaved functions of 10000 arrivals each: reading back crosses several 4096-row chunks.
  std::vector<arrival> even, odd;
  for (int i = 0; i < 10000; ++i) {
    even.push_back({at(2ms * i), 1ms * (i % 7) + 1ns * i});
    odd.push_back({at(2ms * i + 1ms), 3us});
  }
  scale::sim::trace t;
  t.functions = {fixed("even", even), fixed("odd", odd)};
  std::ostringstream text;
  scale::sim::write_csv_trace(t, 42, text);
  const std::string written = text.str();
  // Header, then even@0, odd@0.001, even@0.002: 1 ms * (1 % 7) + 1 ns = 1.000001 ms.
  const std::string start =
      "timestamp_s,function,duration_ms\n"
      "0,even,0\n"
      "0.001,odd,0.003\n"
      "0.002,even,1.000001\n"
      "0.003,odd,0.003\n";
  CHECK(written.substr(0, start.size()) == start);

  const auto path = std::filesystem::temp_directory_path() / "scale_csv_trace_test.csv";
  {
    std::ofstream out(path, std::ios::binary);
    out << written;
  }
  const auto back = scale::sim::read_csv_trace(path);
  REQUIRE(back.has_value());
  REQUIRE(back->functions.size() == 2);
  CHECK(back->functions[0].id == "even");
  CHECK(drain(back->functions[0]) == even);
  CHECK(drain(back->functions[1]) == odd);
  std::filesystem::remove(path);
}

TEST_CASE("csv: the writer breaks time ties by function order") {
  scale::sim::trace t;
  t.functions = {fixed("b", {{at(1s), 1ms}}), fixed("a", {{at(0s), 2ms}, {at(1s), 2ms}})};
  std::ostringstream text;
  scale::sim::write_csv_trace(t, 0, text);
  CHECK(text.str() == "timestamp_s,function,duration_ms\n0,a,2\n1,b,1\n1,a,2\n");
}

TEST_CASE("csv: malformed files name the file, line and field") {
  struct row {
    std::string file;
    std::string message;  // after the path
  };
  const std::vector<row> rows = {
      {"no-such.csv", ": cannot open file"},
      {"bad-header.csv", ":1: header \"time,function,duration_ms\": expected \"timestamp_s,function,duration_ms\""},
      {"bad-field-count.csv", ":3: expected 3 fields (timestamp_s,function,duration_ms), got 2"},
      {"bad-timestamp.csv", ":2: timestamp_s = \"soon\": expected seconds >= 0 with at most 9 decimals"},
      {"bad-negative-timestamp.csv", ":2: timestamp_s = \"-1\": expected seconds >= 0 with at most 9 decimals"},
      {"bad-precision.csv", ":2: timestamp_s = \"0.1234567891\": expected seconds >= 0 with at most 9 decimals"},
      {"bad-negative-duration.csv", ":2: duration_ms = \"-5\": expected milliseconds >= 0 with at most 6 decimals"},
      {"bad-empty-function.csv", ":2: function is empty"},
      {"bad-backwards.csv",
       ":5: timestamp_s = 1.5: before the previous row of function \"api\" at 2 (each function's rows must be in time "
       "order)"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.file);
    const auto t = scale::sim::read_csv_trace(dir + r.file);
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error_value().message == dir + r.file + r.message);
  }
}
