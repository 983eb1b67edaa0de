// libFuzzer target: the queue-proxy `Stat` protobuf decoder (tools/scale-adapter adapter/queue_proxy_stat.hpp:
// decode_stat, encode_stat). The input is the message bytes. Whatever decodes holds finite counts >= 0 and
// survives encode → decode unchanged, in no more bytes than it came in (proto3 drops defaults and unknown fields
// and keeps one copy of a repeated scalar); whatever fails says why in a `stat: …` message.
#include "fuzz_support.hpp"

#include <adapter/queue_proxy_stat.hpp>

#include <cmath>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scale;
  const auto stat = adapter::decode_stat(fuzz::as_text(data, size));
  if (!stat) {
    LIBSCALE_FUZZ_CHECK(stat.error_value().message.starts_with("stat: "));
    return 0;
  }
  for (const double v : {stat->average_concurrent_requests, stat->average_proxied_concurrent_requests,
                         stat->request_count, stat->proxied_request_count, stat->process_uptime}) {
    LIBSCALE_FUZZ_CHECK(std::isfinite(v) && v >= 0);
  }
  const std::string encoded = adapter::encode_stat(*stat);
  LIBSCALE_FUZZ_CHECK(encoded.size() <= size);
  const auto again = adapter::decode_stat(encoded);
  LIBSCALE_FUZZ_CHECK(again.has_value() && *again == *stat);
  return 0;
}
