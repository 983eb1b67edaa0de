#include <kube/pods.hpp>

#include <doctest/doctest.h>

#include <fake_apiserver.hpp>

#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using scale::kube::pod_info;
using scale::kube::pod_port_rule;
using scale::kube::watch_event;

// The test API server lets anonymous do nothing (§1.5): every test client carries this token.
class fixed_token : public scale::kube::credential_source {
 public:
  scale::result<scale::kube::credentials> current() override { return scale::kube::credentials{"adapter-token", "", "", {}}; }
  scale::result<scale::kube::credentials> refresh_after_unauthorized() override { return current(); }
};

scale::fake_k8s::server_options with_token(scale::fake_k8s::server_options options = {}) {
  options.tokens = {{"adapter-token", "adapter"}};
  return options;
}

// §4.3: a pod whose status was set by hand through /status (observed shape, trimmed).
json pod(const std::string& name, const std::string& phase, const std::string& ready, bool deleting = false) {
  json p = {{"kind", "Pod"},
            {"apiVersion", "v1"},
            {"metadata", {{"name", name}, {"namespace", "default"}, {"resourceVersion", "41"}}},
            {"spec", {{"containers", {{{"name", "app"}, {"ports", {{{"containerPort", 8080}}}}}}}}},
            {"status",
             {{"phase", phase},
              {"podIP", "10.0.0.7"},
              {"conditions", {{{"type", "PodScheduled"}, {"status", "True"}}, {{"type", "Ready"}, {"status", ready}}}}}}};
  if (deleting) p["metadata"]["deletionTimestamp"] = "2026-11-26T17:20:00Z";
  return p;
}

// Polls `done` every 10 ms for up to 20 s (a bound for a loaded machine, not a timing assertion).
bool eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 2000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

}  // namespace

