#pragma once
/// The simulator's clock: a binary min-heap of timed events, ordered by (time, sequence number) so events at the
/// same instant come out in the order they were pushed, whatever the heap's internal layout.

#include <libscale/time.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace scale::sim {

/// A priority queue of `Event` values keyed by model time. `Event` is a small value type (no virtual dispatch:
/// the consumer switches on a kind field). Push and pop cost O(log n); memory is reused across the run.
template <class Event>
class event_queue {
 public:
  /// One scheduled event. `sequence` counts pushes from 0 and breaks ties between equal times.
  struct entry {
    time_point time{};
    std::uint64_t sequence = 0;
    Event event{};
  };

  /// Schedules `event` at `time`.
  void push(time_point time, Event event) {
    const std::uint64_t sequence = next_sequence_++;
    // Sift a hole up from the end and write the entry once, where it belongs. (std::push_heap builds the entry
    // in a temporary field by field and then copies it whole, which stalls on store forwarding.)
    heap_.emplace_back();
    std::size_t hole = heap_.size() - 1;
    while (hole > 0) {
      const std::size_t parent = (hole - 1) / 2;
      if (!earlier(time, sequence, heap_[parent])) break;
      heap_[hole] = std::move(heap_[parent]);
      hole = parent;
    }
    entry& e = heap_[hole];
    e.time = time;
    e.sequence = sequence;
    e.event = std::move(event);
  }

  /// The earliest event; only valid when !empty().
  const entry& top() const { return heap_.front(); }

  /// Removes and returns the earliest event; only valid when !empty().
  entry pop() {
    entry out = std::move(heap_.front());
    const std::size_t n = heap_.size() - 1;
    if (n > 0) {
      // The last entry fills the root's hole, sifted down. (time, sequence) is a total order, so the pops come
      // out in the same order whatever the heap's shape.
      std::size_t hole = 0;
      for (std::size_t child = 1; child < n; child = 2 * hole + 1) {
        // Branch-free choice of the earlier child: which one it is is a coin toss the predictor cannot learn.
        if (child + 1 < n) child += earlier(heap_[child + 1].time, heap_[child + 1].sequence, heap_[child]);
        if (!earlier(heap_[child].time, heap_[child].sequence, heap_[n])) break;
        heap_[hole] = std::move(heap_[child]);
        hole = child;
      }
      heap_[hole] = std::move(heap_[n]);
    }
    heap_.pop_back();
    return out;
  }

  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }

  /// Pre-allocates room for `n` pending events.
  void reserve(std::size_t n) { heap_.reserve(n); }

  /// Sequence number the next push will get (= pushes so far).
  std::uint64_t pushed() const { return next_sequence_; }

 private:
  /// Whether an entry at (time, sequence) comes out before `b`.
  static bool earlier(time_point time, std::uint64_t sequence, const entry& b) {
    // Bitwise on ints, not short-circuit, so that it compiles to flag arithmetic instead of branches (and
    // Clang's -Wbitwise-instead-of-logical sees that it is meant).
    const int before = time < b.time;
    const int same_time = time == b.time;
    const int lower_sequence = sequence < b.sequence;
    return (before | (same_time & lower_sequence)) != 0;
  }

  std::vector<entry> heap_;
  std::uint64_t next_sequence_ = 0;
};

}  // namespace scale::sim
