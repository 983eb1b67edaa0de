// deploy/*.yaml: every manifest parses, the kinds are the expected ones, the Role grants exactly what the
// adapter's code calls, and the example config is accepted by the adapter's own reader.
#include <adapter/adapter_config.hpp>

#include <doctest/doctest.h>

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <tuple>

namespace {

const std::filesystem::path deploy_dir = std::filesystem::path(LIBSCALE_SOURCE_DIR) / "deploy";

/// (api group, resource, verb) the adapter calls: kube::get_scale / set_replicas (GET, PATCH of the scale
/// subresource), kube::pod_list_watch (LIST, WATCH pods), kube::record_event (POST events.k8s.io/v1), and
/// kube::leader_elector (GET, POST, PUT of a Lease). tests/adapter/e2e_test.cpp checks the requests the fake API
/// server saw against deploy/rbac.yaml as well.
const std::set<std::tuple<std::string, std::string, std::string>> calls = {
    {"apps", "deployments/scale", "get"},   {"apps", "deployments/scale", "patch"},
    {"", "pods", "list"},                   {"", "pods", "watch"},
    {"events.k8s.io", "events", "create"},  {"coordination.k8s.io", "leases", "get"},
    {"coordination.k8s.io", "leases", "create"}, {"coordination.k8s.io", "leases", "update"},
};

}  // namespace

TEST_CASE("every deploy manifest parses and has the expected kinds") {
  std::multiset<std::string> kinds;
  for (const auto& entry : std::filesystem::directory_iterator(deploy_dir)) {
    if (entry.path().extension() != ".yaml") continue;
    CAPTURE(entry.path().string());
    const auto docs = YAML::LoadAllFromFile(entry.path().string());
    for (const auto& doc : docs) {
      REQUIRE(doc["kind"]);
      REQUIRE(doc["apiVersion"]);
      REQUIRE(doc["metadata"]["name"]);
      kinds.insert(doc["kind"].as<std::string>());
    }
  }
  // The adapter's own manifests (deploy/ also holds other tools' manifests, e.g. the scalesim Job).
  for (const char* kind : {"Namespace", "ServiceAccount", "Role", "RoleBinding", "ConfigMap"}) {
    CAPTURE(kind);
    CHECK(kinds.count(kind) == 1);
  }
  CHECK(kinds.count("Deployment") == 2);  // the adapter and the hello app
  CHECK(kinds.count("Service") == 2);     // the adapter's (proxy + admin) and hello-direct
}

TEST_CASE("the Role grants exactly the calls the adapter makes") {
  const auto docs = YAML::LoadAllFromFile((deploy_dir / "rbac.yaml").string());
  std::set<std::tuple<std::string, std::string, std::string>> granted;
  for (const auto& doc : docs) {
    if (doc["kind"].as<std::string>() == "RoleBinding") {
      CHECK(doc["roleRef"]["name"].as<std::string>() == "scale-adapter");
      CHECK(doc["subjects"][0]["kind"].as<std::string>() == "ServiceAccount");
      CHECK(doc["subjects"][0]["name"].as<std::string>() == "scale-adapter");
      continue;
    }
    REQUIRE(doc["kind"].as<std::string>() == "Role");
    for (const auto& rule : doc["rules"]) {
      for (const auto& g : rule["apiGroups"]) {
        for (const auto& r : rule["resources"]) {
          for (const auto& v : rule["verbs"]) {
            granted.insert({g.as<std::string>(), r.as<std::string>(), v.as<std::string>()});
          }
        }
      }
    }
  }
  CHECK(granted == calls);
}

TEST_CASE("the example ConfigMap's config is accepted by the adapter's reader") {
  const auto cm = YAML::LoadFile((deploy_dir / "config.yaml").string());
  REQUIRE(cm["kind"].as<std::string>() == "ConfigMap");
  const auto text = cm["data"]["config.yaml"].as<std::string>();
  const auto c = scale::adapter::parse_adapter_config(text, "deploy/config.yaml");
  REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error_value().message));
  REQUIRE(c->targets.size() == 1);
  CHECK(c->leader_election.enabled);
  CHECK(c->targets[0].ref.name == "hello");
  CHECK(c->targets[0].port == 8080);
  CHECK(c->targets[0].proxy.listen_port == 8080);
  // The adapter Service's ports match the config: proxy 8080 and admin 9095.
  const auto adapter_docs = YAML::LoadAllFromFile((deploy_dir / "adapter.yaml").string());
  std::map<std::string, int> container_ports;
  for (const auto& doc : adapter_docs) {
    if (doc["kind"].as<std::string>() != "Deployment") continue;
    for (const auto& p : doc["spec"]["template"]["spec"]["containers"][0]["ports"]) {
      container_ports[p["name"].as<std::string>()] = p["containerPort"].as<int>();
    }
    CHECK(doc["spec"]["template"]["spec"]["serviceAccountName"].as<std::string>() == "scale-adapter");
  }
  CHECK(container_ports["proxy"] == c->targets[0].proxy.listen_port);
  CHECK(container_ports["admin"] == c->admin_port);
}
