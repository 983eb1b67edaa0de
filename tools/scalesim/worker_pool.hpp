#pragma once
/// The one way scalesim spreads independent simulations over threads.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace scale::tools {

/// Calls `body(i)` once for every i below `n`, on `threads` workers (this thread is one), each taking the next
/// index as it frees up. Results that a caller stores by index do not depend on the thread count.
template <class Body>
void for_each_index(std::size_t n, unsigned threads, const Body& body) {
  std::atomic<std::size_t> next{0};
  const auto worker = [&] {
    for (std::size_t i = next++; i < n; i = next++) body(i);
  };
  const unsigned workers = static_cast<unsigned>(std::max<std::size_t>(1, std::min<std::size_t>(threads, n)));
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < workers; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
}

}  // namespace scale::tools
