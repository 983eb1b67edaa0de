#pragma once
/// The per-revision inputs of the scale decision (Knative `scaling.DeciderSpec`).

#include <chrono>
#include <cstdint>

namespace scale {

/// Which metric drives the decision (annotation `autoscaling.knative.dev/metric`).
enum class scaling_metric { concurrency, rps };

/// Knative `pkg/autoscaler/scaling/multiscaler.go: DeciderSpec`; defaults are what the default
/// `config-autoscaler` resolves to for a concurrency revision with containerConcurrency 0.
struct decider_spec {
  double max_scale_up_rate = 1000.0;
  double max_scale_down_rate = 2.0;
  scaling_metric metric = scaling_metric::concurrency;
  /// What the autoscaler aims for per pod (total × utilisation).
  double target_value = 70.0;
  /// What one pod can take at most (containerConcurrency, or the target default).
  double total_value = 100.0;
  /// -1 keeps the activator always in the path; 0 never (except at zero).
  double target_burst_capacity = 211.0;
  double activator_capacity = 100.0;
  /// A ratio: panic when desired panic pods / ready pods reaches it (200 % → 2.0).
  double panic_threshold = 2.0;
  std::chrono::nanoseconds stable_window = std::chrono::seconds{60};
  std::chrono::nanoseconds scale_down_delay{0};
  std::int32_t initial_scale = 1;
  bool reachable = true;
  /// Minimum non-zero scale; only values above 1 have an effect.
  std::int32_t activation_scale = 0;

  bool operator==(const decider_spec&) const = default;
};

}  // namespace scale
