#pragma once
/// Reader for the Azure Functions 2021 trace (Zhang et al., SOSP'21): one row per invocation,
/// `app,func,end_timestamp,duration` in seconds. docs/traces.md, "Azure Functions 2021".

#include <sim/arrival.hpp>

#include <libscale/result.hpp>

#include <filesystem>

namespace scale::sim {

/// Reads and validates the whole file (every error names file, line and field). Each invocation arrives at
/// start = end_timestamp - duration and is served for `duration`; times are rebased so that the earliest start
/// in the file is 0. Rows are not sorted in the published trace, so each function's rows are sorted by start
/// (ties keep file order) and kept in memory, 16 bytes per invocation; `open(seed)` ignores the seed.
///
/// Function ids: `func`; if two apps share a func hash, `app/func` for all. Functions are in order of first
/// appearance. Columns may come in any order; nothing else may be in the header.
result<trace> read_azure2021_trace(const std::filesystem::path& file);

}  // namespace scale::sim
