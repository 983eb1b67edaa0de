#include "adapter/request_proxy.hpp"

#include <exception>
#include <list>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

namespace scale::adapter {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = beast::error_code;
using request_message = http::request<http::string_body>;
using response_message = http::response<http::string_body>;
using steady = std::chrono::steady_clock;

/// Why the proxy answered a request itself; each reason has a counter except `other`.
enum class failure { queue_full, timeout, backend_error, other };

// Hop-by-hop headers (RFC 9110 section 7.6.1, plus the legacy Keep-Alive and Proxy-Connection that
// proxies also drop): they describe one connection, so a proxy must not forward them. `Expect` is dropped
// too: the proxy has already read the whole body, so a backend's "100 Continue" would only confuse it.
constexpr std::string_view hop_by_hop_headers[] = {
    "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
    "TE",         "Trailer",    "Transfer-Encoding", "Upgrade",           "Expect",
};

template <class Fields>
void strip_hop_by_hop(Fields& fields) {
  // Headers the sender named in Connection are hop-by-hop as well (RFC 9110 section 7.6.1).
  std::vector<std::string> named;
  const auto [first, last] = fields.equal_range(http::field::connection);
  for (auto field = first; field != last; ++field) {
    const http::token_list tokens{field->value()};
    for (const auto& token : tokens) named.emplace_back(token);
  }
  for (const std::string& name : named) fields.erase(beast::string_view{name});
  for (std::string_view name : hop_by_hop_headers) fields.erase(beast::string_view{name.data(), name.size()});
}

// Not in Beast 1.74's field enum.
constexpr beast::string_view x_forwarded_for = "X-Forwarded-For";

bool is_http_parse_error(const error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_target).category();
}

/// One connection to a backend, with its own buffer and parser so that a cancelled operation never
/// touches state the next attempt reuses.
struct backend_connection {
  explicit backend_connection(asio::io_context& io, backend where) : stream(io), where(std::move(where)) {}

  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::string_body>> parser;
  backend where;
  /// Taken from the idle pool rather than freshly connected.
  bool reused = false;
};

class session;

}  // namespace

struct request_proxy::impl {
  explicit impl(proxy_options opts) : options(std::move(opts)), acceptor(io), accept_retry(io) {}

  time_point now() const {
    if (options.clock) return options.clock();
    return at(std::chrono::duration_cast<duration>(steady::now().time_since_epoch()));
  }

  proxy_options options;
  asio::io_context io{1};
  tcp::acceptor acceptor;
  asio::steady_timer accept_retry;
  std::thread thread;
  std::mutex stop_mutex;
  bool stopped = false;

  // Shared with callers on other threads, under `mutex`.
  mutable std::mutex mutex;
  backend_set backends;
  activator_reporter reporter;
  proxy_counters counters;

  // I/O thread only.
  std::list<std::shared_ptr<session>> held;
  std::unordered_set<session*> sessions;
  std::map<std::string, std::vector<std::shared_ptr<backend_connection>>> idle_pool;
  bool shutting_down = false;
  bool pump_posted = false;

  void accept();
  void admit(const std::shared_ptr<session>& s);
  /// Queues `s` (at the front for a request that already waited); true when the queue was empty.
  bool hold(const std::shared_ptr<session>& s, bool front);
  void unhold(session& s);
  void pump();
  void post_pump();
  void poke(std::optional<pod_stat> first_request_stat, bool poke_now, time_point t);
  std::shared_ptr<backend_connection> take_idle(const backend& b);
  void put_idle(std::shared_ptr<backend_connection> conn);
  void prune_idle();
  void shutdown();
  void count_failure(failure why);
};

namespace {

/// One client connection. HTTP/1.1 without pipelining in parallel: one request at a time, read, then
/// held or forwarded, then answered, then the next one is read.
class session : public std::enable_shared_from_this<session> {
 public:
  enum class phase { reading, held, forwarding, writing, closed };

  session(request_proxy::impl& owner, tcp::socket socket)
      : owner_(owner), stream_(std::move(socket)), deadline_(owner.io) {
    error_code ec;
    const tcp::endpoint peer = stream_.socket().remote_endpoint(ec);
    if (!ec) client_ip_ = peer.address().to_string();
    owner_.sessions.insert(this);
  }
  session(const session&) = delete;
  session& operator=(const session&) = delete;
  ~session() { owner_.sessions.erase(this); }

