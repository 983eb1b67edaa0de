#include "revision_flags.hpp"

#include <libscale/configmap_yaml.hpp>

#include <fmt/format.h>

namespace scale::tools {

result<std::pair<std::string, std::string>> split_assignment(std::string_view flag, std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return error{fmt::format("{} {}: expected KEY=VALUE", flag, text)};
  }
  return std::pair{std::string{text.substr(0, eq)}, std::string{text.substr(eq + 1)}};
}

std::string annotation_key(const std::string& key) {
  return key.find('/') == std::string::npos ? std::string{knative::annotation_prefix} + key : key;
}

result<revision_autoscaling> resolve_revision_flags(const revision_flags& flags) {
  string_map data;
  if (!flags.config_file.empty()) {
    auto read = read_configmap_file(flags.config_file);
    if (!read) return read.error_value();
    data = std::move(read).value();
    // Check the file on its own first, so an error in it names the file.
    if (auto alone = parse_autoscaler_config(data); !alone) {
      return error{fmt::format("{}: {}", flags.config_file, alone.error_value().message)};
    }
  }
  for (const auto& text : flags.config_sets) {
    auto kv = split_assignment("--set", text);
    if (!kv) return kv.error_value();
    data[kv->first] = kv->second;
  }
  auto config = parse_autoscaler_config(data);
  if (!config) {
    return flags.config_sets.empty() ? config.error_value()
                                     : error{fmt::format("--set: {}", config.error_value().message)};
  }

  string_map annotations;
  if (!flags.annotations_file.empty()) {
    auto read = read_configmap_file(flags.annotations_file);
    if (!read) return read.error_value();
    for (const auto& [key, value] : *read) annotations[annotation_key(key)] = value;
  }
  for (const auto& text : flags.annotations) {
    auto kv = split_assignment("--annotation", text);
    if (!kv) return kv.error_value();
    annotations[annotation_key(kv->first)] = kv->second;
  }
  if (flags.container_concurrency < 0) {
    return error{fmt::format("--container-concurrency = {}: must be >= 0", flags.container_concurrency)};
  }
  return resolve_revision(*config, annotations, flags.container_concurrency);
}

}  // namespace scale::tools
