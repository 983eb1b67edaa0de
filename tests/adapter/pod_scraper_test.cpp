#include "adapter/pod_scraper.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <mutex>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "adapter/queue_proxy_stat.hpp"

using namespace std::chrono_literals;
using scale::error;
using scale::pod_stat;
using scale::result;
using scale::adapter::metrics_source;
using scale::adapter::scrape_outcome;
using scale::adapter::scrape_pod;

namespace {

const scale::time_point now = scale::at(10000s);
constexpr scale::duration stable_window = 60s;

// A pod that started `age` before `now`.
scrape_pod pod(const std::string& name, scale::duration age) {
  return scrape_pod{.name = name, .url = "http://" + name + ":9090/metrics", .started = now - age};
}

std::vector<scrape_pod> pods(std::size_t count, scale::duration age, const std::string& prefix = "p") {
  std::vector<scrape_pod> out;
  for (std::size_t i = 0; i < count; ++i) out.push_back(pod(prefix + std::to_string(i), age));
  return out;
}

// A fake fetcher: per-pod answers by name (success by default), recording each batch it was asked for.
struct fake_fetcher {
  std::map<std::string, result<pod_stat>> answers;
  pod_stat default_stat{.average_concurrency = 1, .request_count = 2};
  std::vector<std::vector<std::string>> batches;

  scale::adapter::fetch_batch function() {
    return [this](std::span<const scrape_pod> batch) {
      std::vector<result<pod_stat>> out;
      batches.emplace_back();
      for (const scrape_pod& p : batch) {
        batches.back().push_back(p.name);
        const auto it = answers.find(p.name);
        out.push_back(it == answers.end() ? result<pod_stat>(default_stat) : it->second);
      }
      return out;
    };
  }
  void fail(const std::string& name, const std::string& reason) {
    answers.insert_or_assign(name, result<pod_stat>(error{"pod " + name + ": " + reason}));
  }
};

}  // namespace

TEST_CASE("metrics_url builds queue-proxy's address") {
  CHECK(scale::adapter::metrics_url("10.0.0.5") == "http://10.0.0.5:9090/metrics");
  CHECK(scale::adapter::metrics_url("fd00::5") == "http://[fd00::5]:9090/metrics");
  CHECK(scale::adapter::metrics_url("127.0.0.1", 8080, "/stats") == "http://127.0.0.1:8080/stats");
}

TEST_CASE("accept_header asks queue-proxy for protobuf and an app for text") {
  CHECK(scale::adapter::accept_header(metrics_source{}) == "application/protobuf");
  CHECK(scale::adapter::accept_header(metrics_source{.app = scale::adapter::app_gauge{.metric = "m"}}) ==
        "text/plain; version=0.0.4");
}

