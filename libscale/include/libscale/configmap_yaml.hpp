#pragma once
/// Reads the `data` of a Kubernetes ConfigMap (such as `config-autoscaler`) from YAML into a string_map.
/// This is an I/O boundary: it links yaml-cpp (`-lyaml-cpp`) and may read a file, and it never lets an
/// exception escape (yaml-cpp's exceptions become `result` errors).
///
/// Accepted documents (exactly one per text):
/// * a ConfigMap: a map with `kind: ConfigMap`; its `data` map is returned (absent or null `data` is empty);
///   `apiVersion`, `metadata` and any other top-level field are not looked at;
/// * a bare map of keys to values, recognised by having no `kind` key, for hand-written override files.
/// Every value must be a scalar: unquoted numbers and booleans become their text as written (`1.0` stays
/// "1.0"); null, a map or a sequence is an error naming the key and its line. Duplicate keys are errors.

#include <libscale/config.hpp>
#include <libscale/result.hpp>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace scale {

/// The `data:` map of the single ConfigMap in `yaml_text`, or the text itself when it is a bare key: value map.
/// Errors start with `source_name`, then the 1-based line where yaml-cpp knows it.
result<string_map> read_configmap_data(std::string_view yaml_text, std::string_view source_name);

/// Reads `file` and passes it to read_configmap_data; a file that cannot be read is an error naming it.
result<string_map> read_configmap_file(const std::filesystem::path& file);

namespace detail {

/// "source:line: " when the node knows its position, else "source: ".
inline std::string yaml_where(std::string_view source, const YAML::Mark& mark) {
  std::string where(source);
  // Appended piece by piece: `":" + std::to_string(...)` trips GCC 12's false -Wrestrict at -O3.
  if (!mark.is_null()) {
    where += ':';
    where += std::to_string(mark.line + 1);
  }
  where += ": ";
  return where;
}

inline std::string_view yaml_kind_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a sequence";
    case YAML::NodeType::Null: return "null";
    case YAML::NodeType::Scalar: return "a scalar";
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

/// Copies a map of scalars; in a bare map a nested `data` map gets a hint that `kind: ConfigMap` is missing.
inline result<string_map> yaml_scalar_map(const YAML::Node& map, std::string_view source, bool bare) {
  string_map out;
  for (const auto& entry : map) {
    // Copies: yaml-cpp's iterator hands out a temporary pair, so references into it would dangle.
    const YAML::Node key = entry.first;
    const YAML::Node value = entry.second;
    if (!key.IsScalar()) {
      return error{yaml_where(source, key.Mark()) + "keys must be scalars, got " + std::string(yaml_kind_name(key))};
    }
    const std::string& name = key.Scalar();
    if (!value.IsScalar()) {
      std::string message = yaml_where(source, key.Mark()) + "value of " + go_quote(name) +
                            " must be a string, got " + std::string(yaml_kind_name(value));
      if (bare && value.IsMap() && name == "data") message += " (is \"kind: ConfigMap\" missing?)";
      return error{std::move(message)};
    }
    if (!out.emplace(name, value.Scalar()).second) {
      return error{yaml_where(source, key.Mark()) + "duplicate key " + go_quote(name)};
    }
  }
  return out;
}

/// Receives a YAML document's events and keeps none: only counting documents.
struct ignore_yaml_events : YAML::EventHandler {
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

}  // namespace detail

inline result<string_map> read_configmap_data(std::string_view yaml_text, std::string_view source_name) {
  try {
    // Count documents with a bounded loop first: yaml-cpp 0.7's LoadAll never returns on some malformed input
    // (e.g. " a: 1\n,"; yaml-cpp issue #1040, fixed after 0.7).
    const std::string text(yaml_text);
    {
      std::istringstream in(text);
      YAML::Parser parser(in);
      detail::ignore_yaml_events ignore;
      int documents = 0;
      while (documents < 2 && parser.HandleNextDocument(ignore)) ++documents;
      if (documents != 1) {
        return error{std::string(source_name) + ": expected one YAML document, found " +
                     (documents == 0 ? std::string("0") : std::string("2 or more"))};
      }
    }
    const YAML::Node root = YAML::Load(text);
    if (!root.IsMap()) {
      return error{detail::yaml_where(source_name, root.Mark()) + "expected a ConfigMap or a key: value map, got " +
                   std::string(detail::yaml_kind_name(root))};
    }
    const YAML::Node kind = root["kind"];
    if (!kind) return detail::yaml_scalar_map(root, source_name, true);
    if (!kind.IsScalar() || kind.Scalar() != "ConfigMap") {
      const std::string shown = kind.IsScalar() ? detail::go_quote(kind.Scalar()) : std::string(detail::yaml_kind_name(kind));
      return error{detail::yaml_where(source_name, kind.Mark()) + "kind is " + shown + ", expected ConfigMap"};
    }
    const YAML::Node data = root["data"];
    if (!data || data.IsNull()) return string_map{};
    if (!data.IsMap()) {
      return error{detail::yaml_where(source_name, data.Mark()) + "data must be a map, got " +
                   std::string(detail::yaml_kind_name(data))};
    }
    return detail::yaml_scalar_map(data, source_name, false);
  } catch (const YAML::Exception& e) {
    return error{detail::yaml_where(source_name, e.mark) + e.msg};
  } catch (const std::exception& e) {
    return error{std::string(source_name) + ": " + e.what()};
  }
}

inline result<string_map> read_configmap_file(const std::filesystem::path& file) {
  try {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      const int code = errno;
      return error{"cannot read " + file.string() + ": " + std::generic_category().message(code)};
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return error{"cannot read " + file.string()};
    return read_configmap_data(text.str(), file.string());
  } catch (const std::exception& e) {
    return error{"cannot read " + file.string() + ": " + e.what()};
  }
}

}  // namespace scale