  void start() { read_request(); }
  phase current_phase() const { return phase_; }
  const std::vector<backend>& tried() const { return tried_; }
  std::list<std::shared_ptr<session>>::iterator held_at_;

  /// Forwards the current request to `b`, whose slot the caller has reserved.
  void forward(const backend& b) {
    phase_ = phase::forwarding;
    current_ = b;
    if (auto conn = owner_.take_idle(b)) {
      conn->reused = true;
      send(std::move(conn));
    } else {
      connect_fresh(b);
    }
  }

  /// Answers the current request with a plain-text error of the proxy's own.
  void fail(http::status status, failure why, std::string body) {
    owner_.count_failure(why);
    response_ = response_message{status, client_version_};
    response_.set(http::field::content_type, "text/plain; charset=utf-8");
    response_.body() = std::move(body);
    response_.prepare_payload();
    write_response();
  }

  void on_shutdown() {
    switch (phase_) {
      case phase::reading:
        close();
        break;
      case phase::forwarding:
        abort_upstream();
        release_slot();
        fail(http::status::service_unavailable, failure::other, "scale-adapter: shutting down\n");
        break;
      case phase::held:  // the owner fails held requests itself, in queue order
      case phase::writing:  // closes after the write, since the owner is shutting down
      case phase::closed:
        break;
    }
  }

  /// Counts the request's arrival in the statistics; `finish_stats` counts its end.
  void mark_counted() { counted_ = true; }

 private:
  void read_request() {
    phase_ = phase::reading;
    parser_.emplace();
    parser_->body_limit(owner_.options.body_limit_bytes);
    stream_.expires_after(owner_.options.client_idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](error_code ec, std::size_t) { self->on_request(ec); });
  }

  void on_request(error_code ec) {
    if (phase_ != phase::reading) return;
    if (ec == http::error::body_limit) {
      client_keep_alive_ = false;
      reply_own(http::status::payload_too_large,
                fmt::format("scale-adapter: request body larger than {} bytes\n", owner_.options.body_limit_bytes));
      return;
    }
    if (ec) {
      // End of stream, idle timeout or a reset close quietly; a malformed request deserves a reason.
      if (is_http_parse_error(ec) && ec != http::error::end_of_stream && ec != http::error::partial_message) {
        client_keep_alive_ = false;
        reply_own(http::status::bad_request, fmt::format("scale-adapter: malformed request: {}\n", ec.message()));
        return;
      }
      close();
      return;
    }
    stream_.expires_never();
    request_message request = parser_->release();
    client_keep_alive_ = request.keep_alive();
    client_version_ = request.version();
    head_request_ = request.method() == http::verb::head;
    if (owner_.shutting_down) {
      client_keep_alive_ = false;
      reply_own(http::status::service_unavailable, "scale-adapter: shutting down\n");
      return;
    }
    outgoing_ = std::make_shared<request_message>(std::move(request));
    if (!prepare_outgoing(*outgoing_)) {
      client_keep_alive_ = false;
      reply_own(http::status::bad_request, "scale-adapter: malformed request: body not allowed for this method\n");
      return;
    }
    ++exchange_;
    tried_.clear();
    refusals_.clear();
    stale_retry_done_ = false;
    started_ = steady::now();
    const std::uint64_t id = exchange_;
    deadline_.expires_at(started_ + owner_.options.revision_timeout);
    deadline_.async_wait([self = shared_from_this(), id](error_code wait_ec) {
      if (!wait_ec) self->on_deadline(id);
    });
    watch_client(id);
    owner_.admit(shared_from_this());
  }

  // Forwarded request: hop-by-hop headers out, the client's address appended to X-Forwarded-For, a
  // keep-alive HTTP/1.1 request with a Content-Length for the body read.
  bool prepare_outgoing(request_message& out) const {
    strip_hop_by_hop(out);
    if (!client_ip_.empty()) {
      const auto existing = out.find(x_forwarded_for);
      std::string value = existing == out.end() ? client_ip_ : std::string(existing->value()) + ", " + client_ip_;
      out.set(x_forwarded_for, value);
    }
    out.version(11);
    out.keep_alive(true);
    try {
      out.prepare_payload();
    } catch (const std::invalid_argument&) {  // Beast refuses a TRACE with a body
      return false;
    }
    return true;
  }

