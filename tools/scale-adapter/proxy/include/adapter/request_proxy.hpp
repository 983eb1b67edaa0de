#pragma once
/// The adapter's proxy mode: an HTTP/1.1 reverse proxy in front of a target's ready pods that plays
/// Knative's activator for a revision with target-burst-capacity −1 (always in the request path): it holds
/// requests while no pod can take them, pokes the adapter for an immediate decision, and measures the
/// concurrency the autoscaler scales on.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapter/backend_set.hpp"
#include "libscale/metric_collector.hpp"
#include "libscale/result.hpp"
#include "libscale/time.hpp"

namespace scale::adapter {

/// What the proxy tells the adapter between its ticks (called on the proxy's I/O thread, no lock held).
struct demand_signal {
  /// When it happened, on the proxy's `clock`.
  time_point at{};
  /// Knative's activator push on the first request of an idle revision (concurrency 1, one request):
  /// record it at `at`; the next `take_stat` takes it back out (`activator_reporter`).
  std::optional<pod_stat> first_request_stat;
  /// Requests are being held (no ready pod, or none with free capacity): decide now instead of at the
  /// next 2 s tick (Knative's `MultiScaler.Poke`). Set once per burst: only when the hold queue goes
  /// from empty to non-empty, so a crowd of held requests pokes once.
  bool poke = false;

  bool operator==(const demand_signal&) const = default;
};

/// Settings of a `request_proxy`.
struct proxy_options {
  /// Where to listen: an IP address and a port (0 picks a free port, see `request_proxy::port`).
  std::string listen_address = "0.0.0.0";
  std::uint16_t listen_port = 8080;
  /// Held requests at most; one more is refused with 503. Knative's breaker queue depth is 10 000.
  std::size_t queue_limit = 10'000;
  /// Longest a request may take from its arrival, held time included (Knative's revision
  /// `timeoutSeconds`, default 300 s): a held request gets 504, a forwarded one too.
  std::chrono::milliseconds revision_timeout{std::chrono::seconds{300}};
  /// Largest request or response body; a larger request gets 413, a larger response 502.
  std::size_t body_limit_bytes = 10 * 1024 * 1024;
  /// Backends tried per request when connections are refused before giving up with 502.
  std::size_t max_attempts = 3;
  /// Idle keep-alive connections kept per backend.
  std::size_t max_idle_connections_per_backend = 16;
  /// A client connection idle this long between requests is closed; it also bounds writing a reply.
  std::chrono::milliseconds client_idle_timeout{std::chrono::seconds{75}};
  /// Model time for the statistics, on the same timeline as `take_stat`'s `now`. Empty: the steady
  /// clock's time since its epoch.
  std::function<time_point()> clock;
  /// See `demand_signal`; may be empty. It must not call `stop`.
  std::function<void(const demand_signal&)> on_demand;
};

/// Counters for the adapter's /metrics.
struct proxy_counters {
  /// Requests held now.
  std::size_t queued = 0;
  /// Requests at a backend now.
  std::size_t in_flight = 0;
  /// Requests in the proxy now, held, at a backend or being answered: the concurrency it reports.
  std::size_t active = 0;
  /// Requests a backend answered (any status).
  std::uint64_t forwarded_total = 0;
  /// Requests refused with 503 because the hold queue was full.
  std::uint64_t failed_queue_full_total = 0;
  /// Requests that reached the revision timeout (504), held or at a backend.
  std::uint64_t failed_timeout_total = 0;
  /// Requests that got 502: no backend accepted the connection, or the backend's reply was broken.
  std::uint64_t failed_backend_error_total = 0;

  bool operator==(const proxy_counters&) const = default;
};

/// A running reverse proxy: one I/O thread, everything asynchronous, so held requests cost memory and
/// a timer each, not a thread. Thread-safe: `set_backends`, `take_stat`, `counters` and `stop` may
/// be called from any thread.
///
/// Concurrency accounting: a request counts from the moment its head and body are read until its
/// response is written (or it fails), whether held or at a backend. That is what Knative's activator
/// reports, since its concurrency reporter wraps the throttler that queues requests; with
/// target-burst-capacity −1 the activator sees every request, so this is the revision's whole load.
class request_proxy {
 public:
  /// Binds `options.listen_address:listen_port` and starts the I/O thread; an error names the address
  /// when it cannot listen.
  static result<std::unique_ptr<request_proxy>> start(proxy_options options);

  request_proxy(const request_proxy&) = delete;
  request_proxy& operator=(const request_proxy&) = delete;
  /// Stops (see `stop`).
  ~request_proxy();

  /// The port it listens on (the chosen one when `listen_port` was 0).
  std::uint16_t port() const;

  /// Replaces the ready pods, each taking `container_concurrency` requests at once (0 = unlimited), and
  /// forwards held requests that now fit.
  void set_backends(std::vector<backend> backends, std::size_t container_concurrency);

  /// The stat for the period since the last call (Knative's activator report, every second): the
  /// time-weighted average of requests in the proxy and the arrivals, as `activator_reporter::report`.
  /// Nothing while the proxy is idle and has reported an idle period.
  std::optional<pod_stat> take_stat(time_point now);

  /// A snapshot of the counters.
  proxy_counters counters() const;

  /// Closes the listener, answers held requests 503, aborts requests at backends with 503, closes
  /// idle connections and joins the I/O thread. Idempotent.
  void stop();

  /// The private state; named here only so the implementation file's helpers can refer to it.
  struct impl;

 private:
  explicit request_proxy(std::unique_ptr<impl> state);

  std::unique_ptr<impl> impl_;
};

}  // namespace scale::adapter
