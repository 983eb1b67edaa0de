#include <kube/http_client.hpp>

#include <doctest/doctest.h>

#include <fake_apiserver.hpp>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef LIBSCALE_TEST_DATA_DIR
#define LIBSCALE_TEST_DATA_DIR "tests/data"
#endif

namespace {

using namespace std::chrono_literals;
using scale::kube::client_options;
using scale::kube::credentials;
using scale::kube::http_client;
using scale::kube::request;
using scale::kube::rest_config;

std::string read_text(const std::string& name) {
  std::ifstream in(std::string{LIBSCALE_TEST_DATA_DIR} + "/adapter/tls/" + name);
  REQUIRE_MESSAGE(in.good(), LIBSCALE_TEST_DATA_DIR "/adapter/tls/" << name);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Credentials that change on refresh, counting both calls.
class test_credentials : public scale::kube::credential_source {
 public:
  test_credentials(credentials now, credentials after_refresh) : now_(std::move(now)), after_(std::move(after_refresh)) {}
  scale::result<credentials> current() override {
    ++current_calls;
    return now_;
  }
  scale::result<credentials> refresh_after_unauthorized() override {
    ++refresh_calls;
    now_ = after_;
    return now_;
  }
  int current_calls = 0;
  int refresh_calls = 0;

 private:
  credentials now_;
  credentials after_;
};

// Injected time: sleeping advances the clock and is recorded, so nothing waits for real.
struct fake_time {
  std::chrono::steady_clock::time_point now{std::chrono::hours{1000}};
  std::vector<std::chrono::nanoseconds> sleeps;
  scale::kube::time_source source() {
    return {[this] { return now; }, [this](std::chrono::nanoseconds d) {
              sleeps.push_back(d);
              now += d;
            }};
  }
};

std::unique_ptr<http_client> make_client(rest_config config, fake_time& time) {
  client_options options;
  options.time = time.source();
  auto client = http_client::create(std::move(config), options);
  REQUIRE_MESSAGE(client.has_value(), (client ? "" : client.error_value().message));
  return std::move(client).value();
}

rest_config config_for(const scale::fake_k8s::fake_apiserver& server, std::string token = "good-token") {
  rest_config config;
  config.server = server.url();
  if (!token.empty()) config.auth = std::make_shared<test_credentials>(credentials{token, "", "", {}}, credentials{token, "", "", {}});
  return config;
}

scale::fake_k8s::server_options token_server() {
  scale::fake_k8s::server_options options;
  options.tokens = {{"good-token", "scaler"}};
  return options;
}

const char* const scale_path = "/apis/apps/v1/namespaces/default/deployments/web/scale";

}  // namespace

TEST_CASE("url_encode and parse_retry_after") {
  // RFC 3986: unreserved characters stay, everything else is %XX.
  CHECK(scale::kube::url_encode("app=web,tier in (a, b)") == "app%3Dweb%2Ctier%20in%20%28a%2C%20b%29");
  CHECK(scale::kube::url_encode("a-b_c.d~e") == "a-b_c.d~e");
  struct test_case {
    std::string header;
    std::optional<std::chrono::seconds> want;
  };
  const std::vector<test_case> cases = {
      {"1", 1s}, {" 120 ", 120s}, {"0", 0s}, {"", std::nullopt}, {"-1", std::nullopt},
      {"Wed, 21 Oct 2015 07:28:00 GMT", std::nullopt}, {"1.5", std::nullopt}, {"9999999999", std::nullopt}};
  for (const auto& c : cases) {
    CAPTURE(c.header);
    CHECK(scale::kube::parse_retry_after(c.header) == c.want);
  }
}

TEST_CASE("token_bucket gives a burst of 10 then 5 per second") {
  // §6.4: client-go QPS 5, burst 10. The 11th request at the same instant waits 1/5 s, the 12th 2/5 s.
  scale::kube::token_bucket bucket(5, 10);
  const std::chrono::steady_clock::time_point t0{std::chrono::hours{1}};
  for (int i = 0; i < 10; ++i) CHECK(bucket.reserve(t0) == 0ns);
  CHECK(bucket.reserve(t0) == 200ms);
  CHECK(bucket.reserve(t0) == 400ms);
  // 2 s later: +10 tokens, capped at the burst, minus the 2 borrowed = 8 left.
  for (int i = 0; i < 8; ++i) CHECK(bucket.reserve(t0 + 2s) == 0ns);
  CHECK(bucket.reserve(t0 + 2s) == 200ms);
}

TEST_CASE("http_client refuses bad server URLs and CA plus insecure") {
  struct test_case {
    std::string server;
    std::string want;
  };
  const std::vector<test_case> cases = {
      {"127.0.0.1:6443", "server = \"127.0.0.1:6443\", must be an http(s):// URL"},
      {"ftp://x", "server = \"ftp://x\", must be an http(s):// URL"},
      {"https://h:0", "server = \"https://h:0\", port must be in [1, 65535] range"},
      {"https://user@h", "server = \"https://user@h\", must be http(s)://host[:port][/path]"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.server);
    rest_config config;
    config.server = c.server;
    auto client = http_client::create(config);
    REQUIRE_FALSE(client.has_value());
    CHECK(client.error_value().message == c.want);
  }
  rest_config config;
  config.server = "https://127.0.0.1:6443";
  config.tls.ca_pem = "x";
  config.tls.insecure_skip_verify = true;
  auto client = http_client::create(config);
  REQUIRE_FALSE(client.has_value());
  // §2: client-go transport.go refuses the combination.
  CHECK(client.error_value().message == "tls: specifying a root certificates file with the insecure flag is not allowed");
}

TEST_CASE("http_client sends User-Agent, bearer token and impersonation, and reads Audit-Id") {
  scale::fake_k8s::fake_apiserver server(token_server());
  server.add_deployment("default", "web", 2, {{"app", "web"}});
  fake_time time;
  auto config = config_for(server);
  auto client = make_client(config, time);
  request req;
  req.path = scale_path;
  const auto r = client->send(req);
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK(r->content_type.rfind("application/json", 0) == 0);
  CHECK_FALSE(r->audit_id.empty());
  const auto requests = server.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].user_agent == "scale-adapter/" SCALE_ADAPTER_VERSION);
  CHECK(requests[0].authorization == "Bearer good-token");
  CHECK(time.sleeps.empty());
}

