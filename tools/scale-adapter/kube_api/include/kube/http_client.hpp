#pragma once
/// The HTTP(S) client of the Kubernetes API: one libcurl easy handle (kept alive between requests), TLS and
/// credentials from a `rest_config`, client-side rate limit, retries with backoff, 401 → refresh → retry once.
/// Thread-compatible: use one client per thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <kube/api_status.hpp>
#include <kube/rest_config.hpp>

#ifndef SCALE_ADAPTER_VERSION
#define SCALE_ADAPTER_VERSION "0.1.0"
#endif

namespace scale::kube {

/// One API request. `path` starts with '/', `query` values are raw (the client URL-encodes them).
struct request {
  std::string method = "GET";
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  std::string content_type;
  std::string body;
  /// Whole-request timeout (connect included); a watch sets it above its timeoutSeconds.
  std::chrono::milliseconds timeout{std::chrono::seconds{30}};
  /// When set and true, the request (and its retries) gives up as soon as possible with a "cancelled" error.
  const std::atomic<bool>* cancel = nullptr;
};

/// One API answer (the last attempt's, after retries).
struct response {
  int status = 0;
  std::string audit_id;
  std::string retry_after;
  std::string content_type;
  std::string body;
};

/// Monotonic clock and sleeper, injectable so tests never wait.
struct time_source {
  std::function<std::chrono::steady_clock::time_point()> now = [] { return std::chrono::steady_clock::now(); };
  std::function<void(std::chrono::nanoseconds)> sleep;  // empty = std::this_thread::sleep_for
};

/// Token bucket (a refill of `qps` per second up to `burst` tokens), as client-go's default client-side limit
/// (cluster-adapter.md §6.4: QPS 5, burst 10). Waits are reservations: a caller may drive the balance below 0.
class token_bucket {
 public:
  token_bucket(double qps, int burst);
  /// Takes one token at `now`; returns how long the caller must wait before sending (zero when a token was there).
  std::chrono::nanoseconds reserve(std::chrono::steady_clock::time_point now);

 private:
  double qps_;
  double burst_;
  double tokens_;
  std::chrono::steady_clock::time_point last_{};
  bool started_ = false;
};

/// Knobs of the client; the defaults are client-go's (§6.4) unless noted.
struct client_options {
  std::string user_agent = "scale-adapter/" SCALE_ADAPTER_VERSION;
  double qps = 5;
  int burst = 10;
  /// Retries of a 429 / 5xx answer (rest/request.go: 10).
  int max_retries = 10;
  /// Retries of a connection failure (refused, reset, DNS) before giving up with an error naming the server.
  int max_connection_retries = 3;
  /// Backoff without Retry-After: base × 2^attempt, capped, each multiplied by a seeded jitter in [1, 1.5).
  std::chrono::milliseconds backoff_base{200};
  std::chrono::milliseconds backoff_cap{std::chrono::seconds{30}};
  /// Honoured Retry-After values are capped at this (a broken server must not park the adapter for a day).
  std::chrono::seconds retry_after_cap{std::chrono::seconds{60}};
  std::chrono::milliseconds connect_timeout{std::chrono::seconds{10}};
  std::uint64_t jitter_seed = 0x5ca1e;
  time_source time;
};

/// A Kubernetes API client over one libcurl handle.
class http_client {
 public:
  /// Fails when the server URL is not http(s)://host[:port][/prefix] or libcurl cannot be set up.
  static result<std::unique_ptr<http_client>> create(rest_config config, client_options options = {});
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Sends `req` with rate limit and retries; any HTTP answer (2xx or not) is a response, only a transport
  /// failure (or cancel) is an error (code 0).
  api_result<response> send(const request& req);

  /// Like send(), for a streaming body (a watch): 2xx body bytes go to `on_data` as they arrive instead of
  /// response.body; returning false from `on_data` ends the transfer (not an error). Non-2xx bodies are kept.
  api_result<response> stream(const request& req, const std::function<bool(std::string_view)>& on_data);

  /// send(), then a non-2xx answer as an api_error built from its Status body (naming method and path).
  api_result<response> call(const request& req);

  const rest_config& config() const { return config_; }
  /// The server as given in the config, for messages.
  const std::string& server() const { return config_.server; }

 private:
  struct curl_state;
  http_client(rest_config config, client_options options);
  api_result<response> perform(const request& req, const std::function<bool(std::string_view)>* on_data);
  std::chrono::nanoseconds backoff(int attempt);
  void sleep(std::chrono::nanoseconds d) const;

  rest_config config_;
  client_options options_;
  token_bucket bucket_;
  std::mt19937_64 jitter_;
  std::unique_ptr<curl_state> curl_;
};

/// Percent-encodes `text` for a query value (RFC 3986 unreserved characters stay).
std::string url_encode(std::string_view text);

/// Seconds of a `Retry-After` header in its delta-seconds form; nullopt for anything else (HTTP dates included).
std::optional<std::chrono::seconds> parse_retry_after(std::string_view header);

}  // namespace scale::kube
