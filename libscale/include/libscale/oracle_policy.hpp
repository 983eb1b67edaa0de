#pragma once
/// The clairvoyant lower bound: a policy that knows every future request and its service time, creates each pod
/// exactly one cold start before it is first needed, and releases it as soon as keeping it until its next use
/// would cost more than releasing it and starting another. Its pod time is the least any policy can spend with
/// no cold start at all (for a constant cold start); every other policy's pod-seconds are read against it.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "libscale/metric_collector.hpp"
#include "libscale/scaling_policy.hpp"
#include "libscale/time.hpp"

namespace scale {

/// One future request as the oracle knows it.
struct known_request {
  time_point arrival{};
  /// Time a warm pod takes to serve it; negative counts as 0.
  duration service{};

  bool operator==(const known_request&) const = default;
};

/// Knobs of the oracle (`--set oracle.KEY=VALUE`); the simulator sets them from its own model by default.
struct oracle_spec {
  /// `oracle.cold_start`: time from a pod's creation until it is ready; the simulator's constant default is 3 s.
  /// The bound holds for a constant cold start.
  duration cold_start = std::chrono::seconds{3};
  /// `oracle.drain`: time a released pod still exists (and costs) after its release, as the simulator's drain
  /// quiet period; 0 counts only the time until release.
  duration drain{};

  bool operator==(const oracle_spec&) const = default;
};

/// One pod's life in the oracle's plan: asked for at `begin`, released at `end` (right after its last request).
struct oracle_segment {
  time_point begin{};
  time_point end{};

  bool operator==(const oracle_segment&) const = default;
};

/// The oracle's plan for `requests` (any order): one segment per pod. Requests are taken in arrival order; each
/// takes the idle pod freed most recently when that pod was freed at most cold_start + drain before the arrival
/// (keeping it costs the gap; releasing it and starting another costs drain + cold start), otherwise a new pod
/// asked for exactly one cold start before the arrival. Taking the most recently freed pod is optimal: the
/// saving of a reuse, max(0, cold_start + drain - gap), is convex in the gap, so an exchange never helps.
inline std::vector<oracle_segment> plan_oracle(std::span<const known_request> requests, const oracle_spec& spec) {
  std::vector<known_request> sorted(requests.begin(), requests.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const known_request& a, const known_request& b) { return a.arrival < b.arrival; });
  const duration threshold = spec.cold_start + spec.drain;
  std::vector<oracle_segment> segments;
  // Idle pods by the time they were freed (busy ones are keyed by when they will be).
  std::multimap<time_point, std::size_t> free_at;
  for (const known_request& r : sorted) {
    const time_point end = r.arrival + std::max(duration::zero(), r.service);
    // Arrivals only move forward: a pod freed too long ago is never worth keeping again.
    while (!free_at.empty() && free_at.begin()->first < r.arrival - threshold) free_at.erase(free_at.begin());
    auto it = free_at.upper_bound(r.arrival);
    if (it != free_at.begin()) {
      --it;
      const std::size_t s = it->second;
      free_at.erase(it);
      segments[s].end = std::max(segments[s].end, end);
      free_at.emplace(segments[s].end, s);
    } else {
      segments.push_back({r.arrival - spec.cold_start, end});
      free_at.emplace(end, segments.size() - 1);
    }
  }
  return segments;
}

/// Pod time of a plan: every segment's length plus the drain after each release.
inline duration oracle_pod_time(std::span<const oracle_segment> segments, const oracle_spec& spec) {
  duration total{};
  for (const oracle_segment& s : segments) total += (s.end - s.begin) + spec.drain;
  return total;
}

/// The oracle as a policy: desired pods at t = segments with begin <= t < end. It ignores every observation.
/// A segment that begins before the model epoch is wanted from time 0 (the driver decides whether such pods
/// start ready). A request with no service time and no cold start gets an empty segment and no pod.
class oracle_policy {
 public:
  oracle_policy(std::span<const known_request> requests, const oracle_spec& spec = {})
      : spec_(spec), segments_(plan_oracle(requests, spec)) {
    changes_.reserve(segments_.size() * 2);
    for (const oracle_segment& s : segments_) {
      if (s.end <= s.begin) continue;
      changes_.emplace_back(s.begin, 1);
      changes_.emplace_back(s.end, -1);
    }
    std::sort(changes_.begin(), changes_.end());
  }

  bool uses_stats() const { return false; }
  /// `decide` reads the plan, whose count changes only at the `wake_at` it answers.
  static constexpr bool decisions_hold_until_observed = true;
  void on_arrival(time_point) {}
  void on_completion(time_point) {}
  void on_stat(time_point, const pod_stat&, bool) {}

  /// The planned count at `now`; wakes at the plan's next change.
  policy_decision decide(time_point now, const pod_counts&) {
    while (next_ < changes_.size() && changes_[next_].first <= now) current_ += changes_[next_++].second;
    std::optional<time_point> wake;
    if (next_ < changes_.size()) wake = changes_[next_].first;
    return {current_, wake, false};
  }
  policy_decision on_timer(time_point now, const pod_counts& pods) { return decide(now, pods); }

  const std::vector<oracle_segment>& segments() const { return segments_; }
  /// The lower bound: `oracle_pod_time` of the plan.
  duration pod_time() const { return oracle_pod_time(segments_, spec_); }

 private:
  oracle_spec spec_;
  std::vector<oracle_segment> segments_;
  std::vector<std::pair<time_point, std::int32_t>> changes_;
  std::size_t next_ = 0;
  std::int32_t current_ = 0;
};

static_assert(scaling_policy<oracle_policy>);

}  // namespace scale
