// libFuzzer target: `scalesim decide` on arbitrary CSV (tools/scalesim/decide.hpp: run_decide), in-process with
// string streams. The first byte picks the input kind (samples or averages) and the tick; the rest is the CSV
// on standard input. Exit code 0 must come with no diagnostics, 1 with exactly one line on stderr.
#include "fuzz_support.hpp"

#include "decide.hpp"

#include <ios>
#include <sstream>
#include <streambuf>

namespace {

/// Output that gives up after `limit_bytes`: samples mode writes one row per tick up to the last sample's time,
/// so a single row at time_s = 1e9 asks for 5e8 rows. That is the documented behaviour, not a hang, and the
/// fuzzer only needs the first rows.
class bounded_buffer : public std::stringbuf {
 public:
  explicit bounded_buffer(std::size_t limit_bytes) : limit_(limit_bytes) {}
  struct full {};

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    written_ += static_cast<std::size_t>(n);
    if (written_ > limit_) throw full{};
    return std::stringbuf::xsputn(s, n);
  }
  int_type overflow(int_type c) override {
    if (++written_ > limit_) throw full{};
    return std::stringbuf::overflow(c);
  }

 private:
  std::size_t limit_;
  std::size_t written_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scale;
  if (size == 0) return 0;
  constexpr const char* ticks[] = {"2", "1", "0.5", "10"};
  tools::decide_options options;
  options.input = (data[0] & 1) != 0 ? "averages" : "samples";
  options.tick = ticks[(data[0] >> 1) % 4];
  std::istringstream in(std::string(fuzz::as_text(data + 1, size - 1)));
  bounded_buffer out_buffer(1 << 16);
  std::ostream out(&out_buffer);
  out.exceptions(std::ios::badbit);
  std::ostringstream err;
  int code = 0;
  try {
    code = tools::run_decide(options, in, out, err);
  } catch (const bounded_buffer::full&) {
    return 0;
  } catch (const std::ios::failure&) {
    return 0;  // the stream reports the buffer's exception as a failure when it wraps it
  }
  const std::string diagnostics = err.str();
  if (code == 0) {
    LIBSCALE_FUZZ_CHECK(diagnostics.empty());
  } else {
    LIBSCALE_FUZZ_CHECK(code == 1);
    LIBSCALE_FUZZ_CHECK(!diagnostics.empty() && diagnostics.back() == '\n' &&
                        diagnostics.find('\n') == diagnostics.size() - 1);
  }
  return 0;
}
