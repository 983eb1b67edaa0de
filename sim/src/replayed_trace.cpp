#include <sim/replayed_trace.hpp>

#include <utility>

namespace scale::sim {

namespace {

class replay_source final : public arrival_source {
 public:
  explicit replay_source(std::shared_ptr<const std::vector<arrival>> arrivals) : arrivals_(std::move(arrivals)) {}
  std::optional<arrival> next() override {
    if (next_ == arrivals_->size()) return std::nullopt;
    return (*arrivals_)[next_++];
  }

 private:
  std::shared_ptr<const std::vector<arrival>> arrivals_;
  std::size_t next_ = 0;
};

}  // namespace

std::unique_ptr<arrival_source> replay_arrivals(std::shared_ptr<const std::vector<arrival>> arrivals) {
  return std::make_unique<replay_source>(std::move(arrivals));
}

std::optional<std::vector<arrival>> record_arrivals(const function_trace& function, std::uint64_t seed,
                                                    std::size_t max_arrivals) {
  std::vector<arrival> arrivals;
  auto source = function.open(seed);
  while (auto a = source->next()) {
    if (arrivals.size() == max_arrivals) return std::nullopt;
    arrivals.push_back(*a);
  }
  arrivals.shrink_to_fit();
  return arrivals;
}

function_trace replay_function(function_trace function, std::uint64_t seed,
                               std::shared_ptr<const std::vector<arrival>> arrivals) {
  auto original = std::move(function.open);
  function.open = [original = std::move(original), seed,
                   arrivals = std::move(arrivals)](std::uint64_t wanted) -> std::unique_ptr<arrival_source> {
    if (wanted != seed) return original(wanted);
    return replay_arrivals(arrivals);
  };
  return function;
}

}  // namespace scale::sim
