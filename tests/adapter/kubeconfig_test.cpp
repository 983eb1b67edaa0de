#include <kube/kubeconfig.hpp>

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#ifndef LIBSCALE_TEST_DATA_DIR
#define LIBSCALE_TEST_DATA_DIR "tests/data"
#endif

namespace {

using namespace scale::kube;
namespace fs = std::filesystem;

const std::string data_dir = std::string(LIBSCALE_TEST_DATA_DIR) + "/adapter/kubeconfig";
std::string fixture(const std::string& name) { return data_dir + "/" + name; }

// PEM texts of the fixtures (tests/data/adapter/kubeconfig/certs and the base64 in the YAML files).
const std::string ca_from_file = "-----BEGIN CERTIFICATE-----\nCA-FROM-FILE\n-----END CERTIFICATE-----\n";
const std::string ca_from_data = "-----BEGIN CERTIFICATE-----\nCA-FROM-DATA\n-----END CERTIFICATE-----\n";
const std::string client_from_file = "-----BEGIN CERTIFICATE-----\nCLIENT-FROM-FILE\n-----END CERTIFICATE-----\n";
const std::string client_from_data = "-----BEGIN CERTIFICATE-----\nCLIENT-FROM-DATA\n-----END CERTIFICATE-----\n";
const std::string key_from_file = "-----BEGIN PRIVATE KEY-----\nKEY-FROM-FILE\n-----END PRIVATE KEY-----\n";
const std::string key_from_data = "-----BEGIN PRIVATE KEY-----\nKEY-FROM-DATA\n-----END PRIVATE KEY-----\n";

/// A fresh directory under /tmp, removed with its content.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "kubeconfig-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string write(const std::string& name, const std::string& content) const {
    const fs::path file = path_ / name;
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary | std::ios::trunc) << content;
    return file.string();
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

load_options with_env(const std::string& kubeconfig_env) {
  load_options options;
  options.kubeconfig_env = kubeconfig_env;
  return options;
}

std::string token_of(const rest_config& config) {
  REQUIRE(config.auth != nullptr);
  auto creds = config.auth->current();
  REQUIRE(creds.has_value());
  return creds->bearer_token;
}

}  // namespace

TEST_CASE("kubeconfig lists merge with the first definition of each name winning") {
  // cluster-adapter.md §2 (clientcmd loader.go): first file to define a name or current-context wins;
  // missing files in KUBECONFIG are skipped. Server URLs lose their trailing slash.
  const std::string a = fixture("merge-a.yaml"), b = fixture("merge-b.yaml");
  struct case_t {
    std::string kubeconfig_env, context, namespace_override;
    std::string server, namespace_name, token, origin;
  };
  const std::vector<case_t> cases = {
      {a + ":" + b, "", "", "https://a.example:6443", "team-a", "token-from-a", "kubeconfig " + a + " (context ctx-a)"},
      {a + ":/no/such/file:" + b, "", "", "https://a.example:6443", "team-a", "token-from-a",
       "kubeconfig " + a + " (context ctx-a)"},
      {b + ":" + a, "", "", "https://only-b.example", "default", "token-b-only", "kubeconfig " + b + " (context ctx-b)"},
      // shared-ctx and shared-user come from the first file listed.
      {a + ":" + b, "shared-ctx", "", "https://a.example:6443", "default", "token-from-a",
       "kubeconfig " + a + " (context shared-ctx)"},
      {b + ":" + a, "shared-ctx", "", "https://only-b.example", "from-b", "token-b-only",
       "kubeconfig " + b + " (context shared-ctx)"},
      // --context picks a context defined only in the second file; --namespace wins over the context's.
      {a + ":" + b, "ctx-b", "", "https://only-b.example", "default", "token-b-only",
       "kubeconfig " + b + " (context ctx-b)"},
      {a + ":" + b, "ctx-a", "override", "https://a.example:6443", "override", "token-from-a",
       "kubeconfig " + a + " (context ctx-a)"},
      {a + "::" + a, "", "", "https://a.example:6443", "team-a", "token-from-a", "kubeconfig " + a + " (context ctx-a)"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.kubeconfig_env);
    CAPTURE(c.context);
    load_options options = with_env(c.kubeconfig_env);
    options.context = c.context;
    options.namespace_name = c.namespace_override;
    auto config = load_rest_config(options);
    REQUIRE_MESSAGE(config.has_value(), config.error_value().message);
    CHECK(config->server == c.server);
    CHECK(config->namespace_name == c.namespace_name);
    CHECK(token_of(*config) == c.token);
    CHECK(config->origin == c.origin);
  }
}

