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

/// One row of our CSV: `milliseconds` written as seconds (1500 -> "1.500"), `service_us` as milliseconds.
std::string fmt_row(int milliseconds, const std::string& id, int service_us) {
  return std::to_string(milliseconds / 1000) + "." + std::to_string(1000 + milliseconds % 1000).substr(1) + "," + id +
         "," + std::to_string(service_us / 1000) + "." + std::to_string(1000 + service_us % 1000).substr(1) + "\n";
}

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

namespace {

/// A file in the temporary folder holding `text`, removed when the test ends.
struct temp_csv {
  std::filesystem::path path;
  temp_csv(const std::string& name, const std::string& text) : path(std::filesystem::temp_directory_path() / name) {
    std::ofstream out(path, std::ios::binary);
    out << text;
  }
  ~temp_csv() {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
  temp_csv(const temp_csv&) = delete;
  temp_csv& operator=(const temp_csv&) = delete;
};

}  // namespace

TEST_CASE("csv: interleaved functions stream their own rows in file order, whatever the spelling") {
  // Ids that contain each other ("f1", "f10", "1"), CRLF and a blank line. f1 and 1 are spelled plainly on
  // every row, so their streams jump from ",f1," to ",f1,"; f10 has a "-0" and s is written " s " once, rows that
  // only parse_fixed and split_fields read, so those two are streamed line by line. The limits of the plain
  // number parser (9 whole digits of seconds, 12 of milliseconds) are on f1, one past them on f10 and s.
  // Expected values: the decimal text, read exactly.
  const std::string text =
      "timestamp_s,function,duration_ms\n"
      "0,f1,1\r\n"
      "-0,f10,2\r\n"
      "0.5, s ,3\n"
      "\n"
      "1.,1,0.000001\n"
      ".5,f1,.5\n"
      "0.75,f1,999999999999\n"
      "1,s,1000000000000\n"
      "999999999,f1,0\n"
      "1000000000.000000001,f10,0\n";
  const temp_csv file("scale_csv_interleaved_test.csv", text);
  const auto t = scale::sim::read_csv_trace(file.path);
  REQUIRE(t.has_value());
  struct expected_function {
    std::string id;
    std::vector<arrival> arrivals;
  };
  const std::vector<expected_function> table = {
      {"f1", {{at(0s), 1ms}, {at(500ms), 500us}, {at(750ms), 999'999'999'999ms}, {at(999'999'999s), 0ns}}},
      {"f10", {{at(0s), 2ms}, {at(1'000'000'000s + 1ns), 0ns}}},
      {"s", {{at(500ms), 3ms}, {at(1s), 1'000'000'000'000ms}}},
      {"1", {{at(1s), 1ns}}},
  };
  REQUIRE(t->functions.size() == table.size());
  for (std::size_t i = 0; i < table.size(); ++i) {
    CAPTURE(table[i].id);
    CHECK(t->functions[i].id == table[i].id);
    CHECK(drain(t->functions[i]) == table[i].arrivals);
  }
}

TEST_CASE("csv: many interleaved rows cross chunks and read blocks, and a long line grows the block") {
  // Three functions, 3 * 9000 rows in a fixed rotation a, b, a, c (a has twice the rows), so each stream spans
  // several 4096-row chunks and 64 KiB blocks; then one row with a 70 000-byte id, longer than a block.
  std::string text = "timestamp_s,function,duration_ms\n";
  std::vector<arrival> a, b, c;
  for (int i = 0; i < 9000; ++i) {
    const auto time = at(1ms * i);
    text += fmt_row(i, "a", i % 1000);
    a.push_back({time, 1us * (i % 1000)});
    if (i % 2 == 0) {
      text += fmt_row(i, "b", 7);
      b.push_back({time, 7us});
    } else {
      text += fmt_row(i, "  c", 9);  // spaces: c is read line by line
      c.push_back({time, 9us});
    }
    text += fmt_row(i, "a", i % 1000);
    a.push_back({time, 1us * (i % 1000)});
  }
  const std::string long_id(70'000, 'x');
  text += fmt_row(9000, long_id, 5);
  const temp_csv file("scale_csv_many_rows_test.csv", text);
  const auto t = scale::sim::read_csv_trace(file.path);
  REQUIRE(t.has_value());
  REQUIRE(t->functions.size() == 4);
  CHECK(drain(t->functions[0]) == a);
  CHECK(drain(t->functions[1]) == b);
  CHECK(t->functions[2].id == "c");
  CHECK(drain(t->functions[2]) == c);
  CHECK(t->functions[3].id == long_id);
  CHECK(drain(t->functions[3]) == std::vector<arrival>{{at(9s), 5us}});
}

TEST_CASE("csv: a malformed row of one interleaved function is reported with its file and line") {
  // Line numbers count every line from the header (line 1), blank lines included; the bad rows sit after
  // 5000 good ones, past the first 64 KiB read block.
  std::string good = "timestamp_s,function,duration_ms\n";
  for (int i = 0; i < 2500; ++i) good += fmt_row(i, "a", 1) + fmt_row(i, "b", 2);
  good += "\n";  // line 5002
  struct row {
    std::string bad_line;  // line 5003
    std::string message;   // after the path
  };
  const std::vector<row> rows = {
      {"2500,b,1,2", ":5003: expected 3 fields (timestamp_s,function,duration_ms), got 4"},
      {"2500,b,1.0000001", ":5003: duration_ms = \"1.0000001\": expected milliseconds >= 0 with at most 6 decimals"},
      {"2500,b,-1", ":5003: duration_ms = \"-1\": expected milliseconds >= 0 with at most 6 decimals"},
      {"2500.0000000001,a,1",
       ":5003: timestamp_s = \"2500.0000000001\": expected seconds >= 0 with at most 9 decimals"},
      {"2500,  ,1", ":5003: function is empty"},
      {"2.4985, b ,1",
       ":5003: timestamp_s = 2.4985: before the previous row of function \"b\" at 2.499 (each function's rows must be "
       "in time order)"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.bad_line);
    const temp_csv file("scale_csv_bad_row_test.csv", good + r.bad_line + "\n" + fmt_row(2501, "a", 1));
    const auto t = scale::sim::read_csv_trace(file.path);
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error_value().message == file.path.string() + r.message);
  }
}

TEST_CASE("csv: a file changed after validation ends the stream at the first of its rows that no longer parses") {
  const std::string before = "timestamp_s,function,duration_ms\n0,a,1\n0, b ,1\n1,a,1\n1, b ,1\n2,a,1\n2, b ,1\n";
  const temp_csv file("scale_csv_changed_test.csv", before);
  const auto t = scale::sim::read_csv_trace(file.path);
  REQUIRE(t.has_value());
  {
    // Same length, so every row keeps its offset: a's row at 1 s and b's at 1 s no longer parse.
    std::ofstream out(file.path, std::ios::binary);
    out << "timestamp_s,function,duration_ms\n0,a,1\n0, b ,1\n1,a,?\n1, b ,?\n2,a,1\n2, b ,1\n";
  }
  CHECK(drain(t->functions[0]) == std::vector<arrival>{{at(0s), 1ms}});
  CHECK(drain(t->functions[1]) == std::vector<arrival>{{at(0s), 1ms}});
}
