#pragma once
// Helpers the trace tests share.

#include <sim/arrival.hpp>

#include <cstdint>
#include <vector>

namespace scale::sim::testing {

/// Every arrival of one function's stream, opened with `seed`.
inline std::vector<arrival> drain(const function_trace& f, std::uint64_t seed = 0) {
  std::vector<arrival> out;
  auto source = f.open(seed);
  while (auto a = source->next()) out.push_back(*a);
  return out;
}

}  // namespace scale::sim::testing
