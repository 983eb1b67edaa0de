#include "libscale/max_window.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "libscale/time.hpp"

namespace {

using namespace std::chrono_literals;

// Go's zero time.Time sits at an even Unix second, so Knative's 2 s slots line up with ours whenever the
// offsets are whole even seconds; the fixed epoch here plays the same role.
constexpr scale::time_point t0 = scale::at(std::chrono::seconds{100});

struct slot_case {
  std::string name;
  std::int64_t size_slots = 5;
  std::vector<std::int64_t> slots;  // empty: slot i for value i
  std::vector<std::int32_t> values;
  std::vector<std::int32_t> want;  // current() after each record
};

}  // namespace

TEST_CASE("max_window: current after each record") {
  const std::vector<slot_case> cases = {
      // Knative window_test.go: TestWindowMax, every table entry (window of 5 slots).
      {"single value", 5, {}, {1}, {1}},
      {"ascending values", 5, {}, {1, 2}, {1, 2}},
      {"descending values", 5, {}, {2, 1}, {2, 2}},
      {"up, down, up", 5, {}, {1, 2, 1}, {1, 2, 2}},
      {"windowing out", 5, {}, {5, 6, 5, 5, 5, 5, 5}, {5, 6, 6, 6, 6, 6, 5}},
      {"windowing out with gaps", 5, {0, 1, 2, 6}, {6, 5, 2, 1}, {6, 6, 6, 2}},
      {"windowing out 2", 5, {}, {5, 6, 5, 7, 5, 5, 1}, {5, 6, 6, 7, 7, 7, 7}},
      {"windowing out 3", 5, {}, {5, 8, 5, 7, 5, 5}, {5, 8, 8, 8, 8, 8}},
      {"windowing out 4", 5, {}, {5, 8, 5, 7, 5, 5, 1}, {5, 8, 8, 8, 8, 8, 7}},
      {"windowing out 5", 5, {}, {5, 8, 5, 7, 5, 5, 1, 4, 4, 4}, {5, 8, 8, 8, 8, 8, 7, 7, 5, 5}},
      {"windowing out 6", 5, {}, {5, 8, 5, 7, 5, 5, 1, 4, 4, 4, 4}, {5, 8, 8, 8, 8, 8, 7, 7, 5, 5, 4}},
      {"windowing out 7", 5, {}, {5, 8, 5, 7, 5, 5, 1, 4, 4, 4, 4, 9}, {5, 8, 8, 8, 8, 8, 7, 7, 5, 5, 4, 9}},
      {"windowing out 8",
       5,
       {},
       {5, 8, 5, 7, 5, 5, 1, 4, 4, 4, 4, 9, 3, 4, 2, 1, 0},
       {5, 8, 8, 8, 8, 8, 7, 7, 5, 5, 4, 9, 9, 9, 9, 9, 4}},
      {"multiple with same index, ascending", 5, {1, 1, 1, 1, 1, 1, 1}, {1, 2, 3, 4, 5, 6, 7}, {1, 2, 3, 4, 5, 6, 7}},
      {"multiple with same index, descending", 5, {1, 1, 1, 1, 1, 1, 1}, {7, 6, 5, 4, 3, 2, 1}, {7, 7, 7, 7, 7, 7, 7}},
      // Hand derivation: an entry at slot s counts while current_slot - s < size. With size 3, the 9 at
      // slot 10 still counts at slot 12 (12 - 10 = 2) and is gone at slot 13 (13 - 10 = 3).
      {"eviction boundary", 3, {10, 11, 12, 13}, {9, 1, 1, 1}, {9, 9, 9, 1}},
      // Hand derivation: a jump of more than a window empties it, leaving only the new value (even if 0).
      {"jump past the window", 3, {0, 100}, {9, 0}, {9, 0}},
      // Hand derivation: equal values replace older ones (step 1 drops entries <= the new value), so a 4 at
      // slot 0 then a 4 at slot 2 keeps 4 alive until slot 2 + 3 = 5.
      {"equal value refreshes", 3, {0, 2, 4, 5}, {4, 4, 1, 1}, {4, 4, 4, 1}},
      // Hand derivation: size 1 keeps only the current slot, except that same-slot records keep the larger.
      {"size one", 1, {0, 0, 1, 2}, {5, 3, 2, 7}, {5, 5, 2, 7}},
      // Hand derivation: a size below 1 behaves as size 1 (Knative never builds such a window).
      {"size zero clamps to one", 0, {0, 1}, {5, 2}, {5, 2}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    REQUIRE(c.values.size() == c.want.size());
    scale::max_window window(c.size_slots);
    std::vector<std::int32_t> got;
    for (std::size_t i = 0; i < c.values.size(); ++i) {
      const std::int64_t slot = c.slots.empty() ? static_cast<std::int64_t>(i) : c.slots[i];
      window.record(slot, c.values[i]);
      got.push_back(window.current());
    }
    CHECK(got == c.want);
  }
}

TEST_CASE("max_window: current is 0 before any record and time alone evicts nothing") {
  // Knative window.Current reads the first buffer entry, which is zero-initialised before any record.
  scale::max_window window(2);
  CHECK(window.current() == 0);
  CHECK(window.size_slots() == 2);
  window.record(0, 9);
  // No record at later slots: the 9 stays, however much time the caller thinks has passed.
  CHECK(window.current() == 9);
}

TEST_CASE("max_window: decreasing slots never overfill the window") {
  // Knative panics here ("length exceeded buffer size"); we keep the newest size_slots() entries.
  // Records 5@10, 3@0, 1@-5 with size 2: the 1 would be a third entry, so the 5 (the front) is dropped.
  scale::max_window window(2);
  window.record(10, 5);
  window.record(0, 3);
  CHECK(window.current() == 5);
  window.record(-5, 1);
  CHECK(window.current() == 3);
}

namespace {

struct timed_record {
  scale::duration offset{};
  std::int32_t value = 0;
};

struct time_case {
  std::string name;
  scale::duration window{};
  scale::duration granularity{};
  std::int64_t want_size = 0;
  std::vector<timed_record> records;
  std::vector<std::int32_t> want;  // current() after each record
};

}  // namespace

TEST_CASE("max_time_window: slots of time") {
  const std::vector<time_case> cases = {
      // Knative timewindow_test.go: TestTimedWindowMax (5 s window, 1 s granularity), each entry; Knative
      // checks only the final value, we check it after every record.
      {"single value", 5s, 1s, 5, {{0s, 5}}, {5}},
      {"two values in same second", 5s, 1s, 5, {{0s, 6}, {500ms, 5}}, {6, 6}},
      {"two values", 5s, 1s, 5, {{0s, 5}, {1s, 8}}, {5, 8}},
      {"time gap", 5s, 1s, 5, {{0s, 5}, {6s, 4}}, {5, 4}},
      // kpa-spec.md §5: a 5 min delay has ceil(300 / 2) = 150 two-second slots. t0 + 2 s is slot 51, t0 +
      // 300 s slot 200 (200 - 51 = 149 < 150: still in force), t0 + 302 s slot 201 (150: gone).
      {"five minute delay", 5min, 2s, 150, {{2s, 4}, {300s, 0}, {302s, 0}}, {4, 4, 0}},
      // Hand derivation: slot = floor(t / 2 s), so t0 + 2 s and t0 + 3.999 s share slot 51 and keep the
      // larger value; t0 + 4 s is slot 52, a one-slot window forgets slot 51.
      {"two ticks in one slot", 2s, 2s, 1, {{2s, 4}, {3999ms, 2}, {4s, 2}}, {4, 4, 2}},
      // Hand derivation: sizes round up, ceil(1 s / 2 s) = 1 and ceil(3 s / 2 s) = 2.
      {"one second delay is one slot", 1s, 2s, 1, {{0s, 4}, {2s, 1}}, {4, 1}},
      {"three second delay is two slots", 3s, 2s, 2, {{0s, 4}, {2s, 1}, {4s, 1}}, {4, 4, 1}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    REQUIRE(c.records.size() == c.want.size());
    scale::max_time_window window(c.window, c.granularity);
    CHECK(window.size_slots() == c.want_size);
    CHECK(window.granularity() == c.granularity);
    std::vector<std::int32_t> got;
    for (const auto& r : c.records) {
      window.record(t0 + r.offset, r.value);
      got.push_back(window.current());
    }
    CHECK(got == c.want);
  }
}

TEST_CASE("max_time_window: times before the epoch use floor slots") {
  // time.hpp bucket_index floors: -1 s is slot -1 with 2 s granularity, 0 s is slot 0, 1 s is slot 0.
  // With one slot, a record at -1 s is forgotten at 0 s, and 0 s / 1 s share a slot.
  scale::max_time_window window(2s, 2s);
  window.record(scale::at(-1s), 7);
  CHECK(window.current() == 7);
  window.record(scale::at(0s), 3);
  CHECK(window.current() == 3);
  window.record(scale::at(1s), 1);
  CHECK(window.current() == 3);
}

TEST_CASE("max_time_window: degenerate sizes clamp") {
  struct degenerate_case {
    std::string name;
    scale::duration window{};
    scale::duration granularity{};
    std::int64_t want_size = 0;
    scale::duration want_granularity{};
  };
  const std::vector<degenerate_case> cases = {
      // ceil(0 / 2 s) = 0 slots, which Knative never builds (it only makes a window for a delay > 0).
      {"zero window", 0s, 2s, 1, 2s},
      {"negative window", -5s, 2s, 1, 2s},
      // A zero granularity would divide by zero; 1 ns is used instead, so 10 ns spans 10 slots.
      {"zero granularity", 10ns, 0ns, 10, 1ns},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const scale::max_time_window window(c.window, c.granularity);
    CHECK(window.size_slots() == c.want_size);
    CHECK(window.granularity() == c.want_granularity);
  }
}
