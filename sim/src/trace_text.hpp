#pragma once
// Private to the trace readers: line-by-line CSV input and exact number parsing, with errors that name
// "file:line". Not installed; nothing outside sim/src includes it.

#include <libscale/result.hpp>
#include <libscale/time.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scale::sim::detail {

/// Reads a text file one line at a time: strips a UTF-8 byte-order mark on line 1 and a trailing '\r', counts
/// 1-based line numbers, and remembers the byte offset where each line starts (for seeking back to it).
class line_reader {
 public:
  explicit line_reader(const std::filesystem::path& path);

  bool is_open() const { return in_.is_open() && !in_.bad(); }
  /// Continues from a line start found by an earlier reader (`offset` bytes in, line number `line_number`).
  void seek(std::uint64_t offset, std::size_t line_number);
  /// The next line without its terminator, or false at the end of the file.
  bool next(std::string& line);
  /// 1-based number of the line last returned.
  std::size_t line_number() const { return line_; }
  /// Byte offset of the start of the line last returned.
  std::uint64_t line_offset() const { return line_offset_; }
  /// Byte offset of the start of the line after it.
  std::uint64_t next_offset() const { return next_offset_; }

 private:
  std::ifstream in_;
  std::size_t line_ = 0;
  std::uint64_t line_offset_ = 0;
  std::uint64_t next_offset_ = 0;
};

/// True for a line with nothing but spaces and tabs.
bool is_blank(std::string_view line);

/// Splits a line at commas (no quoting: none of the supported formats quotes) and trims spaces and tabs.
std::vector<std::string_view> split_fields(std::string_view line);

/// "file:line: message" — the one format every row error uses.
std::string at_line(const std::filesystem::path& file, std::size_t line, std::string_view message);

/// A finite double written as plain decimal or exponent notation ("1", "0.5", "1e-3"); nothing else.
std::optional<double> parse_double(std::string_view text);

/// A whole number written with digits only.
std::optional<std::uint64_t> parse_unsigned(std::string_view text);

/// An exact decimal with at most `decimals` fractional digits, scaled by 10^decimals ("1.5", 3 -> 1500).
/// A leading '-' is accepted; an exponent is not. nullopt on anything else or on int64 overflow.
std::optional<std::int64_t> parse_fixed(std::string_view text, int decimals);

/// Seconds (a double) to integer nanoseconds, rounded to nearest and clamped to [0, about 292 years].
duration seconds_to_duration(double seconds);

/// A trace's function ids: `short_ids[i]` when they are all distinct, else `long_ids[i]`.
std::vector<std::string> choose_ids(const std::vector<std::string>& short_ids, const std::vector<std::string>& long_ids);

}  // namespace scale::sim::detail
