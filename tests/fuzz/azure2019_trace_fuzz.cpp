// libFuzzer target: the Azure 2019 reader (sim/azure2019_trace.hpp). The input is the invocations file, a line
// `%%`, then the durations file; the first byte picks the minute expansion. Accepted traces are streamed and
// checked (fuzz_support.hpp: check_trace).
#include "fuzz_support.hpp"

#include <sim/azure2019_trace.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scale;
  if (size == 0) return 0;
  constexpr sim::minute_expansion modes[] = {sim::minute_expansion::uniform, sim::minute_expansion::poisson,
                                             sim::minute_expansion::equal};
  const auto mode = modes[data[0] % 3];
  const auto [invocations, durations] = fuzz::split_once(fuzz::as_text(data + 1, size - 1), "\n%%\n");
  const fuzz::temp_file invocations_file(invocations, "invocations.csv");
  const fuzz::temp_file durations_file(durations, "durations.csv");
  const auto t = sim::read_azure2019_trace(invocations_file.path(), durations_file.path(), mode);
  if (t) {
    fuzz::check_trace(*t);
  } else {
    LIBSCALE_FUZZ_CHECK(!t.error_value().message.empty());
  }
  return 0;
}
