#pragma once
// Ready-to-apply Knative YAML for a set of autoscaling values: the `config-autoscaler` ConfigMap and a Service
// template carrying the same values as `autoscaling.knative.dev/*` annotations.

#include <libscale/config.hpp>

#include <string>
#include <string_view>

namespace scale::tools {

/// A YAML double-quoted scalar: `"` and `\` escaped, control characters as \xNN.
std::string yaml_quote(std::string_view text);

/// The `config-autoscaler` ConfigMap in namespace knative-serving with `data` (keys sorted, values quoted, as
/// Knative's own config/core/configmaps/autoscaler.yaml writes them). `comment` lines, if any, head the file as
/// `# ` comments.
std::string configmap_yaml(const string_map& data, std::string_view comment = {});

/// A Knative Service snippet (serving.knative.dev/v1) named `service_name` whose revision template carries
/// `annotations` (full names, sorted, values quoted). `comment` lines head the file as `# ` comments.
std::string service_annotations_yaml(const string_map& annotations, std::string_view service_name,
                                     std::string_view comment = {});

}  // namespace scale::tools
