#pragma once
/// The API server's error answer: a v1 `Status` body parsed into a value, and the error every API call returns
/// (HTTP code, reason, Audit-Id and one readable line). cluster-adapter.md §1.5.

#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <libscale/result.hpp>

namespace scale::kube {

/// One entry of `details.causes[]` (a 422 names the offending field there, §1.5).
struct status_cause {
  std::string field;
  std::string reason;
  std::string message;

  bool operator==(const status_cause&) const = default;
};

/// A v1 `Status` object (`kind: Status`): switch on `code` and `reason`, never parse `message` (§1.5).
struct api_status {
  int code = 0;
  /// "Success" or "Failure".
  std::string status;
  std::string reason;
  std::string message;
  std::string details_name;
  std::string details_kind;
  std::vector<status_cause> causes;

  bool operator==(const api_status&) const = default;
};

/// Parses a v1 Status body; an error names what is missing or malformed (a body that is not a Status is one).
result<api_status> parse_status(std::string_view json);

/// Why an API call failed. `code` is the HTTP status, or 0 when there was no usable HTTP answer (connection
/// refused, TLS verification, timeout, an unreadable body); never holds a bearer token or key.
struct api_error {
  int code = 0;
  /// The Status `reason` (`NotFound`, `Conflict`, ...); empty when the body was not a Status.
  std::string reason;
  /// One lowercase line: request, code, reason, server message, Audit-Id.
  std::string message;
  /// The response's `Audit-Id` header: what a cluster admin searches the audit log for (§1.5).
  std::string audit_id;
  std::vector<status_cause> causes;

  bool operator==(const api_error&) const = default;
  /// As a libscale error (the message only).
  scale::error to_error() const { return scale::error{message}; }
};

/// Builds the error for a non-2xx answer to `what` ("GET /apis/..."): a Status body gives code/reason/message,
/// any other body gives a clear "not a Status" message with the HTTP code and a short, printable excerpt.
api_error make_api_error(std::string_view what, int http_status, std::string_view body, std::string_view audit_id);

/// Either a value or an api_error: `result<T>` with the HTTP code and reason kept (callers switch on them).
template <class T>
class api_result {
 public:
  api_result(T value) : state_(std::in_place_index<0>, std::move(value)) {}        // NOLINT: implicit by design
  api_result(api_error e) : state_(std::in_place_index<1>, std::move(e)) {}        // NOLINT: implicit by design

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  /// The value; only valid when has_value().
  const T& value() const& { return std::get<0>(state_); }
  T& value() & { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  /// The error; only valid when !has_value().
  const api_error& error_value() const { return std::get<1>(state_); }

 private:
  std::variant<T, api_error> state_;
};

/// An api_error with no HTTP answer behind it (code 0).
inline api_error local_error(std::string message) { return api_error{0, {}, std::move(message), {}, {}}; }

}  // namespace scale::kube
