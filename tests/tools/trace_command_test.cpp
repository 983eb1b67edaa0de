// scalesim trace gen / info, driven in-process: whole outputs compared with hand-derived rows, and errors.
#include "trace_command.hpp"

#include <CLI/CLI.hpp>
#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#ifndef LIBSCALE_TEST_DATA_DIR
#define LIBSCALE_TEST_DATA_DIR "tests/data"
#endif

namespace {

using scale::tools::trace_command_options;

const std::string data = std::string{LIBSCALE_TEST_DATA_DIR} + "/traces/";

struct run_output {
  int code = 0;
  std::string out;
  std::string err;
};

run_output run(const trace_command_options& options) {
  std::istringstream in;
  std::ostringstream out, err;
  run_output r;
  r.code = scale::tools::run_trace(options, in, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

trace_command_options gen(std::string kind) {
  trace_command_options o;
  o.action = "gen";
  o.kind = std::move(kind);
  o.duration = "100ms";
  return o;
}

trace_command_options info(std::vector<std::string> files) {
  trace_command_options o;
  o.action = "info";
  o.files = std::move(files);
  return o;
}

/// Parses a command line the way main does, to see which options it fills.
trace_command_options parse(std::vector<std::string> args) {
  CLI::App app;
  trace_command_options options;
  scale::tools::add_trace_command(app, options);
  std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
  app.parse(args);
  return options;
}

}  // namespace

TEST_CASE("trace gen: evenly spaced functions merge in time order") {
  // rate 2/s over 2 s: 0, 0.5, 1, 1.5 s for each of f1 and f2; ties go f1 first. 100 ms is 100 duration_ms.
  auto o = gen("even");
  o.rate = "2";
  o.length = "2s";
  o.functions = "2";
  const auto r = run(o);
  CHECK(r.err == "");
  CHECK(r.code == 0);
  CHECK(r.out ==
        "timestamp_s,function,duration_ms\n"
        "0,f1,100\n0,f2,100\n0.5,f1,100\n0.5,f2,100\n1,f1,100\n1,f2,100\n1.5,f1,100\n1.5,f2,100\n");
}

TEST_CASE("trace gen: the same seed gives the same file — another seed another") {
  auto o = gen("steps");
  o.steps = "10@6s,50@1.5";
  o.duration = "exp:50ms";
  const auto a = run(o);
  const auto b = run(o);
  o.seed = 2;
  const auto c = run(o);
  CHECK(a.code == 0);
  CHECK(a.err == "");
  CHECK(a.out.rfind("timestamp_s,function,duration_ms\n", 0) == 0);
  CHECK(a.out == b.out);
  CHECK(a.out != c.out);
  for (const std::string kind : {"poisson", "onoff", "diurnal", "spike"}) {
    CAPTURE(kind);
    auto k = gen(kind);
    k.rate = "5";
    k.length = "10s";
    if (kind == "onoff") k.on = "1s", k.off = "1s";
    if (kind == "diurnal") k.period = "10s", k.amplitude = "0.5";
    if (kind == "spike") k.spike_start = "2s", k.spike_length = "1s", k.spike_rate = "50";
    const auto r = run(k);
    CHECK(r.err == "");
    CHECK(r.code == 0);
  }
}

TEST_CASE("trace gen: bad flags give one line and exit code 1") {
  struct row {
    trace_command_options options;
    std::string err;
  };
  auto with = [](std::string kind, auto change) {
    auto o = gen(std::move(kind));
    o.rate = "1";
    o.length = "10s";
    change(o);
    return o;
  };
  const std::vector<row> rows = {
      {with("poisson", [](auto& o) { o.rate.clear(); }), "scalesim trace gen: --rate is required with --kind poisson\n"},
      {with("poisson", [](auto& o) { o.steps = "1@1s"; }), "scalesim trace gen: --steps does not go with --kind poisson\n"},
      {with("steps", [](auto& o) { o.steps = "1@1s"; }), "scalesim trace gen: --rate does not go with --kind steps\n"},
      {with("onoff", [](auto& o) { o.on = "1s"; }), "scalesim trace gen: --off is required with --kind onoff\n"},
      {with("poisson", [](auto& o) { o.duration.clear(); }),
       "scalesim trace gen: --duration is required (a service-time distribution such as 100ms or exp:1s)\n"},
      {with("poisson", [](auto& o) { o.duration = "exp:0"; }),
       "scalesim trace gen: --duration: distribution \"exp:0\": mean 0 must be > 0\n"},
      {with("poisson", [](auto& o) { o.rate = "fast"; }),
       "scalesim trace gen: --rate \"fast\": expected requests per second (a number >= 0)\n"},
      {with("poisson", [](auto& o) { o.length = "0"; }), "scalesim trace gen: length 0s: must be > 0 and at most 100 years\n"},
      {with("poisson", [](auto& o) { o.length = "soon"; }),
       "scalesim trace gen: --length \"soon\": expected a duration like 60s, 5m or 2.5 (seconds)\n"},
      {with("poisson", [](auto& o) { o.functions = "0"; }),
       "scalesim trace gen: --functions \"0\": expected a whole number >= 1\n"},
      {with("burst", [](auto&) {}),
       "scalesim trace gen: --kind \"burst\": expected poisson, even, onoff, diurnal, steps or spike\n"},
      {with("diurnal", [](auto& o) { o.period = "1h", o.amplitude = "2"; }),
       "scalesim trace gen: --amplitude \"2\": expected a number in [0, 1]\n"},
      {with("steps", [](auto& o) { o.rate.clear(), o.length.clear(), o.steps = "10@"; }),
       "scalesim trace gen: --steps \"10@\": step 1 \"10@\": expected RATE@DURATION like 10@60s\n"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.err);
    const auto got = run(r.options);
    CHECK(got.code == 1);
    CHECK(got.out == "");
    CHECK(got.err == r.err);
  }
}

TEST_CASE("trace info: per file and per function") {
  const std::string csv = data + "csv/small.csv";
  const std::string azure = data + "azure2019/invocations.csv";
  auto o = info({csv, azure});
  o.expansion = "equal";
  auto r = run(o);
  CHECK(r.err == "");
  CHECK(r.code == 0);
  // small.csv: api 0, 0.5, 2 and worker 0.5. invocations.csv: f1 60, 80, 100, 180; f2 0, 30; f3 none.
  CHECK(r.out == "file,format,functions,requests,first_s,last_s\n" + csv + ",csv,2,4,0,2\n" + azure +
                     ",azure2019,3,6,0,180\n");

  o.per_function = true;
  r = run(o);
  CHECK(r.err == "");
  // api's mean service time: (100 ms + 1 ns + 20 ms) / 3 = 40000000.33 ns -> 40000000 ns = 0.04 s. f1 is 100 ms
  // throughout; f2's samples vary, so only its prefix is checked.
  const std::string expected_start = "file,format,function,requests,first_s,last_s,mean_service_s\n" + csv +
                                     ",csv,api,3,0,2,0.04\n" + csv + ",csv,worker,1,0.5,0.5,1.5005\n" + azure +
                                     ",azure2019,f1,4,60,180,0.1\n" + azure + ",azure2019,f2,2,0,30,";
  CHECK(r.out.substr(0, expected_start.size()) == expected_start);
  const std::string expected_end = azure + ",azure2019,f3,0,,,\n";
  CHECK(r.out.substr(r.out.size() - expected_end.size()) == expected_end);
}

TEST_CASE("trace info: errors name the file and line") {
  struct row {
    trace_command_options options;
    std::string err;
  };
  auto with_durations = info({data + "csv/small.csv"});
  with_durations.durations = "d.csv";
  auto bad_expansion = info({data + "csv/small.csv"});
  bad_expansion.expansion = "burst";
  const std::vector<row> rows = {
      {info({data + "no-such.csv"}), "scalesim trace info: " + data + "no-such.csv: cannot open file\n"},
      {info({data + "csv/small.csv", data + "csv/bad-backwards.csv"}),
       "scalesim trace info: " + data +
           "csv/bad-backwards.csv:5: timestamp_s = 1.5: before the previous row of function \"api\" at 2 (each "
           "function's rows must be in time order)\n"},
      {with_durations, "scalesim trace info: " + data +
                           "csv/small.csv: a durations file (d.csv) only goes with an Azure 2019 trace, and this is csv\n"},
      {bad_expansion, "scalesim trace info: --expansion \"burst\": expected uniform, poisson or equal\n"},
      {info({}), "scalesim trace info: expected at least one trace file\n"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.err);
    const auto got = run(r.options);
    CHECK(got.code == 1);
    CHECK(got.out == "");
    CHECK(got.err == r.err);
  }
}

TEST_CASE("trace: the command line fills the options") {
  const auto g = parse({"trace", "gen", "--kind", "steps", "--steps", "10@60s,50@60s", "--duration", "exp:1s",
                        "--functions", "3", "--seed", "9"});
  CHECK(g.action == "gen");
  CHECK(g.kind == "steps");
  CHECK(g.steps == "10@60s,50@60s");
  CHECK(g.duration == "exp:1s");
  CHECK(g.functions == "3");
  CHECK(g.seed == 9);

  const auto i = parse({"trace", "info", "a.csv", "b.csv", "--functions", "--expansion", "poisson", "--durations", "d.csv"});
  CHECK(i.action == "info");
  CHECK(i.files == std::vector<std::string>{"a.csv", "b.csv"});
  CHECK(i.per_function);
  CHECK(i.expansion == "poisson");
  CHECK(i.durations == "d.csv");

  CHECK_THROWS_AS(parse({"trace"}), CLI::RequiredError);
  CHECK_THROWS_AS(parse({"trace", "gen", "--kind", "burst"}), CLI::ValidationError);
  CHECK(run(trace_command_options{}).err == "scalesim trace: expected a subcommand, gen or info\n");
}
