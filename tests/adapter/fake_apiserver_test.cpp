#include "fake_apiserver.hpp"

#include <curl/curl.h>
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

// Tests of the loopback test API server against the wire facts of cluster-adapter.md, with libcurl as the client.

namespace {

using scale::fake_k8s::fake_apiserver;
using scale::fake_k8s::pod_spec;
using scale::fake_k8s::server_options;
using json = nlohmann::json;

std::filesystem::path tls_dir() {
#ifdef LIBSCALE_TEST_DATA_DIR
  return std::filesystem::path(LIBSCALE_TEST_DATA_DIR) / "adapter" / "tls";
#else
  // tests/adapter/<this file> -> tests/data/adapter/tls (a g++ build from the repository root)
  return std::filesystem::path(__FILE__).parent_path().parent_path() / "data" / "adapter" / "tls";
#endif
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct call_options {
  std::string method = "GET";
  std::string path;
  std::string body;
  std::string content_type;
  std::string token = "secret";  // empty = no Authorization header
  std::string ca_file, cert_file, key_file;
  // Streaming: stop reading once this returns true for the lines received so far.
  std::function<bool(const std::vector<std::string>&)> until;
};

struct reply {
  long status = 0;
  CURLcode curl = CURLE_OK;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  std::vector<std::string> lines;              // body split on '\n' (watch streams)
  json as_json() const { return json::parse(body, nullptr, false); }
};

struct sink {
  reply* r;
  const call_options* o;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<sink*>(user);
  s->r->body.append(data, size * n);
  s->r->lines.clear();
  std::istringstream in(s->r->body);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) s->r->lines.push_back(line);
  }
  if (s->o->until && !s->r->body.empty() && s->r->body.back() == '\n' && s->o->until(s->r->lines)) return 0;
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<reply*>(user);
  std::string line(data, size * n);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    r->headers[name] = value;
  }
  return size * n;
}

reply call(const std::string& base, const call_options& o) {
  reply r;
  sink s{&r, &o};
  CURL* curl = curl_easy_init();
  const std::string url = base + o.path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, o.method.c_str());
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "fake-apiserver-test/1");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r);
  if (!o.body.empty() || o.method == "POST" || o.method == "PUT" || o.method == "PATCH") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, o.body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(o.body.size()));
  }
  curl_slist* headers = nullptr;
  if (!o.content_type.empty()) headers = curl_slist_append(headers, ("Content-Type: " + o.content_type).c_str());
  if (!o.token.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + o.token).c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (!o.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, o.ca_file.c_str());
  if (!o.cert_file.empty()) curl_easy_setopt(curl, CURLOPT_SSLCERT, o.cert_file.c_str());
  if (!o.key_file.empty()) curl_easy_setopt(curl, CURLOPT_SSLKEY, o.key_file.c_str());
  r.curl = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return r;
}

reply get(const std::string& base, const std::string& path, const std::string& token = "secret") {
  call_options o;
  o.path = path;
  o.token = token;
  return call(base, o);
}

server_options token_options() {
  server_options o;
  o.tokens = {{"secret", "admin"}, {"limited", "nobody"}};
  o.permissions = {{"nobody", {"get deployments"}}};
  return o;
}

const std::string scale_path = "/apis/apps/v1/namespaces/default/deployments/web/scale";

}  // namespace

TEST_CASE("scale at 0 replicas has an empty spec and a sorted selector string") {
  fake_apiserver server(token_options());
  server.add_deployment("default", "web", 0, {{"tier", "front"}, {"app", "web"}});
  const reply r = get(server.url(), scale_path);
  CHECK(r.status == 200);
  const json s = r.as_json();
  // §1.2 (observed): spec.replicas is omitempty, so at 0 the Scale has "spec":{}.
  CHECK(s["kind"] == "Scale");
  CHECK(s["apiVersion"] == "autoscaling/v1");
  CHECK(s["spec"] == json::object());
  CHECK(s["status"]["selector"] == "app=web,tier=front");
  CHECK(s["metadata"]["resourceVersion"] == *server.resource_version("default", "web"));
  // The Deployment itself keeps spec.replicas at 0 (a defaulted pointer, not omitempty).
  const json d = get(server.url(), "/apis/apps/v1/namespaces/default/deployments/web").as_json();
  CHECK(d["spec"]["replicas"] == 0);
  CHECK(d["spec"]["selector"]["matchLabels"]["app"] == "web");
}

