#include "adapter/pod_scraper.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <numeric>
#include <utility>

#include <curl/curl.h>
#include <fmt/format.h>

#include "adapter/queue_proxy_stat.hpp"

namespace scale::adapter {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The media type of a Content-Type value, lowercased, parameters dropped.
std::string media_type(std::string_view content_type) {
  std::string out(trim(content_type.substr(0, content_type.find(';'))));
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string pod_label(const scrape_pod& pod) {
  return pod.name.empty() ? pod.url : fmt::format("pod {} ({})", pod.name, pod.url);
}

// At most this many pod failures are spelled out in a "no metrics" message.
constexpr std::size_t listed_failures = 5;

std::string join_failures(const std::vector<error>& failures) {
  std::string out;
  for (std::size_t i = 0; i < failures.size() && i < listed_failures; ++i) {
    if (i > 0) out += "; ";
    out += failures[i].message;
  }
  if (failures.size() > listed_failures) out += fmt::format("; and {} more", failures.size() - listed_failures);
  return out;
}

}  // namespace

std::string metrics_url(std::string_view pod_ip, std::uint16_t port, std::string_view path) {
  const bool ipv6 = pod_ip.find(':') != std::string_view::npos;
  return fmt::format("http://{}{}{}:{}{}", ipv6 ? "[" : "", pod_ip, ipv6 ? "]" : "", port, path);
}

std::string_view accept_header(const metrics_source& source) {
  // Knative `http_scrape_client.go`: `Accept: application/protobuf`.
  return source.app ? "text/plain; version=0.0.4" : "application/protobuf";
}

result<pod_stat> decode_metrics_reply(const metrics_source& source, long http_status, std::string_view content_type,
                                      std::string_view body) {
  if (http_status < 200 || http_status >= 300) return error{fmt::format("http status {}", http_status)};
  const std::string type = media_type(content_type);
  const auto describe_type = [&] {
    return type.empty() ? std::string("no Content-Type") : fmt::format("Content-Type \"{}\"", trim(content_type));
  };
  if (type == "text/plain") {
    const auto page = parse_prometheus_text(body);
    if (!page) return error{"prometheus text " + page.error_value().message};
    if (source.app) return stat_from_app_gauge(*page, *source.app);
    const auto stat = stat_from_queue_proxy_text(*page);
    if (!stat) return stat.error_value();
    return to_pod_stat(*stat);
  }
  if (source.app) return error{fmt::format("{}, expected text/plain", describe_type())};
  // cluster-adapter.md §5: protobuf today, Prometheus text from queue-proxies before Knative v1.6.
  if (type != "application/protobuf") {
    return error{fmt::format("{}, expected application/protobuf or text/plain", describe_type())};
  }
  const auto stat = decode_stat(body);
  if (!stat) return stat.error_value();
  return to_pod_stat(*stat);
}

scrape_plan plan_scrape(std::span<const scrape_pod> pods, time_point now, duration stable_window) {
  std::vector<duration> ages;
  ages.reserve(pods.size());
  for (const scrape_pod& pod : pods) ages.push_back(now - pod.started);
  scrape_plan plan{.sample_size = population_mean_sample_size(pods.size()), .order = pick_sample(ages, stable_window)};
  // Replacements: Knative's list is old pods then young ones, tried in order past the sample.
  std::vector<bool> taken(pods.size(), false);
  for (const std::size_t i : plan.order) taken[i] = true;
  for (const bool want_old : {true, false}) {
    for (std::size_t i = 0; i < pods.size(); ++i) {
      if (!taken[i] && (ages[i] >= stable_window) == want_old) plan.order.push_back(i);
    }
  }
  return plan;
}

result<scrape_outcome> scrape_pods(std::span<const scrape_pod> pods, time_point now, duration stable_window,
                                   const fetch_batch& fetch) {
  // 1. Plan. No ready pods: nothing to record (Knative returns an empty stat and no error).
  const scrape_plan plan = plan_scrape(pods, now, stable_window);
  scrape_outcome outcome{.ready_pods = pods.size(), .sample_size = plan.sample_size};
  if (pods.empty()) return outcome;
  std::vector<pod_stat> stats;
  std::size_t next = 0;
  // 2.–3. The sample as one batch, then as many replacements as there were failures, until full or out of pods.
  while (stats.size() < plan.sample_size && next < plan.order.size()) {
    const std::size_t count = std::min(plan.sample_size - stats.size(), plan.order.size() - next);
    std::vector<scrape_pod> batch;
    batch.reserve(count);
    for (std::size_t k = 0; k < count; ++k) batch.push_back(pods[plan.order[next + k]]);
    const std::vector<result<pod_stat>> replies = fetch(batch);
    if (replies.size() != count) {
      return error{fmt::format("no metrics: the fetcher returned {} results for {} pods", replies.size(), count)};
    }
    for (std::size_t k = 0; k < count; ++k) {
      if (replies[k]) {
        stats.push_back(*replies[k]);
        outcome.used.push_back(plan.order[next + k]);
      } else {
        outcome.failures.push_back(replies[k].error_value());
      }
    }
    next += count;
  }
  // Knative `scrapePods`: a scrape that runs out of pods before the sample is full records nothing.
  if (stats.size() < plan.sample_size) {
    if (stats.empty()) {
      return error{fmt::format("no metrics: all {} ready pods failed: {}", pods.size(), join_failures(outcome.failures))};
    }
    return error{fmt::format("no metrics: {} of {} ready pods answered, the sample needs {}: {}", stats.size(),
                             pods.size(), plan.sample_size, join_failures(outcome.failures))};
  }
  // 4. Mean of the sample × ready pods.
  outcome.total = extrapolate(stats, pods.size());
  return outcome;
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

struct pod_scraper::connections {
  CURLM* multi = nullptr;

  connections() {
    // curl_global_init is not thread-safe on every build; the first scraper does it once.
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    multi = curl_multi_init();
  }
  connections(const connections&) = delete;
  connections& operator=(const connections&) = delete;
  ~connections() {
    if (multi != nullptr) curl_multi_cleanup(multi);
  }
};

namespace {

// One transfer of a batch.
struct transfer {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string body;
  std::size_t max_body = 0;
  bool too_large = false;
  char error_text[CURL_ERROR_SIZE] = {};

  transfer() = default;
  transfer(const transfer&) = delete;
  transfer& operator=(const transfer&) = delete;
  ~transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (headers != nullptr) curl_slist_free_all(headers);
  }
};

std::size_t write_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<transfer*>(user);
  const std::size_t bytes = size * count;
  if (t->body.size() + bytes > t->max_body) {
    t->too_large = true;
    return 0;  // libcurl aborts the transfer with CURLE_WRITE_ERROR
  }
  t->body.append(data, bytes);
  return bytes;
}

}  // namespace

