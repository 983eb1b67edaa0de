#pragma once
/// Time-bucketed linear average over a sliding window (Knative `aggregation.TimedFloat64Buckets`).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "libscale/detail/timed_window.hpp"
#include "libscale/time.hpp"

namespace scale {

namespace detail {

/// `value` rounded half away from zero to `digits` decimal places, computed as Knative's
/// `aggregation.roundToNDigits` does (scale by an exact power of ten, round, scale back).
inline double round_to_digits(double value, int digits) {
  // Go's math.Pow10 is exact for the small powers used here; a product of tens is exact up to 1e22.
  double scale = 1.0;
  for (int i = 0; i < digits; ++i) scale *= 10.0;
  return std::round(value * scale) / scale;
}

/// Non-negative remainder of `index` modulo `count` (count > 0), so negative bucket indices work.
constexpr std::size_t ring_slot(std::int64_t index, std::int64_t count) {
  const std::int64_t r = index % count;
  return static_cast<std::size_t>(r < 0 ? r + count : r);
}

}  // namespace detail

/// Knative's linear window on integer bucket indices: per-bucket sums in a ring of `bucket_count`
/// slots, a running total, and the first and newest written buckets. Time types live in
/// `linear_window`; this class only sees bucket numbers.
class linear_buckets {
 public:
  /// A window of `bucket_count` buckets (at least 1) that reads as empty once a query is more than
  /// `idle_limit` buckets past the newest write. When the window is a whole number of buckets the
  /// two are equal; Knative's `IsEmpty` compares real durations, hence the separate limit.
  explicit linear_buckets(std::int64_t bucket_count, std::int64_t idle_limit)
      : buckets_(static_cast<std::size_t>(std::max<std::int64_t>(bucket_count, 1)), 0.0),
        idle_limit_(idle_limit) {}

  /// A window of exactly `bucket_count` buckets.
  explicit linear_buckets(std::int64_t bucket_count) : linear_buckets(bucket_count, bucket_count) {}

  /// Adds `value` to bucket `bucket` (Knative `TimedFloat64Buckets.Record`). Cost O(1) plus one step
  /// per bucket skipped since the newest write, at most `bucket_count()`.
  void record(std::int64_t bucket, double value) {
    const std::int64_t nb = bucket_count();
    // 1. First write ever: Knative's zero `lastWrite` lies more than a window back, so it takes the
    //    full-reset path below.
    if (last_write_ == no_bucket) {
      reset_at(bucket);
    } else if (bucket != last_write_) {
      // 2. A bucket a whole window (or more) older than the newest write is dropped.
      if (last_write_ - bucket >= nb) return;
      // 3. A late write may move the start of history back.
      if (first_write_ == no_bucket || first_write_ > bucket) first_write_ = bucket;
      if (bucket > last_write_) {
        if (bucket - last_write_ >= nb) {
          // 4a. Silent for a whole window: forget everything and start a partial window again.
          reset_at(bucket);
        } else {
          // 4b. Buckets between the newest write and this one had no data: they become zeros. The slots
          //     follow the newest one round the ring (no division on the per-second path).
          std::size_t slot = last_slot_;
          for (std::int64_t i = last_write_ + 1; i <= bucket; ++i) {
            slot = next_slot(slot);
            total_ -= buckets_[slot];
            buckets_[slot] = 0.0;
          }
          last_write_ = bucket;
          last_slot_ = slot;
        }
      } else {
        // 5a. A late write adds to its own slot.
        buckets_[detail::ring_slot(bucket, nb)] += value;
        total_ += value;
        return;
      }
    }
    // 5b. Writes to the newest bucket add up.
    buckets_[last_slot_] += value;
    total_ += value;
  }

  /// Mean per bucket as of bucket `now`, rounded to 6 decimals (Knative `TimedFloat64Buckets.WindowAverage`).
  /// Divides by the buckets since the first write (partial window), leaves out the silent buckets after
  /// the newest write, and is 0 once `now` is a whole window past it. Does not change the state.
  double average(std::int64_t now) const {
    if (last_write_ == no_bucket) return 0.0;
    const std::int64_t nb = bucket_count();
    const std::int64_t since_last = now - last_write_;
    if (since_last <= 0) {
      const double valid = std::min(history_buckets(), static_cast<double>(nb));
      return detail::round_to_digits(total_ / valid, 6);
    }
    if (since_last < nb) {
      // The slots after the newest write still hold data a window older than `now`: leave them out.
      double remaining = total_;
      std::size_t slot = last_slot_;
      for (std::int64_t i = last_write_ + 1; i <= now; ++i) {
        slot = next_slot(slot);
        remaining -= buckets_[slot];
      }
      const double valid = std::min(history_buckets(), static_cast<double>(nb - since_last));
      return detail::round_to_digits(remaining / valid, 6);
    }
    return 0.0;
  }

