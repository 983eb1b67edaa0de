#include <kube/leader_election.hpp>

#include <doctest/doctest.h>

#include <fake_apiserver.hpp>

#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using scale::kube::lease_action;
using scale::kube::lease_record;
using scale::kube::leader_election_config;
using scale::kube::leader_election_state;
using steady = std::chrono::steady_clock::time_point;

const steady t0{std::chrono::hours{100}};
const std::chrono::system_clock::time_point wall0{1795713600s};  // 2026-11-26T17:20:00Z
const std::string stamp0 = "2026-11-26T17:20:00.000000Z";

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

leader_election_config config(const std::string& identity) { return {identity, 15s, 10s, 2s}; }

lease_record held_by(const std::string& holder, const std::string& renew, const std::string& rv, int transitions = 0) {
  return {holder, 15, "2026-11-26T17:00:00.000000Z", renew, transitions, rv};
}

}  // namespace

TEST_CASE("validate_leader_election copies client-go's rules (cluster-adapter.md 6.5)") {
  struct test_case {
    leader_election_config config;
    std::string want;  // "" = valid
  };
  const std::vector<test_case> cases = {
      {{"a", 15s, 10s, 2s}, ""},  // controller-manager defaults
      {{"", 15s, 10s, 2s}, "leader election: identity must not be empty"},
      {{"a", 10s, 10s, 2s}, "leader election: lease duration = 10s, must be greater than renew deadline = 10s"},
      // 1.2 × 5 s = 6 s: a renew deadline of 6 s is not greater.
      {{"a", 15s, 6s, 5s}, "leader election: renew deadline = 6s, must be greater than 1.2 x retry period = 5s"},
      {{"a", 15s, 7s, 5s}, ""},
      {{"a", 15s, 10s, 0s}, "leader election: lease duration, renew deadline and retry period must be > 0"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.want);
    const auto got = scale::kube::validate_leader_election(c.config);
    CHECK((got ? std::string{} : got.error_value().message) == c.want);
  }
}

TEST_CASE("parse_lease and lease_body round-trip the Lease spec") {
  const auto parsed = scale::kube::parse_lease(R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease",
      "metadata":{"name":"scale-adapter","namespace":"default","resourceVersion":"77"},
      "spec":{"holderIdentity":"pod-a","leaseDurationSeconds":15,"acquireTime":"2026-11-26T17:00:00.000000Z",
              "renewTime":"2026-11-26T17:20:00.000000Z","leaseTransitions":2}})");
  REQUIRE(parsed.has_value());
  CHECK(*parsed == lease_record{"pod-a", 15, "2026-11-26T17:00:00.000000Z", stamp0, 2, "77"});
  const auto body = scale::kube::lease_body("default", "scale-adapter", *parsed);
  CHECK(body["metadata"]["resourceVersion"] == "77");
  CHECK(*scale::kube::parse_lease(body.dump()) == *parsed);
  CHECK(scale::kube::parse_lease(R"({"spec":{"leaseTransitions":-1}})").error_value().message ==
        "lease: spec.leaseTransitions is not an integer in [0, 2147483647]");
  CHECK(scale::kube::parse_lease(R"({"spec":{"holderIdentity":1}})").error_value().message ==
        "lease: spec.holderIdentity is not a string");
}

