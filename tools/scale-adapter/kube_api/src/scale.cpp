#include <kube/scale.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <limits>

namespace scale::kube {
namespace {

using json = nlohmann::json;

// A Kubernetes name segment: lowercase alphanumerics, '-' and '.' (DNS subdomain / label characters).
bool dns_name(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (const char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  return s != "." && s != "..";
}

// An int32 member at a JSON pointer; `missing` when absent or null.
result<std::int32_t> read_int32(const json& doc, const char* pointer, std::int32_t missing) {
  const json::json_pointer p(pointer);
  if (!doc.contains(p) || doc.at(p).is_null()) return missing;
  const json& v = doc.at(p);
  if (!v.is_number_integer()) return error{fmt::format("scale: {} is not an integer", pointer + 1)};
  const auto value = v.get<std::int64_t>();
  if (value < 0 || value > std::numeric_limits<std::int32_t>::max())
    return error{fmt::format("scale: {} = {}, must be in [0, 2147483647] range", pointer + 1, value)};
  return static_cast<std::int32_t>(value);
}

}  // namespace

result<std::string> resource_for_kind(std::string_view kind) {
  if (kind == "Deployment") return std::string("deployments");
  if (kind == "StatefulSet") return std::string("statefulsets");
  if (kind == "ReplicaSet") return std::string("replicasets");
  return error{fmt::format("kind = \"{}\", must be Deployment, StatefulSet or ReplicaSet; give the plural "
                           "resource name for other kinds",
                           kind)};
}

result<std::string> scale_path(std::string_view namespace_name, const target_ref& target) {
  if (!dns_name(namespace_name)) return error{fmt::format("namespace = \"{}\", must be a DNS name", namespace_name)};
  if (!dns_name(target.name)) return error{fmt::format("name = \"{}\", must be a DNS name", target.name)};
  if (!dns_name(target.resource))
    return error{fmt::format("resource = \"{}\", must be a lowercase plural resource name", target.resource)};
  const auto slash = target.api_version.find('/');
  if (slash == std::string::npos) {
    if (target.api_version != "v1")
      return error{fmt::format("apiVersion = \"{}\", must be group/version or v1", target.api_version)};
    return fmt::format("/api/v1/namespaces/{}/{}/{}/scale", namespace_name, target.resource, target.name);
  }
  const std::string_view group = std::string_view(target.api_version).substr(0, slash);
  const std::string_view version = std::string_view(target.api_version).substr(slash + 1);
  if (!dns_name(group) || !dns_name(version))
    return error{fmt::format("apiVersion = \"{}\", must be group/version", target.api_version)};
  return fmt::format("/apis/{}/{}/namespaces/{}/{}/{}/scale", group, version, namespace_name, target.resource,
                     target.name);
}

result<scale_info> parse_scale(std::string_view text) {
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return error{"scale: body is not valid JSON"};
  if (!doc.is_object()) return error{"scale: body is not a JSON object"};
  if (const auto kind = doc.find("kind"); kind != doc.end() && *kind != "Scale")
    return error{"scale: kind is not \"Scale\""};
  for (const char* member : {"spec", "status", "metadata"}) {
    const auto it = doc.find(member);
    if (it != doc.end() && !it->is_object() && !it->is_null())
      return error{fmt::format("scale: {} is not an object", member)};
  }
  scale_info out;
  // §1.2: spec.replicas is omitempty, so `"spec":{}` means 0 (observed), never "unknown".
  auto replicas = read_int32(doc, "/spec/replicas", 0);
  if (!replicas) return replicas.error_value();
  out.replicas = *replicas;
  auto status_replicas = read_int32(doc, "/status/replicas", 0);
  if (!status_replicas) return status_replicas.error_value();
  out.status_replicas = *status_replicas;
  const json::json_pointer selector("/status/selector");
  if (doc.contains(selector) && !doc.at(selector).is_null()) {
    if (!doc.at(selector).is_string()) return error{"scale: status.selector is not a string"};
    out.selector = doc.at(selector).get<std::string>();
  }
  const json::json_pointer rv("/metadata/resourceVersion");
  if (doc.contains(rv) && !doc.at(rv).is_null()) {
    if (!doc.at(rv).is_string()) return error{"scale: metadata.resourceVersion is not a string"};
    out.resource_version = doc.at(rv).get<std::string>();
  }
  return out;
}

std::string_view patch_content_type(patch_kind kind) {
  return kind == patch_kind::json_patch ? "application/json-patch+json" : "application/merge-patch+json";
}

std::string replicas_patch_body(std::int32_t replicas, patch_kind kind) {
  // Written by hand: the exact documents of §1.3, with no way for an "unset" value to become `null`.
  if (kind == patch_kind::json_patch) return fmt::format(R"([{{"op":"add","path":"/spec/replicas","value":{}}}])", replicas);
  return fmt::format(R"({{"spec":{{"replicas":{}}}}})", replicas);
}

namespace {

api_result<scale_info> scale_from(const api_result<response>& r, std::string_view what) {
  if (!r) return r.error_value();
  auto parsed = parse_scale(r->body);
  if (!parsed) return local_error(fmt::format("{}: {}", what, parsed.error_value().message));
  return *parsed;
}

}  // namespace

api_result<scale_info> get_scale(http_client& client, std::string_view namespace_name, const target_ref& target) {
  auto path = scale_path(namespace_name, target);
  if (!path) return local_error(path.error_value().message);
  request req;
  req.path = *path;
  return scale_from(client.call(req), "GET " + *path);
}

api_result<scale_info> set_replicas(http_client& client, std::string_view namespace_name, const target_ref& target,
                                    std::int32_t replicas, patch_kind kind, bool dry_run) {
  if (replicas < 0) return local_error(fmt::format("replicas = {}, must be >= 0", replicas));
  auto path = scale_path(namespace_name, target);
  if (!path) return local_error(path.error_value().message);
  request req;
  req.method = "PATCH";
  req.path = *path;
  req.content_type = std::string(patch_content_type(kind));
  req.body = replicas_patch_body(replicas, kind);
  if (dry_run) req.query.emplace_back("dryRun", "All");  // §1.6
  req.query.emplace_back("fieldManager", "scale-adapter");
  return scale_from(client.call(req), "PATCH " + *path);
}

}  // namespace scale::kube
