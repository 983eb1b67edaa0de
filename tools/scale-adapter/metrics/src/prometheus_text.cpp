#include "adapter/prometheus_text.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <system_error>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scale::adapter {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
// Prometheus data model: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*.
bool starts_metric_name(char c) { return is_letter(c) || c == '_' || c == ':'; }
bool continues_metric_name(char c) { return starts_metric_name(c) || is_digit(c); }
bool starts_label_name(char c) { return is_letter(c) || c == '_'; }
bool continues_label_name(char c) { return starts_label_name(c) || is_digit(c); }

// One character as a message shows it.
std::string show(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte < 0x20 || byte >= 0x7f) return fmt::format("byte 0x{:02x}", byte);
  return fmt::format("'{}'", c);
}

// A token as a message shows it: control and non-ASCII bytes as \xNN, so a message stays one clean line.
std::string printable(std::string_view token) {
  std::string out;
  for (const char c : token) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out += c;
    }
  }
  return out;
}


// A Go `strconv.ParseFloat` value as the format uses it: decimal with optional sign and exponent, or
// NaN / Inf / Infinity in any case with an optional sign on the infinities.
std::optional<double> parse_float(std::string_view token) {
  if (token.empty() || token.find('(') != std::string_view::npos) return std::nullopt;
  if (token.front() == '+') {
    token.remove_prefix(1);
    if (token.empty() || token.front() == '-') return std::nullopt;
  }
  double value = 0;
  const auto [end, status] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (status != std::errc{} || end != token.data() + token.size()) return std::nullopt;
  return value;
}

std::optional<std::int64_t> parse_int64(std::string_view token) {
  if (!token.empty() && token.front() == '+') {
    token.remove_prefix(1);
    if (token.empty() || token.front() == '-') return std::nullopt;
  }
  std::int64_t value = 0;
  const auto [end, status] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (status != std::errc{} || end != token.data() + token.size() || token.empty()) return std::nullopt;
  return value;
}

// Reads one line; every failure names the line and what was expected there.
class line_parser {
 public:
  line_parser(std::string_view line, std::size_t number) : line_(line), number_(number) {}

  bool at_end() const { return at_ == line_.size(); }
  char peek() const { return line_[at_]; }
  void skip_blanks() {
    while (!at_end() && is_blank(peek())) ++at_;
  }
  std::string got() const { return at_end() ? std::string("end of line") : show(peek()); }

  error fail(std::string_view expected) const {
    return error{fmt::format("line {}: expected {}, got {}", number_, expected, got())};
  }
  error fail_token(std::string_view expected, std::string_view token) const {
    return error{fmt::format("line {}: expected {}, got \"{}\"", number_, expected, printable(token))};
  }

  // A run of non-blank characters.
  std::string_view token() {
    const std::size_t start = at_;
    while (!at_end() && !is_blank(peek())) ++at_;
    return line_.substr(start, at_ - start);
  }

  result<std::string> metric_name(std::string_view expected) {
    if (at_end() || !starts_metric_name(peek())) return fail(expected);
    const std::size_t start = at_;
    while (!at_end() && continues_metric_name(peek())) ++at_;
    return std::string(line_.substr(start, at_ - start));
  }

  result<std::string> label_name() {
    if (at_end() || !starts_label_name(peek())) return fail("a label name or '}'");
    const std::size_t start = at_;
    while (!at_end() && continues_label_name(peek())) ++at_;
    return std::string(line_.substr(start, at_ - start));
  }

  // `"…"` with the escapes `\\`, `\"` and `\n`.
  result<std::string> label_value(std::string_view label) {
    if (at_end() || peek() != '"') return fail(fmt::format("'\"' to open the value of label {}", label));
    ++at_;
    std::string value;
    while (true) {
      if (at_end()) return fail(fmt::format("'\"' to close the value of label {}", label));
      const char c = line_[at_++];
      if (c == '"') return value;
      if (c != '\\') {
        value += c;
        continue;
      }
      if (at_end()) return fail(fmt::format("an escape (\\\\, \\\" or \\n) in the value of label {}", label));
      const char escaped = line_[at_];
      if (escaped == '\\' || escaped == '"') {
        value += escaped;
      } else if (escaped == 'n') {
        value += '\n';
      } else {
        return fail(fmt::format("an escape (\\\\, \\\" or \\n) in the value of label {}", label));
      }
      ++at_;
    }
  }

  // HELP text: the rest of the line, escapes `\\` and `\n` only.
  result<std::string> help_text() {
    std::string text;
    while (!at_end()) {
      const char c = line_[at_++];
      if (c != '\\') {
        text += c;
        continue;
      }
      if (!at_end() && (peek() == '\\' || peek() == 'n')) {
        text += peek() == 'n' ? '\n' : '\\';
        ++at_;
        continue;
      }
      return fail("an escape (\\\\ or \\n) in HELP text");
    }
    return text;
  }