TEST_CASE("http_client refreshes credentials once after a 401") {
  scale::fake_k8s::fake_apiserver server(token_server());
  server.add_deployment("default", "web", 2, {{"app", "web"}});
  fake_time time;
  rest_config config;
  config.server = server.url();
  auto creds = std::make_shared<test_credentials>(credentials{"expired-token", "", "", {}},
                                                   credentials{"good-token", "", "", {}});
  config.auth = creds;
  auto client = make_client(config, time);
  request req;
  req.path = scale_path;
  auto r = client->call(req);
  REQUIRE(r.has_value());
  CHECK(r->status == 200);
  CHECK(creds->refresh_calls == 1);
  const auto requests = server.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].status == 401);
  CHECK(requests[1].authorization == "Bearer good-token");

  SUBCASE("a second 401 is returned, not retried again, and the token is in no message") {
    auto bad = std::make_shared<test_credentials>(credentials{"secret-one", "", "", {}},
                                                  credentials{"secret-two", "", "", {}});
    config.auth = bad;
    auto other = make_client(config, time);
    auto e = other->call(req);
    REQUIRE_FALSE(e.has_value());
    CHECK(e.error_value().code == 401);
    CHECK(e.error_value().reason == "Unauthorized");
    CHECK(bad->refresh_calls == 1);
    CHECK(e.error_value().message.find("secret") == std::string::npos);
  }
}

TEST_CASE("http_client honours Retry-After on 429 and backs off on 5xx") {
  scale::fake_k8s::fake_apiserver server(token_server());
  server.add_deployment("default", "web", 2, {{"app", "web"}});
  fake_time time;
  auto client = make_client(config_for(server), time);
  request req;
  req.path = scale_path;

  SUBCASE("429 with Retry-After 1 waits exactly 1 s, then succeeds") {
    server.fail_next(1, 429, 1);
    auto r = client->call(req);
    REQUIRE(r.has_value());
    CHECK(r->status == 200);
    REQUIRE(time.sleeps.size() == 1);
    CHECK(time.sleeps[0] == 1s);  // §6.4: wait Retry-After seconds
  }
  SUBCASE("500 three times, then success, after three growing backoffs") {
    server.fail_next(3, 500);
    auto r = client->call(req);
    REQUIRE(r.has_value());
    CHECK(r->status == 200);
    REQUIRE(time.sleeps.size() == 3);
    // base 200 ms × 2^n × jitter in [1, 1.5) (client_options defaults).
    CHECK(time.sleeps[0] >= 200ms);
    CHECK(time.sleeps[0] < 300ms);
    CHECK(time.sleeps[1] >= 400ms);
    CHECK(time.sleeps[1] < 600ms);
    CHECK(time.sleeps[2] >= 800ms);
    CHECK(time.sleeps[2] < 1200ms);
  }
  SUBCASE("503 forever stops after 10 retries with the Status as error") {
    server.fail_next(11, 503);
    auto r = client->call(req);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error_value().code == 503);
    CHECK(server.requests().size() == 11);  // 1 + 10 retries (client-go rest/request.go)
  }
  SUBCASE("404, 403, 409 and 422 are never retried") {
    for (const int status : {404, 403, 409, 422}) {
      CAPTURE(status);
      server.clear_requests();
      server.fail_next(1, status);
      auto r = client->call(req);
      REQUIRE_FALSE(r.has_value());
      CHECK(r.error_value().code == status);
      CHECK(server.requests().size() == 1);
    }
    CHECK(time.sleeps.empty());
  }
}

