#include <libscale/config.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using scale::autoscaler_config;
using scale::duration;
using scale::revision_autoscaling;
using scale::string_map;

template <class T>
std::string error_of(const scale::result<T>& r) {
  return r ? std::string{} : r.error_value().message;
}

std::string error_of(const std::optional<scale::error>& e) { return e ? e->message : std::string{}; }

constexpr duration max_duration = duration{std::numeric_limits<std::int64_t>::max()};
constexpr duration min_duration = duration{std::numeric_limits<std::int64_t>::min()};

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Go value parsers

TEST_CASE("parse_go_duration accepts what Go's time.ParseDuration accepts") {
  // Expected values: Go's own time/time_test.go parseDurationTests, plus Knative's config values.
  struct test_case {
    std::string text;
    duration want;
  };
  const std::vector<test_case> cases = {
      {"0", 0ns},
      {"5s", 5s},
      {"30s", 30s},
      {"1478s", 1478s},
      {"-5s", -5s},
      {"+5s", 5s},
      {"-0", 0ns},
      {"+0", 0ns},
      {"5.0s", 5s},
      {"5.6s", 5s + 600ms},
      {"5.s", 5s},
      {".5s", 500ms},
      {"1.0s", 1s},
      {"1.00s", 1s},
      {"1.004s", 1s + 4ms},
      {"1.0040s", 1s + 4ms},
      {"100.00100s", 100s + 1ms},
      {"10ns", 10ns},
      {"11us", 11us},
      {"12\xC2\xB5s", 12us},  // U+00B5 micro sign
      {"12\xCE\xBCs", 12us},  // U+03BC Greek mu
      {"13ms", 13ms},
      {"14s", 14s},
      {"15m", 15min},
      {"16h", 16h},
      {"3h30m", 3h + 30min},
      {"10.5s4m", 4min + 10s + 500ms},
      {"-2m3.4s", -(2min + 3s + 400ms)},
      {"1h2m3s4ms5us6ns", 1h + 2min + 3s + 4ms + 5us + 6ns},
      {"39h9m14.425s", 39h + 9min + 14s + 425ms},
      {"52763797000ns", 52763797000ns},
      {"0.3333333333333333333h", 20min},
      {"9007199254740993ns", duration{(std::int64_t{1} << 53) + 1}},
      {"9223372036854775807ns", max_duration},
      {"9223372036854775.807us", max_duration},
      {"9223372036s854ms775us807ns", max_duration},
      {"-9223372036854775808ns", min_duration},
      {"-9223372036854775.808us", min_duration},
      {"-9223372036s854ms775us808ns", min_duration},
      {"-2562047h47m16.854775808s", min_duration},
      {"0.100000000000000000000h", 6min},
      {"0.830103483285477580700h", 49min + 48s + 372539827ns},
      // Knative config_test.go values
      {"60s", 60s},
      {"1m30s", 90s},
      {"1.5h", 90min},
      {"300ms", 300ms},
      {"2m3s", 123s},
      {"61984ms", 61984ms},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const auto got = scale::parse_go_duration(c.text);
    REQUIRE(error_of(got) == "");
    CHECK(got.value() == c.want);
  }
}

