#pragma once
// Private to the trace readers: line-by-line CSV input and exact number parsing, with errors that name
// "file:line". Not installed; nothing outside sim/src includes it.

#include <libscale/result.hpp>
#include <libscale/time.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scale::sim::detail {

/// Reads a file from a byte offset in large blocks and hands out runs of whole lines without copying them: the
/// fast path for scanning many rows (one read per 64 KiB instead of one stream call per line). Memory is one
/// block, larger only while a single line is longer than it.
class block_reader {
 public:
  block_reader(const std::filesystem::path& path, std::uint64_t offset);

  bool is_open() const { return in_.is_open() && !in_.bad(); }
  /// The next run of whole lines, each ending in '\n' except a last line at the end of the file; empty at the
  /// end. Valid until the next call.
  std::string_view next_lines();
  /// Byte offset in the file of the start of the run last returned.
  std::uint64_t run_offset() const { return run_offset_; }

 private:
  std::ifstream in_;
  std::unique_ptr<char[]> buffer_;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;  // [begin_, end_): read but not yet handed out
  std::size_t end_ = 0;
  bool at_end_ = false;
  std::uint64_t offset_ = 0;  // file offset of buffer_[begin_]
  std::uint64_t run_offset_ = 0;
};

/// Reads a text file one line at a time: strips a UTF-8 byte-order mark on line 1 and a trailing '\r', counts
/// 1-based line numbers, and remembers the byte offset where each line starts.
class line_reader {
 public:
  explicit line_reader(const std::filesystem::path& path) : blocks_(path, 0) {}

  bool is_open() const { return blocks_.is_open(); }
  /// The next line without its terminator, or false at the end of the file. The view is valid until the next
  /// call (it points into the reader's block).
  bool next(std::string_view& line);
  /// The same, copied.
  bool next(std::string& line);
  /// 1-based number of the line last returned.
  std::size_t line_number() const { return line_; }
  /// Byte offset of the start of the line last returned.
  std::uint64_t line_offset() const { return line_offset_; }
  /// Byte offset of the start of the line after it (one past the end of the file after a last line without '\n').
  std::uint64_t next_offset() const { return next_offset_; }

 private:
  block_reader blocks_;
  std::string_view run_;
  std::size_t line_ = 0;
  std::uint64_t line_offset_ = 0;
  std::uint64_t next_offset_ = 0;
};

/// True for a line with nothing but spaces and tabs.
bool is_blank(std::string_view line);

/// Splits a line at commas (no quoting: none of the supported formats quotes) and trims spaces and tabs.
std::vector<std::string_view> split_fields(std::string_view line);
/// The same into `fields` (cleared first), so a reader of many rows reuses one vector.
void split_fields(std::string_view line, std::vector<std::string_view>& fields);

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
