#pragma once
/// The Prometheus text exposition format 0.0.4: a parser, a sample lookup by name and labels, and the two
/// ways the adapter turns a page into a libscale `pod_stat` (old queue-proxy gauges, or an app's own gauge).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <libscale/metric_collector.hpp>
#include <libscale/result.hpp>

#include "adapter/queue_proxy_stat.hpp"

namespace scale::adapter {

/// One `name="value"` pair of a sample, value unescaped.
struct label {
  std::string name = {};
  std::string value = {};

  bool operator==(const label&) const = default;
};

/// One sample line: `name{labels} value [timestamp]`.
struct sample {
  std::string name = {};
  /// In the order written.
  std::vector<label> labels = {};
  /// May be NaN or ±infinity: the format allows them; the consumers below decide.
  double value = 0;
  /// Milliseconds since the Unix epoch, when the line has one.
  std::optional<std::int64_t> timestamp_ms = std::nullopt;
  /// 1-based line number in the page, for messages.
  std::size_t line = 0;

  bool operator==(const sample&) const = default;
};

/// What a `# TYPE name type` line declares.
enum class metric_type { counter, gauge, histogram, summary, untyped };

/// One `# TYPE` line.
struct type_declaration {
  std::string name = {};
  metric_type type = metric_type::untyped;

  bool operator==(const type_declaration&) const = default;
};

/// A parsed page: samples in page order and the declared types (`# HELP` text is checked, then dropped).
struct exposition {
  std::vector<sample> samples = {};
  std::vector<type_declaration> types = {};

  /// The declared type of metric `name`, untyped when it has no `# TYPE` line.
  metric_type type_of(std::string_view name) const;
};

/// Parses a page in text format 0.0.4: `#` comments, `# HELP name text` (escapes `\\`, `\n`),
/// `# TYPE name counter|gauge|histogram|summary|untyped` (once per name), blank lines, and sample lines
/// with optional `{label="value",…}` (escapes `\\`, `\"`, `\n`; a trailing comma allowed), a Go-style float
/// value (`NaN`, `+Inf`, `-Inf` included) and an optional integer timestamp. Spaces and tabs separate
/// tokens. Errors read `line N: expected …, got …`.
result<exposition> parse_prometheus_text(std::string_view text);

/// A label a sample must carry with exactly this value.
struct label_matcher {
  std::string name = {};
  std::string value = {};

  bool operator==(const label_matcher&) const = default;
};

/// The one sample named `name` that carries every label in `matchers` (other labels are ignored). Errors
/// when none or several match: picking one of several would be a silent guess.
result<sample> find_sample(const exposition& page, std::string_view name, std::span<const label_matcher> matchers);

/// The queue-proxy stat from an old (before Knative v1.6) queue-proxy page (cluster-adapter.md §5):
/// queue_average_concurrent_requests, queue_average_proxied_concurrent_requests, queue_requests_per_second,
/// queue_proxied_operations_per_second (each required, one series each), process_uptime (0 when absent);
/// pod_name from the `destination_pod` label. Values must be finite and >= 0.
result<stat_message> stat_from_queue_proxy_text(const exposition& page);

/// What an app's own gauge measures.
enum class gauge_meaning { concurrency, rps };

/// A named gauge on the app's own metrics endpoint, selected by name and labels.
struct app_gauge {
  std::string metric = {};
  std::vector<label_matcher> labels = {};
  gauge_meaning meaning = gauge_meaning::concurrency;

  bool operator==(const app_gauge&) const = default;
};

/// The stat from the app's gauge: its value as the average concurrency or as the requests per second,
/// nothing proxied. The value must be finite and >= 0, and the metric a gauge or untyped (a counter is a
/// running total, not a level or a rate).
result<pod_stat> stat_from_app_gauge(const exposition& page, const app_gauge& gauge);

/// A label value escaped for the text format (`\\`, `\"`, `\n`), as a page writer must write it.
std::string escape_label_value(std::string_view value);

/// `name{a="x",b="y"}` with values escaped as in the format, for messages.
std::string describe_series(std::string_view name, std::span<const label_matcher> matchers);

}  // namespace scale::adapter