TEST_CASE("every PATCH content type of the scale table") {
  struct row {
    std::string name;
    const char* content_type;
    const char* query;
    std::string body;
    int start;
    long status;
    const char* reason;  // "" for success
    int replicas_after;
  };
  // Rows of cluster-adapter.md §1.3 and its pitfalls.
  const std::vector<row> rows = {
      {"merge patch (kubectl scale)", "application/merge-patch+json", "", R"({"spec":{"replicas":5}})", 1, 200, "", 5},
      {"merge patch with charset", "application/merge-patch+json; charset=utf-8", "", R"({"spec":{"replicas":2}})", 1,
       200, "", 2},
      {"json patch add (Knative KPA)", "application/json-patch+json", "",
       R"([{"op":"add","path":"/spec/replicas","value":5}])", 1, 200, "", 5},
      {"json patch add at 0", "application/json-patch+json", "", R"([{"op":"add","path":"/spec/replicas","value":1}])",
       0, 200, "", 1},
      {"json patch replace at 0", "application/json-patch+json", "",
       R"([{"op":"replace","path":"/spec/replicas","value":4}])", 0, 200, "", 4},
      {"strategic merge patch", "application/strategic-merge-patch+json", "", R"({"spec":{"replicas":7}})", 1, 200, "",
       7},
      {"apply with fieldManager", "application/apply-patch+yaml", "?fieldManager=kpa-adapter",
       R"({"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web"},"spec":{"replicas":6}})", 1, 200, "",
       6},
      {"apply without fieldManager", "application/apply-patch+yaml", "",
       R"({"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web"},"spec":{"replicas":6}})", 1, 422,
       "Invalid", 1},
      {"plain json", "application/json", "", R"({"spec":{"replicas":5}})", 1, 415, "UnsupportedMediaType", 1},
      {"merge null deletes replicas", "application/merge-patch+json", "", R"({"spec":{"replicas":null}})", 3, 200, "",
       0},
      {"json patch failed test", "application/json-patch+json", "",
       R"([{"op":"test","path":"/spec/replicas","value":9},{"op":"add","path":"/spec/replicas","value":5}])", 1, 422,
       "Invalid", 1},
      {"json patch passing test", "application/json-patch+json", "",
       R"([{"op":"test","path":"/spec/replicas","value":1},{"op":"add","path":"/spec/replicas","value":5}])", 1, 200,
       "", 5},
      {"negative replicas", "application/merge-patch+json", "", R"({"spec":{"replicas":-1}})", 1, 422, "Invalid", 1},
      {"merge patch stale resourceVersion", "application/merge-patch+json", "",
       R"({"metadata":{"resourceVersion":"1"},"spec":{"replicas":5}})", 1, 409, "Conflict", 1},
  };
  for (const auto& c : rows) {
    CAPTURE(c.name);
    fake_apiserver server(token_options());
    server.add_deployment("default", "web", c.start, {{"app", "web"}});
    call_options o;
    o.method = "PATCH";
    o.path = scale_path + c.query;
    o.content_type = c.content_type;
    o.body = c.body;
    const reply r = call(server.url(), o);
    CHECK(r.status == c.status);
    const json body = r.as_json();
    if (std::string(c.reason).empty()) {
      CHECK(body["kind"] == "Scale");
      if (c.replicas_after == 0) {
        CHECK(body["spec"] == json::object());
      } else {
        CHECK(body["spec"]["replicas"] == c.replicas_after);
      }
    } else {
      CHECK(body["kind"] == "Status");
      CHECK(body["code"] == c.status);
      CHECK(body["reason"] == c.reason);
    }
    CHECK(server.replicas("default", "web") == c.replicas_after);
  }
}

TEST_CASE("invalid replicas name spec.replicas in the first cause") {
  fake_apiserver server(token_options());
  server.add_deployment("default", "web", 1, {{"app", "web"}});
  call_options o;
  o.method = "PATCH";
  o.path = scale_path;
  o.content_type = "application/json-patch+json";
  o.body = R"([{"op":"add","path":"/spec/replicas","value":-1}])";
  const json s = call(server.url(), o).as_json();
  // §1.3 (observed): 422, reason Invalid, details.causes[0].field "spec.replicas".
  CHECK(s["code"] == 422);
  CHECK(s["details"]["causes"][0]["field"] == "spec.replicas");
  CHECK(s["message"] == "Scale.autoscaling \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater "
                       "than or equal to 0");
}

