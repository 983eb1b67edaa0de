#pragma once
/// One Knative service, simulated: requests through the activator or straight to pods, pods with cold starts and
/// draining, and libscale's own metric collection, decider and KPA reconciler making every scaling decision.
/// Several services can share one cluster's pod-creation rate limit (`simulate_cluster`).
/// The model and every option are described in docs/simulator.md.

#include <sim/arrival.hpp>
#include <sim/function_result.hpp>

#include <libscale/config.hpp>
#include <libscale/kpa.hpp>
#include <libscale/oracle_policy.hpp>
#include <libscale/scaling_policy.hpp>
#include <libscale/time.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace scale::sim {

/// Samples a duration (cold start, service or think time) from the simulation's engine; the CLI builds it from
/// the distribution syntax. It must not keep a reference to the engine.
using duration_sampler = std::function<duration(std::mt19937_64&)>;

/// Cold start used when `simulation_config::cold_start` is empty: a constant 3 s (pod scheduled, image cached,
/// container started, first readiness probe passed).
inline constexpr duration default_cold_start = std::chrono::seconds{3};

/// How the service looks at time 0.
enum class start_state {
  /// Scaled to zero long ago: no pod, PA Inactive, activator in the path, decider at 0.
  idle,
  /// Just deployed: `revision.initial_scale` pods, ready at time 0; PA Activating, decider without data yet.
  deployed,
};

/// A request starting or ending service on a pod, as a `simulation_config::service_observer` sees it.
struct service_event {
  time_point time{};
  /// The pod's slot; a slot is reused once its pod is gone.
  std::uint32_t pod = 0;
  /// Requests in service on that pod after the change.
  std::int32_t in_service = 0;
  /// True when service starts, false when it ends.
  bool started = false;

  bool operator==(const service_event&) const = default;
};

/// A scaling policy other than the simulator's own KPA loop (docs/policies.md), made afresh for every function.
struct policy_setup {
  /// Its name in reports (`--policy NAME`).
  std::string name;
  /// Makes one function's policy. `future` holds every request of that function (arrival and service time)
  /// when `needs_future` is true (the oracle), else it is empty.
  std::function<any_scaling_policy(std::span<const known_request> future)> make;
  /// The policy reads the future: the function's arrivals are read ahead (memory grows with its requests) and
  /// a closed-loop load is refused.
  bool needs_future = false;
};

/// Everything about the service being simulated.
struct simulation_config {
  /// Resolved per-revision autoscaling (libscale `resolve_revision`); the defaults are Knative's.
  revision_autoscaling revision;
  /// Hard per-pod limit on requests in service (the revision's containerConcurrency); 0 = unlimited. Give
  /// `resolve_revision` the same value so the autoscaling target agrees with it.
  std::int32_t container_concurrency = 0;
  /// Time from a pod's creation until it is ready, sampled per pod; empty = `default_cold_start`.
  duration_sampler cold_start;
  /// A request that has not started service this long after its arrival fails (Knative
  /// `revision-timeout-seconds`, default 300 s).
  duration revision_timeout = std::chrono::seconds{300};
  start_state start = start_state::idle;
  /// Hard stop: the run covers exactly [0, until]. Without it the run ends once every arrival is done and the
  /// service is back at its floor (min-scale, or 1 when scale to zero is disabled, else 0).
  std::optional<duration> until;
  /// Cluster-wide limit on pod creations per second (a token bucket holding one second's worth, at least one
  /// token, full at time 0); 0 = unlimited. `simulate` and `simulate_closed_loop` model a cluster running only
  /// this service; `simulate_cluster` shares one bucket between its functions.
  double pod_creation_rate_per_s = 0;
  /// Knative progress deadline (config-deployment, default 600 s); bounds how long the PA may stay Activating.
  duration progress_deadline = std::chrono::seconds{600};
  /// How long a pod being deleted stays around after it stopped taking requests: queue-proxy's drain quiet
  /// period (Knative `drainSleepDuration`, 30 s). The pod is gone once this has passed and its last request is
  /// done. 0 = gone as soon as it is empty.
  duration drain_quiet_period = std::chrono::seconds{30};
  /// Schedule no autoscaler ticks while the service is idle at zero (no pod, no request, empty metric windows)
  /// until the next arrival. The result and the timeline are identical either way; false ticks through.
  bool skip_idle_ticks = true;
  /// Called at every service start and end, for tests and diagnostics; empty = never called.
  std::function<void(const service_event&)> service_observer;
  /// The policy that sizes the service; nullopt = Knative's KPA as configured by `revision` (libscale's
  /// decider and reconciler in the simulator's own loop). With a policy, every request goes through the
  /// activator (held there while no pod has room), the policy's initial replicas are ready at time 0, pods to
  /// delete are picked idle ones first, and the `revision` settings other than the timeout are not used.
  std::optional<policy_setup> policy;
};