  result<std::vector<label>> labels() {
    ++at_;  // '{'
    std::vector<label> out;
    while (true) {
      skip_blanks();
      if (!at_end() && peek() == '}') {
        ++at_;
        return out;
      }
      auto name = label_name();
      if (!name) return name.error_value();
      if (std::any_of(out.begin(), out.end(), [&](const label& l) { return l.name == *name; })) {
        return error{fmt::format("line {}: label {} appears twice", number_, *name)};
      }
      skip_blanks();
      if (at_end() || peek() != '=') return fail(fmt::format("'=' after label name {}", *name));
      ++at_;
      skip_blanks();
      auto value = label_value(*name);
      if (!value) return value.error_value();
      out.push_back(label{std::move(*name), std::move(*value)});
      skip_blanks();
      if (!at_end() && peek() == ',') {
        ++at_;
        continue;
      }
      if (!at_end() && peek() == '}') continue;
      return fail("',' or '}' after a label value");
    }
  }

  std::size_t number() const { return number_; }

 private:
  std::string_view line_;
  std::size_t number_;
  std::size_t at_ = 0;
};

std::optional<metric_type> type_named(std::string_view name) {
  if (name == "counter") return metric_type::counter;
  if (name == "gauge") return metric_type::gauge;
  if (name == "histogram") return metric_type::histogram;
  if (name == "summary") return metric_type::summary;
  if (name == "untyped") return metric_type::untyped;
  return std::nullopt;
}

std::string_view type_name(metric_type type) {
  switch (type) {
    case metric_type::counter: return "counter";
    case metric_type::gauge: return "gauge";
    case metric_type::histogram: return "histogram";
    case metric_type::summary: return "summary";
    case metric_type::untyped: break;
  }
  return "untyped";
}

struct page_state {
  exposition page;
  std::map<std::string, std::size_t, std::less<>> help_lines;
  std::map<std::string, std::size_t, std::less<>> type_lines;
};

std::optional<error> parse_comment(line_parser& in, page_state& state) {
  in.skip_blanks();
  const std::string_view keyword = in.token();
  if (keyword != "HELP" && keyword != "TYPE") return std::nullopt;  // an ordinary comment
  in.skip_blanks();
  auto name = in.metric_name(fmt::format("a metric name after # {}", keyword));
  if (!name) return name.error_value();
  auto& seen = keyword == "HELP" ? state.help_lines : state.type_lines;
  if (const auto first = seen.find(*name); first != seen.end()) {
    return error{fmt::format("line {}: second # {} line for metric {} (the first is on line {})", in.number(), keyword,
                             *name, first->second)};
  }
  seen.emplace(*name, in.number());
  if (keyword == "HELP") {
    if (in.at_end()) return std::nullopt;
    if (!is_blank(in.peek())) return in.fail(fmt::format("a blank after metric name {}", *name));
    in.skip_blanks();
    const auto text = in.help_text();
    if (!text) return text.error_value();
    return std::nullopt;
  }
  if (!in.at_end() && !is_blank(in.peek())) return in.fail(fmt::format("a blank after metric name {}", *name));
  in.skip_blanks();
  const std::string_view type_token = in.token();
  const auto type = type_named(type_token);
  if (!type) return in.fail_token("counter, gauge, histogram, summary or untyped", type_token);
  in.skip_blanks();
  if (!in.at_end()) return in.fail("end of line after the type");
  state.page.types.push_back(type_declaration{std::move(*name), *type});
  return std::nullopt;
}

std::optional<error> parse_sample(line_parser& in, page_state& state) {
  sample out;
  out.line = in.number();
  auto name = in.metric_name("a metric name or '#'");
  if (!name) return name.error_value();
  out.name = std::move(*name);
  if (!in.at_end() && !is_blank(in.peek()) && in.peek() != '{') {
    return in.fail(fmt::format("'{{' or a blank after metric name {}", out.name));
  }
  in.skip_blanks();
  if (!in.at_end() && in.peek() == '{') {
    auto labels = in.labels();
    if (!labels) return labels.error_value();
    out.labels = std::move(*labels);
    in.skip_blanks();
  }
  if (in.at_end()) return in.fail(fmt::format("a value for {}", out.name));
  const std::string_view value_token = in.token();
  const auto value = parse_float(value_token);
  if (!value) return in.fail_token(fmt::format("a number, NaN, +Inf or -Inf as the value of {}", out.name), value_token);
  out.value = *value;
  in.skip_blanks();
  if (!in.at_end()) {
    const std::string_view timestamp_token = in.token();
    const auto timestamp = parse_int64(timestamp_token);
    if (!timestamp) {
      return in.fail_token(fmt::format("an integer timestamp in milliseconds after the value of {}", out.name),
                           timestamp_token);
    }
    out.timestamp_ms = *timestamp;
    in.skip_blanks();
    if (!in.at_end()) return in.fail("end of line after the timestamp");
  }
  state.page.samples.push_back(std::move(out));
  return std::nullopt;
}

