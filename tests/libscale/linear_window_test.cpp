#include "libscale/linear_window.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;

// One step of a scripted run on `linear_buckets`: record a value, or check an average / emptiness.
enum class op { record, average, empty, not_empty, resize };

struct step {
  op kind = op::record;
  std::int64_t bucket = 0;  // the bucket recorded into or queried at
  double value = 0;         // value recorded, average expected, or new bucket count for resize
};

void run(scale::linear_buckets& b, const std::vector<step>& steps) {
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const step& s = steps[i];
    CAPTURE(i);
    CAPTURE(s.bucket);
    switch (s.kind) {
      case op::record:
        b.record(s.bucket, s.value);
        break;
      case op::average:
        CHECK(b.average(s.bucket) == s.value);
        break;
      case op::empty:
        CHECK(b.is_empty(s.bucket));
        break;
      case op::not_empty:
        CHECK_FALSE(b.is_empty(s.bucket));
        break;
      case op::resize: {
        const auto n = static_cast<std::int64_t>(s.value);
        b.resize(n, n, s.bucket);
        break;
      }
    }
  }
}

// Sum of the buckets a query at `now` can still see (Knative test helper `forEachBucket`).
double visible_sum(const scale::linear_buckets& b, std::int64_t now) {
  if (!b.last_write()) return 0;
  const std::int64_t last = *b.last_write();
  const std::int64_t count = b.bucket_count() - (now - last);
  double sum = 0;
  for (std::int64_t k = 0; k < count; ++k) sum += b.bucket(last - k);
  return sum;
}

}  // namespace

TEST_CASE("round_to_digits rounds like Knative roundToNDigits") {
  struct test_case {
    int digits;
    double value;
    double want;
  };
  // Knative bucketing_test.go TestRoundToNDigits.
  const test_case cases[] = {
      {6, 3.6e-17, 0.0}, {3, -3.6e-17, 0.0}, {3, 0.0004, 0.0}, {3, 1.2345, 1.235}, {4, 1.2345, 1.2345}, {6, 12345, 12345},
      // Hand: half away from zero, like Go's math.Round.
      {0, 2.5, 3.0}, {0, -2.5, -3.0}, {6, 2.0 / 3.0, 0.666667},
  };
  for (const auto& c : cases) {
    CAPTURE(c.digits);
    CAPTURE(c.value);
    CHECK(scale::detail::round_to_digits(c.value, c.digits) == c.want);
  }
}

TEST_CASE("linear_buckets: Knative TestTimedFloat64BucketsWindowAverage") {
  // Window of 5 one-second buckets; bucket 100 plays Knative's `now`.
  scale::linear_buckets b(5);
  run(b, {
             {op::record, 100, 1},
             {op::average, 100, 1.0},  // partial window: one bucket, divisor 1 (0.2 without firstWrite)
             {op::record, 101, 2},
             {op::record, 102, 3},
             {op::record, 103, 4},
             {op::record, 104, 5},
             {op::average, 104, 15.0 / 5},
             {op::average, 103, 15.0 / 5},  // `now` lags behind the newest write
             {op::average, 106, (15.0 - 1 - 2) / (5 - 2)},  // short hole: buckets 100, 101 fall off
             {op::average, 110, 0.0},                        // long hole
             {op::record, 106, 91},
             {op::average, 106, (15.0 - 1 - 2 + 91) / 5},  // write after a hole: 105 is a zero
             {op::record, 160, 1984},                      // a minute later: full reset
             {op::average, 160, 1984.0},
             {op::record, 157, 4},  // earlier bucket within the window
             {op::average, 160, (4.0 + 1984) / 4},
             {op::record, 161, 5},
             {op::average, 161, (4.0 + 1984 + 5) / 5},
             {op::record, 158, 10},
             {op::average, 161, (4.0 + 10 + 1984 + 5) / 5},
             {op::record, 155, 10},  // too old: dropped
             {op::average, 161, (4.0 + 10 + 1984 + 5) / 5},
             {op::record, 156, 10},  // exactly a window older: dropped
             {op::average, 161, (4.0 + 10 + 1984 + 5) / 5},
             {op::record, 166, 10},  // silent for exactly a window: reset
             {op::average, 166, 10.0},
         });
}

