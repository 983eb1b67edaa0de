#include <kube/events.hpp>

#include <doctest/doctest.h>

#include <fake_apiserver.hpp>

#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using scale::kube::event_record;
using scale::kube::event_type;

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

}  // namespace

TEST_CASE("format_micro_time writes RFC 3339 UTC with microseconds (cluster-adapter.md 6.5)") {
  struct test_case {
    std::chrono::microseconds since_epoch;
    std::string want;
  };
  const std::vector<test_case> cases = {
      {0us, "1970-01-01T00:00:00.000000Z"},
      // 2026-11-26T17:20:00Z = 1795713600 s (date -u -d 2026-11-26T17:20:00Z +%s), plus 123456 µs.
      {1795713600s + 123456us, "2026-11-26T17:20:00.123456Z"},
      {-1us, "1969-12-31T23:59:59.999999Z"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.want);
    CHECK(scale::kube::format_micro_time(std::chrono::system_clock::time_point{c.since_epoch}) == c.want);
  }
}

TEST_CASE("make_event builds an events.k8s.io/v1 Event named {object}.{hex} (6.7)") {
  const event_record e{{"apps/v1", "Deployment", "web", "uid-1"}, event_type::warning, "FailedRescale",
                       "New size: 3; reason: above target", "Scale"};
  const auto ev = scale::kube::make_event("default", e, {"libscale.dev/scale-adapter", "adapter-0"},
                                          std::chrono::system_clock::time_point{1795713600s}, 0xabc);
  const nlohmann::json want = nlohmann::json::parse(R"({
    "apiVersion":"events.k8s.io/v1","kind":"Event",
    "metadata":{"name":"web.0000000000000abc","namespace":"default"},
    "eventTime":"2026-11-26T17:20:00.000000Z",
    "reportingController":"libscale.dev/scale-adapter","reportingInstance":"adapter-0",
    "action":"Scale","reason":"FailedRescale","note":"New size: 3; reason: above target","type":"Warning",
    "regarding":{"apiVersion":"apps/v1","kind":"Deployment","name":"web","namespace":"default","uid":"uid-1"}})");
  CHECK(ev == want);
  // The note is cut to 1024 bytes, never inside a UTF-8 sequence.
  event_record longer = e;
  longer.note = std::string(1023, 'x') + "\xc3\xa9";
  CHECK(scale::kube::make_event("default", longer, {}, {}, 1)["note"].get<std::string>() == std::string(1023, 'x'));
  CHECK(scale::kube::event_name(std::string(300, 'a'), 1).size() == 253);
}

TEST_CASE("event_rate_limiter allows a burst of 25, then one per 5 minutes per object and reason") {
  // §6.7, client-go events_cache.go: burst 25, refill 1 per 300 s, keyed by source+object (+ reason here).
  scale::kube::event_rate_limiter limiter;
  const std::chrono::steady_clock::time_point t0{std::chrono::hours{1}};
  for (int i = 0; i < 25; ++i) CHECK(limiter.allow("default/web", "SuccessfulRescale", t0));
  CHECK_FALSE(limiter.allow("default/web", "SuccessfulRescale", t0 + 299s));
  CHECK(limiter.allow("default/web", "FailedRescale", t0));  // another reason: its own bucket
  CHECK(limiter.allow("default/api", "SuccessfulRescale", t0));  // another object: its own bucket
  CHECK(limiter.allow("default/web", "SuccessfulRescale", t0 + 300s));
  CHECK_FALSE(limiter.allow("default/web", "SuccessfulRescale", t0 + 301s));
  CHECK(limiter.allow("default/web", "SuccessfulRescale", t0 + 600s));
}

TEST_CASE("record_event POSTs the event and the test API server stores it") {
  scale::fake_k8s::fake_apiserver server(with_token());
  scale::kube::rest_config config;
  config.server = server.url();
  config.auth = std::make_shared<fixed_token>();
  auto client = scale::kube::http_client::create(config);
  REQUIRE(client.has_value());
  const event_record e{{"apps/v1", "Deployment", "web", ""}, event_type::normal, "SuccessfulRescale",
                       "New size: 1; reason: request arrived", "Scale"};
  auto r = scale::kube::record_event(*client.value(), "default", e);
  REQUIRE_MESSAGE(r.has_value(), (r ? "" : r.error_value().message));
  auto again = scale::kube::record_event(*client.value(), "default", e);
  REQUIRE(again.has_value());
  const auto events = server.events();
  REQUIRE(events.size() == 2);
  CHECK(events[0]["reason"] == "SuccessfulRescale");
  CHECK(events[0]["regarding"]["name"] == "web");
  const std::string name = events[0]["metadata"]["name"];
  CHECK(name.rfind("web.", 0) == 0);
  CHECK(name.size() == 4 + 16);
  CHECK(events[1]["metadata"]["name"] != events[0]["metadata"]["name"]);
  CHECK(server.requests().at(0).target == "/apis/events.k8s.io/v1/namespaces/default/events");
}
