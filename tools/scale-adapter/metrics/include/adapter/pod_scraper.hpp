#pragma once
/// Scrape mode's metrics input: read a sample of the ready pods' metrics endpoints and extrapolate one
/// revision-wide stat, as Knative's stats scraper does (`pkg/autoscaler/metrics/stats_scraper.go:
/// scrapePods`; cluster-adapter.md §5, kpa-spec.md §2.2). A pure part (plan, replies, outcome) and an HTTP
/// part (libcurl, all pods of a batch in parallel, keep-alive between scrapes).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <libscale/metric_collector.hpp>
#include <libscale/result.hpp>
#include <libscale/time.hpp>

#include "adapter/prometheus_text.hpp"

namespace scale::adapter {

/// Queue-proxy's autoscaler metrics port, `http-autometric` (cluster-adapter.md §5).
inline constexpr std::uint16_t queue_proxy_metrics_port = 9090;

/// Knative's scrape HTTP timeout (`stats_scraper.go: httpClientTimeout`, cluster-adapter.md §5).
inline constexpr std::chrono::milliseconds scrape_timeout{3000};

/// What each pod's metrics endpoint serves.
struct metrics_source {
  /// Empty: Knative queue-proxy's `Stat` (protobuf, or Prometheus text before Knative v1.6). Set: this gauge
  /// of the app's own Prometheus text page.
  std::optional<app_gauge> app = std::nullopt;

  bool operator==(const metrics_source&) const = default;
};

/// One ready pod to scrape.
struct scrape_pod {
  /// The pod's name, for messages (may be empty).
  std::string name = {};
  /// The full metrics URL, e.g. from `metrics_url`.
  std::string url = {};
  /// When the pod started; its age at `now` decides old or young (Knative `PodIPsSplitByAge`).
  time_point started = {};

  bool operator==(const scrape_pod&) const = default;
};

/// `http://{ip}:{port}{path}`, with an IPv6 address in brackets.
std::string metrics_url(std::string_view pod_ip, std::uint16_t port = queue_proxy_metrics_port,
                        std::string_view path = "/metrics");

/// The Accept header to send: `application/protobuf` for queue-proxy (an old queue-proxy answers text
/// anyway, cluster-adapter.md §5), `text/plain; version=0.0.4` for an app gauge.
std::string_view accept_header(const metrics_source& source);

/// One HTTP reply turned into a pod's stat. Non-2xx status → `http status N`. Queue-proxy: Content-Type
/// `application/protobuf` → `decode_stat`, `text/plain` → `stat_from_queue_proxy_text`; app gauge:
/// `text/plain` → `stat_from_app_gauge`; any other type is an error naming it. Parameters after `;` in the
/// Content-Type are ignored.
result<pod_stat> decode_metrics_reply(const metrics_source& source, long http_status, std::string_view content_type,
                                      std::string_view body);

/// Which pods to ask, and in what order to replace failures.
struct scrape_plan {
  /// `population_mean_sample_size(ready pods)`: the stats the scrape needs.
  std::size_t sample_size = 0;
  /// Every pod index once: `pick_sample`'s sample first, then the other old pods, then the other young ones
  /// (Knative appends the young pods to the list as backups).
  std::vector<std::size_t> order = {};

  bool operator==(const scrape_plan&) const = default;
};

/// The plan for `pods` at `now`: a pod is old when `now − started >= stable_window`.
scrape_plan plan_scrape(std::span<const scrape_pod> pods, time_point now, duration stable_window);

/// Fetches one stat per pod of a batch; returns exactly one result per pod, in order. An error names
/// the pod and the reason.
using fetch_batch = std::function<std::vector<result<pod_stat>>(std::span<const scrape_pod>)>;

/// A successful scrape.
struct scrape_outcome {
  /// The revision total: the sampled stats' mean × ready pods (`extrapolate`). Nothing when there are no
  /// ready pods: Knative records nothing then ("no data", not an error and not zero).
  std::optional<pod_stat> total = std::nullopt;
  std::size_t ready_pods = 0;
  std::size_t sample_size = 0;
  /// Indices of the pods whose stats make the total, in the order fetched.
  std::vector<std::size_t> used = {};
  /// Pods that failed and were replaced by others.
  std::vector<error> failures = {};

  bool operator==(const scrape_outcome&) const = default;
};

/// One scrape of the ready `pods` at `now` (Knative `scrapePods`): 1. plan; 2. fetch the sample as one
/// batch; 3. replace each failure by the next pod of the plan, batch by batch, until the sample is full or
/// every pod was tried; 4. extrapolate. When fewer pods answer than the sample needs — every pod failing
/// included — the scrape fails with `no metrics: …` listing pods and reasons, and the caller holds its
/// scale: never zeros.
result<scrape_outcome> scrape_pods(std::span<const scrape_pod> pods, time_point now, duration stable_window,
                                   const fetch_batch& fetch);

/// HTTP settings of a `pod_scraper`.
struct http_scrape_options {
  /// Whole-request timeout per pod.
  std::chrono::milliseconds timeout = scrape_timeout;
  /// A larger body fails that pod (queue-proxy's `Stat` is under 400 bytes; app pages are larger).
  std::size_t max_body_bytes = std::size_t{1} << 20;
  std::string user_agent = "scale-adapter/0.1";

  bool operator==(const http_scrape_options&) const = default;
};

/// The HTTP part: GETs metrics URLs with libcurl, keeping connections alive between scrapes, never through a
/// proxy from the environment (pods are addressed directly by IP). Not thread-safe: one per scrape loop.
class pod_scraper {
 public:
  /// A scraper for `source`. `seed` drives the shuffle that makes the sample random (Knative shuffles too).
  explicit pod_scraper(metrics_source source, http_scrape_options options = {}, std::uint64_t seed = 1);
  ~pod_scraper();
  pod_scraper(pod_scraper&&) noexcept;
  pod_scraper& operator=(pod_scraper&&) noexcept;
  pod_scraper(const pod_scraper&) = delete;
  pod_scraper& operator=(const pod_scraper&) = delete;

  /// Fetches every pod of `pods` in parallel; one result per pod. Errors read `pod NAME (URL): reason`.
  std::vector<result<pod_stat>> fetch(std::span<const scrape_pod> pods);

  /// `scrape_pods` over a shuffled copy of `pods` with `fetch`; indices in the outcome refer to `pods`.
  result<scrape_outcome> scrape(std::span<const scrape_pod> pods, time_point now, duration stable_window);

 private:
  struct connections;
  metrics_source source_;
  http_scrape_options options_;
  std::mt19937_64 random_;
  std::unique_ptr<connections> connections_;
};

}  // namespace scale::adapter