TEST_CASE("pod_is_ready is Running, no deletionTimestamp and Ready=True (cluster-adapter.md 4.3)") {
  struct test_case {
    const char* what;
    json pod;
    bool want;
  };
  json no_conditions = pod("a", "Running", "True");
  no_conditions["status"].erase("conditions");
  json no_ready = pod("a", "Running", "True");
  no_ready["status"]["conditions"] = json::array({{{"type", "PodScheduled"}, {"status", "True"}}});
  json null_deletion = pod("a", "Running", "True");
  null_deletion["metadata"]["deletionTimestamp"] = nullptr;
  const std::vector<test_case> cases = {
      {"running and ready", pod("a", "Running", "True"), true},
      {"not ready", pod("a", "Running", "False"), false},
      {"ready unknown", pod("a", "Running", "Unknown"), false},
      {"pending", pod("a", "Pending", "True"), false},
      {"succeeded", pod("a", "Succeeded", "True"), false},
      {"terminating stays Running for a while", pod("a", "Running", "True", true), false},
      {"null deletionTimestamp is absent", null_deletion, true},
      {"no conditions", no_conditions, false},
      {"no Ready condition", no_ready, false},
      {"not an object", json::array(), false},
      {"conditions of the wrong type", json{{"metadata", json::object()}, {"status", {{"phase", "Running"}, {"conditions", 5}}}}, false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    CHECK(scale::kube::pod_is_ready(c.pod) == c.want);
  }
}

TEST_CASE("parse_pod takes the port from the fixed port, the annotation or the first container port") {
  json annotated = pod("web-1", "Running", "True");
  annotated["metadata"]["annotations"] = {{"fake-k8s/port", "41234"}};
  struct test_case {
    const char* what;
    json pod;
    pod_port_rule rule;
    int want;
  };
  const std::vector<test_case> cases = {
      {"container port", pod("web-1", "Running", "True"), {}, 8080},
      {"annotation wins over the container port", annotated, {}, 41234},
      {"fixed port wins over both", annotated, {9090, "fake-k8s/port"}, 9090},
      {"no annotation rule", annotated, {0, ""}, 8080},
      {"no ports at all", json{{"metadata", {{"name", "x"}}}}, {}, 0},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    const auto got = scale::kube::parse_pod(c.pod, c.rule);
    REQUIRE(got.has_value());
    CHECK(got->port == c.want);
  }
  const auto got = scale::kube::parse_pod(pod("web-1", "Running", "True"), {});
  CHECK(*got == pod_info{"web-1", "10.0.0.7", 8080, true});
  CHECK(scale::kube::parse_pod(json{{"metadata", json::object()}}, {}).error_value().message ==
        "pod: metadata.name is missing or not a string");
}

TEST_CASE("parse_pod_list and parse_watch_event read the observed list and stream lines (4.5)") {
  const std::string list =
      json{{"kind", "PodList"},
           {"apiVersion", "v1"},
           {"metadata", {{"resourceVersion", "1234"}}},
           {"items", {pod("a", "Running", "True"), pod("b", "Pending", "False")}}}
          .dump();
  const auto parsed = scale::kube::parse_pod_list(list, {});
  REQUIRE(parsed.has_value());
  CHECK(parsed->resource_version == "1234");
  REQUIRE(parsed->pods.size() == 2);
  CHECK(parsed->pods[0] == pod_info{"a", "10.0.0.7", 8080, true});
  CHECK(parsed->pods[1] == pod_info{"b", "10.0.0.7", 8080, false});
  CHECK(scale::kube::parse_pod_list(R"({"metadata":{"resourceVersion":"7"}})", {})->pods.empty());
  CHECK(scale::kube::parse_pod_list(R"({"items":[]})", {}).error_value().message ==
        "pod list: metadata.resourceVersion is missing");
  CHECK(scale::kube::parse_pod_list(R"({"metadata":{"resourceVersion":"7"},"items":[{}]})", {}).error_value().message ==
        "pod list: items[0]: pod: metadata is missing or not an object");

  struct test_case {
    std::string line;
    watch_event::kind type;
    std::string rv;
    std::string pod_name;
    int status_code;
  };
  const std::vector<test_case> cases = {
      {json{{"type", "ADDED"}, {"object", pod("a", "Running", "True")}}.dump(), watch_event::kind::added, "41", "a", 0},
      {json{{"type", "MODIFIED"}, {"object", pod("a", "Running", "False")}}.dump(), watch_event::kind::modified, "41", "a", 0},
      {json{{"type", "DELETED"}, {"object", pod("a", "Running", "True")}}.dump(), watch_event::kind::deleted, "41", "a", 0},
      // §4.5: a BOOKMARK carries only metadata.resourceVersion.
      {R"({"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"12746"}}})",
       watch_event::kind::bookmark, "12746", "", 0},
      // §4.5: a too-old watch fails inside the 200 stream as ERROR with a 410 Status.
      {R"x({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
           "message":"too old resource version: 1 (5)","reason":"Expired","code":410}})x",
       watch_event::kind::error, "", "", 410},
  };
  for (const auto& c : cases) {
    CAPTURE(c.line);
    const auto e = scale::kube::parse_watch_event(c.line, {});
    REQUIRE_MESSAGE(e.has_value(), (e ? "" : e.error_value().message));
    CHECK(e->type == c.type);
    CHECK(e->resource_version == c.rv);
    CHECK(e->pod.name == c.pod_name);
    CHECK(e->status.code == c.status_code);
  }
  struct bad_case {
    std::string line;
    std::string want;
  };
  const std::vector<bad_case> bad = {
      {"{", "watch event: line is not valid JSON"},
      {R"({"type":"ADDED"})", "watch event: object is missing or not an object"},
      {R"({"type":"RENAMED","object":{}})", "watch event: type must be ADDED, MODIFIED, DELETED, BOOKMARK or ERROR"},
      {R"({"type":"BOOKMARK","object":{"metadata":{}}})", "watch event: BOOKMARK without metadata.resourceVersion"},
      {R"({"type":"ERROR","object":{"kind":"Pod"}})", "watch event: ERROR object: status: kind is not \"Status\""},
  };
  for (const auto& c : bad) {
    CAPTURE(c.line);
    const auto e = scale::kube::parse_watch_event(c.line, {});
    REQUIRE_FALSE(e.has_value());
    CHECK(e.error_value().message == c.want);
  }
}

TEST_CASE("line_splitter cuts a stream at newlines whatever the chunking") {
  const std::string stream = "{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}\n{\"partial";
  for (std::size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    CAPTURE(chunk);
    scale::kube::line_splitter lines;
    std::vector<std::string> got;
    for (std::size_t at = 0; at < stream.size(); at += chunk) {
      REQUIRE(lines.append(std::string_view(stream).substr(at, chunk)));
      while (auto line = lines.next_line()) got.push_back(*line);
    }
    CHECK(got == std::vector<std::string>{"{\"a\":1}", "{\"b\":2}", "", "{\"c\":3}"});
  }
  scale::kube::line_splitter small(8);
  CHECK(small.append("12345678"));
  CHECK_FALSE(small.append("9"));
}

