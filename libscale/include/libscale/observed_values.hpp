#pragma once
/// What the metric windows report for one tick and the decider consumes.

namespace scale {

/// Stable-window and panic-window averages of one metric: revision totals, not per-pod values
/// (Knative `StableAndPanicConcurrency/RPS`).
struct observed_values {
  /// Average over the stable window.
  double stable = 0;
  /// Average over the panic window.
  double panic = 0;

  bool operator==(const observed_values&) const = default;
};

}  // namespace scale
