#pragma once
/// One entry point for every trace file: recognises the format from the header line and opens it with the
/// right reader. docs/traces.md lists the formats.

#include <sim/arrival.hpp>
#include <sim/azure2019_trace.hpp>

#include <libscale/result.hpp>

#include <filesystem>
#include <string_view>

namespace scale::sim {

enum class trace_format {
  csv,        // ours: timestamp_s,function,duration_ms (csv_trace.hpp)
  azure2019,  // per-minute counts + duration percentiles (azure2019_trace.hpp)
  azure2021,  // app,func,end_timestamp,duration (azure2021_trace.hpp)
};

/// "csv", "azure2019", "azure2021".
std::string_view to_string(trace_format format);

/// How to open a trace; only Azure 2019 files take options today.
struct trace_options {
  minute_expansion expansion = minute_expansion::uniform;
  /// The Azure 2019 durations file; empty means the sibling by naming convention (azure2019_durations_sibling).
  std::filesystem::path durations_file;

  bool operator==(const trace_options&) const = default;
};

/// The format of `file`, from its first line: exactly `timestamp_s,function,duration_ms` is our CSV; the four
/// columns app, func, end_timestamp, duration (any order) are Azure 2021; a header with HashOwner, HashApp and
/// HashFunction is an Azure 2019 invocations file. An Azure 2019 durations or memory file is an error that says
/// to open the invocations file instead.
result<trace_format> detect_trace_format(const std::filesystem::path& file);

/// Detects the format and reads the file. A durations file given for a format other than Azure 2019 is an error.
result<trace> open_trace(const std::filesystem::path& file, const trace_options& options = {});

}  // namespace scale::sim
