#include <sim/azure2021_trace.hpp>
#include <sim/replayed_trace.hpp>

#include "trace_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <unordered_map>

namespace scale::sim {
namespace {

/// Seconds with a dozen or more decimals, as the trace writes them, to nanoseconds.
std::int64_t to_ns(double seconds) { return std::llround(seconds * 1e9); }

// About 100 years either way: far beyond any trace, and safe to subtract in int64 nanoseconds.
constexpr double max_abs_seconds = 3.2e9;

}  // namespace

result<trace> read_azure2021_trace(const std::filesystem::path& file) {
  detail::line_reader reader(file);
  if (!reader.is_open()) return error{fmt::format("{}: cannot open file", file.string())};
  std::string line;
  if (!reader.next(line)) return error{fmt::format("{}: empty file", file.string())};

  // 1. The header: exactly the four columns, in any order.
  constexpr std::array<std::string_view, 4> names = {"app", "func", "end_timestamp", "duration"};
  const auto header = detail::split_fields(line);
  std::array<std::size_t, 4> column{};
  bool header_ok = header.size() == names.size();
  for (std::size_t i = 0; header_ok && i < names.size(); ++i) {
    const auto found = std::find(header.begin(), header.end(), names[i]);
    header_ok = found != header.end();
    if (header_ok) column[i] = static_cast<std::size_t>(found - header.begin());
  }
  if (!header_ok) {
    return error{detail::at_line(file, 1, fmt::format("header \"{}\": expected the columns app,func,end_timestamp,duration",
                                                      line))};
  }

  // 2. Every row, grouped by (app, func) in order of first appearance, times in unrebased nanoseconds.
  struct group {
    std::string app, func;
    std::vector<arrival> arrivals;
  };
  std::vector<group> groups;
  std::unordered_map<std::string, std::size_t> index;
  std::int64_t earliest_ns = std::numeric_limits<std::int64_t>::max();
  std::vector<std::string_view> fields;  // one vector for every row
  while (reader.next(line)) {
    if (detail::is_blank(line)) continue;
    const std::size_t n = reader.line_number();
    detail::split_fields(line, fields);
    if (fields.size() != names.size()) {
      return error{detail::at_line(file, n, fmt::format("expected 4 fields (app,func,end_timestamp,duration), got {}",
                                                        fields.size()))};
    }
    const auto app = fields[column[0]], func = fields[column[1]];
    const auto end_text = fields[column[2]], duration_text = fields[column[3]];
    if (app.empty()) return error{detail::at_line(file, n, "app is empty")};
    if (func.empty()) return error{detail::at_line(file, n, "func is empty")};
    const auto end = detail::parse_double(end_text);
    if (!end || std::abs(*end) > max_abs_seconds) {
      return error{detail::at_line(file, n, fmt::format("end_timestamp = \"{}\": expected seconds", end_text))};
    }
    const auto seconds = detail::parse_double(duration_text);
    if (!seconds || *seconds < 0 || *seconds > max_abs_seconds) {
      return error{detail::at_line(file, n, fmt::format("duration = \"{}\": expected seconds >= 0", duration_text))};
    }
    const std::int64_t service_ns = to_ns(*seconds);
    const std::int64_t start_ns = to_ns(*end) - service_ns;
    earliest_ns = std::min(earliest_ns, start_ns);
    auto [it, inserted] = index.try_emplace(fmt::format("{}/{}", app, func), groups.size());
    if (inserted) groups.push_back(group{std::string{app}, std::string{func}, {}});
    groups[it->second].arrivals.push_back(arrival{at(duration{start_ns}), duration{service_ns}});
  }

  // 3. Rebase, sort each function by start, name the functions.
  trace out;
  out.source = file.string();
  std::vector<std::string> short_ids, long_ids;
  for (auto& g : groups) {
    for (auto& a : g.arrivals) a.time -= duration{earliest_ns};
    std::stable_sort(g.arrivals.begin(), g.arrivals.end(),
                     [](const arrival& a, const arrival& b) { return a.time < b.time; });
    short_ids.push_back(g.func);
    long_ids.push_back(g.app + "/" + g.func);
    auto shared = std::make_shared<const std::vector<arrival>>(std::move(g.arrivals));
    out.functions.push_back(function_trace{{}, [shared](std::uint64_t) { return replay_arrivals(shared); }});
  }
  const auto ids = detail::choose_ids(short_ids, long_ids);
  for (std::size_t i = 0; i < ids.size(); ++i) out.functions[i].id = ids[i];
  return out;
}

}  // namespace scale::sim
