#pragma once
// `scalesim tune`'s search space: the Knative knobs it varies, their default ranges, the `--space FILE` reader,
// and the mapping from a point of the unit cube to valid knob values and to Knative's keys and annotations.

#include <libscale/config.hpp>
#include <libscale/result.hpp>

#include <array>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace scale::tools {

/// The knobs `scalesim tune` varies, in the order of every table, CSV and JSON it writes.
enum class knob : std::size_t {
  target,                              // per-pod concurrency target (total, before utilisation)
  target_utilization,                  // percent
  stable_window,                       // seconds
  panic_window_percentage,             // percent of the stable window
  panic_threshold_percentage,          // percent
  scale_to_zero_grace_period,          // seconds (ConfigMap only: Knative has no annotation for it)
  scale_to_zero_pod_retention_period,  // seconds
  min_scale,                           // pods
  scale_down_delay,                    // seconds
  target_burst_capacity,               // concurrent requests; -1 = activator always in the path
};
inline constexpr std::size_t knob_count = 10;

/// How values spread over a knob's range when the unit interval is mapped onto it.
enum class knob_spacing {
  linear,
  /// Even steps of log(1 + value): small values get as much room as large ones, and 0 stays reachable.
  log1p,
};

/// What `scalesim tune` knows about one knob.
struct knob_info {
  std::string_view name;           // the --space key: the config-autoscaler key, or the annotation's short name
  std::string_view configmap_key;  // Knative's config-autoscaler key
  std::string_view annotation;     // the autoscaling.knative.dev/ annotation; empty when there is none
  bool is_duration = false;        // values are whole seconds, written as Go durations
  double step = 0;                 // values are rounded to multiples of this; 0 = three significant digits
  double hard_low = 0;             // what libscale's validation accepts (with the tuner's own limits)
  double hard_high = 0;
  double default_low = 0;          // the default search range
  double default_high = 0;
  knob_spacing spacing = knob_spacing::linear;
};

/// The knob's description; `knob_infos()[i]` belongs to `static_cast<knob>(i)`.
const std::array<knob_info, knob_count>& knob_infos();
const knob_info& info(knob k);

/// The inclusive range one knob is searched over; `low == high` fixes it.
struct knob_range {
  double low = 0;
  double high = 0;

  bool fixed() const { return low == high; }
  bool operator==(const knob_range&) const = default;
};

/// Every knob's range.
struct search_space {
  std::array<knob_range, knob_count> ranges{};

  const knob_range& operator[](knob k) const { return ranges[static_cast<std::size_t>(k)]; }
  knob_range& operator[](knob k) { return ranges[static_cast<std::size_t>(k)]; }
  /// The knobs that are not fixed.
  std::size_t free_knobs() const;
  bool operator==(const search_space&) const = default;
};

/// The default ranges (docs/tuning.md says why each is what it is).
search_space default_search_space();

/// Overrides `base` with a YAML map of knob name to either one value (the knob is fixed) or `{min: A, max: B}`.
/// Durations are Go durations or bare seconds. Errors name the source, line and knob: an unknown knob, a value
/// that does not parse, a range outside what Knative accepts, min above max.
result<search_space> parse_search_space(std::string_view yaml_text, std::string_view source_name,
                                        const search_space& base = default_search_space());

/// Reads `file` and passes it to `parse_search_space`.
result<search_space> read_search_space(const std::filesystem::path& file,
                                       const search_space& base = default_search_space());

/// One configuration: every knob's value in its natural unit (requests, percent, seconds, pods).
using knob_values = std::array<double, knob_count>;

/// A point of the unit cube, one coordinate per knob (fixed knobs ignore theirs).
using unit_point = std::array<double, knob_count>;

/// Knob values for a point of the unit cube, and whether a rule had to move a value.
struct placed_point {
  knob_values values{};
  /// True when a cross-knob rule moved a value (the panic window raised to 1 s, the target raised so that
  /// target × utilisation ≥ 0.01).
  bool clipped = false;
};

/// Maps `unit` onto the space: each coordinate (clamped to [0, 1]) through the knob's spacing, rounded to its
/// step, clamped to its range; then the cross-knob rules (`placed_point::clipped`).
placed_point place(const search_space& space, const unit_point& unit);

/// The value of `k` as Knative spells it: a Go duration ("1m30s") for durations, else the shortest decimal that
/// parses back to the same double ("12.5", "100").
std::string knob_text(knob k, double value);

/// The config-autoscaler keys for `values`, Knative's names and value forms. The target utilisation is written as
/// a percentage, except 1 % which is written "0.01" (Knative reads values ≤ 1 as fractions).
string_map configmap_entries(const knob_values& values);

/// The revision annotations for `values` (full `autoscaling.knative.dev/` names). The scale-to-zero grace period
/// has no annotation and is not among them.
string_map annotation_entries(const knob_values& values);

/// The knob an annotation name sets (preferred or legacy camelCase name, with its prefix), if any.
const knob_info* knob_of_annotation(std::string_view annotation);

}  // namespace scale::tools
