#include "libscale/detail/warm_pool.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

namespace {

using namespace std::chrono_literals;
using scale::duration;
using scale::time_point;
using scale::detail::warm_pool;

time_point at(duration d) { return time_point{d}; }

/// The pool as it was before it kept its windows sorted (commit 244bf27): every window in release order, each
/// question a scan. The sorted pool must answer every call exactly as this one does.
class scan_pool {
 public:
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
    auto soonest = std::min_element(idle_.begin(), idle_.end(),
                                    [](const window& a, const window& b) { return a.load_at < b.load_at; });
    if (soonest != idle_.end()) idle_.erase(soonest);
    return false;
  }
  void release(time_point now, duration prewarm, duration keepalive) {
    if (busy_ > 0) --busy_;
    if (keepalive > duration::zero()) idle_.push_back({now + prewarm, now + prewarm + keepalive});
  }
  std::int32_t pods(time_point now) const {
    std::int32_t n = busy_;
    for (const window& w : idle_) {
      if (w.load_at <= now && now < w.release_at) ++n;
    }
    return n;
  }
  std::optional<time_point> next_change(time_point now) const {
    std::optional<time_point> next;
    for (const window& w : idle_) {
      const time_point t = w.load_at > now ? w.load_at : w.release_at;
      if (t > now && (!next || t < *next)) next = t;
    }
    return next;
  }
  void expire(time_point now) {
    std::erase_if(idle_, [now](const window& w) { return w.release_at <= now; });
  }
  std::int32_t busy() const { return busy_; }

 private:
  struct window {
    time_point load_at;
    time_point release_at;
  };
  std::int32_t busy_ = 0;
  std::vector<window> idle_;
};

enum class op { acquire, release, expire, query };

struct step {
  op what;
  duration now;
  duration prewarm{};
  duration keepalive{};
  // Expected after the call: acquire's answer (warm), then pods(now) and next_change(now).
  bool warm = false;
  std::int32_t pods = 0;
  std::optional<duration> next{};
};

void replay(const std::vector<step>& steps) {
  warm_pool pool;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const step& s = steps[i];
    CAPTURE(i);
    switch (s.what) {
      case op::acquire: CHECK(pool.acquire(at(s.now)) == s.warm); break;
      case op::release: pool.release(at(s.now), s.prewarm, s.keepalive); break;
      case op::expire: pool.expire(at(s.now)); break;
      case op::query: break;
    }
    CHECK(pool.pods(at(s.now)) == s.pods);
    const std::optional<time_point> want = s.next ? std::optional<time_point>(at(*s.next)) : std::nullopt;
    CHECK(pool.next_change(at(s.now)) == want);
  }
}

}  // namespace

TEST_CASE("warm_pool: a fixed keep-alive takes the newest idle pod and expires the oldest first") {
  // Keep-alive 60 s, no pre-warm: three requests overlap, end at 10, 20, 30 s; windows end at 70, 80, 90 s.
  // A request at 40 s takes the pod released last (window to 90 s), so 70 s stays the next change; at 75 s the
  // window of 70 s is gone (1 busy + the one to 80 s); the request ends at 100 s and keeps its pod to 160 s.
  replay({
      {op::acquire, 0s, {}, {}, false, 1, std::nullopt},
      {op::acquire, 1s, {}, {}, false, 2, std::nullopt},
      {op::acquire, 2s, {}, {}, false, 3, std::nullopt},
      {op::release, 10s, 0s, 60s, false, 3, 70s},
      {op::release, 20s, 0s, 60s, false, 3, 70s},
      {op::release, 30s, 0s, 60s, false, 3, 70s},
      {op::acquire, 40s, {}, {}, true, 3, 70s},
      {op::query, 70s, {}, {}, false, 2, 80s},
      {op::expire, 75s, {}, {}, false, 2, 80s},
      {op::release, 100s, 0s, 60s, false, 1, 160s},
      {op::query, 160s, {}, {}, false, 0, std::nullopt},
  });
}

TEST_CASE("warm_pool: pre-warmed pods load later; a cold request takes the one due first, ties in release order") {
  // Releases at 0 s: pre-warm 30 s, keep 10 s (loaded [30, 40)); at 1 s: pre-warm 29 s, keep 100 s (loaded
  // [30, 130)). Both load at 30 s, in release order. A request at 5 s finds nothing loaded: it takes the first
  // released of the two due at 30 s (the one to 40 s), so the pod loaded [30, 130) remains.
  replay({
      {op::acquire, 0s, {}, {}, false, 1, std::nullopt},
      {op::acquire, 0s, {}, {}, false, 2, std::nullopt},
      {op::acquire, 0s, {}, {}, false, 3, std::nullopt},
      {op::release, 0s, 30s, 10s, false, 2, 30s},
      {op::release, 1s, 29s, 100s, false, 1, 30s},
      {op::acquire, 5s, {}, {}, false, 2, 30s},
      {op::query, 30s, {}, {}, false, 3, 130s},
      {op::query, 45s, {}, {}, false, 3, 130s},
      // The second request ends at 50 s with pre-warm 150 s, keep 5 s (loaded [200, 205)): 1 busy + the pod to
      // 130 s; after 130 s the next change is the load at 200 s, then its release at 205 s. A request at 201 s
      // takes that pod warm; nothing idle is left.
      {op::release, 50s, 150s, 5s, false, 2, 130s},
      {op::query, 130s, {}, {}, false, 1, 200s},
      {op::query, 200s, {}, {}, false, 2, 205s},
      {op::acquire, 201s, {}, {}, true, 2, std::nullopt},
  });
}

TEST_CASE("warm_pool: every answer is the release-order scan's, over random calls") {
  struct mix {
    const char* name;
    bool prewarm;
    bool fixed_keepalive;
  };
  const mix mixes[] = {
      {"fixed keep-alive (the keep-alive policy)", false, true},
      {"varying keep-alive, no pre-warm", false, false},
      {"pre-warm and keep-alive varying (the hybrid policy)", true, false},
  };
  for (const mix& m : mixes) {
    CAPTURE(m.name);
    std::mt19937_64 rng(42);
    warm_pool pool;
    scan_pool ref;
    time_point now{};
    std::int64_t mismatches = 0;
    for (int i = 0; i < 200'000; ++i) {
      // Whole seconds, often 0 apart, so equal times (and equal windows) are common.
      now += std::chrono::seconds{static_cast<std::int64_t>(rng() % 4)};
      const std::uint64_t r = rng() % 10;
      if (r < 4) {
        if (pool.acquire(now) != ref.acquire(now)) ++mismatches;
      } else if (r < 8) {
        if (ref.busy() == 0) continue;
        const duration pre = m.prewarm ? std::chrono::seconds{static_cast<std::int64_t>(rng() % 3) * 10} : 0s;
        const duration keep = m.fixed_keepalive ? 60s : std::chrono::seconds{static_cast<std::int64_t>(rng() % 8) * 10};
        pool.release(now, pre, keep);
        ref.release(now, pre, keep);
      } else if (r < 9) {
        pool.expire(now);
        ref.expire(now);
      }
      if (pool.pods(now) != ref.pods(now) || pool.next_change(now) != ref.next_change(now) ||
          pool.busy() != ref.busy()) {
        ++mismatches;
      }
    }
    CHECK(mismatches == 0);
  }
}
