#pragma once
// `--policy NAME` and `--set NAME.KEY=VALUE`: which scaling policy sizes the simulated service, and its knobs
// (docs/policies.md lists them).

#include <sim/simulation.hpp>

#include <libscale/result.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace scale::tools {

/// The names `--policy` and `--policies` take, in the order `compare` lists them by default.
inline const std::vector<std::string> policy_names{"kpa", "hpa", "keepalive", "hybrid", "oracle"};

/// `--set` values split by their form: `KEY=VALUE` is a config-autoscaler key, `NAME.KEY=VALUE` a policy knob
/// (`kpa.KEY=VALUE` is the config-autoscaler key KEY).
struct split_sets {
  std::vector<std::string> config_sets;
  std::vector<std::string> policy_knobs;
};
result<split_sets> split_set_flags(const std::vector<std::string>& sets);

/// Whether `policy` sends one request to a pod at a time (keepalive, hybrid, oracle: Lambda-like).
bool one_request_per_pod(std::string_view policy);

/// The policy `name` with the knobs of `knobs` that are its own (`NAME.KEY=VALUE`); knobs of policies not in
/// `known` are an error, and so is a bad value. `base` is the run's config: the oracle takes its cold start
/// (when constant) and drain from it unless its knobs say otherwise. `kpa` gives nullopt (the simulator's own
/// KPA loop).
result<std::optional<sim::policy_setup>> make_policy(std::string_view name, const std::vector<std::string>& knobs,
                                                     const std::vector<std::string>& known,
                                                     const sim::simulation_config& base,
                                                     std::string_view cold_start_text);

}  // namespace scale::tools
