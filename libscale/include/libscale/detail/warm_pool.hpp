#pragma once
/// The pod bookkeeping of the keep-alive policies: one pod per request in flight, and for each pod that went
/// idle a window in which it is kept loaded (optionally after a pre-warm delay in which it is unloaded).

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "libscale/time.hpp"

namespace scale::detail {

/// Busy pods plus idle pods with their load windows. A pod that goes idle at t with pre-warm p and keep-alive k
/// is unloaded during [t, t + p) and loaded during [t + p, t + p + k); with p = 0 it simply stays loaded.
class warm_pool {
 public:
  /// A request starts at `now`. It takes a loaded idle pod when there is one (the one kept longest, so the
  /// others can expire first) and returns true (a warm start); otherwise it takes the idle pod whose pre-warm is
  /// due soonest, or a new pod, and returns false (a cold start).
  bool acquire(time_point now) {
    expire(now);
    ++busy_;
    auto best = idle_.end();
    for (auto it = idle_.begin(); it != idle_.end(); ++it) {
      if (it->load_at <= now && (best == idle_.end() || it->release_at > best->release_at)) best = it;
    }
    if (best != idle_.end()) {
      idle_.erase(best);
      return true;
    }
    // A pod still waiting for its pre-warm is the one the request now starts cold.
    auto soonest = std::min_element(idle_.begin(), idle_.end(),
                                    [](const window& a, const window& b) { return a.load_at < b.load_at; });
    if (soonest != idle_.end()) idle_.erase(soonest);
    return false;
  }

  /// A request ends at `now`; its pod goes idle with the given windows (keep-alive 0: released at once).
  void release(time_point now, duration prewarm, duration keepalive) {
    if (busy_ > 0) --busy_;
    if (keepalive > duration::zero()) idle_.push_back({now + prewarm, now + prewarm + keepalive});
  }

  /// Pods wanted at `now`: busy pods and loaded idle pods.
  std::int32_t pods(time_point now) const {
    std::int32_t n = busy_;
    for (const window& w : idle_) {
      if (w.load_at <= now && now < w.release_at) ++n;
    }
    return n;
  }

  /// The next instant after `now` at which `pods` changes by itself; nullopt when it never will.
  std::optional<time_point> next_change(time_point now) const {
    std::optional<time_point> next;
    for (const window& w : idle_) {
      const time_point t = w.load_at > now ? w.load_at : w.release_at;
      if (t > now && (!next || t < *next)) next = t;
    }
    return next;
  }

  /// Forgets windows that ended at or before `now`.
  void expire(time_point now) {
    std::erase_if(idle_, [now](const window& w) { return w.release_at <= now; });
  }

  /// Requests in flight.
  std::int32_t busy() const { return busy_; }

 private:
  struct window {
    time_point load_at;
    time_point release_at;
  };

  std::int32_t busy_ = 0;
  // Idle pods: at most as many as the peak concurrency, so a vector scan is cheap.
  std::vector<window> idle_;
};

}  // namespace scale::detail
