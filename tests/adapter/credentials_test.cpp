#include <kube/credentials.hpp>

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#ifndef LIBSCALE_TEST_DATA_DIR
#define LIBSCALE_TEST_DATA_DIR "tests/data"
#endif

namespace {

using namespace scale::kube;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

const std::string plugin = std::string(LIBSCALE_TEST_DATA_DIR) + "/adapter/kubeconfig/plugins/exec-plugin.sh";

/// A fresh directory under /tmp, removed with its content.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "credentials-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& content) const {
    std::ofstream(path_ / name, std::ios::binary | std::ios::trunc) << content;
    return file(name);
  }
  std::string read(const std::string& name) const {
    std::ifstream in(path_ / name, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

 private:
  fs::path path_;
};

/// A fake-plugin exec config: exec-plugin.sh <reply apiVersion> <mode>, counting runs in the temp dir.
exec_config fake_plugin(const temp_dir& dir, std::string api_version, std::string mode,
                        std::string reply_version = "") {
  exec_config config;
  config.api_version = api_version;
  config.command = plugin;
  config.args = {reply_version.empty() ? api_version : reply_version, std::move(mode)};
  config.env = {{"COUNT_FILE", dir.file("count")}, {"INFO_FILE", dir.file("info")}, {"MODE_FILE", dir.file("mode")}};
  config.install_hint = "install the fake plugin";
  config.interactive_mode = "Never";
  return config;
}

std::string runs(const temp_dir& dir) {
  const std::string count = dir.read("count");
  return count.empty() ? "0" : count.substr(0, count.find('\n'));
}

std::string error_of(const scale::result<credentials>& r) {
  REQUIRE_FALSE(r.has_value());
  return r.error_value().message;
}

std::chrono::system_clock::time_point utc(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  return std::chrono::sys_days(std::chrono::year{y} / mo / d) + std::chrono::hours(h) + std::chrono::minutes(mi) +
         std::chrono::seconds(s);
}

}  // namespace

TEST_CASE("static credentials never change") {
  const credentials fixed{"token", "cert", "key", std::nullopt};
  static_credentials source(fixed);
  CHECK(*source.current() == fixed);
  CHECK(*source.refresh_after_unauthorized() == fixed);
}

TEST_CASE("token file is re-read after a minute of the injected clock and on 401") {
  // client-go NewCachedFileTokenSource: period time.Minute (cluster-adapter.md §2).
  temp_dir dir;
  const std::string path = dir.write("token", "\n first \t\n");
  auto now = std::chrono::steady_clock::time_point{} + 10h;
  credential_options options;
  options.steady_now = [&] { return now; };
  token_file_source source(path, options, credentials{"", "cert", "key", std::nullopt});
  CHECK(*source.current() == credentials{"first", "cert", "key", std::nullopt});

  struct step {
    std::chrono::seconds advance;
    std::string new_content;  // written before the call; empty = unchanged
    bool unauthorized;
    std::string token;
  };
  const std::vector<step> steps = {
      {59s, "second\n", false, "first"},  // 59 s after the read: cached
      {2s, "", false, "second"},          // 61 s: read again
      {30s, "third", false, "second"},    // 30 s after that read: cached
      {0s, "", true, "third"},            // 401: read at once
      {59s, "fourth", false, "third"},    // the 401 read restarted the minute
      {1s, "", false, "fourth"},
  };
  for (std::size_t i = 0; i < steps.size(); ++i) {
    CAPTURE(i);
    now += steps[i].advance;
    if (!steps[i].new_content.empty()) dir.write("token", steps[i].new_content);
    auto got = steps[i].unauthorized ? source.refresh_after_unauthorized() : source.current();
    REQUIRE_MESSAGE(got.has_value(), got.error_value().message);
    CHECK(got->bearer_token == steps[i].token);
    CHECK(got->client_cert_pem == "cert");
  }

  // A failed re-read keeps the last good token (client-go "Unable to rotate token"); a 401 cannot.
  fs::remove(path);
  now += 2min;
  CHECK(source.current()->bearer_token == "fourth");
  CHECK(error_of(source.refresh_after_unauthorized()) == "token file " + path + ": cannot read: No such file or directory");
  CHECK(error_of(source.current()) == "token file " + path + ": cannot read: No such file or directory");
  dir.write("token", " \n\t");
  CHECK(error_of(source.current()) == "token file " + path + ": empty");
}

