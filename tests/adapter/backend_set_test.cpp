#include "adapter/backend_set.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {

using scale::adapter::backend;
using scale::adapter::backend_set;
using scale::adapter::pick_outcome;
using scale::adapter::pick_result;

const backend a{"10.0.0.1", 8080};
const backend b{"10.0.0.2", 8080};
const backend c{"10.0.0.3", 8080};

// One step of a scripted run: an operation and, for acquire, the expected pick.
struct step {
  enum { acquire, release, refuse, healthy } op = acquire;
  backend target{};                  // release / refuse / healthy
  std::vector<backend> exclude{};    // acquire
  pick_result expected{};            // acquire
};

pick_result chose(const backend& x) { return {.outcome = pick_outcome::chosen, .chosen = x}; }
const pick_result wait{.outcome = pick_outcome::wait, .chosen = {}};
const pick_result exhausted{.outcome = pick_outcome::exhausted, .chosen = {}};

struct scenario {
  std::string name;
  std::vector<backend> backends;
  std::size_t capacity = 0;
  std::vector<step> steps;
};

}  // namespace

TEST_CASE("backend_set follows its choice rule step by step") {
  // Expected picks are derived by hand from the rule in backend_set.hpp.
  const std::vector<scenario> scenarios = {
      {"no backends: every request waits", {}, 0, {{.expected = wait}}},
      {"idle backends rotate (tie-break by cursor)",
       {a, b, c},
       0,
       {{.expected = chose(a)},
        {.op = step::release, .target = a},
        {.expected = chose(b)},
        {.op = step::release, .target = b},
        {.expected = chose(c)},
        {.op = step::release, .target = c},
        {.expected = chose(a)}}},
      {"least in flight wins over the cursor",
       {a, b},
       0,
       {{.expected = chose(a)}, {.expected = chose(b)}, {.op = step::release, .target = b},
        // a has 1, b has 0: b although the cursor points at a.
        {.expected = chose(b)}}},
      {"capacity 1: a full backend is skipped, then everyone waits",
       {a, b},
       1,
       {{.expected = chose(a)}, {.expected = chose(b)}, {.expected = wait}, {.op = step::release, .target = a},
        {.expected = chose(a)}}},
      {"excluded backends are skipped, all excluded is exhausted",
       {a, b},
       0,
       {{.exclude = {a}, .expected = chose(b)}, {.exclude = {a, b}, .expected = exhausted}}},
      {"excluded and full: the rest is full, so wait",
       {a, b},
       1,
       {{.expected = chose(a)}, {.exclude = {b}, .expected = wait}}},
      {"a refusing backend is used only when nothing else is free",
       {a, b},
       1,
       {{.op = step::refuse, .target = a},
        {.expected = chose(b)},
        {.expected = chose(a)},
        {.op = step::release, .target = a},
        {.op = step::release, .target = b},
        {.expected = chose(b)},
        {.op = step::release, .target = b},
        {.op = step::healthy, .target = a},
        {.expected = chose(a)}}},
  };
  for (const scenario& s : scenarios) {
    CAPTURE(s.name);
    backend_set set;
    set.assign(s.backends, s.capacity);
    for (std::size_t i = 0; i < s.steps.size(); ++i) {
      CAPTURE(i);
      const step& st = s.steps[i];
      switch (st.op) {
        case step::acquire:
          CHECK(set.acquire(st.exclude) == st.expected);
          break;
        case step::release:
          set.release(st.target);
          break;
        case step::refuse:
          set.mark_refused(st.target);
          break;
        case step::healthy:
          set.mark_healthy(st.target);
          break;
      }
    }
  }
}

TEST_CASE("backend_set keeps in-flight counts across assign and drains removed backends") {
  backend_set set;
  const std::vector<backend> first = {a, b};
  set.assign(first, 1);
  REQUIRE(set.acquire() == chose(a));
  set.mark_refused(b);

  // b stays with its mark, a is removed while busy, c is new; a duplicate c is kept once.
  const std::vector<backend> second = {b, c, c};
  set.assign(second, 1);
  CHECK(set.size() == 2);
  CHECK(set.in_flight(a) == 1);
  CHECK(set.total_in_flight() == 1);
  CHECK(set.refused(b));
  CHECK(set.acquire() == chose(c));  // b is marked, c is not
  CHECK(set.acquire() == chose(b));
  CHECK(set.acquire() == wait);      // a is draining, never chosen
  CHECK_FALSE(set.has_free_capacity());

  set.release(a);  // the last request on a: a disappears
  CHECK(set.in_flight(a) == 0);
  CHECK(set.total_in_flight() == 2);
  set.release(a);  // unknown now: ignored
  CHECK(set.total_in_flight() == 2);

  // a comes back while busy elsewhere: its count restarts at 0.
  const std::vector<backend> third = {a, b, c};
  set.assign(third, 1);
  CHECK(set.has_free_capacity());
  CHECK(set.acquire() == chose(a));
}

TEST_CASE("backend_set names backends for messages") {
  CHECK(scale::adapter::to_string(a) == "10.0.0.1:8080");
  CHECK(scale::adapter::to_string(backend{"fd00::1", 80}) == "[fd00::1]:80");
}
