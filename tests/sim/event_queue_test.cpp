#include "sim/event_queue.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

namespace {

using namespace std::chrono_literals;
using scale::at;
using scale::time_point;
using scale::sim::event_queue;

struct popped {
  std::int64_t time_ms = 0;
  int id = 0;
  bool operator==(const popped&) const = default;
};

std::vector<popped> drain(event_queue<int>& q) {
  std::vector<popped> out;
  while (!q.empty()) {
    const auto e = q.pop();
    out.push_back({std::chrono::duration_cast<std::chrono::milliseconds>(e.time.time_since_epoch()).count(), e.event});
  }
  return out;
}

}  // namespace

TEST_CASE("events come out by time, and in push order at equal times") {
  struct test_case {
    const char* name;
    std::vector<popped> pushes;  // (time, id) in push order
    std::vector<popped> want;    // pop order
  };
  const test_case cases[] = {
      {"empty", {}, {}},
      {"single", {{5, 1}}, {{5, 1}}},
      {"reverse times", {{3, 1}, {2, 2}, {1, 3}}, {{1, 3}, {2, 2}, {3, 1}}},
      // All at t = 7 ms: the sequence number keeps push order (FIFO), not heap order.
      {"ties keep push order", {{7, 1}, {7, 2}, {7, 3}, {7, 4}, {7, 5}}, {{7, 1}, {7, 2}, {7, 3}, {7, 4}, {7, 5}}},
      // Mixed: t=1 (ids 2, 5 in push order), t=4 (ids 1, 4), t=9 (id 3).
      {"mixed", {{4, 1}, {1, 2}, {9, 3}, {4, 4}, {1, 5}}, {{1, 2}, {1, 5}, {4, 1}, {4, 4}, {9, 3}}},
      // Times before the epoch order like any other.
      {"negative", {{0, 1}, {-5, 2}, {-5, 3}}, {{-5, 2}, {-5, 3}, {0, 1}}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    event_queue<int> q;
    for (const auto& p : c.pushes) q.push(at(std::chrono::milliseconds{p.time_ms}), p.id);
    CHECK(q.size() == c.pushes.size());
    CHECK(q.pushed() == c.pushes.size());
    CHECK(drain(q) == c.want);
    CHECK(q.empty());
  }
}

TEST_CASE("top is the next pop, and pushes between pops keep the order") {
  event_queue<int> q;
  q.push(at(10s), 1);
  q.push(at(5s), 2);
  CHECK(q.top().time == at(5s));
  CHECK(q.top().event == 2);
  CHECK(q.pop().event == 2);
  // Pushed later at the same time as the pending id 1: comes after it.
  q.push(at(10s), 3);
  q.push(at(6s), 4);
  CHECK(q.pop().event == 4);
  const auto a = q.pop();
  const auto b = q.pop();
  CHECK(a.event == 1);
  CHECK(b.event == 3);
  CHECK(a.sequence < b.sequence);
  CHECK(q.empty());
}

TEST_CASE("many random events pop sorted by (time, sequence)") {
  std::mt19937_64 rng(42);
  event_queue<int> q;
  q.reserve(10000);
  for (int i = 0; i < 10000; ++i) q.push(at(std::chrono::milliseconds{static_cast<std::int64_t>(rng() % 100)}), i);
  time_point last_time = at(-1s);
  std::uint64_t last_sequence = 0;
  int count = 0;
  while (!q.empty()) {
    const auto e = q.pop();
    const bool ordered = e.time > last_time || (e.time == last_time && e.sequence > last_sequence);
    REQUIRE(ordered);
    // The payload was pushed as the sequence number.
    CHECK(static_cast<std::uint64_t>(e.event) == e.sequence);
    last_time = e.time;
    last_sequence = e.sequence;
    ++count;
  }
  CHECK(count == 10000);
}
