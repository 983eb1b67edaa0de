#include "trace_text.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_set>

namespace scale::sim::detail {

line_reader::line_reader(const std::filesystem::path& path) : in_(path, std::ios::binary) {}

void line_reader::seek(std::uint64_t offset, std::size_t line_number) {
  in_.clear();
  in_.seekg(static_cast<std::streamoff>(offset));
  next_offset_ = offset;
  line_ = line_number - 1;
}

bool line_reader::next(std::string& line) {
  if (!std::getline(in_, line)) return false;
  line_offset_ = next_offset_;
  // getline dropped the '\n' (absent only on a last line without one; one byte too far is harmless there).
  next_offset_ += line.size() + 1;
  ++line_;
  if (line_offset_ == 0 && line.size() >= 3 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return true;
}

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t") == std::string_view::npos; }

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = line.find(',', start);
    std::string_view field = line.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    const auto first = field.find_first_not_of(" \t");
    field = first == std::string_view::npos ? std::string_view{} : field.substr(first, field.find_last_not_of(" \t") - first + 1);
    fields.push_back(field);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return fields;
}

std::string at_line(const std::filesystem::path& file, std::size_t line, std::string_view message) {
  return fmt::format("{}:{}: {}", file.string(), line, message);
}

std::optional<double> parse_double(std::string_view text) {
  if (text.empty() || text.front() == '+') return std::nullopt;
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<std::uint64_t> parse_unsigned(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<std::int64_t> parse_fixed(std::string_view text, int decimals) {
  bool negative = false;
  if (!text.empty() && text.front() == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  const auto dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty() && frac.empty()) return std::nullopt;
  if (frac.size() > static_cast<std::size_t>(decimals)) return std::nullopt;
  std::int64_t scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  std::int64_t units = 0;
  if (!whole.empty()) {
    const auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), units);
    if (ec != std::errc{} || end != whole.data() + whole.size() || whole.front() == '-') return std::nullopt;
  }
  std::int64_t fraction = 0;
  std::int64_t place = scale / 10;
  for (const char c : frac) {
    if (c < '0' || c > '9') return std::nullopt;
    fraction += (c - '0') * place;
    place /= 10;
  }
  // The whole int64 range reads back, both ends included: the magnitude may reach 2^63 when negative.
  const std::uint64_t limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) + (negative ? 1 : 0);
  const auto units_u = static_cast<std::uint64_t>(units);
  const auto scale_u = static_cast<std::uint64_t>(scale);
  if (units_u > limit / scale_u || units_u * scale_u > limit - static_cast<std::uint64_t>(fraction)) return std::nullopt;
  const std::uint64_t magnitude = units_u * scale_u + static_cast<std::uint64_t>(fraction);
  return negative ? static_cast<std::int64_t>(0 - magnitude) : static_cast<std::int64_t>(magnitude);
}

duration seconds_to_duration(double seconds) {
  // 9.2e9 s is where int64 nanoseconds end; stay clear of it.
  constexpr double max_seconds = 9.2e9;
  if (!(seconds > 0)) return duration::zero();
  if (seconds >= max_seconds) return duration{static_cast<std::int64_t>(max_seconds * 1e9)};
  return duration{std::llround(seconds * 1e9)};
}

std::vector<std::string> choose_ids(const std::vector<std::string>& short_ids, const std::vector<std::string>& long_ids) {
  std::unordered_set<std::string_view> seen;
  for (const auto& id : short_ids) {
    if (!seen.insert(id).second) return long_ids;
  }
  return short_ids;
}

}  // namespace scale::sim::detail