/// One phase of a closed-loop load: `users` virtual users for `length`.
struct closed_loop_phase {
  std::int64_t users = 0;
  duration length{};

  bool operator==(const closed_loop_phase&) const = default;
};

/// A closed-loop load: each user sends a request, waits for it to complete (or fail), thinks, and sends the
/// next. Phases follow each other from time 0; at a boundary users are added (they send at once) or removed
/// (a removed user finishes its request in flight and sends no more). No request is sent after the last phase.
struct closed_loop_workload {
  std::vector<closed_loop_phase> phases;
  /// Service time of each request; empty = 0.
  duration_sampler service_time;
  /// Pause between a completion and the user's next request; empty = 0.
  duration_sampler think_time;
  /// Least pause after a failed request (a 503 or a timeout), like a client backing off; with think time 0 a
  /// rejected user would otherwise retry at the same instant forever. Values below 1 ms count as 1 ms.
  duration failure_backoff = std::chrono::seconds{1};
};

/// Receives one row per periodic decider tick (every 2 s of model time, idle stretches included), in time order.
using timeline_sink = std::function<void(const timeline_row&)>;

/// Runs one function's open-loop `arrivals` (pulled one at a time, never loaded whole) through the service.
/// The same arrivals, config and seed give the same result. `id` of the result is left empty for the caller.
function_result simulate(arrival_source& arrivals, const simulation_config& config, std::uint64_t seed,
                         const timeline_sink& timeline = {});

/// Runs a closed-loop load through the service; see `simulate`.
function_result simulate_closed_loop(const closed_loop_workload& workload, const simulation_config& config,
                                     std::uint64_t seed, const timeline_sink& timeline = {});

/// Runs one function through several services (one per config, e.g. one per scaling policy), each on its own
/// stream from `open()` (the same arrivals each time) and `seed`, billed over one span: each runs to its natural
/// end, then those that ended before the latest natural end E run on to it. Each result is exactly
/// `simulate(*open(), config, seed)` with `until` = E in whole nanoseconds (E taken as double seconds); a config
/// with its own `until` runs as `simulate` runs it. One pass, where running again from time 0 would be two.
std::vector<function_result> simulate_to_common_end(const std::function<std::unique_ptr<arrival_source>()>& open,
                                                    std::span<const simulation_config> configs, std::uint64_t seed);

/// One function of a `simulate_cluster` run.
struct cluster_function {
  /// Its open-loop arrivals, pulled one at a time; null = no arrival. Must outlive the call.
  arrival_source* arrivals = nullptr;
  /// Its seed, as `simulate` takes it.
  std::uint64_t seed = 0;
  /// Receives its timeline rows; empty = none.
  timeline_sink timeline;
};

/// Runs several functions, each its own service with `config`, in one event loop on this thread, so that they
/// share one cluster-wide pod-creation token bucket (`config.pod_creation_rate_per_s`). Creations waiting for a
/// token are served first come, first served over the whole cluster: by the time each was asked for, at the same
/// instant by function index; a function that no longer wants a waiting creation drops its most recent ask.
/// Events of different functions at the same instant run in function index order. Results come back in the
/// order of `functions`, ids left empty. With rate 0, or with a single function, each result and timeline is
/// exactly what `simulate(*arrivals, config, seed, timeline)` gives.
std::vector<function_result> simulate_cluster(std::span<const cluster_function> functions,
                                              const simulation_config& config);

/// The KPA reconciler's inputs for `config` (what `simulate` hands to libscale's `reconcile`).
kpa_spec make_kpa_spec(const simulation_config& config);

/// The number of pods the service settles at without traffic: min-scale, raised to 1 when scale to zero is
/// disabled.
std::int32_t scale_floor(const revision_autoscaling& revision);

}  // namespace scale::sim
