#include "tune_space.hpp"

#include <sim/distribution.hpp>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

namespace scale::tools {
namespace {

using namespace std::string_view_literals;

// Hard limits: Knative's validation (docs/config.md), narrowed where the tuner itself needs it — whole seconds
// for every duration, and a grace period of at least 1 s.
constexpr double max_int32 = 2147483647.0;
const std::array<knob_info, knob_count> infos = {{
    {"target", "container-concurrency-target-default", "autoscaling.knative.dev/target", false, 0, 0.01, 1e6, 1, 200,
     knob_spacing::log1p},
    {"target-utilization-percentage", "container-concurrency-target-percentage",
     "autoscaling.knative.dev/target-utilization-percentage", false, 1, 1, 100, 40, 100, knob_spacing::linear},
    {"stable-window", "stable-window", "autoscaling.knative.dev/window", true, 1, 6, 3600, 6, 600, knob_spacing::log1p},
    {"panic-window-percentage", "panic-window-percentage", "autoscaling.knative.dev/panic-window-percentage", false, 1,
     1, 100, 1, 100, knob_spacing::log1p},
    {"panic-threshold-percentage", "panic-threshold-percentage",
     "autoscaling.knative.dev/panic-threshold-percentage", false, 10, 110, 1000, 110, 1000, knob_spacing::log1p},
    {"scale-to-zero-grace-period", "scale-to-zero-grace-period", "", true, 1, 1, 3600, 1, 300, knob_spacing::log1p},
    {"scale-to-zero-pod-retention-period", "scale-to-zero-pod-retention-period",
     "autoscaling.knative.dev/scale-to-zero-pod-retention-period", true, 1, 0, 3600, 0, 1800, knob_spacing::log1p},
    {"min-scale", "min-scale", "autoscaling.knative.dev/min-scale", false, 1, 0, max_int32, 0, 2, knob_spacing::linear},
    {"scale-down-delay", "scale-down-delay", "autoscaling.knative.dev/scale-down-delay", true, 1, 0, 3600, 0, 600,
     knob_spacing::log1p},
    {"target-burst-capacity", "target-burst-capacity", "autoscaling.knative.dev/target-burst-capacity", false, 1, -1,
     1e9, 0, 400, knob_spacing::log1p},
}};

// The legacy camelCase annotation names Knative still accepts, by knob.
constexpr std::array<std::pair<knob, std::string_view>, 6> legacy_annotations = {{
    {knob::target_utilization, "autoscaling.knative.dev/targetUtilizationPercentage"},
    {knob::panic_window_percentage, "autoscaling.knative.dev/panicWindowPercentage"},
    {knob::panic_threshold_percentage, "autoscaling.knative.dev/panicThresholdPercentage"},
    {knob::scale_to_zero_pod_retention_period, "autoscaling.knative.dev/scaleToZeroPodRetentionPeriod"},
    {knob::min_scale, "autoscaling.knative.dev/minScale"},
    {knob::scale_down_delay, "autoscaling.knative.dev/scaleDownDelay"},
}};

/// Rounds to three significant digits (targets: 12.3, 145, 0.0512).
double round_significant(double v) {
  if (v == 0 || !std::isfinite(v)) return v;
  // Through text, so the result is the double nearest the 3-digit decimal (75.1, not 75.10000000000001).
  std::array<char, 64> buf{};
  const auto printed = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::general, 3);
  double rounded = v;
  std::from_chars(buf.data(), printed.ptr, rounded);
  return rounded;
}

double round_to_step(const knob_info& k, double v) {
  return k.step == 0 ? round_significant(v) : std::round(v / k.step) * k.step;
}

std::string shortest(double v) {
  std::array<char, 64> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return std::string(buf.data(), r.ptr);
}

std::string where(std::string_view source, const YAML::Mark& mark) {
  std::string w(source);
  if (!mark.is_null()) {
    w += ':';
    w += std::to_string(mark.line + 1);
  }
  return w;
}

/// One value of `k` from the space file: Go duration or seconds for durations, a plain number otherwise.
result<double> parse_knob_value(const knob_info& k, const std::string& text) {
  if (k.is_duration) {
    auto d = sim::parse_duration_text(text);
    if (!d) return error{fmt::format("expected a duration like 60s or 1m30s, got \"{}\"", text)};
    const auto s = std::chrono::duration_cast<std::chrono::seconds>(*d);
    if (s != *d) return error{fmt::format("{} is not a whole number of seconds", text)};
    return static_cast<double>(s.count());
  }
  double v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc{} || r.ptr != text.data() + text.size() || !std::isfinite(v)) {
    return error{fmt::format("expected a number, got \"{}\"", text)};
  }
  if (&k == &info(knob::min_scale) && v != std::floor(v)) return error{fmt::format("{} is not a whole number", text)};
  return v;
}

