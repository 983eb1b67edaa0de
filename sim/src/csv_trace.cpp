#include <sim/csv_trace.hpp>

#include <sim/distribution.hpp>

#include "trace_text.hpp"

#include <fmt/format.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <functional>
#include <ostream>
#include <queue>
#include <unordered_map>

namespace scale::sim {
namespace {

constexpr std::size_t chunk_size = 4096;

/// Where one function's rows are in the file.
struct csv_function {
  std::string id;
  std::uint64_t first_offset = 0;
  std::uint64_t last_offset = 0;
  std::uint64_t count = 0;
  // Every row spells the id with nothing around it, so the rows are exactly the lines holding ",id," (a row has
  // two commas): a stream can then jump between its own rows instead of reading every line in between.
  bool plain_ids = true;
};

struct csv_row {
  duration time{};
  std::string_view function;
  duration service{};
};

/// Parses one data line; the error names the file, line and field.
result<csv_row> parse_row(const std::filesystem::path& file, std::size_t n, std::string_view line) {
  const auto fields = detail::split_fields(line);
  if (fields.size() != 3) {
    return error{detail::at_line(file, n, fmt::format("expected 3 fields ({}), got {}", csv_trace_header, fields.size()))};
  }
  const auto seconds = detail::parse_fixed(fields[0], 9);
  if (!seconds || *seconds < 0) {
    return error{detail::at_line(file, n, fmt::format("timestamp_s = \"{}\": expected seconds >= 0 with at most 9 decimals",
                                                      fields[0]))};
  }
  if (fields[1].empty()) return error{detail::at_line(file, n, "function is empty")};
  const auto ns = detail::parse_fixed(fields[2], 6);
  if (!ns || *ns < 0) {
    return error{detail::at_line(file, n, fmt::format("duration_ms = \"{}\": expected milliseconds >= 0 with at most 6 "
                                                      "decimals", fields[2]))};
  }
  return csv_row{duration{*seconds}, fields[1], duration{*ns}};  // 6 decimals of a millisecond are nanoseconds
}

/// Reads a plain decimal at `p`: digits, optionally '.' and at most `decimals` more digits, short enough that
/// it cannot overflow (at most 18 digits once scaled). Returns where it stopped and sets `value` to what
/// parse_fixed gives for the same text; nullptr when the text is not of that form (parse_fixed then decides).
const char* parse_plain_fixed(const char* p, const char* end, int decimals, std::int64_t& value) {
  const char* const start = p;
  std::uint64_t whole = 0;  // unsigned: wraps harmlessly on a long run of digits, which is refused below
  while (p != end && static_cast<unsigned char>(*p - '0') < 10) whole = whole * 10 + static_cast<unsigned>(*p++ - '0');
  const auto whole_digits = p - start;
  if (whole_digits > 18 - decimals) return nullptr;
  std::uint64_t fraction = 0;
  int fraction_digits = 0;
  if (p != end && *p == '.') {
    ++p;
    while (p != end && static_cast<unsigned char>(*p - '0') < 10 && fraction_digits <= decimals) {
      fraction = fraction * 10 + static_cast<unsigned>(*p++ - '0');
      ++fraction_digits;
    }
    if (fraction_digits > decimals) return nullptr;
  }
  if (whole_digits == 0 && fraction_digits == 0) return nullptr;
  for (int i = 0; i < decimals; ++i) whole *= 10;
  for (int i = fraction_digits; i < decimals; ++i) fraction *= 10;
  value = static_cast<std::int64_t>(whole + fraction);
  return p;
}

/// parse_plain_fixed read backwards from `stop`, not before `floor`: the same numbers, the same values. Returns
/// where the number starts (the first byte that is not a digit or '.' is just before it, or it is `floor`);
/// nullptr when the text is not of that form.
const char* parse_plain_fixed_backwards(const char* floor, const char* stop, int decimals, std::int64_t& value) {
  std::uint64_t digits_value = 0;  // the digits read since the last '.' (or the start)
  std::uint64_t place = 1;
  int digits = 0;
  std::uint64_t fraction = 0;
  int fraction_digits = -1;  // -1 until a '.' is read
  const char* p = stop;
  for (; p != floor; --p) {
    const char c = p[-1];
    if (static_cast<unsigned char>(c - '0') < 10) {
      if (++digits > 18) return nullptr;
      digits_value += place * static_cast<unsigned>(c - '0');
      place *= 10;
    } else if (c == '.' && fraction_digits < 0) {
      fraction = digits_value;
      fraction_digits = digits;
      digits_value = 0;
      place = 1;
      digits = 0;
    } else {
      break;
    }
  }
  if (fraction_digits < 0) fraction_digits = 0;
  if (digits > 18 - decimals || fraction_digits > decimals || digits + fraction_digits == 0) return nullptr;
  for (int i = 0; i < decimals; ++i) digits_value *= 10;
  for (int i = fraction_digits; i < decimals; ++i) fraction *= 10;
  value = static_cast<std::int64_t>(digits_value + fraction);
  return p;
}

/// The common row — plain numbers, an id with no spaces or tabs at its ends — without splitting it into a
/// vector. false when parse_row must decide (it gives the same values for every line this accepts).
bool parse_plain_row(std::string_view line, csv_row& row) {
  const char* const end = line.data() + line.size();
  std::int64_t seconds_ns = 0;
  const char* p = parse_plain_fixed(line.data(), end, 9, seconds_ns);
  if (p == nullptr || p == end || *p != ',') return false;
  const char* const id = p + 1;
  const char* comma = id;
  while (comma != end && *comma != ',') ++comma;
  if (comma == end || comma == id) return false;
  if (*id == ' ' || *id == '\t' || comma[-1] == ' ' || comma[-1] == '\t') return false;
  std::int64_t service_ns = 0;
  if (parse_plain_fixed(comma + 1, end, 6, service_ns) != end) return false;
  row = csv_row{duration{seconds_ns}, std::string_view(id, static_cast<std::size_t>(comma - id)), duration{service_ns}};
  return true;
}

/// a == b, without a library call for the few bytes of a typical id.
bool same_bytes(const char* a, const char* b, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

bool same_id(std::string_view a, std::string_view b) {
  return a.size() == b.size() && same_bytes(a.data(), b.data(), a.size());
}

/// Either parser: the plain one first, parse_row for everything else (and for the error).
result<csv_row> parse_any_row(const std::filesystem::path& file, std::size_t n, std::string_view line) {
  csv_row row;
  if (parse_plain_row(line, row)) return row;
  return parse_row(file, n, line);
}

/// The first occurrence of `needle` (at least 3 bytes) in [p, end), or nullptr.
const char* find_needle(const char* p, const char* end, std::string_view needle) {
  const std::size_t n = needle.size();
  if (static_cast<std::size_t>(end - p) < n) return nullptr;
  const char* const last_start = end - n;
#if defined(__SSE2__)
  // Sixteen candidate starts at a time, filtered on the needle's first, second-to-last and last bytes (",", the
  // id's last character, ","); only survivors are compared whole.
  const __m128i first = _mm_set1_epi8(needle[0]);
  const __m128i before_last = _mm_set1_epi8(needle[n - 2]);
  const __m128i last = _mm_set1_epi8(needle[n - 1]);
  for (; last_start - p >= 15; p += 16) {
    const auto a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const auto b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 2));
    const auto c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 1));
    const auto both_ends = _mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(c, last));
    auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_and_si128(both_ends, _mm_cmpeq_epi8(b, before_last))));
    while (mask != 0) {
      const char* const candidate = p + __builtin_ctz(mask);
      if (same_bytes(candidate + 1, needle.data() + 1, n - 3)) return candidate;
      mask &= mask - 1;
    }
  }
