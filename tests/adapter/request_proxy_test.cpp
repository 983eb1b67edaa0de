#include "adapter/request_proxy.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using scale::adapter::backend;
using scale::adapter::demand_signal;
using scale::adapter::proxy_counters;
using scale::adapter::proxy_options;
using scale::adapter::request_proxy;
using response = http::response<http::string_body>;

// A tiny keep-alive HTTP/1.1 backend. It answers "<name> <METHOD> <target>" and then the request's
// header lines, one per line, so tests see what the proxy forwarded. A gated backend answers only when
// the test calls release_one(), oldest request first.
class test_backend {
 public:
  /// `close_after_reply`: answer "keep-alive" but close anyway, as a backend whose idle timeout ran out.
  explicit test_backend(std::string name, bool gated = false, bool close_after_reply = false)
      : name_(std::move(name)),
        gated_(gated),
        close_after_reply_(close_after_reply),
        acceptor_(io_, tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  test_backend(const test_backend&) = delete;
  test_backend& operator=(const test_backend&) = delete;
  ~test_backend() {
    io_.stop();
    thread_.join();
  }

  backend where() const { return {"127.0.0.1", acceptor_.local_endpoint().port()}; }
  int requests() const { return requests_.load(); }
  int connections() const { return connections_.load(); }
  int waiting() const { return waiting_count_.load(); }

  /// Answers the oldest gated request.
  void release_one() {
    asio::post(io_, [this] {
      if (waiting_.empty()) return;
      auto answer = std::move(waiting_.front());
      waiting_.pop_front();
      waiting_count_ -= 1;
      answer();
    });
  }

 private:
  struct connection {
    explicit connection(tcp::socket s) : stream(std::move(s)) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    response reply;
  };

  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      connections_ += 1;
      read(std::make_shared<connection>(std::move(socket)));
      accept();
    });
  }

  void read(const std::shared_ptr<connection>& c) {
    c->request = {};
    http::async_read(c->stream, c->buffer, c->request, [this, c](beast::error_code ec, std::size_t) {
      if (ec) return;
      requests_ += 1;
      if (!gated_) {
        answer(c);
        return;
      }
      waiting_count_ += 1;
      waiting_.push_back([this, c] { answer(c); });
    });
  }

  void answer(const std::shared_ptr<connection>& c) {
    std::string body = name_ + " " + std::string(c->request.method_string()) + " " + std::string(c->request.target()) + "\n";
    for (const auto& field : c->request) {
      body += std::string(field.name_string()) + ": " + std::string(field.value()) + "\n";
    }
    c->reply = response{http::status::ok, 11};
    c->reply.set("X-Backend-Kept", "1");
    c->reply.set("X-Backend-Drop", "1");
    c->reply.set("Keep-Alive", "timeout=99");
    c->reply.body() = std::move(body);
    c->reply.prepare_payload();
    // Set last: keep_alive() and prepare_payload() would rewrite it.
    c->reply.set(http::field::connection, "keep-alive, X-Backend-Drop");
    http::async_write(c->stream, c->reply, [this, c](beast::error_code ec, std::size_t) {
      if (ec) return;
      if (close_after_reply_) {
        c->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        c->stream.socket().close(ec);
        return;
      }
      read(c);
    });
  }

  std::string name_;
  bool gated_;
  bool close_after_reply_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::deque<std::function<void()>> waiting_;
  std::atomic<int> requests_{0};
  std::atomic<int> connections_{0};
  std::atomic<int> waiting_count_{0};
  std::thread thread_;
};

// A synchronous client on its own connection; every exchange has a 5 s guard so a bug fails, not hangs.
class test_client {
 public:
  explicit test_client(std::uint16_t port) : stream_(io_) {
    stream_.connect(tcp::endpoint{asio::ip::make_address("127.0.0.1"), port});
  }

  response send(http::request<http::string_body> request) {
    request.prepare_payload();
    stream_.expires_after(5s);
    http::write(stream_, request);
    beast::flat_buffer buffer;
    response reply;
    http::read(stream_, buffer, reply);
    return reply;
  }

  response get(const std::string& target) { return send(make_get(target)); }

  static http::request<http::string_body> make_get(const std::string& target) {
    http::request<http::string_body> request{http::verb::get, target, 11};
    request.set(http::field::host, "hello.example");
    return request;
  }