std::string bound_text(const knob_info& k, double v) {
  return k.is_duration ? format_go_duration(std::chrono::seconds{static_cast<std::int64_t>(v)}) : shortest(v);
}

}  // namespace

const std::array<knob_info, knob_count>& knob_infos() { return infos; }

const knob_info& info(knob k) { return infos[static_cast<std::size_t>(k)]; }

std::size_t search_space::free_knobs() const {
  return static_cast<std::size_t>(std::count_if(ranges.begin(), ranges.end(), [](const knob_range& r) { return !r.fixed(); }));
}

search_space default_search_space() {
  search_space space;
  for (std::size_t i = 0; i < knob_count; ++i) space.ranges[i] = {infos[i].default_low, infos[i].default_high};
  return space;
}

result<search_space> parse_search_space(std::string_view yaml_text, std::string_view source, const search_space& base) {
  search_space space = base;
  try {
    const YAML::Node root = YAML::Load(std::string(yaml_text));
    if (root.IsNull()) return space;
    if (!root.IsMap()) return error{fmt::format("{}: expected a map of knob: value or knob: {{min: A, max: B}}", where(source, root.Mark()))};
    std::array<bool, knob_count> seen{};
    for (const auto& entry : root) {
      const YAML::Node key = entry.first;
      const YAML::Node value = entry.second;
      const std::string name = key.IsScalar() ? key.Scalar() : std::string{};
      const auto it = std::find_if(infos.begin(), infos.end(), [&](const knob_info& k) { return k.name == name; });
      if (it == infos.end()) {
        std::vector<std::string_view> names;
        for (const auto& k : infos) names.push_back(k.name);
        return error{fmt::format("{}: unknown knob \"{}\" (expected one of {})", where(source, key.Mark()), name,
                                 fmt::join(names, ", "))};
      }
      const knob_info& k = *it;
      const auto index = static_cast<std::size_t>(it - infos.begin());
      if (seen[index]) return error{fmt::format("{}: {}: given twice", where(source, key.Mark()), name)};
      seen[index] = true;
      const auto bad = [&](const YAML::Node& at, const std::string& what) {
        return error{fmt::format("{}: {}: {}", where(source, at.Mark()), name, what)};
      };
      knob_range range;
      if (value.IsScalar()) {
        auto v = parse_knob_value(k, value.Scalar());
        if (!v) return bad(value, v.error_value().message);
        range = {*v, *v};
      } else if (value.IsMap()) {
        bool has_min = false;
        bool has_max = false;
        for (const auto& bound : value) {
          const YAML::Node bkey = bound.first;
          const YAML::Node bvalue = bound.second;
          const std::string bname = bkey.IsScalar() ? bkey.Scalar() : std::string{};
          if (bname != "min" && bname != "max") {
            return bad(bkey, fmt::format("unknown field \"{}\" (expected min and max)", bname));
          }
          if (!bvalue.IsScalar()) return bad(bvalue, fmt::format("{} must be a single value", bname));
          auto v = parse_knob_value(k, bvalue.Scalar());
          if (!v) return bad(bvalue, v.error_value().message);
          (bname == "min" ? range.low : range.high) = *v;
          (bname == "min" ? has_min : has_max) = true;
        }
        if (!has_min || !has_max) return bad(value, "expected both min and max");
      } else {
        return bad(value, "expected a value or {min: A, max: B}");
      }
      for (const double v : {range.low, range.high}) {
        if (v < k.hard_low || v > k.hard_high) {
          return bad(value, fmt::format("{} is outside [{}, {}]", bound_text(k, v), bound_text(k, k.hard_low),
                                        bound_text(k, k.hard_high)));
        }
      }
      if (range.low > range.high) {
        return bad(value, fmt::format("min {} is above max {}", bound_text(k, range.low), bound_text(k, range.high)));
      }
      if (index == static_cast<std::size_t>(knob::target_burst_capacity)) {
        // -1 is a mode (activator always in the path), not a point on a scale; values in (-1, 0) are invalid.
        if (!range.fixed() && range.low < 0) return bad(value, "-1 (activator always in the path) can only be fixed, not a range end");
        if (range.low < 0 && range.low != -1) return bad(value, fmt::format("{} must be -1 or at least 0", shortest(range.low)));
      }
      space.ranges[index] = range;
    }
  } catch (const YAML::Exception& e) {
    return error{fmt::format("{}: {}", where(source, e.mark), e.msg)};
  }
  return space;
}

