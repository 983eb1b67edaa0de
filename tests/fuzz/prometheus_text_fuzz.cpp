// libFuzzer target: the Prometheus text parser and the two stat mappings (tools/scale-adapter
// adapter/prometheus_text.hpp, adapter/pod_scraper.hpp: decode_metrics_reply). The input is the page. A page
// that parses has well-formed names, distinct labels and line numbers inside the page; the queue-proxy mapping
// and an app gauge on the first sample's name give finite values >= 0 or an error; a page that fails names its
// line.
#include "fuzz_support.hpp"

#include <adapter/pod_scraper.hpp>
#include <adapter/prometheus_text.hpp>

#include <algorithm>
#include <cmath>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scale;
  const std::string_view text = fuzz::as_text(data, size);
  const auto page = adapter::parse_prometheus_text(text);
  if (!page) {
    LIBSCALE_FUZZ_CHECK(page.error_value().message.starts_with("line "));
    return 0;
  }
  const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
  for (const adapter::sample& s : page->samples) {
    LIBSCALE_FUZZ_CHECK(!s.name.empty() && s.line >= 1 && s.line <= lines);
    for (std::size_t i = 0; i < s.labels.size(); ++i) {
      LIBSCALE_FUZZ_CHECK(!s.labels[i].name.empty());
      for (std::size_t j = i + 1; j < s.labels.size(); ++j) LIBSCALE_FUZZ_CHECK(s.labels[i].name != s.labels[j].name);
    }
  }
  const auto check_stat = [](const result<pod_stat>& stat) {
    if (!stat) return;
    for (const double v : {stat->average_concurrency, stat->average_proxied_concurrency, stat->request_count,
                           stat->proxied_request_count}) {
      LIBSCALE_FUZZ_CHECK(std::isfinite(v) && v >= 0);
    }
  };
  check_stat(adapter::decode_metrics_reply(adapter::metrics_source{}, 200, "text/plain", text));
  if (!page->samples.empty()) {
    const adapter::sample& first = page->samples.front();
    std::vector<adapter::label_matcher> matchers;
    for (const adapter::label& l : first.labels) matchers.push_back({l.name, l.value});
    const adapter::app_gauge gauge{.metric = first.name, .labels = matchers, .meaning = adapter::gauge_meaning::rps};
    check_stat(adapter::stat_from_app_gauge(*page, gauge));
    // The first sample always matches its own name and labels.
    const auto found = adapter::find_sample(*page, first.name, matchers);
    LIBSCALE_FUZZ_CHECK(found.has_value() || found.error_value().message.find("samples match") != std::string::npos);
  }
  return 0;
}
