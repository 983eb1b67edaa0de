#pragma once
/// The cluster-wide `config-autoscaler` ConfigMap and the per-revision `autoscaling.knative.dev/*` annotations:
/// Go-exact value parsers, Knative's validation rules and messages, and the resolution of one revision's
/// autoscaling parameters (Knative `pkg/autoscaler/config/config.go`, `pkg/apis/autoscaling/annotation_validation.go`,
/// `pkg/reconciler/autoscaling/resources/{target,metric}.go`, `pkg/reconciler/autoscaling/kpa/resources/decider.go`).

#include <libscale/decider_spec.hpp>
#include <libscale/result.hpp>
#include <libscale/time.hpp>
#include <libscale/window_algorithm.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace scale {

/// ConfigMap data or object annotations: string keys to string values, ordered, heterogeneous lookup.
using string_map = std::map<std::string, std::string, std::less<>>;

/// Knative's fixed bounds and names (`pkg/apis/autoscaling/register.go`).
namespace knative {
inline constexpr std::string_view kpa_class = "kpa.autoscaling.knative.dev";
inline constexpr std::string_view hpa_class = "hpa.autoscaling.knative.dev";
inline constexpr std::string_view annotation_prefix = "autoscaling.knative.dev/";
/// The smallest per-pod target the autoscaler will aim for (`TargetMin`).
inline constexpr double target_min = 0.01;
inline constexpr duration window_min = std::chrono::seconds{6};
inline constexpr duration window_max = std::chrono::hours{1};
inline constexpr double panic_window_percentage_min = 1.0;
inline constexpr double panic_window_percentage_max = 100.0;
inline constexpr double panic_threshold_percentage_min = 110.0;
inline constexpr double panic_threshold_percentage_max = 1000.0;
/// Metric bucket width; also the smallest panic window (`pkg/autoscaler/config/config.go: BucketSize`).
inline constexpr duration bucket_size = std::chrono::seconds{1};
}  // namespace knative

/// The cluster-wide `config-autoscaler` ConfigMap, parsed (Knative's defaults as member initialisers,
/// `config.go: defaultConfig`).
struct autoscaler_config {
  bool enable_scale_to_zero = true;
  /// `container-concurrency-target-percentage`, stored as a fraction in (0, 1].
  double container_concurrency_target_fraction = 0.7;
  /// Concurrent requests per pod when the revision's containerConcurrency is 0.
  double container_concurrency_target_default = 100;
  /// Utilisation applied to the RPS target; not a ConfigMap key (Knative's internal `TargetUtilization`).
  double target_utilization = 0.7;
  /// Requests per second per pod for the `rps` metric.
  double rps_target_default = 200;
  /// Concurrent requests of spare capacity to keep; -1 keeps the activator in the path for good.
  double target_burst_capacity = 211;
  /// Concurrent requests one activator can take.
  double activator_capacity = 100;
  std::int32_t initial_scale = 1;
  bool allow_zero_initial_scale = false;
  std::int32_t min_scale = 0;
  /// 0 means unbounded.
  std::int32_t max_scale = 0;
  /// 0 means no limit on a revision's max-scale.
  std::int32_t max_scale_limit = 0;
  double max_scale_up_rate = 1000;
  double max_scale_down_rate = 2;
  duration stable_window = std::chrono::seconds{60};
  double panic_window_percentage = 10;
  double panic_threshold_percentage = 200;
  duration scale_to_zero_grace_period = std::chrono::seconds{30};
  duration scale_to_zero_pod_retention_period{0};
  duration scale_down_delay{0};
  std::string pod_autoscaler_class{knative::kpa_class};

  bool operator==(const autoscaler_config&) const = default;
};

/// Everything the KPA needs for one revision, after annotations override the config. The defaults are what
/// the default `config-autoscaler` resolves to for a concurrency revision with containerConcurrency 0.
struct revision_autoscaling {
  std::string pa_class{knative::kpa_class};
  scaling_metric metric = scaling_metric::concurrency;
  window_algorithm algorithm = window_algorithm::linear;
  /// Per-pod value the autoscaler aims for (total × utilisation, at least 0.01).
  double target_value = 70;
  /// Per-pod value one pod can take at most.
  double total_value = 100;
  double target_burst_capacity = 211;
  /// A ratio: 200 % is 2.0.
  double panic_threshold = 2.0;
  duration stable_window = std::chrono::seconds{60};
  /// Whole seconds, at least 1 s.
  duration panic_window = std::chrono::seconds{6};
  duration scale_down_delay{0};
  duration scale_to_zero_grace_period = std::chrono::seconds{30};
  /// Before the unreachable rule: the KPA ignores it for an unreachable revision.
  duration pod_retention{0};
  /// Before the unreachable rule: the KPA ignores it for an unreachable revision.
  std::int32_t min_scale = 0;
  /// 0 means unbounded.
  std::int32_t max_scale = 0;
  std::int32_t initial_scale = 1;
  /// 0 when unset; only values above 1 have an effect.
  std::int32_t activation_scale = 0;
  bool enable_scale_to_zero = true;
  double max_scale_up_rate = 1000;
  double max_scale_down_rate = 2;
  double activator_capacity = 100;
  /// The revision's containerConcurrency (0 = unlimited), as given.
  std::int32_t container_concurrency = 0;

  bool operator==(const revision_autoscaling&) const = default;
};

/// Go's `time.ParseDuration`, exactly: "60s", "1m30s", "1.5h", "-2s", "0"; units ns, us, µs, μs, ms, s, m, h.
/// Errors carry Go's text, e.g. `time: missing unit in duration "5"`.
result<duration> parse_go_duration(std::string_view text);

/// Go's `time.Duration.String`: "1h0m0s", "1m30s", "1.5s", "300ms", "0s".
std::string format_go_duration(duration d);

/// Checks a config value by value, with Knative's rules and messages (`config.go: validate`), plus: NaN is
/// rejected in every floating-point key, and infinity in all but the two rate keys (where it means no limit).
/// Returns the config unchanged when it is valid.
result<autoscaler_config> validate_autoscaler_config(autoscaler_config config);

/// Parses and validates the `data` of `config-autoscaler` (`config.go: NewConfigFromMap`). Keys starting with `_`
/// and the obsolete `tick-interval` and `panic-window` are ignored; any other unknown key is an error.
result<autoscaler_config> parse_autoscaler_config(const string_map& data);

/// Knative's webhook check of a revision's annotations (`annotation_validation.go: ValidateAnnotations`), plus:
/// an unknown key under `autoscaling.knative.dev/`, a NaN value, and an infinite target or target burst capacity
/// are errors. All problems are reported, in
/// Knative's merged and sorted `message: key` form, joined with "; ". Other prefixes are ignored.
std::optional<error> validate_annotations(const autoscaler_config& config, const string_map& annotations);

