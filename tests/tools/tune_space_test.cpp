// scalesim tune's search space: default ranges, placing unit points, the --space reader, Knative keys.
#include "tune_space.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {

using scale::tools::knob;
using scale::tools::knob_count;

scale::tools::unit_point filled(double u) {
  scale::tools::unit_point p{};
  p.fill(u);
  return p;
}

double at(const scale::tools::knob_values& v, knob k) { return v[static_cast<std::size_t>(k)]; }

}  // namespace

TEST_CASE("tune space: the corners of the default space are the range ends, after the cross-knob rules") {
  const auto space = scale::tools::default_search_space();
  CHECK(space.free_knobs() == knob_count);
  // Lows: target 1, utilisation 40 %, stable window 6 s, panic window 1 % (6 s × 1 % rounds to 0 s, so it is raised
  // to ⌈100 / 6⌉ = 17 %: 6 s × 17 % = 1.02 s → 1 s), threshold 110 %, grace 1 s, retention 0, min-scale 0, delay 0,
  // TBC 0.
  const auto low = scale::tools::place(space, filled(0.0));
  CHECK(low.clipped);
  CHECK(low.values == scale::tools::knob_values{1, 40, 6, 17, 110, 1, 0, 0, 0, 0});
  const auto high = scale::tools::place(space, filled(1.0));
  CHECK_FALSE(high.clipped);
  CHECK(high.values == scale::tools::knob_values{200, 100, 600, 100, 1000, 300, 1800, 2, 600, 400});
  // Outside the cube is clamped onto it.
  CHECK(scale::tools::place(space, filled(-3.0)).values == low.values);
}

TEST_CASE("tune space: the middle of each range, by its spacing and step") {
  const auto mid = scale::tools::place(scale::tools::default_search_space(), filled(0.5)).values;
  // log1p spacing: the middle of [a, b] is sqrt((1 + a)(1 + b)) − 1.
  CHECK(at(mid, knob::target) == doctest::Approx(19.0));           // sqrt(2 × 201) − 1 = 19.05 → 3 digits: 19.0
  CHECK(at(mid, knob::target_utilization) == 70);                  // linear: (40 + 100) / 2
  CHECK(at(mid, knob::stable_window) == 64);                        // sqrt(7 × 601) − 1 = 63.86 → 64 s
  CHECK(at(mid, knob::panic_window_percentage) == 13);             // sqrt(2 × 101) − 1 = 13.21
  CHECK(at(mid, knob::panic_threshold_percentage) == 330);         // sqrt(111 × 1001) − 1 = 332.3, step 10
  CHECK(at(mid, knob::scale_to_zero_grace_period) == 24);          // sqrt(2 × 301) − 1 = 23.54
  CHECK(at(mid, knob::scale_to_zero_pod_retention_period) == 41);  // sqrt(1801) − 1 = 41.44
  CHECK(at(mid, knob::scale_down_delay) == 24);                    // sqrt(601) − 1 = 23.52
  CHECK(at(mid, knob::min_scale) == 1);                             // linear: 0.5 × 2
  CHECK(at(mid, knob::target_burst_capacity) == 19);               // sqrt(401) − 1 = 19.02
}

TEST_CASE("tune space: a --space file fixes knobs and narrows ranges") {
  const auto space = scale::tools::parse_search_space(
      "stable-window: 60s\n"
      "min-scale: 0\n"
      "target: {min: 5, max: 50}\n"
      "scale-down-delay: {min: 0, max: 2m}\n"
      "target-burst-capacity: -1\n",
      "space.yaml");
  REQUIRE(space.has_value());
  CHECK((*space)[knob::stable_window] == scale::tools::knob_range{60, 60});
  CHECK((*space)[knob::min_scale] == scale::tools::knob_range{0, 0});
  CHECK((*space)[knob::target] == scale::tools::knob_range{5, 50});
  CHECK((*space)[knob::scale_down_delay] == scale::tools::knob_range{0, 120});
  CHECK((*space)[knob::target_burst_capacity] == scale::tools::knob_range{-1, -1});
  CHECK(space->free_knobs() == knob_count - 3);
  // Untouched knobs keep their defaults.
  CHECK((*space)[knob::target_utilization] == scale::tools::knob_range{40, 100});
  // A fixed knob ignores its coordinate.
  const auto p = scale::tools::place(*space, filled(1.0));
  CHECK(at(p.values, knob::stable_window) == 60);
  CHECK(at(p.values, knob::target_burst_capacity) == -1);
  CHECK(at(p.values, knob::target) == 50);
  // An empty file is the default space.
  CHECK(*scale::tools::parse_search_space("", "empty.yaml") == scale::tools::default_search_space());
}