TEST_CASE("merge_kubeconfig keeps the first file's entries and current-context") {
  auto a = read_kubeconfig_file(fixture("merge-a.yaml"));
  auto b = read_kubeconfig_file(fixture("merge-b.yaml"));
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  kubeconfig merged;
  merge_kubeconfig(merged, *a);
  merge_kubeconfig(merged, *b);
  // merge-a: shared; merge-b adds only-b. Users: shared-user (a), b-user. Contexts: ctx-a, shared-ctx (a), ctx-b.
  REQUIRE(merged.clusters.size() == 2);
  CHECK(merged.find_cluster("shared")->server == "https://a.example:6443/");
  CHECK(merged.find_cluster("only-b")->source_file == fixture("merge-b.yaml"));
  CHECK(merged.users.size() == 2);
  CHECK(merged.find_user("shared-user")->token == "token-from-a");
  CHECK(merged.contexts.size() == 3);
  CHECK(merged.find_context("shared-ctx")->source_file == fixture("merge-a.yaml"));
  CHECK(merged.current_context == "ctx-a");
  CHECK(merged.current_context_file == fixture("merge-a.yaml"));
}

TEST_CASE("relative paths resolve against the kubeconfig's directory") {
  // clientcmd ResolveLocalPaths (cluster-adapter.md §2): sub/relative.yaml says ../certs/ca.pem.
  auto parsed = read_kubeconfig_file(fixture("sub/relative.yaml"));
  REQUIRE_MESSAGE(parsed.has_value(), parsed.error_value().message);
  const auto normal = [](const std::string& p) { return fs::path(p).lexically_normal().string(); };
  CHECK(parsed->clusters.at(0).certificate_authority == normal(fixture("certs/ca.pem")));
  CHECK(parsed->users.at(0).client_certificate == normal(fixture("certs/client.pem")));
  CHECK(parsed->users.at(0).client_key == normal(fixture("certs/client-key.pem")));
  CHECK(parsed->users.at(0).token_file == normal(fixture("tokens/token")));

  load_options options;
  options.explicit_path = fixture("sub/relative.yaml");
  auto config = load_rest_config(options);
  REQUIRE_MESSAGE(config.has_value(), config.error_value().message);
  CHECK(config->server == "https://127.0.0.1:6443");
  CHECK(config->namespace_name == "rel-ns");
  CHECK(config->tls == tls_settings{ca_from_file, false, "kubernetes.default"});
  CHECK(config->impersonate == impersonation{"jane", {"devs", "ops"}, "1234"});
  auto creds = config->auth->current();
  REQUIRE(creds.has_value());
  // tokens/token holds "  file-token-1\n\n": trimmed. The certificate rides along with the token file.
  CHECK(*creds == credentials{"file-token-1", client_from_file, key_from_file, std::nullopt});
}

TEST_CASE("data fields win over path fields") {
  load_options options;
  options.explicit_path = fixture("data-over-path.yaml");
  auto config = load_rest_config(options);
  REQUIRE_MESSAGE(config.has_value(), config.error_value().message);
  CHECK(config->tls.ca_pem == ca_from_data);
  auto creds = config->auth->current();
  REQUIRE(creds.has_value());
  CHECK(*creds == credentials{"", client_from_data, key_from_data, std::nullopt});
}

