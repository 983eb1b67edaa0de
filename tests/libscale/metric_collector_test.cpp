#include "libscale/metric_collector.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

namespace {
using namespace std::chrono_literals;
}  // namespace

TEST_CASE("population_mean_sample_size") {
  struct test_case {
    std::size_t population;
    std::size_t want;
  };
  // Knative sample_size_test.go TestPopulationMeanSampleSize, plus 3 (the last "all pods") and
  // 4 = ceil(4 · 15.3664 / 18.3664) = ceil(3.35) and 6 = ceil(4.53) by hand.
  const test_case cases[] = {{0, 0}, {1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 4}, {6, 5}, {10, 7}, {100, 14}, {1000, 16}};
  for (const auto& c : cases) {
    CAPTURE(c.population);
    CHECK(scale::population_mean_sample_size(c.population) == c.want);
  }
}

TEST_CASE("extrapolate: sample sum / n × N") {
  struct test_case {
    const char* name;
    std::vector<scale::pod_stat> sampled;
    std::size_t ready_pods;
    std::optional<scale::pod_stat> want;
  };
  const scale::pod_stat a{3, 2, 5, 4};
  const scale::pod_stat b{5, 4, 7, 6};
  auto conc = [](double c) { return scale::pod_stat{.average_concurrency = c}; };
  const test_case cases[] = {
      // Knative stats_scraper_test.go checkBaseStat: (3+5+3)/3·3 = 11, (2+4+2)/3·3 = 8, 17, 14.
      {"three pods, all sampled", {a, b, a}, 3, scale::pod_stat{11, 8, 17, 14}},
      // TestScrapeAllPodsYoungPods: (2+4+6+8)/4·4 = 20.
      {"four young pods", {conc(2), conc(4), conc(6), conc(8)}, 4, conc(20)},
      // TestScrapeAllPodsOldPods: 5 of 6 sampled, (2+4+6+8+10)/5·6 = 36.
      {"five of six", {conc(2), conc(4), conc(6), conc(8), conc(10)}, 6, conc(36)},
      // TestScrapeSomePodsOldPods: 7 of 11, (8+…+20)/7·11 = 98/7·11 = 154.
      {"seven of eleven", {conc(8), conc(10), conc(12), conc(14), conc(16), conc(18), conc(20)}, 11, conc(154)},
      // TestScrapeOnlyScrapesPodsForCorrectRevision: (1+2)/2·2 = 3 and (10+20)/2·2 = 30.
      {"two pods", {{1, 0, 10, 0}, {2, 0, 20, 0}}, 2, scale::pod_stat{3, 0, 30, 0}},
      // kpa-spec 2.2: no ready pods → nothing recorded; nothing sampled → nothing either.
      {"no ready pods", {a}, 0, std::nullopt},
      {"nothing sampled", {}, 3, std::nullopt},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(scale::extrapolate(c.sampled, c.ready_pods) == c.want);
  }
}

