// libFuzzer target: the Azure 2021 reader (sim/azure2021_trace.hpp). Accepted traces are streamed and checked
// (fuzz_support.hpp: check_trace).
#include "fuzz_support.hpp"

#include <sim/azure2021_trace.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scale;
  const fuzz::temp_file file(fuzz::as_text(data, size), "azure2021.csv");
  const auto t = sim::read_azure2021_trace(file.path());
  if (t) {
    fuzz::check_trace(*t);
  } else {
    LIBSCALE_FUZZ_CHECK(!t.error_value().message.empty());
  }
  return 0;
}