TEST_CASE("a JSON kubeconfig with tab indentation loads") {
  load_options options;
  options.explicit_path = fixture("config.json");
  auto config = load_rest_config(options);
  REQUIRE_MESSAGE(config.has_value(), config.error_value().message);
  CHECK(config->server == "https://json.example:443");
  CHECK(config->namespace_name == "json-ns");
  CHECK(config->tls == tls_settings{"", true, ""});
  CHECK(token_of(*config) == "json-token");
}

TEST_CASE("exec users parse with the command resolved and static credentials winning") {
  auto parsed = read_kubeconfig_file(fixture("exec.yaml"));
  REQUIRE_MESSAGE(parsed.has_value(), parsed.error_value().message);
  const exec_config expected{"client.authentication.k8s.io/v1",
                             fs::path(fixture("plugins/exec-plugin.sh")).lexically_normal().string(),
                             {"client.authentication.k8s.io/v1", "token"},
                             {{"PLUGIN_MODE", "test"}},
                             "install the fake plugin",
                             true,
                             "Never"};
  REQUIRE(parsed->users.at(0).exec.has_value());
  CHECK(*parsed->users.at(0).exec == expected);
  // A bare command stays a name for PATH lookup.
  CHECK(parsed->users.at(1).exec->command == "sh");
  CHECK(parsed->clusters.at(0).exec_extension_json == R"({"audience":"scale","retries":2})");

  struct case_t {
    std::string context;
    std::string token;
  };
  // The fake plugin prints "tok-<run>" with no COUNT_FILE: always tok-1. token-wins: client-go exec.go
  // skips the plugin when a static token is set.
  const std::vector<case_t> cases = {{"v1", "tok-1"}, {"token-wins", "static-token"}};
  for (const auto& c : cases) {
    CAPTURE(c.context);
    load_options options;
    options.explicit_path = fixture("exec.yaml");
    options.context = c.context;
    auto config = load_rest_config(options);
    REQUIRE_MESSAGE(config.has_value(), config.error_value().message);
    CHECK(token_of(*config) == c.token);
  }
}

TEST_CASE("a cluster's proxy-url reaches the client's settings") {
  load_options options;
  options.explicit_path = fixture("proxy.yaml");
  auto config = load_rest_config(options);
  REQUIRE_MESSAGE(config.has_value(), config.error_value().message);
  CHECK(config->proxy_url == "socks5://127.0.0.1:1080");
}

