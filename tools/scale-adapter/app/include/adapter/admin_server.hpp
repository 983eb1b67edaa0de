#pragma once
/// The adapter's admin HTTP endpoint (Boost.Beast, its own port, default 9095): `/metrics` in Prometheus text,
/// `/healthz`, `/readyz`. The page itself is a pure function of a snapshot, so it is tested without sockets.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <adapter/request_proxy.hpp>
#include <adapter/target_controller.hpp>
#include <libscale/result.hpp>

namespace scale::adapter {

/// One target's figures for /metrics.
struct target_metrics {
  std::string namespace_name;
  std::string name;
  /// "proxy" or "scrape".
  std::string mode;
  target_status status;
  /// Proxy mode only (zeros in scrape mode).
  proxy_counters proxy;
  /// Scrape mode: scrapes that failed (metrics missing).
  std::uint64_t scrape_failures = 0;

  bool operator==(const target_metrics&) const = default;
};

/// Everything /metrics shows.
struct adapter_metrics {
  std::vector<target_metrics> targets;
  /// 1 while this replica holds the lease (always 1 without leader election).
  bool leader = true;
  bool ready = false;

  bool operator==(const adapter_metrics&) const = default;
};

/// The Prometheus text exposition (version 0.0.4) of `m`: one `# HELP`/`# TYPE` per family, a sample per target
/// with labels `namespace` and `name` (label values escaped as the format says).
std::string render_metrics(const adapter_metrics& m);

/// One HTTP answer of the admin server.
struct admin_reply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;

  bool operator==(const admin_reply&) const = default;
};

/// Routes one GET: /metrics, /healthz (always 200 while the process serves), /readyz (200 once `m.ready`,
/// else 503); anything else 404.
admin_reply admin_route(std::string_view method, std::string_view path, const adapter_metrics& m);

/// A running admin server: one I/O thread; each connection serves requests until the client closes it or it
/// idles for 10 s. `snapshot` is called on the I/O thread for every request.
class admin_server {
 public:
  /// Binds `address:port` (0 = any free port); an error names the address when it cannot listen.
  static result<std::unique_ptr<admin_server>> start(std::string address, std::uint16_t port,
                                                     std::function<adapter_metrics()> snapshot);
  ~admin_server();
  admin_server(const admin_server&) = delete;
  admin_server& operator=(const admin_server&) = delete;
  std::uint16_t port() const;
  /// Closes the listener and joins the thread; idempotent.
  void stop();

  struct impl;

 private:
  explicit admin_server(std::unique_ptr<impl> state);
  std::unique_ptr<impl> impl_;
};

}  // namespace scale::adapter
