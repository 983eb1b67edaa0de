// Format detection from the header line, the durations sibling, options passing, and verbatim errors.
#include <sim/trace_format.hpp>

#include <doctest/doctest.h>

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
using scale::sim::trace_format;

const std::string data = std::string{LIBSCALE_TEST_DATA_DIR} + "/traces/";
const std::string bundled = std::string{LIBSCALE_SOURCE_DIR} + "/traces/";

}  // namespace

TEST_CASE("trace_format: each header is recognised and opened by its reader") {
  struct row {
    std::string file;
    trace_format format;
    std::size_t functions;
  };
  const std::vector<row> rows = {
      {data + "csv/small.csv", trace_format::csv, 2},
      {data + "azure2021/small.csv", trace_format::azure2021, 3},
      {data + "azure2021/reordered.csv", trace_format::azure2021, 2},
      {data + "azure2019/invocations.csv", trace_format::azure2019, 3},   // sibling durations.csv
      {data + "azure2019/2_inv.csv", trace_format::azure2019, 2},         // sibling 2_run.csv
      {data + "azure2019/excerpt-invocations.csv", trace_format::azure2019, 1},
      {bundled + "azure2019-raw10/invocations.csv", trace_format::azure2019, 10},
      {bundled + "azure2019-sample100/100_inv.csv", trace_format::azure2019, 100},
      {bundled + "azure2019-mapper3/invocations.csv", trace_format::azure2019, 3},
      {bundled + "azure2021/Azure2021_200.csv", trace_format::azure2021, 31},
  };
  for (const auto& r : rows) {
    CAPTURE(r.file);
    const auto format = scale::sim::detect_trace_format(r.file);
    REQUIRE(format.has_value());
    CHECK(*format == r.format);
    const auto t = scale::sim::open_trace(r.file);
    REQUIRE(t.has_value());
    CHECK(t->functions.size() == r.functions);
    CHECK(t->source == r.file);
  }
  CHECK(scale::sim::to_string(trace_format::csv) == "csv");
  CHECK(scale::sim::to_string(trace_format::azure2019) == "azure2019");
  CHECK(scale::sim::to_string(trace_format::azure2021) == "azure2021");
}

TEST_CASE("trace_format: options reach the Azure 2019 reader") {
  scale::sim::trace_options options;
  options.expansion = scale::sim::minute_expansion::equal;
  options.durations_file = data + "azure2019/excerpt-durations.csv";
  // orphan.csv has no sibling by name; with the durations given, f1's single invocation is at 0 s for 1 s.
  const auto t = scale::sim::open_trace(data + "azure2019/orphan.csv", options);
  REQUIRE(t.has_value());
  REQUIRE(t->functions.size() == 1);
  auto source = t->functions[0].open(3);
  CHECK(*source->next() == arrival{at(0s), 1s});
  CHECK_FALSE(source->next().has_value());
}

TEST_CASE("trace_format: unrecognised or misdirected files give one clear error") {
  struct row {
    std::string file;
    std::string durations;
    std::string message;  // after the path
  };
  const std::string raw10 = bundled + "azure2019-raw10/";
  const std::vector<row> rows = {
      {data + "no-such.csv", "", ": cannot open file"},
      {data + "empty.csv", "", ": empty file"},
      {data + "unknown-header.csv", "",
       ":1: unrecognised header \"time,value\": expected \"timestamp_s,function,duration_ms\" (our CSV), "
       "\"app,func,end_timestamp,duration\" (Azure 2021) or \"HashOwner,HashApp,HashFunction,...\" (Azure 2019 "
       "invocations)"},
      {raw10 + "durations.csv", "",
       ":1: this is an Azure 2019 durations file; open the invocations file instead (its durations file is found by "
       "name or given explicitly)"},
      {raw10 + "memory.csv", "", ":1: this is an Azure 2019 memory file; open the invocations file instead"},
      {data + "azure2019/orphan.csv", "",
       ": no durations file by name (invocations_per_function_md.* -> function_durations_percentiles.*, NNN_inv.csv "
       "-> NNN_run.csv, *invocations* -> *durations*); give it explicitly"},
      {data + "azure2019/lonely-invocations.csv", "",
       ": its durations file " + data + "azure2019/lonely-durations.csv does not exist; give it explicitly"},
      {data + "csv/small.csv", "d.csv", ": a durations file (d.csv) only goes with an Azure 2019 trace, and this is csv"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.file);
    scale::sim::trace_options options;
    options.durations_file = r.durations;
    const auto t = scale::sim::open_trace(r.file, options);
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error_value().message == r.file + r.message);
  }
  // A long unknown header is cut at 60 characters.
  const auto long_header = scale::sim::detect_trace_format(data + "unknown-long-header.csv");
  REQUIRE_FALSE(long_header.has_value());
  CHECK(long_header.error_value().message.find(
            ":1: unrecognised header \"a_long_column_name_one,a_long_column_name_two,a_long_column_...\": ") !=
        std::string::npos);
}