TEST_CASE("invalid kubeconfigs are refused with messages naming file and field") {
  struct case_t {
    std::string file, context, message;
  };
  const auto f = fixture;
  const std::vector<case_t> cases = {
      {f("ca-insecure.yaml"), "",
       // client-go transport/transport.go (cluster-adapter.md §2).
       "kubeconfig " + f("ca-insecure.yaml") +
           ": cluster \"risky\": specifying a root certificates file with the insecure flag is not allowed"},
      {f("missing-current-context.yaml"), "",
       "kubeconfig " + f("missing-current-context.yaml") + ": current-context \"gone\" does not exist"},
      {f("missing-current-context.yaml"), "nope",
       "kubeconfig " + f("missing-current-context.yaml") + ": context \"nope\" does not exist"},
      {f("bad-base64.yaml"), "", "kubeconfig " + f("bad-base64.yaml") + ": users[1].user.client-key-data: not valid base64"},
      {f("basic-auth.yaml"), "",
       "kubeconfig " + f("basic-auth.yaml") +
           ": user \"basic\": username/password (basic auth) is not supported; the API server removed it in 1.19"},
      {f("basic-auth.yaml"), "provider",
       "kubeconfig " + f("basic-auth.yaml") + ": user \"provider\": auth-provider \"oidc\" is unsupported; use exec"},
      {f("basic-auth.yaml"), "cert-only",
       "kubeconfig " + f("basic-auth.yaml") + ": user \"cert-only\": client-certificate is given without client-key"},
      {f("basic-auth.yaml"), "key-only",
       "kubeconfig " + f("basic-auth.yaml") + ": user \"key-only\": client-key is given without client-certificate"},
      {f("basic-auth.yaml"), "ghost-token",
       "kubeconfig " + f("basic-auth.yaml") + ": user \"ghost-token\": token file " + f("tokens/no-such-token") +
           ": cannot read: No such file or directory"},
      {f("basic-auth.yaml"), "no-user",
       "kubeconfig " + f("basic-auth.yaml") + ": user \"nobody\" was not found for context \"no-user\""},
      {f("basic-auth.yaml"), "no-cluster",
       "kubeconfig " + f("basic-auth.yaml") + ": cluster \"nowhere\" was not found for context \"no-cluster\""},
      {f("exec.yaml"), "v1-no-mode",
       "kubeconfig " + f("exec.yaml") + ": users[2].user.exec.interactiveMode: required in client.authentication.k8s.io/v1"},
      {f("exec.yaml"), "always",
       "kubeconfig " + f("exec.yaml") +
           ": users[3].user.exec.interactiveMode: Always needs a terminal, but the adapter is not interactive"},
      {f("exec.yaml"), "alpha",
       "kubeconfig " + f("exec.yaml") +
           ": users[4].user.exec.apiVersion: \"client.authentication.k8s.io/v1alpha1\" is not supported, expected "
           "client.authentication.k8s.io/v1 or client.authentication.k8s.io/v1beta1"},
      {"/no/such/kubeconfig", "", "kubeconfig /no/such/kubeconfig: cannot read: No such file or directory"},
      {f("proxy.yaml"), "bad-proxy",
       "kubeconfig " + f("proxy.yaml") +
           ": cluster \"ftp-proxy\": proxy-url \"ftp://proxy.example:21\" is not an http://, https:// or socks5:// URL"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.file);
    CAPTURE(c.context);
    load_options options;
    options.explicit_path = c.file;
    options.context = c.context;
    auto config = load_rest_config(options);
    REQUIRE_FALSE(config.has_value());
    CHECK(config.error_value().message == c.message);
  }
}

TEST_CASE("an anonymous context and a v1beta1 exec user without interactiveMode load") {
  for (const std::string context : {"anonymous"}) {
    load_options options;
    options.explicit_path = fixture("basic-auth.yaml");
    options.context = context;
    auto config = load_rest_config(options);
    REQUIRE_MESSAGE(config.has_value(), config.error_value().message);
    CHECK(config->auth == nullptr);
  }
  load_options options;
  options.explicit_path = fixture("exec.yaml");
  options.context = "v1beta1";
  auto config = load_rest_config(options);
  REQUIRE_MESSAGE(config.has_value(), config.error_value().message);
  CHECK(config->auth != nullptr);
}

