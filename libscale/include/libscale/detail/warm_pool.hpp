#pragma once
/// The pod bookkeeping of the keep-alive policies: one pod per request in flight, and for each pod that went
/// idle a window in which it is kept loaded (optionally after a pre-warm delay in which it is unloaded).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "libscale/time.hpp"

namespace scale::detail {

/// A double-ended queue on a power-of-two ring that keeps its memory: O(1) at both ends, contiguous storage
/// (no per-block allocation as std::deque has), and sorted insertion that shifts the elements behind it.
template <class T>
class sorted_ring {
 public:
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  /// The i-th element from the front.
  const T& operator[](std::size_t i) const { return ring_[(head_ + i) & mask_]; }
  const T& front() const { return ring_[head_]; }
  void pop_front() {
    head_ = (head_ + 1) & mask_;
    --size_;
  }
  void pop_back() { --size_; }
  /// Inserts `v` behind the last element it does not go before, searching from the back: O(1) when `v` goes
  /// last, as it does when elements come in order.
  template <class GoesBefore>
  void insert(const T& v, GoesBefore goes_before) {
    if (size_ == ring_.size()) grow();
    std::size_t i = size_;
    for (; i > 0 && goes_before(v, (*this)[i - 1]); --i) ring_[(head_ + i) & mask_] = ring_[(head_ + i - 1) & mask_];
    ring_[(head_ + i) & mask_] = v;
    ++size_;
  }

 private:
  void grow() {
    std::vector<T> bigger(std::max<std::size_t>(8, ring_.size() * 2));
    for (std::size_t i = 0; i < size_; ++i) bigger[i] = (*this)[i];
    ring_ = std::move(bigger);
    head_ = 0;
    mask_ = ring_.size() - 1;
  }

  std::vector<T> ring_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  std::size_t mask_ = 0;
};

/// Busy pods plus idle pods with their load windows. A pod that goes idle at t with pre-warm p and keep-alive k
/// is unloaded during [t, t + p) and loaded during [t + p, t + p + k); with p = 0 it simply stays loaded.
/// Every call takes `now`, and `now` never goes back from one call to the next (the policies' contract).
// Loaded windows are kept sorted by release time and pre-warming ones by load time, so with a fixed keep-alive
// and no pre-warm (windows released in time order) every operation is O(1): acquire takes the back, expire pops
// the front. The answers are those of a scan over every window in the order they were released.
class warm_pool {
 public:
  /// A request starts at `now`. It takes a loaded idle pod when there is one (the one kept longest, so the
  /// others can expire first) and returns true (a warm start); otherwise it takes the idle pod whose pre-warm is
  /// due soonest (of several due together, the one released first), or a new pod, and returns false (a cold
  /// start).
  bool acquire(time_point now) {
    expire(now);
    ++busy_;
    if (!loaded_.empty()) {
      loaded_.pop_back();
      return true;
    }
    // A pod still waiting for its pre-warm is the one the request now starts cold.
    if (!prewarming_.empty()) prewarming_.pop_front();
    return false;
  }

  /// A request ends at `now`; its pod goes idle with the given windows (keep-alive 0: released at once).
  void release(time_point now, duration prewarm, duration keepalive) {
    if (busy_ > 0) --busy_;
    if (keepalive <= duration::zero()) return;
    const time_point load_at = now + prewarm;
    const time_point release_at = load_at + keepalive;
    if (load_at <= now) {
      insert_loaded(release_at);
      return;
    }
    // After every window due no later, so windows due together keep their release order.
    prewarming_.insert(window{load_at, release_at},
                       [](const window& a, const window& b) { return a.load_at < b.load_at; });
  }

  /// Pods wanted at `now`: busy pods and loaded idle pods.
  std::int32_t pods(time_point now) const {
    if (settled(now)) return busy_ + static_cast<std::int32_t>(loaded_.size());
    // Windows that ended at or before `now` but were not expired yet sit at the front.
    std::size_t live = 0;
    while (live < loaded_.size() && loaded_[live] <= now) ++live;
    auto n = busy_ + static_cast<std::int32_t>(loaded_.size() - live);
    for (std::size_t i = 0; i < prewarming_.size() && prewarming_[i].load_at <= now; ++i) {
      if (now < prewarming_[i].release_at) ++n;
    }
    return n;
  }

  /// The next instant after `now` at which `pods` changes by itself; nullopt when it never will.
  std::optional<time_point> next_change(time_point now) const {
    std::optional<time_point> next;
    if (settled(now)) {
      // Every loaded window ends after `now` and every pre-warm is still due: the earliest front.
      if (!loaded_.empty()) next = loaded_.front();
      if (!prewarming_.empty() && (!next || prewarming_.front().load_at < *next)) next = prewarming_.front().load_at;
      return next;
    }
    for (std::size_t i = 0; i < loaded_.size(); ++i) {
      if (loaded_[i] > now) {
        next = loaded_[i];
        break;
      }
    }
    for (std::size_t i = 0; i < prewarming_.size(); ++i) {
      const window& w = prewarming_[i];
      // Sorted by load time: the first window still to load is the last one that can come first.
      const time_point t = w.load_at > now ? w.load_at : w.release_at;
      if (t > now && (!next || t < *next)) next = t;
      if (w.load_at > now) break;
    }
    return next;
  }

  /// Forgets windows that ended at or before `now`, and loads the pre-warmed pods due by `now`.
  void expire(time_point now) {
    while (!prewarming_.empty() && prewarming_.front().load_at <= now) {
      insert_loaded(prewarming_.front().release_at);
      prewarming_.pop_front();
    }
    while (!loaded_.empty() && loaded_.front() <= now) loaded_.pop_front();
  }

  /// Requests in flight.
  std::int32_t busy() const { return busy_; }

  /// Idle pods the pool still holds, loaded or pre-warming, including windows that ended but were not expired.
  std::size_t idle_windows() const { return loaded_.size() + prewarming_.size(); }

 private:
  struct window {
    time_point load_at;
    time_point release_at;
  };

  /// Nothing to expire or to load at `now` (as right after `expire(now)`): the fronts tell everything.
  bool settled(time_point now) const {
    return (loaded_.empty() || loaded_.front() > now) && (prewarming_.empty() || prewarming_.front().load_at > now);
  }

  /// A loaded window is known by its release time alone (its load time has passed and stays passed).
  void insert_loaded(time_point release_at) {
    loaded_.insert(release_at, [](time_point a, time_point b) { return a < b; });
  }

  std::int32_t busy_ = 0;
  // Release times of loaded idle pods, ascending: expiry pops the front, a warm start takes the back.
  sorted_ring<time_point> loaded_;
  // Idle pods waiting for their pre-warm, ascending by load time (ties in release order).
  sorted_ring<window> prewarming_;
};

}  // namespace scale::detail
