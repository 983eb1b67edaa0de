#pragma once
/// Kubernetes Events about a target (`SuccessfulRescale`, `FailedRescale`): the events.k8s.io/v1 object, the
/// POST, and client-go's spam filter (burst 25, then 1 per 5 minutes per object and reason). cluster-adapter.md §6.7.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>

#include <nlohmann/json.hpp>

#include <kube/api_status.hpp>
#include <kube/http_client.hpp>

namespace scale::kube {

/// The object an event is about (`regarding`).
struct object_reference {
  std::string api_version = "apps/v1";
  std::string kind = "Deployment";
  std::string name;
  /// Optional; sent when known.
  std::string uid;

  bool operator==(const object_reference&) const = default;
};

enum class event_type { normal, warning };

/// One event to record.
struct event_record {
  object_reference regarding;
  event_type type = event_type::normal;
  /// CamelCase, e.g. "SuccessfulRescale".
  std::string reason;
  /// Human text; cut to 1024 bytes (the server's limit for `note`).
  std::string note;
  /// What was done, e.g. "Scale".
  std::string action = "Scale";

  bool operator==(const event_record&) const = default;
};

/// Who reports: `reportingController` (a qualified name) and `reportingInstance` (e.g. the pod name).
struct event_source {
  std::string controller = "libscale.dev/scale-adapter";
  std::string instance = "scale-adapter";

  bool operator==(const event_source&) const = default;
};

/// `{object}.{16 hex digits}`: a name of our own, as a generateName may not end with '.' (§6.7 observed 422).
std::string event_name(std::string_view object_name, std::uint64_t unique);

/// The events.k8s.io/v1 Event object for `event` at wall-clock `now` (eventTime is a MicroTime,
/// `2026-11-26T17:20:00.000000Z`).
nlohmann::json make_event(std::string_view namespace_name, const event_record& event, const event_source& source,
                          std::chrono::system_clock::time_point now, std::uint64_t unique);

/// A MicroTime text (RFC 3339, UTC, 6 fractional digits).
std::string format_micro_time(std::chrono::system_clock::time_point t);

/// POSTs the event to `/apis/events.k8s.io/v1/namespaces/{ns}/events`; the name's unique part comes from the
/// clock and a process-wide counter.
api_result<std::monostate> record_event(http_client& client, std::string_view namespace_name,
                                        const event_record& event, const event_source& source = {});

/// Per object+reason token bucket as client-go's EventSourceObjectSpamFilter (events_cache.go): `burst` events,
/// then one more per `refill`. Time is an argument.
class event_rate_limiter {
 public:
  explicit event_rate_limiter(int burst = 25, std::chrono::seconds refill = std::chrono::minutes{5})
      : burst_(burst), refill_(refill) {}
  /// Whether an event about `object` with `reason` may go out at `now` (and takes its token when it may).
  bool allow(std::string_view object, std::string_view reason, std::chrono::steady_clock::time_point now);

 private:
  struct bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point last{};
  };
  int burst_;
  std::chrono::seconds refill_;
  std::map<std::pair<std::string, std::string>, bucket, std::less<>> buckets_;
};

}  // namespace scale::kube
