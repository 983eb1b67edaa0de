#include "csv_table.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace scale::tools {
namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

std::vector<std::string> split_fields(std::string_view line) {
  std::vector<std::string> fields;
  while (true) {
    const auto comma = line.find(',');
    fields.emplace_back(trim(line.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    line.remove_prefix(comma + 1);
  }
  return fields;
}

bool contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

std::optional<std::size_t> csv_table::column(std::string_view name) const {
  const auto it = std::find(header.begin(), header.end(), name);
  if (it == header.end()) return std::nullopt;
  return static_cast<std::size_t>(it - header.begin());
}

std::string row_error(const csv_table& table, const csv_row& row, std::string_view message) {
  return fmt::format("{}:{}: {}", table.source, row.line, message);
}

result<csv_table> read_csv_table(std::istream& in, std::string source, const std::vector<std::string>& required,
                                 const std::vector<std::string>& optional) {
  csv_table table;
  table.source = std::move(source);
  std::string line;
  std::size_t line_number = 0;
  bool have_header = false;
  while (std::getline(in, line)) {
    ++line_number;
    if (trim(line).empty()) continue;
    auto fields = split_fields(line);
    if (!have_header) {
      have_header = true;
      for (const auto& name : fields) {
        if (!contains(required, name) && !contains(optional, name)) {
          return error{fmt::format("{}:{}: unknown column \"{}\" (expected {}{}{})", table.source, line_number,
                                   name, fmt::join(required, ","), optional.empty() ? "" : " and optionally ",
                                   fmt::join(optional, ","))};
        }
        if (std::count(fields.begin(), fields.end(), name) > 1) {
          return error{fmt::format("{}:{}: column \"{}\" appears twice", table.source, line_number, name)};
        }
      }
      for (const auto& name : required) {
        if (!contains(fields, name)) {
          return error{fmt::format("{}:{}: missing column \"{}\" in header", table.source, line_number, name)};
        }
      }
      table.header = std::move(fields);
      continue;
    }
    if (fields.size() != table.header.size()) {
      return error{fmt::format("{}:{}: expected {} fields, found {}", table.source, line_number,
                               table.header.size(), fields.size())};
    }
    table.rows.push_back(csv_row{line_number, std::move(fields)});
  }
  if (in.bad()) return error{fmt::format("{}: read error", table.source)};
  if (!have_header) return error{fmt::format("{}: empty input, expected a header line", table.source)};
  return table;
}

}  // namespace scale::tools
