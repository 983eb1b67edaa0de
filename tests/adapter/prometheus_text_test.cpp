#include "adapter/prometheus_text.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#ifndef LIBSCALE_TEST_DATA_DIR
#define LIBSCALE_TEST_DATA_DIR "tests/data"
#endif

using scale::adapter::app_gauge;
using scale::adapter::gauge_meaning;
using scale::adapter::label;
using scale::adapter::label_matcher;
using scale::adapter::metric_type;
using scale::adapter::parse_prometheus_text;
using scale::adapter::sample;
using scale::adapter::stat_message;

namespace {

const std::filesystem::path data_dir = std::filesystem::path(LIBSCALE_TEST_DATA_DIR) / "adapter" / "metrics";

std::string read_fixture(const std::string& name) {
  std::ifstream in(data_dir / name, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "missing fixture " << (data_dir / name).string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

scale::adapter::exposition parse_fixture(const std::string& name) {
  const auto page = parse_prometheus_text(read_fixture(name));
  REQUIRE_MESSAGE(page.has_value(), page.error_value().message);
  return *page;
}

constexpr double inf = std::numeric_limits<double>::infinity();

}  // namespace

TEST_CASE("parse_prometheus_text reads single sample lines") {
  struct test_case {
    std::string name;
    std::string input;
    sample want;
  };
  const std::vector<test_case> cases = {
      {"bare name", "up 1", sample{.name = "up", .value = 1, .line = 1}},
      {"colons and digits in the name", "job:rate5m_2 0.5", sample{.name = "job:rate5m_2", .value = 0.5, .line = 1}},
      {"labels", R"(m{a="x",b="y"} 2)",
       sample{.name = "m", .labels = {label{"a", "x"}, label{"b", "y"}}, .value = 2, .line = 1}},
      {"empty label set and no blank before the value", "m{}3", sample{.name = "m", .value = 3, .line = 1}},
      {"trailing comma and blanks inside braces", "m{ a = \"x\" , }\t4",
       sample{.name = "m", .labels = {label{"a", "x"}}, .value = 4, .line = 1}},
      // Escapes: \\ → \, \" → ", \n → newline (exposition format 0.0.4).
      {"escaped label value", R"(m{a="b\\c\"d\ne"} 5)",
       sample{.name = "m", .labels = {label{"a", "b\\c\"d\ne"}}, .value = 5, .line = 1}},
      {"empty label value", R"(m{a=""} 6)", sample{.name = "m", .labels = {label{"a", ""}}, .value = 6, .line = 1}},
      {"exponent", "m 1.5e3", sample{.name = "m", .value = 1500, .line = 1}},
      {"leading plus", "m +7", sample{.name = "m", .value = 7, .line = 1}},
      {"negative", "m -0.25", sample{.name = "m", .value = -0.25, .line = 1}},
      {"+Inf", "m +Inf", sample{.name = "m", .value = inf, .line = 1}},
      {"-Inf", "m -Inf", sample{.name = "m", .value = -inf, .line = 1}},
      {"timestamp", "m 1 1700000000000", sample{.name = "m", .value = 1, .timestamp_ms = 1700000000000, .line = 1}},
      {"negative timestamp", "m 1 -5", sample{.name = "m", .value = 1, .timestamp_ms = -5, .line = 1}},
      {"leading and trailing blanks", " \t m 2 \t", sample{.name = "m", .value = 2, .line = 1}},
      {"after comments and blank lines", "# c\n\n# HELP m h\n# TYPE m gauge\nm 8\n",
       sample{.name = "m", .value = 8, .line = 5}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto page = parse_prometheus_text(c.input);
    REQUIRE_MESSAGE(page.has_value(), page.error_value().message);
    REQUIRE(page->samples.size() == 1);
    CHECK(page->samples[0] == c.want);
  }
  const auto nan_page = parse_prometheus_text("m NaN");
  REQUIRE(nan_page.has_value());
  CHECK(std::isnan(nan_page->samples.at(0).value));
}

TEST_CASE("parse_prometheus_text errors name the line and what was expected") {
  struct test_case {
    std::string name;
    std::string input;
    std::string want;
  };
  const std::vector<test_case> cases = {
      {"name starts with a digit", "1m 1", "line 1: expected a metric name or '#', got '1'"},
      {"no value", "m", "line 1: expected a value for m, got end of line"},
      {"no value after labels", "m{a=\"x\"}  ", "line 1: expected a value for m, got end of line"},
      {"bad value", "m 1x", "line 1: expected a number, NaN, +Inf or -Inf as the value of m, got \"1x\""},
      {"value too large", "m 1e999", "line 1: expected a number, NaN, +Inf or -Inf as the value of m, got \"1e999\""},
      {"double sign", "m +-1", "line 1: expected a number, NaN, +Inf or -Inf as the value of m, got \"+-1\""},
      {"bad timestamp", "m 1 2.5",
       "line 1: expected an integer timestamp in milliseconds after the value of m, got \"2.5\""},
      {"extra token", "m 1 2 3", "line 1: expected end of line after the timestamp, got '3'"},
      {"bad character after the name", "m=1", "line 1: expected '{' or a blank after metric name m, got '='"},
      {"label name starts with a digit", "m{1a=\"x\"} 1", "line 1: expected a label name or '}', got '1'"},
      {"no equals sign", "m{a \"x\"} 1", "line 1: expected '=' after label name a, got '\"'"},
      {"unquoted label value", "m{a=x} 1", "line 1: expected '\"' to open the value of label a, got 'x'"},
      {"unterminated label value", "m{a=\"x} 1", "line 1: expected '\"' to close the value of label a, got end of line"},
      {"bad escape", R"(m{a="\t"} 1)", "line 1: expected an escape (\\\\, \\\" or \\n) in the value of label a, got 't'"},
      {"missing comma", "m{a=\"x\" b=\"y\"} 1", "line 1: expected ',' or '}' after a label value, got 'b'"},
      {"unclosed braces", "m{a=\"x\"", "line 1: expected ',' or '}' after a label value, got end of line"},
      {"duplicate label", "m{a=\"x\",a=\"y\"} 1", "line 1: label a appears twice"},
      {"error on a later line", "# ok\nm 1\n\nm{ 2", "line 4: expected a label name or '}', got '2'"},
      {"unknown type", "# TYPE m meter", "line 1: expected counter, gauge, histogram, summary or untyped, got \"meter\""},
      {"missing type", "# TYPE m", "line 1: expected counter, gauge, histogram, summary or untyped, got \"\""},
      {"type with extra words", "# TYPE m gauge x", "line 1: expected end of line after the type, got 'x'"},
      {"TYPE without a name", "# TYPE", "line 1: expected a metric name after # TYPE, got end of line"},
      {"HELP with a bad name", "# HELP 9 text", "line 1: expected a metric name after # HELP, got '9'"},
      {"bad escape in HELP", "# HELP m a\\tb", "line 1: expected an escape (\\\\ or \\n) in HELP text, got 't'"},
      {"second TYPE", "# TYPE m gauge\nm 1\n# TYPE m counter",
       "line 3: second # TYPE line for metric m (the first is on line 1)"},
      {"second HELP", "# HELP m a\n# HELP m b", "line 2: second # HELP line for metric m (the first is on line 1)"},
      {"carriage return", "m 1\r\n", "line 1: expected a number, NaN, +Inf or -Inf as the value of m, got \"1\\x0d\""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto page = parse_prometheus_text(c.input);
    REQUIRE_FALSE(page.has_value());
    CHECK(page.error_value().message == c.want);
  }
}

TEST_CASE("parse_prometheus_text reads an application's page") {
  const auto page = parse_fixture("app-page.txt");
  // app-page.txt: 15 sample lines; comments, HELP, TYPE and the blank line 9 add none.
  REQUIRE(page.samples.size() == 15);
  CHECK(page.samples[0] == sample{.name = "go_goroutines", .value = 12, .line = 4});
  CHECK(page.samples[1] == sample{.name = "http_requests_total",
                                  .labels = {label{"code", "200"}, label{"handler", "/hello"}},
                                  .value = 1027,
                                  .timestamp_ms = 1700000000000,
                                  .line = 7});
  CHECK(page.samples[4] == sample{.name = "http_request_duration_seconds_bucket",
                                  .labels = {label{"handler", "/hello"}, label{"le", "+Inf"}},
                                  .value = 1030,
                                  .line = 13});
  CHECK(page.samples[9] ==
        sample{.name = "app_inflight_requests", .labels = {label{"handler", "/odd \"path\"\\x\nnext"}}, .value = 1,
               .line = 20});
  CHECK(page.samples[10] ==
        sample{.name = "app_request_rate", .labels = {label{"handler", "/hello"}}, .value = 41.5, .line = 21});
  CHECK(std::isnan(page.samples[11].value));
  CHECK(page.samples[12].value == inf);
  CHECK(page.samples[13].value == -inf);
  CHECK(page.samples[14] == sample{.name = "app_tiny", .value = 1.5e-3, .timestamp_ms = -42, .line = 26});
  CHECK(page.type_of("go_goroutines") == metric_type::gauge);
  CHECK(page.type_of("http_requests_total") == metric_type::counter);
  CHECK(page.type_of("http_request_duration_seconds") == metric_type::histogram);
  CHECK(page.type_of("app_temperature") == metric_type::untyped);
  CHECK(page.type_of("app_request_rate") == metric_type::untyped);
}

TEST_CASE("find_sample picks exactly one series") {
  const auto page = parse_fixture("app-page.txt");
  struct test_case {
    std::string name;
    std::string metric;
    std::vector<label_matcher> matchers;
    double want_value;  // when want_error is empty
    std::string want_error;
  };
  const std::vector<test_case> cases = {
      {"unlabelled", "go_goroutines", {}, 12, ""},
      {"one label picks one of two", "http_requests_total", {{"code", "503"}}, 3, ""},
      {"every label", "http_requests_total", {{"handler", "/hello"}, {"code", "200"}}, 1027, ""},
      {"escaped value", "app_inflight_requests", {{"handler", "/odd \"path\"\\x\nnext"}}, 1, ""},
      {"ambiguous", "http_requests_total", {{"handler", "/hello"}}, 0,
       "2 samples match http_requests_total{handler=\"/hello\"} (lines 7, 8); add labels to pick one"},
      {"ambiguous without labels", "app_inflight_requests", {}, 0,
       "3 samples match app_inflight_requests (lines 18, 19, 20); add labels to pick one"},
      {"absent name", "app_queue_depth", {}, 0, "no sample app_queue_depth"},
      {"absent label value", "app_inflight_requests", {{"handler", "/x\"y"}}, 0,
       "no sample app_inflight_requests{handler=\"/x\\\"y\"}"},
      {"a histogram's family name has no sample", "http_request_duration_seconds", {}, 0,
       "no sample http_request_duration_seconds"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto got = scale::adapter::find_sample(page, c.metric, c.matchers);
    if (c.want_error.empty()) {
      REQUIRE_MESSAGE(got.has_value(), got.error_value().message);
      CHECK(got->value == c.want_value);
    } else {
      REQUIRE_FALSE(got.has_value());
      CHECK(got.error_value().message == c.want_error);
    }
  }
}

TEST_CASE("stat_from_queue_proxy_text maps an old queue-proxy page") {
  const auto page = parse_fixture("queue-proxy-v1.5.txt");
  const auto stat = scale::adapter::stat_from_queue_proxy_text(page);
  REQUIRE_MESSAGE(stat.has_value(), stat.error_value().message);
  // queue-proxy-v1.5.txt; gauge → field as in Knative v1.5 prometheus_stats_reporter.go (cluster-adapter.md §5).
  CHECK(*stat == stat_message{.pod_name = "hello-00001-deployment-5d8f7c9b6-7xk2p",
                              .average_concurrent_requests = 2.5,
                              .average_proxied_concurrent_requests = 0.5,
                              .request_count = 10,
                              .proxied_request_count = 1,
                              .process_uptime = 3642.184});
}

TEST_CASE("stat_from_queue_proxy_text rejects incomplete or bad pages") {
  const std::string good = "queue_average_concurrent_requests 1\nqueue_average_proxied_concurrent_requests 0\n"
                           "queue_requests_per_second 2\nqueue_proxied_operations_per_second 0\n";
  struct test_case {
    std::string name;
    std::string input;
    std::string want;  // empty: accepted
  };
  const std::vector<test_case> cases = {
      {"minimal page, no uptime and no pod label", good, ""},
      {"missing gauge", "queue_average_concurrent_requests 1\n",
       "queue-proxy text: no sample queue_average_proxied_concurrent_requests"},
      {"negative", good + "process_uptime -3\n",
       "queue-proxy text: process_uptime on line 5 is -3, expected a finite number >= 0"},
      {"NaN", "queue_average_concurrent_requests NaN\n",
       "queue-proxy text: queue_average_concurrent_requests on line 1 is nan, expected a finite number >= 0"},
      {"two series", good + "queue_requests_per_second{destination_pod=\"b\"} 2\n",
       "queue-proxy text: 2 samples match queue_requests_per_second (lines 3, 5); add labels to pick one"},
      {"an app page", read_fixture("app-page.txt"),
       "queue-proxy text: no sample queue_average_concurrent_requests"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto page = parse_prometheus_text(c.input);
    REQUIRE_MESSAGE(page.has_value(), page.error_value().message);
    const auto stat = scale::adapter::stat_from_queue_proxy_text(*page);
    if (c.want.empty()) {
      REQUIRE_MESSAGE(stat.has_value(), stat.error_value().message);
      CHECK(*stat == stat_message{.average_concurrent_requests = 1, .request_count = 2});
    } else {
      REQUIRE_FALSE(stat.has_value());
      CHECK(stat.error_value().message == c.want);
    }
  }
}

TEST_CASE("stat_from_app_gauge reads the named gauge as concurrency or rate") {
  const auto page = parse_fixture("app-page.txt");
  struct test_case {
    std::string name;
    app_gauge gauge;
    scale::pod_stat want;
    std::string want_error;
  };
  const std::vector<test_case> cases = {
      {"concurrency", app_gauge{.metric = "app_inflight_requests", .labels = {{"handler", "/hello"}}},
       scale::pod_stat{.average_concurrency = 3.25}, ""},
      {"rps from an untyped sample",
       app_gauge{.metric = "app_request_rate", .labels = {}, .meaning = gauge_meaning::rps},
       scale::pod_stat{.request_count = 41.5}, ""},
      {"zero", app_gauge{.metric = "app_inflight_requests", .labels = {{"handler", "/admin"}}}, scale::pod_stat{}, ""},
      {"a counter is refused", app_gauge{.metric = "http_requests_total", .labels = {{"code", "200"}}}, {},
       "metric http_requests_total is a counter, expected a gauge (a level or a rate, not a running total)"},
      {"NaN", app_gauge{.metric = "app_temperature"}, {},
       "app_temperature on line 23 is nan, expected a finite number >= 0"},
      {"infinity", app_gauge{.metric = "app_limit"}, {}, "app_limit on line 24 is inf, expected a finite number >= 0"},
      {"ambiguous", app_gauge{.metric = "app_inflight_requests"}, {},
       "3 samples match app_inflight_requests (lines 18, 19, 20); add labels to pick one"},
      {"absent", app_gauge{.metric = "app_inflight_requests", .labels = {{"handler", "/none"}}}, {},
       "no sample app_inflight_requests{handler=\"/none\"}"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto got = scale::adapter::stat_from_app_gauge(page, c.gauge);
    if (c.want_error.empty()) {
      REQUIRE_MESSAGE(got.has_value(), got.error_value().message);
      CHECK(*got == c.want);
    } else {
      REQUIRE_FALSE(got.has_value());
      CHECK(got.error_value().message == c.want_error);
    }
  }
}

TEST_CASE("describe_series escapes label values") {
  const std::vector<label_matcher> matchers = {{"a", "x"}, {"b", "q\"\\\n"}};
  CHECK(scale::adapter::describe_series("m", matchers) == R"(m{a="x",b="q\"\\\n"})");
  CHECK(scale::adapter::describe_series("m", {}) == "m");
}