#endif
  for (; p <= last_start; ++p) {
    if (p[0] == needle[0] && p[n - 1] == needle[n - 1] && same_bytes(p, needle.data(), n)) return p;
  }
  return nullptr;
}

/// Streams one function's rows, a chunk at a time, reopening the file for each chunk.
class csv_source final : public arrival_source {
 public:
  csv_source(std::filesystem::path file, std::shared_ptr<const csv_function> function)
      : file_(std::move(file)), function_(std::move(function)), needle_("," + function_->id + ","),
        resume_offset_(function_->first_offset) {}

  std::optional<arrival> next() override {
    if (next_ == buffer_.size()) refill();
    if (next_ == buffer_.size()) return std::nullopt;
    return buffer_[next_++];
  }

 private:
  void refill() {
    buffer_.clear();
    next_ = 0;
    if (read_ == function_->count) return;
    detail::block_reader blocks(file_, resume_offset_);
    bool ok = blocks.is_open();
    while (ok && buffer_.size() < chunk_size && read_ < function_->count) {
      const std::string_view run = blocks.next_lines();
      if (run.empty()) break;
      ok = function_->plain_ids ? take_marked_rows(run, blocks.run_offset()) : take_rows(run, blocks.run_offset());
    }
    // A file changed under us (a row that no longer parses or lies past the last one, or too few rows): end.
    if (!ok || buffer_.empty()) read_ = function_->count;
  }

