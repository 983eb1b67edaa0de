#include "knative_yaml.hpp"

#include <fmt/format.h>

namespace scale::tools {
namespace {

std::string comment_lines(std::string_view comment) {
  std::string out;
  while (!comment.empty()) {
    const auto nl = comment.find('\n');
    const std::string_view line = comment.substr(0, nl);
    out += line.empty() ? "#\n" : fmt::format("# {}\n", line);
    if (nl == std::string_view::npos) break;
    comment.remove_prefix(nl + 1);
  }
  return out;
}

}  // namespace

std::string yaml_quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (b < 0x20 || b == 0x7F) {
      out += fmt::format("\\x{:02x}", b);
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string configmap_yaml(const string_map& data, std::string_view comment) {
  std::string out = comment_lines(comment);
  out +=
      "apiVersion: v1\n"
      "kind: ConfigMap\n"
      "metadata:\n"
      "  name: config-autoscaler\n"
      "  namespace: knative-serving\n";
  if (data.empty()) return out + "data: {}\n";
  out += "data:\n";
  for (const auto& [key, value] : data) out += fmt::format("  {}: {}\n", key, yaml_quote(value));
  return out;
}

std::string service_annotations_yaml(const string_map& annotations, std::string_view service_name,
                                     std::string_view comment) {
  std::string out = comment_lines(comment);
  out += fmt::format(
      "apiVersion: serving.knative.dev/v1\n"
      "kind: Service\n"
      "metadata:\n"
      "  name: {}\n"
      "spec:\n"
      "  template:\n"
      "    metadata:\n",
      service_name);
  if (annotations.empty()) return out + "      annotations: {}\n";
  out += "      annotations:\n";
  for (const auto& [key, value] : annotations) out += fmt::format("        {}: {}\n", key, yaml_quote(value));
  return out;
}

}  // namespace scale::tools
