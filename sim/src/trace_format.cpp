#include <sim/trace_format.hpp>

#include <sim/azure2021_trace.hpp>
#include <sim/csv_trace.hpp>

#include "trace_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <system_error>

namespace scale::sim {
namespace {

bool has(const std::vector<std::string_view>& fields, std::string_view name) {
  return std::find(fields.begin(), fields.end(), name) != fields.end();
}

bool has_prefix(const std::vector<std::string_view>& fields, std::string_view prefix) {
  return std::any_of(fields.begin(), fields.end(), [&](std::string_view f) { return f.substr(0, prefix.size()) == prefix; });
}

}  // namespace

std::string_view to_string(trace_format format) {
  switch (format) {
    case trace_format::csv: return "csv";
    case trace_format::azure2019: return "azure2019";
    case trace_format::azure2021: return "azure2021";
  }
  return "?";
}

result<trace_format> detect_trace_format(const std::filesystem::path& file) {
  detail::line_reader reader(file);
  if (!reader.is_open()) return error{fmt::format("{}: cannot open file", file.string())};
  std::string line;
  if (!reader.next(line)) return error{fmt::format("{}: empty file", file.string())};
  const auto fields = detail::split_fields(line);
  if (line == csv_trace_header) return trace_format::csv;
  if (fields.size() == 4 && has(fields, "app") && has(fields, "func") && has(fields, "end_timestamp") &&
      has(fields, "duration")) {
    return trace_format::azure2021;
  }
  if (has(fields, "HashOwner") && has(fields, "HashApp") && has(fields, "HashFunction")) {
    if (has_prefix(fields, "percentile_Average_")) {
      return error{detail::at_line(file, 1, "this is an Azure 2019 durations file; open the invocations file instead "
                                            "(its durations file is found by name or given explicitly)")};
    }
    if (has_prefix(fields, "AverageAllocatedMb")) {
      return error{detail::at_line(file, 1, "this is an Azure 2019 memory file; open the invocations file instead")};
    }
    return trace_format::azure2019;
  }
  constexpr std::size_t shown = 60;
  const std::string header = line.size() > shown ? line.substr(0, shown) + "..." : line;
  return error{detail::at_line(file, 1, fmt::format("unrecognised header \"{}\": expected \"{}\" (our CSV), "
                                                    "\"app,func,end_timestamp,duration\" (Azure 2021) or "
                                                    "\"HashOwner,HashApp,HashFunction,...\" (Azure 2019 invocations)",
                                                    header, csv_trace_header))};
}

result<trace> open_trace(const std::filesystem::path& file, const trace_options& options) {
  const auto format = detect_trace_format(file);
  if (!format) return format.error_value();
  if (*format != trace_format::azure2019 && !options.durations_file.empty()) {
    return error{fmt::format("{}: a durations file ({}) only goes with an Azure 2019 trace, and this is {}", file.string(),
                             options.durations_file.string(), to_string(*format))};
  }
  switch (*format) {
    case trace_format::csv:
      return read_csv_trace(file);
    case trace_format::azure2021:
      return read_azure2021_trace(file);
    case trace_format::azure2019: {
      std::filesystem::path durations = options.durations_file;
      if (durations.empty()) {
        const auto sibling = azure2019_durations_sibling(file);
        if (!sibling) {
          return error{fmt::format("{}: no durations file by name (invocations_per_function_md.* -> "
                                   "function_durations_percentiles.*, NNN_inv.csv -> NNN_run.csv, *invocations* -> "
                                   "*durations*); give it explicitly",
                                   file.string())};
        }
        std::error_code ec;
        if (!std::filesystem::exists(*sibling, ec)) {
          return error{fmt::format("{}: its durations file {} does not exist; give it explicitly", file.string(),
                                   sibling->string())};
        }
        durations = *sibling;
      }
      return read_azure2019_trace(file, durations, options.expansion);
    }
  }
  return error{"unreachable"};
}

}  // namespace scale::sim
