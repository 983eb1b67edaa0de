// libFuzzer target: Go duration parsing (libscale/config.hpp: parse_go_duration, format_go_duration) and the
// simulator's duration text (sim/distribution.hpp: parse_duration_text, seconds_text). Whatever parses must
// format and parse back to the same value.
#include "fuzz_support.hpp"

#include <libscale/config.hpp>
#include <sim/distribution.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scale;
  const std::string_view input = fuzz::as_text(data, size);
  if (const auto d = parse_go_duration(input)) {
    const auto again = parse_go_duration(format_go_duration(*d));
    LIBSCALE_FUZZ_CHECK(again.has_value() && *again == *d);
  } else {
    LIBSCALE_FUZZ_CHECK(!d.error_value().message.empty());
  }
  if (const auto d = sim::parse_duration_text(input)) {
    const auto again = sim::parse_duration_text(sim::seconds_text(*d));
    LIBSCALE_FUZZ_CHECK(again.has_value() && *again == *d);
  }
  return 0;
}
