#include <kube/scale.hpp>

#include <doctest/doctest.h>

#include <fake_apiserver.hpp>

#include <string>
#include <vector>

namespace {

using scale::kube::patch_kind;
using scale::kube::scale_info;
using scale::kube::target_ref;

class fixed_token : public scale::kube::credential_source {
 public:
  explicit fixed_token(std::string token) : token_(std::move(token)) {}
  scale::result<scale::kube::credentials> current() override { return scale::kube::credentials{token_, "", "", {}}; }
  scale::result<scale::kube::credentials> refresh_after_unauthorized() override { return current(); }

 private:
  std::string token_;
};

std::unique_ptr<scale::kube::http_client> client_for(const scale::fake_k8s::fake_apiserver& server,
                                                      const std::string& token = "scale-token") {
  scale::kube::rest_config config;
  config.server = server.url();
  if (!token.empty()) config.auth = std::make_shared<fixed_token>(token);
  scale::kube::client_options options;
  options.time.sleep = [](std::chrono::nanoseconds) {};  // tests never wait
  auto client = scale::kube::http_client::create(config, options);
  REQUIRE(client.has_value());
  return std::move(client).value();
}

scale::fake_k8s::server_options token_server() {
  scale::fake_k8s::server_options options;
  options.tokens = {{"scale-token", "scaler"}};
  return options;
}

const target_ref web{"apps/v1", "deployments", "web"};

}  // namespace

TEST_CASE("parse_scale reads the observed Scale objects of cluster-adapter.md 1.2") {
  struct test_case {
    std::string body;
    scale_info want;
  };
  const std::vector<test_case> cases = {
      // §1.2 observed.
      {R"({"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":"web","namespace":"default",
           "uid":"u","resourceVersion":"197","creationTimestamp":"2026-01-01T00:00:00Z"},
           "spec":{"replicas":3},"status":{"replicas":0,"selector":"app=web"}})",
       {3, 0, "app=web", "197"}},
      // §1.2 observed: at zero replicas spec is {} and that means 0.
      {R"({"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"resourceVersion":"198"},"spec":{},
           "status":{"replicas":0,"selector":"app=web"}})",
       {0, 0, "app=web", "198"}},
      // No spec at all, set-based selector passed through unchanged.
      {R"x({"kind":"Scale","status":{"replicas":2,"selector":"a=b,c in (d)"}})x", {0, 2, "a=b,c in (d)", ""}},
      // No selector: empty (the caller refuses the target, as the HPA does).
      {R"({"kind":"Scale","spec":{"replicas":1},"status":{"replicas":1}})", {1, 1, "", ""}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.body);
    const auto got = scale::kube::parse_scale(c.body);
    REQUIRE_MESSAGE(got.has_value(), (got ? "" : got.error_value().message));
    CHECK(*got == c.want);
  }
}

TEST_CASE("parse_scale names the bad field") {
  struct test_case {
    std::string body;
    std::string want;
  };
  const std::vector<test_case> cases = {
      {"", "scale: body is not valid JSON"},
      {"null", "scale: body is not a JSON object"},
      {R"({"kind":"Status"})", "scale: kind is not \"Scale\""},
      {R"({"spec":[]})", "scale: spec is not an object"},
      {R"({"spec":{"replicas":"3"}})", "scale: spec/replicas is not an integer"},
      {R"({"spec":{"replicas":1.5}})", "scale: spec/replicas is not an integer"},
      {R"({"spec":{"replicas":-1}})", "scale: spec/replicas = -1, must be in [0, 2147483647] range"},
      {R"({"spec":{"replicas":2147483648}})", "scale: spec/replicas = 2147483648, must be in [0, 2147483647] range"},
      {R"({"status":{"selector":1}})", "scale: status.selector is not a string"},
      {R"({"metadata":{"resourceVersion":5}})", "scale: metadata.resourceVersion is not a string"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.body);
    const auto got = scale::kube::parse_scale(c.body);
    REQUIRE_FALSE(got.has_value());
    CHECK(got.error_value().message == c.want);
  }
}

TEST_CASE("scale_path builds the path from group, version and resource") {
  struct test_case {
    std::string ns;
    target_ref target;
    std::string want;  // "!" + message for an error
  };
  const std::vector<test_case> cases = {
      {"default", {"apps/v1", "deployments", "web"}, "/apis/apps/v1/namespaces/default/deployments/web/scale"},
      {"prod", {"apps/v1", "statefulsets", "db-0"}, "/apis/apps/v1/namespaces/prod/statefulsets/db-0/scale"},
      {"default", {"example.com/v1alpha1", "widgets", "w"},
       "/apis/example.com/v1alpha1/namespaces/default/widgets/w/scale"},
      {"default", {"v1", "replicationcontrollers", "rc"}, "/api/v1/namespaces/default/replicationcontrollers/rc/scale"},
      {"default", {"apps/v1", "deployments", "../x"}, "!name = \"../x\", must be a DNS name"},
      {"a/b", {"apps/v1", "deployments", "web"}, "!namespace = \"a/b\", must be a DNS name"},
      {"default", {"apps/v1", "Deployment", "web"}, "!resource = \"Deployment\", must be a lowercase plural resource name"},
      {"default", {"v2", "deployments", "web"}, "!apiVersion = \"v2\", must be group/version or v1"},
      {"default", {"apps/", "deployments", "web"}, "!apiVersion = \"apps/\", must be group/version"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.want);
    const auto got = scale::kube::scale_path(c.ns, c.target);
    if (c.want.front() == '!') {
      REQUIRE_FALSE(got.has_value());
      CHECK(got.error_value().message == c.want.substr(1));
    } else {
      REQUIRE(got.has_value());
      CHECK(*got == c.want);
    }
  }
  CHECK(*scale::kube::resource_for_kind("Deployment") == "deployments");
  CHECK(*scale::kube::resource_for_kind("StatefulSet") == "statefulsets");
  CHECK(scale::kube::resource_for_kind("Widget").error_value().message ==
        "kind = \"Widget\", must be Deployment, StatefulSet or ReplicaSet; give the plural resource name for "
        "other kinds");
}

