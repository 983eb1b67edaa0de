#pragma once
/// Which averaging a revision's metric windows use (annotation `autoscaling.knative.dev/metric-aggregation-algorithm`).

namespace scale {

/// Knative `autoscaling.MetricAggregationAlgorithm*`: the plain linear average (the default) or the
/// opt-in weighted-exponential one.
enum class window_algorithm { linear, weighted_exponential };

}  // namespace scale
