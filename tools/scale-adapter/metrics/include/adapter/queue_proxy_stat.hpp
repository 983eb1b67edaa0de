#pragma once
/// Knative queue-proxy's `Stat` protobuf message (`pkg/autoscaler/metrics/stat.proto`): a small wire decoder
/// and encoder, and the libscale `pod_stat` the autoscaler records from it.

#include <cstdint>
#include <string>
#include <string_view>

#include <libscale/metric_collector.hpp>
#include <libscale/result.hpp>

namespace scale::adapter {

/// One `metrics.Stat` message as queue-proxy serves it on port 9090 (cluster-adapter.md §5).
struct stat_message {
  /// Field 1: the pod that measured it.
  std::string pod_name = {};
  /// Field 2: time-weighted mean of requests in flight over the last period.
  double average_concurrent_requests = 0;
  /// Field 3: the part of field 2 that came through an activator.
  double average_proxied_concurrent_requests = 0;
  /// Field 4: requests per second over the last period (already divided by the period).
  double request_count = 0;
  /// Field 5: the part of field 4 that came through an activator.
  double proxied_request_count = 0;
  /// Field 6: seconds since queue-proxy started.
  double process_uptime = 0;
  /// Field 7: when the stat was made, seconds since the Unix epoch.
  std::int64_t timestamp = 0;

  bool operator==(const stat_message&) const = default;
};

/// Decodes one serialized `Stat`. Unknown fields are skipped by wire type; a repeated scalar keeps its last
/// value, as protobuf does. Errors (message `stat: …` naming the field and byte offset): truncated input,
/// a varint over 10 bytes or 64 bits, field number 0, group or reserved wire types, a known field with the
/// wrong wire type, a double field that is NaN, infinite or negative.
result<stat_message> decode_stat(std::string_view bytes);

/// Serializes `stat` as proto3 does: fields in number order, fields at their default (0, empty) left out.
std::string encode_stat(const stat_message& stat);

/// The libscale stat for `stat`: the four request fields as they are. `scale::metric_collection::record`
/// subtracts the proxied parts (concurrency = average − proxied, rps = requests − proxied requests,
/// Knative `collection.record`, cluster-adapter.md §5 "What the autoscaler uses"), so they are not
/// subtracted here too.
pod_stat to_pod_stat(const stat_message& stat);

}  // namespace scale::adapter