/// Resolves one revision's autoscaling parameters: validates the annotations, requires the KPA class, then lets
/// annotations override the config (`decider.go: MakeDecider`, `target.go: ResolveMetricTarget`,
/// `metric.go: MakeMetric`). An unknown aggregation algorithm is an error even when Knative would not check it.
result<revision_autoscaling> resolve_revision(const autoscaler_config& config, const string_map& annotations,
                                              std::int32_t container_concurrency = 0);

/// The decider's per-revision inputs (`decider.go: MakeDecider`); `reachable` is false only for a revision that
/// no route sends traffic to (PA reachability Unreachable).
decider_spec make_decider_spec(const revision_autoscaling& revision, bool reachable = true);

// ---------------------------------------------------------------------------------------------------------------

namespace detail {

inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_hex_letter(char c) {
  const char l = ascii_lower(c);
  return l >= 'a' && l <= 'f';
}

inline constexpr std::string_view hex_digits = "0123456789abcdef";

inline void append_hex_byte(std::string& out, unsigned char b) {
  out += "\\x";
  out += hex_digits[b >> 4];
  out += hex_digits[b & 0xF];
}

/// Go's `strconv.Quote` for the texts a config holds: ASCII control bytes are escaped, bytes from 0x80 up are
/// kept as they are (Go would escape only invalid or unprintable UTF-8).
inline std::string go_quote(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto b = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\v': out += "\\v"; break;
      default:
        if (b < 0x20 || b == 0x7F) {
          append_hex_byte(out, b);
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

/// The `time` package's own quoting (`time.quote`): every byte below 0x20 or from 0x80 up becomes \xNN.
inline std::string time_quote(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto b = static_cast<unsigned char>(ch);
    if (b < 0x20 || b >= 0x80) {
      append_hex_byte(out, b);
    } else {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
  }
  out += '"';
  return out;
}

/// Go's `%v` of a float64 (`strconv.FormatFloat(x, 'g', -1, 64)`): shortest digits, exponent form when the
/// decimal exponent is below -4 or at least 6 (1e+06, 0.7, 1e-05, +Inf).
inline std::string go_format_float_v(double x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "+Inf" : "-Inf";
  std::array<char, 64> buf{};
  auto sci = std::to_chars(buf.data(), buf.data() + buf.size(), x, std::chars_format::scientific);
  const std::string scientific(buf.data(), sci.ptr);
  const auto e = scientific.find('e');
  int exponent = 0;
  std::from_chars(scientific.data() + e + 1 + (scientific[e + 1] == '+' ? 1 : 0),
                  scientific.data() + scientific.size(), exponent);
  if (exponent < -4 || exponent >= 6) return scientific;
  auto fixed = std::to_chars(buf.data(), buf.data() + buf.size(), x, std::chars_format::fixed);
  return std::string(buf.data(), fixed.ptr);
}

/// Go's `%f` of a float64: six decimals.
inline std::string go_format_float_f(double x) {
  if (std::isnan(x)) return "NaN";
  if (std::isinf(x)) return x > 0 ? "+Inf" : "-Inf";
  std::array<char, 400> buf{};
  auto r = std::to_chars(buf.data(), buf.data() + buf.size(), x, std::chars_format::fixed, 6);
  return std::string(buf.data(), r.ptr);
}

/// Length of the common prefix of `s` and the lowercase `word`, ignoring ASCII case.
inline std::size_t common_prefix_ignore_case(std::string_view s, std::string_view word) {
  std::size_t n = 0;
  while (n < s.size() && n < word.size() && ascii_lower(s[n]) == word[n]) ++n;
  return n;
}

/// Go's `underscoreOK`: underscores only between digits, or between a base prefix and a digit.
inline bool go_underscores_ok(std::string_view s) {
  char saw = '^';
  std::size_t i = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  bool hex = false;
  if (s.size() >= 2 && s[0] == '0' &&
      (ascii_lower(s[1]) == 'b' || ascii_lower(s[1]) == 'o' || ascii_lower(s[1]) == 'x')) {
    i = 2;
    saw = '0';
    hex = ascii_lower(s[1]) == 'x';
  }
  for (; i < s.size(); ++i) {
    if (is_digit(s[i]) || (hex && is_hex_letter(s[i]))) {
      saw = '0';
      continue;
    }
    if (s[i] == '_') {
      if (saw != '0') return false;
      saw = '_';
      continue;
    }
    if (saw == '_') return false;
    saw = '!';
  }
  return saw != '_';
}

/// Go's `strconv.ParseFloat(s, 64)`: decimal and hexadecimal (0x1p-2) forms, digit-separating underscores,
/// Inf/Infinity/NaN in any case; no surrounding spaces. Overflow is an error, underflow gives ±0 as in Go.
inline result<double> parse_go_float(std::string_view s) {
  const auto syntax = [&] { return error{"strconv.ParseFloat: parsing " + go_quote(s) + ": invalid syntax"}; };
  if (s.empty()) return syntax();

  // 1. The special words (Go `special`): an optional sign then "inf" or "infinity"; "nan" without a sign.
  {
    std::string_view rest = s;
    bool negative = false;
    bool signed_word = false;
    if (rest[0] == '+' || rest[0] == '-') {
      negative = rest[0] == '-';
      signed_word = true;
      rest.remove_prefix(1);
    }
    if (!rest.empty() && (signed_word || ascii_lower(rest[0]) == 'i')) {
      std::size_t n = common_prefix_ignore_case(rest, "infinity");
      if (n > 3 && n < 8) n = 3;
      if (n == 3 || n == 8) {
        if (n != rest.size()) return syntax();
        return negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
      }
    }
    if (!signed_word && ascii_lower(rest[0]) == 'n' && common_prefix_ignore_case(rest, "nan") == 3) {
      if (rest.size() != 3) return syntax();
      return std::numeric_limits<double>::quiet_NaN();
    }
  }

  // 2. The number's shape (Go `readFloat`): sign, optional 0x, mantissa digits and one dot, exponent.
  std::size_t i = 0;
  bool negative = false;
  if (s[i] == '+') {
    ++i;
  } else if (s[i] == '-') {
    negative = true;
    ++i;
  }
  bool hex = false;
  if (i + 2 < s.size() && s[i] == '0' && ascii_lower(s[i + 1]) == 'x') {
    hex = true;
    i += 2;
  }
  const std::size_t body = i;
  bool saw_dot = false;
  bool saw_digits = false;
  bool underscores = false;
  std::int64_t digits_before_point = -1;  // digit count at the dot
  std::int64_t digit_count = 0;
  std::int64_t first_nonzero = -1;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '_') {
      underscores = true;
      continue;
    }
    if (c == '.') {
      if (saw_dot) break;
      saw_dot = true;
      digits_before_point = digit_count;
      continue;
    }
    if (is_digit(c) || (hex && is_hex_letter(c))) {
      saw_digits = true;
      if (first_nonzero < 0 && c != '0') first_nonzero = digit_count;
      ++digit_count;
      continue;
    }
    break;
  }
  if (!saw_digits) return syntax();
  if (!saw_dot) digits_before_point = digit_count;
  std::int64_t exponent = 0;
  if (i < s.size() && ascii_lower(s[i]) == (hex ? 'p' : 'e')) {
    ++i;
    if (i >= s.size()) return syntax();
    std::int64_t exponent_sign = 1;
    if (s[i] == '+') {
      ++i;
    } else if (s[i] == '-') {
      ++i;
      exponent_sign = -1;
    }
    if (i >= s.size() || !is_digit(s[i])) return syntax();
    for (; i < s.size() && (is_digit(s[i]) || s[i] == '_'); ++i) {
      if (s[i] == '_') {
        underscores = true;
        continue;
      }
      if (exponent < 100000) exponent = exponent * 10 + (s[i] - '0');
    }
    exponent *= exponent_sign;
  } else if (hex) {
    return syntax();  // a hexadecimal mantissa needs a p exponent
  }
  if (i != s.size()) return syntax();
  if (underscores && !go_underscores_ok(s)) return syntax();

  // 3. The value, correctly rounded by from_chars on the text without sign, prefix and underscores.
  std::string cleaned;
  for (std::size_t k = body; k < s.size(); ++k) {
    if (s[k] != '_') cleaned += s[k];
  }
  double value = 0;
  const auto r = std::from_chars(cleaned.data(), cleaned.data() + cleaned.size(), value,
                                 hex ? std::chars_format::hex : std::chars_format::general);
  if (r.ec == std::errc::result_out_of_range) {
    // Overflow or underflow: decide by the magnitude of the leading digit.
    const std::int64_t magnitude = (digits_before_point - first_nonzero) * (hex ? 4 : 1) + exponent;
    if (magnitude > 0) return error{"strconv.ParseFloat: parsing " + go_quote(s) + ": value out of range"};
    value = 0;
  } else if (r.ec != std::errc{} || r.ptr != cleaned.data() + cleaned.size()) {
    return syntax();
  }
  return negative ? -value : value;
}

/// Go's `strconv.ParseBool`.
inline result<bool> parse_go_bool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "true" || s == "TRUE" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "false" || s == "FALSE" || s == "False") return false;
  return error{"strconv.ParseBool: parsing " + go_quote(s) + ": invalid syntax"};
}