TEST_CASE("tune space: --space errors name the file, the line and the knob") {
  struct error_case {
    std::string yaml;
    std::string message;
  };
  const std::vector<error_case> cases = {
      {"windw: 60s\n",
       "s.yaml:1: unknown knob \"windw\" (expected one of target, target-utilization-percentage, stable-window, "
       "panic-window-percentage, panic-threshold-percentage, scale-to-zero-grace-period, "
       "scale-to-zero-pod-retention-period, min-scale, scale-down-delay, target-burst-capacity)"},
      {"target: 5\nstable-window: 5s\n", "s.yaml:2: stable-window: 5s is outside [6s, 1h0m0s]"},
      {"stable-window: 1.5s\n", "s.yaml:1: stable-window: 1.5s is not a whole number of seconds"},
      {"stable-window: soon\n", "s.yaml:1: stable-window: expected a duration like 60s or 1m30s, got \"soon\""},
      {"target: {min: 50, max: 5}\n", "s.yaml:1: target: min 50 is above max 5"},
      {"target: {min: 5}\n", "s.yaml:1: target: expected both min and max"},
      {"target: {low: 5, max: 9}\n", "s.yaml:1: target: unknown field \"low\" (expected min and max)"},
      {"target: many\n", "s.yaml:1: target: expected a number, got \"many\""},
      {"min-scale: 1.5\n", "s.yaml:1: min-scale: 1.5 is not a whole number"},
      {"panic-threshold-percentage: 100\n", "s.yaml:1: panic-threshold-percentage: 100 is outside [110, 1000]"},
      {"target-burst-capacity: {min: -1, max: 100}\n",
       "s.yaml:1: target-burst-capacity: -1 (activator always in the path) can only be fixed, not a range end"},
      {"target-burst-capacity: -0.5\n", "s.yaml:1: target-burst-capacity: -0.5 must be -1 or at least 0"},
      {"target: 5\ntarget: 6\n", "s.yaml:2: target: given twice"},
      {"- target\n", "s.yaml:1: expected a map of knob: value or knob: {min: A, max: B}"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.yaml);
    const auto space = scale::tools::parse_search_space(c.yaml, "s.yaml");
    REQUIRE_FALSE(space.has_value());
    CHECK(space.error_value().message == c.message);
  }
  CHECK(scale::tools::read_search_space("/nonexistent/space.yaml").error_value().message ==
        "cannot read /nonexistent/space.yaml");
}

TEST_CASE("tune space: Knative keys and annotations for a set of values") {
  const scale::tools::knob_values v{12.5, 1, 90, 10, 200, 45, 300, 1, 120, -1};
  const scale::string_map configmap = scale::tools::configmap_entries(v);
  const scale::string_map expected_configmap = {
      {"container-concurrency-target-default", "12.5"},
      {"container-concurrency-target-percentage", "0.01"},  // 1 % as a fraction: "1" would read as 100 %
      {"stable-window", "1m30s"},
      {"panic-window-percentage", "10"},
      {"panic-threshold-percentage", "200"},
      {"scale-to-zero-grace-period", "45s"},
      {"scale-to-zero-pod-retention-period", "5m0s"},
      {"min-scale", "1"},
      {"scale-down-delay", "2m0s"},
      {"target-burst-capacity", "-1"},
  };
  CHECK(configmap == expected_configmap);
  const scale::string_map expected_annotations = {
      {"autoscaling.knative.dev/target", "12.5"},
      {"autoscaling.knative.dev/target-utilization-percentage", "1"},
      {"autoscaling.knative.dev/window", "1m30s"},
      {"autoscaling.knative.dev/panic-window-percentage", "10"},
      {"autoscaling.knative.dev/panic-threshold-percentage", "200"},
      {"autoscaling.knative.dev/scale-to-zero-pod-retention-period", "5m0s"},
      {"autoscaling.knative.dev/min-scale", "1"},
      {"autoscaling.knative.dev/scale-down-delay", "2m0s"},
      {"autoscaling.knative.dev/target-burst-capacity", "-1"},
  };
  CHECK(scale::tools::annotation_entries(v) == expected_annotations);
  CHECK(scale::tools::knob_of_annotation("autoscaling.knative.dev/minScale")->name == "min-scale");
  CHECK(scale::tools::knob_of_annotation("autoscaling.knative.dev/window")->name == "stable-window");
  CHECK(scale::tools::knob_of_annotation("autoscaling.knative.dev/max-scale") == nullptr);
}
