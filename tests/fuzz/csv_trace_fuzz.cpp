// libFuzzer target: our CSV trace (sim/csv_trace.hpp), plus format detection on the same bytes
// (sim/trace_format.hpp). Accepted traces are streamed and checked (fuzz_support.hpp: check_trace).
#include "fuzz_support.hpp"

#include <sim/csv_trace.hpp>
#include <sim/trace_format.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scale;
  const fuzz::temp_file file(fuzz::as_text(data, size), "trace.csv");
  const auto format = sim::detect_trace_format(file.path());
  const auto t = sim::read_csv_trace(file.path());
  if (t) {
    // Anything our reader accepts starts with our exact header, so detection must agree.
    LIBSCALE_FUZZ_CHECK(format && *format == sim::trace_format::csv);
    fuzz::check_trace(*t);
  } else {
    LIBSCALE_FUZZ_CHECK(!t.error_value().message.empty());
  }
  return 0;
}
