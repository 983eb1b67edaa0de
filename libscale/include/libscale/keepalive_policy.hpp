#pragma once
/// Fixed keep-alive, as AWS Lambda and Azure Functions provision: one pod per request in flight, and every
/// pod kept warm for a fixed idle time after its last request (Shahrad et al., "Serverless in the Wild",
/// USENIX ATC 2020, §4: the 10-minute baseline of AWS Lambda; Azure Functions used 20 minutes). No panic mode,
/// no metrics. docs/policies.md has the knobs.

#include <chrono>
#include <cstdint>
#include <optional>

#include "libscale/detail/warm_pool.hpp"
#include "libscale/metric_collector.hpp"
#include "libscale/scaling_policy.hpp"
#include "libscale/time.hpp"

namespace scale {

/// Knobs of the fixed keep-alive policy (`--set keepalive.KEY=VALUE`).
struct keepalive_spec {
  /// `keepalive.idle`: how long a pod stays warm after its last request ended. 10 minutes by default, the
  /// AWS Lambda value the paper uses as its baseline (§4); 0 releases a pod as soon as it is idle.
  duration idle = std::chrono::minutes{10};

  bool operator==(const keepalive_spec&) const = default;
};

/// The fixed keep-alive policy. A request that finds no warm idle pod asks for a new one (a cold start).
class keepalive_policy {
 public:
  explicit keepalive_policy(const keepalive_spec& spec = {}) : spec_(spec) {}

  bool uses_stats() const { return false; }
  /// `decide` reads only the pool, which changes at its `wake_at` or on an arrival or a completion.
  static constexpr bool decisions_hold_until_observed = true;

  /// Takes a warm idle pod if one is loaded, else asks for one more pod.
  void on_arrival(time_point now) { last_warm_ = pool_.acquire(now); }

  /// The request's pod stays warm for `spec.idle`.
  void on_completion(time_point now) { pool_.release(now, duration::zero(), spec_.idle); }

  void on_stat(time_point, const pod_stat&, bool) {}

  /// Busy pods plus pods within their idle time; wakes when the next idle pod expires.
  policy_decision decide(time_point now, const pod_counts&) {
    pool_.expire(now);
    // The wake time is set as a value, not copied as an optional: a 16-byte copy of an optional just written
    // piecewise stalls on store forwarding, on the simulator's per-event path.
    policy_decision d{pool_.pods(now), std::nullopt, false};
    if (const std::optional<time_point> next = pool_.next_change(now)) d.wake_at = *next;
    return d;
  }
  policy_decision on_timer(time_point now, const pod_counts& pods) { return decide(now, pods); }

  /// Whether the last arrival found a warm pod (the policy's own view; the simulator counts cold starts on
  /// its pods).
  bool last_arrival_warm() const { return last_warm_; }

  const keepalive_spec& spec() const { return spec_; }

 private:
  keepalive_spec spec_;
  detail::warm_pool pool_;
  bool last_warm_ = false;
};

static_assert(scaling_policy<keepalive_policy>);

}  // namespace scale
