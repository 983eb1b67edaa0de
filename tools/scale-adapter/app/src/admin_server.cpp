#include <adapter/admin_server.hpp>

#include <adapter/prometheus_text.hpp>

#include <chrono>
#include <thread>
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <fmt/format.h>

namespace scale::adapter {

namespace {

/// Prometheus renders floats in Go's strconv form; fmt's shortest round-trip form is the same for finite values.
std::string number(double v) { return fmt::format("{}", v); }

}  // namespace

std::string render_metrics(const adapter_metrics& m) {
  std::string out;
  const auto family = [&](std::string_view name, std::string_view type, std::string_view help, auto value_of) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    for (const auto& t : m.targets) {
      out += fmt::format("{}{{namespace=\"{}\",name=\"{}\"}} {}\n", name, escape_label_value(t.namespace_name),
                         escape_label_value(t.name), value_of(t));
    }
  };
  family("scale_adapter_desired_replicas", "gauge", "Replicas libscale's KPA wants, after min/max bounds.",
         [](const target_metrics& t) { return number(t.status.desired); });
  family("scale_adapter_current_replicas", "gauge", "spec.replicas of the Scale as last read or written (-1 unknown).",
         [](const target_metrics& t) { return number(t.status.current); });
  family("scale_adapter_ready_pods", "gauge", "Ready pods of the target (Running, Ready, not terminating).",
         [](const target_metrics& t) { return number(t.status.ready); });
  family("scale_adapter_panic_mode", "gauge", "1 while the decider is in panic mode.",
         [](const target_metrics& t) { return number(t.status.panic_mode ? 1 : 0); });
  family("scale_adapter_stable_average", "gauge", "Stable-window average of the scaling metric at the last decider tick.",
         [](const target_metrics& t) { return number(t.status.stable_average); });
  family("scale_adapter_panic_average", "gauge", "Panic-window average of the scaling metric at the last decider tick.",
         [](const target_metrics& t) { return number(t.status.panic_average); });
  family("scale_adapter_holding", "gauge", "1 while metrics are missing and the current scale is held.",
         [](const target_metrics& t) { return number(t.status.holding ? 1 : 0); });
  family("scale_adapter_queued_requests", "gauge", "Requests the proxy holds now (no pod with free capacity).",
         [](const target_metrics& t) { return number(static_cast<double>(t.proxy.queued)); });
  family("scale_adapter_in_flight_requests", "gauge", "Requests at a backend now.",
         [](const target_metrics& t) { return number(static_cast<double>(t.proxy.in_flight)); });
  family("scale_adapter_forwarded_requests_total", "counter", "Requests a backend answered.",
         [](const target_metrics& t) { return number(static_cast<double>(t.proxy.forwarded_total)); });
  family("scale_adapter_failed_requests_total", "counter",
         "Requests the proxy failed (queue full 503, timeout 504, backend error 502).", [](const target_metrics& t) {
           return number(static_cast<double>(t.proxy.failed_queue_full_total + t.proxy.failed_timeout_total +
                                             t.proxy.failed_backend_error_total));
         });
  family("scale_adapter_api_errors_total", "counter", "Kubernetes API calls of the controller that failed.",
         [](const target_metrics& t) { return number(static_cast<double>(t.status.api_errors)); });
  family("scale_adapter_scale_writes_total", "counter", "Successful writes of spec.replicas.",
         [](const target_metrics& t) { return number(static_cast<double>(t.status.writes)); });
  family("scale_adapter_scrape_failures_total", "counter", "Scrapes that failed (scrape mode).",
         [](const target_metrics& t) { return number(static_cast<double>(t.scrape_failures)); });
  out += "# HELP scale_adapter_leader 1 while this replica may write scale.\n# TYPE scale_adapter_leader gauge\n";
  out += fmt::format("scale_adapter_leader {}\n", m.leader ? 1 : 0);
  return out;
}

admin_reply admin_route(std::string_view method, std::string_view path, const adapter_metrics& m) {
  if (const auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
  if (method != "GET" && method != "HEAD") return {405, "text/plain; charset=utf-8", "method not allowed\n"};
  if (path == "/metrics") return {200, "text/plain; version=0.0.4; charset=utf-8", render_metrics(m)};
  if (path == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
  if (path == "/readyz") {
    if (m.ready) return {200, "text/plain; charset=utf-8", "ok\n"};
    return {503, "text/plain; charset=utf-8", "not ready: waiting for the first Scale read or the leader role\n"};
  }
  return {404, "text/plain; charset=utf-8", "not found\n"};
}

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct admin_server::impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::function<adapter_metrics()> snapshot;
  std::thread thread;
  std::uint16_t port = 0;
  bool stopped = false;

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // closed by stop()
      serve(std::make_shared<beast::tcp_stream>(std::move(socket)));
      accept();
    });
  }

  void serve(std::shared_ptr<beast::tcp_stream> stream) {
    auto buffer = std::make_shared<beast::flat_buffer>();
    auto req = std::make_shared<http::request<http::string_body>>();
    stream->expires_after(std::chrono::seconds{10});
    http::async_read(*stream, *buffer, *req, [this, stream, buffer, req](beast::error_code ec, std::size_t) {
      if (ec) return;
      const admin_reply r = admin_route(std::string_view(req->method_string().data(), req->method_string().size()),
                                        std::string_view(req->target().data(), req->target().size()), snapshot());
      auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status),
                                                                     req->version());
      res->set(http::field::content_type, r.content_type);
      res->set(http::field::server, "scale-adapter");
      res->body() = req->method() == http::verb::head ? std::string() : r.body;
      res->keep_alive(req->keep_alive());
      res->prepare_payload();
      http::async_write(*stream, *res, [this, stream, res](beast::error_code wec, std::size_t) {
        if (wec || !res->keep_alive()) {
          beast::error_code ignored;
          stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
          return;
        }
        serve(stream);
      });
    });
  }
};

result<std::unique_ptr<admin_server>> admin_server::start(std::string address, std::uint16_t port,
                                                          std::function<adapter_metrics()> snapshot) {
  auto state = std::make_unique<impl>();
  state->snapshot = std::move(snapshot);
  beast::error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (ec) return error{"admin server: bad listen address " + address + ": " + ec.message()};
  const tcp::endpoint ep{ip, port};
  state->acceptor.open(ep.protocol(), ec);
  if (!ec) state->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) state->acceptor.bind(ep, ec);
  if (!ec) state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return error{fmt::format("admin server: cannot listen on {}:{}: {}", address, port, ec.message())};
  state->port = state->acceptor.local_endpoint().port();
  state->accept();
  impl* raw = state.get();
  state->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<admin_server>(new admin_server(std::move(state)));
}

admin_server::admin_server(std::unique_ptr<impl> state) : impl_(std::move(state)) {}
admin_server::~admin_server() { stop(); }
std::uint16_t admin_server::port() const { return impl_->port; }

void admin_server::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  asio::post(impl_->io, [s = impl_.get()] {
    beast::error_code ignored;
    s->acceptor.close(ignored);
    s->io.stop();
  });
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace scale::adapter
