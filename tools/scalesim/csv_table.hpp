#pragma once
// A small reader for the header-first CSV files our commands take; every error names the source and line.

#include <libscale/result.hpp>

#include <cstddef>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scale::tools {

/// One data row: its fields and the 1-based line it came from.
struct csv_row {
  std::size_t line = 0;
  std::vector<std::string> fields;
};

/// A header-first CSV table, read whole. Blank lines are skipped; fields are trimmed; no quoting.
struct csv_table {
  std::string source;
  std::vector<std::string> header;
  std::vector<csv_row> rows;

  /// Index of a header column, or nullopt.
  std::optional<std::size_t> column(std::string_view name) const;
};

/// Reads a table; `required` and `optional` list the only columns accepted, and all required ones must be there.
result<csv_table> read_csv_table(std::istream& in, std::string source, const std::vector<std::string>& required,
                                 const std::vector<std::string>& optional);

/// "source:line: message" — the one format every row error uses.
std::string row_error(const csv_table& table, const csv_row& row, std::string_view message);

}  // namespace scale::tools
