#pragma once
/// What a simulator needs to drive any scaling policy (KPA, HPA, fixed keep-alive, hybrid histogram, oracle):
/// the observations it delivers, the decision it reads back, and the timer that lets an idle function cost
/// nothing. docs/policies.md describes each policy and how the simulator drives this interface.

#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "libscale/metric_collector.hpp"
#include "libscale/time.hpp"

namespace scale {

/// The pods of the function as the driver sees them when it asks for a decision.
struct pod_counts {
  /// Pods ready to take requests.
  std::int32_t ready = 0;
  /// Pods asked for and not ready yet: waiting to be created or starting (not deleted).
  std::int32_t starting = 0;
  /// Pods that exist in any phase: waiting to be created, starting, ready, or draining after deletion.
  std::int32_t existing = 0;

  bool operator==(const pod_counts&) const = default;
};

/// What a policy answers.
struct policy_decision {
  /// Pods the policy wants now (the Deployment's replicas); the driver creates or deletes pods to match.
  std::int32_t desired_pods = 0;
  /// When to call `on_timer`; nullopt = no timer, the policy only wakes for an observation. Each decision
  /// replaces the timer of the previous one.
  std::optional<time_point> wake_at{};
  /// Apply `desired_pods`, then call `decide` again at the same instant (a policy that re-runs itself, as the
  /// KPA reconciler re-enqueues its PA after a status change).
  bool call_again = false;

  bool operator==(const policy_decision&) const = default;
};

/// A scaling policy as a simulator drives it. The driver:
///  1. delivers each observation at its time: `on_arrival` when a request reaches the function,
///     `on_completion` when one leaves it (served or failed), and, when `uses_stats()` is true, `on_stat` with
///     every statistic the Knative autoscaler would receive: the activator's immediate push (`pushed` = true)
///     and the per-second activator reports and scrape totals (`pushed` = false). `uses_stats()` is read
///     once, before the first decision: its answer must not change;
///  2. after the observations of an event, and whenever `pod_counts` changes, calls `decide(now, pods)` and
///     applies `desired_pods` (again at once while `call_again`);
///  3. at `wake_at`, after every other event of that instant and after that instant's statistics, calls
///     `on_timer(now, pods)` and applies its decision the same way.
/// `now` never goes back. Policies are deterministic: the same calls give the same decisions.
// A concept, not a base class: the simulator's engine can be a template over the policy, so the per-event
// path has no virtual call (house style: "boundaries are concepts declared in the consuming header").
template <class P>
concept scaling_policy = requires(P& p, const P& cp, time_point now, const pod_stat& stat, bool pushed,
                                  const pod_counts& pods) {
  { cp.uses_stats() } -> std::same_as<bool>;
  p.on_arrival(now);
  p.on_completion(now);
  p.on_stat(now, stat, pushed);
  { p.decide(now, pods) } -> std::same_as<policy_decision>;
  { p.on_timer(now, pods) } -> std::same_as<policy_decision>;
};

/// A policy may promise, with a member `static constexpr bool decisions_hold_until_observed = true;`, that
///  - `decide` does not read `pod_counts`;
///  - an answer of `decide` or `on_timer` given at t is what `decide` answers at every instant from t up to,
///    not including, that answer's `wake_at` (at every later instant without one), until the policy is next
///    called with `on_arrival`, `on_completion`, `on_stat` or `on_timer`;
///  - leaving out a `decide` changes no later answer.
/// A driver may then skip `decide` after an event that delivered no observation, and its result stays exact.
template <class P>
inline constexpr bool decisions_hold_until_observed_v = requires { requires P::decisions_hold_until_observed; };

/// Any `scaling_policy`, chosen at run time (`scalesim run --policy NAME`). Move-only; one virtual call per
/// observation or decision.
// Type erasure is kept for the command line, where one code path must hold whichever policy was named. The
// per-event cost is one indirect call, small beside the simulator's own event handling; an engine that wants
// none can be instantiated per policy type instead (the concept above is all it needs).
class any_scaling_policy {
 public:
  /// Takes ownership of `policy`.
  template <scaling_policy P>
    requires(!std::same_as<std::remove_cvref_t<P>, any_scaling_policy>)
  explicit any_scaling_policy(P policy)
      : self_(std::make_unique<model<P>>(std::move(policy))), holds_(decisions_hold_until_observed_v<P>) {}

  /// `decisions_hold_until_observed_v` of the wrapped policy (read once, no call per event).
  bool decisions_hold_until_observed() const { return holds_; }

  bool uses_stats() const { return self_->uses_stats(); }
  void on_arrival(time_point now) { self_->on_arrival(now); }
  void on_completion(time_point now) { self_->on_completion(now); }
  void on_stat(time_point now, const pod_stat& stat, bool pushed) { self_->on_stat(now, stat, pushed); }
  policy_decision decide(time_point now, const pod_counts& pods) { return self_->decide(now, pods); }
  policy_decision on_timer(time_point now, const pod_counts& pods) { return self_->on_timer(now, pods); }

  /// The wrapped policy when it is a `P`, else null (for policy-specific reporting, e.g. the KPA's timeline).
  template <scaling_policy P>
  const P* get_if() const {
    const auto* m = dynamic_cast<const model<P>*>(self_.get());
    return m != nullptr ? &m->policy_ : nullptr;
  }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual bool uses_stats() const = 0;
    virtual void on_arrival(time_point now) = 0;
    virtual void on_completion(time_point now) = 0;
    virtual void on_stat(time_point now, const pod_stat& stat, bool pushed) = 0;
    virtual policy_decision decide(time_point now, const pod_counts& pods) = 0;
    virtual policy_decision on_timer(time_point now, const pod_counts& pods) = 0;
  };
  template <class P>
  struct model final : concept_t {
    explicit model(P p) : policy_(std::move(p)) {}
    bool uses_stats() const override { return policy_.uses_stats(); }
    void on_arrival(time_point now) override { policy_.on_arrival(now); }
    void on_completion(time_point now) override { policy_.on_completion(now); }
    void on_stat(time_point now, const pod_stat& stat, bool pushed) override { policy_.on_stat(now, stat, pushed); }
    policy_decision decide(time_point now, const pod_counts& pods) override { return policy_.decide(now, pods); }
    policy_decision on_timer(time_point now, const pod_counts& pods) override {
      return policy_.on_timer(now, pods);
    }
    P policy_;
  };

  std::unique_ptr<concept_t> self_;
  bool holds_ = false;
};

static_assert(scaling_policy<any_scaling_policy>);

namespace detail {

/// The smallest multiple of `step` (counted from the epoch) at or after `t`.
constexpr time_point ceil_to(time_point t, duration step) {
  const std::int64_t q = floor_div(t.time_since_epoch().count(), step.count());
  const time_point down{duration{q * step.count()}};
  return down == t ? t : down + step;
}

/// The earlier of two optional instants.
constexpr std::optional<time_point> earliest(std::optional<time_point> a, std::optional<time_point> b) {
  if (!a) return b;
  if (!b) return a;
  return *a < *b ? a : b;
}

}  // namespace detail

}  // namespace scale