TEST_CASE("linear_buckets: Knative TestDescendingRecord") {
  // Writes at 108, 107, …, 100 into a 5-bucket window: 103 and older are more than a window behind 108.
  scale::linear_buckets b(5);
  for (std::int64_t t = 108; t >= 100; --t) b.record(t, 5);
  CHECK(b.average(105) == 5.0);
  CHECK(b.first_write() == std::optional<std::int64_t>{104});
}

TEST_CASE("linear_buckets: Knative TestTimedFloat64BucketsHoles") {
  scale::linear_buckets b(5);
  for (std::int64_t i = 0; i < 5; ++i) b.record(100 + i, static_cast<double>(i + 1));
  CHECK(visible_sum(b, 104) == 15.0);
  CHECK(b.average(104) == 3.0);
  // A write at 108 zeroes 105, 106, 107; 104 (value 5) and 108 (value 2) remain.
  b.record(108, 2);
  CHECK(visible_sum(b, 108) == 7.0);
  CHECK(b.total() == 7.0);
}

TEST_CASE("linear_buckets: Knative ManyReps tables") {
  struct test_case {
    const char* name;
    std::vector<std::int64_t> offsets;  // bucket of round p; each round records p+0 … p+4
    std::int64_t query;
  };
  // Knative TestTimedFloat64BucketsManyReps and …WithNonMonotonicalOrder: both sum to 100.
  const test_case cases[] = {
      {"monotonic", {1, 2, 3, 4, 5}, 5},
      {"non-monotonic", {0, 3, 2, 1, 4}, 4},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    scale::linear_buckets b(60);
    for (std::size_t p = 0; p < c.offsets.size(); ++p) {
      for (int t = 0; t < 5; ++t) b.record(100 + c.offsets[p], static_cast<double>(static_cast<int>(p) + t));
    }
    CHECK(visible_sum(b, 100 + c.query) == 100.0);
    CHECK(b.total() == 100.0);
  }
}

TEST_CASE("linear_buckets: kpa-spec 11.7 checklist, hand-worked") {
  struct test_case {
    const char* name;
    std::int64_t buckets;
    std::vector<std::pair<std::int64_t, double>> records;
    std::int64_t now;
    double want;
  };
  const test_case cases[] = {
      // Partial window at start: 3 s of history in a 60 s window → (10 + 20 + 30) / 3.
      {"partial window divisor", 60, {{0, 10}, {1, 20}, {2, 30}}, 2, 20.0},
      {"one bucket reads its value", 60, {{0, 7}}, 0, 7.0},
      // Trailing silence excluded: now 2 s past the newest write → still 60 / 3, not 60 / 5.
      {"trailing silence excluded", 60, {{0, 10}, {1, 20}, {2, 30}}, 4, 20.0},
      // Inner gaps are zeros: 10 at 0, 30 at 4 → (10 + 0 + 0 + 0 + 30) / 5.
      {"inner gaps are zeros", 60, {{0, 10}, {4, 30}}, 4, 8.0},
      // Late data: window 5, newest 10; bucket 5 is a window behind (dropped), 6 is inside.
      {"late data dropped", 5, {{10, 50}, {5, 1000}}, 10, 50.0},
      {"late data inside kept", 5, {{10, 50}, {6, 10}}, 10, 12.0},  // (10 + 0·3 + 50) / 5
      // Same-second records summed: 3 scrapes of 10 → bucket 30 (kpa-spec 2.4).
      {"same second summed", 60, {{0, 10}, {0, 10}, {0, 10}}, 0, 30.0},
      // 6-decimal rounding: 1 / 3 → 0.333333 and 2 / 3 → 0.666667.
      {"rounding down", 60, {{0, 1}, {1, 0}, {2, 0}}, 2, 0.333333},
      {"rounding up", 60, {{0, 2}, {1, 0}, {2, 0}}, 2, 0.666667},
      // 0.1 + 0.2 − 0.3 leaves 5.55e-17 in doubles; the rounding makes it exactly 0.
      {"residue rounds to zero", 60, {{0, 0.1}, {0, 0.2}, {0, -0.3}}, 0, 0.0},
      // Exactly a window after the newest write: not empty, but the average is 0.
      {"a window later reads 0", 5, {{0, 9}}, 5, 0.0},
      {"nothing recorded", 5, {}, 0, 0.0},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    scale::linear_buckets b(c.buckets);
    for (const auto& [bucket, value] : c.records) b.record(bucket, value);
    CHECK(b.average(c.now) == c.want);
  }
}