pod_scraper::pod_scraper(metrics_source source, http_scrape_options options, std::uint64_t seed)
    : source_(std::move(source)),
      options_(std::move(options)),
      random_(seed),
      connections_(std::make_unique<connections>()) {}

pod_scraper::~pod_scraper() = default;
pod_scraper::pod_scraper(pod_scraper&&) noexcept = default;
pod_scraper& pod_scraper::operator=(pod_scraper&&) noexcept = default;

std::vector<result<pod_stat>> pod_scraper::fetch(std::span<const scrape_pod> pods) {
  std::vector<result<pod_stat>> out;
  out.reserve(pods.size());
  if (connections_ == nullptr || connections_->multi == nullptr) {
    for (const scrape_pod& pod : pods) out.emplace_back(error{pod_label(pod) + ": libcurl multi handle unavailable"});
    return out;
  }
  std::vector<std::unique_ptr<transfer>> transfers;
  transfers.reserve(pods.size());
  const std::string accept = fmt::format("Accept: {}", accept_header(source_));
  for (const scrape_pod& pod : pods) {
    auto t = std::make_unique<transfer>();
    t->max_body = options_.max_body_bytes;
    t->easy = curl_easy_init();
    if (t->easy != nullptr) {
      t->headers = curl_slist_append(nullptr, accept.c_str());
      curl_easy_setopt(t->easy, CURLOPT_URL, pod.url.c_str());
      curl_easy_setopt(t->easy, CURLOPT_HTTPGET, 1L);
      curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->headers);
      curl_easy_setopt(t->easy, CURLOPT_USERAGENT, options_.user_agent.c_str());
      // cluster-adapter.md §5: 3 s per scrape, pods addressed directly by IP (so no proxy from the environment).
      // libcurl reads a timeout of 0 as "none"; a scrape must never wait forever.
      curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, std::max(1L, static_cast<long>(options_.timeout.count())));
      curl_easy_setopt(t->easy, CURLOPT_NOPROXY, "*");
      curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "http,https");
      curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, write_body);
      curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t.get());
      curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->error_text);
      curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t.get());
      if (curl_multi_add_handle(connections_->multi, t->easy) != CURLM_OK) {
        curl_easy_cleanup(t->easy);
        t->easy = nullptr;
      }
    }
    transfers.push_back(std::move(t));
  }

  std::vector<std::optional<CURLcode>> done(pods.size());
  int running = 0;
  do {
    if (curl_multi_perform(connections_->multi, &running) != CURLM_OK) break;
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(connections_->multi, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      for (std::size_t i = 0; i < transfers.size(); ++i) {
        if (transfers[i]->easy == message->easy_handle) done[i] = message->data.result;
      }
    }
    // Each easy handle has its own timeout, so this wait ends.
    if (running > 0 && curl_multi_poll(connections_->multi, nullptr, 0, 1000, nullptr) != CURLM_OK) break;
  } while (running > 0);

  for (std::size_t i = 0; i < pods.size(); ++i) {
    transfer& t = *transfers[i];
    const std::string who = pod_label(pods[i]);
    if (t.easy == nullptr) {
      out.emplace_back(error{who + ": could not start the request"});
      continue;
    }
    curl_multi_remove_handle(connections_->multi, t.easy);  // the connection stays in the multi handle's cache
    if (!done[i]) {
      out.emplace_back(error{who + ": the request did not finish"});
      continue;
    }
    if (*done[i] != CURLE_OK) {
      std::string reason;
      if (t.too_large) {
        reason = fmt::format("reply larger than {} bytes", options_.max_body_bytes);
      } else if (*done[i] == CURLE_OPERATION_TIMEDOUT) {
        reason = fmt::format("no reply within {} ms", options_.timeout.count());
      } else {
        reason = t.error_text[0] != '\0' ? std::string(t.error_text) : std::string(curl_easy_strerror(*done[i]));
      }
      out.emplace_back(error{fmt::format("{}: {}", who, reason)});
      continue;
    }
    long status = 0;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
    char* content_type = nullptr;
    curl_easy_getinfo(t.easy, CURLINFO_CONTENT_TYPE, &content_type);
    auto stat = decode_metrics_reply(source_, status, content_type != nullptr ? content_type : "", t.body);
    if (!stat) {
      out.emplace_back(error{fmt::format("{}: {}", who, stat.error_value().message)});
    } else {
      out.emplace_back(std::move(stat));
    }
  }
  return out;
}

result<scrape_outcome> pod_scraper::scrape(std::span<const scrape_pod> pods, time_point now, duration stable_window) {
  // Knative draws its sample at random (rand.Shuffle); scrape_pods keeps the order it is given.
  std::vector<std::size_t> shuffled(pods.size());
  std::iota(shuffled.begin(), shuffled.end(), std::size_t{0});
  std::shuffle(shuffled.begin(), shuffled.end(), random_);
  std::vector<scrape_pod> order;
  order.reserve(pods.size());
  for (const std::size_t i : shuffled) order.push_back(pods[i]);
  auto outcome = scrape_pods(order, now, stable_window,
                             [this](std::span<const scrape_pod> batch) { return fetch(batch); });
  if (!outcome) return outcome;
  scrape_outcome mapped = std::move(outcome).value();
  for (std::size_t& i : mapped.used) i = shuffled[i];
  return mapped;
}

}  // namespace scale::adapter
