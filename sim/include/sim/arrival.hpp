#pragma once
/// What a workload feeds the simulator: requests with their service time, one function at a time.

#include <libscale/time.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace scale::sim {

/// One request: when it reaches the service and how long a warm pod takes to serve it.
struct arrival {
  time_point time{};
  duration service_time{};

  bool operator==(const arrival&) const = default;
};

/// A stream of one function's arrivals in non-decreasing time order. Readers implement it so that memory does
/// not grow with the number of requests.
class arrival_source {
 public:
  virtual ~arrival_source() = default;
  /// The next arrival, or nullopt at the end of the stream.
  virtual std::optional<arrival> next() = 0;
};

/// One function of a trace: its id and a way to open its arrival stream. `open(seed)` is called once per run;
/// the same seed must give the same stream (randomised expansions draw only from it).
struct function_trace {
  std::string id;
  std::function<std::unique_ptr<arrival_source>(std::uint64_t seed)> open;
};

/// A whole trace: its functions, in a stable order (the order of the file).
struct trace {
  std::string source;
  std::vector<function_trace> functions;
};

/// Derives a per-function seed from the run seed and the function's index, so functions are independent and the
/// result does not depend on which thread runs which function (splitmix64 finaliser).
constexpr std::uint64_t function_seed(std::uint64_t run_seed, std::uint64_t function_index) {
  std::uint64_t z = run_seed + 0x9e3779b97f4a7c15ULL * (function_index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace scale::sim
