// End-to-end on loopback: the fake API server, the real adapter runtime (proxy, pod watch, controller, admin
// server) and real backend processes that the fake server's replica hook starts and stops.
#include <adapter/adapter_runtime.hpp>

#include <doctest/doctest.h>

#include <curl/curl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <sstream>
#include <string>
#include <thread>
#include <set>
#include <tuple>
#include <vector>

#include <yaml-cpp/yaml.h>

#include <fake_apiserver.hpp>
#include <kube/credentials.hpp>

#ifndef HELLO_BACKEND_PATH
#error "HELLO_BACKEND_PATH must name the hello_backend binary"
#endif

extern char** environ;

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

const std::string token = "e2e-s3cret-token-6f1d";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Backend processes standing in for pods: the fake server's replica hook makes their number match.
class pod_farm {
 public:
  explicit pod_farm(scale::fake_k8s::fake_apiserver& server) : server_(server) {}
  ~pod_farm() { resize("demo", 0); }

  void resize(const std::string& ns, int replicas) {
    std::lock_guard lock(mutex_);
    history_.emplace_back(steady::now(), replicas);
    while (static_cast<int>(pods_.size()) < replicas) start_one(ns);
    while (static_cast<int>(pods_.size()) > replicas) {
      const pod p = pods_.back();
      pods_.pop_back();
      server_.delete_pod(ns, p.name);
      kill(p.pid, SIGTERM);
      waitpid(p.pid, nullptr, 0);
    }
  }
  std::vector<std::pair<steady::time_point, int>> history() const {
    std::lock_guard lock(mutex_);
    return history_;
  }

 private:
  struct pod {
    pid_t pid;
    std::string name;
  };
  void start_one(const std::string& ns) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    char path[] = HELLO_BACKEND_PATH;
    char* argv[] = {path, nullptr};
    pid_t pid = 0;
    REQUIRE(posix_spawn(&pid, path, &actions, nullptr, argv, environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    char buf[16] = {};
    std::size_t got = 0;
    while (got < sizeof buf - 1) {
      const ssize_t n = read(fds[0], buf + got, 1);
      if (n <= 0 || buf[got] == '\n') break;
      ++got;
    }
    close(fds[0]);
    const int port = std::atoi(buf);
    REQUIRE(port > 0);
    const std::string name = "hello-" + std::to_string(next_++);
    pods_.push_back({pid, name});
    server_.set_pod(ns, scale::fake_k8s::pod_spec{.name = name,
                                                  .labels = {{"app", "hello"}},
                                                  .phase = "Running",
                                                  .ready = true,
                                                  .pod_ip = "127.0.0.1",
                                                  .port = port,
                                                  .deleting = false});
  }

  scale::fake_k8s::fake_apiserver& server_;
  mutable std::mutex mutex_;
  std::vector<pod> pods_;
  std::vector<std::pair<steady::time_point, int>> history_;
  int next_ = 0;
};

std::size_t collect(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

struct http_answer {
  long status = 0;
  std::string body;
};

http_answer http_get(const std::string& url, std::chrono::seconds timeout = 20s) {
  http_answer a;
  CURL* c = curl_easy_init();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &a.body);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count() * 1000));
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
  curl_easy_cleanup(c);
  return a;
}

/// Collected log lines (thread-safe).
struct log_lines {
  std::mutex mutex;
  std::vector<std::string> lines;
  scale::adapter::log_sink sink() {
    return [this](scale::adapter::log_level, const std::string& line) {
      std::lock_guard lock(mutex);
      lines.push_back(line);
      MESSAGE(line);
    };
  }
  std::vector<std::string> all() {
    std::lock_guard lock(mutex);
    return lines;
  }
};

scale::kube::rest_config rest_for(const scale::fake_k8s::fake_apiserver& server) {
  scale::kube::rest_config rest;
  rest.server = server.url();
  rest.namespace_name = "demo";
  scale::kube::credentials cred;
  cred.bearer_token = token;
  rest.auth = std::make_shared<scale::kube::static_credentials>(cred);
  rest.origin = "e2e";
  return rest;
}