  /// True when nothing was written, or `now` is more than the idle limit past the newest write
  /// (Knative `TimedFloat64Buckets.IsEmpty`).
  bool is_empty(std::int64_t now) const { return last_write_ == no_bucket || now - last_write_ > idle_limit_; }

  /// Rebuilds the ring for a new size (Knative `TimedFloat64Buckets.ResizeWindow`, with `now` in place
  /// of its wall-clock read). If the window was not empty at `now`, the newest min(old, new) buckets
  /// are kept and the first write is set `old bucket_count − 1` buckets before the newest write;
  /// otherwise history is dropped. Callers skip it when the window length is unchanged.
  void resize(std::int64_t bucket_count, std::int64_t idle_limit, std::int64_t now) {
    const std::int64_t old_nb = this->bucket_count();
    const std::int64_t new_nb = std::max<std::int64_t>(bucket_count, 1);
    std::vector<double> fresh(static_cast<std::size_t>(new_nb), 0.0);
    double fresh_total = 0.0;
    if (last_write_ != no_bucket && !is_empty(now)) {
      std::int64_t index = last_write_;
      for (std::int64_t copied = 0; copied < std::min(old_nb, new_nb); ++copied, --index) {
        const double value = buckets_[detail::ring_slot(index, old_nb)];
        fresh[detail::ring_slot(index, new_nb)] = value;
        fresh_total += value;
      }
      // Knative assumes the old ring was full, whatever the real first write was.
      first_write_ = last_write_ - (old_nb - 1);
    } else {
      first_write_ = no_bucket;
    }
    buckets_ = std::move(fresh);
    total_ = fresh_total;
    idle_limit_ = idle_limit;
    if (last_write_ != no_bucket) last_slot_ = detail::ring_slot(last_write_, new_nb);
  }

  /// Number of slots in the ring.
  std::int64_t bucket_count() const { return static_cast<std::int64_t>(buckets_.size()); }

  /// The value held for bucket `index`: its slot when `index` is one of the `bucket_count()` buckets
  /// ending at the newest write, else 0.
  double bucket(std::int64_t index) const {
    if (last_write_ == no_bucket || index > last_write_ || last_write_ - index >= bucket_count()) return 0.0;
    return buckets_[detail::ring_slot(index, bucket_count())];
  }

  /// Newest written bucket, if any.
  std::optional<std::int64_t> last_write() const {
    return last_write_ == no_bucket ? std::nullopt : std::optional{last_write_};
  }

  /// Oldest bucket the average counts from; empty after a resize that dropped history.
  std::optional<std::int64_t> first_write() const {
    return first_write_ == no_bucket ? std::nullopt : std::optional{first_write_};
  }

  /// Running sum of every slot (Knative `windowTotal`).
  double total() const { return total_; }

 private:
  void reset_at(std::int64_t bucket) {
    std::fill(buckets_.begin(), buckets_.end(), 0.0);
    total_ = 0.0;
    first_write_ = bucket;
    last_write_ = bucket;
    last_slot_ = detail::ring_slot(bucket, bucket_count());
  }

  std::size_t next_slot(std::size_t slot) const { return slot + 1 == buckets_.size() ? 0 : slot + 1; }

  // Buckets from the first write to the newest one, inclusive. Without a first write Knative measures
  // from the zero time, which is longer than any window.
  double history_buckets() const {
    if (first_write_ == no_bucket) return std::numeric_limits<double>::max();
    return static_cast<double>(last_write_ - first_write_ + 1);
  }

  std::vector<double> buckets_;
  // A sentinel rather than std::optional: GCC 12 at -O3 warns (falsely) that an optional's value may be
  // used uninitialised, which breaks -Werror builds of every consumer.
  static constexpr std::int64_t no_bucket = std::numeric_limits<std::int64_t>::min();
  std::int64_t idle_limit_;
  std::int64_t first_write_ = no_bucket;
  std::int64_t last_write_ = no_bucket;
  // The ring slot of last_write_ (valid while there is one).
  std::size_t last_slot_ = 0;
  double total_ = 0.0;
};

/// Linear average of values recorded over the last `window` of model time, in `granularity` buckets
/// (Knative `TimedFloat64Buckets`): `linear_buckets` behind the time adapter.
using linear_window = detail::timed_window<linear_buckets>;

}  // namespace scale
