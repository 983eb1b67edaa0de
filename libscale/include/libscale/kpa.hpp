#pragma once
/// The KPA reconciler as a pure state machine: min/max/initial bounds, the scale-to-zero gates, the SKS mode,
/// the number of activators and the PA Active condition (Knative `pkg/reconciler/autoscaling/kpa`).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>

#include "libscale/time.hpp"

namespace scale {

// Hard-coded constants of the KPA reconciler (kpa-spec.md §0).

/// Fewest activators ever put in a revision's path (`kpa.go: minActivators`).
inline constexpr std::int32_t min_activators = 2;
/// Added to the progress deadline before an activation that never became ready is given up
/// (`scaler.go: activationTimeoutBuffer`).
inline constexpr duration activation_timeout_buffer = std::chrono::seconds{30};
/// Requeue asked for when the PA may be deactivated but its SKS is already in Proxy mode, so no SKS change
/// will wake it up (`scaler.go: handleScaleToZero`).
inline constexpr duration proxy_mode_requeue = std::chrono::seconds{3};
/// Period of the asynchronous activator probe (`scaler.go: probePeriod`).
inline constexpr duration activator_probe_period = std::chrono::seconds{1};
/// Time after which the asynchronous activator probe gives up (`scaler.go: probeTimeout`).
inline constexpr duration activator_probe_timeout = std::chrono::seconds{45};
/// Delay before the PA is reconciled again once an asynchronous probe ends, whatever its outcome
/// (`scaler.go: reenqeuePeriod`).
inline constexpr duration probe_done_requeue = std::chrono::seconds{1};

/// Status of the PA's Active condition: Unknown, True, False.
enum class pa_activity { activating, active, inactive };

/// Reason of the PA's Active condition. `none` is what a fresh condition and MarkActive leave; `queued` is
/// MarkActivating("Queued"); `no_traffic` and `timed_out` are the two MarkInactive reasons of the KPA.
enum class activity_reason { none, queued, no_traffic, timed_out };

/// The PA Active condition without its transition time.
struct active_condition {
  pa_activity activity = pa_activity::activating;
  activity_reason reason = activity_reason::none;

  bool operator==(const active_condition&) const = default;
};

/// SKS operation mode: Serve routes straight to the pods; Proxy keeps the activator in the request path.
enum class sks_mode { serve, proxy };

/// Static per-revision inputs, already resolved from config-autoscaler, config-deployment and the revision's
/// annotations (annotation else config). Defaults are Knative's defaults.
struct kpa_spec {
  /// Resolved min-scale; scale_bounds() ignores it when the revision is unreachable.
  std::int32_t min_scale = 0;
  /// Resolved max-scale; 0 means unbounded.
  std::int32_t max_scale = 0;
  /// Resolved initial scale (`decider.go: GetInitialScale`).
  std::int32_t initial_scale = 1;
  bool enable_scale_to_zero = true;
  /// False when the PA's reachability is Unreachable; Unknown counts as reachable.
  bool reachable = true;
  duration stable_window = std::chrono::seconds{60};
  duration scale_to_zero_grace_period = std::chrono::seconds{30};
  /// Resolved scale-to-zero-pod-retention-period; ignored when the revision is unreachable.
  duration scale_to_zero_pod_retention = duration{0};
  /// Revision progress-deadline annotation else config-deployment progress-deadline.
  duration progress_deadline = std::chrono::seconds{600};
  /// -1: the activator is always in the path (and is not probed); 0: only at zero.
  double target_burst_capacity = 211.0;
  /// What one pod can take (the decider's TotalValue).
  double total_value = 100.0;
  double activator_capacity = 100.0;

  bool operator==(const kpa_spec&) const = default;
};

/// What persists between reconciles: the PA status, the SKS spec the reconciler wrote, the SKS's
/// ActivatorEndpointsPopulated condition, and the Deployment's spec.replicas.
struct kpa_state {
  /// PA Active condition and its last transition time.
  active_condition active{};
  time_point active_since{};
  /// PA ScaleTargetInitialized condition; once true it stays true.
  bool scale_target_initialized = false;
  /// PA status.serviceName is set (the SKS reported its public service).
  bool has_service_name = false;
  /// PA status.desiredScale / actualScale; nullopt until first written.
  std::optional<std::int32_t> desired_scale{};
  std::optional<std::int32_t> actual_scale{};
  /// SKS spec as written by the last reconcile. A new revision's SKS is created in Proxy mode.
  sks_mode mode = sks_mode::proxy;
  std::int32_t num_activators = min_activators;
  /// Since when the SKS has had the activator endpoints populated; nullopt when not populated.
  std::optional<time_point> activator_endpoints_since{};
  /// Deployment spec.replicas; nullopt when the field is absent, which Knative reads as 1.
  std::optional<std::int32_t> spec_replicas{};

