#include <sim/csv_trace.hpp>

#include <sim/distribution.hpp>

#include "trace_text.hpp"

#include <fmt/format.h>

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
  std::size_t first_line = 0;
  std::uint64_t last_offset = 0;
  std::uint64_t count = 0;
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

/// Streams one function's rows, a chunk at a time, reopening the file for each chunk.
class csv_source final : public arrival_source {
 public:
  csv_source(std::filesystem::path file, std::shared_ptr<const csv_function> function)
      : file_(std::move(file)), function_(std::move(function)), resume_offset_(function_->first_offset),
        resume_line_(function_->first_line) {}

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
    detail::line_reader reader(file_);
    if (!reader.is_open()) {
      read_ = function_->count;
      return;
    }
    reader.seek(resume_offset_, resume_line_);
    std::string line;
    while (buffer_.size() < chunk_size && read_ < function_->count && reader.next(line)) {
      if (detail::is_blank(line)) continue;
      auto row = parse_row(file_, reader.line_number(), line);
      if (!row || reader.line_offset() > function_->last_offset) {
        read_ = function_->count;  // the file changed under us: end the stream
        return;
      }
      if (row->function != function_->id) continue;
      buffer_.push_back(arrival{at(row->time), row->service});
      ++read_;
      resume_offset_ = reader.next_offset();
      resume_line_ = reader.line_number() + 1;
    }
    if (buffer_.empty()) read_ = function_->count;
  }

  std::filesystem::path file_;
  std::shared_ptr<const csv_function> function_;
  std::uint64_t resume_offset_;
  std::size_t resume_line_;
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
  std::string line;
  if (!reader.next(line)) return error{fmt::format("{}: empty file", file.string())};
  if (line != csv_trace_header) {
    return error{detail::at_line(file, 1, fmt::format("header \"{}\": expected \"{}\"", line, csv_trace_header))};
  }
  std::vector<csv_function> functions;
  std::vector<duration> last_time;
  std::unordered_map<std::string, std::size_t> index;
  while (reader.next(line)) {
    if (detail::is_blank(line)) continue;
    const std::size_t n = reader.line_number();
    auto row = parse_row(file, n, line);
    if (!row) return row.error_value();
    auto [it, inserted] = index.try_emplace(std::string{row->function}, functions.size());
    if (inserted) {
      functions.push_back(csv_function{std::string{row->function}, reader.line_offset(), n, 0, 0});
      last_time.push_back(row->time);
    }
    const std::size_t i = it->second;
    if (row->time < last_time[i]) {
      return error{detail::at_line(file, n, fmt::format("timestamp_s = {}: before the previous row of function \"{}\" at "
                                                        "{} (each function's rows must be in time order)",
                                                        seconds_text(row->time), row->function, seconds_text(last_time[i])))};
    }
    last_time[i] = row->time;
    functions[i].last_offset = reader.line_offset();
    ++functions[i].count;
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