TEST_CASE("http_client refuses header values with line breaks, without printing the token") {
  rest_config config;
  config.server = "http://127.0.0.1:1";
  config.auth = std::make_shared<test_credentials>(credentials{"line\r\nbreak-secret", "", "", {}},
                                                   credentials{"x", "", "", {}});
  fake_time time;
  request req;
  req.path = "/api";
  auto r = make_client(config, time)->send(req);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error_value().message == "GET /api: the bearer token contains a line break");
  config.auth = nullptr;
  config.impersonate.groups = {"a\nb"};
  r = make_client(config, time)->send(req);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error_value().message == "GET /api: an impersonation group contains a line break");
}

TEST_CASE("http_client sends impersonation headers") {
  // A one-shot raw HTTP server: the test API server does not record Impersonate-* headers.
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(listener, 1) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  std::string seen;
  std::thread server([&] {
    const int connection = ::accept(listener, nullptr, nullptr);
    if (connection < 0) return;
    char buffer[4096];
    while (seen.find("\r\n\r\n") == std::string::npos) {
      const auto n = ::recv(connection, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      seen.append(buffer, static_cast<std::size_t>(n));
    }
    const std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    (void)::send(connection, reply.data(), reply.size(), 0);
    ::close(connection);
  });
  rest_config config;
  config.server = "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  config.impersonate = {"jane", {"devs", "ops"}, "u-1"};
  fake_time time;
  request req;
  req.path = "/api";
  auto r = make_client(config, time)->send(req);
  server.join();
  ::close(listener);
  REQUIRE(r.has_value());
  CHECK(r->body == "{}");
  CAPTURE(seen);
  CHECK(seen.find("\r\nImpersonate-User: jane\r\n") != std::string::npos);
  CHECK(seen.find("\r\nImpersonate-Group: devs\r\nImpersonate-Group: ops\r\n") != std::string::npos);
  CHECK(seen.find("\r\nImpersonate-Uid: u-1\r\n") != std::string::npos);
  CHECK(seen.find("Authorization") == std::string::npos);  // no credentials: anonymous
}

TEST_CASE("http_client reports 404 as NotFound and anonymous as 403") {
  scale::fake_k8s::fake_apiserver server(token_server());
  fake_time time;
  auto client = make_client(config_for(server), time);
  request req;
  req.path = "/apis/apps/v1/namespaces/default/deployments/nosuch/scale";
  auto r = client->call(req);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error_value().code == 404);
  CHECK(r.error_value().reason == "NotFound");
  CHECK_FALSE(r.error_value().audit_id.empty());

  // §1.5: no credentials at all is 403 as system:anonymous, not 401.
  auto anonymous = make_client(config_for(server, ""), time);
  r = anonymous->call(req);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error_value().code == 403);
  CHECK(r.error_value().reason == "Forbidden");
  CHECK(server.requests().back().authorization.empty());
}

TEST_CASE("http_client names the server when it cannot connect, without the token") {
  std::string url;
  {
    scale::fake_k8s::fake_apiserver server(token_server());
    url = server.url();
  }  // closed: the port now refuses connections
  fake_time time;
  rest_config config;
  config.server = url;
  config.auth = std::make_shared<test_credentials>(credentials{"very-secret-token", "", "", {}},
                                                   credentials{"very-secret-token", "", "", {}});
  auto client = make_client(config, time);
  request req;
  req.path = scale_path;
  auto r = client->call(req);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error_value().code == 0);
  CAPTURE(r.error_value().message);
  CHECK(r.error_value().message.rfind("GET " + std::string(scale_path) + ": cannot reach the API server " + url, 0) == 0);
  CHECK(r.error_value().message.find("4 attempts") != std::string::npos);  // 1 + max_connection_retries 3
  CHECK(r.error_value().message.find("very-secret-token") == std::string::npos);
  CHECK(time.sleeps.size() == 3);
}

