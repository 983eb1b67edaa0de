#include "policy_flags.hpp"

#include "revision_flags.hpp"

#include <sim/distribution.hpp>

#include <libscale/config.hpp>
#include <libscale/hpa_policy.hpp>
#include <libscale/hybrid_histogram_policy.hpp>
#include <libscale/keepalive_policy.hpp>
#include <libscale/oracle_policy.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

namespace scale::tools {
namespace {

using namespace std::chrono_literals;

/// One knob: reads VALUE into the spec, or says what was expected.
template <class Spec>
using knob_setter = std::function<std::optional<std::string>(Spec&, std::string_view)>;

template <class Spec>
knob_setter<Spec> duration_knob(duration Spec::*field, duration least) {
  return [field, least](Spec& spec, std::string_view text) -> std::optional<std::string> {
    auto d = sim::parse_duration_text(text);
    if (!d || *d < least) {
      return least > 0s ? "a duration above 0, like 10m or 30s" : "a duration of at least 0, like 10m or 30s";
    }
    spec.*field = *d;
    return std::nullopt;
  };
}

template <class Spec>
knob_setter<Spec> number_knob(double Spec::*field, double lowest, double highest) {
  return [=](Spec& spec, std::string_view text) -> std::optional<std::string> {
    auto v = detail::parse_go_float(text);
    if (!v || !std::isfinite(*v) || *v < lowest || *v > highest) {
      return fmt::format("a number from {} to {}", lowest, highest);
    }
    spec.*field = *v;
    return std::nullopt;
  };
}

template <class Spec>
knob_setter<Spec> integer_knob(std::int32_t Spec::*field, std::int32_t lowest, std::int32_t highest) {
  return [=](Spec& spec, std::string_view text) -> std::optional<std::string> {
    auto v = detail::parse_go_float(text);
    if (!v || *v != std::floor(*v) || *v < lowest || *v > highest) {
      return fmt::format("a whole number from {} to {}", lowest, highest);
    }
    spec.*field = static_cast<std::int32_t>(*v);
    return std::nullopt;
  };
}

template <class Spec>
knob_setter<Spec> bool_knob(bool Spec::*field) {
  return [=](Spec& spec, std::string_view text) -> std::optional<std::string> {
    if (text == "true") {
      spec.*field = true;
    } else if (text == "false") {
      spec.*field = false;
    } else {
      return std::string{"true or false"};
    }
    return std::nullopt;
  };
}

/// Applies `NAME.KEY=VALUE` knobs of policy `name` to `spec`; an unknown KEY lists the known ones.
template <class Spec>
std::optional<error> apply_knobs(std::string_view name, const std::vector<std::pair<std::string, std::string>>& knobs,
                                 const std::map<std::string, knob_setter<Spec>, std::less<>>& table, Spec& spec) {
  for (const auto& [key, value] : knobs) {
    const auto it = table.find(key);
    if (it == table.end()) {
      std::string known;
      for (const auto& entry : table) known += fmt::format("{}{}.{}", known.empty() ? "" : ", ", name, entry.first);
      return error{fmt::format("--set {}.{}: unknown knob of policy {} (known: {})", name, key, name, known)};
    }
    if (auto expected = it->second(spec, value)) {
      return error{fmt::format("--set {}.{}={}: expected {}", name, key, value, *expected)};
    }
  }
  return std::nullopt;
}

const std::map<std::string, knob_setter<keepalive_spec>, std::less<>>& keepalive_knobs() {
  static const std::map<std::string, knob_setter<keepalive_spec>, std::less<>> table{
      {"idle", duration_knob(&keepalive_spec::idle, 0s)},
  };
  return table;
}

const std::map<std::string, knob_setter<hpa_spec>, std::less<>>& hpa_knobs() {
  constexpr std::int32_t most = 1'000'000;
  static const std::map<std::string, knob_setter<hpa_spec>, std::less<>> table{
      {"target", number_knob(&hpa_spec::target, 1e-9, 1e9)},
      {"tolerance", number_knob(&hpa_spec::tolerance, 0, 1)},
      {"sync", duration_knob(&hpa_spec::sync_period, 1ms)},
      {"min", integer_knob(&hpa_spec::min_replicas, 0, most)},
      {"max", integer_knob(&hpa_spec::max_replicas, 0, most)},
      {"scale_to_zero", bool_knob(&hpa_spec::scale_to_zero)},
      {"activate", bool_knob(&hpa_spec::activate_on_arrival)},
      {"up_window", duration_knob(&hpa_spec::up_window, 0s)},
      {"up_percent", integer_knob(&hpa_spec::up_percent, 0, most)},
      {"up_pods", integer_knob(&hpa_spec::up_pods, 0, most)},
      {"up_period", duration_knob(&hpa_spec::up_period, 1ms)},
      {"down_window", duration_knob(&hpa_spec::down_window, 0s)},
      {"down_percent", integer_knob(&hpa_spec::down_percent, 0, most)},
      {"down_period", duration_knob(&hpa_spec::down_period, 1ms)},
  };
  return table;
}

const std::map<std::string, knob_setter<hybrid_spec>, std::less<>>& hybrid_knobs() {
  static const std::map<std::string, knob_setter<hybrid_spec>, std::less<>> table{
      {"bin", duration_knob(&hybrid_spec::bin, 1ms)},
      {"range", duration_knob(&hybrid_spec::range, 1ms)},
      {"head", number_knob(&hybrid_spec::head_percent, 0, 100)},
      {"tail", number_knob(&hybrid_spec::tail_percent, 0, 100)},
      {"margin", number_knob(&hybrid_spec::margin, 0, 0.99)},
      {"cv", number_knob(&hybrid_spec::cv_threshold, 0, 1e6)},
      {"oob", number_knob(&hybrid_spec::oob_share, 0, 1)},
      {"min_samples", integer_knob(&hybrid_spec::min_samples, 1, 1'000'000)},
      {"fallback", duration_knob(&hybrid_spec::fallback, 0s)},
      {"unrepresentative",
       [](hybrid_spec& spec, std::string_view text) -> std::optional<std::string> {
         if (text == "keepalive") {
           spec.unrepresentative = hybrid_unrepresentative::keepalive;
         } else if (text == "forecast") {
           spec.unrepresentative = hybrid_unrepresentative::forecast;
         } else {
           return std::string{"keepalive or forecast"};
         }
         return std::nullopt;
       }},
      {"forecast_margin", number_knob(&hybrid_spec::forecast_margin, 0, 0.99)},
      {"ar_order", integer_knob(&hybrid_spec::ar_order, 1, 16)},
      {"history", integer_knob(&hybrid_spec::history, 2, 100'000)},
  };
  return table;
}

const std::map<std::string, knob_setter<oracle_spec>, std::less<>>& oracle_knobs() {
  static const std::map<std::string, knob_setter<oracle_spec>, std::less<>> table{
      {"cold_start", duration_knob(&oracle_spec::cold_start, 0s)},
      {"drain", duration_knob(&oracle_spec::drain, 0s)},
  };
  return table;
}

}  // namespace

result<split_sets> split_set_flags(const std::vector<std::string>& sets) {
  split_sets out;
  for (const std::string& set : sets) {
    auto kv = split_assignment("--set", set);
    if (!kv) return kv.error_value();
    const auto dot = kv->first.find('.');
    if (dot == std::string::npos) {
      out.config_sets.push_back(set);
      continue;
    }
    const std::string policy = kv->first.substr(0, dot);
    if (std::find(policy_names.begin(), policy_names.end(), policy) == policy_names.end()) {
      return error{fmt::format("--set {}: {} is not a policy (expected KEY=VALUE for config-autoscaler, or "
                               "POLICY.KEY=VALUE with POLICY one of kpa, hpa, keepalive, hybrid, oracle)",
                               set, policy)};
    }
    // kpa.KEY is config-autoscaler's KEY: the KPA's knobs are Knative's own.
    if (policy == "kpa") {
      out.config_sets.push_back(set.substr(dot + 1));
    } else {
      out.policy_knobs.push_back(set);
    }
  }
  return out;
}

bool one_request_per_pod(std::string_view policy) {
  return policy == "keepalive" || policy == "hybrid" || policy == "oracle";
}

result<std::optional<sim::policy_setup>> make_policy(std::string_view name, const std::vector<std::string>& knobs,
                                                     const std::vector<std::string>& known,
                                                     const sim::simulation_config& base,
                                                     std::string_view cold_start_text) {
  if (std::find(policy_names.begin(), policy_names.end(), name) == policy_names.end()) {
    return error{fmt::format("policy {}: unknown (expected one of kpa, hpa, keepalive, hybrid, oracle)", name)};
  }
  std::vector<std::pair<std::string, std::string>> own;
  for (const std::string& knob : knobs) {
    auto kv = split_assignment("--set", knob);
    if (!kv) return kv.error_value();
    const auto dot = kv->first.find('.');
    const std::string policy = kv->first.substr(0, dot);
    if (std::find(known.begin(), known.end(), policy) == known.end()) {
      return error{fmt::format("--set {}: policy {} is not being run", knob, policy)};
    }
    if (policy == name) own.emplace_back(kv->first.substr(dot + 1), kv->second);
  }
  if (name == "kpa") return std::optional<sim::policy_setup>{};

  sim::policy_setup setup;
  setup.name = std::string{name};
  if (name == "keepalive") {
    keepalive_spec spec;
    if (auto e = apply_knobs("keepalive", own, keepalive_knobs(), spec)) return *e;
    setup.make = [spec](std::span<const known_request>) { return any_scaling_policy{keepalive_policy{spec}}; };
  } else if (name == "hpa") {
    hpa_spec spec;
    // Aim where the KPA would for the same revision (its target per pod: 70 by default, 0.7 at concurrency 1).
    if (base.revision.target_value > 0) spec.target = base.revision.target_value;
    if (auto e = apply_knobs("hpa", own, hpa_knobs(), spec)) return *e;
    if (auto valid = validate_hpa_spec(spec); !valid) return error{"--set " + valid.error_value().message};
    setup.make = [spec](std::span<const known_request>) { return any_scaling_policy{hpa_policy{spec}}; };
  } else if (name == "hybrid") {
    hybrid_spec spec;
    if (auto e = apply_knobs("hybrid", own, hybrid_knobs(), spec)) return *e;
    if (spec.range < spec.bin || spec.range / spec.bin > 1'000'000) {
      return error{"--set hybrid.range: must hold between 1 and 1000000 bins of hybrid.bin"};
    }
    if (spec.head_percent >= spec.tail_percent) {
      return error{fmt::format("--set hybrid.head={}: must be below hybrid.tail ({})", spec.head_percent,
                               spec.tail_percent)};
    }
    if (spec.history <= spec.ar_order) {
      return error{fmt::format("--set hybrid.history={}: must exceed hybrid.ar_order ({})", spec.history,
                               spec.ar_order)};
    }
    setup.make = [spec](std::span<const known_request>) { return any_scaling_policy{hybrid_histogram_policy{spec}}; };
  } else {
    oracle_spec spec;
    spec.drain = base.drain_quiet_period;
    bool cold_given = false;
    for (const auto& kv : own) cold_given = cold_given || kv.first == "cold_start";
    if (!cold_given) {
      // The bound holds for a constant cold start: take the run's when it is one.
      auto cold = sim::parse_distribution(cold_start_text);
      if (!cold || cold->which() != sim::distribution::kind::constant) {
        return error{fmt::format("policy oracle: --cold-start {} is not a constant; set oracle.cold_start",
                                 cold_start_text)};
      }
      spec.cold_start = std::chrono::duration_cast<duration>(std::chrono::duration<double>(cold->mean_s()));
    }
    if (auto e = apply_knobs("oracle", own, oracle_knobs(), spec)) return *e;
    setup.needs_future = true;
    setup.make = [spec](std::span<const known_request> future) { return any_scaling_policy{oracle_policy{future, spec}}; };
  }
  return std::optional<sim::policy_setup>{std::move(setup)};
}

}  // namespace scale::tools