TEST_CASE("replicas_patch_body is exactly the documents of cluster-adapter.md 1.3") {
  CHECK(scale::kube::replicas_patch_body(3, patch_kind::json_patch) ==
        R"([{"op":"add","path":"/spec/replicas","value":3}])");
  CHECK(scale::kube::replicas_patch_body(0, patch_kind::merge_patch) == R"({"spec":{"replicas":0}})");
  CHECK(scale::kube::patch_content_type(patch_kind::json_patch) == "application/json-patch+json");
  CHECK(scale::kube::patch_content_type(patch_kind::merge_patch) == "application/merge-patch+json");
}

TEST_CASE("get_scale and set_replicas against the test API server") {
  scale::fake_k8s::fake_apiserver server(token_server());
  server.add_deployment("default", "web", 0, {{"app", "web"}});
  auto client = client_for(server);

  // §1.2: at zero the server omits spec.replicas; we read 0.
  auto got = scale::kube::get_scale(*client, "default", web);
  REQUIRE_MESSAGE(got.has_value(), (got ? "" : got.error_value().message));
  CHECK(got->replicas == 0);
  CHECK(got->selector == "app=web");
  CHECK_FALSE(got->resource_version.empty());

  struct test_case {
    patch_kind kind;
    int replicas;
    std::string content_type;
    std::string body;
  };
  const std::vector<test_case> cases = {
      {patch_kind::json_patch, 3, "application/json-patch+json", R"([{"op":"add","path":"/spec/replicas","value":3}])"},
      {patch_kind::merge_patch, 5, "application/merge-patch+json", R"({"spec":{"replicas":5}})"},
      {patch_kind::merge_patch, 0, "application/merge-patch+json", R"({"spec":{"replicas":0}})"},
      {patch_kind::json_patch, 1, "application/json-patch+json", R"([{"op":"add","path":"/spec/replicas","value":1}])"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.body);
    server.clear_requests();
    auto set = scale::kube::set_replicas(*client, "default", web, c.replicas, c.kind);
    REQUIRE_MESSAGE(set.has_value(), (set ? "" : set.error_value().message));
    CHECK(set->replicas == c.replicas);
    CHECK(server.replicas("default", "web") == c.replicas);
    const auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].method == "PATCH");
    CHECK(requests[0].target == "/apis/apps/v1/namespaces/default/deployments/web/scale?fieldManager=scale-adapter");
    CHECK(requests[0].content_type == c.content_type);
    CHECK(requests[0].body == c.body);
  }

  SUBCASE("dry run answers the would-be value and stores nothing (§1.6)") {
    server.clear_requests();
    auto dry = scale::kube::set_replicas(*client, "default", web, 9, patch_kind::json_patch, true);
    REQUIRE(dry.has_value());
    CHECK(dry->replicas == 9);
    CHECK(server.replicas("default", "web") == 1);
    CHECK(server.requests().at(0).target ==
          "/apis/apps/v1/namespaces/default/deployments/web/scale?dryRun=All&fieldManager=scale-adapter");
  }
  SUBCASE("a negative count is refused before any request") {
    server.clear_requests();
    auto negative = scale::kube::set_replicas(*client, "default", web, -1, patch_kind::merge_patch);
    REQUIRE_FALSE(negative.has_value());
    CHECK(negative.error_value().message == "replicas = -1, must be >= 0");
    CHECK(server.requests().empty());
  }
  SUBCASE("a missing target is 404 NotFound") {
    auto missing = scale::kube::get_scale(*client, "default", {"apps/v1", "deployments", "nosuch"});
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error_value().code == 404);
    CHECK(missing.error_value().reason == "NotFound");
    auto write = scale::kube::set_replicas(*client, "default", {"apps/v1", "deployments", "nosuch"}, 1,
                                           patch_kind::json_patch);
    REQUIRE_FALSE(write.has_value());
    CHECK(write.error_value().code == 404);
  }
  SUBCASE("anonymous is 403 Forbidden (§1.5)") {
    auto anonymous = client_for(server, "");
    auto denied = scale::kube::get_scale(*anonymous, "default", web);
    REQUIRE_FALSE(denied.has_value());
    CHECK(denied.error_value().code == 403);
    CHECK(denied.error_value().reason == "Forbidden");
  }
  // §1.3: only the two patch types are sent, so the server never answered 415.
  for (const auto& r : server.requests()) CHECK(r.status != 415);
}