  // A held or forwarded request is dropped when its client goes away (as Go's server cancels the
  // request context on EOF). Readable with nothing to read means end of stream; pipelined bytes end
  // the watch, they are read after the response.
  void watch_client(std::uint64_t id) {
    stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this(), id](error_code ec) {
      self->on_client_readable(ec, id);
    });
  }

  void on_client_readable(error_code ec, std::uint64_t id) {
    if (id != exchange_ || (phase_ != phase::held && phase_ != phase::forwarding)) return;
    if (ec == asio::error::operation_aborted) return;
    error_code available_ec;
    const std::size_t available = stream_.socket().available(available_ec);
    if (!ec && !available_ec && available > 0) return;
    if (phase_ == phase::held) owner_.unhold(*this);
    abort_upstream();
    release_slot();
    close();
  }

  void on_deadline(std::uint64_t id) {
    if (id != exchange_) return;
    const auto timeout_ms = owner_.options.revision_timeout.count();
    if (phase_ == phase::held) {
      owner_.unhold(*this);
      fail(http::status::gateway_timeout, failure::timeout,
           fmt::format("scale-adapter: request held for {} ms without a ready backend (revision timeout)\n",
                       timeout_ms));
    } else if (phase_ == phase::forwarding) {
      const std::string where = current_ ? to_string(*current_) : std::string("?");
      abort_upstream();
      release_slot();
      fail(http::status::gateway_timeout, failure::timeout,
           fmt::format("scale-adapter: backend {} did not answer within the revision timeout ({} ms)\n", where,
                       timeout_ms));
    }
  }

  void connect_fresh(const backend& b) {
    auto conn = std::make_shared<backend_connection>(owner_.io, b);
    upstream_ = conn;
    error_code ec;
    const asio::ip::address address = asio::ip::make_address(b.address, ec);
    if (ec) {
      // Posted, so that a refusal never re-enters the caller (the pump loop).
      asio::post(owner_.io, [self = shared_from_this(), conn] {
        self->on_connected(conn, asio::error::make_error_code(asio::error::host_not_found));
      });
      return;
    }
    conn->stream.async_connect(tcp::endpoint{address, b.port},
                               [self = shared_from_this(), conn](error_code connect_ec) {
                                 self->on_connected(conn, connect_ec);
                               });
  }

  bool stale(const std::shared_ptr<backend_connection>& conn) const {
    return conn != upstream_ || phase_ != phase::forwarding;
  }

  void on_connected(const std::shared_ptr<backend_connection>& conn, error_code ec) {
    if (stale(conn)) return;
    const backend b = conn->where;
    if (ec) {
      upstream_.reset();
      {
        const std::lock_guard lock(owner_.mutex);
        owner_.backends.mark_refused(b);
      }
      release_slot();
      tried_.push_back(b);
      refusals_.push_back(fmt::format("{} ({})", to_string(b), ec.message()));
      try_elsewhere();
      return;
    }
    {
      const std::lock_guard lock(owner_.mutex);
      owner_.backends.mark_healthy(b);
    }
    send(conn);
  }

  // After a refused connection: another backend now, or back to the head of the queue when the others
  // are busy, or 502 when every backend (or the attempt budget) is used up.
  void try_elsewhere() {
    if (tried_.size() < owner_.options.max_attempts) {
      pick_result pick;
      {
        const std::lock_guard lock(owner_.mutex);
        pick = owner_.backends.acquire(tried_);
      }
      if (pick.outcome == pick_outcome::chosen) {
        forward(pick.chosen);
        return;
      }
      if (pick.outcome == pick_outcome::wait) {
        // Back to the head of the queue, past the queue limit: it was admitted already.
        if (owner_.hold(shared_from_this(), true)) owner_.poke(std::nullopt, true, owner_.now());
        return;
      }
    }
    fail_unreachable();
  }

 public:
  void fail_unreachable() {
    std::string tried;
    for (const std::string& r : refusals_) tried += (tried.empty() ? "" : ", ") + r;
    fail(http::status::bad_gateway, failure::backend_error,
         fmt::format("scale-adapter: no backend accepted the connection (tried {})\n", tried));
  }

  void enter_held() { phase_ = phase::held; }

 private:
  void send(std::shared_ptr<backend_connection> conn) {
    upstream_ = conn;
    conn->parser.emplace();
    conn->parser->body_limit(owner_.options.body_limit_bytes);
    // A reply to HEAD has a Content-Length but no body.
    if (head_request_) conn->parser->skip(true);
    http::async_write(conn->stream, *outgoing_,
                      [self = shared_from_this(), conn, out = outgoing_](error_code ec, std::size_t) {
                        self->on_sent(conn, ec);
                      });
  }

  void on_sent(const std::shared_ptr<backend_connection>& conn, error_code ec) {
    if (stale(conn)) return;
    if (ec) {
      upstream_failed(conn, ec);
      return;
    }
    http::async_read(conn->stream, conn->buffer, *conn->parser,
                     [self = shared_from_this(), conn](error_code read_ec, std::size_t) {
                       self->on_response(conn, read_ec);
                     });
  }

  void on_response(const std::shared_ptr<backend_connection>& conn, error_code ec) {
    if (stale(conn)) return;
    if (ec) {
      upstream_failed(conn, ec);
      return;
    }
    response_ = conn->parser->release();
    const bool reusable = response_.keep_alive();
    upstream_.reset();
    conn->parser.reset();
    if (reusable) owner_.put_idle(conn);
    {
      const std::lock_guard lock(owner_.mutex);
      owner_.counters.forwarded_total += 1;
    }
    release_slot();
    prepare_reply(response_);
    write_response();
  }

  void upstream_failed(const std::shared_ptr<backend_connection>& conn, error_code ec) {
    upstream_.reset();
    error_code ignored;
    conn->stream.socket().close(ignored);
    // A pooled connection the backend closed while idle fails before any reply: once, try a fresh one.
    const bool nothing_received = !conn->parser || !conn->parser->got_some();
    if (conn->reused && nothing_received && !stale_retry_done_ && current_) {
      stale_retry_done_ = true;
      connect_fresh(*current_);
      return;
    }
    const std::string where = to_string(conn->where);
    release_slot();
    fail(http::status::bad_gateway, failure::backend_error,
         fmt::format("scale-adapter: backend {} failed: {}\n", where, ec.message()));
  }

  // The backend's reply as the client gets it: hop-by-hop headers out, framed for this connection.
  void prepare_reply(response_message& reply) const {
    strip_hop_by_hop(reply);
    reply.version(client_version_);
    const unsigned code = reply.result_int();
    const bool bodiless = (code >= 100 && code < 200) || code == 204 || code == 304;
    if (code == 204 || (code >= 100 && code < 200)) reply.erase(http::field::content_length);
    // HEAD and 304 replies keep the backend's Content-Length, which describes a body not sent.
    if (!bodiless && !head_request_) reply.prepare_payload();
  }

  void reply_own(http::status status, std::string body) { fail(status, failure::other, std::move(body)); }

  void write_response() {
    phase_ = phase::writing;
    deadline_.cancel();
    response_.keep_alive(client_keep_alive_ && !owner_.shutting_down);
    stream_.expires_after(owner_.options.client_idle_timeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this()](error_code ec, std::size_t) { self->on_written(ec); });
  }

  void on_written(error_code ec) {
    if (phase_ != phase::writing) return;
    finish_stats();
    if (ec || !response_.keep_alive() || owner_.shutting_down) {
      close();
      return;
    }
    read_request();
  }

  void abort_upstream() {
    if (!upstream_) return;
    error_code ignored;
    upstream_->stream.socket().close(ignored);
    upstream_.reset();
  }

  void release_slot() {
    if (!current_) return;
    {
      const std::lock_guard lock(owner_.mutex);
      owner_.backends.release(*current_);
    }
    current_.reset();
    owner_.post_pump();
  }

  void finish_stats() {
    if (!counted_) return;
    counted_ = false;
    const time_point t = owner_.now();
    const std::lock_guard lock(owner_.mutex);
    owner_.reporter.request_finished(t);
    owner_.counters.active -= 1;
  }

  void close() {
    finish_stats();
    phase_ = phase::closed;
    deadline_.cancel();
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  request_proxy::impl& owner_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<request_message> outgoing_;
  response_message response_;
  asio::steady_timer deadline_;
  steady::time_point started_{};
  phase phase_ = phase::reading;
  std::uint64_t exchange_ = 0;
  std::string client_ip_;
  unsigned client_version_ = 11;
  bool client_keep_alive_ = true;
  bool head_request_ = false;
  bool counted_ = false;
  bool stale_retry_done_ = false;
  std::optional<backend> current_;
  std::shared_ptr<backend_connection> upstream_;
  std::vector<backend> tried_;
  std::vector<std::string> refusals_;
};

}  // namespace

