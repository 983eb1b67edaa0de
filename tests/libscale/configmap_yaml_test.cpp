#include <libscale/configmap_yaml.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#ifndef LIBSCALE_TEST_DATA_DIR
#define LIBSCALE_TEST_DATA_DIR "tests/data"
#endif

namespace {

using namespace std::chrono_literals;

const std::filesystem::path data_dir{LIBSCALE_TEST_DATA_DIR};

template <class T>
std::string error_of(const scale::result<T>& r) {
  return r ? std::string{} : r.error_value().message;
}

}  // namespace

TEST_CASE("the defaults fixture sets every key and parses to the defaults") {
  // Knative config_test.go TestNewConfig "actual" and "example": the shipped ConfigMap and its _example block
  // both parse to defaultConfig(). Our fixture spells out every key in `data` as well.
  const auto data = scale::read_configmap_file(data_dir / "config-autoscaler-defaults.yaml");
  REQUIRE(error_of(data) == "");
  for (const std::string_view key : scale::detail::config_keys) {
    CAPTURE(key);
    CHECK(data->count(key) == 1);
  }
  CHECK(data->size() == scale::detail::config_keys.size() + 1);  // plus _example
  const auto config = scale::parse_autoscaler_config(data.value());
  REQUIRE(error_of(config) == "");
  CHECK(config.value() == scale::autoscaler_config{});

  // The _example block is itself a bare key: value map.
  const auto example = scale::read_configmap_data(data->at("_example"), "_example");
  REQUIRE(error_of(example) == "");
  CHECK(example->size() == scale::detail::config_keys.size());
  const auto example_config = scale::parse_autoscaler_config(example.value());
  REQUIRE(error_of(example_config) == "");
  CHECK(example_config.value() == scale::autoscaler_config{});
}

TEST_CASE("the custom fixture parses to its values") {
  // Expected values: the fixture's own text; 0.8 stays a fraction (config.go: NewConfigFromMap), tick-interval is
  // ignored, unquoted YAML scalars arrive as their text.
  const auto data = scale::read_configmap_file(data_dir / "config-autoscaler-custom.yaml");
  REQUIRE(error_of(data) == "");
  CHECK(data->at("container-concurrency-target-default") == "50");
  CHECK(data->at("max-scale-down-rate") == "4.0");
  CHECK(data->at("enable-scale-to-zero") == "false");
  scale::autoscaler_config want;
  want.container_concurrency_target_fraction = 0.8;
  want.container_concurrency_target_default = 50;
  want.rps_target_default = 150.5;
  want.target_burst_capacity = -1;
  want.stable_window = 2min;
  want.panic_window_percentage = 20;
  want.panic_threshold_percentage = 150;
  want.max_scale_up_rate = 10;
  want.max_scale_down_rate = 4;
  want.enable_scale_to_zero = false;
  want.scale_to_zero_grace_period = 45s;
  want.scale_to_zero_pod_retention_period = 90s;
  want.activator_capacity = 250;
  want.initial_scale = 0;
  want.allow_zero_initial_scale = true;
  want.min_scale = 1;
  want.max_scale = 20;
  want.max_scale_limit = 50;
  want.scale_down_delay = 30s;
  const auto config = scale::parse_autoscaler_config(data.value());
  REQUIRE(error_of(config) == "");
  CHECK(config.value() == want);
}

TEST_CASE("the bad-value fixture reads but does not validate") {
  // Message: config.go validate, stable-window bounds.
  const auto data = scale::read_configmap_file(data_dir / "config-autoscaler-bad-value.yaml");
  REQUIRE(error_of(data) == "");
  CHECK(error_of(scale::parse_autoscaler_config(data.value())) ==
        "stable-window = 5s, must be in [6s; 1h0m0s] range");
}

TEST_CASE("read_configmap_file names a file it cannot read") {
  const auto missing = data_dir / "no-such-config.yaml";
  CHECK(error_of(scale::read_configmap_file(missing)) == "cannot read " + missing.string() + ": No such file or directory");
}

