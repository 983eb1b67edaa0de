#pragma once
// The Knative knobs every subcommand takes by their own names: a ConfigMap file, --set keys, annotations.

#include <libscale/config.hpp>
#include <libscale/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace scale::tools {

/// "KEY=VALUE" split at the first '='; `flag` names the option in the error.
result<std::pair<std::string, std::string>> split_assignment(std::string_view flag, std::string_view text);

/// An annotation key as given on the command line: a bare KEY means `autoscaling.knative.dev/KEY`.
std::string annotation_key(const std::string& key);

/// Where a revision's autoscaling comes from, in the order Knative applies it.
struct revision_flags {
  std::string config_file;               // config-autoscaler ConfigMap YAML, or empty
  std::vector<std::string> config_sets;  // --set KEY=VALUE over the file
  std::string annotations_file;          // a YAML map of annotations, or empty
  std::vector<std::string> annotations;  // --annotation KEY=VALUE; a bare KEY means autoscaling.knative.dev/KEY
  std::int32_t container_concurrency = 0;
};

/// Reads and validates everything; errors name the file, flag or key.
result<revision_autoscaling> resolve_revision_flags(const revision_flags& flags);

}  // namespace scale::tools