TEST_CASE("parse errors name the file, the field path and what was expected") {
  const std::string file = "/x/config";
  struct case_t {
    std::string text, message;
  };
  const std::vector<case_t> cases = {
      {"clusters: {a: 1}\n", "kubeconfig /x/config: clusters: expected a list, got a map"},
      {"clusters:\n- cluster: {server: x}\n", "kubeconfig /x/config: clusters[0].name: missing"},
      {"clusters:\n- {name: a}\n- {name: a}\n", "kubeconfig /x/config: clusters[1].name: duplicate name \"a\""},
      {"clusters:\n- {name: a, cluster: {insecure-skip-tls-verify: maybe}}\n",
       "kubeconfig /x/config: clusters[0].cluster.insecure-skip-tls-verify: expected true or false"},
      {"users:\n- {name: u, user: {token: [a, b]}}\n", "kubeconfig /x/config: users[0].user.token: expected a string, got a sequence"},
      {"users:\n- {name: u, user: {exec: {env: [{value: v}]}}}\n", "kubeconfig /x/config: users[0].user.exec.env[0].name: missing"},
      {"contexts:\n- {name: c, context: [1]}\n", "kubeconfig /x/config: contexts[0].context: expected a map, got a sequence"},
      {"kind: Pod\n", "kubeconfig /x/config: kind: \"Pod\", expected Config"},
      {"- 1\n", "kubeconfig /x/config: expected a map, got a sequence"},
      {"a: 1\n---\nb: 2\n", "kubeconfig /x/config: expected one YAML document, found 2 or more"},
      {"{\"clusters\": [}", "kubeconfig /x/config: not valid JSON"},
      // Aliases expanding to 10^4 + 10^3 + ... values: the exec extension's budget stops the "billion laughs".
      {"clusters:\n- name: c\n  cluster:\n    extensions:\n    - name: client.authentication.k8s.io/exec\n"
       "      extension:\n        a: &a [x, x, x, x, x, x, x, x, x, x]\n"
       "        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
       "        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
       "        d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
       "kubeconfig /x/config: clusters[0].cluster.extensions[0].extension: more than 10000 values"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto parsed = parse_kubeconfig(c.text, file);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error_value().message == c.message);
  }
  // Empty input is an empty config, as in client-go.
  auto empty = parse_kubeconfig("", file);
  REQUIRE(empty.has_value());
  CHECK(*empty == kubeconfig{});
}

TEST_CASE("malformed YAML is an error naming the file and line") {
  auto parsed = read_kubeconfig_file(fixture("malformed.yaml"));
  REQUIRE_FALSE(parsed.has_value());
  // yaml-cpp notices the unterminated quote at the end of the text: line 6 (1-based) of the 5-line file.
  CHECK(parsed.error_value().message == "kubeconfig " + fixture("malformed.yaml") + ":6: not valid YAML: end of map flow not found");
}

TEST_CASE("no kubeconfig file at all is an error unless the in-cluster fallback applies") {
  temp_dir home;
  load_options options;
  options.home = home.path().string();
  auto none = load_rest_config(options);
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error_value().message == "no kubeconfig: " + (home.path() / ".kube/config").string() + " does not exist");

  auto listed = load_rest_config(with_env("/no/a:/no/b"));
  REQUIRE_FALSE(listed.has_value());
  CHECK(listed.error_value().message == "no kubeconfig: none of /no/a, /no/b exists");

  options.in_cluster_fallback = true;
  auto outside = load_rest_config(options);
  REQUIRE_FALSE(outside.has_value());
  CHECK(outside.error_value().message ==
        "no kubeconfig (" + (home.path() / ".kube/config").string() +
            " does not exist) and not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");

  temp_dir sa;
  sa.write("token", "sa-token\n");
  sa.write("ca.crt", ca_from_file);
  sa.write("namespace", "apps\n");
  options.in_cluster = {"10.96.0.1", "443", sa.path().string(), ""};
  options.namespace_name = "chosen";
  auto inside = load_rest_config(options);
  REQUIRE_MESSAGE(inside.has_value(), inside.error_value().message);
  CHECK(inside->origin == "in-cluster");
  CHECK(inside->namespace_name == "chosen");

  // ~/.kube/config is used when it exists.
  home.write(".kube/config", "current-context: c\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:8080'}}]\n"
                             "contexts: [{name: c, context: {cluster: c}}]\n");
  auto from_home = load_rest_config(options);
  REQUIRE_MESSAGE(from_home.has_value(), from_home.error_value().message);
  CHECK(from_home->server == "http://127.0.0.1:8080");
  CHECK(from_home->namespace_name == "chosen");
}

