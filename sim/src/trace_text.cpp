#include "trace_text.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_set>

namespace scale::sim::detail {

namespace {

constexpr std::size_t block_size = 64 * 1024;

}  // namespace

block_reader::block_reader(const std::filesystem::path& path, std::uint64_t offset)
    : buffer_(new char[block_size]), capacity_(block_size), offset_(offset), run_offset_(offset) {
  // Unbuffered: reads of a whole block go straight from the file into buffer_, with no second copy.
  in_.rdbuf()->pubsetbuf(nullptr, 0);
  in_.open(path, std::ios::binary);
  if (offset != 0) in_.seekg(static_cast<std::streamoff>(offset));
}

std::string_view block_reader::next_lines() {
  std::size_t searched = begin_;  // bytes before this hold no '\n'
  while (true) {
    const std::string_view unread(buffer_.get() + searched, end_ - searched);
    if (const auto last = unread.rfind('\n'); last != std::string_view::npos || (at_end_ && begin_ < end_)) {
      const std::size_t stop = last == std::string_view::npos ? end_ : searched + last + 1;
      const std::string_view run(buffer_.get() + begin_, stop - begin_);
      run_offset_ = offset_;
      offset_ += run.size();
      begin_ = stop;
      return run;
    }
    if (at_end_) return {};
    // 1. Keep the partial line at the front, 2. make room if it fills the block, 3. read more after it.
    if (begin_ > 0) {
      std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    searched = end_;
    if (end_ == capacity_) {
      auto larger = std::unique_ptr<char[]>(new char[capacity_ * 2]);
      std::memcpy(larger.get(), buffer_.get(), end_);
      buffer_ = std::move(larger);
      capacity_ *= 2;
    }
    const std::size_t wanted = capacity_ - end_;
    in_.read(buffer_.get() + end_, static_cast<std::streamsize>(wanted));
    const auto got = static_cast<std::size_t>(in_.gcount());
    end_ += got;
    // An unbuffered read stops short only at the end of the file (or on an error, which ends it too).
    if (got < wanted) at_end_ = true;
  }
}

bool line_reader::next(std::string_view& line) {
  if (run_.empty()) {
    run_ = blocks_.next_lines();
    if (run_.empty()) return false;
  }
  const std::size_t newline = run_.find('\n');
  std::string_view raw = run_.substr(0, newline);
  run_.remove_prefix(newline == std::string_view::npos ? run_.size() : newline + 1);
  line_offset_ = next_offset_;
  next_offset_ += raw.size() + 1;
  ++line_;
  if (line_offset_ == 0 && raw.size() >= 3 && raw.substr(0, 3) == "\xEF\xBB\xBF") raw.remove_prefix(3);
  if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
  line = raw;
  return true;
}

bool line_reader::next(std::string& line) {
  std::string_view view;
  if (!next(view)) return false;
  line.assign(view);
  return true;
}

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t") == std::string_view::npos; }

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  split_fields(line, fields);
  return fields;
}

void split_fields(std::string_view line, std::vector<std::string_view>& fields) {
  fields.clear();
  const char* const end = line.data() + line.size();
  const char* start = line.data();
  while (true) {
    // The first bytes one by one (most per-minute counts are a digit or two, shorter than a library call's
    // setup), memchr for the rest of a longer field (the 64-digit hashes of the Azure traces, decimals).
    const char* stop = start;
    const char* const short_end = end - start > 4 ? start + 4 : end;
    while (stop != short_end && *stop != ',') ++stop;
    if (stop == short_end && stop != end) {
      const void* comma = std::memchr(stop, ',', static_cast<std::size_t>(end - stop));
      stop = comma == nullptr ? end : static_cast<const char*>(comma);
    }
    const char* first = start;
    const char* last = stop;
    while (first != last && (*first == ' ' || *first == '\t')) ++first;
    while (last != first && (last[-1] == ' ' || last[-1] == '\t')) --last;
    fields.emplace_back(first, static_cast<std::size_t>(last - first));
    if (stop == end) break;
    start = stop + 1;
  }
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
