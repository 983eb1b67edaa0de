#pragma once
/// A function's arrival stream read once into memory and replayed, for callers that run the same stream many
/// times (`scalesim tune` simulates every configuration on the same arrivals): expanding a trace (the Azure 2019
/// per-minute counts, their random order statistics and durations) can cost as much as simulating it.

#include <sim/arrival.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace scale::sim {

/// A stream over `arrivals` from the first, sharing them (any number of streams may read one vector at once).
std::unique_ptr<arrival_source> replay_arrivals(std::shared_ptr<const std::vector<arrival>> arrivals);

/// Every arrival of `function` opened with `seed`, in stream order; nullopt once there are more than
/// `max_arrivals` (the caller then keeps streaming it).
std::optional<std::vector<arrival>> record_arrivals(const function_trace& function, std::uint64_t seed,
                                                    std::size_t max_arrivals);

/// `function` whose stream for `seed` is `arrivals` (as `record_arrivals` read it), replayed from memory; any
/// other seed opens the original stream.
function_trace replay_function(function_trace function, std::uint64_t seed,
                               std::shared_ptr<const std::vector<arrival>> arrivals);

}  // namespace scale::sim