TEST_CASE("PUT on the scale is a compare-and-swap only when it carries a resourceVersion") {
  fake_apiserver server(token_options());
  server.add_deployment("default", "web", 2, {{"app", "web"}});
  const json read = get(server.url(), scale_path).as_json();
  const std::string rv = read["metadata"]["resourceVersion"];
  const json d0 = get(server.url(), "/apis/apps/v1/namespaces/default/deployments/web").as_json();

  struct row {
    std::string name;
    std::string body;
    long status;
    int replicas_after;
  };
  // §1.4: stale RV -> 409 Conflict; no RV -> unconditional; the current RV -> 200.
  const std::vector<row> rows = {
      {"current resourceVersion", json{{"metadata", {{"name", "web"}, {"resourceVersion", rv}}}, {"spec", {{"replicas", 4}}}}.dump(), 200, 4},
      {"now stale resourceVersion", json{{"metadata", {{"name", "web"}, {"resourceVersion", rv}}}, {"spec", {{"replicas", 5}}}}.dump(), 409, 4},
      {"no resourceVersion", R"({"metadata":{"name":"web"},"spec":{"replicas":6}})", 200, 6},
      {"missing spec.replicas means 0", R"({"metadata":{"name":"web"},"spec":{}})", 200, 0},
  };
  for (const auto& c : rows) {
    CAPTURE(c.name);
    call_options o;
    o.method = "PUT";
    o.path = scale_path;
    o.content_type = "application/json";
    o.body = c.body;
    const reply r = call(server.url(), o);
    CHECK(r.status == c.status);
    if (c.status == 409) {
      const json s = r.as_json();
      CHECK(s["reason"] == "Conflict");
      CHECK(s["message"] == "Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; "
                            "please apply your changes to the latest version and try again");
    }
    CHECK(server.replicas("default", "web") == c.replicas_after);
  }
  // Three writes changed spec.replicas: generation 1 -> 4 (§1.2: each scale write bumps it).
  const json d1 = get(server.url(), "/apis/apps/v1/namespaces/default/deployments/web").as_json();
  CHECK(d0["metadata"]["generation"] == 1);
  CHECK(d1["metadata"]["generation"] == 4);
}

TEST_CASE("dryRun=All answers the would-be scale and stores nothing") {
  fake_apiserver server(token_options());
  server.add_deployment("default", "web", 4, {{"app", "web"}});
  std::atomic<int> hook_calls{0};
  server.on_replicas_changed([&](const std::string&, const std::string&, int) { ++hook_calls; });
  const auto rv = server.resource_version("default", "web");
  call_options o;
  o.method = "PATCH";
  o.path = scale_path + "?dryRun=All";
  o.content_type = "application/merge-patch+json";
  o.body = R"({"spec":{"replicas":9}})";
  const reply r = call(server.url(), o);
  // §1.6 (observed): the reply said 9, a GET afterwards still said 4.
  CHECK(r.status == 200);
  CHECK(r.as_json()["spec"]["replicas"] == 9);
  CHECK(server.replicas("default", "web") == 4);
  CHECK(server.resource_version("default", "web") == rv);
  CHECK(get(server.url(), scale_path).as_json()["spec"]["replicas"] == 4);
  CHECK(hook_calls == 0);
}

TEST_CASE("authentication and authorization answer Status objects") {
  fake_apiserver server(token_options());
  server.add_deployment("default", "web", 1, {{"app", "web"}});
  struct row {
    std::string name;
    std::string token;
    std::string path;
    long status;
    const char* reason;
    std::string message;
  };
  // §1.5: anonymous is 403 (not 401); an unknown token is 401 without details; RBAC names verb, resource, group
  // and namespace.
  const std::vector<row> rows = {
      {"anonymous", "", scale_path, 403, "Forbidden",
       "deployments.apps \"web\" is forbidden: User \"system:anonymous\" cannot get resource \"deployments/scale\" in "
       "API group \"apps\" in the namespace \"default\""},
      {"unknown token", "wrong", scale_path, 401, "Unauthorized", "Unauthorized"},
      {"permission denied", "limited", scale_path, 403, "Forbidden",
       "deployments.apps \"web\" is forbidden: User \"nobody\" cannot get resource \"deployments/scale\" in API group "
       "\"apps\" in the namespace \"default\""},
      {"permission denied on a core list", "limited", "/api/v1/namespaces/default/pods", 403, "Forbidden",
       "pods is forbidden: User \"nobody\" cannot list resource \"pods\" in API group \"\" in the namespace "
       "\"default\""},
      {"permission granted", "limited", "/apis/apps/v1/namespaces/default/deployments/web", 200, "", ""},
      {"anonymous discovery", "", "/apis", 403, "Forbidden",
       "forbidden: User \"system:anonymous\" cannot get path \"/apis\""},
      {"anonymous version", "", "/version", 200, "", ""},
  };
  for (const auto& c : rows) {
    CAPTURE(c.name);
    const reply r = get(server.url(), c.path, c.token);
    CHECK(r.status == c.status);
    if (c.status >= 400) {
      const json s = r.as_json();
      CHECK(s["kind"] == "Status");
      CHECK(s["status"] == "Failure");
      CHECK(s["reason"] == c.reason);
      CHECK(s["message"] == c.message);
      CHECK(s["code"] == c.status);
      if (c.status == 401) CHECK_FALSE(s.contains("details"));
    }
  }
}