enum class int_parse_status { ok, syntax, range };

/// Go's `strconv.ParseInt(s, 10, bits)`: optional sign, decimal digits only.
inline std::pair<int_parse_status, std::int64_t> parse_go_int(std::string_view s, int bits) {
  std::size_t i = 0;
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    i = 1;
  }
  if (i == s.size()) return {int_parse_status::syntax, 0};
  const std::uint64_t limit = std::uint64_t{1} << (bits - 1);  // |min| of the signed type
  std::uint64_t magnitude = 0;
  bool overflow = false;
  for (; i < s.size(); ++i) {
    if (!is_digit(s[i])) return {int_parse_status::syntax, 0};
    if (!overflow) {
      const auto digit = static_cast<std::uint64_t>(s[i] - '0');
      if (magnitude > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
        overflow = true;
      } else {
        magnitude = magnitude * 10 + digit;
      }
    }
  }
  if (overflow || (!negative && magnitude >= limit) || (negative && magnitude > limit)) {
    return {int_parse_status::range, 0};
  }
  if (magnitude == 0) return {int_parse_status::ok, 0};
  const auto value = negative ? -static_cast<std::int64_t>(magnitude - 1) - 1 : static_cast<std::int64_t>(magnitude);
  return {int_parse_status::ok, value};
}

/// `strconv.ParseInt(s, 10, 32)` with Go's error text.
inline result<std::int32_t> parse_go_int32(std::string_view s) {
  const auto [status, value] = parse_go_int(s, 32);
  switch (status) {
    case int_parse_status::ok: return static_cast<std::int32_t>(value);
    case int_parse_status::syntax: return error{"strconv.ParseInt: parsing " + go_quote(s) + ": invalid syntax"};
    case int_parse_status::range: break;
  }
  return error{"strconv.ParseInt: parsing " + go_quote(s) + ": value out of range"};
}

/// Go's `Duration.Round(m)` for m > 0: halves round away from zero.
inline duration go_round(duration d, duration m) {
  const auto r = d % m;
  const auto ar = r < duration::zero() ? -r : r;
  if (ar + ar < m) return d - r;
  return d < duration::zero() ? d - r - m : d - r + m;
}

/// Writes v/10^prec into the tail of `out` as ".ddd" without trailing zeros; returns v/10^prec (Go `fmtFrac`).
inline std::uint64_t go_format_fraction(std::string& tail, std::uint64_t v, int prec) {
  bool print = false;
  std::string digits;
  for (int k = 0; k < prec; ++k) {
    const auto digit = v % 10;
    print = print || digit != 0;
    if (print) digits.insert(digits.begin(), static_cast<char>('0' + digit));
    v /= 10;
  }
  if (print) tail.insert(0, "." + digits);
  return v;
}

/// ParseDuration's unit table.
inline std::optional<std::uint64_t> go_duration_unit(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1'000;  // µs as U+00B5 or U+03BC
  if (unit == "ms") return 1'000'000;
  if (unit == "s") return 1'000'000'000;
  if (unit == "m") return 60'000'000'000;
  if (unit == "h") return 3'600'000'000'000;
  return std::nullopt;
}

}  // namespace detail

inline result<duration> parse_go_duration(std::string_view text) {
  // Mirrors Go's time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+ with uint64 accumulation.
  constexpr std::uint64_t two63 = std::uint64_t{1} << 63;
  const auto invalid = [&] { return error{"time: invalid duration " + detail::time_quote(text)}; };
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return duration::zero();
  if (s.empty()) return invalid();
  std::uint64_t total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || detail::is_digit(s[0]))) return invalid();
    // 1. Integer part.
    const std::size_t before = s.size();
    std::uint64_t v = 0;
    std::size_t i = 0;
    for (; i < s.size() && detail::is_digit(s[i]); ++i) {
      if (v > two63 / 10) return invalid();
      v = v * 10 + static_cast<std::uint64_t>(s[i] - '0');
      if (v > two63) return invalid();
    }
    s.remove_prefix(i);
    const bool pre = before != s.size();
    // 2. Fraction: digits beyond int64 precision are dropped, as Go does.
    std::uint64_t f = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      const std::size_t fraction_start = s.size();
      bool overflow = false;
      std::size_t j = 0;
      for (; j < s.size() && detail::is_digit(s[j]); ++j) {
        if (overflow) continue;
        if (f > (two63 - 1) / 10) {
          overflow = true;
          continue;
        }
        const std::uint64_t y = f * 10 + static_cast<std::uint64_t>(s[j] - '0');
        if (y > two63) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      s.remove_prefix(j);
      post = fraction_start != s.size();
    }
    if (!pre && !post) return invalid();
    // 3. Unit.
    std::size_t u = 0;
    while (u < s.size() && s[u] != '.' && !detail::is_digit(s[u])) ++u;
    if (u == 0) return error{"time: missing unit in duration " + detail::time_quote(text)};
    const std::string_view unit_text = s.substr(0, u);
    s.remove_prefix(u);
    const auto unit = detail::go_duration_unit(unit_text);
    if (!unit) {
      return error{"time: unknown unit " + detail::time_quote(unit_text) + " in duration " + detail::time_quote(text)};
    }
    if (v > two63 / *unit) return invalid();
    v *= *unit;
    if (f > 0) {
      v += static_cast<std::uint64_t>(static_cast<double>(f) * (static_cast<double>(*unit) / scale));
      if (v > two63) return invalid();
    }
    total += v;
    if (total > two63) return invalid();
  }
  if (negative) return duration{static_cast<std::int64_t>(0 - total)};  // two's complement, as Go's -Duration(d)
  if (total > two63 - 1) return invalid();
  return duration{static_cast<std::int64_t>(total)};
}