TEST_CASE("linear_buckets: is_empty is strict at one window") {
  struct test_case {
    std::int64_t buckets;
    std::int64_t idle_limit;
    std::int64_t now;
    bool want;
  };
  // Knative IsEmpty: now − lastWrite > window. Newest write at bucket 10.
  const test_case cases[] = {
      {5, 5, 10, false}, {5, 5, 15, false}, {5, 5, 16, true}, {5, 5, 0, false},
      // A 2.5 s window in 1 s buckets: 3 buckets, empty once 3 s (> 2.5 s) have passed.
      {3, 2, 12, false}, {3, 2, 13, true},
  };
  for (const auto& c : cases) {
    CAPTURE(c.buckets);
    CAPTURE(c.now);
    scale::linear_buckets b(c.buckets, c.idle_limit);
    CHECK(b.is_empty(c.now));
    b.record(10, 1);
    CHECK(b.is_empty(c.now) == c.want);
  }
}

TEST_CASE("linear_buckets: Knative TestTimedFloat64BucketsResizeWindow") {
  scale::linear_buckets b(5);
  for (std::int64_t i = 0; i < 6; ++i) b.record(100 + i, static_cast<double>(i + 1));
  constexpr double initial = 2.0 + 3 + 4 + 5 + 6;
  CHECK(visible_sum(b, 105) == initial);
  CHECK(b.average(105) == initial / 5);

  b.resize(10, 10, 105);
  CHECK(b.bucket_count() == 10);
  CHECK(visible_sum(b, 105) == initial);
  CHECK(b.average(105) == initial / 5);  // at most 5 buckets of history are known

  b.record(106, 7);
  constexpr double with_update = initial + 7;
  CHECK(visible_sum(b, 106) == with_update);
  CHECK(b.average(106) == scale::detail::round_to_digits(with_update / 6, 6));

  b.resize(4, 4, 106);  // the two oldest buckets go
  constexpr double with_shrink = with_update - 2 - 3;
  CHECK(b.bucket_count() == 4);
  CHECK(visible_sum(b, 106) == with_shrink);
  CHECK(b.average(106) == with_shrink / 4);
}

TEST_CASE("linear_buckets: resize keeps the Knative firstWrite rule") {
  // Hand: one write at 100 in a 5-bucket window, resized at 102 to 10 buckets. Knative sets
  // firstWrite = lastWrite − (old buckets − 1) = 96, so the divisor becomes min(5, 10) = 5, not 1.
  scale::linear_buckets b(5);
  b.record(100, 10);
  CHECK(b.average(100) == 10.0);
  b.resize(10, 10, 102);
  CHECK(b.first_write() == std::optional<std::int64_t>{96});
  CHECK(b.average(100) == 2.0);
}

TEST_CASE("linear_window: Knative TestTimedFloat64BucketsWindowUpdateNoOp") {
  // Data a minute old when the window grows: history is dropped and firstWrite reset.
  const auto start = scale::at(100s);
  scale::linear_window w(5s);
  w.record(start, 19.82);
  CHECK(w.buckets().first_write() == w.buckets().last_write());
  w.resize(10s, start + 60s);
  CHECK_FALSE(w.buckets().first_write().has_value());
  CHECK(w.window() == 10s);
  // With no first write the divisor is the whole ring (Knative measures from the zero time): a write
  // into the newest bucket, whose old value went with the old ring, reads 1 over 10 buckets.
  w.record(start, 1);
  CHECK(w.average(start) == 0.1);
}

