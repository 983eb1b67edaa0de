// libFuzzer target: the ConfigMap YAML reader (libscale/configmap_yaml.hpp), then the config and annotation
// rules (libscale/config.hpp: parse_autoscaler_config, validate_annotations, resolve_revision,
// make_decider_spec). The map read is used both as config-autoscaler data and as a revision's annotations; the
// first byte is the revision's containerConcurrency. A resolved revision must satisfy Knative's ranges.
#include "fuzz_support.hpp"

#include <libscale/config.hpp>
#include <libscale/configmap_yaml.hpp>

#include <cmath>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scale;
  if (size == 0) return 0;
  const std::int32_t container_concurrency = data[0] % 8 == 0 ? 0 : data[0];
  const auto map = read_configmap_data(fuzz::as_text(data + 1, size - 1), "fuzz.yaml");
  if (!map) {
    LIBSCALE_FUZZ_CHECK(map.error_value().message.substr(0, 9) == "fuzz.yaml");
    return 0;
  }
  const auto parsed = parse_autoscaler_config(*map);
  const autoscaler_config config = parsed ? *parsed : autoscaler_config{};
  if (parsed) LIBSCALE_FUZZ_CHECK(validate_autoscaler_config(*parsed).has_value());
  const auto problems = validate_annotations(config, *map);
  const auto revision = resolve_revision(config, *map, container_concurrency);
  if (revision) {
    LIBSCALE_FUZZ_CHECK(!problems.has_value());
    LIBSCALE_FUZZ_CHECK(std::isfinite(revision->target_value) && revision->target_value >= knative::target_min);
    LIBSCALE_FUZZ_CHECK(revision->total_value >= revision->target_value);
    LIBSCALE_FUZZ_CHECK(revision->stable_window >= knative::window_min &&
                        revision->stable_window <= knative::window_max);
    LIBSCALE_FUZZ_CHECK(revision->panic_window >= knative::bucket_size &&
                        revision->panic_window <= revision->stable_window);
    LIBSCALE_FUZZ_CHECK(revision->min_scale >= 0);
    LIBSCALE_FUZZ_CHECK(revision->max_scale == 0 || revision->min_scale <= revision->max_scale);
    const decider_spec spec = make_decider_spec(*revision);
    LIBSCALE_FUZZ_CHECK(spec.target_value > 0 && spec.max_scale_up_rate > 1 && spec.max_scale_down_rate > 1);
  }
  return 0;
}