TEST_CASE("leader_election_state: create, wait on a live holder, take over an expired one, renew, lose") {
  leader_election_state me(config("me"));
  // 1. No lease: create it with our identity.
  auto a = me.observe(std::nullopt, t0, wall0);
  CHECK(a == lease_action{lease_action::kind::create, {"me", 15, stamp0, stamp0, 0, ""}});
  CHECK_FALSE(me.leading(t0));

  // 2. Another holder: we wait while we saw its record change less than 15 s ago (our clock, not its stamps).
  leader_election_state b(config("me"));
  CHECK(b.observe(held_by("other", "R1", "5"), t0, wall0).what == lease_action::kind::wait);
  CHECK(b.observe(held_by("other", "R1", "5"), t0 + 14s, wall0).what == lease_action::kind::wait);
  // The holder renews at t0+14 s (renewTime changes): the 15 s count restarts from when we saw it.
  CHECK(b.observe(held_by("other", "R2", "6"), t0 + 14s, wall0).what == lease_action::kind::wait);
  CHECK(b.observe(held_by("other", "R2", "6"), t0 + 28s, wall0).what == lease_action::kind::wait);
  // 15 s without a change we saw: take it over with the RV we read, transitions + 1.
  a = b.observe(held_by("other", "R2", "6", 3), t0 + 29s, wall0);
  // (transitions changed 0 → 3, so that observation is a change: still waiting)
  CHECK(a.what == lease_action::kind::wait);
  a = b.observe(held_by("other", "R2", "6", 3), t0 + 44s, wall0);
  CHECK(a == lease_action{lease_action::kind::update, {"me", 15, stamp0, stamp0, 4, "6"}});
  b.write_succeeded({"me", 15, stamp0, stamp0, 4, "7"}, t0 + 44s);
  CHECK(b.leading(t0 + 44s));

  // 3. Renew: keeps acquireTime and transitions, new renewTime, RV read.
  const auto wall1 = wall0 + 2s;
  a = b.observe(lease_record{"me", 15, stamp0, stamp0, 4, "7"}, t0 + 46s, wall1);
  CHECK(a == lease_action{lease_action::kind::update, {"me", 15, stamp0, "2026-11-26T17:20:02.000000Z", 4, "7"}});
  // 4. Renewals fail (409s, timeouts): we lead until renew_deadline (10 s) after the last success, then stop.
  CHECK(b.leading(t0 + 53s));
  CHECK_FALSE(b.leading(t0 + 54s));

  // 5. A released lease (no holder) is taken at once.
  leader_election_state c(config("me"));
  a = c.observe(lease_record{"", 1, stamp0, stamp0, 4, "9"}, t0, wall0);
  CHECK(a.what == lease_action::kind::update);
  CHECK(a.record.lease_transitions == 5);

  // 6. Someone else took it while we led: stop leading immediately.
  leader_election_state d(config("me"));
  d.write_succeeded({"me", 15, stamp0, stamp0, 0, "1"}, t0);
  CHECK(d.leading(t0 + 1s));
  CHECK(d.observe(held_by("thief", "X", "2"), t0 + 2s, wall0).what == lease_action::kind::wait);
  CHECK_FALSE(d.leading(t0 + 2s));
}

TEST_CASE("leader_election_state::release clears holderIdentity") {
  leader_election_state me(config("me"));
  CHECK_FALSE(me.release(wall0).has_value());
  me.write_succeeded({"me", 15, stamp0, stamp0, 2, "8"}, t0);
  const auto released = me.release(wall0);
  REQUIRE(released.has_value());
  CHECK(*released == lease_record{"", 1, stamp0, stamp0, 2, "8"});
  CHECK_FALSE(me.leading(t0));
}

TEST_CASE("leader_elector against the test API server: one leads, the other waits, release hands over") {
  scale::fake_k8s::fake_apiserver server(with_token());
  scale::kube::rest_config rc;
  rc.server = server.url();
  rc.auth = std::make_shared<fixed_token>();
  auto client_a = scale::kube::http_client::create(rc);
  auto client_b = scale::kube::http_client::create(rc);
  REQUIRE(client_a.has_value());
  REQUIRE(client_b.has_value());
  scale::kube::leader_elector a(*client_a.value(), "default", "scale-adapter", config("a"));
  scale::kube::leader_elector b(*client_b.value(), "default", "scale-adapter", config("b"));

  CHECK(a.step(t0, wall0));  // creates the lease
  INFO((a.last_error() ? a.last_error()->message : std::string{}));
  CHECK_FALSE(b.step(t0, wall0));  // a holds it
  CHECK(a.step(t0 + 2s, wall0 + 2s));  // renews
  CHECK_FALSE(b.step(t0 + 2s, wall0 + 2s));
  const auto lease = server.lease("default", "scale-adapter");
  REQUIRE(lease.has_value());
  CHECK((*lease)["spec"]["holderIdentity"] == "a");
  CHECK((*lease)["spec"]["renewTime"] == "2026-11-26T17:20:02.000000Z");

  REQUIRE(a.release(wall0 + 3s).has_value());
  CHECK((*server.lease("default", "scale-adapter"))["spec"]["holderIdentity"] == "");
  CHECK_FALSE(a.leading(t0 + 3s));
  CHECK(b.step(t0 + 4s, wall0 + 4s));  // a released lease is taken at once
  CHECK((*server.lease("default", "scale-adapter"))["spec"]["holderIdentity"] == "b");
  CHECK((*server.lease("default", "scale-adapter"))["spec"]["leaseTransitions"] == 1);
}
