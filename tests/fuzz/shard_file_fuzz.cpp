// libFuzzer target: the shard files `scalesim merge` reads (tools/scalesim/shard_file.hpp, tune_shard.hpp) and
// the exchange files tune's shards read from each other. The first byte picks the reader (0 run/compare shard,
// 1 tune shard, 2 tune exchange file of batch 1 from shard 1/2 with the seed's fingerprint); the rest is the file.
// What a reader accepts must write back to text that reads back to the same text.
#include "fuzz_support.hpp"

#include "shard_file.hpp"
#include "tune_shard.hpp"

#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scale;
  using namespace scale::tools;
  if (size == 0) return 0;
  const std::uint8_t reader = data[0] % 3;
  const fuzz::temp_file file(fuzz::as_text(data + 1, size - 1), "shard.json");
  if (reader == 0) {
    const auto s = read_shard_file(file.path());
    if (!s) {
      LIBSCALE_FUZZ_CHECK(!s.error_value().message.empty());
      return 0;
    }
    const std::string text = shard_file_text(*s);
    const fuzz::temp_file again(text, "again.json");
    const auto back = read_shard_file(again.path());
    LIBSCALE_FUZZ_CHECK(back.has_value());
    LIBSCALE_FUZZ_CHECK(shard_file_text(*back) == text);
  } else if (reader == 1) {
    (void)is_tune_shard_file(file.path());
    const auto s = read_tune_shard_file(file.path());
    if (!s) {
      LIBSCALE_FUZZ_CHECK(!s.error_value().message.empty());
      return 0;
    }
    std::vector<std::vector<bool>> written;
    for (const auto& b : s->batches) written.push_back(b.known);
    const std::string text = tune_shard_file_text(*s, written);
    const fuzz::temp_file again(text, "again.json");
    const auto back = read_tune_shard_file(again.path());
    LIBSCALE_FUZZ_CHECK(back.has_value());
    LIBSCALE_FUZZ_CHECK(tune_shard_file_text(*back, written) == text);
  } else {
    constexpr const char* fingerprint = "70873f43e32ee34d";
    const shard_spec from{1, 2};
    const auto b = read_tune_exchange(file.path(), fingerprint, 1, from);
    if (!b) {
      LIBSCALE_FUZZ_CHECK(!b.error_value().message.empty());
      return 0;
    }
    if (!b->has_value()) return 0;
    const std::string text = tune_exchange_text(**b, (*b)->known, fingerprint, 1, from);
    const fuzz::temp_file again(text, "again.json");
    const auto back = read_tune_exchange(again.path(), fingerprint, 1, from);
    LIBSCALE_FUZZ_CHECK(back.has_value() && back->has_value());
    LIBSCALE_FUZZ_CHECK(tune_exchange_text(**back, (*back)->known, fingerprint, 1, from) == text);
  }
  return 0;
}
