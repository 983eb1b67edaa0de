#pragma once
// Shared by the libFuzzer targets: the readers under test take paths, so each input goes through a temp file,
// and every trace a reader accepts is streamed to check the arrival contract (sim/include/sim/arrival.hpp).

#include <sim/arrival.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace scale::fuzz {

/// Stops the run with a message libFuzzer records as a crash: an invariant of the code under test failed.
[[noreturn]] inline void fail(std::string_view what) {
  std::fprintf(stderr, "fuzz invariant failed: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

#define LIBSCALE_FUZZ_CHECK(condition) \
  ((condition) ? void(0) : ::scale::fuzz::fail(#condition " (" __FILE__ ":" + std::to_string(__LINE__) + ")"))

/// A file holding `bytes`, removed on destruction. One name per process and slot, so parallel fuzzing jobs
/// (-jobs=N) do not share files; `name` keeps the extension the reader may look at.
class temp_file {
 public:
  temp_file(std::string_view bytes, std::string_view name) {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::filesystem::path(dir != nullptr && *dir != '\0' ? dir : "/tmp") /
            ("libscale-fuzz-" + std::to_string(::getpid()) + "-" + std::string(name));
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  ~temp_file() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// Streams every function of an accepted trace (at most `limit` arrivals each, so an input that declares 10^8
/// requests per minute stays fast) and checks the arrival contract: times >= 0, non-decreasing per function,
/// service times >= 0. The same seed must give the same first arrivals.
inline void check_trace(const sim::trace& t, std::size_t limit = 2000) {
  for (const auto& function : t.functions) {
    LIBSCALE_FUZZ_CHECK(static_cast<bool>(function.open));
    auto first = function.open(42);
    auto again = function.open(42);
    LIBSCALE_FUZZ_CHECK(first != nullptr && again != nullptr);
    time_point previous{};
    for (std::size_t i = 0; i < limit; ++i) {
      const auto a = first->next();
      const auto b = again->next();
      LIBSCALE_FUZZ_CHECK(a == b);
      if (!a) break;
      LIBSCALE_FUZZ_CHECK(a->time >= time_point{});
      LIBSCALE_FUZZ_CHECK(a->time >= previous);
      LIBSCALE_FUZZ_CHECK(a->service_time >= duration::zero());
      previous = a->time;
    }
  }
}

/// Splits `input` at the first `separator`: the part before and the part after (empty when absent).
inline std::pair<std::string_view, std::string_view> split_once(std::string_view input, std::string_view separator) {
  const auto at = input.find(separator);
  if (at == std::string_view::npos) return {input, {}};
  return {input.substr(0, at), input.substr(at + separator.size())};
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace scale::fuzz