scale::adapter::adapter_config e2e_config() {
  // Short windows: libscale's minimum stable window is 6 s (config.hpp knative::window_min).
  const auto c = scale::adapter::parse_adapter_config(
      "adminPort: 0\n"
      "leaderElection: {enabled: true, leaseName: scale-adapter, leaseNamespace: demo, identity: e2e}\n"
      "targets:\n"
      "- namespace: demo\n  name: hello\n  containerConcurrency: 2\n"
      "  proxy: {listenAddress: 127.0.0.1, listenPort: 0, timeout: 20s}\n"
      "  config:\n    stable-window: 6s\n    scale-to-zero-grace-period: 6s\n"
      "  annotations:\n    autoscaling.knative.dev/max-scale: \"3\"\n",
      "e2e.yaml");
  REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error_value().message));
  return *c;
}

/// A fake API server on a port below Linux's ephemeral range (32768-60999): a client that keeps reconnecting
/// to a closed ephemeral port can end up connected to itself (TCP self-connect), which then holds the port and
/// stops resume_listening() from binding it again.
std::unique_ptr<scale::fake_k8s::fake_apiserver> start_server(scale::fake_k8s::server_options so) {
  for (std::uint16_t port = static_cast<std::uint16_t>(20000 + getpid() % 5000);; port += 7) {
    so.port = port;
    try {
      return std::make_unique<scale::fake_k8s::fake_apiserver>(so);
    } catch (const std::runtime_error&) {
      if (port > 32000) throw;
    }
  }
}

/// The (group, resource, verb) a recorded request needs (RBAC's view of method and path).
std::tuple<std::string, std::string, std::string> rbac_of(const scale::fake_k8s::recorded_request& r) {
  const std::string path = r.target.substr(0, r.target.find('?'));
  const bool watch = r.target.find("watch=1") != std::string::npos || r.target.find("watch=true") != std::string::npos;
  const auto ends_with = [&](std::string_view tail) {
    return path.size() >= tail.size() && path.compare(path.size() - tail.size(), tail.size(), tail) == 0;
  };
  std::string verb = r.method == "GET" ? "get" : r.method == "PATCH" ? "patch" : r.method == "POST" ? "create"
                   : r.method == "PUT" ? "update" : r.method;
  if (ends_with("/scale")) return {"apps", "deployments/scale", verb};
  if (ends_with("/pods")) return {"", "pods", watch ? "watch" : "list"};
  if (path.find("/apis/events.k8s.io/") == 0) return {"events.k8s.io", "events", verb};
  if (path.find("/apis/coordination.k8s.io/") == 0) return {"coordination.k8s.io", "leases", verb};
  return {"?", path, verb};
}

/// What deploy/rbac.yaml's Role grants.
std::set<std::tuple<std::string, std::string, std::string>> granted_by_role() {
  std::set<std::tuple<std::string, std::string, std::string>> granted;
  for (const auto& doc : YAML::LoadAllFromFile(std::string(LIBSCALE_SOURCE_DIR) + "/deploy/rbac.yaml")) {
    if (doc["kind"].as<std::string>() != "Role") continue;
    for (const auto& rule : doc["rules"]) {
      for (const auto& g : rule["apiGroups"]) {
        for (const auto& res : rule["resources"]) {
          for (const auto& v : rule["verbs"]) granted.insert({g.as<std::string>(), res.as<std::string>(), v.as<std::string>()});
        }
      }
    }
  }
  return granted;
}

