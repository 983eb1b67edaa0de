#include <sim/azure2019_trace.hpp>

#include <sim/distribution.hpp>

#include "trace_text.hpp"

#include <boost/random/exponential_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>
#include <fmt/format.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <utility>

namespace scale::sim {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t minute_ns = 60'000'000'000;
// Above 10^8 a minute (1.7 M requests per second) a count is more likely garbage than data; the bound also keeps
// `equal`'s 60e9 * k in int64.
constexpr std::uint64_t max_count_per_minute = 100'000'000;

constexpr std::array<std::string_view, 7> percentile_columns = {
    "percentile_Average_0",  "percentile_Average_1",  "percentile_Average_25", "percentile_Average_50",
    "percentile_Average_75", "percentile_Average_99", "percentile_Average_100"};
constexpr std::array<double, 7> percentile_quantiles = {0, 0.01, 0.25, 0.5, 0.75, 0.99, 1};

/// What a function keeps: its non-zero minutes and its service-time distribution.
struct function_minutes {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> minutes;  // (minute index from 0, count > 0)
  distribution service;
};

/// Streams one function minute by minute; its memory does not depend on the counts.
class minute_source final : public arrival_source {
 public:
  minute_source(std::shared_ptr<const function_minutes> data, minute_expansion mode, std::uint64_t seed)
      : data_(std::move(data)), mode_(mode), arrivals_(seed), services_(function_seed(seed, 0x5e7'71ce)) {}

  std::optional<arrival> next() override {
    const auto& minutes = data_->minutes;
    while (minute_ < minutes.size()) {
      const auto [index, count] = minutes[minute_];
      if (const auto offset = next_offset(count)) {
        return arrival{at(duration{static_cast<std::int64_t>(index) * minute_ns + *offset}),
                       data_->service.sample(services_)};
      }
      ++minute_;
      emitted_ = 0;
      previous_u_ = 0;
      poisson_ns_ = 0;
    }
    return std::nullopt;
  }

 private:
  /// The next arrival's offset inside the current minute (ns), or nullopt when the minute is done.
  std::optional<std::int64_t> next_offset(std::uint32_t count) {
    switch (mode_) {
      case minute_expansion::equal: {
        if (emitted_ == count) return std::nullopt;
        return minute_ns * static_cast<std::int64_t>(emitted_++) / count;
      }
      case minute_expansion::uniform: {
        if (emitted_ == count) return std::nullopt;
        // The smallest of the m = count - emitted uniforms still to come, given they all lie above the
        // previous one u: u + (1 - u) * (1 - V^(1/m)) with V uniform in (0, 1] (the minimum of m uniforms is
        // 1 - V^(1/m)). Successive order statistics come out sorted, with no buffer.
        const double v = 1.0 - boost::random::uniform_real_distribution<double>(0.0, 1.0)(arrivals_);
        const double m = static_cast<double>(count - emitted_);
        previous_u_ += (1.0 - previous_u_) * (1.0 - std::pow(v, 1.0 / m));
        ++emitted_;
        return std::min<std::int64_t>(static_cast<std::int64_t>(previous_u_ * static_cast<double>(minute_ns)),
                                      minute_ns - 1);
      }
      case minute_expansion::poisson: {
        // Exponential gaps of mean 60 s / n from the start of the minute; the first that crosses the minute's
        // end closes it (memorylessness makes restarting at the next minute exact).
        const double gap_ns = boost::random::exponential_distribution<double>(count / 60.0)(arrivals_) * 1e9;
        const double position = static_cast<double>(poisson_ns_) + gap_ns;
        if (!(position < static_cast<double>(minute_ns))) return std::nullopt;
        poisson_ns_ = std::min<std::int64_t>(std::llround(position), minute_ns - 1);
        return poisson_ns_;
      }
    }
    return std::nullopt;
  }

  std::shared_ptr<const function_minutes> data_;
  minute_expansion mode_;
  std::mt19937_64 arrivals_;
  std::mt19937_64 services_;
  std::size_t minute_ = 0;
  std::uint32_t emitted_ = 0;
  double previous_u_ = 0;
  std::int64_t poisson_ns_ = 0;
};

std::string function_key(std::string_view owner, std::string_view app, std::string_view function) {
  return fmt::format("{}\n{}\n{}", owner, app, function);
}

std::string describe(std::string_view owner, std::string_view app, std::string_view function) {
  return fmt::format("HashOwner={}, HashApp={}, HashFunction={}", owner, app, function);
}

/// Positions of the named columns in a header, or an error naming the first missing one.
template <std::size_t N>
result<std::array<std::size_t, N>> find_columns(const std::filesystem::path& file,
                                                const std::vector<std::string_view>& header,
                                                const std::array<std::string_view, N>& names) {
  std::array<std::size_t, N> at{};
  for (std::size_t i = 0; i < N; ++i) {
    std::size_t found = header.size();
    for (std::size_t c = 0; c < header.size(); ++c) {
      if (header[c] != names[i]) continue;
      if (found != header.size()) return error{detail::at_line(file, 1, fmt::format("column \"{}\" appears twice", names[i]))};
      found = c;
    }
    if (found == header.size()) return error{detail::at_line(file, 1, fmt::format("no column \"{}\"", names[i]))};
    at[i] = found;
  }
  return at;
}

struct duration_row {
  distribution service;
  std::size_t line = 0;
};

result<std::unordered_map<std::string, duration_row>> read_durations(const std::filesystem::path& file) {
  detail::line_reader reader(file);
  if (!reader.is_open()) return error{fmt::format("{}: cannot open file", file.string())};
  std::string line;
  if (!reader.next(line)) return error{fmt::format("{}: empty file", file.string())};
  // The header keeps its own copy: `line` is overwritten by every row, and error messages name header columns.
  const std::string header_line = line;
  const auto header = detail::split_fields(header_line);
  auto ids = find_columns<3>(file, header, {"HashOwner", "HashApp", "HashFunction"});
  if (!ids) return ids.error_value();
  auto percentiles = find_columns<7>(file, header, percentile_columns);
  if (!percentiles) return percentiles.error_value();

  std::unordered_map<std::string, duration_row> rows;
  std::vector<std::string_view> fields;
  std::string_view row;
  while (reader.next(row)) {
    if (detail::is_blank(row)) continue;
    const std::size_t n = reader.line_number();
    detail::split_fields(row, fields);
    if (fields.size() != header.size()) {
      return error{detail::at_line(file, n, fmt::format("expected {} fields, got {}", header.size(), fields.size()))};
    }
    const auto owner = fields[(*ids)[0]], app = fields[(*ids)[1]], function = fields[(*ids)[2]];
    for (std::size_t i = 0; i < 3; ++i) {
      if (fields[(*ids)[i]].empty()) {
        return error{detail::at_line(file, n, fmt::format("{} is empty", header[(*ids)[i]]))};
      }
    }
    std::vector<quantile_point> points;
    for (std::size_t i = 0; i < percentile_columns.size(); ++i) {
      const std::string_view text = fields[(*percentiles)[i]];
      const auto ms = detail::parse_double(text);
      if (!ms || *ms < 0) {
        return error{detail::at_line(file, n, fmt::format("{} = \"{}\": expected milliseconds >= 0", percentile_columns[i], text))};
      }
      if (!points.empty() && *ms / 1000 < points.back().seconds) {
        return error{detail::at_line(file, n, fmt::format("{} = {}: below {} = {} (percentiles must not decrease)",
                                                          percentile_columns[i], text, percentile_columns[i - 1],
                                                          fields[(*percentiles)[i - 1]]))};
      }
      points.push_back(quantile_point{percentile_quantiles[i], *ms / 1000});
    }
    const std::string text = fmt::format("percentiles(ms):0={},1={},25={},50={},75={},99={},100={}",
                                         fields[(*percentiles)[0]], fields[(*percentiles)[1]], fields[(*percentiles)[2]],
                                         fields[(*percentiles)[3]], fields[(*percentiles)[4]], fields[(*percentiles)[5]],
                                         fields[(*percentiles)[6]]);
    auto service = distribution::empirical(std::move(points), text);
    if (!service) return error{detail::at_line(file, n, service.error_value().message)};  // unreachable: checked above
    auto [it, inserted] = rows.try_emplace(function_key(owner, app, function), duration_row{*service, n});
    if (!inserted) {
      return error{detail::at_line(file, n, fmt::format("duplicate durations for {} (first on line {})",
                                                        describe(owner, app, function), it->second.line))};
    }
  }
  return rows;
}

/// The minute number in a column label: "17" or "minute_17".
std::optional<std::uint64_t> minute_label(std::string_view label) {
  if (label.substr(0, 7) == "minute_") label.remove_prefix(7);
  return detail::parse_unsigned(label);
}

}  // namespace

result<minute_expansion> parse_minute_expansion(std::string_view text) {
  if (text == "uniform") return minute_expansion::uniform;
  if (text == "poisson") return minute_expansion::poisson;
  if (text == "equal") return minute_expansion::equal;
  return error{fmt::format("expansion \"{}\": expected uniform, poisson or equal", text)};
}

std::string_view to_string(minute_expansion mode) {
  switch (mode) {
    case minute_expansion::uniform: return "uniform";
    case minute_expansion::poisson: return "poisson";
    case minute_expansion::equal: return "equal";
  }
  return "?";
}

std::optional<std::filesystem::path> azure2019_durations_sibling(const std::filesystem::path& invocations) {
  const std::string name = invocations.filename().string();
  std::string sibling;
  constexpr std::string_view azure_prefix = "invocations_per_function_md";
  constexpr std::string_view sampler_suffix = "_inv.csv";
  if (name.rfind(azure_prefix, 0) == 0) {
    sibling = "function_durations_percentiles" + name.substr(azure_prefix.size());
  } else if (name.size() > sampler_suffix.size() &&
             name.compare(name.size() - sampler_suffix.size(), sampler_suffix.size(), sampler_suffix) == 0) {
    sibling = name.substr(0, name.size() - sampler_suffix.size()) + "_run.csv";
  } else if (const auto at = name.find("invocations"); at != std::string::npos) {
    sibling = name;
    sibling.replace(at, std::string_view{"invocations"}.size(), "durations");
  } else {
    return std::nullopt;
  }
  return invocations.parent_path() / sibling;
}

result<trace> read_azure2019_trace(const std::filesystem::path& invocations, const std::filesystem::path& durations,
                                   minute_expansion mode) {
  auto services = read_durations(durations);
  if (!services) return services.error_value();

  detail::line_reader reader(invocations);
  if (!reader.is_open()) return error{fmt::format("{}: cannot open file", invocations.string())};
  std::string line;
  if (!reader.next(line)) return error{fmt::format("{}: empty file", invocations.string())};

  // 1. The header: three id columns, an optional Trigger, and consecutive minute columns.
  const auto header_views = detail::split_fields(line);
  const std::vector<std::string> header(header_views.begin(), header_views.end());
  const std::vector<std::string_view> header_fields(header.begin(), header.end());
  auto ids = find_columns<3>(invocations, header_fields, {"HashOwner", "HashApp", "HashFunction"});
  if (!ids) return ids.error_value();
  std::vector<std::size_t> minute_columns;
  std::uint64_t previous_label = 0;
  for (std::size_t c = 0; c < header.size(); ++c) {
    if (c == (*ids)[0] || c == (*ids)[1] || c == (*ids)[2] || header[c] == "Trigger") continue;
    const auto label = minute_label(header[c]);
    if (!label) {
      return error{detail::at_line(invocations, 1, fmt::format("column {} \"{}\": expected a minute number like 1 or minute_1",
                                                               c + 1, header[c]))};
    }
    if (!minute_columns.empty() && *label != previous_label + 1) {
      return error{detail::at_line(invocations, 1, fmt::format("column {} \"{}\": expected minute {} (minute columns must be "
                                                               "consecutive)", c + 1, header[c], previous_label + 1))};
    }
    previous_label = *label;
    minute_columns.push_back(c);
  }
  if (minute_columns.empty()) return error{detail::at_line(invocations, 1, "no minute columns")};

  // 2. One row per function: validate every count, keep the non-zero minutes.
  trace out;
  out.source = invocations.string();
  std::vector<std::string> short_ids, app_ids, full_ids;
  std::unordered_map<std::string, std::size_t> first_line;
  std::vector<std::string_view> fields;  // one vector for every row: a row has a field per minute (1440 a day)
  std::string_view row;
  while (reader.next(row)) {
    if (detail::is_blank(row)) continue;
    const std::size_t n = reader.line_number();
    detail::split_fields(row, fields);
    if (fields.size() != header.size()) {
      return error{detail::at_line(invocations, n, fmt::format("expected {} fields, got {}", header.size(), fields.size()))};
    }
    const auto owner = fields[(*ids)[0]], app = fields[(*ids)[1]], function = fields[(*ids)[2]];
    for (std::size_t i = 0; i < 3; ++i) {
      if (fields[(*ids)[i]].empty()) {
        return error{detail::at_line(invocations, n, fmt::format("{} is empty", header[(*ids)[i]]))};
      }
    }
    const std::string key = function_key(owner, app, function);
    if (auto [it, inserted] = first_line.try_emplace(key, n); !inserted) {
      return error{detail::at_line(invocations, n, fmt::format("duplicate function {} (first on line {})",
                                                               describe(owner, app, function), it->second))};
    }
    auto data = std::make_shared<function_minutes>();
    for (std::size_t i = 0; i < minute_columns.size(); ++i) {
      const std::string_view text = fields[minute_columns[i]];
      if (text.size() == 1 && text[0] == '0') continue;  // most minutes of most functions are idle
      const auto count = detail::parse_unsigned(text);
      if (!count || *count > max_count_per_minute) {
        return error{detail::at_line(invocations, n, fmt::format("column \"{}\" = \"{}\": expected a whole number of "
                                                                 "invocations from 0 to {}",
                                                                 header[minute_columns[i]], text, max_count_per_minute))};
      }
      if (*count > 0) data->minutes.emplace_back(static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(*count));
    }
    const auto service = services->find(key);
    if (service == services->end()) {
      return error{detail::at_line(invocations, n, fmt::format("no durations for {} in {}", describe(owner, app, function),
                                                               durations.string()))};
    }
    data->service = service->second.service;
    short_ids.emplace_back(function);
    app_ids.push_back(fmt::format("{}/{}", app, function));
    full_ids.push_back(fmt::format("{}/{}/{}", owner, app, function));
    std::shared_ptr<const function_minutes> shared = std::move(data);
    out.functions.push_back(function_trace{
        {}, [shared, mode](std::uint64_t seed) { return std::make_unique<minute_source>(shared, mode, seed); }});
  }

  // 3. Ids: the shortest spelling that is unique in this file.
  const auto chosen = detail::choose_ids(short_ids, detail::choose_ids(app_ids, full_ids));
  for (std::size_t i = 0; i < chosen.size(); ++i) out.functions[i].id = chosen[i];
  return out;
}

}  // namespace scale::sim