TEST_CASE("linear_window: same-length resize is a no-op") {
  // Knative TestTimedFloat64BucketsResizeWindow "idempotence": nothing changes, not even firstWrite.
  scale::linear_window w(4s);
  w.record(scale::at(100s), 3);
  w.resize(4s, scale::at(101s));
  CHECK(w.buckets().first_write() == std::optional<std::int64_t>{100});
  CHECK(w.average(scale::at(100s)) == 3.0);
}

TEST_CASE("linear_window: Knative TestTimedFloat64BucketsSimple") {
  struct sample {
    scale::duration offset;
    double value;
  };
  struct test_case {
    const char* name;
    scale::duration granularity;
    std::vector<sample> samples;
    std::map<std::int64_t, double> want;  // bucket index → value, non-zero buckets only
  };
  // Epoch offset 100 s is a multiple of both 1 s and 5 s.
  const test_case cases[] = {
      {"granularity 1s", 1s, {{0ms, 1}, {100ms, 10}, {1s, 1}, {3s, 1}}, {{100, 11}, {101, 1}, {103, 1}}},
      {"granularity 5s", 5s, {{0ms, 1}, {3s, 11}, {6s, 1}}, {{20, 12}, {21, 1}}},
      {"empty", 1s, {}, {}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    scale::linear_window w(2min, c.granularity);
    CHECK(w.is_empty(scale::at(100s)));
    for (const auto& s : c.samples) w.record(scale::at(100s + s.offset), s.value);
    std::map<std::int64_t, double> got;
    if (const auto last = w.buckets().last_write()) {
      for (std::int64_t i = *last - w.buckets().bucket_count() + 1; i <= *last; ++i) {
        if (w.buckets().bucket(i) > 0) got[i] = w.buckets().bucket(i);
      }
    }
    CHECK(got == c.want);
  }
}

TEST_CASE("linear_window: Knative TestTimedFloat64BucketsWindowUpdate3sGranularity") {
  const auto t0 = scale::at(99s);  // a multiple of 3 s
  scale::linear_window w(5s, 3s);
  CHECK(w.buckets().bucket_count() == 2);  // ceil(5 / 3)
  const double values[] = {10, 2, 3, 4, 5, 6, 7};
  for (int i = 0; i < 7; ++i) w.record(t0 + std::chrono::seconds{i}, values[i]);
  // Bucket 33 (t0…t0+2 s) = 15 was overwritten when bucket 35 (t0+6 s) arrived.
  const std::int64_t b34 = 34;
  const std::int64_t b35 = 35;
  CHECK(w.buckets().bucket(b34) + w.buckets().bucket(b35) == (4.0 + 5 + 6) + 7);

  w.resize(10s, t0 + 6s);
  CHECK(w.buckets().bucket_count() == 4);
  CHECK(w.window() == 10s);
  CHECK(w.buckets().total() == (4.0 + 5 + 6) + 7);

  w.record(t0 + 9s + 300ms, 42);
  CHECK(w.buckets().total() == (4.0 + 5 + 6) + 7 + 42);

  w.resize(4s, t0 + 9s);
  CHECK(w.buckets().bucket_count() == 2);
  CHECK(w.buckets().total() == 42.0 + 7);  // the oldest bucket goes
}

TEST_CASE("linear_window: times truncate to the bucket that contains them") {
  struct test_case {
    scale::duration first;
    scale::duration second;
    double want;  // average at `second`
  };
  // Hand: 100.1 s and 100.9 s share bucket 100 (sum 3); 100.9 s and 101.0 s do not (mean 1.5).
  // Negative model times floor too: −0.5 s and −0.1 s share bucket −1.
  const test_case cases[] = {
      {100100ms, 100900ms, 3.0},
      {100900ms, 101000ms, 1.5},
      {-500ms, -100ms, 3.0},
  };
  for (const auto& c : cases) {
    CAPTURE(c.first.count());
    scale::linear_window w(60s);
    w.record(scale::at(c.first), 1);
    w.record(scale::at(c.second), 2);
    CHECK(w.average(scale::at(c.second)) == c.want);
  }
}

TEST_CASE("linear_buckets: average equals a brute-force recomputation from raw samples") {
  // The brute force keeps every accepted sample and recomputes the kpa-spec 2.4 rules from scratch,
  // with no ring and no running total: a sample counts when its bucket lies in
  // [max(now, newest) − nb + 1, newest]; the divisor is the buckets from the first write to the newest,
  // capped at nb minus the silent buckets after the newest. Values are multiples of 1/4, so every sum
  // is exact and the two computations must agree bit for bit.
  struct brute_force {
    std::int64_t nb;
    std::vector<std::pair<std::int64_t, double>> samples;
    std::optional<std::int64_t> first;
    std::optional<std::int64_t> last;

    void record(std::int64_t b, double v) {
      if (!last || b - *last >= nb) {  // first write, or a whole window of silence: start over
        samples.clear();
        first = b;
        last = b;
      } else if (*last - b >= nb) {  // a window or more behind the newest write
        return;
      } else {
        if (b < *first) first = b;
        if (b > *last) last = b;
      }
      samples.emplace_back(b, v);
    }

    double average(std::int64_t now) const {
      if (!last || now - *last >= nb) return 0;
      const std::int64_t silent = now > *last ? now - *last : 0;
      const std::int64_t oldest = (now > *last ? now : *last) - nb + 1;
      double sum = 0;
      for (const auto& [b, v] : samples) {
        if (b >= oldest && b <= *last) sum += v;
      }
      const std::int64_t divisor = std::min(*last - *first + 1, nb - silent);
      return scale::detail::round_to_digits(sum / static_cast<double>(divisor), 6);
    }
  };

  struct test_case {
    std::int64_t nb;
    std::uint32_t seed;
  };
  const test_case cases[] = {{5, 1}, {6, 2}, {60, 3}, {1, 4}, {13, 5}};
  for (const auto& c : cases) {
    CAPTURE(c.nb);
    CAPTURE(c.seed);
    std::mt19937 rng(c.seed);
    std::uniform_int_distribution<int> move(0, 99);
    std::uniform_int_distribution<int> quarter(-20, 80);
    scale::linear_buckets window(c.nb);
    brute_force reference{c.nb, {}, std::nullopt, std::nullopt};
    std::int64_t now = 1000;
    for (int i = 0; i < 3000; ++i) {
      const int m = move(rng);
      if (m < 45) {
        now += 1;
      } else if (m < 52) {
        now += std::uniform_int_distribution<std::int64_t>(2, 2 * c.nb + 2)(rng);
      } else if (m < 62) {
        now -= std::uniform_int_distribution<std::int64_t>(1, c.nb + 2)(rng);
      }
      const double value = quarter(rng) / 4.0;
      window.record(now, value);
      reference.record(now, value);
      const std::int64_t query = now + std::uniform_int_distribution<std::int64_t>(-2, c.nb + 2)(rng);
      CAPTURE(i);
      CAPTURE(query);
      REQUIRE(window.average(query) == reference.average(query));
    }
  }
}

TEST_CASE("linear_buckets: the docs/windows.md worked example") {
  scale::linear_buckets b(5);
  run(b, {
             {op::record, 10, 4},
             {op::record, 11, 6},
             {op::record, 12, 8},
             {op::average, 12, 6.0},  // partial window: 18 / 3
             {op::record, 14, 2},
             {op::average, 14, 4.0},       // the gap at 13 is a zero: 20 / 5
             {op::average, 16, 3.333333},  // 10 / (5 − 2): silent seconds left out
             {op::average, 19, 0.0},
             {op::not_empty, 19},
             {op::empty, 20},
             {op::record, 9, 5},  // a whole window behind 14: dropped
             {op::average, 14, 4.0},
             {op::record, 13, 5},  // inside the window: added
             {op::average, 14, 5.0},
         });
}