TEST_CASE("read_configmap_data: accepted shapes and errors") {
  // Rules from the header's contract; yaml-cpp supplies the syntax error text and the 0-based line we print 1-based.
  struct test_case {
    std::string name;
    std::string yaml;
    scale::string_map want;
    std::string want_error;
  };
  const std::vector<test_case> cases = {
      {"ConfigMap data", "kind: ConfigMap\ndata:\n  stable-window: 30s\n  min-scale: \"2\"\n",
       {{"min-scale", "2"}, {"stable-window", "30s"}}, ""},
      {"ConfigMap without data", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n", {}, ""},
      {"ConfigMap with null data", "kind: ConfigMap\ndata:\n", {}, ""},
      {"bare map", "stable-window: 30s\nenable-scale-to-zero: false\n",
       {{"enable-scale-to-zero", "false"}, {"stable-window", "30s"}}, ""},
      {"scalars keep their text", "a: 1.0\nb: true\nc: 0x10\nd: ''\ne: !!str null\nf: 'null'\n",
       {{"a", "1.0"}, {"b", "true"}, {"c", "0x10"}, {"d", ""}, {"e", "null"}, {"f", "null"}}, ""},
      {"block scalar", "a: |\n  line one\n  line two\n", {{"a", "line one\nline two\n"}}, ""},
      {"other kind", "apiVersion: apps/v1\nkind: Deployment\n", {}, R"(src:2: kind is "Deployment", expected ConfigMap)"},
      {"kind not a scalar", "kind: [ConfigMap]\n", {}, "src:1: kind is a sequence, expected ConfigMap"},
      {"nested map value", "kind: ConfigMap\ndata:\n  stable-window:\n    seconds: 60\n", {},
       R"(src:3: value of "stable-window" must be a string, got a map)"},
      {"sequence value", "min-scale: [1, 2]\n", {}, R"(src:1: value of "min-scale" must be a string, got a sequence)"},
      {"null value", "kind: ConfigMap\ndata:\n  min-scale:\n  max-scale: \"3\"\n", {},
       R"(src:3: value of "min-scale" must be a string, got null)"},
      {"bare map holding data", "apiVersion: v1\ndata:\n  min-scale: \"1\"\n", {},
       R"(src:2: value of "data" must be a string, got a map (is "kind: ConfigMap" missing?))"},
      {"data not a map", "kind: ConfigMap\ndata:\n  - a\n", {}, "src:3: data must be a map, got a sequence"},
      {"duplicate key", "kind: ConfigMap\ndata:\n  a: \"1\"\n  a: \"2\"\n", {}, R"(src:4: duplicate key "a")"},
      {"root is a sequence", "- a\n- b\n", {}, "src:1: expected a ConfigMap or a key: value map, got a sequence"},
      {"root is a scalar", "hello\n", {}, "src:1: expected a ConfigMap or a key: value map, got a scalar"},
      {"empty text", "", {}, "src: expected one YAML document, found 0"},
      {"only comments", "# nothing here\n", {}, "src: expected one YAML document, found 0"},
      {"two documents", "a: b\n---\nc: d\n", {}, "src: expected one YAML document, found 2 or more"},
      {"syntax error", "a: [1,\nb: 2", {}, "src:2: end of sequence flow not found"},
      {"map key", "? [a, b]\n: c\n", {}, "src:1: keys must be scalars, got a sequence"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto got = scale::read_configmap_data(c.yaml, "src");
    CHECK(error_of(got) == c.want_error);
    if (got) CHECK(got.value() == c.want);
  }
}

// Inputs the fuzzers found (tests/fuzz/, docs/robustness.md); reproducers in tests/data/fuzz-regressions/.
namespace {

// configmap_fuzz, timeout-1a15150b (minimised: " a: 1\n,"): yaml-cpp 0.7's LoadAll never returns on an
// indented map followed by a comma at column 0; it appends null documents until memory runs out (yaml-cpp
// issue #1040, fixed upstream by PR #1319, after 0.8.0; Debian 12 has 0.7.0). read_configmap_data calls
// LoadAll. Fixed: read_configmap_data counts documents with a bounded loop first.
TEST_CASE("fuzz regression: a stray comma after an indented map is an error, not a hang") {
  const auto map = scale::read_configmap_data(" a: 1\n,", "bad.yaml");
  REQUIRE(!map.has_value());
  CHECK(map.error_value().message.rfind("bad.yaml", 0) == 0);
}

}  // namespace