  bool operator==(const kpa_state&) const = default;
};

/// The state of a PA created at `created`: Active Unknown with no reason, nothing recorded yet, SKS about to
/// be created in Proxy mode, Deployment created with the initial scale (`revision/resources/deploy.go`).
inline kpa_state initial_kpa_state(const kpa_spec& spec, time_point created) {
  kpa_state s;
  s.active_since = created;
  s.spec_replicas = spec.initial_scale;
  return s;
}

/// What one reconcile observes.
struct kpa_observation {
  /// Decider status DesiredScale; -1 while the decider has no valid decision.
  std::int32_t decider_desired_scale = -1;
  /// Decider status ExcessBurstCapacity.
  std::int32_t excess_burst_capacity = 0;
  /// Ready pods of the revision.
  std::int32_t ready_pods = 0;
  /// Whether a synchronous probe through the public service is answered by the activator. Knative's probe
  /// also fails when the PA has no service name yet; the caller folds that in. Unused when TBC is -1.
  bool activator_probe_ok = true;
  /// The SKS exists and reports its private service. When false the reconciler only writes a Proxy SKS with
  /// the minimum number of activators and records no decision (`kpa.go: ReconcileKind`, first branch).
  bool private_service_ready = true;
  /// The SKS reports its public service name (copied to PA status.serviceName).
  bool public_service_ready = true;

  bool operator==(const kpa_observation&) const = default;
};

/// The outcome of the scaler step (`scaler.go: scaler.scale`).
struct scaler_result {
  /// The scale the scaler returns: -1 (unknown), 0, or the bounded desired scale.
  std::int32_t want = -1;
  /// Replicas to patch onto the Deployment; nullopt when no patch is needed.
  std::optional<std::int32_t> apply_replicas{};
  /// EnqueueAfter asked for by the scaler; nullopt when it asked for none.
  std::optional<duration> requeue_after{};
  /// An asynchronous activator probe is offered (period activator_probe_period, giving up after
  /// activator_probe_timeout); the PA is enqueued again probe_done_requeue after it ends.
  bool start_async_probe = false;

  bool operator==(const scaler_result&) const = default;
};

/// What one reconcile decides.
struct kpa_action {
  /// Replicas to patch onto the Deployment; nullopt when no patch is needed.
  std::optional<std::int32_t> apply_replicas{};
  /// Call again after this long; nullopt when only an event (decider, pods, probe) should wake the PA.
  std::optional<duration> requeue_after{};
  /// See scaler_result::start_async_probe.
  bool start_async_probe = false;
  /// The scaler's want, also what PA status.desiredScale records (except -1 over a known value).
  std::int32_t want = -1;
  /// The SKS spec written: mode and number of activators.
  sks_mode mode = sks_mode::proxy;
  std::int32_t num_activators = min_activators;
  /// The PA Active condition after the reconcile.
  active_condition active{};
  /// The reconcile changed the PA status or the SKS spec. Knative's informers then enqueue the PA again at
  /// once (pod readiness changes and decider changes enqueue it too; those are the caller's events).
  bool triggers_reconcile = false;

  bool operator==(const kpa_action&) const = default;
};

/// Min and max scale; max 0 means unbounded.
struct kpa_bounds {
  std::int32_t min_scale = 0;
  std::int32_t max_scale = 0;

