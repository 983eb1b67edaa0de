#pragma once
// `scalesim tune --shard I/N`: the evaluations of a search, split between N peer processes that share a
// directory. Every batch of the search is split by evaluation; each shard writes its part as an exchange file and
// reads the others', so all N run the same search, and `scalesim merge` rebuilds the unsharded report from the N
// shard files (issue #5, docs/tuning.md "Sharding").

#include "shard_file.hpp"
#include "tune_search.hpp"
#include "tune_space.hpp"

#include <libscale/config.hpp>
#include <libscale/result.hpp>
#include <libscale/time.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace scale::tools {

/// One evaluation the tune flow asks for: a configuration on the tuning or held-out part of the trace.
struct tune_job {
  bool held_out = false;
  /// The point's knobs; none for the default configuration.
  std::optional<knob_values> knobs;

  bool operator==(const tune_job&) const = default;
};

/// One batch of evaluations and what came of each (`known[j]` false where a shard file lacks job j).
struct tune_batch {
  std::vector<tune_job> jobs;
  std::vector<point_outcome> outcomes;
  std::vector<bool> known;
};

/// What the tune report is made of besides the evaluations: from the inputs, or read back from a shard file.
struct tune_record {
  std::uint64_t seed = 1;
  std::size_t budget = 0;
  std::vector<std::string> slo_texts;
  search_space space;
  double holdout = 0;
  duration end{0};  // the trace's last arrival (with --holdout)
  duration cut{0};  // where the held-out part starts (with --holdout)
  std::int32_t container_concurrency = 0;
  std::string cold_start;
  std::string service_name;
  std::vector<std::string> sources;
  std::size_t functions = 0;
  string_map config_data;  // the baseline config-autoscaler data, before any knob
  string_map annotations;  // the baseline annotations
  nlohmann::ordered_json default_knobs;  // the default configuration's knobs as tune.json shows them
};

/// A configuration's figures as tune.json and the shard files hold them.
nlohmann::ordered_json figures_json(const figures& f);

/// Copies into `into` every outcome `from` knows that `into` does not (the two hold the same jobs).
void take_known_outcomes(tune_batch& into, const tune_batch& from);

/// Which shard simulates the `k`-th simulated job of the whole tune flow (jobs refused by validation are not
/// counted): round-robin across batches, so a batch of one does not always land on shard 0.
std::size_t tune_job_owner(std::size_t k, std::size_t shard_count);

/// A batch's jobs and outcomes as JSON; `written[j]` picks the outcomes written (the others are left out).
nlohmann::ordered_json tune_batch_json(const tune_batch& batch, const std::vector<bool>& written);

/// The exchange file of `batch` written by `shard`, under `dir`.
std::string tune_exchange_path(const std::string& dir, std::size_t batch, std::size_t shard);

/// Writes `text` to `path` so that readers never see a partial file (a temporary file, then a rename).
std::optional<error> write_file_atomically(const std::string& path, const std::string& text);

/// Reads an exchange file if it exists: nullopt when absent; an error when it is of another run (fingerprint),
/// another batch or malformed.
result<std::optional<tune_batch>> read_tune_exchange(const std::string& path, const std::string& fingerprint,
                                                     std::size_t batch, shard_spec from);

/// The exchange file's text.
std::string tune_exchange_text(const tune_batch& batch, const std::vector<bool>& written,
                               const std::string& fingerprint, std::size_t batch_index, shard_spec from);

/// A shard's file: the run's inputs and fingerprint, the record, and every batch with the outcomes it simulated.
struct tune_shard_file {
  shard_spec shard;
  nlohmann::ordered_json inputs;
  std::string fingerprint;
  tune_record record;
  std::vector<tune_batch> batches;
};

/// The shard file's text (JSON, format "scalesim-tune-shard/1"); numbers round-trip exactly.
std::string tune_shard_file_text(const tune_shard_file& file, const std::vector<std::vector<bool>>& written);

/// Reads a tune shard file back; the error names the file and what was expected where.
result<tune_shard_file> read_tune_shard_file(const std::string& path);

/// True when the JSON text at `path` is a tune shard file (`scalesim merge` routes on it).
bool is_tune_shard_file(const std::string& path);

}  // namespace scale::tools
