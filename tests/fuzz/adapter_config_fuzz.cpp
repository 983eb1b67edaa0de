// libFuzzer target: scale-adapter's config file reader (tools/scale-adapter/app adapter/adapter_config.hpp:
// parse_adapter_config), which hands each target's `config:` and `annotations:` maps to libscale's own readers.
// The input is the YAML file. Every error names the source; an accepted config has at least one target, and
// every target's resolved revision keeps the bounds the controller relies on.
#include "fuzz_support.hpp"

#include <adapter/adapter_config.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scale;
  const auto config = adapter::parse_adapter_config(fuzz::as_text(data, size), "fuzz.yaml");
  if (!config) {
    LIBSCALE_FUZZ_CHECK(config.error_value().message.starts_with("fuzz.yaml"));
    return 0;
  }
  LIBSCALE_FUZZ_CHECK(!config->targets.empty());
  for (const auto& target : config->targets) {
    LIBSCALE_FUZZ_CHECK(target.revision.min_scale >= 0);
    LIBSCALE_FUZZ_CHECK(target.revision.max_scale == 0 || target.revision.min_scale <= target.revision.max_scale);
    LIBSCALE_FUZZ_CHECK(target.revision.target_value > 0);
  }
  return 0;
}