TEST_CASE("a missing object is a 404 Status with details") {
  fake_apiserver server(token_options());
  const reply r = get(server.url(), "/apis/apps/v1/namespaces/default/deployments/nosuch/scale");
  CHECK(r.status == 404);
  // §1.5 (observed), verbatim.
  const json expected = json::parse(R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
    "message":"deployments/scale.apps \"nosuch\" not found","reason":"NotFound",
    "details":{"name":"nosuch","group":"apps","kind":"deployments/scale"},"code":404})");
  CHECK(r.as_json() == expected);
  CHECK(r.headers.count("audit-id") == 1);
  CHECK_FALSE(server.replicas("default", "nosuch").has_value());
}

TEST_CASE("pod lists filter by label and field selectors") {
  fake_apiserver server(token_options());
  server.set_pod("default", {"web-1", {{"app", "web"}, {"track", "stable"}}, "Running", true, "127.0.0.1", 8081});
  server.set_pod("default", {"web-2", {{"app", "web"}, {"track", "canary"}}, "Pending", false, "", 0});
  server.set_pod("default", {"api-1", {{"app", "api"}}, "Running", true, "127.0.0.2", 9090, true});
  server.set_pod("other", {"web-9", {{"app", "web"}}});
  struct row {
    const char* selector;  // query string after "?"
    std::vector<std::string> names;
  };
  const std::vector<row> rows = {
      {"", {"api-1", "web-1", "web-2"}},
      {"labelSelector=app%3Dweb", {"web-1", "web-2"}},
      {"labelSelector=app%3D%3Dweb", {"web-1", "web-2"}},
      {"labelSelector=app!%3Dweb", {"api-1"}},
      {"labelSelector=app%3Dweb,track%3Dcanary", {"web-2"}},
      {"labelSelector=app%20in%20(web,api)", {"api-1", "web-1", "web-2"}},
      {"labelSelector=track%20notin%20(canary)", {"api-1", "web-1"}},
      {"labelSelector=track", {"web-1", "web-2"}},
      {"labelSelector=!track", {"api-1"}},
      {"labelSelector=app%3Dweb&fieldSelector=status.phase%3DRunning", {"web-1"}},
  };
  for (const auto& c : rows) {
    CAPTURE(c.selector);
    const reply r = get(server.url(), std::string("/api/v1/namespaces/default/pods?") + c.selector);
    REQUIRE(r.status == 200);
    const json list = r.as_json();
    CHECK(list["kind"] == "PodList");
    CHECK(list["metadata"]["resourceVersion"].is_string());
    std::vector<std::string> names;
    for (const auto& p : list["items"]) names.push_back(p["metadata"]["name"]);
    CHECK(names == c.names);
  }
  CHECK(get(server.url(), "/api/v1/namespaces/default/pods?labelSelector=a%20in%20(").status == 400);

  // The pod as §4.3 reads it: phase, podIP, Ready condition, deletionTimestamp; the port in two places.
  const json api = get(server.url(), "/api/v1/namespaces/default/pods/api-1").as_json();
  CHECK(api["status"]["phase"] == "Running");
  CHECK(api["status"]["podIP"] == "127.0.0.2");
  CHECK(api["status"]["conditions"][0] == json{{"type", "Ready"}, {"status", "True"}});
  CHECK(api["metadata"].contains("deletionTimestamp"));
  CHECK(api["metadata"]["annotations"]["fake-k8s/port"] == "9090");
  CHECK(api["spec"]["containers"][0]["ports"][0]["containerPort"] == 9090);
  const json pending = get(server.url(), "/api/v1/namespaces/default/pods/web-2").as_json();
  CHECK(pending["status"]["conditions"][0]["status"] == "False");
  CHECK_FALSE(pending["status"].contains("podIP"));
}

