// libFuzzer target: the distribution syntax and the empirical quantile file (sim/distribution.hpp).
// Input starting with a line `%%`: the rest is a quantile file, read through `empirical:FILE`. Otherwise the
// input is a distribution text (one that names a file is skipped: the fuzzer must not read arbitrary paths).
// Every accepted distribution must sample within [0, 9.2e9 s], have a finite mean >= 0, and its text() must
// parse back to the same text.
#include "fuzz_support.hpp"

#include <sim/distribution.hpp>

#include <cmath>
#include <random>

namespace {

void check_distribution(const scale::sim::distribution& d) {
  using namespace scale;
  std::mt19937_64 engine(7);
  for (int i = 0; i < 16; ++i) {
    const duration s = d.sample(engine);
    LIBSCALE_FUZZ_CHECK(s >= duration::zero());
    LIBSCALE_FUZZ_CHECK(s <= std::chrono::seconds{9'200'000'000});
  }
  const double mean = d.mean_s();
  LIBSCALE_FUZZ_CHECK(std::isfinite(mean) && mean >= 0);
  if (d.which() != sim::distribution::kind::empirical) {
    const auto again = sim::parse_distribution(d.text());
    LIBSCALE_FUZZ_CHECK(again.has_value());
    LIBSCALE_FUZZ_CHECK(again->text() == d.text());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scale;
  const std::string_view input = fuzz::as_text(data, size);
  if (input.substr(0, 3) == "%%\n") {
    const fuzz::temp_file file(input.substr(3), "quantiles.csv");
    const auto d = sim::parse_distribution("empirical:" + file.path().string());
    if (d) check_distribution(*d);
    return 0;
  }
  if (input.find("empirical") != std::string_view::npos) return 0;
  const auto d = sim::parse_distribution(input);
  if (d) {
    check_distribution(*d);
  } else {
    LIBSCALE_FUZZ_CHECK(!d.error_value().message.empty());
  }
  return 0;
}
