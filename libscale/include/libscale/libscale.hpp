#pragma once
/// Everything in libscale's core, in one include. The ConfigMap file reader (configmap_yaml.hpp) is separate
/// because it needs yaml-cpp.

#include <libscale/config.hpp>          // config-autoscaler keys, annotations, per-revision resolution
#include <libscale/decider.hpp>         // the Scale step and the multiscaler status
#include <libscale/decider_spec.hpp>    // per-revision decider inputs
#include <libscale/kpa.hpp>             // the KPA reconciler: bounds, activity, scale to zero
#include <libscale/linear_window.hpp>   // linear time-bucketed average
#include <libscale/max_window.hpp>      // sliding maximum for scale-down delay
#include <libscale/metric_collector.hpp>  // per-pod stats to revision totals
#include <libscale/observed_values.hpp> // stable/panic averages
#include <libscale/result.hpp>          // value-or-error
#include <libscale/time.hpp>            // model time
#include <libscale/weighted_window.hpp> // weighted-exponential average
#include <libscale/window_algorithm.hpp>  // linear or weighted-exponential