double seconds_between(steady::time_point a, steady::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

/// Waits until `done()` or `limit` passed; returns whether it held.
template <class F>
bool wait_for(F done, std::chrono::milliseconds limit) {
  const auto end = steady::now() + limit;
  while (steady::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

}  // namespace

TEST_CASE("e2e: scale from zero on a request, out on a burst, back to zero, API faults") {
  scale::fake_k8s::server_options so;
  so.tokens = {{token, "adapter"}};
  const auto owned = start_server(so);
  scale::fake_k8s::fake_apiserver& server = *owned;
  server.add_deployment("demo", "hello", 0, {{"app", "hello"}});
  pod_farm farm(server);
  server.on_replicas_changed([&farm](const std::string& ns, const std::string&, int n) { farm.resize(ns, n); });

  log_lines logs;
  scale::adapter::runtime_options options;
  options.config = e2e_config();
  options.rest = rest_for(server);
  options.log = logs.sink();
  options.admin_address = "127.0.0.1";
  auto started = scale::adapter::adapter_runtime::start(std::move(options));
  REQUIRE_MESSAGE(started.has_value(), (started ? "" : started.error_value().message));
  auto& adapter = *started.value();
  const std::string proxy = "http://127.0.0.1:" + std::to_string(adapter.proxy_port(0));
  const std::string admin = "http://127.0.0.1:" + std::to_string(adapter.admin_port());
  REQUIRE(wait_for([&] { return http_get(admin + "/readyz").status == 200; }, 5s));
  CHECK(server.replicas("demo", "hello") == 0);

  // 1. A request to the idle service waits, the adapter scales 0 -> 1, the request succeeds.
  const auto t0 = steady::now();
  const auto first = http_get(proxy + "/");
  const auto t1 = steady::now();
  CHECK(first.status == 200);
  CHECK(first.body.rfind("hello from ", 0) == 0);
  CHECK(server.replicas("demo", "hello") == 1);
  MESSAGE("0->1 latency (request through the proxy): " << seconds_between(t0, t1) << " s");
  CHECK(seconds_between(t0, t1) < 5.0);

  // 2. Back to 0 at the time libscale predicts: the last non-zero 1 s bucket is recorded at the proxy's next
  //    report (<= 1 s after the request ended), leaves the 6 s stable window 6 s later, and the decider's
  //    next even-second tick applies 0 at once (TBC -1: activator always in the path, kpa-spec.md §8.1).
  //    So 6..9 s after the request ended, with one decision interval of tolerance each side (and the few
  //    milliseconds between the proxy's answer and the client's clock reading). (Container concurrency 2:
  //    the per-pod target is 2 × 0.7 = 1.4, so one request wants ceil(1 / 1.4) = 1 pod, and 1 -> 0 needs no
  //    halving step.)
  REQUIRE(wait_for([&] { return server.replicas("demo", "hello") == 0; }, 15s));
  const auto history = farm.history();
  REQUIRE(history.back().second == 0);
  const double to_zero = seconds_between(t1, history.back().first);
  MESSAGE("scale to zero " << to_zero << " s after the last request ended");
  CHECK(to_zero >= 5.0);
  CHECK(to_zero <= 9.0 + 2.0);

  // 3. A burst of concurrent slow requests scales out (max-scale 3 bounds it).
  {
    std::atomic<int> ok{0};
    std::vector<std::thread> clients;
    for (int i = 0; i < 6; ++i) {
      clients.emplace_back([&] {
        for (int k = 0; k < 4; ++k) {
          if (http_get(proxy + "/?sleep_ms=700").status == 200) ++ok;
        }
      });
    }
    for (auto& c : clients) c.join();
    CHECK(ok == 24);
  }
  int most = 0;
  for (const auto& [t, n] : farm.history()) most = std::max(most, n);
  MESSAGE("most replicas during the burst: " << most);
  CHECK(most > 1);
  CHECK(most <= 3);

  // 4. API server down: requests still go through to the pods the adapter knows, and nothing scales to zero
  //    while it is down; once it is back the adapter recovers and finishes the scale down.
  REQUIRE(wait_for([&] { return server.replicas("demo", "hello").value_or(0) >= 1; }, 2s));
  const int before_outage = *server.replicas("demo", "hello");
  server.stop_listening();
  const auto outage_start = steady::now();
  CHECK(http_get(proxy + "/").status == 200);
  std::this_thread::sleep_for(3s);
  const auto during = farm.history();
  for (const auto& [t, n] : during) {
    if (t > outage_start) CHECK(n != 0);
  }
  server.resume_listening();
  REQUIRE(wait_for([&] { return server.replicas("demo", "hello") == 0; }, 20s));
  MESSAGE("replicas before the outage: " << before_outage << ", back to 0 after it");

  // 5. 5xx / 409 / 429 on the writes: retried, never outside [0, 3].
  server.fail_next(2, 503);
  CHECK(http_get(proxy + "/").status == 200);
  server.fail_next(1, 409);
  server.fail_next(1, 429, 1);
  CHECK(http_get(proxy + "/?sleep_ms=200").status == 200);
  for (const auto& r : server.requests()) {
    if (r.method == "PATCH") {
      CAPTURE(r.body);
      CHECK(r.body.find("null") == std::string::npos);
      CHECK(r.content_type == "application/json-patch+json");
    }
  }
  for (const auto& [t, n] : farm.history()) CHECK((n >= 0 && n <= 3));

  // 6. /metrics names the target; events were recorded on changes; the token is in no log line.
  const auto metrics = http_get(admin + "/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.body.find("scale_adapter_desired_replicas{namespace=\"demo\",name=\"hello\"}") != std::string::npos);
  CHECK(metrics.body.find("scale_adapter_forwarded_requests_total{namespace=\"demo\",name=\"hello\"}") !=
        std::string::npos);
  bool rescale_event = false;
  for (const auto& e : server.events()) rescale_event = rescale_event || e.value("reason", "") == "SuccessfulRescale";
  CHECK(rescale_event);
  adapter.stop();
  for (const auto& line : logs.all()) CHECK(line.find(token) == std::string::npos);
  // 7. Every call the adapter made is one deploy/rbac.yaml grants (least privilege, cluster-adapter.md §6.6),
  //    and the lease was taken (leader election on).
  const auto granted = granted_by_role();
  std::set<std::tuple<std::string, std::string, std::string>> used;
  for (const auto& r : server.requests()) used.insert(rbac_of(r));
  for (const auto& u : used) {
    CAPTURE(std::get<1>(u));
    CAPTURE(std::get<2>(u));
    CHECK(granted.count(u) == 1);
  }
  CHECK(used.count({"coordination.k8s.io", "leases", "create"}) == 1);
  CHECK(used.count({"apps", "deployments/scale", "patch"}) == 1);
}

TEST_CASE("e2e: an unreachable API server or an untrusted CA fails the start with the server named") {
  scale::adapter::runtime_options unreachable;
  unreachable.config = e2e_config();
  unreachable.rest.server = "http://127.0.0.1:1";
  unreachable.rest.namespace_name = "demo";
  const auto t0 = steady::now();
  const auto a = scale::adapter::adapter_runtime::start(std::move(unreachable));
  REQUIRE_FALSE(a.has_value());
  CHECK(a.error_value().message.rfind("cannot reach the API server http://127.0.0.1:1: ", 0) == 0);
  CHECK(seconds_between(t0, steady::now()) < 10.0);

  const std::string tls_dir = std::string(LIBSCALE_TEST_DATA_DIR) + "/adapter/tls/";
  scale::fake_k8s::server_options so;
  so.tls = true;
  so.cert_pem = read_file(tls_dir + "server.pem");
  so.key_pem = read_file(tls_dir + "server-key.pem");
  so.tokens = {{token, "adapter"}};
  scale::fake_k8s::fake_apiserver server(so);
  server.add_deployment("demo", "hello", 0, {{"app", "hello"}});
  scale::adapter::runtime_options untrusted;
  untrusted.config = e2e_config();
  untrusted.rest = rest_for(server);
  untrusted.rest.tls.ca_pem = read_file(tls_dir + "other-ca.pem");
  const auto b = scale::adapter::adapter_runtime::start(std::move(untrusted));
  REQUIRE_FALSE(b.has_value());
  CAPTURE(b.error_value().message);
  CHECK(b.error_value().message.rfind("cannot reach the API server " + server.url(), 0) == 0);
  CHECK(b.error_value().message.find(token) == std::string::npos);
  // The server saw no request it answered: the TLS handshake failed first.
  for (const auto& r : server.requests()) CHECK(r.status == 0);

  // The trusted CA works (the same server, the same token).
  scale::adapter::runtime_options trusted;
  trusted.config = e2e_config();
  trusted.rest = rest_for(server);
  trusted.rest.tls.ca_pem = read_file(tls_dir + "ca.pem");
  trusted.admin_address = "127.0.0.1";
  auto c = scale::adapter::adapter_runtime::start(std::move(trusted));
  REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error_value().message));
  c.value()->stop();
}