  bool operator==(const kpa_bounds&) const = default;
};

/// `x` clamped into [min, max], where max 0 means no upper bound; -1 below a min of 0 becomes 0
/// (`scaler.go: applyBounds`).
constexpr std::int32_t apply_bounds(std::int32_t min_scale, std::int32_t max_scale, std::int32_t x) {
  if (x < min_scale) return min_scale;
  if (max_scale != 0 && x > max_scale) return max_scale;
  return x;
}

/// The PA's bounds: min-scale is dropped for an unreachable revision (`pa_lifecycle.go: ScaleBounds`).
constexpr kpa_bounds scale_bounds(const kpa_spec& spec) {
  return {spec.reachable ? spec.min_scale : 0, spec.max_scale};
}

/// The bounds the scaler applies: scale_bounds() with min raised to the initial scale while the scale target
/// is not initialized, when that scale is above 1 and the revision is reachable (`scaler.go: scaler.scale`).
constexpr kpa_bounds scaler_bounds(const kpa_spec& spec, bool scale_target_initialized) {
  kpa_bounds b = scale_bounds(spec);
  if (spec.initial_scale > 1 && !scale_target_initialized && spec.reachable) {
    b.min_scale = std::max(b.min_scale, spec.initial_scale);
  }
  return b;
}

/// Ready pods needed for the PA to count as Active: max(min, initial scale) before the scale target is
/// initialized, max(min, 1) after (`kpa.go: activeThreshold`). Unlike the scaler, it uses the initial scale
/// even for an unreachable revision.
constexpr std::int32_t active_threshold(const kpa_spec& spec, bool scale_target_initialized) {
  const std::int32_t min_scale = scale_bounds(spec).min_scale;
  return scale_target_initialized ? std::max(min_scale, std::int32_t{1})
                                  : std::max(min_scale, spec.initial_scale);
}

/// Activators to put in the path: 2 when TBC is 0, else max(2, ceil((ready × total + max(TBC, 0)) /
/// activator capacity)) (`kpa.go: computeNumActivators`).
inline std::int32_t compute_num_activators(std::int32_t ready_pods, double total_value,
                                           double target_burst_capacity, double activator_capacity) {
  if (target_burst_capacity == 0) return min_activators;
  double capacity_to_cover = static_cast<double>(ready_pods) * total_value;
  if (target_burst_capacity > 0) capacity_to_cover += target_burst_capacity;
  return static_cast<std::int32_t>(
      std::max(static_cast<double>(min_activators), std::ceil(capacity_to_cover / activator_capacity)));
}

/// The state of a PA that scaled to zero long before `now`: Inactive (NoTraffic) past every grace period and
/// retention, initialized, SKS in Proxy mode with the activator endpoints in place since, no replicas. What a
/// simulator starts an idle service from, so its first request takes the scale-from-zero path at once.
inline kpa_state idle_kpa_state(const kpa_spec& spec, time_point now) {
  const duration long_ago =
      spec.stable_window + std::max(spec.scale_to_zero_grace_period, spec.scale_to_zero_pod_retention) +
      std::chrono::hours{1};
  kpa_state s;
  s.active = {pa_activity::inactive, activity_reason::no_traffic};
  s.active_since = now - long_ago;
  s.scale_target_initialized = true;
  s.has_service_name = true;
  s.desired_scale = 0;
  s.actual_scale = 0;
  s.mode = sks_mode::proxy;
  s.num_activators = compute_num_activators(0, spec.total_value, spec.target_burst_capacity, spec.activator_capacity);
  s.activator_endpoints_since = now - long_ago;
  s.spec_replicas = 0;
  return s;
}

/// Serve only when the scaler wants pods and the decider reports non-negative excess burst capacity; Proxy
/// otherwise, including want -1 (`kpa.go: ReconcileKind`).
constexpr sks_mode choose_sks_mode(std::int32_t want, std::int32_t excess_burst_capacity) {
  return want > 0 && excess_burst_capacity >= 0 ? sks_mode::serve : sks_mode::proxy;
}

/// The PA Active condition after a reconcile that wants `want` (-1, 0 or > 0) with `ready` ready pods,
/// given the active threshold `min_ready` and the previous condition (`kpa.go: computeActiveCondition`).
constexpr active_condition compute_active_condition(std::int32_t want, std::int32_t ready, std::int32_t min_ready,
                                                    active_condition previous) {
  const bool was_inactive = previous.activity == pa_activity::inactive;
  // A min_ready of 0 (initial scale 0 before initialization) is Inactive even while want is still -1.
  if (want == 0 || min_ready == 0) {
    // Scaling to zero while activating only happens when the activation timed out.
    if (previous.activity == pa_activity::activating && min_ready > 0) {
      return {pa_activity::inactive, activity_reason::timed_out};
    }
    return {pa_activity::inactive, activity_reason::no_traffic};
  }
  if (ready < min_ready) {
    if (want > 0 || !was_inactive) return {pa_activity::activating, activity_reason::queued};
    return {pa_activity::inactive, activity_reason::no_traffic};
  }
  if (want > 0 || !was_inactive) return {pa_activity::active, activity_reason::none};
  return previous;
}

/// The DesiredScale the PA status records: `want`, except that -1 never overwrites a recorded non-negative
/// value (an autoscaler restart briefly reports -1) (`kpa.go: computeStatus`).
constexpr std::optional<std::int32_t> recorded_desired_scale(std::optional<std::int32_t> previous,
                                                             std::int32_t want) {
  if (want == -1 && previous.has_value() && *previous >= 0) return previous;
  return want;
}

/// How long the PA has been in `activity` at `now`; -1 ns when it is in another one
/// (`pa_lifecycle.go: inStatusFor`).
constexpr duration in_status_for(const kpa_state& state, pa_activity activity, time_point now) {
  if (state.active.activity != activity) return duration{-1};
  return now - state.active_since;
}

/// Time the PA has been Active, or -1 ns (`pa_lifecycle.go: ActiveFor`).
constexpr duration active_for(const kpa_state& state, time_point now) {
  return in_status_for(state, pa_activity::active, now);
}

/// Time the PA has been Inactive, or -1 ns (`pa_lifecycle.go: InactiveFor`).
constexpr duration inactive_for(const kpa_state& state, time_point now) {
  return in_status_for(state, pa_activity::inactive, now);
}

/// Whether the PA has been activating strictly longer than `timeout` (`pa_lifecycle.go: CanFailActivation`).
constexpr bool can_fail_activation(const kpa_state& state, time_point now, duration timeout) {
  return in_status_for(state, pa_activity::activating, now) > timeout;
}

/// Time the SKS has had the activator endpoints populated; 0 when they are not
/// (`ServerlessServiceStatus.ProxyFor`).
constexpr duration proxy_for(const kpa_state& state, time_point now) {
  return state.activator_endpoints_since ? now - *state.activator_endpoints_since : duration{0};
}

/// The activation timeout: progress deadline plus activation_timeout_buffer.
constexpr duration activation_timeout(const kpa_spec& spec) {
  return spec.progress_deadline + activation_timeout_buffer;
}

namespace detail {

/// Result of the scale-to-zero gate: the scale and whether it may be applied.
struct zero_gate {
  std::int32_t scale = 0;
  bool apply = false;
  std::optional<duration> requeue_after{};
  bool start_async_probe = false;
};

/// Knative `scaler.go: handleScaleToZero` for a bounded desired scale `d`.
constexpr zero_gate handle_scale_to_zero(const kpa_spec& spec, const kpa_state& state, const kpa_observation& obs,
                                         std::int32_t d, time_point now) {
  if (d != 0) return {d, true, std::nullopt, false};
  if (!spec.enable_scale_to_zero) return {1, true, std::nullopt, false};

  switch (state.active.activity) {
    case pa_activity::activating: {
      // Stuck activating past the deadline: give up and scale to 0. Otherwise come back after a whole
      // activation timeout (Knative enqueues the full timeout, not what is left of it).
      const duration timeout = activation_timeout(spec);
      if (can_fail_activation(state, now, timeout)) return {0, true, std::nullopt, false};
      return {-1, false, timeout, false};
    }
    case pa_activity::active: {
      // Active for a whole stable window: return 0 unapplied so the PA is marked Inactive. If the SKS is
      // already in Proxy mode its spec will not change, so nothing else would wake the PA up.
      const duration af = active_for(state, now);
      if (af >= spec.stable_window) {
        std::optional<duration> requeue;
        if (state.mode == sks_mode::proxy) requeue = proxy_mode_requeue;
        return {0, false, requeue, false};
      }
      // Hold one pod until the stable window of activity is reached.
      return {1, true, spec.stable_window - af, false};
    }
    case pa_activity::inactive:
      break;
  }

  // Inactive. With TBC -1 the activator is always in the path; otherwise it must answer a probe.
  const bool backed_by_activator = spec.target_burst_capacity == -1 || obs.activator_probe_ok;
  if (!backed_by_activator) return {0, false, std::nullopt, true};

  // `scaler.go: lastPodRetention`: no retention for an unreachable revision.
  const duration retention = spec.reachable ? spec.scale_to_zero_pod_retention : duration{0};
  const duration grace = spec.scale_to_zero_grace_period;
  const duration inactive = inactive_for(state, now);
  if (inactive >= std::max(grace, retention)) return {0, true, std::nullopt, false};
  // Retention is a hard deadline counted from the Inactive transition, whatever the network state.
  if (retention > duration{0} && inactive < retention) return {0, false, retention - inactive, false};
  // Fast path: the activator has already been in the path for a whole grace period.
  const duration wait = grace - proxy_for(state, now);
  if (wait <= duration{0}) return {0, true, std::nullopt, false};
  return {0, false, wait, false};
}

}  // namespace detail

/// The scaler step: bounds, initial scale, the scale-to-zero gates, and the patch when the result differs
/// from the Deployment's replicas (`scaler.go: scaler.scale`). Reads the state, does not change it.
constexpr scaler_result scale_target(const kpa_spec& spec, const kpa_state& state, const kpa_observation& obs,
                                     time_point now) {
  // 1. No decision yet: nothing to do, unless activating (where -1 is bounded and may time out).
  std::int32_t d = obs.decider_desired_scale;
  if (d < 0 && state.active.activity != pa_activity::activating) return {d, std::nullopt, std::nullopt, false};

  // 2. Bounds, with min raised to the initial scale until the scale target is initialized.
  const kpa_bounds b = scaler_bounds(spec, state.scale_target_initialized);
  d = apply_bounds(b.min_scale, b.max_scale, d);

  // 3. Scale-to-zero gates.
  const detail::zero_gate g = detail::handle_scale_to_zero(spec, state, obs, d, now);
  scaler_result r{g.scale, std::nullopt, g.requeue_after, g.start_async_probe};
  if (!g.apply) return r;

  // 4. Patch only a change; an absent spec.replicas reads as 1.
  const std::int32_t current = state.spec_replicas.value_or(1);
  if (g.scale != current) r.apply_replicas = g.scale;
  return r;
}

/// One KPA reconcile at `now` (`kpa.go: ReconcileKind` with `computeStatus`). Updates `state` as Knative
/// would leave the PA status, the SKS spec and the Deployment's replicas. The SKS's activator endpoints are
/// modelled as following its mode at once (populated in Proxy mode or with no ready pod, as the SKS
/// reconciler does), so proxy_for() counts from this reconcile.
inline kpa_action reconcile(const kpa_spec& spec, kpa_state& state, const kpa_observation& obs,
                               time_point now) {
  const kpa_state before = state;
  kpa_action action;

  std::int32_t ready = 0;
  if (!obs.private_service_ready) {
    // 1a. No SKS private service yet: a Proxy SKS with the minimum activators, and a status with want -1
    //     and no ready pods; the scaler is not consulted.
    action.want = -1;
    action.mode = sks_mode::proxy;
    action.num_activators = min_activators;
  } else {
    // 1b. Scaler, then SKS mode and number of activators.
    const scaler_result s = scale_target(spec, state, obs, now);
    action.want = s.want;
    action.apply_replicas = s.apply_replicas;
    action.requeue_after = s.requeue_after;
    action.start_async_probe = s.start_async_probe;
    action.mode = choose_sks_mode(s.want, obs.excess_burst_capacity);
    action.num_activators = compute_num_activators(obs.ready_pods, spec.total_value, spec.target_burst_capacity,
                                                   spec.activator_capacity);
    state.has_service_name = obs.public_service_ready;
    ready = obs.ready_pods;
  }

  // 2. Deployment and SKS.
  if (action.apply_replicas) state.spec_replicas = action.apply_replicas;
  state.mode = action.mode;
  state.num_activators = action.num_activators;
  const bool populated = action.mode == sks_mode::proxy || ready == 0;
  if (!populated) {
    state.activator_endpoints_since.reset();
  } else if (!state.activator_endpoints_since) {
    state.activator_endpoints_since = now;
  }

  // 3. Status: scales, then the Active condition (threshold taken before initialization is marked).
  state.actual_scale = ready;
  state.desired_scale = recorded_desired_scale(state.desired_scale, action.want);
  const std::int32_t min_ready = active_threshold(spec, state.scale_target_initialized);
  if (ready >= min_ready && state.has_service_name) state.scale_target_initialized = true;
  state.active = compute_active_condition(action.want, ready, min_ready, state.active);
  // The transition time moves only when the condition differs from the one the reconcile started with
  // (knative/pkg `groomConditionsTransitionTime`).
  if (state.active != before.active) state.active_since = now;
  action.active = state.active;

  action.triggers_reconcile = state.active != before.active ||
                              state.scale_target_initialized != before.scale_target_initialized ||
                              state.has_service_name != before.has_service_name ||
                              state.desired_scale != before.desired_scale ||
                              state.actual_scale != before.actual_scale || state.mode != before.mode ||
                              state.num_activators != before.num_activators;
  return action;
}

}  // namespace scale
