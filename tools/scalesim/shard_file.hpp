#pragma once
// `--shard I/N` and the shard files `scalesim merge` combines (issue #5): which functions a shard runs, what it
// writes, and reading it back exactly (docs/simulator.md, "Sharding").

#include "run_report.hpp"

#include <sim/arrival.hpp>
#include <sim/function_result.hpp>

#include <libscale/result.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scale::tools {

struct run_options;

/// Shard `index` of `count`: function i of the trace belongs to shard i mod count.
struct shard_spec {
  std::size_t index = 0;
  std::size_t count = 1;

  bool operator==(const shard_spec&) const = default;
};

/// Parses `--shard I/N` (0 ≤ I < N) or `--shard auto/N`, which takes I from `job_completion_index` (the
/// environment variable JOB_COMPLETION_INDEX a Kubernetes Indexed Job sets; nullopt when unset).
result<shard_spec> parse_shard(std::string_view text, std::optional<std::string_view> job_completion_index);

/// `parse_shard` of `text` with the environment's JOB_COMPLETION_INDEX (run, compare and tune share it).
result<shard_spec> parse_shard_flag(std::string_view text);

/// `--shard` of `options` read with the environment's JOB_COMPLETION_INDEX; nullopt without `--shard`. An error
/// also when `--shard-out` or `--shard-timelines` is given without `--shard`.
result<std::optional<shard_spec>> shard_from_flags(const run_options& options);

/// Where a shard writes its file: `--shard-out`, else `shard-I.json` in `--out` (created); an error when neither
/// is given, or when `--json`, `--timeline` or `--plot` is (`scalesim merge` writes those).
result<std::string> shard_output_path(const run_options& options, std::size_t shard_index);

/// Checks that the files at `paths`, shards `shards[k]` of one run, hold every index of the first's count
/// exactly once; the error names the file given twice or the index missing (run, compare and tune merges).
std::optional<error> check_shard_set(const std::vector<std::string>& paths, const std::vector<shard_spec>& shards);

/// The indices of the functions of a `functions`-function trace that `shard` runs, ascending.
std::vector<std::size_t> shard_function_indices(std::size_t functions, shard_spec shard);

/// The functions of `workload` at `indices`, in that order (the trace's `source` kept).
sim::trace select_functions(sim::trace workload, const std::vector<std::size_t>& indices);

/// One policy's results in a shard: function `indices[k]` of the trace is `outcome.functions[k]` (and
/// `outcome.timelines[k]` when the shard keeps timelines).
struct shard_run {
  std::string policy;  // as the JSON names it ("kpa" for the simulator's own loop)
  std::vector<std::size_t> indices;
  run_outcome outcome;
};

/// Everything one shard of `scalesim run` or `scalesim compare` hands to `scalesim merge`.
struct shard_file {
  std::string command;               // "run" or "compare"
  shard_spec shard;
  nlohmann::ordered_json inputs;     // what was run: traces (paths and sizes), every flag that changes results
  std::string fingerprint;           // hash of `inputs`: shards of one run have the same
  std::size_t functions_total = 0;   // functions in the whole trace
  std::uint64_t seed = 0;
  std::vector<std::string> sources;  // as the unsharded run names them
  nlohmann::ordered_json config;     // `config_json` of the (first) policy's config
  std::string policy_flag;           // run: --policy as given (the table's title names it)
  std::int32_t container_concurrency = 0;  // compare: the table's title
  bool timelines = false;            // per-tick timelines kept
  std::vector<shard_run> runs;       // run: one; compare: one per policy, in --policies order
};

/// The description of a run that its fingerprint hashes: `command`, every trace's path and size in bytes, the
/// files and flags that change results, `policies` and the shard count (not the index, threads or outputs).
/// An error names a trace that cannot be read (standard input cannot be sharded).
result<nlohmann::ordered_json> shard_inputs(std::string_view command, const run_options& options,
                                            const std::vector<std::string>& policies, std::size_t shard_count,
                                            bool timelines);

/// 16 hex digits (FNV-1a 64) of `inputs` dumped compactly.
std::string fingerprint_of(const nlohmann::ordered_json& inputs);

/// The shard file's text (JSON, format "scalesim-shard/1"); numbers round-trip exactly.
std::string shard_file_text(const shard_file& shard);

/// Reads a shard file back; an error names `path` and what was expected where.
result<shard_file> read_shard_file(const std::string& path);

/// Reads typed fields of a JSON object; errors name the file and the field's path.
class json_reader {
 public:
  explicit json_reader(std::string file) : file_(std::move(file)) {}

  error bad(const std::string& where, std::string_view expected) const {
    return error{fmt::format("{}: {}: expected {}", file_, where, expected)};
  }
  const std::string& file() const { return file_; }

  result<const nlohmann::ordered_json*> field(const nlohmann::ordered_json& object, const std::string& where, const char* key) const {
    if (!object.is_object()) return bad(where, "an object");
    const auto it = object.find(key);
    if (it == object.end()) return bad(join(where, key), "a value (missing)");
    return &*it;
  }
  template <class T>
  result<T> get(const nlohmann::ordered_json& object, const std::string& where, const char* key) const {
    auto value = field(object, where, key);
    if (!value) return value.error_value();
    return as<T>(**value, join(where, key));
  }
  template <class T>
  result<T> as(const nlohmann::ordered_json& value, const std::string& where) const {
    if constexpr (std::is_same_v<T, std::string>) {
      if (value.is_string()) return value.get<std::string>();
      return bad(where, "a string");
    } else if constexpr (std::is_same_v<T, bool>) {
      if (value.is_boolean()) return value.get<bool>();
      return bad(where, "true or false");
    } else if constexpr (std::is_same_v<T, double>) {
      if (value.is_number()) return value.get<double>();
      return bad(where, "a number");
    } else if constexpr (std::is_signed_v<T>) {
      if (value.is_number_integer() && value.get<std::int64_t>() >= std::numeric_limits<T>::min() &&
          value.get<std::int64_t>() <= std::numeric_limits<T>::max()) {
        return static_cast<T>(value.get<std::int64_t>());
      }
      return bad(where, "a whole number");
    } else {
      if (value.is_number_unsigned() && value.get<std::uint64_t>() <= std::numeric_limits<T>::max()) {
        return static_cast<T>(value.get<std::uint64_t>());
      }
      return bad(where, "a whole number of at least 0");
    }
  }

  static std::string join(const std::string& where, std::string_view key) {
    return where.empty() ? std::string{key} : fmt::format("{}.{}", where, key);
  }

 private:
  std::string file_;
};

/// A latency histogram as JSON (count, sum, min, max and the non-zero bins) and back, exactly.
nlohmann::ordered_json histogram_json(const sim::latency_histogram& h);
result<sim::latency_histogram> histogram_from_json(const nlohmann::ordered_json& j, const std::string& where);

}  // namespace scale::tools