void request_proxy::impl::accept() {
  acceptor.async_accept(io, [this](error_code ec, tcp::socket socket) {
    if (shutting_down || !acceptor.is_open()) return;
    if (!ec) {
      std::make_shared<session>(*this, std::move(socket))->start();
      accept();
      return;
    }
    // A full file table fails every accept until connections close: retry later instead of spinning.
    accept_retry.expires_after(std::chrono::milliseconds{100});
    accept_retry.async_wait([this](error_code wait_ec) {
      if (!wait_ec && !shutting_down) accept();
    });
  });
}

void request_proxy::impl::admit(const std::shared_ptr<session>& s) {
  const time_point t = now();
  std::optional<pod_stat> first_request_stat;
  pick_result pick;
  {
    const std::lock_guard lock(mutex);
    first_request_stat = reporter.request_arrived(t);
    counters.active += 1;
    // Requests already waiting go first (FIFO), so a newcomer only goes straight through an empty queue.
    if (held.empty()) pick = backends.acquire();
  }
  s->mark_counted();
  bool poke_now = false;
  if (pick.outcome == pick_outcome::chosen) {
    s->forward(pick.chosen);
  } else if (held.size() >= options.queue_limit) {
    s->fail(http::status::service_unavailable, failure::queue_full,
            fmt::format("scale-adapter: queue full ({} requests held)\n", held.size()));
  } else {
    poke_now = hold(s, false);
  }
  if (first_request_stat || poke_now) poke(first_request_stat, poke_now, t);
}