TEST_CASE("exec plugins v1 and v1beta1 give tokens and certificates") {
  // cluster-adapter.md §2: status.token or clientCertificateData+clientKeyData as PEM text.
  struct case_t {
    std::string api_version, mode;
    credentials expected;
  };
  const std::string cert = "-----BEGIN CERTIFICATE-----\nEXEC\n-----END CERTIFICATE-----\n";
  const std::string key = "-----BEGIN PRIVATE KEY-----\nEXEC\n-----END PRIVATE KEY-----\n";
  const std::vector<case_t> cases = {
      {"client.authentication.k8s.io/v1", "token", {"tok-1", "", "", std::nullopt}},
      {"client.authentication.k8s.io/v1beta1", "token", {"tok-1", "", "", std::nullopt}},
      {"client.authentication.k8s.io/v1", "cert", {"", cert, key, std::nullopt}},
      {"client.authentication.k8s.io/v1", "stdin", {"tok-1", "", "", std::nullopt}},  // stdin is /dev/null
  };
  for (const auto& c : cases) {
    CAPTURE(c.api_version);
    CAPTURE(c.mode);
    temp_dir dir;
    auto config = fake_plugin(dir, c.api_version, c.mode);
    if (c.api_version == exec_api_v1beta1) config.interactive_mode.clear();  // optional before v1
    exec_credential_source source(config, {});
    auto got = source.current();
    REQUIRE_MESSAGE(got.has_value(), got.error_value().message);
    CHECK(*got == c.expected);
    // No expiry: cached until a 401.
    CHECK(*source.current() == c.expected);
    CHECK(runs(dir) == "1");
  }
}

TEST_CASE("exec credentials are cached until expirationTimestamp and re-run on 401") {
  temp_dir dir;
  auto config = fake_plugin(dir, "client.authentication.k8s.io/v1", "token");
  config.env.push_back({"EXPIRY", "2030-01-01T00:00:00Z"});
  auto now = utc(2029, 12, 31, 23, 0, 0);
  credential_options options;
  options.system_now = [&] { return now; };
  exec_credential_source source(config, {}, options);
  const auto expiry = utc(2030, 1, 1, 0, 0, 0);

  struct step {
    std::chrono::system_clock::time_point now;
    bool unauthorized;
    std::string token, runs;
  };
  const std::vector<step> steps = {
      {utc(2029, 12, 31, 23, 0, 0), false, "tok-1", "1"},
      {utc(2029, 12, 31, 23, 59, 59), false, "tok-1", "1"},  // one second before expiry: cached
      {utc(2030, 1, 1, 0, 0, 0), false, "tok-2", "2"},       // at expiry: run again
      {utc(2030, 1, 1, 0, 0, 0), false, "tok-3", "3"},       // the plugin keeps answering the past expiry
      {utc(2029, 1, 1, 0, 0, 0), true, "tok-4", "4"},        // 401: run again even though not expired
      {utc(2029, 1, 1, 0, 0, 1), false, "tok-4", "4"},
  };
  for (std::size_t i = 0; i < steps.size(); ++i) {
    CAPTURE(i);
    now = steps[i].now;
    auto got = steps[i].unauthorized ? source.refresh_after_unauthorized() : source.current();
    REQUIRE_MESSAGE(got.has_value(), got.error_value().message);
    CHECK(got->bearer_token == steps[i].token);
    CHECK(got->expires_at == expiry);
    CHECK(runs(dir) == steps[i].runs);
  }
}

TEST_CASE("KUBERNETES_EXEC_INFO tells the plugin about the cluster when asked") {
  // cluster-adapter.md §2; client.authentication.k8s.io Cluster: CA data as base64, omitempty fields left out.
  const std::string ca = "-----BEGIN CERTIFICATE-----\nCA-FROM-DATA\n-----END CERTIFICATE-----\n";
  const std::string ca_base64 =  // `base64 -w0` of `ca`
      "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBLUZST00tREFUQQotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==";
  const exec_cluster_info cluster{"https://127.0.0.1:6443", ca, "api.internal", false, "", R"({"audience":"scale"})"};
  struct case_t {
    bool provide_cluster_info;
    nlohmann::json expected;
  };
  const std::vector<case_t> cases = {
      {true,
       {{"apiVersion", "client.authentication.k8s.io/v1"},
        {"kind", "ExecCredential"},
        {"spec",
         {{"interactive", false},
          {"cluster",
           {{"server", "https://127.0.0.1:6443"},
            {"certificate-authority-data", ca_base64},
            {"tls-server-name", "api.internal"},
            {"config", {{"audience", "scale"}}}}}}}}},
      {false,
       {{"apiVersion", "client.authentication.k8s.io/v1"}, {"kind", "ExecCredential"}, {"spec", {{"interactive", false}}}}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.provide_cluster_info);
    temp_dir dir;
    auto config = fake_plugin(dir, "client.authentication.k8s.io/v1", "token");
    config.provide_cluster_info = c.provide_cluster_info;
    exec_credential_source source(config, cluster);
    REQUIRE(source.current().has_value());
    CHECK(nlohmann::json::parse(dir.read("info")) == c.expected);
  }
}

