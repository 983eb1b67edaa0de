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
    heap_.push_back(entry{time, next_sequence_++, std::move(event)});
    std::push_heap(heap_.begin(), heap_.end(), later);
  }

  /// The earliest event; only valid when !empty().
  const entry& top() const { return heap_.front(); }

  /// Removes and returns the earliest event; only valid when !empty().
  entry pop() {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    entry out = std::move(heap_.back());
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
  // std::push_heap builds a max-heap; "later" as the less-than puts the earliest event on top.
  static bool later(const entry& a, const entry& b) {
    if (a.time != b.time) return a.time > b.time;
    return a.sequence > b.sequence;
  }

  std::vector<entry> heap_;
  std::uint64_t next_sequence_ = 0;
};

}  // namespace scale::sim