  /// Sends a request without waiting for the reply.
  void send_only(http::request<http::string_body> request) {
    request.prepare_payload();
    http::write(stream_, request);
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

 private:
  asio::io_context io_;
  beast::tcp_stream stream_;
};

std::future<response> get_async(std::uint16_t port, std::string target) {
  return std::async(std::launch::async, [port, target = std::move(target)] { return test_client(port).get(target); });
}

// Polls until `condition` holds (a few socket round trips at most); false after 20 s, a bound for a loaded machine.
bool wait_until(const std::function<bool()>& condition) {
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// A clock the test moves by hand, for the statistics.
struct manual_clock {
  std::atomic<std::int64_t> ns{0};
  void set(std::chrono::nanoseconds t) { ns = t.count(); }
  std::function<scale::time_point()> function() {
    return [this] { return scale::at(scale::duration{ns.load()}); };
  }
};

// Records the proxy's demand signals.
struct signal_log {
  std::mutex mutex;
  std::vector<demand_signal> signals;
  std::function<void(const demand_signal&)> function() {
    return [this](const demand_signal& s) {
      const std::lock_guard lock(mutex);
      signals.push_back(s);
    };
  }
  std::vector<demand_signal> snapshot() {
    const std::lock_guard lock(mutex);
    return signals;
  }
};

proxy_options loopback_options() {
  proxy_options options;
  options.listen_address = "127.0.0.1";
  options.listen_port = 0;
  return options;
}

std::unique_ptr<request_proxy> start_proxy(proxy_options options) {
  auto started = request_proxy::start(std::move(options));
  REQUIRE(started.has_value());
  return std::move(started).value();
}

std::uint16_t unused_port() {
  asio::io_context io;
  tcp::acceptor probe(io, tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0});
  return probe.local_endpoint().port();  // closed on return: connections to it are refused
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

TEST_CASE("a request with no backend is held and forwarded once a backend appears, with one poke") {
  manual_clock clock;
  signal_log log;
  proxy_options options = loopback_options();
  options.clock = clock.function();
  options.on_demand = log.function();
  const auto proxy = start_proxy(options);
  test_backend pod("pod-a");

  clock.set(5s);
  auto first = get_async(proxy->port(), "/first");
  REQUIRE(wait_until([&] { return proxy->counters().queued == 1; }));
  clock.set(5250ms);
  auto second = get_async(proxy->port(), "/second");
  REQUIRE(wait_until([&] { return proxy->counters().queued == 2; }));

  // One signal for the burst: the first request's push (Knative's activator: concurrency 1, one
  // request) together with the poke; the second held request adds nothing.
  const std::vector<demand_signal> expected = {
      {.at = scale::at(5s), .first_request_stat = scale::pod_stat{.average_concurrency = 1, .request_count = 1},
       .poke = true}};
  CHECK(log.snapshot() == expected);

  // Held requests count as concurrency. By hand, from 5 s to 5.5 s: 0.25 s × 1 + 0.25 s × 2 = 0.75,
  // over 0.5 s = 1.5, minus the pushed 1 = 0.5; two arrivals minus the pushed one = 1.
  CHECK(proxy->take_stat(scale::at(5500ms)) == scale::pod_stat{.average_concurrency = 0.5, .request_count = 1});

  proxy->set_backends({pod.where()}, 0);
  const response r1 = first.get();
  const response r2 = second.get();
  CHECK(r1.result_int() == 200);
  CHECK(starts_with(r1.body(), "pod-a GET /first\n"));
  CHECK(r2.result_int() == 200);
  CHECK(starts_with(r2.body(), "pod-a GET /second\n"));
  CHECK(log.snapshot() == expected);
  REQUIRE(wait_until([&] { return proxy->counters().active == 0; }));
  CHECK(proxy->counters() == proxy_counters{.forwarded_total = 2});
}

TEST_CASE("a hundred held requests share the proxy's one I/O thread and are all answered") {
  signal_log log;
  proxy_options options = loopback_options();
  options.on_demand = log.function();
  const auto proxy = start_proxy(options);
  test_backend pod("pod-a");

  // One asynchronous client thread for all of them, so the test itself needs no hundred threads.
  constexpr int count = 100;
  struct exchange {
    explicit exchange(asio::io_context& io) : stream(io) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    response reply;
  };
  asio::io_context io;
  std::vector<std::unique_ptr<exchange>> exchanges;
  const tcp::endpoint endpoint{asio::ip::make_address("127.0.0.1"), proxy->port()};
  for (int i = 0; i < count; ++i) {
    auto& e = *exchanges.emplace_back(std::make_unique<exchange>(io));
    e.request = test_client::make_get("/" + std::to_string(i));
    e.stream.expires_after(5s);
    e.stream.async_connect(endpoint, [&e](beast::error_code ec) {
      if (ec) return;
      http::async_write(e.stream, e.request, [&e](beast::error_code write_ec, std::size_t) {
        if (!write_ec) http::async_read(e.stream, e.buffer, e.reply, [](beast::error_code, std::size_t) {});
      });
    });
  }
  std::thread client_thread([&io] { io.run(); });
  const bool all_held = wait_until([&] { return proxy->counters().queued == count; });
  proxy->set_backends({pod.where()}, 0);
  client_thread.join();
  REQUIRE(all_held);

  int ok = 0;
  for (const auto& e : exchanges) ok += e->reply.result_int() == 200 ? 1 : 0;
  CHECK(ok == count);
  CHECK(log.snapshot().size() == 1);  // one poke for the whole burst
  REQUIRE(wait_until([&] { return proxy->counters().active == 0; }));
  CHECK(proxy->counters().forwarded_total == count);
}

TEST_CASE("a full queue answers 503 and stop answers the held requests 503") {
  proxy_options options = loopback_options();
  options.queue_limit = 2;
  const auto proxy = start_proxy(options);

  auto held1 = get_async(proxy->port(), "/1");
  auto held2 = get_async(proxy->port(), "/2");
  REQUIRE(wait_until([&] { return proxy->counters().queued == 2; }));
  const response refused = test_client(proxy->port()).get("/3");
  CHECK(refused.result_int() == 503);
  CHECK(refused.body() == "scale-adapter: queue full (2 requests held)\n");
  CHECK(refused[http::field::content_type] == "text/plain; charset=utf-8");
  CHECK(proxy->counters().failed_queue_full_total == 1);

  proxy->stop();
  for (auto* held : {&held1, &held2}) {
    const response r = held->get();
    CHECK(r.result_int() == 503);
    CHECK(r.body() == "scale-adapter: shutting down\n");
  }
  CHECK(proxy->counters().queued == 0);
}

TEST_CASE("a request held longer than the revision timeout gets 504") {
  proxy_options options = loopback_options();
  options.revision_timeout = 50ms;
  const auto proxy = start_proxy(options);

  const response r = test_client(proxy->port()).get("/slow-start");
  CHECK(r.result_int() == 504);
  CHECK(r.body() == "scale-adapter: request held for 50 ms without a ready backend (revision timeout)\n");
  REQUIRE(wait_until([&] { return proxy->counters().active == 0; }));
  CHECK(proxy->counters() == proxy_counters{.failed_timeout_total = 1});
}

TEST_CASE("with container concurrency 1 a second request waits for the first") {
  const auto proxy = start_proxy(loopback_options());
  test_backend pod("pod-a", true);
  proxy->set_backends({pod.where()}, 1);

  auto first = get_async(proxy->port(), "/first");
  REQUIRE(wait_until([&] { return pod.waiting() == 1; }));
  auto second = get_async(proxy->port(), "/second");
  REQUIRE(wait_until([&] { return proxy->counters().queued == 1; }));
  CHECK(pod.requests() == 1);
  CHECK(proxy->counters().in_flight == 1);

  pod.release_one();
  CHECK(starts_with(first.get().body(), "pod-a GET /first\n"));
  REQUIRE(wait_until([&] { return pod.waiting() == 1; }));
  CHECK(proxy->counters().queued == 0);
  pod.release_one();
  CHECK(starts_with(second.get().body(), "pod-a GET /second\n"));
}

TEST_CASE("requests spread over two backends") {
  const auto proxy = start_proxy(loopback_options());
  test_backend pod_a("pod-a", true);
  test_backend pod_b("pod-b", true);
  proxy->set_backends({pod_a.where(), pod_b.where()}, 0);

  auto first = get_async(proxy->port(), "/1");
  auto second = get_async(proxy->port(), "/2");
  REQUIRE(wait_until([&] { return pod_a.waiting() + pod_b.waiting() == 2; }));
  // Least in flight: the second request goes to the idle backend.
  CHECK(pod_a.waiting() == 1);
  CHECK(pod_b.waiting() == 1);
  pod_a.release_one();
  pod_b.release_one();
  CHECK(first.get().result_int() == 200);
  CHECK(second.get().result_int() == 200);
}

TEST_CASE("a backend that refuses connections is skipped, and 502 when none accepts") {
  const auto proxy = start_proxy(loopback_options());
  test_backend pod("pod-live");
  const backend dead{"127.0.0.1", unused_port()};

  // The dead backend is first in order, so the first attempt goes there and is retried on the live one.
  proxy->set_backends({dead, pod.where()}, 0);
  const response ok = test_client(proxy->port()).get("/retried");
  CHECK(ok.result_int() == 200);
  CHECK(starts_with(ok.body(), "pod-live GET /retried\n"));
  CHECK(proxy->counters().failed_backend_error_total == 0);

  proxy->set_backends({dead}, 0);
  const response bad = test_client(proxy->port()).get("/nowhere");
  CHECK(bad.result_int() == 502);
  CHECK(bad.body() == "scale-adapter: no backend accepted the connection (tried 127.0.0.1:" +
                          std::to_string(dead.port) + " (Connection refused))\n");
  CHECK(proxy->counters().failed_backend_error_total == 1);
}

TEST_CASE("a pooled backend connection the backend closed is replaced by a fresh one") {
  const auto proxy = start_proxy(loopback_options());
  test_backend pod("pod-a", false, true);
  proxy->set_backends({pod.where()}, 0);

  for (const std::string target : {"/1", "/2"}) {
    CAPTURE(target);
    const response r = test_client(proxy->port()).get(target);
    CHECK(r.result_int() == 200);
    CHECK(starts_with(r.body(), "pod-a GET " + target + "\n"));
  }
  CHECK(pod.connections() == 2);
  CHECK(proxy->counters().failed_backend_error_total == 0);
}

TEST_CASE("a backend that does not answer within the revision timeout gives 504") {
  proxy_options options = loopback_options();
  options.revision_timeout = 50ms;
  const auto proxy = start_proxy(options);
  test_backend pod("pod-a", true);
  proxy->set_backends({pod.where()}, 1);

  const response r = test_client(proxy->port()).get("/stuck");
  CHECK(r.result_int() == 504);
  CHECK(r.body() == "scale-adapter: backend " + scale::adapter::to_string(pod.where()) +
                        " did not answer within the revision timeout (50 ms)\n");
  REQUIRE(wait_until([&] { return proxy->counters().active == 0; }));
  CHECK(proxy->counters() == proxy_counters{.failed_timeout_total = 1});
  pod.release_one();
}

TEST_CASE("a client that disconnects while its request is at a backend frees the slot") {
  const auto proxy = start_proxy(loopback_options());
  test_backend pod("pod-a", true);
  proxy->set_backends({pod.where()}, 1);

  test_client client(proxy->port());
  client.send_only(test_client::make_get("/abandoned"));
  REQUIRE(wait_until([&] { return pod.waiting() == 1; }));
  CHECK(proxy->counters().in_flight == 1);
  client.close();
  CHECK(wait_until([&] { return proxy->counters().in_flight == 0 && proxy->counters().active == 0; }));
  pod.release_one();
}

TEST_CASE("a keep-alive client sends three requests on one connection") {
  const auto proxy = start_proxy(loopback_options());
  test_backend pod("pod-a");
  proxy->set_backends({pod.where()}, 0);

  test_client client(proxy->port());
  for (const std::string target : {"/1", "/2", "/3"}) {
    CAPTURE(target);
    const response r = client.get(target);
    CHECK(r.result_int() == 200);
    CHECK(r.keep_alive());
    CHECK(starts_with(r.body(), "pod-a GET " + target + "\n"));
  }
  // The proxy kept its backend connection too.
  CHECK(pod.connections() == 1);
  CHECK(pod.requests() == 3);
}

TEST_CASE("hop-by-hop headers are stripped both ways and X-Forwarded-For is appended") {
  const auto proxy = start_proxy(loopback_options());
  test_backend pod("pod-a");
  proxy->set_backends({pod.where()}, 0);

  auto request = test_client::make_get("/headers");
  request.set(http::field::connection, "keep-alive, X-Drop-Me");
  request.set("X-Drop-Me", "1");
  request.set("Keep-Alive", "timeout=5");
  request.set(http::field::te, "trailers");
  request.set(http::field::proxy_authorization, "Basic eDp5");
  request.set("X-Custom", "kept");
  request.set("X-Forwarded-For", "10.0.0.9");
  const response r = test_client(proxy->port()).send(request);
  REQUIRE(r.result_int() == 200);

  // The backend echoes what it received, one header per line, in order (the proxy appends XFF).
  CHECK(r.body() ==
        "pod-a GET /headers\n"
        "Host: hello.example\n"
        "X-Custom: kept\n"
        "X-Forwarded-For: 10.0.0.9, 127.0.0.1\n");
  CHECK(r["X-Backend-Kept"] == "1");
  CHECK(r.find("X-Backend-Drop") == r.end());
  CHECK(r.find("Keep-Alive") == r.end());
}

TEST_CASE("the concurrency stat is the time-weighted count of requests in the proxy") {
  manual_clock clock;
  signal_log log;
  proxy_options options = loopback_options();
  options.clock = clock.function();
  options.on_demand = log.function();
  const auto proxy = start_proxy(options);
  test_backend pod("pod-a", true);
  proxy->set_backends({pod.where()}, 0);

  // Schedule: A arrives at 0 s, B at 0.2 s, A is answered at 0.6 s, B at 0.9 s; report at 1 s.
  clock.set(0ms);
  auto a = get_async(proxy->port(), "/a");
  REQUIRE(wait_until([&] { return pod.waiting() == 1; }));
  clock.set(200ms);
  auto b = get_async(proxy->port(), "/b");
  REQUIRE(wait_until([&] { return pod.waiting() == 2; }));
  clock.set(600ms);
  pod.release_one();
  CHECK(a.get().result_int() == 200);
  REQUIRE(wait_until([&] { return proxy->counters().active == 1; }));
  clock.set(900ms);
  pod.release_one();
  CHECK(b.get().result_int() == 200);
  REQUIRE(wait_until([&] { return proxy->counters().active == 0; }));

  // Backends were ready, so no poke, but the first request is pushed at once (activator_reporter).
  const std::vector<demand_signal> expected_signals = {
      {.at = scale::at(0s), .first_request_stat = scale::pod_stat{.average_concurrency = 1, .request_count = 1},
       .poke = false}};
  CHECK(log.snapshot() == expected_signals);

  // By hand: ∫ concurrency dt = 0.2 s × 1 + 0.4 s × 2 + 0.3 s × 1 = 1.3 over 1 s; the report takes back
  // the pushed 1 (concurrency and count), so 0.3 and 2 − 1 = 1 request.
  const auto first = proxy->take_stat(scale::at(1s));
  REQUIRE(first.has_value());
  CHECK(first->average_concurrency == doctest::Approx(0.3).epsilon(1e-12));
  CHECK(first->request_count == 1);
  CHECK(first->average_proxied_concurrency == 0);
  // An idle second reports zeros, after which the proxy stops reporting until the next request.
  CHECK(proxy->take_stat(scale::at(2s)) == scale::pod_stat{});
  CHECK_FALSE(proxy->take_stat(scale::at(3s)).has_value());
}

TEST_CASE("a client that disconnects while held leaves the queue") {
  const auto proxy = start_proxy(loopback_options());
  test_client client(proxy->port());
  client.send_only(test_client::make_get("/gone"));
  REQUIRE(wait_until([&] { return proxy->counters().queued == 1; }));
  client.close();
  CHECK(wait_until([&] { return proxy->counters().queued == 0 && proxy->counters().active == 0; }));
}

TEST_CASE("a request body over the limit gets 413") {
  proxy_options options = loopback_options();
  options.body_limit_bytes = 16;
  const auto proxy = start_proxy(options);
  http::request<http::string_body> request{http::verb::post, "/upload", 11};
  request.body() = std::string(100, 'x');
  const response r = test_client(proxy->port()).send(request);
  CHECK(r.result_int() == 413);
  CHECK(r.body() == "scale-adapter: request body larger than 16 bytes\n");
}

TEST_CASE("start reports an address it cannot listen on") {
  struct row {
    std::string address;
    std::string expected;
  };
  const std::vector<row> rows = {
      {"not-an-ip", R"(proxy listen address "not-an-ip" is not an IP address)"},
      // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never a local address.
      {"192.0.2.1", "proxy cannot listen on 192.0.2.1:0: Cannot assign requested address"},
  };
  for (const row& r : rows) {
    CAPTURE(r.address);
    proxy_options options = loopback_options();
    options.listen_address = r.address;
    const auto started = request_proxy::start(options);
    REQUIRE_FALSE(started.has_value());
    CHECK(started.error_value().message == r.expected);
  }
}