TEST_CASE("failing, hanging and confused plugins give errors") {
  const std::string where = "exec plugin \"" + plugin + "\"";
  const std::string hint = " (install hint: install the fake plugin)";
  struct case_t {
    std::string mode, reply_version, message;
  };
  const std::vector<case_t> cases = {
      // First line of stderr only; the previous token it echoes is redacted.
      {"fail", "", where + ": exited with code 3: login failed for [redacted]: credentials expired" + hint},
      {"garbage", "", where + ": stdout is not a JSON ExecCredential object"},
      {"token", "client.authentication.k8s.io/v1beta1",
       where + ": apiVersion \"client.authentication.k8s.io/v1beta1\" does not match the configured "
               "\"client.authentication.k8s.io/v1\""},
      {"hang", "", where + ": no answer after 300 ms; killed" + hint},
  };
  for (const auto& c : cases) {
    CAPTURE(c.mode);
    temp_dir dir;
    credential_options options;
    options.exec_timeout = 300ms;
    exec_credential_source source(fake_plugin(dir, "client.authentication.k8s.io/v1", "token", c.reply_version), {},
                                  options);
    if (c.reply_version.empty()) {
      // A first good run caches tok-1, then the plugin turns bad and a 401 runs it again.
      REQUIRE(source.current().has_value());
      dir.write("mode", c.mode);
    }
    auto got = c.reply_version.empty() ? source.refresh_after_unauthorized() : source.current();
    const std::string message = error_of(got);
    CHECK(message == c.message);
    CHECK(message.find("tok-") == std::string::npos);
  }

  temp_dir dir;
  exec_config missing = fake_plugin(dir, "client.authentication.k8s.io/v1", "token");
  missing.command = "/no/such/plugin";
  exec_credential_source source(missing, {});
  CHECK(error_of(source.current()) ==
        "exec plugin \"/no/such/plugin\": cannot start: No such file or directory (install hint: install the fake plugin)");
}

TEST_CASE("validate_exec_config follows client-go and refuses interactive plugins") {
  struct case_t {
    std::string api_version, command, mode, message;
  };
  const std::string v1(exec_api_v1), v1beta1(exec_api_v1beta1);
  const std::vector<case_t> cases = {
      {v1, "p", "Never", ""},
      {v1, "p", "IfAvailable", ""},
      {v1beta1, "p", "", ""},
      {v1, "p", "", "w.interactiveMode: required in client.authentication.k8s.io/v1"},
      {v1, "p", "Always", "w.interactiveMode: Always needs a terminal, but the adapter is not interactive"},
      {v1, "p", "Sometimes", "w.interactiveMode: \"Sometimes\" is not one of Never, IfAvailable, Always"},
      {v1, "", "Never", "w.command: missing"},
      {"v1", "p", "Never",
       "w.apiVersion: \"v1\" is not supported, expected client.authentication.k8s.io/v1 or "
       "client.authentication.k8s.io/v1beta1"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.api_version);
    CAPTURE(c.mode);
    exec_config config;
    config.api_version = c.api_version;
    config.command = c.command;
    config.interactive_mode = c.mode;
    auto valid = validate_exec_config(config, "w");
    CHECK((valid.has_value() ? std::string{} : valid.error_value().message) == c.message);
  }
}

TEST_CASE("parse_exec_credential checks kind, version and status without quoting output") {
  const std::string v1(exec_api_v1);
  struct case_t {
    std::string text, message;
  };
  const std::vector<case_t> cases = {
      {R"({"kind":"Pod","apiVersion":"x"})", "p: kind is \"Pod\", expected ExecCredential"},
      {R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1"})", "p: status: missing"},
      {R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{}})",
       "p: status: neither a token nor a client certificate"},
      {R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"clientCertificateData":"c"}})",
       "p: status: clientCertificateData and clientKeyData must be given together"},
      {R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":7}})",
       "p: status.token: expected a string"},
      {R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":"t","expirationTimestamp":"tomorrow"}})",
       "p: status.expirationTimestamp: \"tomorrow\" is not RFC 3339"},
      {"s3cr3t-token-value", "p: stdout is not a JSON ExecCredential object"},
      {R"({"kind":"ExecCredential","status":{"token":"s3cr3t-token-value"}})",
       "p: apiVersion \"\" does not match the configured \"client.authentication.k8s.io/v1\""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    CHECK(error_of(parse_exec_credential(c.text, v1, "p")) == c.message);
  }
}

TEST_CASE("parse_rfc3339 reads Go's RFC 3339 timestamps") {
  using std::chrono::system_clock;
  struct case_t {
    std::string text;
    std::optional<system_clock::time_point> expected;
  };
  const std::vector<case_t> cases = {
      {"2030-01-01T00:00:00Z", utc(2030, 1, 1, 0, 0, 0)},
      {"2024-02-29T12:34:56z", utc(2024, 2, 29, 12, 34, 56)},
      {"2030-01-01T02:30:00+02:30", utc(2030, 1, 1, 0, 0, 0)},
      {"2029-12-31T19:00:00-05:00", utc(2030, 1, 1, 0, 0, 0)},
      {"2030-01-01T00:00:00.25Z", utc(2030, 1, 1, 0, 0, 0) + std::chrono::milliseconds(250)},
      {"2030-01-01 00:00:00Z", std::nullopt},
      {"2023-02-29T00:00:00Z", std::nullopt},  // not a leap year
      {"2030-01-01T24:00:00Z", std::nullopt},
      {"2030-01-01T00:00:00", std::nullopt},    // no zone
      {"2030-01-01T00:00:00.Z", std::nullopt},  // empty fraction
      {"2030-01-01T00:00:00Zjunk", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    CHECK(parse_rfc3339(c.text) == c.expected);
  }
}
