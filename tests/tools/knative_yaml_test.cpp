// Knative YAML for a recommendation, and that it reads back through libscale's own config reader.
#include "knative_yaml.hpp"

#include "tune_space.hpp"

#include <libscale/configmap_yaml.hpp>

#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

TEST_CASE("knative yaml: the ConfigMap and the Service snippet, byte for byte") {
  const scale::string_map data = {{"stable-window", "1m30s"}, {"container-concurrency-target-default", "12.5"}};
  CHECK(scale::tools::configmap_yaml(data, "tuned\nby scalesim") ==
        "# tuned\n"
        "# by scalesim\n"
        "apiVersion: v1\n"
        "kind: ConfigMap\n"
        "metadata:\n"
        "  name: config-autoscaler\n"
        "  namespace: knative-serving\n"
        "data:\n"
        "  container-concurrency-target-default: \"12.5\"\n"
        "  stable-window: \"1m30s\"\n");
  CHECK(scale::tools::service_annotations_yaml({{"autoscaling.knative.dev/window", "1m30s"}}, "hello") ==
        "apiVersion: serving.knative.dev/v1\n"
        "kind: Service\n"
        "metadata:\n"
        "  name: hello\n"
        "spec:\n"
        "  template:\n"
        "    metadata:\n"
        "      annotations:\n"
        "        autoscaling.knative.dev/window: \"1m30s\"\n");
  CHECK(scale::tools::yaml_quote("a\"b\\c\n") == "\"a\\\"b\\\\c\\x0a\"");
}

TEST_CASE("knative yaml: both files read back through configmap_yaml and resolve to the same revision") {
  // Values that exercise every form: a fractional target, 1 % utilisation (written "0.01" in the ConfigMap), a
  // window with minutes, TBC -1, min-scale 1.
  const scale::tools::knob_values v{12.5, 1, 90, 10, 250, 45, 300, 1, 120, -1};
  // The ConfigMap route: config-autoscaler.yaml alone.
  const auto configmap = scale::read_configmap_data(scale::tools::configmap_yaml(scale::tools::configmap_entries(v)),
                                                    "config-autoscaler.yaml");
  REQUIRE(configmap.has_value());
  const auto config = scale::parse_autoscaler_config(*configmap);
  REQUIRE(config.has_value());
  const auto via_configmap = scale::resolve_revision(*config, {});
  REQUIRE(via_configmap.has_value());
  // The annotation route: the Service's annotations (taken out of the snippet and read as the bare map
  // `--annotations FILE` reads) over a config that has only the grace period, which has no annotation.
  const YAML::Node service = YAML::Load(
      scale::tools::service_annotations_yaml(scale::tools::annotation_entries(v), "my-service"));
  YAML::Emitter bare;
  bare << service["spec"]["template"]["metadata"]["annotations"];
  const auto annotations = scale::read_configmap_data(bare.c_str(), "annotations.yaml");
  REQUIRE(annotations.has_value());
  const auto grace_only = scale::parse_autoscaler_config({{"scale-to-zero-grace-period", "45s"}});
  REQUIRE(grace_only.has_value());
  const auto via_annotations = scale::resolve_revision(*grace_only, *annotations);
  REQUIRE(via_annotations.has_value());
  CHECK(*via_configmap == *via_annotations);
  // And the values are the ones asked for.
  CHECK(via_configmap->total_value == 12.5);
  CHECK(via_configmap->target_value == doctest::Approx(0.125));
  CHECK(via_configmap->stable_window == std::chrono::seconds{90});
  CHECK(via_configmap->panic_window == std::chrono::seconds{9});
  CHECK(via_configmap->panic_threshold == 2.5);
  CHECK(via_configmap->scale_to_zero_grace_period == std::chrono::seconds{45});
  CHECK(via_configmap->pod_retention == std::chrono::seconds{300});
  CHECK(via_configmap->min_scale == 1);
  CHECK(via_configmap->scale_down_delay == std::chrono::seconds{120});
  CHECK(via_configmap->target_burst_capacity == -1);
}
