// Proves a consumer can include the umbrella header and take one decision.
#include <libscale/libscale.hpp>

#include <cstdio>

int main() {
  using namespace std::chrono_literals;
  scale::decider_spec spec;  // defaults: target 70 per pod
  scale::decider d(spec, 1, scale::at(0s));
  // 350 concurrent requests over both windows: ceil(350 / 70) = 5 pods (kpa-spec.md §3 step 5).
  const auto r = d.scale(scale::at(2s), 1, scale::observed_values{350, 350});
  std::printf("desired %d\n", r.desired_pod_count);
  return r.valid && r.desired_pod_count == 5 ? 0 : 1;
}
