#include <adapter/adapter_config.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace std::chrono_literals;
using scale::adapter::metrics_mode;
using scale::adapter::parse_adapter_config;
using scale::adapter::read_adapter_config;

namespace {
const std::string data_dir = std::string(LIBSCALE_TEST_DATA_DIR) + "/adapter/app/";
}

TEST_CASE("the proxy fixture resolves through libscale's reader") {
  const auto c = read_adapter_config(data_dir + "proxy_target.yaml");
  REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error_value().message));
  CHECK(c->decision_interval == 2s);
  CHECK(c->patch == scale::kube::patch_kind::json_patch);
  CHECK(c->admin_port == 9095);
  CHECK_FALSE(c->leader_election.enabled);
  REQUIRE(c->targets.size() == 1);
  const auto& t = c->targets[0];
  CHECK(t.namespace_name == "demo");
  CHECK(t.ref == scale::kube::target_ref{"apps/v1", "deployments", "hello"});
  CHECK(t.port == 8080);
  CHECK(t.mode == metrics_mode::proxy);
  CHECK(t.proxy.listen_port == 8080);
  CHECK(t.proxy.timeout == 30s);
  CHECK(t.container_concurrency == 10);
  // Proxy mode is Knative with target-burst-capacity -1 (kpa-spec.md §6.4).
  CHECK(t.revision.target_burst_capacity == -1);
  CHECK(t.revision.stable_window == 6s);
  // Panic window 10 % of 6 s rounds to 1 s, the one-bucket minimum (config.hpp detail::panic_window).
  CHECK(t.revision.panic_window == 1s);
  CHECK(t.revision.scale_to_zero_grace_period == 6s);
  CHECK(t.revision.max_scale == 5);
  // containerConcurrency 10 × the default 70 % target (kpa-spec.md §1.3).
  CHECK(t.revision.total_value == 10);
  CHECK(t.revision.target_value == doctest::Approx(7.0));
  const auto p = scale::adapter::make_policy_config(t, scale::kpa_start::idle);
  CHECK(p.kpa.max_scale == 5);
  CHECK(p.kpa.target_burst_capacity == -1);
  CHECK(p.decider.target_value == doctest::Approx(7.0));
  CHECK(p.stable_window == 6s);
  CHECK(p.start == scale::kpa_start::idle);
}

TEST_CASE("the scrape fixture: defaults, another kind and an app gauge") {
  const auto c = read_adapter_config(data_dir + "scrape_target.yaml");
  REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error_value().message));
  REQUIRE(c->targets.size() == 2);
  const auto& web = c->targets[0];
  CHECK(web.mode == metrics_mode::scrape);
  CHECK(web.namespace_name.empty());
  CHECK(web.scrape.port == 9090);
  CHECK_FALSE(web.scrape.gauge.has_value());
  // Knative's default TBC stays in scrape mode; the config key sets the per-pod total.
  CHECK(web.revision.target_burst_capacity == 211);
  CHECK(web.revision.total_value == 50);
  const auto& app = c->targets[1];
  CHECK(app.ref.resource == "statefulsets");
  CHECK(app.scrape.path == "/stats");
  REQUIRE(app.scrape.gauge.has_value());
  CHECK(app.scrape.gauge->metric == "inflight_requests");
  REQUIRE(app.scrape.gauge->labels.size() == 1);
  CHECK(app.scrape.gauge->labels[0].name == "handler");
}

TEST_CASE("bad config files give one line naming the file, the target and the key") {
  struct bad_case {
    std::string text;
    std::string message;
  };
  const bad_case cases[] = {
      {"targets:\n- name: hello\n  proxyy: {}\n", "f.yaml:3: targets[0] (hello): unknown key \"proxyy\""},
      {"target: []\n", "f.yaml:1: unknown key \"target\""},
      {"targets: []\n", "f.yaml:1: targets must be a non-empty list"},
      {"targets:\n- mode: proxy\n", "f.yaml:2: targets[0]: name is required"},
      {"targets:\n- name: hello\n  mode: push\n", "f.yaml:3: targets[0] (hello): mode = push, must be proxy or scrape"},
      {"targets:\n- name: hello\n  proxy:\n    listenPort: 70000\n",
       "f.yaml:4: targets[0] (hello): proxy: listenPort = 70000, must be an integer in [0, 65535] range"},
      {"targets:\n- name: hello\n  proxy:\n    port: 1\n", "f.yaml:4: targets[0] (hello): proxy: unknown key \"port\""},
      // libscale's own config validation text (Knative config.go), prefixed with the target.
      {"targets:\n- name: hello\n  config:\n    stable-window: 2s\n",
       "f.yaml:4: targets[0] (hello): config: stable-window = 2s, must be in [6s; 1h0m0s] range"},
      {"targets:\n- name: hello\n  config:\n    no-such-key: x\n",
       "f.yaml:4: targets[0] (hello): config: unknown config-autoscaler key \"no-such-key\""},
      {"targets:\n- name: hello\n  annotations:\n    autoscaling.knative.dev/min-scale: \"-1\"\n",
       "f.yaml:4: targets[0] (hello): annotations: expected 0 <= -1 <= 2147483647: "
       "autoscaling.knative.dev/min-scale"},
      {"targets:\n- name: hello\n  config:\n    target-burst-capacity: \"200\"\n",
       "f.yaml:4: targets[0] (hello): config: target-burst-capacity = 200, must be -1 in proxy mode (the proxy is "
       "always in the request path)"},
      {"targets:\n- name: hello\n  mode: scrape\n  annotations:\n    autoscaling.knative.dev/target-burst-capacity: "
       "\"-1\"\n",
       "f.yaml:2: targets[0] (hello): target-burst-capacity -1 is not allowed in scrape mode (a failed scrape would "
       "read as zero load)"},
      {"targets:\n- name: hello\n- name: hello\n  proxy: {listenPort: 9}\n",
       "f.yaml:3: targets[1] (hello): the same target is listed twice"},
      {"targets:\n- name: a\n- name: b\n", "f.yaml:3: targets[1] (b): proxy listenPort 8080 is used by another target"},
      {"targets:\n- name: Hello\n", "f.yaml:2: targets[0] (Hello): name = Hello, must be a lowercase DNS name"},
      {"targets:\n- name: web\n  kind: Widget\n",
       "f.yaml:3: targets[0] (web): kind: kind = \"Widget\", must be Deployment, StatefulSet or ReplicaSet; give the "
       "plural resource name for other kinds"},
      {"patchType: strategic\ntargets:\n- name: a\n", "f.yaml:1: patchType = strategic, must be json or merge"},
      {"decisionInterval: 2\ntargets:\n- name: a\n",
       "f.yaml:1: decisionInterval: time: missing unit in duration \"2\""},
      {"leaderElection:\n  enabled: yes\ntargets:\n- name: a\n",
       "f.yaml:2: leaderElection: enabled = yes, must be true or false"},
      {"a: 1\n---\nb: 2\n", "f.yaml: expected one YAML document, found 2 or more"},
      {"targets: [\n", "f.yaml:2: end of sequence flow not found"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    const auto r = parse_adapter_config(c.text, "f.yaml");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error_value().message == c.message);
  }
}

TEST_CASE("a missing config file is an error naming it") {
  const auto r = read_adapter_config("/nonexistent/adapter.yaml");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error_value().message == "cannot read /nonexistent/adapter.yaml: No such file or directory");
}