TEST_CASE("a list with an exact compacted resourceVersion is 410 Expired") {
  fake_apiserver server(token_options());
  server.set_pod("default", {"web-1", {{"app", "web"}}});
  const std::string rv = get(server.url(), "/api/v1/namespaces/default/pods").as_json()["metadata"]["resourceVersion"];
  const std::string path = "/api/v1/namespaces/default/pods?resourceVersion=" + rv + "&resourceVersionMatch=Exact";
  CHECK(get(server.url(), path).status == 200);
  server.compact();
  const reply r = get(server.url(), path);
  // §1.5 (observed on list after compaction).
  CHECK(r.status == 410);
  CHECK(r.as_json()["reason"] == "Expired");
  CHECK(r.as_json()["message"] == "The resourceVersion for the provided list is too old.");
  // A fresh list after the compaction works, and its RV is valid.
  const std::string fresh = get(server.url(), "/api/v1/namespaces/default/pods").as_json()["metadata"]["resourceVersion"];
  CHECK(get(server.url(), "/api/v1/namespaces/default/pods?resourceVersion=" + fresh + "&resourceVersionMatch=Exact")
            .status == 200);
}

namespace {

std::vector<std::pair<std::string, std::string>> types_and_names(const std::vector<std::string>& lines) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& l : lines) {
    const json e = json::parse(l);
    out.emplace_back(e["type"], e["object"]["metadata"].value("name", ""));
  }
  return out;
}

}  // namespace

TEST_CASE("a watch from a list's resourceVersion replays ADDED, MODIFIED and DELETED") {
  fake_apiserver server(token_options());
  server.set_pod("default", {"web-1", {{"app", "web"}}});
  const std::string rv =
      get(server.url(), "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb").as_json()["metadata"]["resourceVersion"];
  server.set_pod("default", {"web-2", {{"app", "web"}}});
  server.set_pod("default", {"web-1", {{"app", "web"}}, "Running", false});
  server.set_pod("default", {"api-1", {{"app", "api"}}});
  server.set_pod("default", {"web-2", {{"app", "other"}}});  // stops matching: DELETED for this watch (§4.5)
  server.delete_pod("default", "web-1");
  call_options o;
  o.path = "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb&watch=1&resourceVersion=" + rv;
  o.until = [](const std::vector<std::string>& lines) { return lines.size() >= 4; };
  const reply r = call(server.url(), o);
  CHECK(r.status == 200);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"ADDED", "web-2"}, {"MODIFIED", "web-1"}, {"DELETED", "web-2"}, {"DELETED", "web-1"}};
  CHECK(types_and_names(r.lines) == expected);
  const json modified = json::parse(r.lines[1]);
  CHECK(modified["object"]["status"]["conditions"][0]["status"] == "False");
}