  /// Takes this function's rows from a run of whole lines by jumping from one ",id," to the next; false when
  /// the file changed.
  bool take_marked_rows(std::string_view run, std::uint64_t run_offset) {
    const char* const end = run.data() + run.size();
    const char* p = run.data();  // always a line start
    while (buffer_.size() < chunk_size && read_ < function_->count) {
      const char* const mark = find_needle(p, end, needle_);
      if (mark == nullptr) return true;
      // 1. The timestamp, read back from the mark; its start is the line start when the row is plain, else the
      // line start is found by walking back.
      std::int64_t seconds_ns = 0;
      const char* start = parse_plain_fixed_backwards(p, mark, 9, seconds_ns);
      bool plain = start != nullptr && (start == p || start[-1] == '\n');
      if (!plain) {
        start = mark;
        while (start != p && start[-1] != '\n') --start;
      }
      // 2. The duration, whose end is the line's end when it is plain; else the line end is searched for.
      std::int64_t service_ns = 0;
      const char* stop = plain ? parse_plain_fixed(mark + needle_.size(), end, 6, service_ns) : nullptr;
      if (stop != nullptr && stop != end && *stop == '\r' && (stop + 1 == end || stop[1] == '\n')) ++stop;
      if (stop == nullptr || (stop != end && *stop != '\n')) {
        plain = false;
        stop = mark + needle_.size();
        while (stop != end && *stop != '\n') ++stop;
      }
      // 3. The row (take() decides lines that are not plain).
      const std::string_view line(start, static_cast<std::size_t>(stop - start));
      const std::uint64_t offset = run_offset + (start - run.data());
      if (plain && offset <= function_->last_offset) {
        buffer_.push_back(arrival{at(duration{seconds_ns}), duration{service_ns}});
        ++read_;
        resume_offset_ = offset + line.size() + 1;
      } else if (!take(line, offset)) {
        return false;
      }
      p = stop == end ? end : stop + 1;
    }
    return true;
  }

  /// Takes this function's rows from a run of whole lines, reading every line; false when the file changed.
  bool take_rows(std::string_view run, std::uint64_t run_offset) {
    const char* const end = run.data() + run.size();
    const char* p = run.data();
    while (p != end && buffer_.size() < chunk_size && read_ < function_->count) {
      const char* stop = p;
      while (stop != end && *stop != '\n') ++stop;
      const std::string_view line(p, static_cast<std::size_t>(stop - p));
      const std::uint64_t offset = run_offset + (p - run.data());
      p = stop == end ? end : stop + 1;
      if (!take(line, offset)) return false;
    }
    return true;
  }

  /// Takes one line (without its '\n') starting at `offset` if it is this function's row; false when it does
  /// not parse or lies past the function's last row.
  bool take(std::string_view line, std::uint64_t offset) {
    const std::uint64_t next_offset = offset + line.size() + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (detail::is_blank(line)) return true;
    if (offset > function_->last_offset) return false;
    const auto row = parse_any_row(file_, 0, line);
    if (!row) return false;
    if (same_id(row->function, function_->id)) {
      buffer_.push_back(arrival{at(row->time), row->service});
      ++read_;
      resume_offset_ = next_offset;
    }
    return true;
  }

  std::filesystem::path file_;
  std::shared_ptr<const csv_function> function_;
  std::string needle_;
  std::uint64_t resume_offset_;
  std::uint64_t read_ = 0;
  std::vector<arrival> buffer_;
  std::size_t next_ = 0;
};