inline std::string format_go_duration(duration d) {
  const bool negative = d < duration::zero();
  std::uint64_t u = static_cast<std::uint64_t>(d.count());
  if (negative) u = 0 - u;
  std::string out;
  if (u < 1'000'000'000) {
    // Below a second Go picks the largest unit below it: 1.5ms, 20µs, 7ns.
    if (u == 0) return "0s";
    int prec = 0;
    std::string unit;
    if (u < 1'000) {
      unit = "ns";
    } else if (u < 1'000'000) {
      prec = 3;
      unit = "\xC2\xB5s";
    } else {
      prec = 6;
      unit = "ms";
    }
    std::string tail = unit;
    u = detail::go_format_fraction(tail, u, prec);
    out = std::to_string(u) + tail;
  } else {
    std::string tail = "s";
    u = detail::go_format_fraction(tail, u, 9);
    out = std::to_string(u % 60) + tail;
    u /= 60;
    if (u > 0) {
      out = std::to_string(u % 60) + "m" + out;
      u /= 60;
      if (u > 0) out = std::to_string(u) + "h" + out;
    }
  }
  return negative ? "-" + out : out;
}

inline result<autoscaler_config> validate_autoscaler_config(autoscaler_config c) {
  using detail::go_format_float_f;
  using detail::go_format_float_v;
  using std::to_string;
  // 0. Not in Knative: NaN passes every one of its range checks, so reject it explicitly.
  const std::pair<std::string_view, double> floats[] = {
      {"container-concurrency-target-percentage", c.container_concurrency_target_fraction},
      {"container-concurrency-target-default", c.container_concurrency_target_default},
      {"requests-per-second-target-default", c.rps_target_default},
      {"target-burst-capacity", c.target_burst_capacity},
      {"activator-capacity", c.activator_capacity},
      {"max-scale-up-rate", c.max_scale_up_rate},
      {"max-scale-down-rate", c.max_scale_down_rate},
      {"panic-window-percentage", c.panic_window_percentage},
      {"panic-threshold-percentage", c.panic_threshold_percentage},
      {"target utilization", c.target_utilization},
  };
  for (const auto& [key, value] : floats) {
    if (std::isnan(value)) return error{std::string(key) + " = NaN, must be a number"};
    // An infinite rate means "no limit"; anywhere else infinity makes targets or capacities meaningless.
    const bool rate = key == "max-scale-up-rate" || key == "max-scale-down-rate";
    if (std::isinf(value) && !rate) {
      return error{std::string(key) + " = " + detail::go_format_float_v(value) + ", must be a finite number"};
    }
  }
  // 1. The checks of Knative's config.go: validate, in its order and with its messages.
  const auto fmt_d = format_go_duration;
  if (c.scale_to_zero_grace_period <= duration::zero()) {
    return error{"scale-to-zero-grace-period must be positive, was: " + fmt_d(c.scale_to_zero_grace_period)};
  }
  if (c.scale_down_delay < duration::zero()) {
    return error{"scale-down-delay cannot be negative, was: " + fmt_d(c.scale_down_delay)};
  }
  if (detail::go_round(c.scale_down_delay, std::chrono::seconds{1}) != c.scale_down_delay) {
    return error{"scale-down-delay = " + fmt_d(c.scale_down_delay) +
                 ", must be specified with at most second precision"};
  }
  if (c.scale_to_zero_pod_retention_period < duration::zero()) {
    return error{"scale-to-zero-pod-retention-period cannot be negative, was: " +
                 fmt_d(c.scale_to_zero_pod_retention_period)};
  }
  if (c.target_burst_capacity < 0 && c.target_burst_capacity != -1) {
    return error{"target-burst-capacity must be either non-negative or -1 (for unlimited), was: " +
                 go_format_float_f(c.target_burst_capacity)};
  }
  if (c.container_concurrency_target_fraction <= 0 || c.container_concurrency_target_fraction > 1) {
    return error{"container-concurrency-target-percentage = " +
                 go_format_float_f(c.container_concurrency_target_fraction) +
                 " is outside of valid range of (0, 100]"};
  }
  if (const double x = c.container_concurrency_target_fraction * c.container_concurrency_target_default;
      x < knative::target_min) {
    return error{
        "container-concurrency-target-percentage and container-concurrency-target-default yield target "
        "concurrency of " +
        go_format_float_v(x) + ", can't be less than " + go_format_float_v(knative::target_min)};
  }
  if (c.rps_target_default < knative::target_min) {
    return error{"requests-per-second-target-default must be at least " + go_format_float_v(knative::target_min) +
                 ", was: " + go_format_float_v(c.rps_target_default)};
  }
  if (c.activator_capacity < 1) {
    return error{"activator-capacity = " + go_format_float_v(c.activator_capacity) + ", must be at least 1"};
  }
  if (c.max_scale_up_rate <= 1.0) {
    return error{"max-scale-up-rate = " + go_format_float_v(c.max_scale_up_rate) + ", must be greater than 1.0"};
  }
  if (c.max_scale_down_rate <= 1.0) {
    return error{"max-scale-down-rate = " + go_format_float_v(c.max_scale_down_rate) +
                 ", must be greater than 1.0"};
  }
  if (c.stable_window < knative::window_min || c.stable_window > knative::window_max) {
    return error{"stable-window = " + fmt_d(c.stable_window) + ", must be in [" + fmt_d(knative::window_min) +
                 "; " + fmt_d(knative::window_max) + "] range"};
  }
  if (detail::go_round(c.stable_window, std::chrono::seconds{1}) != c.stable_window) {
    return error{"stable-window = " + fmt_d(c.stable_window) + ", must be specified with at most second precision"};
  }
  if (c.panic_window_percentage < knative::panic_window_percentage_min ||
      c.panic_window_percentage > knative::panic_window_percentage_max) {
    return error{"panic-window-percentage = " + go_format_float_v(c.panic_window_percentage) + ", must be in [" +
                 go_format_float_v(knative::panic_window_percentage_min) + ", " +
                 go_format_float_v(knative::panic_window_percentage_max) + "] interval"};
  }
  if (c.initial_scale < 0 || (c.initial_scale == 0 && !c.allow_zero_initial_scale)) {
    return error{"initial-scale = " + to_string(c.initial_scale) +
                 ", must be at least 0 (or at least 1 when allow-zero-initial-scale is false)"};
  }
  if (c.min_scale < 0) return error{"min-scale = " + to_string(c.min_scale) + ", must be at least 0"};
  // A limit requires an explicit default max-scale within it.
  const std::int32_t min_max_scale = c.max_scale_limit > 0 ? 1 : 0;
  if (c.max_scale < min_max_scale || (c.max_scale_limit > 0 && c.max_scale > c.max_scale_limit)) {
    return error{"max-scale = " + to_string(c.max_scale) + ", must be in [" + to_string(min_max_scale) +
                 ", max-scale-limit(" + to_string(c.max_scale_limit) + ")] range"};
  }
  if (c.max_scale_limit < 0) {
    return error{"max-scale-limit = " + to_string(c.max_scale_limit) + ", must be at least 0"};
  }
  if (c.min_scale > c.max_scale && c.max_scale > 0) {
    return error{"min-scale (" + to_string(c.min_scale) + ") must be less than max-scale (" +
                 to_string(c.max_scale) + ")"};
  }
  return c;
}

