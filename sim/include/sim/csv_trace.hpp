#pragma once
/// Our own trace format, the one `scalesim trace gen` writes: CSV with the header
/// `timestamp_s,function,duration_ms`, one row per request. docs/traces.md, "Our CSV".

#include <sim/arrival.hpp>

#include <libscale/result.hpp>

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <string_view>

namespace scale::sim {

/// The header line, exactly (columns in this order).
inline constexpr std::string_view csv_trace_header = "timestamp_s,function,duration_ms";

/// Reads our CSV: `timestamp_s` is decimal seconds >= 0 with at most 9 fractional digits, `function` a non-empty
/// id, `duration_ms` decimal milliseconds >= 0 with at most 6 fractional digits (both exact to the nanosecond).
/// Each function's rows must be in non-decreasing time; functions may interleave. Blank lines are skipped.
///
/// The file is validated whole up front (every error names file, line and field), keeping per function only
/// where its rows start and end, how many there are and whether every row spells its id plainly. `open(seed)`
/// then streams the function's rows from the file in chunks of at most 4096, reopening the file per chunk, so
/// neither memory nor open file handles grow with the trace. Each stream reads the file from its function's
/// first row to its last in 64 KiB blocks; with a plain id it jumps from one ",id," to the next instead of
/// parsing the other functions' rows in between. Functions are in order of first appearance; the seed is
/// ignored. A file changed after validation ends the stream at the first row it reads that no longer parses.
result<trace> read_csv_trace(const std::filesystem::path& file);

/// Writes `t` as our CSV: the header, then every function's arrivals merged in time order (ties: function
/// order), function i opened with function_seed(seed, i). Streams: memory is one pending arrival per function.
/// Ids must not hold commas or line breaks (none of our readers or generators makes such ids).
void write_csv_trace(const trace& t, std::uint64_t seed, std::ostream& out);

}  // namespace scale::sim