bool request_proxy::impl::hold(const std::shared_ptr<session>& s, bool front) {
  const bool was_empty = held.empty();
  s->held_at_ = held.insert(front ? held.begin() : held.end(), s);
  s->enter_held();
  const std::lock_guard lock(mutex);
  counters.queued = held.size();
  return was_empty;
}

void request_proxy::impl::unhold(session& s) {
  held.erase(s.held_at_);
  const std::lock_guard lock(mutex);
  counters.queued = held.size();
}

void request_proxy::impl::post_pump() {
  if (pump_posted) return;
  pump_posted = true;
  asio::post(io, [this] {
    pump_posted = false;
    pump();
  });
}

void request_proxy::impl::pump() {
  while (!held.empty()) {
    const std::shared_ptr<session> s = held.front();
    pick_result pick;
    {
      const std::lock_guard lock(mutex);
      pick = backends.acquire(s->tried());
    }
    if (pick.outcome == pick_outcome::wait) return;
    unhold(*s);
    if (pick.outcome == pick_outcome::chosen) {
      s->forward(pick.chosen);
    } else {
      s->fail_unreachable();
    }
  }
}

void request_proxy::impl::poke(std::optional<pod_stat> first_request_stat, bool poke_now, time_point t) {
  if (!options.on_demand) return;
  options.on_demand(demand_signal{.at = t, .first_request_stat = first_request_stat, .poke = poke_now});
}

std::shared_ptr<backend_connection> request_proxy::impl::take_idle(const backend& b) {
  const auto it = idle_pool.find(to_string(b));
  if (it == idle_pool.end() || it->second.empty()) return nullptr;
  std::shared_ptr<backend_connection> conn = std::move(it->second.back());
  it->second.pop_back();
  return conn;
}