namespace detail {

/// The keys `NewConfigFromMap` reads.
inline constexpr std::array<std::string_view, 20> config_keys = {
    "pod-autoscaler-class",
    "enable-scale-to-zero",
    "allow-zero-initial-scale",
    "max-scale-up-rate",
    "max-scale-down-rate",
    "container-concurrency-target-percentage",
    "container-concurrency-target-default",
    "requests-per-second-target-default",
    "target-burst-capacity",
    "panic-window-percentage",
    "activator-capacity",
    "panic-threshold-percentage",
    "initial-scale",
    "min-scale",
    "max-scale",
    "max-scale-limit",
    "stable-window",
    "scale-down-delay",
    "scale-to-zero-grace-period",
    "scale-to-zero-pod-retention-period",
};

/// Keys Knative no longer reads but tolerates (`config_test.go: TestNewConfig` "overridden" still sets
/// tick-interval), and commentary keys such as `_example`.
inline bool is_ignored_config_key(std::string_view key) {
  return key == "tick-interval" || key == "panic-window" || (!key.empty() && key[0] == '_');
}

/// Go's `strings.TrimSpace` for ASCII whitespace.
inline std::string trim_space(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

/// One `cm.As*` parser: sets `target` when `key` is present, or explains the failure (`configmap/parser`).
template <class T, class Parse>
std::optional<error> parse_config_value(const string_map& data, std::string_view key, T& target, Parse parse) {
  const auto it = data.find(key);
  if (it == data.end()) return std::nullopt;
  auto parsed = parse(it->second);
  if (!parsed) return error{"failed to parse " + go_quote(key) + ": " + parsed.error_value().message};
  target = std::move(parsed).value();
  return std::nullopt;
}

}  // namespace detail

inline result<autoscaler_config> parse_autoscaler_config(const string_map& data) {
  // 1. House rule: a key we do not know is a mistake, not something to skip (Knative skips it silently).
  for (const auto& entry : data) {
    const std::string_view key = entry.first;
    const bool known = std::find(detail::config_keys.begin(), detail::config_keys.end(), key) !=
                       detail::config_keys.end();
    if (!known && !detail::is_ignored_config_key(key)) {
      return error{"unknown config-autoscaler key " + detail::go_quote(key)};
    }
  }
  // 2. Parse in NewConfigFromMap's order; the first failure wins, as in cm.Parse.
  autoscaler_config c;
  const auto as_string = [](const std::string& v) -> result<std::string> { return detail::trim_space(v); };
  const auto as_bool = [](const std::string& v) { return detail::parse_go_bool(v); };
  const auto as_float = [](const std::string& v) { return detail::parse_go_float(v); };
  const auto as_int32 = [](const std::string& v) { return detail::parse_go_int32(v); };
  const auto as_duration = [](const std::string& v) { return parse_go_duration(v); };
  using detail::parse_config_value;
  std::optional<error> failure;
  const auto step = [&](std::optional<error> e) {
    if (!failure && e) failure = std::move(e);
  };
  step(parse_config_value(data, "pod-autoscaler-class", c.pod_autoscaler_class, as_string));
  step(parse_config_value(data, "enable-scale-to-zero", c.enable_scale_to_zero, as_bool));
  step(parse_config_value(data, "allow-zero-initial-scale", c.allow_zero_initial_scale, as_bool));
  step(parse_config_value(data, "max-scale-up-rate", c.max_scale_up_rate, as_float));
  step(parse_config_value(data, "max-scale-down-rate", c.max_scale_down_rate, as_float));
  step(parse_config_value(data, "container-concurrency-target-percentage", c.container_concurrency_target_fraction,
                          as_float));
  step(parse_config_value(data, "container-concurrency-target-default", c.container_concurrency_target_default,
                          as_float));
  step(parse_config_value(data, "requests-per-second-target-default", c.rps_target_default, as_float));
  step(parse_config_value(data, "target-burst-capacity", c.target_burst_capacity, as_float));
  step(parse_config_value(data, "panic-window-percentage", c.panic_window_percentage, as_float));
  step(parse_config_value(data, "activator-capacity", c.activator_capacity, as_float));
  step(parse_config_value(data, "panic-threshold-percentage", c.panic_threshold_percentage, as_float));
  step(parse_config_value(data, "initial-scale", c.initial_scale, as_int32));
  step(parse_config_value(data, "min-scale", c.min_scale, as_int32));
  step(parse_config_value(data, "max-scale", c.max_scale, as_int32));
  step(parse_config_value(data, "max-scale-limit", c.max_scale_limit, as_int32));
  step(parse_config_value(data, "stable-window", c.stable_window, as_duration));
  step(parse_config_value(data, "scale-down-delay", c.scale_down_delay, as_duration));
  step(parse_config_value(data, "scale-to-zero-grace-period", c.scale_to_zero_grace_period, as_duration));
  step(parse_config_value(data, "scale-to-zero-pod-retention-period", c.scale_to_zero_pod_retention_period,
                          as_duration));
  if (failure) return *failure;
  // 3. Legacy: values in (0, 1] are already fractions, so "1" means 100 % (NewConfigFromMap).
  if (c.container_concurrency_target_fraction > 1.0) c.container_concurrency_target_fraction /= 100.0;
  return validate_autoscaler_config(std::move(c));
}

namespace detail {

/// An annotation's accepted names, the preferred first (Knative `kmap.KeyPriority`).
struct annotation_key {
  std::string_view preferred;
  std::string_view legacy;  // empty when there is none
};

inline constexpr annotation_key class_annotation{"autoscaling.knative.dev/class", ""};
inline constexpr annotation_key initial_scale_annotation{"autoscaling.knative.dev/initial-scale",
                                                         "autoscaling.knative.dev/initialScale"};
inline constexpr annotation_key max_scale_annotation{"autoscaling.knative.dev/max-scale",
                                                     "autoscaling.knative.dev/maxScale"};
inline constexpr annotation_key min_scale_annotation{"autoscaling.knative.dev/min-scale",
                                                     "autoscaling.knative.dev/minScale"};
inline constexpr annotation_key metric_annotation{"autoscaling.knative.dev/metric", ""};
inline constexpr annotation_key algorithm_annotation{"autoscaling.knative.dev/metric-aggregation-algorithm",
                                                     "autoscaling.knative.dev/metricAggregationAlgorithm"};
inline constexpr annotation_key activation_scale_annotation{"autoscaling.knative.dev/activation-scale", ""};
inline constexpr annotation_key panic_threshold_annotation{"autoscaling.knative.dev/panic-threshold-percentage",
                                                           "autoscaling.knative.dev/panicThresholdPercentage"};
inline constexpr annotation_key panic_window_annotation{"autoscaling.knative.dev/panic-window-percentage",
                                                        "autoscaling.knative.dev/panicWindowPercentage"};
inline constexpr annotation_key scale_down_delay_annotation{"autoscaling.knative.dev/scale-down-delay",
                                                            "autoscaling.knative.dev/scaleDownDelay"};
inline constexpr annotation_key retention_annotation{"autoscaling.knative.dev/scale-to-zero-pod-retention-period",
                                                     "autoscaling.knative.dev/scaleToZeroPodRetentionPeriod"};
inline constexpr annotation_key target_annotation{"autoscaling.knative.dev/target", ""};
inline constexpr annotation_key target_burst_capacity_annotation{"autoscaling.knative.dev/target-burst-capacity",
                                                                 "autoscaling.knative.dev/targetBurstCapacity"};
inline constexpr annotation_key target_utilization_annotation{
    "autoscaling.knative.dev/target-utilization-percentage", "autoscaling.knative.dev/targetUtilizationPercentage"};
inline constexpr annotation_key window_annotation{"autoscaling.knative.dev/window", ""};

inline constexpr std::array<annotation_key, 15> annotation_keys = {
    class_annotation,           initial_scale_annotation,   max_scale_annotation,
    min_scale_annotation,       metric_annotation,          algorithm_annotation,
    activation_scale_annotation, panic_threshold_annotation, panic_window_annotation,
    scale_down_delay_annotation, retention_annotation,       target_annotation,
    target_burst_capacity_annotation, target_utilization_annotation, window_annotation,
};

struct found_annotation {
  std::string key;
  std::string value;
};

/// The first of the key's names present in the map (`KeyPriority.Get`).
inline std::optional<found_annotation> get_annotation(const string_map& m, const annotation_key& key) {
  if (const auto it = m.find(key.preferred); it != m.end()) return found_annotation{it->first, it->second};
  if (!key.legacy.empty()) {
    if (const auto it = m.find(key.legacy); it != m.end()) return found_annotation{it->first, it->second};
  }
  return std::nullopt;
}

/// Knative `apis.FieldError` leaf: a message and the keys it concerns.
struct field_error {
  std::string message;
  std::vector<std::string> paths;
};

inline field_error invalid_value(std::string_view value, std::string path) {
  return {"invalid value: " + std::string(value), {std::move(path)}};
}
inline field_error out_of_bounds(std::string_view value, std::string_view lower, std::string_view upper,
                                 std::string path) {
  return {"expected " + std::string(lower) + " <= " + std::string(value) + " <= " + std::string(upper),
          {std::move(path)}};
}

/// `FieldError.Error()`: errors with the same message merge their paths; paths and messages are sorted.
inline std::string render_field_errors(std::vector<field_error> errors) {
  std::map<std::string, std::vector<std::string>> merged;
  for (auto& e : errors) {
    auto& paths = merged[e.message];
    for (auto& p : e.paths) {
      if (std::find(paths.begin(), paths.end(), p) == paths.end()) paths.push_back(std::move(p));
    }
  }
  std::string out;
  for (auto& [message, paths] : merged) {
    std::sort(paths.begin(), paths.end());
    if (!out.empty()) out += "; ";
    out += message + ":";
    for (std::size_t i = 0; i < paths.size(); ++i) out += (i == 0 ? " " : ", ") + paths[i];
  }
  return out;
}

/// `getIntGE0`: an int32 that must not be negative; 0 when absent or invalid.
inline std::int32_t annotation_int_ge0(const string_map& m, const annotation_key& key,
                                       std::vector<field_error>& errs) {
  const auto found = get_annotation(m, key);
  if (!found) return 0;
  const auto [status, value] = parse_go_int(found->value, 32);
  if (status == int_parse_status::range || (status == int_parse_status::ok && value < 0)) {
    errs.push_back(out_of_bounds(found->value, "0", "2147483647", found->key));
    return 0;
  }
  if (status == int_parse_status::syntax) {
    errs.push_back(invalid_value(found->value, found->key));
    return 0;
  }
  return static_cast<std::int32_t>(value);
}

/// A float annotation checked against [lower, upper] (`validateFloats`); NaN is invalid (not in Knative).
inline void check_float_range(const string_map& m, const annotation_key& key, double lower, double upper,
                              std::vector<field_error>& errs) {
  if (const auto found = get_annotation(m, key)) {
    const auto v = parse_go_float(found->value);
    if (!v || std::isnan(*v)) {
      errs.push_back(invalid_value(found->value, found->key));
    } else if (*v < lower || *v > upper) {
      errs.push_back(out_of_bounds(found->value, go_format_float_v(lower), go_format_float_v(upper), found->key));
    }
  }
}

inline std::string second_precision_message(std::string_view value) {
  return "value " + std::string(value) + " must be specified with at most second precision";
}

/// The effective class: the annotation, else the cluster default (`PodAutoscaler.SetDefaults`).
inline std::string effective_class(const autoscaler_config& config, const string_map& annotations) {
  if (const auto found = get_annotation(annotations, class_annotation)) return found->value;
  return config.pod_autoscaler_class;
}

}  // namespace detail

inline std::optional<error> validate_annotations(const autoscaler_config& config, const string_map& annotations) {
  using namespace detail;
  std::vector<field_error> errs;
  // 0. House rule: unknown keys under the autoscaling prefix are typos, never silently ignored.
  for (const auto& entry : annotations) {
    const std::string_view key = entry.first;
    if (key.substr(0, knative::annotation_prefix.size()) != knative::annotation_prefix) continue;
    const bool known = std::any_of(annotation_keys.begin(), annotation_keys.end(), [&](const annotation_key& k) {
      return k.preferred == key || (!k.legacy.empty() && k.legacy == key);
    });
    if (!known) errs.push_back({"unknown autoscaling annotation", {std::string(key)}});
  }
  // 1. validateClass: a *.knative.dev class must be one Knative ships.
  if (const auto found = get_annotation(annotations, class_annotation)) {
    const std::string_view v = found->value;
    const std::string_view domain = ".knative.dev";
    const bool knative_domain = v.size() >= domain.size() && v.substr(v.size() - domain.size()) == domain;
    if (knative_domain && v != knative::kpa_class && v != knative::hpa_class) {
      errs.push_back(invalid_value(v, found->key));
    }
  }
  // 2. validateMinMaxScale.
  const std::int32_t min = annotation_int_ge0(annotations, min_scale_annotation, errs);
  const std::int32_t max = annotation_int_ge0(annotations, max_scale_annotation, errs);
  if (max != 0 && max < min) {
    errs.push_back({"max-scale=" + std::to_string(max) + " is less than min-scale=" + std::to_string(min),
                    {std::string(max_scale_annotation.preferred), std::string(min_scale_annotation.preferred)}});
  }
  if (const auto found = get_annotation(annotations, max_scale_annotation); found && config.max_scale_limit != 0) {
    // validateMaxScaleWithinLimit
    if (max > config.max_scale_limit) {
      errs.push_back(out_of_bounds(std::to_string(max), "1", std::to_string(config.max_scale_limit), found->key));
    }
    if (max == 0) {
      errs.push_back({"max-scale=0 (unlimited), must be less than " + std::to_string(config.max_scale_limit),
                      {found->key}});
    }
  }
  if (const auto found = get_annotation(annotations, activation_scale_annotation)) {
    // One rule at a time, in Knative's if/else order.
    const auto [status, value] = parse_go_int(found->value, 32);
    const auto activation = static_cast<std::int32_t>(value);
    if (status != int_parse_status::ok) {
      errs.push_back(invalid_value(found->value, found->key));
    } else if (min > activation) {
      errs.push_back({"min-scale=" + std::to_string(min) + " is greater than activation-scale=" +
                          std::to_string(activation),
                      {found->key}});
    } else if (max < activation && max != 0) {
      errs.push_back({"max-scale=" + std::to_string(max) + " is less than activation-scale=" +
                          std::to_string(activation),
                      {found->key}});
    } else if (activation < 2) {
      errs.push_back({"activation-scale=" + std::to_string(activation) + " must be greater than 1", {found->key}});
    }
  }
  // 3. validateFloats.
  check_float_range(annotations, panic_window_annotation, knative::panic_window_percentage_min,
                    knative::panic_window_percentage_max, errs);
  check_float_range(annotations, panic_threshold_annotation, knative::panic_threshold_percentage_min,
                    knative::panic_threshold_percentage_max, errs);
  if (const auto found = get_annotation(annotations, target_annotation)) {
    const auto v = parse_go_float(found->value);
    if (!v || !std::isfinite(*v)) {
      errs.push_back(invalid_value(found->value, found->key));
    } else if (*v < knative::target_min) {
      errs.push_back({"target " + found->value + " should be at least " + go_format_float_v(knative::target_min),
                      {found->key}});
    }
  }
  check_float_range(annotations, target_utilization_annotation, 1, 100, errs);
  if (const auto found = get_annotation(annotations, target_burst_capacity_annotation)) {
    const auto v = parse_go_float(found->value);
    if (!v || !std::isfinite(*v) || (*v < 0 && *v != -1)) errs.push_back(invalid_value(found->value, found->key));
  }
  // 4. validateWindow: [6s, 1h], whole seconds.
  if (const auto found = get_annotation(annotations, window_annotation)) {
    const auto d = parse_go_duration(found->value);
    if (!d) {
      errs.push_back(invalid_value(found->value, found->key));
    } else if (*d < knative::window_min || *d > knative::window_max) {
      errs.push_back(out_of_bounds(found->value, format_go_duration(knative::window_min),
                                   format_go_duration(knative::window_max), found->key));
    } else if (*d % std::chrono::seconds{1} != duration::zero()) {
      errs.push_back({second_precision_message(found->value), {found->key}});
    }
  }
  // 5. validateLastPodRetention: [0, 1h].
  if (const auto found = get_annotation(annotations, retention_annotation)) {
    const auto d = parse_go_duration(found->value);
    if (!d) {
      errs.push_back(invalid_value(found->value, found->key));
    } else if (*d < duration::zero() || *d > knative::window_max) {
      errs.push_back(out_of_bounds(found->value, "0s", format_go_duration(knative::window_max), found->key));
    }
  }
  // 6. validateScaleDownDelay: [0, 1h], whole seconds.
  if (const auto found = get_annotation(annotations, scale_down_delay_annotation)) {
    const auto d = parse_go_duration(found->value);
    if (!d) {
      errs.push_back(invalid_value(found->value, found->key));
    } else if (*d < duration::zero() || *d > knative::window_max) {
      errs.push_back(out_of_bounds(found->value, "0s", format_go_duration(knative::window_max), found->key));
    } else if (go_round(*d, std::chrono::seconds{1}) != *d) {
      errs.push_back({second_precision_message(found->value), {found->key}});
    }
  }
  // 7. validateMetric: the KPA takes concurrency or rps; the HPA anything but empty; other classes anything.
  if (const auto found = get_annotation(annotations, metric_annotation)) {
    const std::string cls = effective_class(config, annotations);
    const std::string& metric = found->value;
    const bool bad = (cls == knative::kpa_class && metric != "concurrency" && metric != "rps") ||
                     (cls == knative::hpa_class && metric.empty());
    if (bad) errs.push_back(invalid_value(metric, std::string(metric_annotation.preferred)));
  }
  // 8. validateAlgorithm: Knative checks it only when the class annotation says KPA.
  if (const auto cls = get_annotation(annotations, class_annotation); cls && cls->value == knative::kpa_class) {
    if (const auto found = get_annotation(annotations, algorithm_annotation); found && !found->value.empty()) {
      const std::string& v = found->value;
      if (v != "linear" && v != "weighted-exponential" && v != "weightedExponential") {
        errs.push_back(invalid_value(v, found->key));
      }
    }
  }
  // 9. validateInitialScale: Knative parses with Atoi (64-bit); a value beyond int32 is out of bounds here,
  //    where Knative would let it through and then silently fall back to the config default.
  if (const auto found = get_annotation(annotations, initial_scale_annotation)) {
    const auto [status, value] = parse_go_int(found->value, 64);
    if (status != int_parse_status::ok) {
      errs.push_back(invalid_value(found->value, found->key));
    } else if (status == int_parse_status::ok && value < 0) {
      errs.push_back(invalid_value(found->value, found->key + " must be greater than 0"));
    } else if (status == int_parse_status::ok && value == 0 && !config.allow_zero_initial_scale) {
      errs.push_back(invalid_value(found->value, found->key + "=0 not allowed by cluster"));
    } else if (value > std::numeric_limits<std::int32_t>::max()) {
      errs.push_back(out_of_bounds(found->value, "0", "2147483647", found->key));
    }
  }
  if (errs.empty()) return std::nullopt;
  return error{render_field_errors(std::move(errs))};
}

namespace detail {

/// The panic window: stable window × percentage, rounded to whole seconds, at least one bucket
/// (`metric.go: MakeMetric`; the float product is truncated to nanoseconds before rounding, as in Go).
inline duration panic_window(duration stable_window, double panic_window_percentage) {
  const auto raw = duration{static_cast<std::int64_t>(static_cast<double>(stable_window.count()) *
                                                      panic_window_percentage / 100.0)};
  return std::max(go_round(raw, std::chrono::seconds{1}), knative::bucket_size);
}

}  // namespace detail

inline result<revision_autoscaling> resolve_revision(const autoscaler_config& config,
                                                     const string_map& annotations,
                                                     std::int32_t container_concurrency) {
  using namespace detail;
  // 1. Inputs: containerConcurrency and the webhook's annotation rules.
  if (container_concurrency < 0) {
    return error{"container concurrency = " + std::to_string(container_concurrency) + ", must be at least 0"};
  }
  if (auto e = validate_annotations(config, annotations)) return *e;
  // 2. Only the KPA is modelled.
  revision_autoscaling r;
  r.pa_class = effective_class(config, annotations);
  if (r.pa_class != knative::kpa_class) {
    const bool from_annotation = get_annotation(annotations, class_annotation).has_value();
    return error{"unsupported pod autoscaler class " + r.pa_class + " (only " + std::string(knative::kpa_class) +
                 " is modelled): " +
                 (from_annotation ? std::string(class_annotation.preferred) : std::string("pod-autoscaler-class"))};
  }
  // The webhook already checked every present value; these re-read them (PodAutoscaler getters).
  const auto float_of = [&](const annotation_key& key) -> std::optional<double> {
    if (const auto found = get_annotation(annotations, key)) return *parse_go_float(found->value);
    return std::nullopt;
  };
  const auto int_of = [&](const annotation_key& key) -> std::optional<std::int32_t> {
    if (const auto found = get_annotation(annotations, key)) return *parse_go_int32(found->value);
    return std::nullopt;
  };
  const auto duration_of = [&](const annotation_key& key) -> std::optional<duration> {
    if (const auto found = get_annotation(annotations, key)) return *parse_go_duration(found->value);
    return std::nullopt;
  };
  // 3. Metric (PodAutoscaler.Metric: concurrency by default for the KPA) and algorithm
  //    (Metric.AggregationAlgorithm; an unknown value is an error here, Knative would average linearly).
  const auto metric = get_annotation(annotations, metric_annotation);
  r.metric = (metric && metric->value == "rps") ? scaling_metric::rps : scaling_metric::concurrency;
  if (const auto found = get_annotation(annotations, algorithm_annotation)) {
    const std::string& v = found->value;
    if (v == "weighted-exponential" || v == "weightedExponential") {
      r.algorithm = window_algorithm::weighted_exponential;
    } else if (v.empty() || v == "linear") {
      r.algorithm = window_algorithm::linear;
    } else {
      return error{render_field_errors({invalid_value(v, found->key)})};
    }
  }
  // 4. Target and total (target.go: ResolveMetricTarget).
  double utilization = 0;
  if (r.metric == scaling_metric::rps) {
    r.total_value = config.rps_target_default;
    utilization = config.target_utilization;
  } else {
    r.total_value = container_concurrency > 0 ? static_cast<double>(container_concurrency)
                                              : config.container_concurrency_target_default;
    utilization = config.container_concurrency_target_fraction;
  }
  if (const auto target = float_of(target_annotation)) {
    // A pod never aims above what its containerConcurrency lets it take.
    r.total_value = (r.metric == scaling_metric::concurrency && container_concurrency != 0)
                        ? std::min(*target, static_cast<double>(container_concurrency))
                        : *target;
  }
  if (const auto tu = float_of(target_utilization_annotation)) utilization = *tu / 100;
  r.target_value = std::max(knative::target_min, r.total_value * utilization);
  // 5. Decider knobs (decider.go: MakeDecider).
  r.panic_threshold = float_of(panic_threshold_annotation).value_or(config.panic_threshold_percentage) / 100.0;
  r.target_burst_capacity = float_of(target_burst_capacity_annotation).value_or(config.target_burst_capacity);
  r.scale_down_delay = duration_of(scale_down_delay_annotation).value_or(config.scale_down_delay);
  r.activation_scale = int_of(activation_scale_annotation).value_or(0);
  r.max_scale_up_rate = config.max_scale_up_rate;
  r.max_scale_down_rate = config.max_scale_down_rate;
  r.activator_capacity = config.activator_capacity;
  // 6. Windows (metric.go: StableWindow, MakeMetric).
  r.stable_window = duration_of(window_annotation).value_or(config.stable_window);
  r.panic_window =
      panic_window(r.stable_window, float_of(panic_window_annotation).value_or(config.panic_window_percentage));
  // 7. Scale bounds and scale-to-zero (pa_lifecycle.go: ScaleBounds, ScaleToZeroPodRetention).
  r.min_scale = int_of(min_scale_annotation).value_or(config.min_scale);
  r.max_scale = int_of(max_scale_annotation).value_or(config.max_scale);
  r.pod_retention = duration_of(retention_annotation).value_or(config.scale_to_zero_pod_retention_period);
  r.scale_to_zero_grace_period = config.scale_to_zero_grace_period;
  r.enable_scale_to_zero = config.enable_scale_to_zero;
  // 8. Initial scale (decider.go: GetInitialScale): an annotated 0 counts only when the cluster allows it.
  r.initial_scale = config.initial_scale;
  if (const auto initial = int_of(initial_scale_annotation); initial && (*initial != 0 || config.allow_zero_initial_scale)) {
    r.initial_scale = *initial;
  }
  r.container_concurrency = container_concurrency;
  return r;
}

inline decider_spec make_decider_spec(const revision_autoscaling& revision, bool reachable) {
  decider_spec spec;
  spec.max_scale_up_rate = revision.max_scale_up_rate;
  spec.max_scale_down_rate = revision.max_scale_down_rate;
  spec.metric = revision.metric;
  spec.target_value = revision.target_value;
  spec.total_value = revision.total_value;
  spec.target_burst_capacity = revision.target_burst_capacity;
  spec.activator_capacity = revision.activator_capacity;
  spec.panic_threshold = revision.panic_threshold;
  spec.stable_window = revision.stable_window;
  spec.scale_down_delay = revision.scale_down_delay;
  spec.initial_scale = revision.initial_scale;
  spec.reachable = reachable;
  spec.activation_scale = revision.activation_scale;
  return spec;
}

}  // namespace scale
