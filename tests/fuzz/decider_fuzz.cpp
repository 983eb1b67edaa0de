// libFuzzer target: the decider (libscale/decider.hpp) and the linear window (libscale/linear_window.hpp) on
// arbitrary numbers. The spec comes from Knative's valid ranges; the inputs are anything: ready pods of any
// sign, observed values that may be NaN, infinite or negative, time steps of any size. No crash, no UB, and
// for finite non-negative observations (what the windows produce) the outputs keep the invariants of
// tests/libscale/decider_invariants_test.cpp.
#include "fuzz_support.hpp"

#include <libscale/config.hpp>
#include <libscale/decider.hpp>
#include <libscale/linear_window.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <limits>

namespace {

using namespace scale;
using namespace std::chrono_literals;

decider_spec spec_from(FuzzedDataProvider& in) {
  decider_spec spec;
  spec.max_scale_up_rate = in.ConsumeFloatingPointInRange(1.001, 1e4);
  spec.max_scale_down_rate = in.ConsumeFloatingPointInRange(1.001, 1e4);
  spec.target_value = in.ConsumeFloatingPointInRange(knative::target_min, 1e6);
  spec.total_value = spec.target_value * in.ConsumeFloatingPointInRange(1.0, 100.0);
  spec.target_burst_capacity = in.ConsumeBool() ? -1.0 : in.ConsumeFloatingPointInRange(0.0, 1e4);
  spec.panic_threshold = in.ConsumeFloatingPointInRange(1.1, 10.0);
  spec.stable_window = std::chrono::seconds{in.ConsumeIntegralInRange<int>(6, 3600)};
  spec.scale_down_delay = in.ConsumeBool() ? 0s : std::chrono::seconds{in.ConsumeIntegralInRange<int>(0, 3600)};
  spec.reachable = in.ConsumeBool();
  spec.activation_scale = in.ConsumeIntegralInRange<std::int32_t>(0, 1000);
  return spec;
}

double any_double(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 5)) {
    case 0: return std::numeric_limits<double>::quiet_NaN();
    case 1: return std::numeric_limits<double>::infinity();
    case 2: return -in.ConsumeFloatingPoint<double>();
    default: return in.ConsumeFloatingPoint<double>();
  }
}

void fuzz_decider(FuzzedDataProvider& in) {
  const decider_spec spec = spec_from(in);
  const bool wild = in.ConsumeBool();  // observations outside what the windows produce
  time_point now = at(std::chrono::seconds{in.ConsumeIntegralInRange<int>(0, 1000)});
  decider d(spec, in.ConsumeIntegralInRange<int>(0, 10000), now);
  std::int32_t previous = 0;
  bool was_in_panic = d.in_panic();
  previous = d.max_panic_pods();
  while (in.remaining_bytes() > 0) {
    now += std::chrono::milliseconds{in.ConsumeIntegralInRange<std::int64_t>(0, 600'000)};
    const int ready = wild ? in.ConsumeIntegral<int>() : in.ConsumeIntegralInRange<int>(0, 10000);
    observed_values observed;
    if (wild) {
      observed = {any_double(in), any_double(in)};
    } else {
      observed = {in.ConsumeFloatingPointInRange(0.0, 1e7), in.ConsumeFloatingPointInRange(0.0, 1e7)};
    }
    const scale_result r = d.scale(now, ready, observed);
    LIBSCALE_FUZZ_CHECK(r.valid);
    if (spec.target_burst_capacity == 0) LIBSCALE_FUZZ_CHECK(r.excess_burst_capacity == 0);
    if (spec.target_burst_capacity < 0) LIBSCALE_FUZZ_CHECK(r.excess_burst_capacity == -1);
    if (wild) continue;
    // Bounds of this tick (decider.hpp steps 3 and 6).
    const double ready_at_least_one = std::max(1.0, static_cast<double>(ready));
    const double up = std::ceil(spec.max_scale_up_rate * ready_at_least_one);
    const double down = spec.reachable ? std::floor(ready_at_least_one / spec.max_scale_down_rate) : 0.0;
    const bool delayed = spec.reachable && spec.scale_down_delay > 0s;
    LIBSCALE_FUZZ_CHECK(r.desired_pod_count >= 0);
    if (!d.in_panic() && !delayed) {
      const bool in_bounds = r.desired_pod_count >= down && r.desired_pod_count <= up;
      const bool activation = spec.activation_scale > 1 && r.desired_pod_count == spec.activation_scale;
      LIBSCALE_FUZZ_CHECK(in_bounds || activation);
    }
    if (d.in_panic() && was_in_panic && !delayed) LIBSCALE_FUZZ_CHECK(r.desired_pod_count >= previous);
    if (d.in_panic() && !delayed) LIBSCALE_FUZZ_CHECK(r.desired_pod_count == d.max_panic_pods());
    was_in_panic = d.in_panic();
    previous = r.desired_pod_count;
  }
}

void fuzz_linear_window(FuzzedDataProvider& in) {
  const auto granularity = std::chrono::milliseconds{in.ConsumeIntegralInRange<int>(1, 5000)};
  // At most 3600 buckets, as Knative's longest window (1 h) in 1 s buckets: larger rings only cost time.
  // k buckets, the last one possibly partial: ceil(window / granularity) = k.
  const auto window_of = [&]() -> duration {
    const auto k = in.ConsumeIntegralInRange<int>(1, 3600);
    return granularity * k - std::chrono::milliseconds{in.ConsumeIntegralInRange<std::int64_t>(0, granularity.count() - 1)};
  };
  linear_window w(window_of(), granularity);
  time_point now = at(std::chrono::milliseconds{in.ConsumeIntegralInRange<std::int64_t>(-1'000'000, 1'000'000)});
  bool finite_only = true;
  while (in.remaining_bytes() > 0) {
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
      case 0: {
        const bool wild = in.ConsumeIntegralInRange<int>(0, 15) == 0;
        const double v = wild ? any_double(in) : in.ConsumeFloatingPointInRange(-1e6, 1e6);
        finite_only = finite_only && !wild;
        // Knative records out-of-order points too; the window drops those a whole window old.
        w.record(now - std::chrono::milliseconds{in.ConsumeIntegralInRange<int>(0, 10'000)}, v);
        break;
      }
      case 1:
        now += std::chrono::milliseconds{in.ConsumeIntegralInRange<std::int64_t>(0, 7'200'000)};
        break;
      case 2:
        w.resize(window_of(), now);
        break;
      default: {
        const double average = w.average(now);
        if (finite_only) LIBSCALE_FUZZ_CHECK(std::isfinite(average));
        if (w.is_empty(now)) LIBSCALE_FUZZ_CHECK(average == 0 || !finite_only);
        break;
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  if (in.ConsumeBool()) {
    fuzz_decider(in);
  } else {
    fuzz_linear_window(in);
  }
  return 0;
}
