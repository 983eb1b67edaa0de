#include <adapter/admin_server.hpp>

#include <doctest/doctest.h>

#include <curl/curl.h>

#include <string>

using scale::adapter::adapter_metrics;
using scale::adapter::admin_route;
using scale::adapter::render_metrics;
using scale::adapter::target_metrics;

namespace {

adapter_metrics sample() {
  target_metrics t;
  t.namespace_name = "demo";
  t.name = "hel\"lo";
  t.mode = "proxy";
  t.status.desired = 2;
  t.status.current = 1;
  t.status.ready = 1;
  t.status.panic_mode = true;
  t.status.stable_average = 1.5;
  t.status.panic_average = 3.25;
  t.status.api_errors = 4;
  t.status.writes = 7;
  t.proxy.queued = 3;
  t.proxy.forwarded_total = 10;
  t.proxy.failed_timeout_total = 1;
  t.proxy.failed_queue_full_total = 2;
  return adapter_metrics{{t}, true, true};
}

std::size_t collect(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

TEST_CASE("the metrics page: one sample per target with escaped labels") {
  const std::string page = render_metrics(sample());
  // Values from sample(); the label value's quote is escaped as the text format says.
  const char* expected[] = {
      "# TYPE scale_adapter_desired_replicas gauge\n",
      "scale_adapter_desired_replicas{namespace=\"demo\",name=\"hel\\\"lo\"} 2\n",
      "scale_adapter_current_replicas{namespace=\"demo\",name=\"hel\\\"lo\"} 1\n",
      "scale_adapter_ready_pods{namespace=\"demo\",name=\"hel\\\"lo\"} 1\n",
      "scale_adapter_panic_mode{namespace=\"demo\",name=\"hel\\\"lo\"} 1\n",
      "scale_adapter_stable_average{namespace=\"demo\",name=\"hel\\\"lo\"} 1.5\n",
      "scale_adapter_panic_average{namespace=\"demo\",name=\"hel\\\"lo\"} 3.25\n",
      "scale_adapter_queued_requests{namespace=\"demo\",name=\"hel\\\"lo\"} 3\n",
      "# TYPE scale_adapter_forwarded_requests_total counter\n",
      "scale_adapter_forwarded_requests_total{namespace=\"demo\",name=\"hel\\\"lo\"} 10\n",
      // queue full 2 + timeout 1 + backend error 0.
      "scale_adapter_failed_requests_total{namespace=\"demo\",name=\"hel\\\"lo\"} 3\n",
      "scale_adapter_api_errors_total{namespace=\"demo\",name=\"hel\\\"lo\"} 4\n",
      "scale_adapter_leader 1\n",
  };
  for (const char* line : expected) {
    CAPTURE(line);
    CHECK(page.find(line) != std::string::npos);
  }
}

TEST_CASE("admin routes") {
  struct route_case {
    std::string method;
    std::string path;
    bool ready;
    int status;
  };
  const route_case cases[] = {
      {"GET", "/healthz", false, 200}, {"GET", "/readyz", false, 503}, {"GET", "/readyz", true, 200},
      {"GET", "/metrics?x=1", false, 200}, {"GET", "/nope", true, 404}, {"POST", "/metrics", true, 405},
  };
  for (const auto& c : cases) {
    CAPTURE(c.path);
    adapter_metrics m = sample();
    m.ready = c.ready;
    CHECK(admin_route(c.method, c.path, m).status == c.status);
  }
  CHECK(admin_route("GET", "/metrics", sample()).content_type == "text/plain; version=0.0.4; charset=utf-8");
}

TEST_CASE("the admin server answers over a real socket") {
  auto server = scale::adapter::admin_server::start("127.0.0.1", 0, [] { return sample(); });
  REQUIRE_MESSAGE(server.has_value(), (server ? "" : server.error_value().message));
  const std::string base = "http://127.0.0.1:" + std::to_string(server.value()->port());
  CURL* c = curl_easy_init();
  for (const auto& [path, status] : {std::pair{"/metrics", 200L}, std::pair{"/readyz", 200L}, std::pair{"/x", 404L}}) {
    CAPTURE(path);
    std::string body;
    curl_easy_setopt(c, CURLOPT_URL, (base + path).c_str());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    REQUIRE(curl_easy_perform(c) == CURLE_OK);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    CHECK(code == status);
    if (status == 200 && std::string(path) == "/metrics") CHECK(body.find("scale_adapter_leader 1") != std::string::npos);
  }
  curl_easy_cleanup(c);
  server.value()->stop();
  // A port in use is an error naming the address.
  auto first = scale::adapter::admin_server::start("127.0.0.1", 0, [] { return sample(); });
  REQUIRE(first.has_value());
  const auto taken = scale::adapter::admin_server::start("127.0.0.1", first.value()->port(), [] { return sample(); });
  REQUIRE_FALSE(taken.has_value());
  CHECK(taken.error_value().message.rfind("admin server: cannot listen on 127.0.0.1:", 0) == 0);
}