TEST_CASE("a watch without resourceVersion starts with synthetic ADDED events, then goes live with bookmarks") {
  server_options options = token_options();
  options.bookmark_interval = std::chrono::hours(1);  // only send_bookmarks() triggers one
  fake_apiserver server(options);
  server.set_pod("default", {"web-1", {{"app", "web"}}});
  server.set_pod("default", {"web-2", {{"app", "web"}}});
  reply r;
  std::thread watcher([&] {
    call_options o;
    o.path = "/api/v1/namespaces/default/pods?watch=true&allowWatchBookmarks=true";
    o.until = [](const std::vector<std::string>& lines) { return lines.size() >= 4; };
    r = call(server.url(), o);
  });
  // Wait until the watch stream is open (its request is recorded with status 200), then change things.
  for (;;) {
    const auto reqs = server.requests();
    if (!reqs.empty() && reqs.back().status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  server.set_pod("default", {"web-3", {{"app", "web"}}});
  server.send_bookmarks();
  watcher.join();
  REQUIRE(r.lines.size() == 4);
  const auto tn = types_and_names(r.lines);
  CHECK(tn[0] == std::pair<std::string, std::string>{"ADDED", "web-1"});
  CHECK(tn[1] == std::pair<std::string, std::string>{"ADDED", "web-2"});
  CHECK(tn[2] == std::pair<std::string, std::string>{"ADDED", "web-3"});
  // A BOOKMARK carries only metadata.resourceVersion (§4.5): the RV of the last change.
  const json bookmark = json::parse(r.lines[3]);
  CHECK(bookmark["type"] == "BOOKMARK");
  CHECK(bookmark["object"]["metadata"] == json{{"resourceVersion", json::parse(r.lines[2])["object"]["metadata"]["resourceVersion"]}});
}

TEST_CASE("periodic bookmarks and timeoutSeconds end a watch normally") {
  server_options options = token_options();
  options.bookmark_interval = std::chrono::milliseconds(10);
  fake_apiserver server(options);
  call_options o;
  o.path = "/api/v1/namespaces/default/pods?watch=1&allowWatchBookmarks=true&resourceVersion=1&timeoutSeconds=1";
  const reply r = call(server.url(), o);  // runs to the server's end of stream after 1 s
  CHECK(r.curl == CURLE_OK);
  CHECK(r.status == 200);
  REQUIRE_FALSE(r.lines.empty());
  for (const auto& l : r.lines) CHECK(json::parse(l)["type"] == "BOOKMARK");
}

TEST_CASE("a watch from a compacted resourceVersion gets an ERROR 410 inside a 200 stream") {
  fake_apiserver server(token_options());
  server.set_pod("default", {"web-1", {{"app", "web"}}});
  const std::string rv = get(server.url(), "/api/v1/namespaces/default/pods").as_json()["metadata"]["resourceVersion"];
  server.compact();
  call_options o;
  o.path = "/api/v1/namespaces/default/pods?watch=1&resourceVersion=" + rv;
  const reply r = call(server.url(), o);
  // §4.5: the failure comes as an ERROR event whose object is a Status with code 410.
  CHECK(r.status == 200);
  REQUIRE(r.lines.size() == 1);
  const json e = json::parse(r.lines[0]);
  CHECK(e["type"] == "ERROR");
  CHECK(e["object"]["kind"] == "Status");
  CHECK(e["object"]["code"] == 410);
  CHECK(e["object"]["reason"] == "Gone");
}

TEST_CASE("fail_next answers Status objects with Retry-After, then the server recovers") {
  fake_apiserver server(token_options());
  server.add_deployment("default", "web", 1, {{"app", "web"}});
  struct row {
    int status;
    std::optional<int> retry_after;
    const char* reason;
  };
  const std::vector<row> rows = {{429, 3, "TooManyRequests"},
                                 {500, std::nullopt, "InternalError"},
                                 {503, 1, "ServiceUnavailable"},
                                 {504, std::nullopt, "Timeout"},
                                 {409, std::nullopt, "Conflict"}};
  for (const auto& c : rows) {
    CAPTURE(c.status);
    server.fail_next(2, c.status, c.retry_after);
    for (int i = 0; i < 2; ++i) {
      const reply r = get(server.url(), scale_path);
      CHECK(r.status == c.status);
      CHECK(r.as_json()["reason"] == c.reason);
      if (c.retry_after) {
        CHECK(r.headers.count("retry-after") == 1);
        if (r.headers.count("retry-after") == 1) CHECK(r.headers.at("retry-after") == std::to_string(*c.retry_after));
      } else {
        CHECK(r.headers.count("retry-after") == 0);
      }
    }
    CHECK(get(server.url(), scale_path).status == 200);
  }
}

TEST_CASE("the replicas hook runs outside the server lock after real changes only") {
  fake_apiserver server(token_options());
  server.add_deployment("default", "web", 0, {{"app", "web"}});
  std::vector<int> seen;
  std::mutex mu;
  server.on_replicas_changed([&](const std::string& ns, const std::string& name, int replicas) {
    // Calling back into the server would deadlock if the hook ran under its lock.
    for (int i = 0; i < replicas; ++i) server.set_pod(ns, {name + "-" + std::to_string(i), {{"app", "web"}}});
    std::lock_guard lk(mu);
    seen.push_back(replicas);
  });
  for (const int n : {2, 2, 3}) {
    call_options o;
    o.method = "PATCH";
    o.path = scale_path;
    o.content_type = "application/merge-patch+json";
    o.body = json{{"spec", {{"replicas", n}}}}.dump();
    CHECK(call(server.url(), o).status == 200);
  }
  std::lock_guard lk(mu);
  CHECK(seen == std::vector<int>{2, 3});  // the second PATCH to 2 changed nothing
  // status.replicas counts the matching pods the hook created.
  CHECK(get(server.url(), scale_path).as_json()["status"]["replicas"] == 3);
}

TEST_CASE("events are stored, and a generateName ending in a dot is 422") {
  fake_apiserver server(token_options());
  const json v1_event = {{"metadata", {{"name", "web.1a2b"}}},
                         {"eventTime", "2026-11-26T17:20:00.000000Z"},
                         {"reportingController", "example.com/kpa-adapter"},
                         {"reportingInstance", "adapter-0"},
                         {"action", "Scale"},
                         {"reason", "SuccessfulRescale"},
                         {"note", "New size: 3"},
                         {"type", "Normal"},
                         {"regarding", {{"kind", "Deployment"}, {"name", "web"}, {"namespace", "default"}}}};
  const json core_event = {{"metadata", {{"name", "web.3c4d"}}},
                           {"involvedObject", {{"kind", "Deployment"}, {"name", "web"}, {"namespace", "default"}}},
                           {"reason", "FailedRescale"},
                           {"message", "boom"},
                           {"type", "Warning"}};
  json dotted = v1_event;
  dotted["metadata"] = {{"generateName", "web."}};
  json missing_reason = v1_event;
  missing_reason.erase("reason");
  struct row {
    std::string name;
    std::string path;
    json body;
    long status;
  };
  const std::vector<row> rows = {
      {"events.k8s.io/v1", "/apis/events.k8s.io/v1/namespaces/default/events", v1_event, 201},
      {"core v1", "/api/v1/namespaces/default/events", core_event, 201},
      {"generateName ends with a dot (§6.7)", "/apis/events.k8s.io/v1/namespaces/default/events", dotted, 422},
      {"required reason missing", "/apis/events.k8s.io/v1/namespaces/default/events", missing_reason, 422},
      {"same name again", "/apis/events.k8s.io/v1/namespaces/default/events", v1_event, 409},
  };
  for (const auto& c : rows) {
    CAPTURE(c.name);
    call_options o;
    o.method = "POST";
    o.path = c.path;
    o.content_type = "application/json";
    o.body = c.body.dump();
    const reply r = call(server.url(), o);
    CHECK(r.status == c.status);
    if (c.status == 422) CHECK(r.as_json()["reason"] == "Invalid");
  }
  const auto stored = server.events();
  REQUIRE(stored.size() == 2);
  CHECK(stored[0]["apiVersion"] == "events.k8s.io/v1");
  CHECK(stored[0]["reason"] == "SuccessfulRescale");
  CHECK(stored[1]["apiVersion"] == "v1");
  CHECK(stored[1]["metadata"]["namespace"] == "default");
}

TEST_CASE("leases: create, AlreadyExists, and resourceVersion compare-and-swap") {
  fake_apiserver server(token_options());
  const std::string collection = "/apis/coordination.k8s.io/v1/namespaces/default/leases";
  const json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                      {"kind", "Lease"},
                      {"metadata", {{"name", "scale-adapter"}}},
                      {"spec", {{"holderIdentity", "a"}, {"leaseDurationSeconds", 15}}}};
  const auto send = [&](const std::string& method, const std::string& path, const json& body) {
    call_options o;
    o.method = method;
    o.path = path;
    o.content_type = "application/json";
    o.body = body.dump();
    return call(server.url(), o);
  };
  CHECK(get(server.url(), collection + "/scale-adapter").status == 404);
  const reply created = send("POST", collection, lease);
  CHECK(created.status == 201);
  const reply again = send("POST", collection, lease);
  // §1.5: create of an existing name is 409 AlreadyExists.
  CHECK(again.status == 409);
  CHECK(again.as_json()["reason"] == "AlreadyExists");
  json read = get(server.url(), collection + "/scale-adapter").as_json();
  const std::string rv = read["metadata"]["resourceVersion"];
  read["spec"]["holderIdentity"] = "b";
  CHECK(send("PUT", collection + "/scale-adapter", read).status == 200);
  // §6.5 (observed): a PUT with the now stale RV loses the race with 409 Conflict.
  read["spec"]["holderIdentity"] = "c";
  const reply stale = send("PUT", collection + "/scale-adapter", read);
  CHECK(stale.status == 409);
  CHECK(stale.as_json()["reason"] == "Conflict");
  CHECK((*server.lease("default", "scale-adapter"))["spec"]["holderIdentity"] == "b");
}

TEST_CASE("requests are recorded with method, target, headers and answered status") {
  fake_apiserver server(token_options());
  server.add_deployment("default", "web", 1, {{"app", "web"}});
  call_options o;
  o.method = "PATCH";
  o.path = scale_path + "?fieldManager=kpa-adapter";
  o.content_type = "application/json-patch+json";
  o.body = R"([{"op":"add","path":"/spec/replicas","value":2}])";
  call(server.url(), o);
  const auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].method == "PATCH");
  CHECK(reqs[0].target == scale_path + "?fieldManager=kpa-adapter");
  CHECK(reqs[0].content_type == "application/json-patch+json");
  CHECK(reqs[0].authorization == "Bearer secret");
  CHECK(reqs[0].user_agent == "fake-apiserver-test/1");
  CHECK(reqs[0].body == o.body);
  CHECK(reqs[0].status == 200);
  server.clear_requests();
  CHECK(server.requests().empty());
}