TEST_CASE("http_client over TLS: trusted CA, untrusted CA, tls-server-name and client certificates") {
  scale::fake_k8s::server_options options = token_server();
  options.tls = true;
  options.cert_pem = read_text("server.pem");
  options.key_pem = read_text("server-key.pem");
  options.client_ca_pem = read_text("ca.pem");
  options.permissions = {{"scaler", {"get deployments/scale"}}};
  scale::fake_k8s::fake_apiserver server(options);
  server.add_deployment("default", "web", 2, {{"app", "web"}});
  fake_time time;
  request req;
  req.path = scale_path;

  SUBCASE("the test CA verifies the server") {
    auto config = config_for(server);
    config.tls.ca_pem = read_text("ca.pem");
    auto r = make_client(config, time)->call(req);
    REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error_value().message));
    CHECK(r->status == 200);
  }
  SUBCASE("another CA is refused, naming the server and not the token") {
    auto config = config_for(server, "tls-secret-token");
    config.tls.ca_pem = read_text("other-ca.pem");
    auto r = make_client(config, time)->call(req);
    REQUIRE_FALSE(r.has_value());
    CAPTURE(r.error_value().message);
    CHECK(r.error_value().code == 0);
    CHECK(r.error_value().message.find("TLS handshake failed with the API server " + server.url()) != std::string::npos);
    CHECK(r.error_value().message.find("tls-secret-token") == std::string::npos);
    CHECK(time.sleeps.empty());  // a verification failure is not retried
  }
  SUBCASE("tls-server-name: the certificate is checked against that name, the connection goes to the URL") {
    auto config = config_for(server);
    config.tls.ca_pem = read_text("ca.pem");
    config.tls.server_name = "kubernetes.default.svc";  // a DNS SAN of server.pem
    auto r = make_client(config, time)->call(req);
    REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error_value().message));
    CHECK(r->status == 200);
    config.tls.server_name = "not-in-the-certificate.example";
    r = make_client(config, time)->call(req);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error_value().message.find("TLS handshake failed") != std::string::npos);
  }
  SUBCASE("insecure-skip-tls-verify accepts any server certificate") {
    auto config = config_for(server);
    config.tls.insecure_skip_verify = true;
    auto r = make_client(config, time)->call(req);
    REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error_value().message));
  }
  SUBCASE("a client certificate authenticates as its CN (§7: CN=scaler, O=autoscalers)") {
    rest_config config;
    config.server = server.url();
    config.tls.ca_pem = read_text("ca.pem");
    const credentials cert{"", read_text("client.pem"), read_text("client-key.pem"), {}};
    config.auth = std::make_shared<test_credentials>(cert, cert);
    auto client = make_client(config, time);
    auto r = client->call(req);
    REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error_value().message));
    CHECK(r->status == 200);
    // "scaler" may only get the scale: a patch is 403 for that user, proving the certificate named it.
    request patch;
    patch.method = "PATCH";
    patch.path = scale_path;
    patch.content_type = "application/merge-patch+json";
    patch.body = R"({"spec":{"replicas":3}})";
    auto denied = client->call(patch);
    REQUIRE_FALSE(denied.has_value());
    CHECK(denied.error_value().code == 403);
    CHECK(denied.error_value().message.find("scaler") != std::string::npos);
  }
}

TEST_CASE("http_client sends every request through the cluster's proxy-url") {
  // The loopback server stands in for an HTTP forward proxy: a request through a proxy carries the absolute URL
  // as its target (RFC 9112 §3.2.2), a direct one only the path.
  scale::fake_k8s::fake_apiserver api(token_server());
  scale::fake_k8s::fake_apiserver proxy(token_server());
  fake_time time;
  rest_config config = config_for(api);
  config.proxy_url = proxy.url();
  auto client = make_client(config, time);
  request req;
  req.path = scale_path;
  (void)client->call(req);
  REQUIRE(proxy.requests().size() == 1);
  CHECK(proxy.requests().front().target == api.url() + std::string{scale_path});
  CHECK(api.requests().empty());

  // A proxy that is down fails the call, though the API server itself is up.
  std::string down;
  {
    scale::fake_k8s::fake_apiserver closed(token_server());
    down = closed.url();
  }
  config.proxy_url = down;
  auto unreachable = make_client(config, time);
  auto r = unreachable->call(req);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error_value().code == 0);
  CHECK(api.requests().empty());
}