TEST_CASE("decode_metrics_reply picks the decoder by Content-Type") {
  const std::string proto = scale::adapter::encode_stat(
      {.pod_name = "a", .average_concurrent_requests = 3, .average_proxied_concurrent_requests = 1, .request_count = 6});
  const std::string old_page = "queue_average_concurrent_requests 2\nqueue_average_proxied_concurrent_requests 0\n"
                               "queue_requests_per_second 4\nqueue_proxied_operations_per_second 0\n";
  const metrics_source queue_proxy{};
  const metrics_source app{.app = scale::adapter::app_gauge{.metric = "inflight"}};
  struct test_case {
    std::string name;
    metrics_source source;
    long status;
    std::string content_type;
    std::string body;
    pod_stat want;
    std::string want_error;
  };
  const std::vector<test_case> cases = {
      {"protobuf", queue_proxy, 200, "application/protobuf", proto,
       pod_stat{.average_concurrency = 3, .average_proxied_concurrency = 1, .request_count = 6}, ""},
      {"media type case and parameters", queue_proxy, 200, " Application/Protobuf ; proto=metrics.Stat", proto,
       pod_stat{.average_concurrency = 3, .average_proxied_concurrency = 1, .request_count = 6}, ""},
      // cluster-adapter.md §5: a queue-proxy before v1.6 answers Prometheus text.
      {"old queue-proxy text", queue_proxy, 200, "text/plain; version=0.0.4; charset=utf-8", old_page,
       pod_stat{.average_concurrency = 2, .request_count = 4}, ""},
      {"app gauge", app, 200, "text/plain; version=0.0.4", "inflight 5\n", pod_stat{.average_concurrency = 5}, ""},
      {"any 2xx", queue_proxy, 203, "application/protobuf", "", pod_stat{}, ""},
      {"http 500", queue_proxy, 500, "text/plain", "boom", {}, "http status 500"},
      {"http 503 from a mesh", queue_proxy, 503, "", "", {}, "http status 503"},
      {"redirect", queue_proxy, 301, "", "", {}, "http status 301"},
      {"json", queue_proxy, 200, "application/json", "{}", {},
       "Content-Type \"application/json\", expected application/protobuf or text/plain"},
      {"no Content-Type", queue_proxy, 200, "", proto, {}, "no Content-Type, expected application/protobuf or text/plain"},
      {"app gets protobuf", app, 200, "application/protobuf", proto, {},
       "Content-Type \"application/protobuf\", expected text/plain"},
      {"bad protobuf", queue_proxy, 200, "application/protobuf", std::string("\x11\x00", 2), {},
       "stat: field average_concurrent_requests (2) at byte 0 truncated at byte 1: needs 8 bytes, 1 left"},
      {"bad text", queue_proxy, 200, "text/plain", "queue_requests_per_second{", {},
       "prometheus text line 1: expected a label name or '}', got end of line"},
      {"text without the gauges", queue_proxy, 200, "text/plain", "up 1\n", {},
       "queue-proxy text: no sample queue_average_concurrent_requests"},
      {"app gauge missing", app, 200, "text/plain", "up 1\n", {}, "no sample inflight"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto got = scale::adapter::decode_metrics_reply(c.source, c.status, c.content_type,
                                                          std::string_view(c.body.data(), c.body.size()));
    if (c.want_error.empty()) {
      REQUIRE_MESSAGE(got.has_value(), got.error_value().message);
      CHECK(*got == c.want);
    } else {
      REQUIRE_FALSE(got.has_value());
      CHECK(got.error_value().message == c.want_error);
    }
  }
}

TEST_CASE("plan_scrape samples as many pods as Knative") {
  // Knative sample_size_test.go TestPopulationMeanSampleSize: 0→0, 1→1, 2→2, 5→4, 10→7, 100→14, 1000→16;
  // 3→3 (N ≤ 3 takes all), 4→ceil(4·15.3664/18.3664) = ceil(3.35) = 4, 30→ceil(460.992/44.3664) = ceil(10.39) = 11.
  const std::vector<std::pair<std::size_t, std::size_t>> cases = {{0, 0}, {1, 1},   {2, 2},    {3, 3},  {4, 4},
                                                                  {5, 4}, {10, 7}, {30, 11}, {100, 14}, {1000, 16}};
  for (const auto& [population, want] : cases) {
    CAPTURE(population);
    const auto all = pods(population, 1h);
    const auto plan = scale::adapter::plan_scrape(all, now, stable_window);
    CHECK(plan.sample_size == want);
    // Every pod exactly once, so failures can be replaced until the list runs out.
    std::vector<std::size_t> sorted = plan.order;
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::size_t> every(population);
    std::iota(every.begin(), every.end(), std::size_t{0});
    CHECK(sorted == every);
  }
}

TEST_CASE("plan_scrape prefers old pods and keeps young ones as replacements") {
  struct test_case {
    std::string name;
    std::vector<scale::duration> ages;
    std::vector<std::size_t> want_order;
  };
  // Old = age >= 60 s (the stable window). Sample size for 5 pods is 4, for 3 it is 3.
  const std::vector<test_case> cases = {
      {"all old: input order", {1h, 1h, 1h, 1h, 1h}, {0, 1, 2, 3, 4}},
      {"young pods fill the sample after every old one", {1s, 2h, 10s, 60s, 30s}, {1, 3, 0, 2, 4}},
      {"enough old pods: young ones only as replacements", {1s, 2h, 2h, 2h, 2h}, {1, 2, 3, 4, 0}},
      {"the rest of the old pods come before young replacements", {1s, 2h, 2h, 2h, 2h, 2h, 2h}, {1, 2, 3, 4, 5, 6, 0}},
      {"all young", {1s, 2s, 3s}, {0, 1, 2}},
      {"started in the future counts as young", {-5s, 2h, 2h}, {1, 2, 0}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    std::vector<scrape_pod> list;
    for (std::size_t i = 0; i < c.ages.size(); ++i) list.push_back(pod("p" + std::to_string(i), c.ages[i]));
    CHECK(scale::adapter::plan_scrape(list, now, stable_window).order == c.want_order);
  }
}

TEST_CASE("scrape_pods extrapolates the sample to every ready pod") {
  // Knative stats_scraper_test.go testStats: (3, 2, 5, 4), (5, 4, 7, 6), (3, 2, 5, 4).
  fake_fetcher fetcher;
  fetcher.answers.emplace("p0", pod_stat{3, 2, 5, 4});
  fetcher.answers.emplace("p1", pod_stat{5, 4, 7, 6});
  fetcher.answers.emplace("p2", pod_stat{3, 2, 5, 4});
  const auto all = pods(3, 1h);
  const auto got = scale::adapter::scrape_pods(all, now, stable_window, fetcher.function());
  REQUIRE_MESSAGE(got.has_value(), got.error_value().message);
  // Sample = population = 3: the sums (11, 8, 17, 14) / 3 × 3.
  CHECK(got->total == pod_stat{11, 8, 17, 14});
  CHECK(got->ready_pods == 3);
  CHECK(got->sample_size == 3);
  CHECK(got->used == std::vector<std::size_t>{0, 1, 2});
  CHECK(got->failures.empty());
  CHECK(fetcher.batches == std::vector<std::vector<std::string>>{{"p0", "p1", "p2"}});
}

TEST_CASE("scrape_pods with no ready pods records nothing and fetches nothing") {
  fake_fetcher fetcher;
  const auto got = scale::adapter::scrape_pods({}, now, stable_window, fetcher.function());
  REQUIRE(got.has_value());
  CHECK(*got == scrape_outcome{});
  CHECK(fetcher.batches.empty());
}

TEST_CASE("scrape_pods replaces failed pods from the plan") {
  struct test_case {
    std::string name;
    std::size_t population;
    std::vector<std::string> failing;
    std::vector<std::vector<std::string>> want_batches;
    std::optional<pod_stat> want_total;  // empty: the scrape fails
    std::string want_error;
  };
  // Every pod answers (1, 0, 2, 0) unless failing; a full sample of n such stats extrapolates to N·(1, 0, 2, 0).
  const std::vector<test_case> cases = {
      // Knative TestPodDirectScrapeSomeFailButSuccess: 5 pods need 4 answers; p2 fails, p4 replaces it.
      {"one failure, one replacement", 5, {"p2"}, {{"p0", "p1", "p2", "p3"}, {"p4"}}, pod_stat{5, 0, 10, 0}, ""},
      {"replacements can fail too", 10, {"p0", "p7"}, {{"p0", "p1", "p2", "p3", "p4", "p5", "p6"}, {"p7"}, {"p8"}},
       pod_stat{10, 0, 20, 0}, ""},
      // Knative TestPodDirectScrapePodsExhausted: 4 pods need all 4.
      {"pods exhausted", 4, {"p2"}, {{"p0", "p1", "p2", "p3"}}, std::nullopt,
       "no metrics: 3 of 4 ready pods answered, the sample needs 4: pod p2: down"},
      {"every pod fails", 3, {"p0", "p1", "p2"}, {{"p0", "p1", "p2"}}, std::nullopt,
       "no metrics: all 3 ready pods failed: pod p0: down; pod p1: down; pod p2: down"},
      {"a lone pod fails", 1, {"p0"}, {{"p0"}}, std::nullopt, "no metrics: all 1 ready pods failed: pod p0: down"},
      // 7 pods: ceil(7·15.3664 / 21.3664) = ceil(5.03) = 6 in the sample, one replacement.
      {"long failure lists are cut at five", 7, {"p0", "p1", "p2", "p3", "p4", "p5", "p6"},
       {{"p0", "p1", "p2", "p3", "p4", "p5"}, {"p6"}}, std::nullopt,
       "no metrics: all 7 ready pods failed: pod p0: down; pod p1: down; pod p2: down; pod p3: down; pod p4: down; "
       "and 2 more"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    fake_fetcher fetcher;
    fetcher.default_stat = pod_stat{.average_concurrency = 1, .request_count = 2};
    for (const auto& name : c.failing) fetcher.fail(name, "down");
    const auto all = pods(c.population, 1h);
    const auto got = scale::adapter::scrape_pods(all, now, stable_window, fetcher.function());
    CHECK(fetcher.batches == c.want_batches);
    if (c.want_total) {
      REQUIRE_MESSAGE(got.has_value(), got.error_value().message);
      CHECK(got->total == c.want_total);
      CHECK(got->failures.size() == c.failing.size());
    } else {
      REQUIRE_FALSE(got.has_value());
      CHECK(got.error_value().message == c.want_error);
    }
  }
}

TEST_CASE("scrape_pods falls back to young pods when the old ones fail") {
  // Knative TestOldPodsFallback: 30 pods, 11 old (the sample size for 30), all old ones fail, every young one
  // answers → 22 pods asked, 11 old and 11 young.
  auto all = pods(11, 1h, "old-");
  for (auto& young : pods(19, 1s, "young-")) all.push_back(young);
  fake_fetcher fetcher;
  for (std::size_t i = 0; i < 11; ++i) fetcher.fail("old-" + std::to_string(i), "bad hair day");
  const auto got = scale::adapter::scrape_pods(all, now, stable_window, fetcher.function());
  REQUIRE_MESSAGE(got.has_value(), got.error_value().message);
  REQUIRE(fetcher.batches.size() == 2);
  CHECK(fetcher.batches[0].size() == 11);
  CHECK(fetcher.batches[1].size() == 11);
  CHECK(std::all_of(fetcher.batches[0].begin(), fetcher.batches[0].end(),
                    [](const std::string& n) { return n.starts_with("old-"); }));
  CHECK(std::all_of(fetcher.batches[1].begin(), fetcher.batches[1].end(),
                    [](const std::string& n) { return n.starts_with("young-"); }));
  CHECK(got->failures.size() == 11);
  // 11 stats of (1, 0, 2, 0) / 11 × 30.
  CHECK(got->total == pod_stat{30, 0, 60, 0});
}

TEST_CASE("scrape_pods refuses a fetcher that answers the wrong number of pods") {
  const auto all = pods(2, 1h);
  const auto got = scale::adapter::scrape_pods(all, now, stable_window, [](std::span<const scrape_pod>) {
    return std::vector<result<pod_stat>>{pod_stat{}};
  });
  REQUIRE_FALSE(got.has_value());
  CHECK(got.error_value().message == "no metrics: the fetcher returned 1 results for 2 pods");
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP, against a small server on 127.0.0.1 that answers by path.

namespace {

struct reply {
  int status = 200;
  std::string content_type = {};
  std::string body = {};
  bool hang = false;  // never answer; hold the connection until the server stops
};

class test_server {
 public:
  explicit test_server(std::map<std::string, reply> routes) : routes_(std::move(routes)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener_, 16) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  test_server(const test_server&) = delete;
  test_server& operator=(const test_server&) = delete;
  ~test_server() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    acceptor_.join();
    ::close(listener_);
    std::vector<std::thread> connections;
    {
      std::lock_guard lock(mutex_);
      connections.swap(connections_);
    }
    for (auto& t : connections) t.join();
  }

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int connections_accepted() const { return accepted_; }
  std::vector<std::string> accept_headers() const {
    std::lock_guard lock(mutex_);
    return accept_headers_;
  }

 private:
  void accept_loop() {
    while (!stopping_) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      ++accepted_;
      std::lock_guard lock(mutex_);
      connections_.emplace_back([this, fd] { serve(fd); });
    }
  }

  // Waits for readable data in 10 ms steps so a stop is noticed.
  bool wait_readable(int fd) {
    while (!stopping_) {
      pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
      if (::poll(&p, 1, 10) > 0) return true;
    }
    return false;
  }

  void serve(int fd) {
    std::string buffer;
    while (wait_readable(fd)) {
      char chunk[4096];
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      buffer.append(chunk, static_cast<std::size_t>(n));
      const auto end = buffer.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      const std::string head = buffer.substr(0, end);
      buffer.erase(0, end + 4);
      const auto path_start = head.find(' ') + 1;
      const std::string path = head.substr(path_start, head.find(' ', path_start) - path_start);
      if (const auto accept = head.find("\r\nAccept: "); accept != std::string::npos) {
        const auto from = accept + 10;
        std::lock_guard lock(mutex_);
        accept_headers_.push_back(head.substr(from, head.find("\r\n", from) - from));
      }
      const auto route = routes_.find(path);
      const reply r = route == routes_.end() ? reply{.status = 404, .body = "no route"} : route->second;
      if (r.hang) {
        while (!stopping_) std::this_thread::sleep_for(10ms);
        break;
      }
      std::string out = "HTTP/1.1 " + std::to_string(r.status) + " X\r\nContent-Length: " + std::to_string(r.body.size()) +
                        "\r\n";
      if (!r.content_type.empty()) out += "Content-Type: " + r.content_type + "\r\n";
      out += "\r\n" + r.body;
      if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) < 0) break;
    }
    ::close(fd);
  }

  std::map<std::string, reply> routes_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  mutable std::mutex mutex_;
  std::vector<std::thread> connections_;
  std::vector<std::string> accept_headers_;
  std::thread acceptor_;
};

// A port nothing listens on: bound, then closed.
std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

const scale::adapter::stat_message served_stat{.pod_name = "a",
                                               .average_concurrent_requests = 3,
                                               .average_proxied_concurrent_requests = 1,
                                               .request_count = 8,
                                               .proxied_request_count = 2};
const std::string old_queue_proxy_page =
    "# TYPE queue_average_concurrent_requests gauge\nqueue_average_concurrent_requests{destination_pod=\"b\"} 5\n"
    "queue_average_proxied_concurrent_requests{destination_pod=\"b\"} 1\n"
    "queue_requests_per_second{destination_pod=\"b\"} 12\nqueue_proxied_operations_per_second{destination_pod=\"b\"} "
    "2\n";

std::map<std::string, reply> routes() {
  return {{"/proto", reply{.content_type = "application/protobuf", .body = scale::adapter::encode_stat(served_stat)}},
          {"/text", reply{.content_type = "text/plain; version=0.0.4; charset=utf-8", .body = old_queue_proxy_page}},
          {"/500", reply{.status = 500, .content_type = "text/plain", .body = "internal error"}},
          {"/hang", reply{.hang = true}},
          {"/big", reply{.content_type = "text/plain", .body = std::string(4096, '#')}},
          {"/app", reply{.content_type = "text/plain; version=0.0.4", .body = "# TYPE inflight gauge\ninflight 7\n"}}};
}

}  // namespace