TEST_CASE("stop_listening refuses connections on the same port until resume_listening") {
  fake_apiserver server(token_options());
  server.add_deployment("default", "web", 1, {{"app", "web"}});
  const std::string url = server.url();
  CHECK(get(url, scale_path).status == 200);
  server.stop_listening();
  const reply down = get(url, scale_path);
  CHECK(down.curl == CURLE_COULDNT_CONNECT);
  server.resume_listening();
  CHECK(server.url() == url);
  CHECK(get(url, scale_path).status == 200);
}

TEST_CASE("latency delays answers without changing them") {
  fake_apiserver server(token_options());
  server.add_deployment("default", "web", 1, {{"app", "web"}});
  server.set_latency(std::chrono::milliseconds(20));
  CHECK(get(server.url(), scale_path).status == 200);
}

TEST_CASE("TLS: a trusted CA works, a client certificate authenticates as its CN, an untrusted CA is refused") {
  const auto dir = tls_dir();
  server_options options = token_options();
  options.tls = true;
  options.cert_pem = slurp(dir / "server.pem");
  options.key_pem = slurp(dir / "server-key.pem");
  options.client_ca_pem = slurp(dir / "ca.pem");
  options.permissions["scaler"] = {"get deployments/scale"};
  fake_apiserver server(options);
  server.add_deployment("default", "web", 1, {{"app", "web"}});
  CHECK(server.url().rfind("https://127.0.0.1:", 0) == 0);

  call_options o;
  o.path = scale_path;
  o.ca_file = (dir / "ca.pem").string();
  SUBCASE("a bearer token over TLS with the test CA") { CHECK(call(server.url(), o).status == 200); }
  SUBCASE("the client certificate is user scaler (CN) in group autoscalers (O)") {
    o.token.clear();
    o.cert_file = (dir / "client.pem").string();
    o.key_file = (dir / "client-key.pem").string();
    CHECK(call(server.url(), o).status == 200);
    o.path = "/api/v1/namespaces/default/pods";
    const reply denied = call(server.url(), o);
    CHECK(denied.status == 403);
    CHECK(denied.as_json()["message"] ==
          "pods is forbidden: User \"scaler\" cannot list resource \"pods\" in API group \"\" in the namespace "
          "\"default\"");
  }
  SUBCASE("a client that trusts only other-ca.pem refuses the server") {
    o.ca_file = (dir / "other-ca.pem").string();
    const reply r = call(server.url(), o);
    CHECK(r.curl != CURLE_OK);
    CHECK(r.status == 0);
  }
}