TEST_CASE("pod_list_watch lists then watches, and recovers from 410 by listing again") {
  scale::fake_k8s::server_options options;
  options.bookmark_interval = std::chrono::milliseconds{50};
  scale::fake_k8s::fake_apiserver server(with_token(options));
  server.add_deployment("default", "web", 1, {{"app", "web"}});
  server.set_pod("default", {"web-1", {{"app", "web"}}, "Running", true, "127.0.0.1", 40001, false});
  server.set_pod("default", {"other", {{"app", "other"}}, "Running", true, "127.0.0.1", 40009, false});

  scale::kube::rest_config config;
  config.server = server.url();
  config.auth = std::make_shared<fixed_token>();
  scale::kube::pod_watch_options watch;
  watch.namespace_name = "default";
  watch.label_selector = "app=web";
  watch.watch_timeout = std::chrono::seconds{30};
  watch.retry_min = std::chrono::milliseconds{10};
  auto started = scale::kube::pod_list_watch::start(config, watch);
  REQUIRE(started.has_value());
  auto& pods = *started.value();
  const auto names_are = [](std::vector<std::string> want) {
    return [want](const std::vector<pod_info>& ready) {
      std::vector<std::string> names;
      for (const auto& p : ready) names.push_back(p.name);
      return names == want;
    };
  };
  // Bounds below are for a loaded machine, not timing assertions: each wait ends as soon as the event arrives.
  REQUIRE(pods.wait_until(names_are({"web-1"}), 10s));
  CHECK(pods.ready_pods().at(0) == pod_info{"web-1", "127.0.0.1", 40001, true});
  CHECK(pods.synced());

  server.set_pod("default", {"web-2", {{"app", "web"}}, "Running", true, "127.0.0.1", 40002, false});
  REQUIRE(pods.wait_until(names_are({"web-1", "web-2"}), 10s));
  server.set_pod("default", {"web-1", {{"app", "web"}}, "Running", false, "127.0.0.1", 40001, false});
  REQUIRE(pods.wait_until(names_are({"web-2"}), 10s));
  CHECK(pods.pods().size() == 2);  // web-1 is cached, not ready
  server.set_pod("default", {"web-2", {{"app", "web"}}, "Running", true, "127.0.0.1", 40002, true});
  REQUIRE(pods.wait_until(names_are({}), 10s));  // terminating
  server.delete_pod("default", "web-2");
  server.set_pod("default", {"web-1", {{"app", "web"}}, "Running", true, "127.0.0.1", 40001, false});
  REQUIRE(pods.wait_until(names_are({"web-1"}), 10s));
  CHECK(pods.list_count() == 1);

  // compact(): the open watch's RV becomes too old. The next watch (after the stream ends, or at once when the
  // server closes it) gets 410 and the cache is rebuilt by a LIST that sees the change made meanwhile.
  server.compact();
  server.set_pod("default", {"web-3", {{"app", "web"}}, "Running", true, "127.0.0.1", 40003, false});
  REQUIRE(pods.wait_until(names_are({"web-1", "web-3"}), 10s));
  server.compact();
  server.stop_listening();  // drop the open watch: the re-watch from the compacted RV gets ERROR 410 in its stream
  server.resume_listening();
  server.delete_pod("default", "web-1");
  REQUIRE(pods.wait_until(names_are({"web-3"}), 20s));
  CHECK(eventually([&] { return pods.list_count() >= 2; }));  // the ERROR 410 made it LIST again

  // The request log shows the protocol: LIST with the selector, WATCH with bookmarks from the list's RV.
  const auto requests = server.requests();
  bool saw_list = false;
  bool saw_watch = false;
  for (const auto& r : requests) {
    if (r.target.rfind("/api/v1/namespaces/default/pods?labelSelector=app%3Dweb&limit=500", 0) == 0) saw_list = true;
    if (r.target.find("watch=1&resourceVersion=") != std::string::npos &&
        r.target.find("&allowWatchBookmarks=true&timeoutSeconds=30") != std::string::npos)
      saw_watch = true;
  }
  CHECK(saw_list);
  CHECK(saw_watch);
  pods.stop();
  pods.stop();  // idempotent
}

TEST_CASE("pod_list_watch recovers from a 410 answer") {
  scale::fake_k8s::fake_apiserver server(with_token());
  server.set_pod("default", {"web-1", {{"app", "web"}}, "Running", true, "127.0.0.1", 40001, false});
  scale::kube::rest_config config;
  config.server = server.url();
  config.auth = std::make_shared<fixed_token>();
  scale::kube::pod_watch_options watch;
  watch.label_selector = "app=web";
  watch.retry_min = std::chrono::milliseconds{10};
  auto started = scale::kube::pod_list_watch::start(config, watch);
  REQUIRE(started.has_value());
  auto& pods = *started.value();
  REQUIRE(pods.wait_until([](const auto& ready) { return ready.size() == 1; }, 10s));
  // Once the watch is open, end it; the next request (the re-watch, or the LIST after a dropped stream) is
  // answered 410 as a whole (not inside a 200 stream), and a LIST rebuilds the cache.
  REQUIRE(eventually([&] {
    const auto requests = server.requests();
    return !requests.empty() && requests.back().target.find("watch=1") != std::string::npos;
  }));
  server.fail_next(1, 410);
  server.stop_listening();
  server.resume_listening();
  server.set_pod("default", {"web-2", {{"app", "web"}}, "Running", true, "127.0.0.1", 40002, false});
  REQUIRE(pods.wait_until([](const auto& ready) { return ready.size() == 2; }, 20s));
  bool saw_410 = false;
  for (const auto& r : server.requests()) saw_410 = saw_410 || r.status == 410;
  CHECK(saw_410);
  CHECK(eventually([&] { return pods.list_count() >= 2; }));
  CHECK_FALSE(pods.last_error().has_value());
}