TEST_CASE("pick_sample prefers old pods") {
  struct test_case {
    const char* name;
    std::vector<scale::duration> ages;
    std::vector<std::size_t> want;
  };
  // Knative TestScrapeSomePodsOldPods: pod i is i·10 + 30 s old; with a 60 s window pods 3… are old,
  // and the sample of 7 (of 11) is taken from them.
  std::vector<scale::duration> eleven;
  for (int i = 0; i < 11; ++i) eleven.push_back(std::chrono::seconds{i * 10 + 30});
  const test_case cases[] = {
      {"some old", eleven, {3, 4, 5, 6, 7, 8, 9}},
      // Hand: 5 pods → sample 4; one old pod (index 2) first, then young ones in order to fill.
      {"fill with young", {10s, 20s, 60s, 5s, 1s}, {2, 0, 1, 3}},
      // Hand: 3 pods, all young → all of them.
      {"all young", {1s, 2s, 3s}, {0, 1, 2}},
      // An age equal to the window counts as old (Knative: now − start ≥ cutoff).
      {"boundary", {59s, 60s, 61s, 0s, 0s, 0s}, {1, 2, 0, 3, 4}},
      {"no pods", {}, {}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    CHECK(scale::pick_sample(c.ages, 60s) == c.want);
  }
}

TEST_CASE("request_stats: time-weighted concurrency") {
  struct event {
    scale::duration at;
    scale::request_event kind;
  };
  struct test_case {
    const char* name;
    std::vector<event> events;
    scale::duration report_at;
    scale::request_stats_report want;
  };
  using scale::request_event;
  const test_case cases[] = {
      // kpa-spec 2.1: two 500 ms requests in one second → 1.0.
      {"two half-second requests",
       {{0ms, request_event::in}, {500ms, request_event::out}, {500ms, request_event::in}, {1000ms, request_event::out}},
       1s,
       {.average_concurrency = 1.0, .request_count = 2}},
      // Hand: one request over the first 250 ms of a second → 0.25.
      {"quarter second", {{0ms, request_event::in}, {250ms, request_event::out}}, 1s, {.average_concurrency = 0.25, .request_count = 1}},
      // Hand: a proxied request in flight the whole second counts in both totals.
      {"proxied", {{0ms, request_event::proxied_in}}, 1s,
       {.average_concurrency = 1.0, .average_proxied_concurrency = 1.0, .request_count = 1, .proxied_request_count = 1}},
      // Hand: two overlapping requests for 500 ms, then one for 500 ms → (2·0.5 + 1·0.5) / 1 = 1.5.
      {"overlap", {{0ms, request_event::in}, {0ms, request_event::in}, {500ms, request_event::out}}, 1s,
       {.average_concurrency = 1.5, .request_count = 2}},
      {"idle", {}, 1s, {}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    scale::request_stats stats(scale::at(100s));
    for (const auto& e : c.events) stats.handle(scale::at(100s + e.at), e.kind);
    CHECK(stats.report(scale::at(100s + c.report_at)) == c.want);
  }
}

TEST_CASE("request_stats: a report starts a new period") {
  scale::request_stats stats(scale::at(100s));
  stats.handle(scale::at(100s), scale::request_event::in);
  CHECK(stats.report(scale::at(101s)) == scale::request_stats_report{.average_concurrency = 1, .request_count = 1});
  // Still in flight, but no new arrival: concurrency 1, count 0.
  CHECK(stats.report(scale::at(102s)) == scale::request_stats_report{.average_concurrency = 1, .request_count = 0});
  CHECK(stats.report(scale::at(102s)) == scale::request_stats_report{});  // zero-length period
}

TEST_CASE("queue_proxy_stat turns counts into rates") {
  // Knative ProtobufStatsReporter.Report: counts ÷ reporting period in seconds.
  const scale::request_stats_report report{.average_concurrency = 1.5, .average_proxied_concurrency = 0.5,
                                           .request_count = 6, .proxied_request_count = 2};
  CHECK(scale::queue_proxy_stat(report, 1s) == scale::pod_stat{1.5, 0.5, 6, 2});
  CHECK(scale::queue_proxy_stat(report, 2s) == scale::pod_stat{1.5, 0.5, 3, 1});
}

TEST_CASE("activator_reporter: the first request is pushed at once and taken back") {
  // kpa-spec 2.3 and Knative concurrency_reporter.go, worked by hand: one request from 100.0 s to 100.5 s.
  scale::activator_reporter r;
  CHECK_FALSE(r.tracking());
  CHECK(r.request_arrived(scale::at(100s)) == scale::pod_stat{.average_concurrency = 1, .request_count = 1});
  CHECK(r.tracking());
  r.request_finished(scale::at(100500ms));
  // Period 100–101 s: measured concurrency 0.5, one arrival; minus the pushed 1 → max(0.5 − 1, 0) = 0
  // and 1 − 1 = 0.
  CHECK(r.report(scale::at(101s)) == scale::pod_stat{.average_concurrency = 0, .request_count = 0});
  CHECK(r.tracking());
  // Period 101–102 s: nothing happened → a zero stat, and the revision is forgotten.
  CHECK(r.report(scale::at(102s)) == scale::pod_stat{});
  CHECK_FALSE(r.tracking());
  CHECK(r.report(scale::at(103s)) == std::nullopt);
  // The next arrival is pushed at once again.
  CHECK(r.request_arrived(scale::at(103s)).has_value());
}

TEST_CASE("activator_reporter: later requests in a tracked period are not pushed") {
  scale::activator_reporter r;
  CHECK(r.request_arrived(scale::at(100s)).has_value());
  CHECK_FALSE(r.request_arrived(scale::at(100200ms)).has_value());
  CHECK_FALSE(r.request_arrived(scale::at(100400ms)).has_value());
  // Three requests in flight for 1 s, 0.8 s and 0.6 s → 2.4; minus 1 → 1.4. Three arrivals minus 1 → 2.
  CHECK(r.report(scale::at(101s)) == scale::pod_stat{.average_concurrency = 2.4 - 1, .request_count = 2});
  // Still three in flight: no adjustment any more.
  CHECK(r.report(scale::at(102s)) == scale::pod_stat{.average_concurrency = 3, .request_count = 0});
}

TEST_CASE("activator_reporter: the count is not clamped") {
  // Hand: the first request arrives exactly at the report time; that period has one arrival but zero
  // elapsed time, so concurrency 0 − 1 clamps to 0 while the count is 1 − 1 = 0. The request stays in
  // flight, so the revision stays tracked.
  scale::activator_reporter r;
  CHECK(r.request_arrived(scale::at(101s)).has_value());
  CHECK(r.report(scale::at(101s)) == scale::pod_stat{.average_concurrency = 0, .request_count = 0});
  CHECK(r.tracking());
  r.request_finished(scale::at(101s));
  // Next period: nothing, count 0 − 0 = 0, revision forgotten.
  CHECK(r.report(scale::at(102s)) == scale::pod_stat{});
  CHECK_FALSE(r.tracking());
}

TEST_CASE("metric_collection records load minus proxied load") {
  // Knative collector_test.go TestMetricCollectorRecord: an outdated stat 70 s back is replaced by the
  // fresh one; (20 − 10) and (30 − 20) → 10 in both windows.
  scale::metric_collection c(60s, 6s);
  const auto now = scale::at(1000s);
  CHECK(c.stable_and_panic(now, scale::scaling_metric::concurrency) == std::nullopt);
  CHECK(c.stable_and_panic(now, scale::scaling_metric::rps) == std::nullopt);
  c.record(now - 70s, scale::pod_stat{.average_concurrency = 100, .request_count = 100});
  c.record(now, scale::pod_stat{20, 10, 30, 20});
  CHECK(c.stable_and_panic(now, scale::scaling_metric::concurrency) == scale::observed_values{10, 10});
  CHECK(c.stable_and_panic(now, scale::scaling_metric::rps) == scale::observed_values{10, 10});
}

TEST_CASE("metric_collection: Knative collector scrape tables") {
  struct batch {
    scale::duration at;
    int scrapes;
  };
  struct test_case {
    const char* name;
    std::vector<batch> batches;
    scale::duration query;
    scale::observed_values concurrency;
    scale::observed_values rps;
  };
  // Each scrape reports concurrency 10 and 20 req/s (Knative stat in TestMetricCollectorScraper*).
  const test_case cases[] = {
      // TestMetricCollectorScraper: 3 scrapes in one second → 30 and 60.
      {"three in one second", {{0s, 3}}, 0s, {30, 30}, {60, 60}},
      // …then 2 more in the same second, read stable-window − 5 s later: 50 and 100 (panic empty → 0).
      {"five, read later", {{0s, 5}}, 55s, {50, 0}, {100, 0}},
      // TestMetricCollectorScraperMovingTime: 3 scrapes, then 4 a second later → 7·10/2 and 7·20/2.
      {"moving time", {{0s, 3}, {1s, 4}}, 1s, {35, 35}, {70, 70}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    scale::metric_collection coll(60s, 6s);
    for (const auto& b : c.batches) {
      for (int i = 0; i < b.scrapes; ++i) coll.record(scale::at(500s + b.at), scale::pod_stat{.average_concurrency = 10, .request_count = 20});
    }
    CHECK(coll.stable_and_panic(scale::at(500s + c.query), scale::scaling_metric::concurrency) == c.concurrency);
    CHECK(coll.stable_and_panic(scale::at(500s + c.query), scale::scaling_metric::rps) == c.rps);
  }
}

TEST_CASE("metric_collection: Knative TestMetricCollectorAggregate") {
  // Windows 6 s and 2 s; concurrency 5…14 at seconds 0…9. Stable: (9+…+14)/6 = 11.5; panic: (13+14)/2.
  scale::metric_collection c(6s, 2s);
  for (int i = 0; i < 10; ++i) {
    const double v = i + 5;
    c.record(scale::at(std::chrono::seconds{100 + i}), scale::pod_stat{.average_concurrency = v, .request_count = v});
  }
  CHECK(c.stable_and_panic(scale::at(109s), scale::scaling_metric::concurrency) == scale::observed_values{11.5, 13.5});
}

TEST_CASE("metric_collection: no data only with a scrape target (kpa-spec 2.7)") {
  struct test_case {
    const char* name;
    bool has_scrape_target;
    bool record;
    scale::duration query;
    std::optional<scale::observed_values> want;
  };
  // Knative TestMetricCollectorNoDataError and TestMetricCollectorNoScraper; a record of 10 at 100 s.
  const test_case cases[] = {
      {"target, nothing recorded", true, false, 0s, std::nullopt},
      {"no target, nothing recorded", false, false, 0s, scale::observed_values{0, 0}},
      {"no target, recorded", false, true, 0s, scale::observed_values{10, 10}},
      // Exactly 60 s later the stable window is not empty yet (strict >) but reads 0.
      {"target, one window later", true, true, 60s, scale::observed_values{0, 0}},
      {"target, past the window", true, true, 61s, std::nullopt},
      {"no target, past the window", false, true, 61s, scale::observed_values{0, 0}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    scale::metric_collection coll(60s, 6s, scale::window_algorithm::linear, c.has_scrape_target);
    if (c.record) coll.record(scale::at(100s), scale::pod_stat{.average_concurrency = 10});
    CHECK(coll.stable_and_panic(scale::at(100s + c.query), scale::scaling_metric::concurrency) == c.want);
  }
}

TEST_CASE("metric_collection: weighted windows and resizing") {
  scale::metric_collection c(60s, 6s, scale::window_algorithm::weighted_exponential);
  CHECK(c.algorithm() == scale::window_algorithm::weighted_exponential);
  c.record(scale::at(100s), scale::pod_stat{.average_concurrency = 10, .request_count = 4});
  // Hand: stable nb = 60 → m = 0.2; panic nb = 6 → m = 0.78456…
  const double m6 = scale::smoothing_coefficient(6);
  CHECK(c.stable_and_panic(scale::at(100s), scale::scaling_metric::concurrency) ==
        scale::observed_values{10 * 0.2, 10 * m6});
  CHECK(c.stable_and_panic(scale::at(100s), scale::scaling_metric::rps) == scale::observed_values{4 * 0.2, 4 * m6});

  c.update_windows(10s, 2s, scale::at(100s));
  CHECK(c.stable_window() == 10s);
  CHECK(c.panic_window() == 2s);
  CHECK(c.stable_and_panic(scale::at(100s), scale::scaling_metric::concurrency) ==
        scale::observed_values{10 * scale::smoothing_coefficient(10), 10 * scale::smoothing_coefficient(2)});

  c.set_has_scrape_target(false);
  CHECK_FALSE(c.has_scrape_target());
  CHECK(c.stable_and_panic(scale::at(200s), scale::scaling_metric::concurrency) == scale::observed_values{0, 0});
}