TEST_CASE("in-cluster configuration from the service-account directory") {
  // cluster-adapter.md §3: https://host:port, an IPv6 host in brackets; namespace from $POD_NAMESPACE, the
  // file, else "default".
  temp_dir sa;
  sa.write("token", "sa-token-1\n");
  sa.write("ca.crt", ca_from_file);
  struct case_t {
    std::string host, port, pod_namespace, namespace_file, server, namespace_name;
  };
  const std::vector<case_t> cases = {
      {"10.96.0.1", "443", "", "apps\n", "https://10.96.0.1:443", "apps"},
      {"fd00:10:96::1", "6443", "", "apps", "https://[fd00:10:96::1]:6443", "apps"},
      {"kubernetes.default.svc", "443", "from-env", "apps", "https://kubernetes.default.svc:443", "from-env"},
      {"10.96.0.1", "443", "", "", "https://10.96.0.1:443", "default"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.host);
    sa.write("namespace", c.namespace_file);
    auto config = in_cluster_config({c.host, c.port, sa.path().string(), c.pod_namespace});
    REQUIRE_MESSAGE(config.has_value(), config.error_value().message);
    CHECK(config->server == c.server);
    CHECK(config->namespace_name == c.namespace_name);
    CHECK(config->tls == tls_settings{ca_from_file, false, ""});
    CHECK(config->origin == "in-cluster");
    CHECK(token_of(*config) == "sa-token-1");
  }

  // The token is a token_file_source: a rotated file is seen after a minute of the injected clock.
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  credential_options clocks;
  clocks.steady_now = [&] { return now; };
  auto config = in_cluster_config({"10.96.0.1", "443", sa.path().string(), ""}, clocks);
  REQUIRE(config.has_value());
  sa.write("token", "sa-token-2\n");
  CHECK(token_of(*config) == "sa-token-1");
  now += std::chrono::seconds(61);
  CHECK(token_of(*config) == "sa-token-2");

  struct bad_t {
    std::string host, port, dir, message;
  };
  const std::string dir = sa.path().string();
  const std::vector<bad_t> bad = {
      {"", "443", dir, "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set"},
      {"10.96.0.1", "", dir, "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set"},
      {"10.96.0.1", "443", dir + "/missing", "in-cluster: " + dir + "/missing/ca.crt: cannot read: No such file or directory"},
  };
  for (const auto& c : bad) {
    CAPTURE(c.dir);
    auto failed = in_cluster_config({c.host, c.port, c.dir, ""});
    REQUIRE_FALSE(failed.has_value());
    CHECK(failed.error_value().message == c.message);
  }
  fs::remove(sa.path() / "token");
  auto no_token = in_cluster_config({"10.96.0.1", "443", dir, ""});
  REQUIRE_FALSE(no_token.has_value());
  CHECK(no_token.error_value().message == "in-cluster: token file " + dir + "/token: cannot read: No such file or directory");
}

TEST_CASE("no kubeconfig error message contains a token") {
  const std::string secret = "s3cr3t-token-value";
  const std::vector<std::string> texts = {
      "users:\n- {name: u, user: {token: [" + secret + "]}}\n",
      "users:\n- {name: u, user: {token: " + secret + ", client-key-data: " + secret + "}}\n",
      "users:\n- {name: u, user: {token: {" + secret + ": 1}}}\n",
      "users:\n- {name: u, user: {token: \"" + secret + "}}\n",
      "{\"users\": [{\"name\": \"u\", \"user\": {\"token\": \"" + secret + "\"]}",
      "current-context: c\nclusters: [{name: c, cluster: {server: 'https://x', certificate-authority-data: QQ==, "
      "insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: " + secret + ", username: a, password: " +
          secret + "}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n",
      "current-context: c\nclusters: [{name: c, cluster: {server: 'https://x'}}]\nusers: [{name: u, user: {token: " +
          secret + ", username: a, password: " + secret + "}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n",
  };
  for (const auto& text : texts) {
    CAPTURE(text);
    auto parsed = parse_kubeconfig(text, "/x/config");
    std::string message;
    if (!parsed) {
      message = parsed.error_value().message;
    } else {
      auto config = rest_config_for_context(*parsed, "/x/config", "", "");
      REQUIRE_FALSE(config.has_value());
      message = config.error_value().message;
    }
    CAPTURE(message);
    CHECK(message.find(secret) == std::string::npos);
  }
}
