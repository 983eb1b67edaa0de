#pragma once
// Exact decimal seconds ("12.25") to integer nanoseconds, and back, so times round-trip through CSV.

#include <libscale/result.hpp>
#include <libscale/time.hpp>

#include <string>
#include <string_view>

namespace scale::tools {

/// Parses a non-negative or negative decimal number of seconds ("2", "0.5", "-1.25") into exact nanoseconds;
/// more than 9 fractional digits or an exponent is an error.
result<duration> parse_decimal_seconds(std::string_view text);

/// Seconds or a Go-style duration ("60s", "5m", "1m30s").
result<duration> parse_seconds_or_go_duration(std::string_view text);

/// Shortest decimal text of `d` in seconds that parses back to exactly `d` ("2", "0.5", "1.000000001").
std::string format_seconds(duration d);

}  // namespace scale::tools
