#pragma once
/// Sliding-window maximum behind the scale-down delay (Knative `pkg/autoscaler/aggregation/max`).

#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>

#include "libscale/time.hpp"

namespace scale {

/// Maximum of the values recorded in the last `size_slots()` integer slots (Knative `max.window`).
/// Slots are expected not to decrease from one record to the next. Nothing leaves the window except
/// during a record, so `current()` is the maximum as of the latest record, whatever time it is now.
class max_window {
 public:
  /// A window covering `size_slots` consecutive slots; sizes below 1 count as 1 (Knative cannot build them).
  explicit max_window(std::int64_t size_slots) : size_slots_(size_slots < 1 ? 1 : size_slots) {}

  /// Records `value` at `slot`: drops the entries it dominates and those `size_slots()` or more slots older.
  void record(std::int64_t slot, std::int32_t value) {
    // The deque holds entries with ascending slots and strictly descending values ("ascending minima",
    // mirrored for maxima, as in Knative `window.Record`), so the front is always the maximum.
    // 1. A new value at least as large as the newest entries outlives and outranks them: drop them.
    while (!entries_.empty() && value >= entries_.back().value) {
      entries_.pop_back();
    }
    // 2. Entries that are a whole window older than `slot` no longer count.
    while (!entries_.empty() && slot - entries_.front().slot >= size_slots_) {
      entries_.pop_front();
    }
    // 3. Two records in one slot: keep the larger (after step 1 a surviving same-slot entry is larger).
    if (!entries_.empty() && entries_.back().slot == slot) {
      value = entries_.back().value;
      entries_.pop_back();
    }
    // 4. Only decreasing slots can overfill the window; Knative treats that as impossible and panics.
    //    We keep the newest `size_slots()` entries instead, so the class never fails.
    if (static_cast<std::int64_t>(entries_.size()) >= size_slots_) {
      entries_.pop_front();
    }
    entries_.push_back(entry{slot, value});
  }

  /// The maximum over the window as of the latest record; 0 before any record (Knative `window.Current`).
  std::int32_t current() const { return entries_.empty() ? 0 : entries_.front().value; }

  /// Number of slots the window spans.
  std::int64_t size_slots() const { return size_slots_; }

 private:
  struct entry {
    std::int64_t slot = 0;
    std::int32_t value = 0;
  };

  std::int64_t size_slots_;
  std::deque<entry> entries_;
};

/// Knative `max.TimeWindow`: a max_window whose slots are `granularity`-wide spans of model time.
class max_time_window {
 public:
  /// Spans ceil(window / granularity) slots (at least 1); a granularity below 1 ns counts as 1 ns.
  max_time_window(duration window, duration granularity)
      : granularity_(granularity < duration{1} ? duration{1} : granularity),
        slots_(slot_count(window, granularity_)) {}

  /// Records `value` in the slot floor(now / granularity) (Knative `TimeWindow.Record`).
  void record(time_point now, std::int32_t value) { slots_.record(bucket_index(now, granularity_), value); }

  /// The maximum as of the latest record; time passing without records changes nothing (Knative `Current`).
  std::int32_t current() const { return slots_.current(); }

  /// Width of one slot.
  duration granularity() const { return granularity_; }

  /// Number of slots the window spans.
  std::int64_t size_slots() const { return slots_.size_slots(); }

 private:
  static std::int64_t slot_count(duration window, duration granularity) {
    // Knative `NewTimeWindow` divides the two durations as float64 nanoseconds and takes the ceiling.
    const double slots = std::ceil(static_cast<double>(window.count()) / static_cast<double>(granularity.count()));
    // Out-of-range sizes cannot come from a validated spec; clamp them instead of converting with UB.
    if (!(slots >= 1.0)) {
      return 1;
    }
    if (slots >= static_cast<double>(std::numeric_limits<std::int64_t>::max())) {
      return std::numeric_limits<std::int64_t>::max();
    }
    return static_cast<std::int64_t>(slots);
  }

  duration granularity_;
  max_window slots_;
};

}  // namespace scale