TEST_CASE("pod_scraper fetches protobuf, then text, then 500, then a pod that never answers") {
  test_server server(routes());
  // A short timeout keeps the hanging pod's wait short; production uses Knative's 3 s.
  scale::adapter::pod_scraper scraper(metrics_source{}, {.timeout = 300ms, .max_body_bytes = 1024});
  const std::vector<scrape_pod> list = {
      {.name = "a", .url = server.url("/proto")},
      {.name = "b", .url = server.url("/text")},
      {.name = "c", .url = server.url("/500")},
      {.name = "d", .url = server.url("/hang")},
      {.name = "e", .url = server.url("/big")},
      {.name = "", .url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/metrics"},
  };
  const auto got = scraper.fetch(list);
  REQUIRE(got.size() == list.size());
  REQUIRE_MESSAGE(got[0].has_value(), got[0].error_value().message);
  CHECK(*got[0] == pod_stat{3, 1, 8, 2});
  REQUIRE_MESSAGE(got[1].has_value(), got[1].error_value().message);
  CHECK(*got[1] == pod_stat{5, 1, 12, 2});
  REQUIRE_FALSE(got[2].has_value());
  CHECK(got[2].error_value().message == "pod c (" + list[2].url + "): http status 500");
  REQUIRE_FALSE(got[3].has_value());
  CHECK(got[3].error_value().message == "pod d (" + list[3].url + "): no reply within 300 ms");
  REQUIRE_FALSE(got[4].has_value());
  CHECK(got[4].error_value().message == "pod e (" + list[4].url + "): reply larger than 1024 bytes");
  REQUIRE_FALSE(got[5].has_value());
  // libcurl words the refusal itself; the pod's address leads.
  CAPTURE(got[5].error_value().message);
  CHECK(got[5].error_value().message.starts_with(list[5].url + ": "));
  CHECK(got[5].error_value().message.find("onnect") != std::string::npos);
  // Knative http_scrape_client.go: every request asks for protobuf.
  for (const auto& accept : server.accept_headers()) CHECK(accept == "application/protobuf");
}

TEST_CASE("pod_scraper scrape extrapolates and fails with no metrics when too few answer") {
  test_server server(routes());
  scale::adapter::pod_scraper scraper(metrics_source{}, {.timeout = 300ms});
  const std::vector<scrape_pod> good = {{.name = "a", .url = server.url("/proto"), .started = now - 1h},
                                        {.name = "b", .url = server.url("/text"), .started = now - 1h}};
  const auto ok = scraper.scrape(good, now, stable_window);
  REQUIRE_MESSAGE(ok.has_value(), ok.error_value().message);
  // Both pods sampled: ((3, 1, 8, 2) + (5, 1, 12, 2)) / 2 × 2.
  CHECK(ok->total == pod_stat{8, 2, 20, 4});
  std::vector<std::size_t> used = ok->used;
  std::sort(used.begin(), used.end());
  CHECK(used == std::vector<std::size_t>{0, 1});

  const std::vector<scrape_pod> bad = {{.name = "c", .url = server.url("/500"), .started = now - 1h},
                                       {.name = "d", .url = server.url("/hang"), .started = now - 1h}};
  const auto failed = scraper.scrape(bad, now, stable_window);
  REQUIRE_FALSE(failed.has_value());
  const std::string& message = failed.error_value().message;
  CAPTURE(message);
  CHECK(message.starts_with("no metrics: all 2 ready pods failed: "));
  CHECK(message.find("pod c (" + bad[0].url + "): http status 500") != std::string::npos);
  CHECK(message.find("pod d (" + bad[1].url + "): no reply within 300 ms") != std::string::npos);
}

TEST_CASE("pod_scraper keeps the connection alive between scrapes") {
  test_server server(routes());
  scale::adapter::pod_scraper scraper(metrics_source{});
  const std::vector<scrape_pod> list = {{.name = "a", .url = server.url("/proto")}};
  for (int i = 0; i < 3; ++i) {
    const auto got = scraper.fetch(list);
    REQUIRE(got.at(0).has_value());
  }
  CHECK(server.connections_accepted() == 1);
}

TEST_CASE("pod_scraper reads an app's gauge as text") {
  test_server server(routes());
  scale::adapter::pod_scraper scraper(
      metrics_source{.app = scale::adapter::app_gauge{.metric = "inflight", .meaning = scale::adapter::gauge_meaning::rps}});
  const std::vector<scrape_pod> list = {{.name = "a", .url = server.url("/app")},
                                        {.name = "b", .url = server.url("/proto")}};
  const auto got = scraper.fetch(list);
  REQUIRE_MESSAGE(got.at(0).has_value(), got.at(0).error_value().message);
  CHECK(*got[0] == pod_stat{.request_count = 7});
  REQUIRE_FALSE(got.at(1).has_value());
  CHECK(got[1].error_value().message ==
        "pod b (" + list[1].url + "): Content-Type \"application/protobuf\", expected text/plain");
  for (const auto& accept : server.accept_headers()) CHECK(accept == "text/plain; version=0.0.4");
}
