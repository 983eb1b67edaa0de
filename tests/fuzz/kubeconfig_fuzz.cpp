// libFuzzer target: the kubeconfig reader (tools/scale-adapter kube/kubeconfig.hpp). Any bytes parse to a
// kubeconfig or to an error naming the file; an accepted config is merged with itself and every context is
// resolved (paths cleared first, so no input makes the target read /dev/zero) and must satisfy the
// rest_config contract: no trailing slash, never a CA with insecure-skip-tls-verify, a namespace.
#include "fuzz_support.hpp"

#include <kube/kubeconfig.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace scale;
  const std::string file = "/fuzz/config";
  auto parsed = kube::parse_kubeconfig(fuzz::as_text(data, size), file);
  if (!parsed) {
    LIBSCALE_FUZZ_CHECK(parsed.error_value().message.starts_with("kubeconfig " + file));
    return 0;
  }
  kube::kubeconfig config = *parsed;
  kube::kubeconfig merged;
  kube::merge_kubeconfig(merged, config);
  kube::merge_kubeconfig(merged, config);
  LIBSCALE_FUZZ_CHECK(merged == config);
  for (auto& cluster : config.clusters) cluster.certificate_authority.clear();
  for (auto& user : config.users) {
    user.client_certificate.clear();
    user.client_key.clear();
    user.token_file.clear();
  }
  for (std::size_t i = 0; i <= config.contexts.size(); ++i) {
    const std::string context = i < config.contexts.size() ? config.contexts[i].name : std::string{};
    auto resolved = kube::rest_config_for_context(config, file, context, "");
    if (!resolved) {
      LIBSCALE_FUZZ_CHECK(!resolved.error_value().message.empty());
      continue;
    }
    LIBSCALE_FUZZ_CHECK(!resolved->server.empty() && resolved->server.back() != '/');
    LIBSCALE_FUZZ_CHECK(resolved->tls.ca_pem.empty() || !resolved->tls.insecure_skip_verify);
    LIBSCALE_FUZZ_CHECK(!resolved->namespace_name.empty());
  }
  return 0;
}
