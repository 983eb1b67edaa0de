// libFuzzer target: the Kubernetes JSON readers of scale-adapter's API client (kube/api_status.hpp,
// kube/scale.hpp, kube/pods.hpp, kube/leader_election.hpp). The first byte picks the reader; the rest is the
// body. Every reader must return a value or an error, never throw or crash; accepted values must keep the
// invariants the adapter relies on (replicas >= 0, ports in [0, 65535], a BOOKMARK has a resourceVersion).
#include "fuzz_support.hpp"

#include <kube/api_status.hpp>
#include <kube/leader_election.hpp>
#include <kube/pods.hpp>
#include <kube/scale.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scale::kube;
  if (size == 0) return 0;
  const std::string_view body = scale::fuzz::as_text(data + 1, size - 1);
  const pod_port_rule port{0, "fake-k8s/port"};
  switch (data[0] % 6) {
    case 0: {
      const auto s = parse_status(body);
      if (s) LIBSCALE_FUZZ_CHECK(s->code >= 0 && s->code <= 999);
      const auto e = make_api_error("GET /x", 500, body, "audit");
      LIBSCALE_FUZZ_CHECK(e.code == 500 && !e.message.empty());
      break;
    }
    case 1: {
      const auto s = parse_scale(body);
      if (s) LIBSCALE_FUZZ_CHECK(s->replicas >= 0 && s->status_replicas >= 0);
      break;
    }
    case 2: {
      const auto list = parse_pod_list(body, port);
      if (list) {
        LIBSCALE_FUZZ_CHECK(!list->resource_version.empty());
        for (const auto& pod : list->pods) LIBSCALE_FUZZ_CHECK(!pod.name.empty() && pod.port >= 0 && pod.port <= 65535);
      }
      break;
    }
    case 3: {
      // A watch stream cut into lines, as pod_list_watch reads it.
      line_splitter lines(4096);
      if (!lines.append(body)) break;
      while (auto line = lines.next_line()) {
        const auto event = parse_watch_event(*line, port);
        if (!event) continue;
        if (event->type == watch_event::kind::bookmark) LIBSCALE_FUZZ_CHECK(!event->resource_version.empty());
        if (event->type != watch_event::kind::bookmark && event->type != watch_event::kind::error)
          LIBSCALE_FUZZ_CHECK(!event->pod.name.empty());
      }
      break;
    }
    case 4: {
      const auto doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
      if (!doc.is_discarded()) {
        (void)pod_is_ready(doc);
        const auto pod = parse_pod(doc, port);
        if (pod) LIBSCALE_FUZZ_CHECK(pod->port >= 0 && pod->port <= 65535);
      }
      break;
    }
    default: {
      const auto lease = parse_lease(body);
      if (lease) {
        LIBSCALE_FUZZ_CHECK(lease->lease_duration_seconds >= 0 && lease->lease_transitions >= 0);
        LIBSCALE_FUZZ_CHECK(*parse_lease(lease_body("default", "l", *lease).dump()) == *lease);
      }
      break;
    }
  }
  return 0;
}