bool has_labels(const sample& s, std::span<const label_matcher> matchers) {
  return std::all_of(matchers.begin(), matchers.end(), [&](const label_matcher& m) {
    return std::any_of(s.labels.begin(), s.labels.end(),
                       [&](const label& l) { return l.name == m.name && l.value == m.value; });
  });
}

// A finite value >= 0, or an error naming the sample.
std::optional<error> check_level(const sample& s, std::string_view what) {
  if (std::isfinite(s.value) && s.value >= 0) return std::nullopt;
  return error{fmt::format("{} on line {} is {}, expected a finite number >= 0", what, s.line, s.value)};
}

}  // namespace

metric_type exposition::type_of(std::string_view name) const {
  for (const type_declaration& t : types) {
    if (t.name == name) return t.type;
  }
  return metric_type::untyped;
}

result<exposition> parse_prometheus_text(std::string_view text) {
  page_state state;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    line_parser in(line, number);
    in.skip_blanks();
    if (in.at_end()) continue;  // blank line
    std::optional<error> failure;
    if (in.peek() == '#') {
      // The keyword may follow the '#' directly or after blanks.
      line_parser comment(line.substr(line.find('#') + 1), number);
      failure = parse_comment(comment, state);
    } else {
      failure = parse_sample(in, state);
    }
    if (failure) return *failure;
  }
  return std::move(state.page);
}

std::string describe_series(std::string_view name, std::span<const label_matcher> matchers) {
  std::string out(name);
  if (matchers.empty()) return out;
  out += '{';
  for (std::size_t i = 0; i < matchers.size(); ++i) {
    if (i > 0) out += ',';
    out += fmt::format("{}=\"{}\"", matchers[i].name, escape_label_value(matchers[i].value));
  }
  out += '}';
  return out;
}

result<sample> find_sample(const exposition& page, std::string_view name, std::span<const label_matcher> matchers) {
  const sample* found = nullptr;
  std::vector<std::size_t> lines;
  for (const sample& s : page.samples) {
    if (s.name != name || !has_labels(s, matchers)) continue;
    if (found == nullptr) found = &s;
    lines.push_back(s.line);
  }
  if (found == nullptr) return error{fmt::format("no sample {}", describe_series(name, matchers))};
  if (lines.size() > 1) {
    return error{fmt::format("{} samples match {} (lines {}); add labels to pick one", lines.size(),
                             describe_series(name, matchers), fmt::join(lines, ", "))};
  }
  return *found;
}

result<stat_message> stat_from_queue_proxy_text(const exposition& page) {
  struct gauge {
    std::string_view name;
    double stat_message::*field;
  };
  // Knative v1.5 `pkg/queue/prometheus_stats_reporter.go`: the gauge behind each `Stat` field.
  static constexpr gauge gauges[] = {
      {"queue_average_concurrent_requests", &stat_message::average_concurrent_requests},
      {"queue_average_proxied_concurrent_requests", &stat_message::average_proxied_concurrent_requests},
      {"queue_requests_per_second", &stat_message::request_count},
      {"queue_proxied_operations_per_second", &stat_message::proxied_request_count},
  };
  stat_message stat;
  for (const gauge& g : gauges) {
    const auto s = find_sample(page, g.name, {});
    if (!s) return error{"queue-proxy text: " + s.error_value().message};
    if (auto bad = check_level(*s, fmt::format("queue-proxy text: {}", g.name))) return *bad;
    stat.*g.field = s->value;
    if (stat.pod_name.empty()) {
      for (const label& l : s->labels) {
        if (l.name == "destination_pod") stat.pod_name = l.value;
      }
    }
  }
  if (std::any_of(page.samples.begin(), page.samples.end(), [](const sample& s) { return s.name == "process_uptime"; })) {
    const auto uptime = find_sample(page, "process_uptime", {});
    if (!uptime) return error{"queue-proxy text: " + uptime.error_value().message};
    if (auto bad = check_level(*uptime, "queue-proxy text: process_uptime")) return *bad;
    stat.process_uptime = uptime->value;
  }
  return stat;
}

result<pod_stat> stat_from_app_gauge(const exposition& page, const app_gauge& gauge) {
  const metric_type type = page.type_of(gauge.metric);
  if (type != metric_type::gauge && type != metric_type::untyped) {
    return error{fmt::format("metric {} is a {}, expected a gauge (a level or a rate, not a running total)",
                             gauge.metric, type_name(type))};
  }
  const auto s = find_sample(page, gauge.metric, gauge.labels);
  if (!s) return s.error_value();
  if (auto bad = check_level(*s, describe_series(gauge.metric, gauge.labels))) return *bad;
  if (gauge.meaning == gauge_meaning::rps) return pod_stat{.request_count = s->value};
  return pod_stat{.average_concurrency = s->value};
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace scale::adapter
