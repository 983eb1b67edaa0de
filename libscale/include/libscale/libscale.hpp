#pragma once
/// Everything in libscale's core, in one include. The ConfigMap file reader (configmap_yaml.hpp) is separate
/// because it needs yaml-cpp.

#include <libscale/config.hpp>          // config-autoscaler keys, annotations, per-revision resolution
#include <libscale/decider.hpp>         // the Scale step and the multiscaler status
#include <libscale/decider_spec.hpp>    // per-revision decider inputs
#include <libscale/hpa_policy.hpp>      // the Kubernetes HPA algorithm as a scaling policy
#include <libscale/hybrid_histogram_policy.hpp>  // Shahrad et al.'s hybrid histogram keep-alive
#include <libscale/keepalive_policy.hpp>  // fixed keep-alive, one pod per concurrent request
#include <libscale/kpa.hpp>             // the KPA reconciler: bounds, activity, scale to zero
#include <libscale/kpa_policy.hpp>      // the KPA (collector + decider + reconciler) as a scaling policy
#include <libscale/linear_window.hpp>   // linear time-bucketed average
#include <libscale/max_window.hpp>      // sliding maximum for scale-down delay
#include <libscale/metric_collector.hpp>  // per-pod stats to revision totals
#include <libscale/observed_values.hpp> // stable/panic averages
#include <libscale/oracle_policy.hpp>   // the lower bound: knows every future arrival
#include <libscale/result.hpp>          // value-or-error
#include <libscale/scaling_policy.hpp>  // the interface every policy meets
#include <libscale/time.hpp>            // model time
#include <libscale/weighted_window.hpp> // weighted-exponential average
#include <libscale/window_algorithm.hpp>  // linear or weighted-exponential
