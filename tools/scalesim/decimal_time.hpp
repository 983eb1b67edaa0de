#pragma once
// Exact decimal seconds ("12.25") to integer nanoseconds for CSV time columns (sim::seconds_text prints them back).

#include <libscale/result.hpp>
#include <libscale/time.hpp>

#include <string_view>

namespace scale::tools {

/// Parses a non-negative or negative decimal number of seconds ("2", "0.5", "-1.25") into exact nanoseconds;
/// more than 9 fractional digits or an exponent is an error.
result<duration> parse_decimal_seconds(std::string_view text);

}  // namespace scale::tools
