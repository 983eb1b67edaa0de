#include "decimal_time.hpp"

#include <libscale/config.hpp>

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <limits>

namespace scale::tools {

result<duration> parse_decimal_seconds(std::string_view text) {
  const std::string shown{text};
  auto fail = [&] { return error{fmt::format("\"{}\" is not a number of seconds", shown)}; };
  if (text.empty()) return fail();
  bool negative = false;
  if (text.front() == '-' || text.front() == '+') {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  const auto dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if ((whole.empty() && frac.empty()) || frac.size() > 9) return fail();
  std::int64_t seconds = 0;
  if (!whole.empty()) {
    auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), seconds);
    if (ec != std::errc{} || end != whole.data() + whole.size()) return fail();
  }
  std::int64_t nanos = 0;
  std::int64_t scale_by = 100'000'000;
  for (char c : frac) {
    if (c < '0' || c > '9') return fail();
    nanos += (c - '0') * scale_by;
    scale_by /= 10;
  }
  // Keep the total inside int64 nanoseconds (about 292 years).
  if (seconds > std::numeric_limits<std::int64_t>::max() / 1'000'000'000 - 1) return fail();
  const std::int64_t total = seconds * 1'000'000'000 + nanos;
  return duration{negative ? -total : total};
}

}  // namespace scale::tools
