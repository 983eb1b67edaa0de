#pragma once
/// The scale subresource of any scalable kind (Deployment, StatefulSet, ReplicaSet, a CRD that declares one):
/// read the `autoscaling/v1` Scale, write `spec.replicas` as a JSON or merge patch. cluster-adapter.md §1.

#include <cstdint>
#include <string>
#include <string_view>

#include <kube/api_status.hpp>
#include <kube/http_client.hpp>

namespace scale::kube {

/// What to scale: `apps/v1` + `deployments` + name; the path is built from group/version/resource, so no
/// kind is hard-coded (§1.1, Knative scaler.go applyScale).
struct target_ref {
  /// "apps/v1", "v1" (core group), "example.com/v1alpha1".
  std::string api_version = "apps/v1";
  /// Lowercase plural resource: "deployments", "statefulsets", a CRD's plural.
  std::string resource = "deployments";
  std::string name;

  bool operator==(const target_ref&) const = default;
};

/// The resource of a built-in scalable kind ("Deployment" → "deployments", StatefulSet, ReplicaSet); other
/// kinds are an error asking for the plural resource name (a CRD's plural cannot be guessed).
result<std::string> resource_for_kind(std::string_view kind);

/// `/apis/{group}/{version}/namespaces/{ns}/{resource}/{name}/scale` (`/api/v1/...` for the core group); an
/// error when a segment is empty or not a DNS-style name (no '/', '?', '%' can sneak into the path).
result<std::string> scale_path(std::string_view namespace_name, const target_ref& target);

/// The fields of a Scale the adapter uses.
struct scale_info {
  /// spec.replicas; a missing field is 0 (omitempty at zero, §1.2 observed).
  std::int32_t replicas = 0;
  /// status.replicas: pods the workload controller sees.
  std::int32_t status_replicas = 0;
  /// status.selector, unchanged (pass as labelSelector=, §1.2); empty when the scale has none.
  std::string selector;
  /// metadata.resourceVersion: opaque, compare for equality only (§1.4).
  std::string resource_version;

  bool operator==(const scale_info&) const = default;
};

/// Parses a Scale body (§1.2); errors name the field and what was expected.
result<scale_info> parse_scale(std::string_view json);

/// Which patch document sets the replicas (§1.3; both observed to work on the scale subresource).
enum class patch_kind {
  /// `[{"op":"add","path":"/spec/replicas","value":N}]`, application/json-patch+json (Knative KPA).
  json_patch,
  /// `{"spec":{"replicas":N}}`, application/merge-patch+json (kubectl scale).
  merge_patch,
};

/// The Content-Type of a patch kind.
std::string_view patch_content_type(patch_kind kind);
/// The exact patch body that sets spec.replicas to `replicas` (never a null, §1.3).
std::string replicas_patch_body(std::int32_t replicas, patch_kind kind);

/// GET the target's scale.
api_result<scale_info> get_scale(http_client& client, std::string_view namespace_name, const target_ref& target);

/// PATCH the target's spec.replicas to `replicas` with `fieldManager=scale-adapter` (and `dryRun=All` when
/// asked: nothing is stored, §1.6); returns the Scale the server answered. `replicas` < 0 is refused here.
api_result<scale_info> set_replicas(http_client& client, std::string_view namespace_name, const target_ref& target,
                                    std::int32_t replicas, patch_kind kind, bool dry_run = false);

}  // namespace scale::kube