void request_proxy::impl::put_idle(std::shared_ptr<backend_connection> conn) {
  if (shutting_down) return;
  auto& idle = idle_pool[to_string(conn->where)];
  if (idle.size() >= options.max_idle_connections_per_backend) return;
  conn->buffer.clear();
  idle.push_back(std::move(conn));
}

void request_proxy::impl::prune_idle() {
  const std::lock_guard lock(mutex);
  for (auto it = idle_pool.begin(); it != idle_pool.end();) {
    const bool gone = it->second.empty() || !backends.contains(it->second.front()->where);
    it = gone ? idle_pool.erase(it) : std::next(it);
  }
}

void request_proxy::impl::count_failure(failure why) {
  const std::lock_guard lock(mutex);
  switch (why) {
    case failure::queue_full:
      counters.failed_queue_full_total += 1;
      break;
    case failure::timeout:
      counters.failed_timeout_total += 1;
      break;
    case failure::backend_error:
      counters.failed_backend_error_total += 1;
      break;
    case failure::other:
      break;
  }
}

void request_proxy::impl::shutdown() {
  shutting_down = true;
  error_code ignored;
  acceptor.close(ignored);
  accept_retry.cancel();
  while (!held.empty()) {
    const std::shared_ptr<session> s = held.front();
    unhold(*s);
    s->fail(http::status::service_unavailable, failure::other, "scale-adapter: shutting down\n");
  }
  std::vector<std::shared_ptr<session>> live;
  live.reserve(sessions.size());
  for (session* s : sessions) live.push_back(s->shared_from_this());
  for (const auto& s : live) s->on_shutdown();
  idle_pool.clear();
}

result<std::unique_ptr<request_proxy>> request_proxy::start(proxy_options options) {
  auto state = std::make_unique<impl>(std::move(options));
  const std::string where = fmt::format("{}:{}", state->options.listen_address, state->options.listen_port);
  error_code ec;
  const asio::ip::address address = asio::ip::make_address(state->options.listen_address, ec);
  if (ec) {
    return error{fmt::format("proxy listen address {:?} is not an IP address", state->options.listen_address)};
  }
  const tcp::endpoint endpoint{address, state->options.listen_port};
  state->acceptor.open(endpoint.protocol(), ec);
  if (!ec) state->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) state->acceptor.bind(endpoint, ec);
  if (!ec) state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return error{fmt::format("proxy cannot listen on {}: {}", where, ec.message())};
  state->accept();
  impl* raw = state.get();
  state->thread = std::thread([raw] {
    // A handler that throws (out of memory) must not end the proxy silently: log and keep serving.
    for (;;) {
      try {
        raw->io.run();
        return;
      } catch (const std::exception& e) {
        fmt::print(stderr, "scale-adapter: proxy handler failed: {}\n", e.what());
      }
    }
  });
  return std::unique_ptr<request_proxy>(new request_proxy(std::move(state)));
}

request_proxy::request_proxy(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

request_proxy::~request_proxy() { stop(); }

std::uint16_t request_proxy::port() const {
  error_code ec;
  const tcp::endpoint local = impl_->acceptor.local_endpoint(ec);
  return ec ? impl_->options.listen_port : local.port();
}

void request_proxy::set_backends(std::vector<backend> backends, std::size_t container_concurrency) {
  {
    const std::lock_guard lock(impl_->mutex);
    impl_->backends.assign(backends, container_concurrency);
  }
  impl* raw = impl_.get();
  asio::post(raw->io, [raw] {
    raw->prune_idle();
    raw->pump();
  });
}

std::optional<pod_stat> request_proxy::take_stat(time_point now) {
  const std::lock_guard lock(impl_->mutex);
  return impl_->reporter.report(now);
}

proxy_counters request_proxy::counters() const {
  const std::lock_guard lock(impl_->mutex);
  proxy_counters out = impl_->counters;
  out.in_flight = impl_->backends.total_in_flight();
  return out;
}

void request_proxy::stop() {
  const std::lock_guard lock(impl_->stop_mutex);
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl* raw = impl_.get();
  asio::post(raw->io, [raw] { raw->shutdown(); });
  if (raw->thread.joinable()) raw->thread.join();
}

}  // namespace scale::adapter
