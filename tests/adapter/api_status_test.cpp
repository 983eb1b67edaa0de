#include <kube/api_status.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using scale::kube::api_status;
using scale::kube::make_api_error;
using scale::kube::parse_status;
using scale::kube::status_cause;

TEST_CASE("parse_status reads the Status objects of cluster-adapter.md 1.5") {
  struct test_case {
    std::string body;
    api_status want;
  };
  const std::vector<test_case> cases = {
      // §1.5, observed 404 on GET deployments/nosuch/scale.
      {R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
           "message":"deployments/scale.apps \"nosuch\" not found","reason":"NotFound",
           "details":{"name":"nosuch","group":"apps","kind":"deployments/scale"},"code":404})",
       {404, "Failure", "NotFound", "deployments/scale.apps \"nosuch\" not found", "nosuch", "deployments/scale", {}}},
      // §1.3 observed: replicas -1 gives 422 Invalid with details.causes[0].field spec.replicas.
      {R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"Scale.autoscaling \"web\" is invalid",
           "reason":"Invalid","details":{"name":"web","kind":"Scale","causes":[{"reason":"FieldValueInvalid",
           "message":"Invalid value: -1: must be greater than or equal to 0","field":"spec.replicas"}]},"code":422})",
       {422, "Failure", "Invalid", "Scale.autoscaling \"web\" is invalid", "web", "Scale",
        {{"spec.replicas", "FieldValueInvalid", "Invalid value: -1: must be greater than or equal to 0"}}}},
      // §1.5: a 401 has no details.
      {R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized",
           "reason":"Unauthorized","code":401})",
       {401, "Failure", "Unauthorized", "Unauthorized", "", "", {}}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.body);
    const auto got = parse_status(c.body);
    REQUIRE(got.has_value());
    CHECK(*got == c.want);
  }
}

TEST_CASE("parse_status rejects bodies that are not a Status with a clear message") {
  struct test_case {
    std::string body;
    std::string want;
  };
  const std::vector<test_case> cases = {
      {"<html>502 Bad Gateway</html>", "status: body is not valid JSON"},
      {"[1]", "status: body is not a JSON object"},
      {R"({"kind":"Scale"})", "status: kind is not \"Status\""},
      {R"({"kind":"Status","code":"404"})", "status: code is not an integer"},
      {R"({"kind":"Status","code":-1})", "status: code = -1, must be in [0, 999] range"},
      {R"({"kind":"Status","reason":7})", "status: reason is not a string"},
      {R"({"kind":"Status","details":{"causes":{}}})", "status: details.causes is not an array"},
      {R"({"kind":"Status","details":{"causes":[{"field":1}]}})",
       "status: details.causes[0] is not an object of strings"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.body);
    const auto got = parse_status(c.body);
    REQUIRE_FALSE(got.has_value());
    CHECK(got.error_value().message == c.want);
  }
}

TEST_CASE("make_api_error keeps code, reason, causes and Audit-Id") {
  const auto e = make_api_error(
      "PATCH /apis/apps/v1/namespaces/default/deployments/web/scale", 422,
      R"({"kind":"Status","status":"Failure","message":"bad","reason":"Invalid",
          "details":{"causes":[{"field":"spec.replicas","reason":"FieldValueInvalid"}]},"code":422})",
      "a1b2");
  CHECK(e.code == 422);
  CHECK(e.reason == "Invalid");
  CHECK(e.audit_id == "a1b2");
  REQUIRE(e.causes.size() == 1);
  CHECK(e.causes[0].field == "spec.replicas");
  CHECK(e.message ==
        "PATCH /apis/apps/v1/namespaces/default/deployments/web/scale: 422 Invalid: bad [field spec.replicas] "
        "(audit-id a1b2)");
  CHECK(e.to_error().message == e.message);
}

TEST_CASE("make_api_error explains a body that is not a Status") {
  const auto e = make_api_error("GET /api/v1/namespaces/default/pods", 502, "<html>\nbad gateway</html>", "");
  CHECK(e.code == 502);
  CHECK(e.reason.empty());
  CHECK(e.message ==
        "GET /api/v1/namespaces/default/pods: 502 with a body that is not a Status object: "
        "\"<html>?bad gateway</html>\"");
}
