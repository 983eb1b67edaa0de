#pragma once
/// What one simulated function reports, and the per-tick timeline row.

#include <sim/latency_histogram.hpp>

#include <libscale/time.hpp>

#include <algorithm>
#include <cstdint>
#include <string>

namespace scale::sim {

/// Totals of one function's run (or, merged, of a whole trace). Field names follow the JSON contract of
/// `scalesim run --json` (issue #3).
struct function_result {
  std::string id;
  std::uint64_t requests = 0;     // arrived
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;       // timed out waiting (revision timeout) or rejected
  std::uint64_t cold_starts = 0;  // requests that waited for a pod to start
  latency_histogram latency;      // arrival to completion, completed requests only
  latency_histogram queueing;     // arrival to start of service, completed requests only
  double pod_seconds = 0;         // from a pod's request until it is gone: cold start and draining included
  double idle_pod_seconds = 0;    // pod-seconds with no request in flight on the pod
  std::int32_t peak_pods = 0;     // most pods existing at once (starting, ready or draining)
  std::uint64_t scale_events = 0; // times the applied replica count changed
  double time_at_zero_s = 0;      // simulated seconds with no pod at all
  double simulated_s = 0;         // length of the run, from the first arrival's time 0 to its end

  /// Adds `other` into this total (id is kept; peak pods add up, as pods of different functions coexist).
  void merge(const function_result& other) {
    requests += other.requests;
    completed += other.completed;
    failed += other.failed;
    cold_starts += other.cold_starts;
    latency.merge(other.latency);
    queueing.merge(other.queueing);
    pod_seconds += other.pod_seconds;
    idle_pod_seconds += other.idle_pod_seconds;
    peak_pods += other.peak_pods;
    scale_events += other.scale_events;
    time_at_zero_s += other.time_at_zero_s;
    simulated_s = std::max(simulated_s, other.simulated_s);
  }
};

/// One autoscaler tick of one function: the columns of `scalesim run --timeline` (issue #3 contract).
struct timeline_row {
  time_point time{};
  std::int32_t ready_pods = 0;
  std::int32_t desired_pods = 0;
  bool panic_mode = false;
  double observed_stable = 0;
  double observed_panic = 0;
  std::int64_t in_flight = 0;         // requests being served by pods
  std::int64_t activator_queue = 0;   // requests held in the activator
  std::int32_t excess_burst_capacity = 0;
  bool activator_in_path = true;
};

}  // namespace scale::sim
