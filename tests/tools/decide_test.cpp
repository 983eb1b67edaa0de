// scalesim decide, driven in-process: whole CSV outputs compared with hand-derived rows.
#include "decide.hpp"

#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#ifndef LIBSCALE_TEST_DATA_DIR
#define LIBSCALE_TEST_DATA_DIR "tests/data"
#endif

namespace {

struct run_output {
  int code = 0;
  std::string out;
  std::string err;
};

run_output run(scale::tools::decide_options options, const std::string& input) {
  std::istringstream in(input);
  std::ostringstream out, err;
  run_output r;
  r.code = scale::tools::run_decide(options, in, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

const std::string header =
    "time_s,observed_stable,observed_panic,ready_pods,valid,desired_pods,excess_burst_capacity,panic_mode\n";

scale::tools::decide_options averages() {
  scale::tools::decide_options o;
  o.input = "averages";
  return o;
}

}  // namespace

TEST_CASE("decide: averages mode walks panic entry, the ratchet and the exit") {
  // Defaults (kpa-spec.md §1): target 70, total 100, TBC 211, panic threshold 2, stable window 60 s.
  // t=2: R1=1, dspc=dppc=ceil(140/70)=2, 2/1 >= 2 -> panic; want 2; EBC=floor(1*100-211-140)=-251.
  // t=4: R=2, maxDown=1, dspc=dppc=1, 1/2 < 2; still panicking (2+60 < 4 false) -> ratchet keeps 2;
  //      EBC=floor(200-211-70)=-81.
  // t=63: 2+60 < 63 -> leave panic (§4), stable want max(1, maxDown 1) = 1.
  // t=64: R=1, everything 0: dspc=0, maxDown=floor(1/2)=0 -> 0; EBC=floor(100-211-0)=-111.
  const auto r = run(averages(),
                     "time_s,observed_stable,observed_panic,ready_pods\n"
                     "2,140,140,1\n4,70,70,2\n63,70,70,2\n64,0,0,1\n");
  CHECK(r.err == "");
  CHECK(r.code == 0);
  CHECK(r.out == header +
                     "2,140,140,1,1,2,-251,1\n"
                     "4,70,70,2,1,2,-81,1\n"
                     "63,70,70,2,1,1,-81,0\n"
                     "64,0,0,1,1,0,-111,0\n");
}

TEST_CASE("decide: samples mode records before each tick and averages over the partial window") {
  // Tick 0: one bucket (10) -> average 10 (§2.4 partial window); ready 0 before any decision;
  //         dspc=ceil(10/70)=1; EBC=floor(0*100-211-10)=-221.
  // Tick 2: buckets 10,300,300 over 3 s -> 203.333333 (6-digit rounding) in both windows (panic window 6 s);
  //         ready = previous desired 1; dspc=ceil(2.905)=3, 3/1 >= 2 -> panic; EBC=floor(100-211-203.333333)=-315.
  const auto r = run({}, "time_s,concurrency\n0,10\n1,300\n2,300\n3,300\n");
  CHECK(r.err == "");
  CHECK(r.out == header +
                     "0,10,10,0,1,1,-221,0\n"
                     "2,203.333333,203.333333,1,1,3,-315,1\n");
}

TEST_CASE("decide: no data is an invalid decision that keeps the initial status") {
  // Nothing recorded before t=3: ticks 0 and 2 find an empty stable window -> invalid (§2.7), desired -1, and the
  // initial EBC trunc(initial_scale 1 * total 100 - TBC 211) = -111 (§6.2).
  // Tick 4: buckets 3 and 4 hold 35 each -> 35; dspc=ceil(0.5)=1; ready 0; EBC=floor(0-211-35)=-246.
  const auto r = run({}, "time_s,concurrency\n3,35\n4,35\n");
  CHECK(r.out == header +
                     "0,0,0,0,0,-1,-111,0\n"
                     "2,0,0,0,0,-1,-111,0\n"
                     "4,35,35,0,1,1,-246,0\n");
}

TEST_CASE("decide: without a scrape target (TBC -1) empty windows read as zero") {
  // §2.3: TBC = -1 means no scraper, so an empty window is 0, not "no data"; EBC is -1 (§6.1).
  scale::tools::decide_options o;
  o.config_sets = {"target-burst-capacity=-1"};
  const auto r = run(o, "time_s,concurrency\n3,35\n4,35\n");
  CHECK(r.out == header +
                     "0,0,0,0,1,0,-1,0\n"
                     "2,0,0,0,1,0,-1,0\n"
                     "4,35,35,0,1,1,-1,0\n");
}

TEST_CASE("decide: the ready_pods column holds from its row on and drives the rate limits") {
  // --decider target=10. Tick 0: ready 8 from the column; 10 concurrent -> dspc=1, but maxDown=floor(8/2)=4 -> 4;
  //   EBC=floor(8*100-211-10)=579.
  // Tick 2: ready still 8 (no new value); trailing silence is not counted (§2.4): 10/1 = 10 -> 4 again; EBC 579.
  // Tick 4: the t=4 row says 4 ready. Buckets 0..4 are 10,0,0,0,10 (inner gaps are zeros, §2.4) -> 20/5 = 4;
  //   dspc=ceil(0.4)=1, maxDown=floor(4/2)=2 -> 2; EBC=floor(400-211-4)=185.
  scale::tools::decide_options o;
  o.decider_sets = {"target=10"};
  const auto r = run(o, "time_s,concurrency,ready_pods\n0,10,8\n1,10,\n2,10,\n4,10,4\n");
  // An empty ready_pods field is not allowed: the column is either a number or absent.
  CHECK(r.code == 1);
  CHECK(r.err == "scalesim decide: <stdin>:3: ready_pods = \"\": expected a whole number >= 0\n");

  const auto ok = run(o, "time_s,concurrency,ready_pods\n0,10,8\n4,10,4\n");
  CHECK(ok.err == "");
  CHECK(ok.out == header +
                      "0,10,10,8,1,4,579,0\n"
                      "2,10,10,8,1,4,579,0\n"
                      "4,4,4,4,1,2,185,0\n");
}

TEST_CASE("decide: a ConfigMap with every key at its default changes nothing") {
  scale::tools::decide_options with_file;
  with_file.config_file = LIBSCALE_TEST_DATA_DIR "/config-autoscaler-defaults.yaml";
  const std::string input = "time_s,concurrency\n0,10\n1,300\n2,300\n3,300\n";
  const auto plain = run({}, input);
  const auto from_file = run(with_file, input);
  CHECK(from_file.err == "");
  CHECK(from_file.out == plain.out);
}

TEST_CASE("decide: annotations and decider overrides resolve as Knative does") {
  // target annotation 10 with utilisation 70 % -> target value 7 (§1.3); 14 concurrent -> 2 pods;
  // 2/1 >= 2 -> panic.
  scale::tools::decide_options o = averages();
  o.annotations = {"autoscaling.knative.dev/target=10"};
  auto r = run(o, "time_s,observed_stable,observed_panic,ready_pods\n2,14,14,1\n");
  // The annotation also sets the total one pod takes: EBC=floor(1*10-211-14)=-215 (§6.1).
  CHECK(r.out == header + "2,14,14,1,1,2,-215,1\n");

  // A bare key means the autoscaling annotation of that name.
  o.annotations = {"target=10"};
  CHECK(run(o, "time_s,observed_stable,observed_panic,ready_pods\n2,14,14,1\n").out == r.out);

  // --decider panic-threshold=3 (a ratio): 2/1 < 3, no panic; target=7 keeps the same wants.
  o.annotations = {};
  o.decider_sets = {"target=7", "total=10", "panic-threshold=3"};
  CHECK(run(o, "time_s,observed_stable,observed_panic,ready_pods\n2,14,14,1\n").out ==
        header + "2,14,14,1,1,2,-215,0\n");
}

TEST_CASE("decide: initial-ready-pods above one starts in panic and holds the scale") {
  // §4: constructed with 3 ready pods -> panicking with maxPanicPods 3. At t=2 nothing is observed: the ratchet
  // keeps 3. At t=61 still inside 0+60 -> 3; at t=62 not (0+60 < 62) -> leave panic: stable want 0 raised to
  // maxDown=floor(3/2)=1.
  scale::tools::decide_options o = averages();
  o.decider_sets = {"initial-ready-pods=3"};
  const auto r = run(o, "time_s,observed_stable,observed_panic,ready_pods\n2,0,0,3\n60,0,0,3\n62,0,0,3\n");
  CHECK(r.out == header +
                     "2,0,0,3,1,3,89,1\n"
                     "60,0,0,3,1,3,89,1\n"
                     "62,0,0,3,1,1,89,0\n");
}

TEST_CASE("decide: scale-down delay holds the highest recent decision") {
  // --decider scale-down-delay=10s: 5 two-second slots (§5). t=2 wants 3 (210/70). t=4..10 want 0 raw, but the
  // rate limit keeps floor(3/2)=1 only with 3 ready; here ready stays 1 so maxDown=0 and the max window holds 3
  // until the slot of t=2 (slot 1) leaves: at t=12 slot 6, 6-1=5 >= 5 -> gone.
  scale::tools::decide_options o = averages();
  o.decider_sets = {"scale-down-delay=10s", "panic-threshold=100"};
  const auto r = run(o, "time_s,observed_stable,observed_panic,ready_pods\n2,210,210,1\n10,0,0,1\n12,0,0,1\n");
  CHECK(r.out == header +
                     "2,210,210,1,1,3,-321,0\n"
                     "10,0,0,1,1,3,-111,0\n"
                     "12,0,0,1,1,0,-111,0\n");
}

TEST_CASE("decide: bad input names the key, field or line and exits 1") {
  struct error_case {
    const char* name;
    scale::tools::decide_options options;
    std::string input;
    std::string expected_err;
  };
  scale::tools::decide_options unknown_key;
  unknown_key.config_sets = {"no-such-key=1"};
  scale::tools::decide_options bad_set;
  bad_set.config_sets = {"stable-window"};
  scale::tools::decide_options bad_field;
  bad_field.decider_sets = {"speed=3"};
  scale::tools::decide_options bad_target;
  bad_target.decider_sets = {"target=0"};
  scale::tools::decide_options bad_tick;
  bad_tick.tick = "0";
  scale::tools::decide_options missing_file;
  missing_file.file = "/nonexistent/samples.csv";
  const std::string samples = "time_s,concurrency\n0,1\n";
  const std::vector<error_case> cases = {
      {"unknown config key", unknown_key, samples,
       "scalesim decide: --set: unknown config-autoscaler key \"no-such-key\"\n"},
      {"--set without =", bad_set, samples, "scalesim decide: --set stable-window: expected KEY=VALUE\n"},
      {"unknown decider field", bad_field, samples,
       "scalesim decide: unknown --decider field \"speed\" (expected one of target, total, target-burst-capacity, "
       "panic-threshold, max-scale-up-rate, max-scale-down-rate, activation-scale, stable-window, panic-window, "
       "scale-down-delay, reachable, initial-ready-pods)\n"},
      {"non-positive target", bad_target, samples, "scalesim decide: target = 0: must be positive\n"},
      {"zero tick", bad_tick, samples, "scalesim decide: --tick 0: expected a positive number of seconds\n"},
      {"missing file", missing_file, samples, "scalesim decide: /nonexistent/samples.csv: cannot open file\n"},
      {"malformed number", {}, "time_s,concurrency\n0,1\n1,abc\n",
       "scalesim decide: <stdin>:3: concurrency = \"abc\": expected a number\n"},
      {"negative value", {}, "time_s,concurrency\n0,-1\n",
       "scalesim decide: <stdin>:2: concurrency = -1: must be a finite number >= 0\n"},
      {"time backwards", {}, "time_s,concurrency\n5,1\n4,1\n",
       "scalesim decide: <stdin>:3: time_s = 4 goes backwards (previous row 5)\n"},
      {"bad time", {}, "time_s,concurrency\n1s,1\n", "scalesim decide: <stdin>:2: time_s = \"1s\": expected seconds\n"},
      {"field count", {}, "time_s,concurrency\n0,1,2\n", "scalesim decide: <stdin>:2: expected 2 fields, found 3\n"},
      {"missing column", {}, "time_s\n0\n", "scalesim decide: <stdin>:1: missing column \"concurrency\" in header\n"},
      {"unknown column", {}, "time_s,concurrency,pods\n",
       "scalesim decide: <stdin>:1: unknown column \"pods\" (expected time_s,concurrency and optionally "
       "ready_pods,reachable)\n"},
      {"empty input", {}, "", "scalesim decide: <stdin>: empty input, expected a header line\n"},
      {"bad reachable", {}, "time_s,concurrency,reachable\n0,1,yes\n",
       "scalesim decide: <stdin>:2: reachable = \"yes\": expected 0 or 1\n"},
      // 2e7 s at the 2 s tick is 10 000 001 decisions, one over the bound; 19 999 998 s would be the last allowed.
      {"too many decisions", {}, "time_s,concurrency\n0,1\n20000000,1\n",
       "scalesim decide: <stdin>:3: time_s = 20000000: replaying to it takes 10000001 decisions at --tick 2 (at "
       "most 10000000); raise --tick or split the input\n"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto r = run(c.options, c.input);
    CHECK(r.code == 1);
    CHECK(r.out == "");
    CHECK(r.err == c.expected_err);
  }
}