TEST_CASE("parse_go_duration rejects what Go rejects, with Go's messages") {
  // Inputs: Go's time/time_test.go parseDurationErrorTests; messages: Go's time.ParseDuration texts.
  struct test_case {
    std::string text;
    std::string want;
  };
  const std::vector<test_case> cases = {
      {"", R"(time: invalid duration "")"},
      {"3", R"(time: missing unit in duration "3")"},
      {"5", R"(time: missing unit in duration "5")"},
      {"-", R"(time: invalid duration "-")"},
      {"s", R"(time: invalid duration "s")"},
      {".", R"(time: invalid duration ".")"},
      {"-.", R"(time: invalid duration "-.")"},
      {".s", R"(time: invalid duration ".s")"},
      {"+.s", R"(time: invalid duration "+.s")"},
      {"1x", R"(time: unknown unit "x" in duration "1x")"},
      {"1d", R"(time: unknown unit "d" in duration "1d")"},
      {" 5s", R"(time: invalid duration " 5s")"},
      {"5s ", R"(time: unknown unit "s " in duration "5s ")"},
      {"1S", R"(time: unknown unit "S" in duration "1S")"},
      {"\x85\x85", R"(time: invalid duration "\x85\x85")"},
      {"\xff" "ff", R"(time: invalid duration "\xffff")"},
      {"hello \xff" "ff world", R"(time: invalid duration "hello \xffff world")"},
      {"9223372036854775808ns", R"(time: invalid duration "9223372036854775808ns")"},
      {"9223372036854775.808us", R"(time: invalid duration "9223372036854775.808us")"},
      {"9223372036854ms775us808ns", R"(time: invalid duration "9223372036854ms775us808ns")"},
      {"-9223372036854775809ns", R"(time: invalid duration "-9223372036854775809ns")"},
      {"not a duration", R"(time: invalid duration "not a duration")"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    CHECK(error_of(scale::parse_go_duration(c.text)) == c.want);
  }
}

TEST_CASE("format_go_duration prints what Go's Duration.String prints") {
  // Expected texts: Go's time/time_test.go durationTests, and Knative's messages ("1h0m0s", "6s").
  struct test_case {
    duration d;
    std::string want;
  };
  const std::vector<test_case> cases = {
      {0ns, "0s"},
      {1ns, "1ns"},
      {1100ns, "1.1\xC2\xB5s"},
      {2200us, "2.2ms"},
      {3300ms, "3.3s"},
      {4min + 5s, "4m5s"},
      {4min + 5001ms, "4m5.001s"},
      {5h + 6min + 7001ms, "5h6m7.001s"},
      {8min + 1ns, "8m0.000000001s"},
      {max_duration, "2562047h47m16.854775807s"},
      {min_duration, "-2562047h47m16.854775808s"},
      {-(1min + 23s), "-1m23s"},
      {1h, "1h0m0s"},
      {6s, "6s"},
      {61984ms, "1m1.984s"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.want);
    CHECK(scale::format_go_duration(c.d) == c.want);
  }
}

TEST_CASE("parse_go_float follows strconv.ParseFloat") {
  // Expected values: Go's strconv/atof_test.go atoftests (the forms Knative's cm.AsFloat64 then accepts).
  struct test_case {
    std::string text;
    double want;
  };
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<test_case> cases = {
      {"1", 1},         {"+1", 1},        {"-1", -1},          {"1e3", 1000},        {"1E3", 1000},
      {"1e+3", 1000},   {"1e-2", 0.01},   {"0.71", 0.71},      {"10.5", 10.5},       {".5", 0.5},
      {"5.", 5},        {"1_000", 1000},  {"1_000.5", 1000.5}, {"1e1_0", 1e10},      {"0x1p-2", 0.25},
      {"0X1P-2", 0.25}, {"0x.8p1", 1},    {"0x1_0p0", 16},     {"Inf", inf},         {"+inf", inf},
      {"-Inf", -inf},   {"infinity", inf}, {"-INFINITY", -inf}, {"1e-400", 0},       {"-1e-400", -0.0},
      {"5e-324", 5e-324}, {"1.7976931348623157e308", 1.7976931348623157e308},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const auto got = scale::detail::parse_go_float(c.text);
    REQUIRE(error_of(got) == "");
    CHECK(got.value() == c.want);
  }
  CHECK(std::isnan(scale::detail::parse_go_float("NaN").value()));
  CHECK(std::isnan(scale::detail::parse_go_float("nan").value()));
}

TEST_CASE("parse_go_float rejects what strconv.ParseFloat rejects") {
  // Inputs: Go's strconv/atof_test.go error rows; messages: Go's NumError texts.
  struct test_case {
    std::string text;
    std::string want;
  };
  const auto syntax = [](const std::string& s) { return "strconv.ParseFloat: parsing \"" + s + "\": invalid syntax"; };
  const std::vector<test_case> cases = {
      {"", syntax("")},
      {" 5", syntax(" 5")},
      {"5 ", syntax("5 ")},
      {"1e", syntax("1e")},
      {"1e-", syntax("1e-")},
      {".", syntax(".")},
      {"+", syntax("+")},
      {"0x10", syntax("0x10")},  // hexadecimal needs a p exponent
      {"0x", syntax("0x")},
      {"_1", syntax("_1")},
      {"1__0", syntax("1__0")},
      {"1_", syntax("1_")},
      {"1_.5", syntax("1_.5")},
      {"+nan", syntax("+nan")},
      {"infin", syntax("infin")},
      {"1.5.3", syntax("1.5.3")},
      {"1,5", syntax("1,5")},
      {"not a float", syntax("not a float")},
      {"1e400", "strconv.ParseFloat: parsing \"1e400\": value out of range"},
      {"-1e400", "strconv.ParseFloat: parsing \"-1e400\": value out of range"},
      {"0x1p2000", "strconv.ParseFloat: parsing \"0x1p2000\": value out of range"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    CHECK(error_of(scale::detail::parse_go_float(c.text)) == c.want);
  }
}

TEST_CASE("parse_go_bool and parse_go_int32 follow strconv") {
  // Go's strconv.ParseBool table and strconv.ParseInt(s, 10, 32) bounds.
  struct bool_case {
    std::string text;
    std::string want;  // "true", "false" or the error
  };
  const std::vector<bool_case> bools = {
      {"1", "true"},  {"t", "true"},   {"T", "true"},   {"true", "true"},   {"TRUE", "true"},   {"True", "true"},
      {"0", "false"}, {"f", "false"},  {"F", "false"},  {"false", "false"}, {"FALSE", "false"}, {"False", "false"},
      {"tRUE", R"(strconv.ParseBool: parsing "tRUE": invalid syntax)"},
      {"yes", R"(strconv.ParseBool: parsing "yes": invalid syntax)"},
      {"", R"(strconv.ParseBool: parsing "": invalid syntax)"},
  };
  for (const auto& c : bools) {
    CAPTURE(c.text);
    const auto got = scale::detail::parse_go_bool(c.text);
    CHECK((got ? (got.value() ? "true" : "false") : got.error_value().message) == c.want);
  }
  struct int_case {
    std::string text;
    std::string want;  // the value as text or the error
  };
  const std::vector<int_case> ints = {
      {"0", "0"},
      {"+5", "5"},
      {"-5", "-5"},
      {"007", "7"},
      {"2147483647", "2147483647"},
      {"-2147483648", "-2147483648"},
      {"2147483648", R"(strconv.ParseInt: parsing "2147483648": value out of range)"},
      {"-2147483649", R"(strconv.ParseInt: parsing "-2147483649": value out of range)"},
      {"99999999999999999999999", R"(strconv.ParseInt: parsing "99999999999999999999999": value out of range)"},
      {"", R"(strconv.ParseInt: parsing "": invalid syntax)"},
      {"-", R"(strconv.ParseInt: parsing "-": invalid syntax)"},
      {"1_000", R"(strconv.ParseInt: parsing "1_000": invalid syntax)"},
      {"1.0", R"(strconv.ParseInt: parsing "1.0": invalid syntax)"},
      {"0x10", R"(strconv.ParseInt: parsing "0x10": invalid syntax)"},
      {" 1", R"(strconv.ParseInt: parsing " 1": invalid syntax)"},
  };
  for (const auto& c : ints) {
    CAPTURE(c.text);
    const auto got = scale::detail::parse_go_int32(c.text);
    CHECK((got ? std::to_string(got.value()) : got.error_value().message) == c.want);
  }
}

TEST_CASE("Go %v and %f float formatting") {
  // Expected texts: what fmt.Sprintf("%v") / ("%f") print for these float64 values.
  struct test_case {
    double x;
    std::string v;
    std::string f;
  };
  const std::vector<test_case> cases = {
      {0.01, "0.01", "0.010000"},       {1, "1", "1.000000"},           {-55, "-55", "-55.000000"},
      {0.95, "0.95", "0.950000"},       {1.424, "1.424", "1.424000"},   {100000, "100000", "100000.000000"},
      {1e6, "1e+06", "1000000.000000"}, {0.0001, "0.0001", "0.000100"}, {0.00001, "1e-05", "0.000010"},
      {1234567, "1.234567e+06", "1234567.000000"},
      {std::numeric_limits<double>::infinity(), "+Inf", "+Inf"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.v);
    CHECK(scale::detail::go_format_float_v(c.x) == c.v);
    CHECK(scale::detail::go_format_float_f(c.x) == c.f);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// config-autoscaler

TEST_CASE("parse_autoscaler_config: Knative TestNewConfig, valid inputs") {
  struct test_case {
    std::string name;
    string_map input;
    std::function<void(autoscaler_config&)> want;  // applied to the defaults
  };
  const std::vector<test_case> cases = {
      {"default", {}, nullptr},
      {"overridden",
       {{"enable-scale-to-zero", "true"},
        {"max-scale-down-rate", "3.0"},
        {"max-scale-up-rate", "1.01"},
        {"container-concurrency-target-percentage", "0.71"},
        {"container-concurrency-target-default", "10.5"},
        {"requests-per-second-target-default", "10.11"},
        {"target-burst-capacity", "12345"},
        {"scale-down-delay", "15m"},
        {"stable-window", "5m"},
        {"tick-interval", "2s"},
        {"panic-window-percentage", "10"},
        {"panic-threshold-percentage", "200"},
        {"pod-autoscaler-class", "some.class"},
        {"activator-capacity", "905"},
        {"scale-to-zero-pod-retention-period", "2m3s"}},
       [](autoscaler_config& c) {
         c.target_burst_capacity = 12345;
         c.container_concurrency_target_default = 10.5;
         c.container_concurrency_target_fraction = 0.71;
         c.rps_target_default = 10.11;
         c.max_scale_down_rate = 3;
         c.max_scale_up_rate = 1.01;
         c.scale_down_delay = 15min;
         c.stable_window = 5min;
         c.activator_capacity = 905;
         c.pod_autoscaler_class = "some.class";
         c.scale_to_zero_pod_retention_period = 2min + 3s;
       }},
      {"minimum",
       {{"max-scale-up-rate", "1.001"},
        {"container-concurrency-target-percentage", "0.5"},
        {"container-concurrency-target-default", "10.0"},
        {"target-burst-capacity", "0"},
        {"stable-window", "5m"},
        {"tick-interval", "2s"},
        {"panic-window-percentage", "10"},
        {"panic-threshold-percentage", "200"},
        {"activator-capacity", "1"}},
       [](autoscaler_config& c) {
         c.container_concurrency_target_fraction = 0.5;
         c.container_concurrency_target_default = 10;
         c.max_scale_up_rate = 1.001;
         c.target_burst_capacity = 0;
         c.stable_window = 5min;
         c.activator_capacity = 1;
       }},
      {"concurrency target percentage as percent",
       {{"container-concurrency-target-percentage", "55"}},
       [](autoscaler_config& c) { c.container_concurrency_target_fraction = 0.55; }},
      {"with -1 tbc", {{"target-burst-capacity", "-1"}}, [](autoscaler_config& c) { c.target_burst_capacity = -1; }},
      {"with toggles on strange casing", {{"enable-scale-to-zero", "TRUE"}}, nullptr},
      {"with toggles explicitly flipped",
       {{"enable-scale-to-zero", "false"}, {"min-scale", "1"}, {"max-scale", "2"}},
       [](autoscaler_config& c) {
         c.enable_scale_to_zero = false;
         c.min_scale = 1;
         c.max_scale = 2;
       }},
      {"with explicit grace period",
       {{"enable-scale-to-zero", "false"},
        {"scale-to-zero-grace-period", "33s"},
        {"min-scale", "1"},
        {"max-scale", "2"}},
       [](autoscaler_config& c) {
         c.enable_scale_to_zero = false;
         c.scale_to_zero_grace_period = 33s;
         c.min_scale = 1;
         c.max_scale = 2;
       }},
      {"with valid default initial scale",
       {{"allow-zero-initial-scale", "true"}, {"initial-scale", "0"}},
       [](autoscaler_config& c) {
         c.allow_zero_initial_scale = true;
         c.initial_scale = 0;
       }},
      {"with valid default max scale", {{"max-scale", "10"}}, [](autoscaler_config& c) { c.max_scale = 10; }},
      {"with min scale set but max-scale not set", {{"min-scale", "4"}}, [](autoscaler_config& c) { c.min_scale = 4; }},
      {"with valid default max scale and max scale limit",
       {{"max-scale", "10"}, {"max-scale-limit", "11"}},
       [](autoscaler_config& c) {
         c.max_scale = 10;
         c.max_scale_limit = 11;
       }},
      // Not in Knative's table; each follows from NewConfigFromMap / kpa-spec.md §1.1.
      {"percentage 1 is 100 % (kpa-spec edge case 13)",
       {{"container-concurrency-target-percentage", "1"}},
       [](autoscaler_config& c) { c.container_concurrency_target_fraction = 1; }},
      {"percentage 100 is 100 %",
       {{"container-concurrency-target-percentage", "100"}},
       [](autoscaler_config& c) { c.container_concurrency_target_fraction = 1; }},
      {"ignored keys: _example, tick-interval, panic-window",
       {{"_example", "anything: at all"}, {"_note", "x"}, {"tick-interval", "2s"}, {"panic-window", "3s"}},
       nullptr},
      {"class is trimmed like cm.AsString",
       {{"pod-autoscaler-class", "  hpa.autoscaling.knative.dev\n"}},
       [](autoscaler_config& c) { c.pod_autoscaler_class = "hpa.autoscaling.knative.dev"; }},
      {"panic threshold is not range-checked in the config map",
       {{"panic-threshold-percentage", "50"}},
       [](autoscaler_config& c) { c.panic_threshold_percentage = 50; }},
      {"scale-down-delay has no upper bound in the config map",
       {{"scale-down-delay", "2h"}},
       [](autoscaler_config& c) { c.scale_down_delay = 2h; }},
      {"window bounds are inclusive",
       {{"stable-window", "6s"}, {"panic-window-percentage", "100"}},
       [](autoscaler_config& c) {
         c.stable_window = 6s;
         c.panic_window_percentage = 100;
       }},
      {"infinite rates pass Knative's checks",
       {{"max-scale-up-rate", "+Inf"}, {"target-burst-capacity", "1e3"}},
       [](autoscaler_config& c) {
         c.max_scale_up_rate = std::numeric_limits<double>::infinity();
         c.target_burst_capacity = 1000;
       }},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    autoscaler_config want;
    if (c.want) c.want(want);
    const auto got = scale::parse_autoscaler_config(c.input);
    REQUIRE(error_of(got) == "");
    CHECK(got.value() == want);
  }
}

TEST_CASE("parse_autoscaler_config: Knative TestNewConfig, invalid inputs") {
  // Inputs: Knative config_test.go TestNewConfig (wantErr rows); messages: config.go validate / cm.Parse texts.
  struct test_case {
    std::string name;
    string_map input;
    std::string want;
  };
  const std::vector<test_case> cases = {
      {"malformed float",
       {{"max-scale-up-rate", "not a float"}},
       R"(failed to parse "max-scale-up-rate": strconv.ParseFloat: parsing "not a float": invalid syntax)"},
      {"invalid scale-down-delay", {{"scale-down-delay", "-1m23s"}}, "scale-down-delay cannot be negative, was: -1m23s"},
      {"invalid pod retention period",
       {{"scale-to-zero-pod-retention-period", "-4m11s"}},
       "scale-to-zero-pod-retention-period cannot be negative, was: -4m11s"},
      {"malformed duration",
       {{"stable-window", "not a duration"}},
       R"(failed to parse "stable-window": time: invalid duration "not a duration")"},
      {"invalid target burst capacity",
       {{"target-burst-capacity", "-11"}},
       "target-burst-capacity must be either non-negative or -1 (for unlimited), was: -11.000000"},
      {"invalid target %, too small",
       {{"container-concurrency-target-percentage", "-42"}},
       "container-concurrency-target-percentage = -42.000000 is outside of valid range of (0, 100]"},
      {"invalid target %, too big",
       {{"container-concurrency-target-percentage", "142.4"}},
       "container-concurrency-target-percentage = 1.424000 is outside of valid range of (0, 100]"},
      {"invalid RPS target, too small",
       {{"requests-per-second-target-default", "-5.25"}},
       "requests-per-second-target-default must be at least 0.01, was: -5.25"},
      {"max scale up rate 1.0", {{"max-scale-up-rate", "1"}}, "max-scale-up-rate = 1, must be greater than 1.0"},
      {"max down down rate negative",
       {{"max-scale-down-rate", "-55"}},
       "max-scale-down-rate = -55, must be greater than 1.0"},
      {"max down down rate 1.0", {{"max-scale-down-rate", "1"}}, "max-scale-down-rate = 1, must be greater than 1.0"},
      {"stable window too big", {{"stable-window", "1h1s"}}, "stable-window = 1h0m1s, must be in [6s; 1h0m0s] range"},
      {"stable window too small", {{"stable-window", "1s"}}, "stable-window = 1s, must be in [6s; 1h0m0s] range"},
      {"stable not seconds",
       {{"stable-window", "61984ms"}},
       "stable-window = 1m1.984s, must be specified with at most second precision"},
      {"scale-down-delay not seconds",
       {{"scale-down-delay", "61984ms"}},
       "scale-down-delay = 1m1.984s, must be specified with at most second precision"},
      {"activator-capacity invalid", {{"activator-capacity", "0.95"}}, "activator-capacity = 0.95, must be at least 1"},
      {"panic window percentage too small",
       {{"panic-window-percentage", "0.1"}},
       "panic-window-percentage = 0.1, must be in [1, 100] interval"},
      {"panic window percentage too big",
       {{"stable-window", "12s"}, {"panic-window", "3s"}, {"panic-window-percentage", "110"}},
       "panic-window-percentage = 110, must be in [1, 100] interval"},
      {"TU*CC < 0.01",
       {{"container-concurrency-target-percentage", "1"}, {"container-concurrency-target-default", "0.001"}},
       "container-concurrency-target-percentage and container-concurrency-target-default yield target concurrency "
       "of 0.001, can't be less than 0.01"},
      {"grace window too small",
       {{"stable-window", "12s"}, {"scale-to-zero-grace-period", "0s"}},
       "scale-to-zero-grace-period must be positive, was: 0s"},
      {"with prohibited default initial scale",
       {{"allow-zero-initial-scale", "false"}, {"initial-scale", "0"}},
       "initial-scale = 0, must be at least 0 (or at least 1 when allow-zero-initial-scale is false)"},
      {"with negative default initial scale",
       {{"allow-zero-initial-scale", "false"}, {"initial-scale", "-1"}},
       "initial-scale = -1, must be at least 0 (or at least 1 when allow-zero-initial-scale is false)"},
      {"with non-parseable default initial scale",
       {{"allow-zero-initial-scale", "false"}, {"initial-scale", "invalid"}},
       R"(failed to parse "initial-scale": strconv.ParseInt: parsing "invalid": invalid syntax)"},
      {"with non-parseable allow-zero-initial-scale",
       {{"allow-zero-initial-scale", "invalid"}},
       R"(failed to parse "allow-zero-initial-scale": strconv.ParseBool: parsing "invalid": invalid syntax)"},
      {"with negative default max scale", {{"max-scale", "-1"}}, "max-scale = -1, must be in [0, max-scale-limit(0)] range"},
      {"max scale exceeding max scale limit",
       {{"max-scale", "10"}, {"max-scale-limit", "9"}},
       "max-scale = 10, must be in [1, max-scale-limit(9)] range"},
      {"with negative max scale limit", {{"max-scale-limit", "-9"}}, "max-scale-limit = -9, must be at least 0"},
      {"with max scale limit and zero default max scale",
       {{"max-scale", "0"}, {"max-scale-limit", "11"}},
       "max-scale = 0, must be in [1, max-scale-limit(11)] range"},
      {"with max scale less than min-scale",
       {{"min-scale", "4"}, {"max-scale", "3"}},
       "min-scale (4) must be less than max-scale (3)"},
      // Not in Knative's table.
      {"unknown key (house rule)", {{"foo", "1"}}, R"(unknown config-autoscaler key "foo")"},
      {"misspelt key (house rule)", {{"stable-windows", "60s"}}, R"(unknown config-autoscaler key "stable-windows")"},
      {"negative min-scale", {{"min-scale", "-1"}}, "min-scale = -1, must be at least 0"},
      {"NaN is rejected (not in Knative)", {{"max-scale-up-rate", "NaN"}}, "max-scale-up-rate = NaN, must be a number"},
      {"NaN target percentage", {{"container-concurrency-target-percentage", "nan"}},
       "container-concurrency-target-percentage = NaN, must be a number"},
      // Fuzz finding (configmap_fuzz): an infinite target made every want 0. Rates may be infinite (no limit).
      {"infinite target default (not in Knative)", {{"container-concurrency-target-default", "Inf"}},
       "container-concurrency-target-default = +Inf, must be a finite number"},
      {"infinite burst capacity (not in Knative)", {{"target-burst-capacity", "-Inf"}},
       "target-burst-capacity = -Inf, must be a finite number"},
      {"int32 overflow",
       {{"min-scale", "2147483648"}},
       R"(failed to parse "min-scale": strconv.ParseInt: parsing "2147483648": value out of range)"},
      {"a float for an int key",
       {{"max-scale", "2.0"}},
       R"(failed to parse "max-scale": strconv.ParseInt: parsing "2.0": invalid syntax)"},
      {"duration without unit",
       {{"scale-to-zero-grace-period", "30"}},
       R"(failed to parse "scale-to-zero-grace-period": time: missing unit in duration "30")"},
      {"first parse failure in NewConfigFromMap order wins",
       {{"stable-window", "x"}, {"max-scale-up-rate", "y"}, {"enable-scale-to-zero", "z"}},
       R"(failed to parse "enable-scale-to-zero": strconv.ParseBool: parsing "z": invalid syntax)"},
      {"validation order: grace period before stable window",
       {{"stable-window", "1s"}, {"scale-to-zero-grace-period", "-1s"}},
       "scale-to-zero-grace-period must be positive, was: -1s"},
      {"percentage 0 is outside (0, 100]",
       {{"container-concurrency-target-percentage", "0"}},
       "container-concurrency-target-percentage = 0.000000 is outside of valid range of (0, 100]"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(error_of(scale::parse_autoscaler_config(c.input)) == c.want);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Annotations

TEST_CASE("validate_annotations: Knative TestValidateAnnotations") {
  // Rows and messages: Knative annotation_validation_test.go, with "\n" between errors written as "; ".
  // Deliberate difference: the two "second precision" messages also name the value.
  struct test_case {
    std::string name;
    string_map annotations;
    std::string want;
    std::function<void(autoscaler_config&)> config = nullptr;
  };
  const std::string p = "autoscaling.knative.dev/";
  const std::string kpa = "kpa.autoscaling.knative.dev";
  const std::string hpa = "hpa.autoscaling.knative.dev";
  const std::vector<test_case> cases = {
      {"empty annotations", {}, ""},
      {"invalid class", {{p + "class", "unsupported.knative.dev"}},
       "invalid value: unsupported.knative.dev: autoscaling.knative.dev/class"},
      {"non-knative.dev domain class", {{p + "class", "some.other.domain"}}, ""},
      {"minScale is 0", {{p + "min-scale", "0"}}, ""},
      {"maxScale is 0", {{p + "max-scale", "0"}}, ""},
      {"minScale is -1", {{p + "min-scale", "-1"}}, "expected 0 <= -1 <= 2147483647: autoscaling.knative.dev/min-scale"},
      {"maxScale is huuuuuuuge", {{p + "max-scale", "2147483648"}},
       "expected 0 <= 2147483648 <= 2147483647: autoscaling.knative.dev/max-scale"},
      {"maxScale is -1", {{p + "max-scale", "-1"}}, "expected 0 <= -1 <= 2147483647: autoscaling.knative.dev/max-scale"},
      {"minScale is foo", {{p + "min-scale", "foo"}}, "invalid value: foo: autoscaling.knative.dev/min-scale"},
      {"maxScale is bar", {{p + "max-scale", "bar"}}, "invalid value: bar: autoscaling.knative.dev/max-scale"},
      {"max/minScale is bar", {{p + "max-scale", "bar"}, {p + "min-scale", "bar"}},
       "invalid value: bar: autoscaling.knative.dev/max-scale, autoscaling.knative.dev/min-scale"},
      {"minScale is 5", {{p + "min-scale", "5"}}, ""},
      {"maxScale is 2", {{p + "max-scale", "2"}}, ""},
      {"minScale is 2, maxScale is 5", {{p + "min-scale", "2"}, {p + "max-scale", "5"}}, ""},
      {"minScale is 5, maxScale is 2", {{p + "min-scale", "5"}, {p + "max-scale", "2"}},
       "max-scale=2 is less than min-scale=5: autoscaling.knative.dev/max-scale, autoscaling.knative.dev/min-scale"},
      {"minScale is 0, maxScale is 0", {{p + "min-scale", "0"}, {p + "max-scale", "0"}}, ""},
      {"maxScale is greater than MaxScaleLimit when in create", {{p + "max-scale", "11"}},
       "expected 1 <= 11 <= 10: autoscaling.knative.dev/max-scale",
       [](autoscaler_config& c) { c.max_scale_limit = 10; }},
      {"maxScale is greater than MaxScaleLimit when in create and default MaxScale is set", {{p + "max-scale", "20"}},
       "expected 1 <= 20 <= 10: autoscaling.knative.dev/max-scale",
       [](autoscaler_config& c) {
         c.max_scale_limit = 10;
         c.max_scale = 11;
       }},
      {"maxScale is explicitly set to 0 when MaxScaleLimit and default MaxScale are set", {{p + "max-scale", "0"}},
       "max-scale=0 (unlimited), must be less than 10: autoscaling.knative.dev/max-scale",
       [](autoscaler_config& c) {
         c.max_scale_limit = 10;
         c.max_scale = 1;
       }},
      {"maxScale is not set when both MaxScaleLimit and default MaxScale are set", {}, "",
       [](autoscaler_config& c) {
         c.max_scale_limit = 10;
         c.max_scale = 11;
       }},
      {"maxScale is less than MaxScaleLimit", {{p + "max-scale", "9"}}, "",
       [](autoscaler_config& c) { c.max_scale_limit = 10; }},
      {"min-scale, activation-scale, max-scale all set appropriately",
       {{p + "min-scale", "1"}, {p + "activation-scale", "2"}, {p + "max-scale", "3"}}, ""},
      {"min-scale is greater than activation-scale", {{p + "min-scale", "3"}, {p + "activation-scale", "2"}},
       "min-scale=3 is greater than activation-scale=2: autoscaling.knative.dev/activation-scale"},
      {"max-scale is less than activation-scale", {{p + "max-scale", "1"}, {p + "activation-scale", "2"}},
       "max-scale=1 is less than activation-scale=2: autoscaling.knative.dev/activation-scale"},
      {"valid algorithm on KPA", {{p + "metric-aggregation-algorithm", "linear"}, {p + "class", kpa}}, ""},
      {"empty algorithm", {{p + "metric-aggregation-algorithm", ""}, {p + "class", kpa}}, ""},
      {"random algorithm on KPA", {{p + "metric-aggregation-algorithm", "random-selection"}, {p + "class", kpa}},
       "invalid value: random-selection: autoscaling.knative.dev/metric-aggregation-algorithm"},
      {"random algorithm on non KPA",
       {{p + "metric-aggregation-algorithm", "random-selection"}, {p + "class", "of-keys"}}, ""},
      {"panic window percentage bad", {{p + "panic-window-percentage", "-1"}},
       "expected 1 <= -1 <= 100: autoscaling.knative.dev/panic-window-percentage"},
      {"panic window percentage bad2", {{p + "panic-window-percentage", "202"}},
       "expected 1 <= 202 <= 100: autoscaling.knative.dev/panic-window-percentage"},
      {"panic window percentage bad3", {{p + "panic-window-percentage", "fifty"}},
       "invalid value: fifty: autoscaling.knative.dev/panic-window-percentage"},
      {"panic window percentage good", {{p + "panic-threshold-percentage", "210"}}, ""},
      {"panic threshold percentage bad2", {{p + "panic-threshold-percentage", "109"}},
       "expected 110 <= 109 <= 1000: autoscaling.knative.dev/panic-threshold-percentage"},
      {"panic threshold percentage bad2.5", {{p + "panic-threshold-percentage", "10009"}},
       "expected 110 <= 10009 <= 1000: autoscaling.knative.dev/panic-threshold-percentage"},
      {"panic threshold percentage bad3", {{p + "panic-threshold-percentage", "fifty"}},
       "invalid value: fifty: autoscaling.knative.dev/panic-threshold-percentage"},
      {"target negative", {{p + "target", "-11"}}, "target -11 should be at least 0.01: autoscaling.knative.dev/target"},
      {"target 0", {{p + "target", "0"}}, "target 0 should be at least 0.01: autoscaling.knative.dev/target"},
      {"invalid target", {{p + "target", "100}"}}, "invalid value: 100}: autoscaling.knative.dev/target"},
      {"target okay", {{p + "target", "11"}}, ""},
      {"TBC negative", {{p + "target-burst-capacity", "-11"}},
       "invalid value: -11: autoscaling.knative.dev/target-burst-capacity"},
      {"TBC 0", {{p + "target-burst-capacity", "0"}}, ""},
      {"TBC 19880709", {{p + "target-burst-capacity", "19870709"}}, ""},
      {"TBC -1", {{p + "target-burst-capacity", "-1"}}, ""},
      {"TBC invalid", {{p + "target-burst-capacity", "qarashen"}},
       "invalid value: qarashen: autoscaling.knative.dev/target-burst-capacity"},
      {"TU too small", {{p + "target-utilization-percentage", "0"}},
       "expected 1 <= 0 <= 100: autoscaling.knative.dev/target-utilization-percentage"},
      {"TU too big", {{p + "target-utilization-percentage", "101"}},
       "expected 1 <= 101 <= 100: autoscaling.knative.dev/target-utilization-percentage"},
      {"TU invalid", {{p + "target-utilization-percentage", "dghyak"}},
       "invalid value: dghyak: autoscaling.knative.dev/target-utilization-percentage"},
      {"window invalid", {{p + "window", "jerry-was-a-racecar-driver"}},
       "invalid value: jerry-was-a-racecar-driver: autoscaling.knative.dev/window"},
      {"window too short", {{p + "window", "1s"}}, "expected 6s <= 1s <= 1h0m0s: autoscaling.knative.dev/window"},
      {"window too long", {{p + "window", "365h"}}, "expected 6s <= 365h <= 1h0m0s: autoscaling.knative.dev/window"},
      {"window too precise", {{p + "window", "1m9s82ms"}},
       "value 1m9s82ms must be specified with at most second precision: autoscaling.knative.dev/window"},
      {"annotation /window is valid for class KPA", {{p + "window", "7s"}, {p + "class", kpa}}, ""},
      {"annotation /window is valid for other than HPA and KPA class", {{p + "window", "7s"}, {p + "class", "test"}},
       ""},
      {"value too long and valid class for /window annotation", {{p + "window", "365h"}, {p + "class", kpa}},
       "expected 6s <= 365h <= 1h0m0s: autoscaling.knative.dev/window"},
      {"invalid format and valid class for /window annotation",
       {{p + "window", "jerry-was-a-racecar-driver"}, {p + "class", kpa}},
       "invalid value: jerry-was-a-racecar-driver: autoscaling.knative.dev/window"},
      {"valid 0 last pod scaledown timeout", {{p + "scale-to-zero-pod-retention-period", "0"}}, ""},
      {"valid positive last pod scaledown timeout", {{p + "scale-to-zero-pod-retention-period", "21m31s"}}, ""},
      {"invalid positive last pod scaledown timeout", {{p + "scale-to-zero-pod-retention-period", "311m"}},
       "expected 0s <= 311m <= 1h0m0s: autoscaling.knative.dev/scale-to-zero-pod-retention-period"},
      {"invalid negative last pod scaledown timeout", {{p + "scale-to-zero-pod-retention-period", "-42s"}},
       "expected 0s <= -42s <= 1h0m0s: autoscaling.knative.dev/scale-to-zero-pod-retention-period"},
      {"invalid last pod scaledown timeout",
       {{p + "scale-to-zero-pod-retention-period", "twenty-two-minutes-and-five-seconds"}},
       "invalid value: twenty-two-minutes-and-five-seconds: autoscaling.knative.dev/scale-to-zero-pod-retention-period"},
      {"valid 0 scale down delay", {{p + "scale-down-delay", "0"}}, ""},
      {"valid positive scale down delay", {{p + "scale-down-delay", "21m31s"}}, ""},
      {"invalid positive scale down delay", {{p + "scale-down-delay", "311m"}},
       "expected 0s <= 311m <= 1h0m0s: autoscaling.knative.dev/scale-down-delay"},
      {"invalid positive scale down delay - too precise", {{p + "scale-down-delay", "42.5s"}},
       "value 42.5s must be specified with at most second precision: autoscaling.knative.dev/scale-down-delay"},
      {"invalid negative scale down delay", {{p + "scale-down-delay", "-42s"}},
       "expected 0s <= -42s <= 1h0m0s: autoscaling.knative.dev/scale-down-delay"},
      {"invalid scale down delay", {{p + "scale-down-delay", "twenty-two-minutes-and-five-seconds"}},
       "invalid value: twenty-two-minutes-and-five-seconds: autoscaling.knative.dev/scale-down-delay"},
      {"all together now fail",
       {{p + "panic-threshold-percentage", "fifty"},
        {p + "panic-window-percentage", "-11"},
        {p + "min-scale", "-4"},
        {p + "max-scale", "never"}},
       "expected 0 <= -4 <= 2147483647: autoscaling.knative.dev/min-scale; "
       "expected 1 <= -11 <= 100: autoscaling.knative.dev/panic-window-percentage; "
       "invalid value: fifty: autoscaling.knative.dev/panic-threshold-percentage; "
       "invalid value: never: autoscaling.knative.dev/max-scale"},
      {"all together now, succeed",
       {{p + "panic-threshold-percentage", "125"},
        {p + "panic-window-percentage", "75"},
        {p + "min-scale", "5"},
        {p + "max-scale", "8"},
        {p + "window", "1984s"}},
       ""},
      {"invalid metric for default class(KPA)", {{p + "metric", "cpu"}},
       "invalid value: cpu: autoscaling.knative.dev/metric"},
      {"invalid metric for HPA class", {{p + "metric", ""}, {p + "class", hpa}},
       "invalid value: : autoscaling.knative.dev/metric"},
      {"valid class KPA with metric RPS", {{p + "metric", "rps"}}, ""},
      {"valid class KPA with metric Concurrency", {{p + "metric", "concurrency"}}, ""},
      {"valid class HPA with metric CPU", {{p + "class", hpa}, {p + "metric", "cpu"}}, ""},
      {"other than HPA and KPA class", {{p + "class", "other"}, {p + "metric", "rps"}}, ""},
      {"initial scale is zero but cluster doesn't allow", {{p + "initial-scale", "0"}},
       "invalid value: 0: autoscaling.knative.dev/initial-scale=0 not allowed by cluster"},
      {"valid global class HPA with metric CPU", {{p + "metric", "cpu"}}, "",
       [](autoscaler_config& c) { c.pod_autoscaler_class = "hpa.autoscaling.knative.dev"; }},
      {"initial scale is zero and cluster allows", {{p + "initial-scale", "0"}}, "",
       [](autoscaler_config& c) { c.allow_zero_initial_scale = true; }},
      {"initial scale is greater than 0", {{p + "initial-scale", "2"}}, ""},
      {"initial scale is less than 0", {{p + "initial-scale", "-1"}},
       "invalid value: -1: autoscaling.knative.dev/initial-scale must be greater than 0"},
      {"initial scale non-parseable", {{p + "initial-scale", "invalid"}},
       "invalid value: invalid: autoscaling.knative.dev/initial-scale"},
      // Not in Knative's table: legacy names, our extra rules.
      {"legacy camelCase key is named in the message", {{p + "minScale", "-1"}},
       "expected 0 <= -1 <= 2147483647: autoscaling.knative.dev/minScale"},
      {"kebab-case wins over camelCase (KeyPriority)", {{p + "min-scale", "2"}, {p + "minScale", "garbage"}}, ""},
      {"legacy keys checked like the new ones", {{p + "maxScale", "2"}, {p + "minScale", "5"}},
       "max-scale=2 is less than min-scale=5: autoscaling.knative.dev/max-scale, autoscaling.knative.dev/min-scale"},
      {"activation-scale of 1", {{p + "activation-scale", "1"}},
       "activation-scale=1 must be greater than 1: autoscaling.knative.dev/activation-scale"},
      {"activation-scale not a number", {{p + "activation-scale", "two"}},
       "invalid value: two: autoscaling.knative.dev/activation-scale"},
      {"activation-scale: only the first violated rule", {{p + "min-scale", "3"}, {p + "activation-scale", "1"}},
       "min-scale=3 is greater than activation-scale=1: autoscaling.knative.dev/activation-scale"},
      {"max-scale=0 against a limit also for an unparseable max", {{p + "maxScale", "x"}},
       "invalid value: x: autoscaling.knative.dev/maxScale; "
       "max-scale=0 (unlimited), must be less than 5: autoscaling.knative.dev/maxScale",
       [](autoscaler_config& c) {
         c.max_scale_limit = 5;
         c.max_scale = 1;
       }},
      {"unknown key under the prefix (house rule)", {{p + "foo", "1"}, {p + "windows", "60s"}},
       "unknown autoscaling annotation: autoscaling.knative.dev/foo, autoscaling.knative.dev/windows"},
      {"other prefixes are ignored", {{"serving.knative.dev/creator", "me"}, {"example.com/window", "1s"}}, ""},
      {"NaN target (not in Knative)", {{p + "target", "NaN"}}, "invalid value: NaN: autoscaling.knative.dev/target"},
      // Fuzz finding (configmap_fuzz, crash-824a064a): Knative accepts an infinite target; every want is then 0.
      {"infinite target (not in Knative)", {{p + "target", "Inf"}}, "invalid value: Inf: autoscaling.knative.dev/target"},
      {"infinite burst capacity (not in Knative)", {{p + "target-burst-capacity", "+Inf"}},
       "invalid value: +Inf: autoscaling.knative.dev/target-burst-capacity"},
      {"NaN panic window (not in Knative)", {{p + "panic-window-percentage", "nan"}},
       "invalid value: nan: autoscaling.knative.dev/panic-window-percentage"},
      {"initial-scale beyond int32 (Knative's Atoi lets it through)", {{p + "initial-scale", "3000000000"}},
       "expected 0 <= 3000000000 <= 2147483647: autoscaling.knative.dev/initial-scale"},
      {"initial-scale beyond int64 is Atoi's invalid value", {{p + "initialScale", "99999999999999999999"}},
       "invalid value: 99999999999999999999: autoscaling.knative.dev/initialScale"},
      {"window bounds are inclusive", {{p + "window", "1h"}, {p + "scale-down-delay", "1h"}}, ""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    autoscaler_config config;
    if (c.config) c.config(config);
    CHECK(error_of(scale::validate_annotations(config, c.annotations)) == c.want);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Resolution

namespace {

/// Knative target_test.go / metric_test.go `config` (the fields it leaves unset keep our defaults, which those
/// tests do not read).
autoscaler_config target_test_config() {
  autoscaler_config c;
  c.enable_scale_to_zero = true;
  c.container_concurrency_target_fraction = 1.0;
  c.container_concurrency_target_default = 100.0;
  c.rps_target_default = 200.0;
  c.target_utilization = 0.7;
  c.max_scale_up_rate = 10.0;
  c.stable_window = 60s;
  c.panic_threshold_percentage = 200;
  c.panic_window_percentage = 10;
  c.scale_to_zero_grace_period = 30s;
  return c;
}

const string_map kpa_class = {{"autoscaling.knative.dev/class", "kpa.autoscaling.knative.dev"}};

string_map with(string_map base, const string_map& extra) {
  for (const auto& [k, v] : extra) base[k] = v;
  return base;
}

}  // namespace

TEST_CASE("resolve_revision: target and total, Knative TestResolveMetricTarget") {
  struct test_case {
    std::string name;
    string_map annotations;
    std::int32_t container_concurrency;
    std::function<void(autoscaler_config&)> config;
    double want_target;
    double want_total;
  };
  const std::string p = "autoscaling.knative.dev/";
  const auto fraction = [](double f) { return [f](autoscaler_config& c) { c.container_concurrency_target_fraction = f; }; };
  const std::vector<test_case> cases = {
      {"defaults", {}, 0, nullptr, 100, 100},
      {"default CC + 80% TU", {}, 0, fraction(0.8), 80, 100},
      {"non-default CC and TU", {}, 0,
       [](autoscaler_config& c) {
         c.container_concurrency_target_fraction = 0.3;
         c.container_concurrency_target_default = 2;
       },
       0.6, 2},
      {"with container concurrency 12 and TU=80%, but TU annotation 75%", {{p + "target-utilization-percentage", "75"}},
       12, fraction(0.8), 9, 12},
      {"with container concurrency 10 and TU=80%", {}, 10, fraction(0.8), 8, 10},
      {"with container concurrency 1 and TU=80%", {}, 1, fraction(0.8), 0.8, 1},
      {"with container concurrency 1", {}, 1, nullptr, 1, 1},
      {"with container concurrency 10", {}, 10, nullptr, 10, 10},
      {"with target annotation 1", {{p + "target", "1"}}, 0, nullptr, 1, 1},
      {"with target annotation 1 and TU=0.1%", {{p + "target", "1"}}, 0, fraction(0.001), 0.01, 1},
      {"with target annotation 1 and TU=75%", {{p + "target", "1"}}, 0, fraction(0.75), 0.75, 1},
      {"with target annotation 10 and TU=75%", {{p + "target", "10"}}, 0, fraction(0.75), 7.5, 10},
      {"with container concurrency greater than target annotation (ok)", {{p + "target", "1"}}, 10, nullptr, 1, 1},
      {"with target annotation greater than default (ok)", {{p + "target", "500"}}, 0, nullptr, 500, 500},
      {"with target annotation greater than container concurrency (ignore annotation for safety)",
       {{p + "target", "10"}}, 1, nullptr, 1, 1},
      {"RPS: defaults", {{p + "metric", "rps"}}, 1, nullptr, 140, 200},
      {"RPS: with target annotation 1", {{p + "metric", "rps"}, {p + "target", "1"}}, 0, nullptr, 0.7, 1},
      {"RPS: with TU annotation 75%", {{p + "metric", "rps"}, {p + "target-utilization-percentage", "75"}}, 0, nullptr,
       150, 200},
      {"RPS: with target annotation greater than default", {{p + "metric", "rps"}, {p + "target", "300"}}, 0, nullptr,
       210, 300},
      // kpa-spec.md §1.3: the RPS target is not capped by containerConcurrency (hand: total 300, 300 × 0.7 = 210).
      {"RPS: target annotation not capped by CC", {{p + "metric", "rps"}, {p + "target", "300"}}, 5, nullptr, 210,
       300},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto config = target_test_config();
    if (c.config) c.config(config);
    const auto got = scale::resolve_revision(config, with(kpa_class, c.annotations), c.container_concurrency);
    REQUIRE(error_of(got) == "");
    CHECK(got->target_value == c.want_target);
    CHECK(got->total_value == c.want_total);
  }
}

TEST_CASE("resolve_revision: panic window, Knative TestMakeMetric and TestStableWindow") {
  struct test_case {
    std::string name;
    string_map annotations;
    duration want_stable;
    duration want_panic;
  };
  const std::string p = "autoscaling.knative.dev/";
  const std::vector<test_case> cases = {
      {"defaults", {}, 60s, 6s},
      {"with too short panic window", {{p + "window", "10s"}, {p + "panic-window-percentage", "10"}}, 10s, 1s},
      {"with longer stable window, no panic window percentage, defaults to 10%", {{p + "window", "10m"}}, 10min, 1min},
      {"with longer panic window percentage", {{p + "panic-window-percentage", "50"}}, 60s, 30s},
      {"with panic window percentage+rounding", {{p + "panic-window-percentage", "51"}}, 60s, 31s},
      {"TestStableWindow: annotation 251s", {{p + "window", "251s"}}, 251s, 25s},  // hand: 25.1 s rounds to 25 s
      // Hand derivations of MakeMetric: Round(sw × pct / 100, 1 s), halves away from zero, at least 1 s.
      {"half a second rounds up", {{p + "window", "10s"}, {p + "panic-window-percentage", "15"}}, 10s, 2s},
      {"3.5 s rounds up", {{p + "window", "7s"}, {p + "panic-window-percentage", "50"}}, 7s, 4s},
      {"0.06 s becomes one bucket", {{p + "window", "6s"}, {p + "panic-window-percentage", "1"}}, 6s, 1s},
      {"1.49 s rounds down", {{p + "window", "149s"}, {p + "panic-window-percentage", "1"}}, 149s, 1s},
      {"full window", {{p + "window", "1h"}, {p + "panicWindowPercentage", "100"}}, 1h, 1h},
      {"fractional percentage", {{p + "panic-window-percentage", "2.5"}}, 60s, 2s},  // 1.5 s rounds up
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto got = scale::resolve_revision(target_test_config(), with(kpa_class, c.annotations));
    REQUIRE(error_of(got) == "");
    CHECK(got->stable_window == c.want_stable);
    CHECK(got->panic_window == c.want_panic);
  }
}

namespace {

/// Knative decider_test.go `config`; it leaves MaxScaleDownRate at 0, so we do too.
autoscaler_config decider_test_config() {
  autoscaler_config c;
  c.enable_scale_to_zero = true;
  c.container_concurrency_target_fraction = 1.0;
  c.container_concurrency_target_default = 100.0;
  c.target_burst_capacity = 211.0;
  c.max_scale_up_rate = 10.0;
  c.max_scale_down_rate = 0;
  c.rps_target_default = 100;
  c.activator_capacity = 811;
  c.target_utilization = 1.0;
  c.stable_window = 60s;
  c.panic_threshold_percentage = 200;
  c.panic_window_percentage = 10;
  c.scale_to_zero_grace_period = 30s;
  c.initial_scale = 1;
  c.allow_zero_initial_scale = false;
  return c;
}

/// Knative decider_test.go `decider()` before options.
scale::decider_spec decider_test_spec() {
  scale::decider_spec d;
  d.max_scale_up_rate = 10;
  d.max_scale_down_rate = 0;
  d.metric = scale::scaling_metric::concurrency;
  d.target_value = 100;
  d.total_value = 100;
  d.target_burst_capacity = 211;
  d.panic_threshold = 2.0;  // every Knative row sets withPanicThreshold(2.0) unless it tests another value
  d.activator_capacity = 811;
  d.stable_window = 60s;
  d.scale_down_delay = 0s;
  d.initial_scale = 1;
  d.reachable = true;
  d.activation_scale = 0;
  return d;
}

}  // namespace

TEST_CASE("make_decider_spec: Knative TestMakeDecider") {
  struct test_case {
    std::string name;
    string_map annotations;
    std::int32_t container_concurrency;
    bool reachable;
    std::function<void(autoscaler_config&)> config;
    std::function<void(scale::decider_spec&)> want;
  };
  const std::string p = "autoscaling.knative.dev/";
  const std::vector<test_case> cases = {
      {"defaults", {}, 0, true, nullptr, nullptr},
      {"unreachable", {}, 0, false, nullptr, [](scale::decider_spec& d) { d.reachable = false; }},
      {"explicit reachable", {}, 0, true, nullptr, nullptr},
      {"tu < 1", {}, 0, true, [](autoscaler_config& c) { c.container_concurrency_target_fraction = 0.8; },
       [](scale::decider_spec& d) { d.target_value = 80; }},
      {"scale up and scale down rates", {}, 0, true,
       [](autoscaler_config& c) {
         c.max_scale_up_rate = 19.84;
         c.max_scale_down_rate = 19.88;
       },
       [](scale::decider_spec& d) {
         d.max_scale_up_rate = 19.84;
         d.max_scale_down_rate = 19.88;
       }},
      {"with container concurrency 1", {}, 1, true, nullptr,
       [](scale::decider_spec& d) {
         d.target_value = 1;
         d.total_value = 1;
       }},
      {"with target annotation 1", {{p + "target", "1"}}, 0, true, nullptr,
       [](scale::decider_spec& d) {
         d.target_value = 1;
         d.total_value = 1;
       }},
      {"with container concurrency and tu < 1", {}, 100, true,
       [](autoscaler_config& c) { c.container_concurrency_target_fraction = 0.8; },
       [](scale::decider_spec& d) { d.target_value = 80; }},
      {"with burst capacity set", {}, 120, true,
       [](autoscaler_config& c) {
         c.target_burst_capacity = 63;
         c.container_concurrency_target_fraction = 0.8;
       },
       [](scale::decider_spec& d) {
         d.target_value = 96;
         d.total_value = 120;
         d.target_burst_capacity = 63;
       }},
      {"with activator capacity override", {}, 0, true, [](autoscaler_config& c) { c.activator_capacity = 420; },
       [](scale::decider_spec& d) { d.activator_capacity = 420; }},
      {"with burst capacity set on the annotation", {{p + "target-burst-capacity", "211"}}, 120, true,
       [](autoscaler_config& c) {
         c.target_burst_capacity = 63;
         c.container_concurrency_target_fraction = 0.8;
       },
       [](scale::decider_spec& d) {
         d.target_value = 96;
         d.total_value = 120;
         d.target_burst_capacity = 211;
       }},
      {"with container concurrency greater than target annotation (ok)", {{p + "target", "1"}}, 10, true, nullptr,
       [](scale::decider_spec& d) {
         d.target_value = 1;
         d.total_value = 1;
       }},
      {"with target annotation greater than container concurrency (ignore annotation for safety)",
       {{p + "target", "10"}}, 1, true, nullptr,
       [](scale::decider_spec& d) {
         d.target_value = 1;
         d.total_value = 1;
       }},
      {"with higher panic target", {{p + "target", "10"}, {p + "panic-threshold-percentage", "400"}}, 0, true, nullptr,
       [](scale::decider_spec& d) {
         d.target_value = 10;
         d.total_value = 10;
         d.panic_threshold = 4.0;
       }},
      {"with metric annotation", {{p + "metric", "rps"}}, 0, true, nullptr,
       [](scale::decider_spec& d) { d.metric = scale::scaling_metric::rps; }},
      {"with scale down delay from config", {}, 0, true, [](autoscaler_config& c) { c.scale_down_delay = 5min; },
       [](scale::decider_spec& d) { d.scale_down_delay = 5min; }},
      {"with scale down delay from annotation", {{p + "scale-down-delay", "10m"}}, 0, true,
       [](autoscaler_config& c) { c.scale_down_delay = 5min; },
       [](scale::decider_spec& d) { d.scale_down_delay = 10min; }},
      {"with initial scale", {{p + "initial-scale", "2"}}, 0, true, nullptr,
       [](scale::decider_spec& d) { d.initial_scale = 2; }},
      {"with activation-scale", {{p + "activation-scale", "3"}}, 0, true, nullptr,
       [](scale::decider_spec& d) { d.activation_scale = 3; }},
      // Not in Knative's table: the legacy names reach the decider too (register.go KeyPriority).
      {"legacy names", {{p + "targetBurstCapacity", "-1"}, {p + "scaleDownDelay", "30s"},
                        {p + "panicThresholdPercentage", "150"}, {p + "initialScale", "3"}},
       0, true, nullptr,
       [](scale::decider_spec& d) {
         d.target_burst_capacity = -1;
         d.scale_down_delay = 30s;
         d.panic_threshold = 1.5;
         d.initial_scale = 3;
       }},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto config = decider_test_config();
    if (c.config) c.config(config);
    auto want = decider_test_spec();
    if (c.want) c.want(want);
    const auto revision = scale::resolve_revision(
        config, with({{p + "class", "kpa.autoscaling.knative.dev"}, {p + "metric", "concurrency"}}, c.annotations),
        c.container_concurrency);
    REQUIRE(error_of(revision) == "");
    CHECK(scale::make_decider_spec(revision.value(), c.reachable) == want);
  }
}

TEST_CASE("resolve_revision: initial scale, Knative TestGetInitialScale") {
  struct test_case {
    std::string name;
    string_map annotations;
    bool allow_zero;
    std::string want;  // the initial scale, or the error
  };
  const std::string p = "autoscaling.knative.dev/";
  const std::vector<test_case> cases = {
      {"revision initial scale not set", {}, false, "1"},
      {"revision initial scale overrides cluster initial scale", {{p + "initial-scale", "2"}}, false, "2"},
      {"cluster allows initial scale zero", {{p + "initial-scale", "0"}}, true, "0"},
      // Knative's GetInitialScale falls back to the config (1) here, but its webhook never lets the value in;
      // we apply the webhook rule.
      {"cluster does not allows initial scale zero", {{p + "initial-scale", "0"}}, false,
       "invalid value: 0: autoscaling.knative.dev/initial-scale=0 not allowed by cluster"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto config = scale::parse_autoscaler_config({});
    REQUIRE(config);
    config.value().allow_zero_initial_scale = c.allow_zero;
    const auto got = scale::resolve_revision(config.value(), with(kpa_class, c.annotations));
    CHECK((got ? std::to_string(got->initial_scale) : got.error_value().message) == c.want);
  }
}

TEST_CASE("resolve_revision: the default config resolves to the default values") {
  // revision_autoscaling{} and decider_spec{} are documented as the default config's resolution.
  const auto got = scale::resolve_revision(autoscaler_config{}, {});
  REQUIRE(error_of(got) == "");
  CHECK(got.value() == revision_autoscaling{});
  CHECK(scale::make_decider_spec(got.value()) == scale::decider_spec{});
}

TEST_CASE("resolve_revision: every annotation and config value lands in its field") {
  // Hand derivations from MakeDecider, ResolveMetricTarget, MakeMetric and ScaleBounds (kpa-spec.md §1.2, §1.3, §9).
  const std::string p = "autoscaling.knative.dev/";
  autoscaler_config config;
  config.enable_scale_to_zero = false;
  config.scale_to_zero_grace_period = 45s;
  config.max_scale_up_rate = 3;
  config.max_scale_down_rate = 1.5;
  config.activator_capacity = 50;
  config.min_scale = 1;
  config.max_scale = 20;
  const string_map annotations = {
      {p + "class", "kpa.autoscaling.knative.dev"},
      {p + "metric", "rps"},
      {p + "metricAggregationAlgorithm", "weightedExponential"},
      {p + "target", "50"},
      {p + "targetUtilizationPercentage", "80"},
      {p + "target-burst-capacity", "0"},
      {p + "panic-threshold-percentage", "300"},
      {p + "window", "2m"},
      {p + "panic-window-percentage", "25"},
      {p + "scale-down-delay", "90s"},
      {p + "scale-to-zero-pod-retention-period", "1m30s"},
      {p + "min-scale", "2"},
      {p + "max-scale", "8"},
      {p + "initial-scale", "4"},
      {p + "activation-scale", "3"},
      {"serving.knative.dev/creator", "ignored"},
  };
  revision_autoscaling want;
  want.metric = scale::scaling_metric::rps;
  want.algorithm = scale::window_algorithm::weighted_exponential;
  want.total_value = 50;
  want.target_value = 40;  // 50 × 0.8
  want.target_burst_capacity = 0;
  want.panic_threshold = 3;
  want.stable_window = 2min;
  want.panic_window = 30s;  // 120 s × 25 %
  want.scale_down_delay = 90s;
  want.scale_to_zero_grace_period = 45s;
  want.pod_retention = 90s;
  want.min_scale = 2;
  want.max_scale = 8;
  want.initial_scale = 4;
  want.activation_scale = 3;
  want.enable_scale_to_zero = false;
  want.max_scale_up_rate = 3;
  want.max_scale_down_rate = 1.5;
  want.activator_capacity = 50;
  want.container_concurrency = 10;
  const auto got = scale::resolve_revision(config, annotations, 10);
  REQUIRE(error_of(got) == "");
  CHECK(got.value() == want);

  // Without annotations the config's bounds and retention apply.
  config.scale_to_zero_pod_retention_period = 10s;
  const auto plain = scale::resolve_revision(config, {});
  REQUIRE(error_of(plain) == "");
  CHECK(plain->min_scale == 1);
  CHECK(plain->max_scale == 20);
  CHECK(plain->pod_retention == 10s);
  CHECK(plain->algorithm == scale::window_algorithm::linear);
}

TEST_CASE("resolve_revision: rejects what the KPA model cannot run") {
  struct test_case {
    std::string name;
    std::function<void(autoscaler_config&)> config;
    string_map annotations;
    std::int32_t container_concurrency;
    std::string want;
  };
  const std::string p = "autoscaling.knative.dev/";
  const std::vector<test_case> cases = {
      {"HPA class by annotation", nullptr, {{p + "class", "hpa.autoscaling.knative.dev"}, {p + "metric", "cpu"}}, 0,
       "unsupported pod autoscaler class hpa.autoscaling.knative.dev (only kpa.autoscaling.knative.dev is modelled): "
       "autoscaling.knative.dev/class"},
      {"custom class by config", [](autoscaler_config& c) { c.pod_autoscaler_class = "some.class"; }, {}, 0,
       "unsupported pod autoscaler class some.class (only kpa.autoscaling.knative.dev is modelled): "
       "pod-autoscaler-class"},
      {"unknown algorithm without a class annotation (Knative would average linearly)", nullptr,
       {{p + "metric-aggregation-algorithm", "random-selection"}}, 0,
       "invalid value: random-selection: autoscaling.knative.dev/metric-aggregation-algorithm"},
      {"invalid annotations are reported before anything else", nullptr, {{p + "window", "5s"}}, 0,
       "expected 6s <= 5s <= 1h0m0s: autoscaling.knative.dev/window"},
      {"negative container concurrency", nullptr, {}, -1, "container concurrency = -1, must be at least 0"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    autoscaler_config config;
    if (c.config) c.config(config);
    CHECK(error_of(scale::resolve_revision(config, c.annotations, c.container_concurrency)) == c.want);
  }
}

TEST_CASE("resolve_revision: an empty algorithm and the algorithm spellings") {
  // register.go: "linear", "weighted-exponential" and its alternate casing "weightedExponential"; empty is linear
  // (metric_lifecycle.go: AggregationAlgorithm returns it, collector.go only switches on weighted-exponential).
  struct test_case {
    std::string value;
    scale::window_algorithm want;
  };
  const std::vector<test_case> cases = {
      {"", scale::window_algorithm::linear},
      {"linear", scale::window_algorithm::linear},
      {"weighted-exponential", scale::window_algorithm::weighted_exponential},
      {"weightedExponential", scale::window_algorithm::weighted_exponential},
  };
  for (const auto& c : cases) {
    CAPTURE(c.value);
    const auto got =
        scale::resolve_revision(autoscaler_config{}, {{"autoscaling.knative.dev/metric-aggregation-algorithm", c.value}});
    REQUIRE(error_of(got) == "");
    CHECK(got->algorithm == c.want);
  }
}

TEST_CASE("resolve_revision: min and max scale, Knative TestScaleBounds (reachable rows)") {
  // Knative pa_lifecycle_test.go TestScaleBounds. The unreachable rows (min forced to 0) are the KPA's rule, not
  // resolution's; "malformed" is an error here because the webhook rule runs first.
  struct test_case {
    std::string name;
    std::string min;  // annotation, empty = absent
    std::string max;
    std::int32_t config_min;
    std::int32_t config_max;
    std::string want;  // "min max" or the error
  };
  const std::vector<test_case> cases = {
      {"present", "1", "100", 0, 0, "1 100"},
      {"absent", "", "", 0, 0, "0 0"},
      {"only min", "1", "", 0, 0, "1 0"},
      {"only min, overridden", "1", "", 0, 10, "1 10"},
      {"max and config", "", "5", 0, 10, "0 5"},
      {"only max", "", "1", 0, 0, "0 1"},
      {"min-scale set in config", "", "", 2, 0, "2 0"},
      {"malformed", "ham", "sandwich", 0, 0,
       "invalid value: ham: autoscaling.knative.dev/min-scale; invalid value: sandwich: autoscaling.knative.dev/max-scale"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    autoscaler_config config;
    config.min_scale = c.config_min;
    config.max_scale = c.config_max;
    string_map annotations;
    if (!c.min.empty()) annotations["autoscaling.knative.dev/min-scale"] = c.min;
    if (!c.max.empty()) annotations["autoscaling.knative.dev/max-scale"] = c.max;
    const auto got = scale::resolve_revision(config, annotations);
    CHECK((got ? std::to_string(got->min_scale) + " " + std::to_string(got->max_scale) : got.error_value().message) ==
          c.want);
  }
}