result<search_space> read_search_space(const std::filesystem::path& file, const search_space& base) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return error{fmt::format("cannot read {}", file.string())};
  std::ostringstream text;
  text << in.rdbuf();
  return parse_search_space(text.str(), file.string(), base);
}

placed_point place(const search_space& space, const unit_point& unit) {
  placed_point p;
  for (std::size_t i = 0; i < knob_count; ++i) {
    const knob_info& k = infos[i];
    const knob_range& r = space.ranges[i];
    if (r.fixed()) {
      p.values[i] = r.low;
      continue;
    }
    const double u = std::clamp(unit[i], 0.0, 1.0);
    double v = 0;
    if (k.spacing == knob_spacing::linear) {
      v = r.low + u * (r.high - r.low);
    } else {
      v = std::expm1(std::log1p(r.low) + u * (std::log1p(r.high) - std::log1p(r.low)));
    }
    p.values[i] = std::clamp(round_to_step(k, v), r.low, r.high);
  }
  auto& values = p.values;
  // 1. Knative rounds stable window × percentage to whole seconds and raises it to 1 s: raise the percentage so the
  //    value reported is the value used (60 s × 1 % would otherwise report 1 % but run a 1 s = 1.67 % window).
  auto& stable = values[static_cast<std::size_t>(knob::stable_window)];
  auto& panic_percentage = values[static_cast<std::size_t>(knob::panic_window_percentage)];
  if (std::floor(stable * panic_percentage / 100.0 + 0.5) < 1.0) {
    panic_percentage = std::min(100.0, std::ceil(100.0 / stable));
    p.clipped = true;
  }
  // 2. The ConfigMap requires target × utilisation ≥ 0.01 (the annotation's floor is on the target alone).
  auto& target = values[static_cast<std::size_t>(knob::target)];
  const double utilization = values[static_cast<std::size_t>(knob::target_utilization)] / 100.0;
  if (target * utilization < 0.01) {
    target = std::ceil(0.01 / utilization * 1e4) / 1e4;
    p.clipped = true;
  }
  return p;
}

std::string knob_text(knob k, double value) {
  if (info(k).is_duration) return format_go_duration(std::chrono::seconds{static_cast<std::int64_t>(value)});
  return shortest(value);
}

string_map configmap_entries(const knob_values& values) {
  string_map data;
  for (std::size_t i = 0; i < knob_count; ++i) {
    const auto k = static_cast<knob>(i);
    std::string text = knob_text(k, values[i]);
    // Knative reads container-concurrency-target-percentage values ≤ 1 as fractions: "1" would be 100 %.
    if (k == knob::target_utilization && values[i] <= 1.0) text = shortest(values[i] / 100.0);
    data[std::string{infos[i].configmap_key}] = std::move(text);
  }
  return data;
}

string_map annotation_entries(const knob_values& values) {
  string_map annotations;
  for (std::size_t i = 0; i < knob_count; ++i) {
    if (infos[i].annotation.empty()) continue;
    annotations[std::string{infos[i].annotation}] = knob_text(static_cast<knob>(i), values[i]);
  }
  return annotations;
}

const knob_info* knob_of_annotation(std::string_view annotation) {
  for (const auto& k : infos) {
    if (!k.annotation.empty() && k.annotation == annotation) return &k;
  }
  for (const auto& [k, name] : legacy_annotations) {
    if (name == annotation) return &info(k);
  }
  return nullptr;
}

}  // namespace scale::tools
