#include "sim/replayed_trace.hpp"

#include "trace_test_support.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace {

using namespace std::chrono_literals;
using scale::sim::arrival;
using scale::sim::function_trace;
using scale::sim::testing::drain;

/// Seed s gives s + 1 arrivals, at s, s + 1, ... seconds, each served for s ms; `opens` counts the streams opened.
function_trace counting_function(int& opens) {
  return function_trace{"f", [&opens](std::uint64_t seed) {
                          struct source final : scale::sim::arrival_source {
                            std::uint64_t seed = 0, emitted = 0;
                            std::optional<arrival> next() override {
                              if (emitted > seed) return std::nullopt;
                              const auto at = std::chrono::seconds{static_cast<std::int64_t>(seed + emitted++)};
                              return arrival{scale::time_point{at},
                                             std::chrono::milliseconds{static_cast<std::int64_t>(seed)}};
                            }
                          };
                          ++opens;
                          auto s = std::make_unique<source>();
                          s->seed = seed;
                          return std::unique_ptr<scale::sim::arrival_source>{std::move(s)};
                        }};
}

bool same(const std::vector<arrival>& a, const std::vector<arrival>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].time != b[i].time || a[i].service_time != b[i].service_time) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("record_arrivals reads the whole stream, or gives up past its limit") {
  int opens = 0;
  const function_trace f = counting_function(opens);
  struct row {
    std::uint64_t seed;
    std::size_t limit;
    std::optional<std::size_t> recorded;  // arrivals kept, nullopt = gave up
  };
  // Seed s has s + 1 arrivals.
  const row rows[] = {{0, 1, 1}, {0, 0, std::nullopt}, {4, 5, 5}, {4, 4, std::nullopt}, {4, 100, 5}};
  for (const row& r : rows) {
    CAPTURE(r.seed);
    CAPTURE(r.limit);
    const auto got = scale::sim::record_arrivals(f, r.seed, r.limit);
    CHECK(got.has_value() == r.recorded.has_value());
    if (got && r.recorded) {
      CHECK(got->size() == *r.recorded);
      CHECK(same(*got, drain(f, r.seed)));
    }
  }
}

TEST_CASE("replay_function replays its seed's stream from memory and opens the original for other seeds") {
  int opens = 0;
  const function_trace f = counting_function(opens);
  auto recorded = scale::sim::record_arrivals(f, 3, 1000);
  REQUIRE(recorded);
  const auto arrivals = std::make_shared<const std::vector<arrival>>(*recorded);
  const function_trace replayed = scale::sim::replay_function(f, 3, arrivals);
  CHECK(replayed.id == "f");
  opens = 0;
  for (int i = 0; i < 3; ++i) CHECK(same(drain(replayed, 3), *arrivals));  // each open starts from the first
  CHECK(opens == 0);
  CHECK(same(drain(replayed, 7), drain(f, 7)));
  CHECK(opens == 2);
  CHECK(drain(replayed, 7).size() == 8);
}