std::string milliseconds_text(duration d) {
  const std::int64_t ns = d.count();
  std::string out = fmt::format("{}{}", ns < 0 ? "-" : "", (ns < 0 ? -ns : ns) / 1'000'000);
  if (const std::int64_t frac = (ns < 0 ? -ns : ns) % 1'000'000; frac != 0) {
    std::string digits = fmt::format("{:06}", frac);
    digits.erase(digits.find_last_not_of('0') + 1);
    out += '.';
    out += digits;
  }
  return out;
}

}  // namespace

result<trace> read_csv_trace(const std::filesystem::path& file) {
  detail::line_reader reader(file);
  if (!reader.is_open()) return error{fmt::format("{}: cannot open file", file.string())};
  std::string_view line;
  if (!reader.next(line)) return error{fmt::format("{}: empty file", file.string())};
  if (line != csv_trace_header) {
    return error{detail::at_line(file, 1, fmt::format("header \"{}\": expected \"{}\"", line, csv_trace_header))};
  }
  // Ids are looked up by view: no string is built per row.
  struct id_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view id) const { return std::hash<std::string_view>{}(id); }
  };
  std::vector<csv_function> functions;
  std::vector<duration> last_time;
  std::unordered_map<std::string, std::size_t, id_hash, std::equal_to<>> index;
  std::size_t previous = 0;  // the function of the previous row: the likely one of this row
  while (reader.next(line)) {
    csv_row row;
    const bool plain = parse_plain_row(line, row);
    if (!plain) {
      if (detail::is_blank(line)) continue;
      auto parsed = parse_row(file, reader.line_number(), line);
      if (!parsed) return parsed.error_value();
      row = *parsed;
    }
    std::size_t i = previous;
    if (i >= functions.size() || !same_id(functions[i].id, row.function)) {
      if (const auto it = index.find(row.function); it != index.end()) {
        i = it->second;
      } else {
        i = functions.size();
        index.emplace(std::string{row.function}, i);
        functions.push_back(csv_function{std::string{row.function}, reader.line_offset(), 0, 0, true});
        last_time.push_back(row.time);
      }
    }
    previous = i;
    if (row.time < last_time[i]) {
      return error{detail::at_line(file, reader.line_number(),
                                   fmt::format("timestamp_s = {}: before the previous row of function \"{}\" at {} "
                                               "(each function's rows must be in time order)",
                                               seconds_text(row.time), row.function, seconds_text(last_time[i])))};
    }
    last_time[i] = row.time;
    functions[i].last_offset = reader.line_offset();
    ++functions[i].count;
    if (!plain) functions[i].plain_ids = false;  // parse_row may have trimmed the id
  }
  trace out;
  out.source = file.string();
  for (auto& f : functions) {
    auto shared = std::make_shared<const csv_function>(std::move(f));
    out.functions.push_back(function_trace{
        shared->id, [file, shared](std::uint64_t) { return std::make_unique<csv_source>(file, shared); }});
  }
  return out;
}

void write_csv_trace(const trace& t, std::uint64_t seed, std::ostream& out) {
  struct pending {
    arrival next;
    std::size_t function;
    bool operator>(const pending& other) const {
      return next.time != other.next.time ? next.time > other.next.time : function > other.function;
    }
  };
  std::vector<std::unique_ptr<arrival_source>> sources;
  std::priority_queue<pending, std::vector<pending>, std::greater<>> queue;
  for (std::size_t i = 0; i < t.functions.size(); ++i) {
    sources.push_back(t.functions[i].open(function_seed(seed, i)));
    if (auto a = sources[i]->next()) queue.push(pending{*a, i});
  }
  fmt::memory_buffer buffer;
  fmt::format_to(std::back_inserter(buffer), "{}\n", csv_trace_header);
  while (!queue.empty()) {
    const pending p = queue.top();
    queue.pop();
    fmt::format_to(std::back_inserter(buffer), "{},{},{}\n", seconds_text(p.next.time.time_since_epoch()),
                   t.functions[p.function].id, milliseconds_text(p.next.service_time));
    if (buffer.size() > 1 << 16) {
      out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      buffer.clear();
    }
    if (auto a = sources[p.function]->next()) queue.push(pending{*a, p.function});
  }
  out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
}

}  // namespace scale::sim