TEST_CASE("TLS: a server with a certificate from the untrusted CA is refused by a client trusting ca.pem") {
  const auto dir = tls_dir();
  server_options options = token_options();
  options.tls = true;
  options.cert_pem = slurp(dir / "other-server.pem");
  options.key_pem = slurp(dir / "other-server-key.pem");
  fake_apiserver server(options);
  call_options o;
  o.path = "/version";
  o.ca_file = (dir / "ca.pem").string();
  CHECK(call(server.url(), o).curl == CURLE_PEER_FAILED_VERIFICATION);
  o.ca_file = (dir / "other-ca.pem").string();
  CHECK(call(server.url(), o).status == 200);
}

TEST_CASE("the destructor closes open watch streams") {
  reply r;
  std::thread watcher;
  {
    fake_apiserver server(token_options());
    watcher = std::thread([&, url = server.url()] {
      call_options o;
      o.path = "/api/v1/namespaces/default/pods?watch=1";
      r = call(url, o);
    });
    for (;;) {
      const auto reqs = server.requests();
      if (!reqs.empty() && reqs.back().status == 200) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  watcher.join();
  CHECK(r.status == 200);
  CHECK(r.lines.empty());
}

TEST_CASE("a body over 1 KiB (curl sends Expect: 100-continue) is read and stored") {
  fake_apiserver server(token_options());
  const std::string note(4000, 'x');
  const json event = {{"metadata", {{"name", "web.big"}}},
                      {"eventTime", "2026-11-26T17:20:00.000000Z"},
                      {"reportingController", "example.com/kpa-adapter"},
                      {"reportingInstance", "adapter-0"},
                      {"action", "Scale"},
                      {"reason", "SuccessfulRescale"},
                      {"note", note},
                      {"type", "Normal"}};
  call_options o;
  o.method = "POST";
  o.path = "/apis/events.k8s.io/v1/namespaces/default/events";
  o.content_type = "application/json";
  o.body = event.dump();
  CHECK(call(server.url(), o).status == 201);
  REQUIRE(server.events().size() == 1);
  CHECK(server.events()[0]["note"] == note);
  CHECK(server.requests().at(0).body == o.body);
}
