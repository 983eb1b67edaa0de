#include "fake_apiserver.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <ctime>
#include <list>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>

namespace scale::fake_k8s {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------------------------
// Small text helpers.

std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size()) {
      auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      const int hi = hex(s[i + 1]);
      const int lo = hex(s[i + 2]);
      if (hi < 0 || lo < 0) {
        out += s[i];
        continue;
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    const auto amp = q.find('&');
    const auto part = q.substr(0, amp);
    if (!part.empty()) {
      const auto eq = part.find('=');
      if (eq == std::string_view::npos) {
        out.emplace(url_decode(part), "");
      } else {
        out.emplace(url_decode(part.substr(0, eq)), url_decode(part.substr(eq + 1)));
      }
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    const auto slash = path.find('/');
    if (slash != 0) out.push_back(url_decode(path.substr(0, slash)));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool truthy(const std::map<std::string, std::string>& q, const std::string& key) {
  const auto it = q.find(key);
  return it != q.end() && (it->second == "1" || it->second == "true" || it->second.empty());
}

std::string query_value(const std::map<std::string, std::string>& q, const std::string& key) {
  const auto it = q.find(key);
  return it == q.end() ? std::string() : it->second;
}

std::string selector_string(const std::map<std::string, std::string>& labels) {
  // std::map iterates in key order: "a=b,c=d", sorted, as the assignment pins.
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out += ',';
    out += k + "=" + v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Label and field selectors (the subset kubectl and the adapter send: =, ==, !=, in, notin, exists, !exists).

struct requirement {
  enum class op { eq, neq, in, notin, exists, not_exists };
  std::string key;
  op kind = op::eq;
  std::set<std::string> values;
};

bool selector_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' || c == '/';
}

std::optional<std::vector<requirement>> parse_label_selector(std::string_view s) {
  std::vector<requirement> out;
  std::size_t i = 0;
  const auto ws = [&] {
    while (i < s.size() && s[i] == ' ') ++i;
  };
  const auto word = [&] {
    const std::size_t start = i;
    while (i < s.size() && selector_char(s[i])) ++i;
    return std::string(s.substr(start, i - start));
  };
  ws();
  if (i == s.size()) return out;
  for (;;) {
    ws();
    requirement r;
    if (i < s.size() && s[i] == '!') {
      ++i;
      ws();
      r.kind = requirement::op::not_exists;
      r.key = word();
      if (r.key.empty()) return std::nullopt;
    } else {
      r.key = word();
      if (r.key.empty()) return std::nullopt;
      ws();
      if (i == s.size() || s[i] == ',') {
        r.kind = requirement::op::exists;
      } else if (s.substr(i, 2) == "!=") {
        i += 2;
        r.kind = requirement::op::neq;
      } else if (s.substr(i, 2) == "==") {
        i += 2;
        r.kind = requirement::op::eq;
      } else if (s[i] == '=') {
        ++i;
        r.kind = requirement::op::eq;
      } else {
        const std::string w = word();
        if (w == "in") {
          r.kind = requirement::op::in;
        } else if (w == "notin") {
          r.kind = requirement::op::notin;
        } else {
          return std::nullopt;
        }
        ws();
        if (i == s.size() || s[i] != '(') return std::nullopt;
        ++i;
        for (;;) {
          ws();
          r.values.insert(word());
          ws();
          if (i == s.size()) return std::nullopt;
          if (s[i] == ')') {
            ++i;
            break;
          }
          if (s[i] != ',') return std::nullopt;
          ++i;
        }
      }
      if (r.kind == requirement::op::eq || r.kind == requirement::op::neq) {
        ws();
        r.values.insert(word());
      }
    }
    out.push_back(std::move(r));
    ws();
    if (i == s.size()) return out;
    if (s[i] != ',') return std::nullopt;
    ++i;
  }
}

bool matches(const std::vector<requirement>& reqs, const std::map<std::string, std::string>& labels) {
  for (const auto& r : reqs) {
    const auto it = labels.find(r.key);
    const bool has = it != labels.end();
    const bool in_set = has && r.values.count(it->second) > 0;
    switch (r.kind) {
      case requirement::op::eq:
      case requirement::op::in:
        if (!in_set) return false;
        break;
      case requirement::op::neq:
      case requirement::op::notin:
        if (in_set) return false;
        break;
      case requirement::op::exists:
        if (!has) return false;
        break;
      case requirement::op::not_exists:
        if (has) return false;
        break;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Status objects (cluster-adapter.md §1.5).

std::string reason_for(int code) {
  switch (code) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 406: return "NotAcceptable";
    case 409: return "Conflict";
    case 410: return "Expired";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return code >= 500 ? "InternalError" : "BadRequest";
  }
}

json status_object(int code, const std::string& reason, const std::string& message, json details = nullptr) {
  json s = {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()}, {"status", "Failure"},
            {"message", message}, {"reason", reason}};
  if (!details.is_null()) s["details"] = std::move(details);
  s["code"] = code;
  return s;
}

// The resource a request is about, for permission checks and messages.
struct resource_ref {
  std::string group;     // "" for core
  std::string resource;  // "deployments", "deployments/scale", "pods", ...
  std::string ns;
  std::string name;      // empty for a collection
  std::string qualified() const {
    const auto slash = resource.find('/');
    const std::string base = resource.substr(0, slash);
    return group.empty() ? base : base + "." + group;
  }
  json details(const std::string& kind) const {
    json d = {{"name", name}};
    if (!group.empty()) d["group"] = group;
    d["kind"] = kind;
    return d;
  }
};

// ---------------------------------------------------------------------------------------------------------------
// Stored objects.

struct deployment {
  int replicas = 0;
  std::map<std::string, std::string> match_labels;
  std::int64_t rv = 0;
  std::int64_t generation = 1;
  std::string uid;
  std::string created;
};

struct pod_record {
  std::string ns;
  pod_spec spec;
  std::int64_t rv = 0;
  std::string uid;
  std::string created;
};

struct stored_object {  // leases and events: kept as JSON
  json object;
  std::int64_t rv = 0;
};

struct pod_event {  // one change of one pod; watches render it per their selectors (§4.5)
  std::int64_t rv = 0;
  std::optional<pod_record> before, after;
};

using key = std::pair<std::string, std::string>;  // namespace, name

json pod_json(const pod_record& p, std::int64_t rv_override = 0) {
  json meta = {{"name", p.spec.name}, {"namespace", p.ns}, {"uid", p.uid},
               {"resourceVersion", std::to_string(rv_override ? rv_override : p.rv)},
               {"creationTimestamp", p.created}};
  if (!p.spec.labels.empty()) meta["labels"] = p.spec.labels;
  json container = {{"name", "app"}, {"image", "fake-k8s/app"}};
  if (p.spec.port > 0) {
    meta["annotations"] = {{"fake-k8s/port", std::to_string(p.spec.port)}};
    container["ports"] = json::array({{{"containerPort", p.spec.port}, {"protocol", "TCP"}}});
  }
  if (p.spec.deleting) {
    // A terminating pod stays Running with a deletionTimestamp (§4.3).
    meta["deletionTimestamp"] = p.created;
    meta["deletionGracePeriodSeconds"] = 30;
  }
  json status = {{"phase", p.spec.phase},
                 {"conditions", json::array({{{"type", "Ready"}, {"status", p.spec.ready ? "True" : "False"}}})}};
  if (!p.spec.pod_ip.empty()) {
    status["podIP"] = p.spec.pod_ip;
    status["podIPs"] = json::array({{{"ip", p.spec.pod_ip}}});
  }
  return {{"kind", "Pod"}, {"apiVersion", "v1"}, {"metadata", std::move(meta)},
          {"spec", {{"containers", json::array({container})}}}, {"status", std::move(status)}};
}

struct field_requirement {
  std::string field, value;
  bool equal = true;
};

std::optional<std::string> pod_field(const pod_record& p, const std::string& field) {
  if (field == "status.phase") return p.spec.phase;
  if (field == "metadata.name") return p.spec.name;
  if (field == "metadata.namespace") return p.ns;
  if (field == "spec.nodeName") return std::string();
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------------------------
// One request's answer.

struct watch_plan {
  std::string ns;  // empty = all namespaces
  std::vector<requirement> labels;
  std::vector<field_requirement> fields;
  std::vector<std::string> initial_lines;  // synthetic ADDED events, or the ERROR 410 event
  bool too_old = false;
  std::size_t next_event = 0;  // index into the pod event log
  bool bookmarks = false;
  std::uint64_t bookmark_epoch = 0;  // taken with the plan, so a send_bookmarks() after the 200 is never missed
  std::optional<clock_type::time_point> deadline;
};

struct hook_call {
  std::string ns, name;
  int replicas = 0;
};

struct outcome {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<watch_plan> watch;
  std::optional<hook_call> hook;
};

outcome json_outcome(int status, const json& body) {
  outcome o;
  o.status = status;
  o.body = body.dump();
  return o;
}

outcome status_outcome(int code, const std::string& reason, const std::string& message, json details = nullptr) {
  return json_outcome(code, status_object(code, reason, message, std::move(details)));
}

struct identity {
  std::string user;
  std::vector<std::string> groups;
};

struct connection {
  int fd = -1;          // guarded by impl::mu_; -1 once the thread stopped using the socket
  bool closed = false;  // set by stop_listening / the destructor
  bool done = false;
  std::thread thread;
};

// A recorded request and the sequence number that finds it again after clear_requests().
struct request_slot {
  std::uint64_t seq = 0;
  recorded_request request;
};

}  // namespace

// ---------------------------------------------------------------------------------------------------------------

struct fake_apiserver::impl {
  explicit impl(server_options options);
  ~impl();

  // Listener.
  void start_listening();
  void stop_accepting();
  void accept_loop();
  void close_connections_locked();

  // Connections.
  void serve(std::shared_ptr<connection> c, tcp::socket socket);
  template <class Stream>
  void serve_requests(Stream& stream, connection& c, const std::optional<identity>& cert_user);
  template <class Stream>
  bool handle(Stream& stream, connection& c, http::request<http::string_body>& req,
              const std::optional<identity>& cert_user);
  template <class Stream>
  bool stream_watch(Stream& stream, connection& c, const http::request<http::string_body>& req, watch_plan plan,
                    std::uint64_t seq);
  void set_status_locked(std::uint64_t seq, int status);

  // API (all *_locked run with mu_ held).
  outcome dispatch_locked(const http::request<http::string_body>& req, const std::optional<identity>& cert_user);
  outcome route_locked(const std::string& method, const std::vector<std::string>& seg,
                       const std::map<std::string, std::string>& q, const http::request<http::string_body>& req,
                       const identity& who);
  std::optional<outcome> authorize_locked(const identity& who, const std::string& verb, const resource_ref& r);
  outcome deployments_locked(const std::string& method, const resource_ref& r,
                             const std::map<std::string, std::string>& q, bool table);
  outcome scale_locked(const std::string& method, const resource_ref& r, const std::map<std::string, std::string>& q,
                       const http::request<http::string_body>& req);
  outcome pods_locked(const std::string& method, const resource_ref& r, const std::map<std::string, std::string>& q,
                      bool table);
  outcome events_locked(const std::string& method, const resource_ref& r, const std::map<std::string, std::string>& q,
                        const std::string& body, bool events_v1);
  outcome leases_locked(const std::string& method, const resource_ref& r, const std::map<std::string, std::string>& q,
                        const std::string& body);
  outcome discovery_locked(const std::vector<std::string>& seg) const;

  json deployment_json_locked(const key& k, const deployment& d) const;
  json scale_json_locked(const key& k, const deployment& d) const;
  bool pod_matches(const pod_record& p, const watch_plan& plan) const;
  std::optional<std::string> render_event(const pod_event& e, const watch_plan& plan) const;
  std::string next_uid_locked() { return fmt::format("00000000-0000-4000-8000-{:012x}", ++uid_counter_); }
  std::int64_t bump_locked() { return ++rv_counter_; }
  void record_pod_event_locked(std::optional<pod_record> before, std::optional<pod_record> after);

  server_options options_;
  net::io_context io_;  // only owns the sockets; all I/O here is synchronous on per-connection threads
  std::optional<net::ssl::context> ssl_;
  std::uint16_t port_ = 0;

  // Listener state, touched only by the controlling thread (constructor, stop/resume, destructor).
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::thread accept_thread_;
  int wake_fd_ = -1;

  mutable std::mutex mu_;
  std::condition_variable changed_;  // pods changed, bookmark requested, or a connection closed
  std::list<std::shared_ptr<connection>> connections_;
  std::int64_t rv_counter_ = 100;
  std::int64_t compacted_below_ = 0;  // resourceVersions below this are too old (410)
  std::uint64_t uid_counter_ = 0;
  std::uint64_t request_seq_ = 0;
  std::uint64_t bookmark_epoch_ = 0;
  std::map<key, deployment> deployments_;
  std::map<key, pod_record> pods_;
  std::vector<pod_event> pod_log_;
  std::map<key, stored_object> leases_;
  std::map<key, stored_object> stored_events_;
  std::vector<json> events_;  // arrival order
  std::vector<request_slot> requests_;
  int fail_count_ = 0;
  int fail_status_ = 0;
  std::optional<int> fail_retry_after_s_;
  std::chrono::milliseconds latency_{0};
  std::function<void(const std::string&, const std::string&, int)> hook_;
};

fake_apiserver::impl::impl(server_options options) : options_(std::move(options)) {
  if (options_.tls) {
    ssl_.emplace(net::ssl::context::tls_server);
    boost::system::error_code ec;
    ssl_->use_certificate_chain(net::buffer(options_.cert_pem), ec);
    if (ec) throw std::runtime_error("fake-apiserver: cert_pem: " + ec.message());
    ssl_->use_private_key(net::buffer(options_.key_pem), net::ssl::context::pem, ec);
    if (ec) throw std::runtime_error("fake-apiserver: key_pem: " + ec.message());
    if (!options_.client_ca_pem.empty()) {
      ssl_->add_certificate_authority(net::buffer(options_.client_ca_pem), ec);
      if (ec) throw std::runtime_error("fake-apiserver: client_ca_pem: " + ec.message());
      // Verify a certificate when the client sends one; a client without one falls through to token/anonymous,
      // as kube-apiserver's --client-ca-file does (§7).
      ssl_->set_verify_mode(net::ssl::verify_peer);
    }
  }
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::runtime_error("fake-apiserver: eventfd failed");
  port_ = options_.port;
  start_listening();
}

fake_apiserver::impl::~impl() {
  stop_accepting();
  std::list<std::shared_ptr<connection>> all;
  {
    std::lock_guard lk(mu_);
    close_connections_locked();
    all.swap(connections_);
  }
  for (auto& c : all) {
    if (c->thread.joinable()) c->thread.join();
  }
  ::close(wake_fd_);
}

void fake_apiserver::impl::start_listening() {
  auto acc = std::make_unique<tcp::acceptor>(io_);
  const tcp::endpoint ep(net::ip::make_address("127.0.0.1"), port_);
  acc->open(ep.protocol());
  acc->set_option(net::socket_base::reuse_address(true));
  boost::system::error_code ec;
  acc->bind(ep, ec);
  if (ec) throw std::runtime_error(fmt::format("fake-apiserver: bind 127.0.0.1:{}: {}", port_, ec.message()));
  acc->listen(net::socket_base::max_listen_connections);
  // Written only the first time (port 0 picks one); resume_listening() reuses it, so url() needs no lock.
  if (port_ == 0) port_ = acc->local_endpoint().port();
  acceptor_ = std::move(acc);
  accept_thread_ = std::thread([this] { accept_loop(); });
}

void fake_apiserver::impl::stop_accepting() {
  if (!acceptor_) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
  accept_thread_.join();
  std::uint64_t drained = 0;
  [[maybe_unused]] const auto m = ::read(wake_fd_, &drained, sizeof drained);
  boost::system::error_code ec;
  acceptor_->close(ec);
  acceptor_.reset();
}

void fake_apiserver::impl::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{acceptor_->native_handle(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    boost::system::error_code ec;
    tcp::socket socket(io_);
    acceptor_->accept(socket, ec);
    if (ec) continue;
    auto c = std::make_shared<connection>();
    c->fd = socket.native_handle();
    std::lock_guard lk(mu_);
    // Reap finished connections: their threads no longer need mu_ once `done` is set.
    for (auto it = connections_.begin(); it != connections_.end();) {
      if ((*it)->done) {
        (*it)->thread.join();
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
    c->thread = std::thread([this, c, s = std::move(socket)]() mutable { serve(c, std::move(s)); });
    connections_.push_back(std::move(c));
  }
}

void fake_apiserver::impl::close_connections_locked() {
  for (auto& c : connections_) {
    c->closed = true;
    // shutdown(2) wakes a thread blocked in read or write on this socket; the fd stays valid because the
    // connection thread clears `fd` under mu_ before it closes the socket.
    if (c->fd >= 0) ::shutdown(c->fd, SHUT_RDWR);
  }
  changed_.notify_all();
}

void fake_apiserver::impl::serve(std::shared_ptr<connection> c, tcp::socket socket) {
  if (ssl_) {
    beast::ssl_stream<tcp::socket> stream(std::move(socket), *ssl_);
    boost::system::error_code ec;
    stream.handshake(net::ssl::stream_base::server, ec);
    std::optional<identity> cert_user;
    if (!ec) {
      SSL* ssl = stream.native_handle();
      X509* peer = SSL_get0_peer_certificate(ssl);
      if (peer != nullptr && SSL_get_verify_result(ssl) == X509_V_OK && !options_.client_ca_pem.empty()) {
        // CN is the user and O the group, as kube-apiserver maps client certificates (§7).
        identity id;
        X509_NAME* subject = X509_get_subject_name(peer);
        for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
             i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
          const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
          id.user.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
        }
        for (int i = X509_NAME_get_index_by_NID(subject, NID_organizationName, -1); i >= 0;
             i = X509_NAME_get_index_by_NID(subject, NID_organizationName, i)) {
          const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
          id.groups.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
        }
        if (!id.user.empty()) cert_user = std::move(id);
      }
      serve_requests(stream, *c, cert_user);
    }
    {
      std::lock_guard lk(mu_);
      c->fd = -1;
    }
    stream.next_layer().close(ec);
  } else {
    serve_requests(socket, *c, std::nullopt);
    {
      std::lock_guard lk(mu_);
      c->fd = -1;
    }
    boost::system::error_code ec;
    socket.close(ec);
  }
  std::lock_guard lk(mu_);
  c->done = true;
}

template <class Stream>
void fake_apiserver::impl::serve_requests(Stream& stream, connection& c, const std::optional<identity>& cert_user) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    boost::system::error_code ec;
    http::read_header(stream, buffer, parser, ec);
    if (ec) return;
    if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
      // libcurl sends `Expect: 100-continue` for bodies over 1 KiB and waits a second for this answer.
      http::response<http::empty_body> go_on{http::status::continue_, parser.get().version()};
      http::write(stream, go_on, ec);
      if (ec) return;
    }
    http::read(stream, buffer, parser, ec);
    if (ec) return;
    auto req = parser.release();
    if (!handle(stream, c, req, cert_user)) return;
  }
}

void fake_apiserver::impl::set_status_locked(std::uint64_t seq, int status) {
  for (auto it = requests_.rbegin(); it != requests_.rend(); ++it) {
    if (it->seq == seq) {
      it->request.status = status;
      return;
    }
  }
}

template <class Stream>
bool fake_apiserver::impl::handle(Stream& stream, connection& c, http::request<http::string_body>& req,
                                  const std::optional<identity>& cert_user) {
  std::uint64_t seq = 0;
  std::chrono::milliseconds latency{0};
  {
    std::lock_guard lk(mu_);
    recorded_request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.content_type = std::string(req[http::field::content_type]);
    r.authorization = std::string(req[http::field::authorization]);
    r.user_agent = std::string(req[http::field::user_agent]);
    r.body = req.body();
    seq = ++request_seq_;
    requests_.push_back({seq, std::move(r)});
    latency = latency_;
  }
  if (latency.count() > 0) {
    std::unique_lock lk(mu_);
    changed_.wait_for(lk, latency, [&] { return c.closed; });
    if (c.closed) return false;
  }
  outcome out;
  {
    std::lock_guard lk(mu_);
    out = dispatch_locked(req, cert_user);
    if (!out.watch) set_status_locked(seq, out.status);
  }
  if (out.watch) return stream_watch(stream, c, req, std::move(*out.watch), seq);
  if (out.hook) {
    std::function<void(const std::string&, const std::string&, int)> hook;
    {
      std::lock_guard lk(mu_);
      hook = hook_;
    }
    // Outside the lock (the hook may start processes and call set_pod(), as the end-to-end test does) but before
    // the reply: once a client sees its write answered, the hook has finished, so tests need no polling.
    if (hook) hook(out.hook->ns, out.hook->name, out.hook->replicas);
  }

  http::response<http::string_body> res{static_cast<http::status>(out.status), req.version()};
  res.set(http::field::content_type, out.content_type);
  res.set(http::field::cache_control, "no-cache, private");
  res.set("Audit-Id", fmt::format("00000000-0000-4000-a000-{:012x}", seq));
  res.set("X-Kubernetes-Pf-Flowschema-Uid", "fake-k8s-flowschema");
  res.set("X-Kubernetes-Pf-Prioritylevel-Uid", "fake-k8s-prioritylevel");
  for (const auto& [name, value] : out.headers) res.set(name, value);
  res.body() = std::move(out.body);
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  boost::system::error_code ec;
  http::write(stream, res, ec);
  return !ec && req.keep_alive();
}

template <class Stream>
bool fake_apiserver::impl::stream_watch(Stream& stream, connection& c, const http::request<http::string_body>& req,
                                        watch_plan plan, std::uint64_t seq) {
  // A watch is a 200 with newline-delimited JSON events in chunks; errors (410) come inside the stream (§4.5).
  http::response<http::empty_body> res{http::status::ok, req.version()};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-cache, private");
  res.set("Audit-Id", fmt::format("00000000-0000-4000-a000-{:012x}", seq));
  res.chunked(true);
  res.keep_alive(req.keep_alive());
  http::response_serializer<http::empty_body> sr{res};
  boost::system::error_code ec;
  http::write_header(stream, sr, ec);
  if (ec) return false;
  {
    std::lock_guard lk(mu_);
    set_status_locked(seq, 200);
  }
  const auto send = [&](const std::vector<std::string>& lines) {
    for (const auto& line : lines) {
      net::write(stream, http::make_chunk(net::buffer(line)), ec);
      if (ec) return false;
    }
    return true;
  };
  if (!send(plan.initial_lines)) return false;
  if (plan.too_old) {
    net::write(stream, http::make_chunk_last(), ec);
    return !ec && req.keep_alive();
  }
  std::uint64_t seen_epoch = plan.bookmark_epoch;
  auto next_bookmark = clock_type::now() + options_.bookmark_interval;
  for (;;) {
    std::vector<std::string> lines;
    bool end = false;
    {
      std::unique_lock lk(mu_);
      auto wake = clock_type::now() + std::chrono::hours(1);
      if (plan.bookmarks) wake = std::min(wake, next_bookmark);
      if (plan.deadline) wake = std::min(wake, *plan.deadline);
      changed_.wait_until(lk, wake, [&] {
        return c.closed || pod_log_.size() > plan.next_event || (plan.bookmarks && bookmark_epoch_ != seen_epoch);
      });
      if (c.closed) return false;
      for (; plan.next_event < pod_log_.size(); ++plan.next_event) {
        if (auto line = render_event(pod_log_[plan.next_event], plan)) lines.push_back(std::move(*line));
      }
      const auto now = clock_type::now();
      if (plan.bookmarks && (bookmark_epoch_ != seen_epoch || now >= next_bookmark)) {
        // A BOOKMARK carries only metadata.resourceVersion (§4.5); every event up to it was sent above.
        json bookmark = {{"type", "BOOKMARK"},
                         {"object",
                          {{"kind", "Pod"},
                           {"apiVersion", "v1"},
                           {"metadata", {{"resourceVersion", std::to_string(rv_counter_)}}}}}};
        lines.push_back(bookmark.dump() + "\n");
        seen_epoch = bookmark_epoch_;
        next_bookmark = now + options_.bookmark_interval;
      }
      if (plan.deadline && now >= *plan.deadline) end = true;
    }
    if (!send(lines)) return false;
    if (end) {
      // The server ends a watch after timeoutSeconds; the client reconnects from its last RV (§4.5).
      net::write(stream, http::make_chunk_last(), ec);
      return !ec && req.keep_alive();
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Authentication, authorization, routing.

outcome fake_apiserver::impl::dispatch_locked(const http::request<http::string_body>& req,
                                              const std::optional<identity>& cert_user) {
  if (fail_count_ > 0) {
    --fail_count_;
    const int code = fail_status_;
    std::string message = code == 429 ? "Too many requests, please try again later."
                                      : fmt::format("injected failure (fake-apiserver fail_next, code {})", code);
    json details = nullptr;
    if (fail_retry_after_s_) details = {{"retryAfterSeconds", *fail_retry_after_s_}};
    outcome o = status_outcome(code, reason_for(code), message, details);
    if (fail_retry_after_s_) o.headers.emplace_back("Retry-After", std::to_string(*fail_retry_after_s_));
    return o;
  }

  // Authentication: a verified client certificate first, then a bearer token; none at all is system:anonymous,
  // an unknown token is 401 with no details (§1.5).
  identity who;
  const std::string authorization(req[http::field::authorization]);
  if (cert_user) {
    who = *cert_user;
  } else if (!authorization.empty()) {
    constexpr std::string_view bearer = "Bearer ";
    const auto it = authorization.rfind(bearer, 0) == 0
                        ? options_.tokens.find(authorization.substr(bearer.size()))
                        : options_.tokens.end();
    if (it == options_.tokens.end()) return status_outcome(401, "Unauthorized", "Unauthorized");
    who.user = it->second;
    who.groups = {"system:authenticated"};
  } else {
    who.user = "system:anonymous";
    who.groups = {"system:unauthenticated"};
  }

  const std::string target(req.target());
  const auto qmark = target.find('?');
  const auto seg = split_path(std::string_view(target).substr(0, qmark));
  const auto q = qmark == std::string::npos ? std::map<std::string, std::string>()
                                            : parse_query(std::string_view(target).substr(qmark + 1));
  return route_locked(std::string(req.method_string()), seg, q, req, who);
}

std::optional<outcome> fake_apiserver::impl::authorize_locked(const identity& who, const std::string& verb,
                                                              const resource_ref& r) {
  const auto it = options_.permissions.find(who.user);
  bool allowed = false;
  if (it != options_.permissions.end()) {
    allowed = it->second.count(verb + " " + r.resource) > 0;
  } else {
    allowed = who.user != "system:anonymous";  // anonymous may do nothing unless the map names it
  }
  if (allowed) return std::nullopt;
  // The message names verb, resource, group and namespace as RBAC does (§1.5).
  const std::string subject = r.name.empty() ? r.qualified() : fmt::format("{} \"{}\"", r.qualified(), r.name);
  const std::string message =
      fmt::format("{} is forbidden: User \"{}\" cannot {} resource \"{}\" in API group \"{}\"{}", subject, who.user,
                  verb, r.resource, r.group, r.ns.empty() ? " at the cluster scope" : " in the namespace \"" + r.ns + "\"");
  const auto slash = r.resource.find('/');
  return status_outcome(403, "Forbidden", message, r.details(r.resource.substr(0, slash)));
}

outcome fake_apiserver::impl::route_locked(const std::string& method, const std::vector<std::string>& seg,
                                           const std::map<std::string, std::string>& q,
                                           const http::request<http::string_body>& req, const identity& who) {
  const auto seg_at = [&](std::size_t i) -> std::string { return i < seg.size() ? seg[i] : std::string(); };

  // Non-resource paths anyone may read (system:public-info-viewer).
  if (seg.size() == 1 && (seg[0] == "healthz" || seg[0] == "livez" || seg[0] == "readyz")) {
    outcome o;
    o.content_type = "text/plain; charset=utf-8";
    o.body = "ok";
    return o;
  }
  if (seg.size() == 1 && seg[0] == "version") {
    return json_outcome(200, {{"major", "1"},
                              {"minor", "32"},
                              {"gitVersion", "v1.32.0-fake"},
                              {"gitCommit", "0000000000000000000000000000000000000000"},
                              {"gitTreeState", "clean"},
                              {"buildDate", "2026-01-01T00:00:00Z"},
                              {"goVersion", "go1.23.0"},
                              {"compiler", "gc"},
                              {"platform", "linux/amd64"}});
  }

  // Resource paths: /api/v1/[namespaces/{ns}/]{resource}[/{name}[/{sub}]] and /apis/{group}/{version}/...
  std::size_t base = 0;
  std::string group;
  if (seg_at(0) == "api" && seg_at(1) == "v1") {
    base = 2;
  } else if (seg_at(0) == "apis" && seg.size() >= 3) {
    group = seg[1];
    if (seg[2] != "v1") return status_outcome(404, "NotFound", "the server could not find the requested resource");
    base = 3;
  }
  const bool is_resource_path = base > 0 && seg.size() > base;
  if (!is_resource_path) {
    // Discovery: authenticated users only.
    if (who.user == "system:anonymous" && options_.permissions.count(who.user) == 0) {
      std::string path;
      for (const auto& s : seg) path += "/" + s;
      return status_outcome(403, "Forbidden",
                            fmt::format("forbidden: User \"system:anonymous\" cannot get path \"{}\"",
                                        path.empty() ? "/" : path),
                            json::object());
    }
    if (method != "GET") return status_outcome(405, "MethodNotAllowed", "the server does not allow this method");
    return discovery_locked(seg);
  }

  resource_ref r;
  r.group = group;
  std::size_t i = base;
  if (seg_at(i) == "namespaces" && seg.size() >= i + 3) {
    r.ns = seg[i + 1];
    i += 2;
  }
  const std::string resource = seg_at(i);
  r.name = seg_at(i + 1);
  const std::string sub = seg_at(i + 2);
  if (seg.size() > i + 3) return status_outcome(404, "NotFound", "the server could not find the requested resource");
  r.resource = sub.empty() ? resource : resource + "/" + sub;

  std::string verb;
  if (method == "GET") {
    verb = r.name.empty() ? (truthy(q, "watch") ? "watch" : "list") : "get";
  } else if (method == "POST") {
    verb = "create";
  } else if (method == "PUT") {
    verb = "update";
  } else if (method == "PATCH") {
    verb = "patch";
  } else if (method == "DELETE") {
    verb = r.name.empty() ? "deletecollection" : "delete";
  } else {
    return status_outcome(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
  }

  enum class kind { none, deployments, scale, pods, events_core, events_v1, leases };
  kind k = kind::none;
  if (group == "apps" && resource == "deployments" && sub.empty()) k = kind::deployments;
  if (group == "apps" && resource == "deployments" && sub == "scale") k = kind::scale;
  if (group.empty() && resource == "pods" && sub.empty()) k = kind::pods;
  if (group.empty() && resource == "events" && sub.empty()) k = kind::events_core;
  if (group == "events.k8s.io" && resource == "events" && sub.empty()) k = kind::events_v1;
  if (group == "coordination.k8s.io" && resource == "leases" && sub.empty() && !r.ns.empty()) k = kind::leases;
  if (k == kind::none) return status_outcome(404, "NotFound", "the server could not find the requested resource");

  if (auto denied = authorize_locked(who, verb, r)) return std::move(*denied);

  // kubectl asks for server-side printing with this Accept header; it also accepts plain JSON.
  const std::string accept(req[http::field::accept]);
  const bool table = accept.find("as=Table") != std::string::npos;
  switch (k) {
    case kind::deployments: return deployments_locked(method, r, q, table);
    case kind::scale: return scale_locked(method, r, q, req);
    case kind::pods: return pods_locked(method, r, q, table);
    case kind::events_core: return events_locked(method, r, q, req.body(), false);
    case kind::events_v1: return events_locked(method, r, q, req.body(), true);
    case kind::leases: return leases_locked(method, r, q, req.body());
    case kind::none: break;
  }
  return status_outcome(404, "NotFound", "the server could not find the requested resource");
}

outcome fake_apiserver::impl::discovery_locked(const std::vector<std::string>& seg) const {
  // Legacy (unaggregated) discovery with plain application/json: kubectl 1.32 falls back to it when the reply is
  // not an APIGroupDiscoveryList.
  const auto group = [](const std::string& name) {
    return json{{"name", name},
                {"versions", json::array({{{"groupVersion", name + "/v1"}, {"version", "v1"}}})},
                {"preferredVersion", {{"groupVersion", name + "/v1"}, {"version", "v1"}}}};
  };
  const auto resource = [](const std::string& name, const std::string& singular, const std::string& kind,
                           std::vector<std::string> verbs, std::vector<std::string> short_names) {
    json r = {{"name", name}, {"singularName", singular}, {"namespaced", true}, {"kind", kind}, {"verbs", verbs}};
    if (!short_names.empty()) r["shortNames"] = short_names;
    return r;
  };
  const std::vector<std::string> all_verbs = {"create", "delete", "deletecollection", "get",
                                              "list",   "patch",  "update",           "watch"};
  const auto list = [](const std::string& gv, json resources) {
    return json{{"kind", "APIResourceList"}, {"apiVersion", "v1"}, {"groupVersion", gv}, {"resources", resources}};
  };
  if (seg.size() == 1 && seg[0] == "api") {
    return json_outcome(200, {{"kind", "APIVersions"},
                              {"versions", {"v1"}},
                              {"serverAddressByClientCIDRs",
                               json::array({{{"clientCIDR", "0.0.0.0/0"},
                                             {"serverAddress", fmt::format("127.0.0.1:{}", port_)}}})}});
  }
  if (seg.size() == 2 && seg[0] == "api" && seg[1] == "v1") {
    auto pods = resource("pods", "pod", "Pod", all_verbs, {"po"});
    pods["categories"] = {"all"};
    return json_outcome(
        200, list("v1", json::array({pods, resource("events", "event", "Event", all_verbs, {"ev"})})));
  }
  if (seg.size() == 1 && seg[0] == "apis") {
    return json_outcome(200, {{"kind", "APIGroupList"},
                              {"apiVersion", "v1"},
                              {"groups", json::array({group("apps"), group("autoscaling"),
                                                      group("coordination.k8s.io"), group("events.k8s.io")})}});
  }
  if (seg.size() == 2 && seg[0] == "apis") {
    for (const std::string g : {"apps", "autoscaling", "coordination.k8s.io", "events.k8s.io"}) {
      if (seg[1] == g) {
        json out = group(g);
        out["kind"] = "APIGroup";
        out["apiVersion"] = "v1";
        return json_outcome(200, out);
      }
    }
  }
  if (seg.size() == 3 && seg[0] == "apis" && seg[2] == "v1") {
    if (seg[1] == "apps") {
      auto deployments = resource("deployments", "deployment", "Deployment", all_verbs, {"deploy"});
      deployments["categories"] = {"all"};
      // The scale client resolves the subresource's kind from here: autoscaling/v1 Scale (§1.1).
      json scale = {{"name", "deployments/scale"}, {"singularName", ""},    {"namespaced", true},
                    {"group", "autoscaling"},      {"version", "v1"},       {"kind", "Scale"},
                    {"verbs", {"get", "patch", "update"}}};
      return json_outcome(200, list("apps/v1", json::array({deployments, scale})));
    }
    if (seg[1] == "autoscaling") return json_outcome(200, list("autoscaling/v1", json::array()));
    if (seg[1] == "coordination.k8s.io") {
      return json_outcome(200, list("coordination.k8s.io/v1",
                                    json::array({resource("leases", "lease", "Lease", all_verbs, {})})));
    }
    if (seg[1] == "events.k8s.io") {
      return json_outcome(200, list("events.k8s.io/v1",
                                    json::array({resource("events", "event", "Event", all_verbs, {"ev"})})));
    }
  }
  return status_outcome(404, "NotFound", "the server could not find the requested resource");
}

// ---------------------------------------------------------------------------------------------------------------
// Deployments and the scale subresource (§1).

json fake_apiserver::impl::deployment_json_locked(const key& k, const deployment& d) const {
  int pods_total = 0, pods_ready = 0;
  for (const auto& [pk, p] : pods_) {
    if (pk.first != k.first || p.spec.deleting) continue;
    bool match = true;
    for (const auto& [lk, lv] : d.match_labels) {
      const auto it = p.spec.labels.find(lk);
      match = match && it != p.spec.labels.end() && it->second == lv;
    }
    if (!match) continue;
    ++pods_total;
    if (p.spec.phase == "Running" && p.spec.ready) ++pods_ready;
  }
  // Deployment.spec.replicas is a pointer without omitempty once defaulted: it stays present at 0, unlike the
  // Scale's (§1.2).
  return {{"kind", "Deployment"},
          {"apiVersion", "apps/v1"},
          {"metadata",
           {{"name", k.second},
            {"namespace", k.first},
            {"uid", d.uid},
            {"resourceVersion", std::to_string(d.rv)},
            {"generation", d.generation},
            {"creationTimestamp", d.created},
            {"labels", d.match_labels}}},
          {"spec",
           {{"replicas", d.replicas},
            {"selector", {{"matchLabels", d.match_labels}}},
            {"template",
             {{"metadata", {{"labels", d.match_labels}}},
              {"spec", {{"containers", json::array({{{"name", "app"}, {"image", "fake-k8s/app"}}})}}}}}}},
          {"status",
           {{"observedGeneration", d.generation},
            {"replicas", pods_total},
            {"updatedReplicas", pods_total},
            {"readyReplicas", pods_ready},
            {"availableReplicas", pods_ready}}}};
}

json fake_apiserver::impl::scale_json_locked(const key& k, const deployment& d) const {
  const json dep = deployment_json_locked(k, d);
  json spec = json::object();
  // spec.replicas is int32 with omitempty: at 0 the Scale has "spec":{} (§1.2, observed).
  if (d.replicas != 0) spec["replicas"] = d.replicas;
  return {{"kind", "Scale"},
          {"apiVersion", "autoscaling/v1"},
          {"metadata",
           {{"name", k.second},
            {"namespace", k.first},
            {"uid", d.uid},
            {"resourceVersion", std::to_string(d.rv)},
            {"creationTimestamp", d.created}}},
          {"spec", spec},
          {"status", {{"replicas", dep["status"]["replicas"]}, {"selector", selector_string(d.match_labels)}}}};
}

namespace {

json table_of(const std::vector<json>& columns, const std::vector<std::pair<json, json>>& rows, const std::string& rv) {
  json out = {{"kind", "Table"},
              {"apiVersion", "meta.k8s.io/v1"},
              {"metadata", {{"resourceVersion", rv}}},
              {"columnDefinitions", columns},
              {"rows", json::array()}};
  for (const auto& [cells, object] : rows) {
    json meta = object["metadata"];
    out["rows"].push_back({{"cells", cells},
                           {"object",
                            {{"kind", "PartialObjectMetadata"},
                             {"apiVersion", "meta.k8s.io/v1"},
                             {"metadata", meta}}}});
  }
  return out;
}

json column(const std::string& name, const std::string& type, const std::string& format = "") {
  return {{"name", name}, {"type", type}, {"format", format}, {"description", name}, {"priority", 0}};
}

// kubectl's table Age column, e.g. "42s", "7m", "3h", "2d", from an RFC 3339 creationTimestamp.
std::string age_of(const std::string& created) {
  std::tm tm{};
  if (strptime(created.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr) return "<unknown>";
  const auto then = std::chrono::system_clock::from_time_t(timegm(&tm));
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - then).count();
  if (s < 120) return fmt::format("{}s", std::max<long long>(s, 0));
  if (s < 2 * 3600) return fmt::format("{}m", s / 60);
  if (s < 2 * 86400) return fmt::format("{}h", s / 3600);
  return fmt::format("{}d", s / 86400);
}

}  // namespace

outcome fake_apiserver::impl::deployments_locked(const std::string& method, const resource_ref& r,
                                                 const std::map<std::string, std::string>& q, bool table) {
  if (method != "GET") return status_outcome(405, "MethodNotAllowed", "fake-apiserver: deployments are read-only");
  if (truthy(q, "watch")) return status_outcome(405, "MethodNotAllowed", "fake-apiserver: no watch on deployments");
  const auto columns = std::vector<json>{column("Name", "string", "name"), column("Ready", "string"),
                                         column("Up-to-date", "integer"), column("Available", "integer"),
                                         column("Age", "string")};
  const auto row = [&](const key& k, const deployment& d) {
    json obj = deployment_json_locked(k, d);
    json cells = {k.second, fmt::format("{}/{}", obj["status"]["readyReplicas"].get<int>(), d.replicas),
                  obj["status"]["updatedReplicas"], obj["status"]["availableReplicas"], age_of(d.created)};
    return std::make_pair(cells, obj);
  };
  if (!r.name.empty()) {
    const auto it = deployments_.find({r.ns, r.name});
    if (it == deployments_.end()) {
      return status_outcome(404, "NotFound", fmt::format("deployments.apps \"{}\" not found", r.name),
                            r.details("deployments"));
    }
    if (table) return json_outcome(200, table_of(columns, {row(it->first, it->second)}, std::to_string(it->second.rv)));
    return json_outcome(200, deployment_json_locked(it->first, it->second));
  }
  const auto selector = parse_label_selector(query_value(q, "labelSelector"));
  if (!selector) return status_outcome(400, "BadRequest", "unable to parse requirement: labelSelector");
  std::vector<std::pair<json, json>> rows;
  json items = json::array();
  for (const auto& [k, d] : deployments_) {
    if (!r.ns.empty() && k.first != r.ns) continue;
    if (!matches(*selector, d.match_labels)) continue;
    rows.push_back(row(k, d));
    items.push_back(rows.back().second);
  }
  const std::string rv = std::to_string(rv_counter_);
  if (table) return json_outcome(200, table_of(columns, rows, rv));
  return json_outcome(200, {{"kind", "DeploymentList"},
                            {"apiVersion", "apps/v1"},
                            {"metadata", {{"resourceVersion", rv}}},
                            {"items", items}});
}

outcome fake_apiserver::impl::scale_locked(const std::string& method, const resource_ref& r,
                                           const std::map<std::string, std::string>& q,
                                           const http::request<http::string_body>& req) {
  const auto it = deployments_.find({r.ns, r.name});
  if (it == deployments_.end()) {
    // details.kind differs between GET and writes on the real server (§1.5).
    if (method == "GET") {
      return status_outcome(404, "NotFound", fmt::format("deployments/scale.apps \"{}\" not found", r.name),
                            r.details("deployments/scale"));
    }
    return status_outcome(404, "NotFound", fmt::format("deployments.apps \"{}\" not found", r.name),
                          r.details("deployments"));
  }
  deployment& d = it->second;
  if (method == "GET") return json_outcome(200, scale_json_locked(it->first, d));
  if (method != "PUT" && method != "PATCH") {
    return status_outcome(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
  }

  const std::string conflict_message = fmt::format(
      "Operation cannot be fulfilled on deployments.apps \"{}\": the object has been modified; please apply your "
      "changes to the latest version and try again",
      r.name);
  const auto bad_body = [&](const std::string& what) {
    return status_outcome(400, "BadRequest", fmt::format("fake-apiserver: request body: {}", what));
  };
  // The current Scale with spec.replicas always present, so that JSON-patch `replace` and `test` work at 0 as on
  // the real server (§1.3).
  json current = scale_json_locked(it->first, d);
  current["spec"]["replicas"] = d.replicas;
  json updated;
  std::string content_type(req[http::field::content_type]);
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && content_type.back() == ' ') content_type.pop_back();

  if (method == "PUT") {
    json body = json::parse(req.body(), nullptr, false);
    if (body.is_discarded() || !body.is_object()) return bad_body("not a JSON object");
    // A PUT with metadata.resourceVersion is a compare-and-swap; without one it overwrites (§1.4).
    const json* rv = body.contains("metadata") && body["metadata"].is_object() &&
                             body["metadata"].contains("resourceVersion")
                         ? &body["metadata"]["resourceVersion"]
                         : nullptr;
    if (rv != nullptr && !(rv->is_string() && rv->get<std::string>().empty()) &&
        *rv != current["metadata"]["resourceVersion"]) {
      return status_outcome(409, "Conflict", conflict_message, r.details("deployments"));
    }
    updated = current;
    // A missing spec.replicas in a Scale means 0 (omitempty, §1.2).
    updated["spec"]["replicas"] = body.contains("spec") && body["spec"].is_object() && body["spec"].contains("replicas")
                                      ? body["spec"]["replicas"]
                                      : json(0);
  } else if (content_type == "application/merge-patch+json" || content_type == "application/strategic-merge-patch+json") {
    json patch = json::parse(req.body(), nullptr, false);
    if (patch.is_discarded() || !patch.is_object()) return bad_body("not a JSON object");
    if (patch.contains("metadata") && patch["metadata"].is_object() && patch["metadata"].contains("resourceVersion") &&
        patch["metadata"]["resourceVersion"] != current["metadata"]["resourceVersion"]) {
      return status_outcome(409, "Conflict", conflict_message, r.details("deployments"));
    }
    updated = current;
    // RFC 7386: "replicas": null deletes the member, and a missing member reads as 0 (§1.3 pitfall).
    updated.merge_patch(patch);
  } else if (content_type == "application/json-patch+json") {
    json patch = json::parse(req.body(), nullptr, false);
    if (patch.is_discarded() || !patch.is_array()) return bad_body("not a JSON array");
    try {
      updated = current.patch(patch);
    } catch (const json::exception& e) {
      // A failed `test` (or an unusable path) is 422 Invalid, not 409 (§1.3).
      return status_outcome(422, "Invalid", fmt::format("the server rejected our request due to an error in our request: {}", e.what()),
                            r.details("deployments"));
    }
  } else if (content_type == "application/apply-patch+yaml") {
    if (query_value(q, "fieldManager").empty()) {
      // Server-side apply needs ?fieldManager= (§1.3, observed 422).
      return status_outcome(
          422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
          {{"group", "meta.k8s.io"},
           {"kind", "PatchOptions"},
           {"causes", json::array({{{"reason", "FieldValueRequired"},
                                    {"message", "Required value: is required for apply patch"},
                                    {"field", "fieldManager"}}})}});
    }
    // JSON is valid YAML; this double accepts only the JSON form.
    json applied = json::parse(req.body(), nullptr, false);
    if (applied.is_discarded() || !applied.is_object()) return bad_body("apply patch must be JSON (a subset of YAML)");
    if (!applied.contains("apiVersion") || !applied.contains("kind")) {
      return bad_body("apply patch needs apiVersion and kind");
    }
    updated = current;
    if (applied.contains("spec") && applied["spec"].is_object() && applied["spec"].contains("replicas")) {
      updated["spec"]["replicas"] = applied["spec"]["replicas"];
    }
  } else {
    // application/json and anything else: 415 (§1.3).
    return status_outcome(415, "UnsupportedMediaType",
                          fmt::format("the body of the request was in an unknown format - accepted media types "
                                      "include: application/json-patch+json, application/merge-patch+json, "
                                      "application/apply-patch+yaml, application/strategic-merge-patch+json"),
                          nullptr);
  }

  json replicas_value = updated.contains("spec") && updated["spec"].is_object() && updated["spec"].contains("replicas")
                            ? updated["spec"]["replicas"]
                            : json(0);
  if (!replicas_value.is_number_integer()) {
    return status_outcome(400, "BadRequest",
                          fmt::format("fake-apiserver: spec.replicas: expected an integer, got {}", replicas_value.dump()));
  }
  const auto replicas = replicas_value.get<std::int64_t>();
  if (replicas < 0 || replicas > 2147483647) {
    // Validation: 422 Invalid with details.causes[0].field "spec.replicas" (§1.3, observed).
    const std::string cause = fmt::format("Invalid value: {}: must be greater than or equal to 0", replicas);
    return status_outcome(422, "Invalid", fmt::format("Scale.autoscaling \"{}\" is invalid: spec.replicas: {}", r.name, cause),
                          {{"name", r.name},
                           {"group", "autoscaling"},
                           {"kind", "Scale"},
                           {"causes", json::array({{{"reason", "FieldValueInvalid"},
                                                    {"message", cause},
                                                    {"field", "spec.replicas"}}})}});
  }
  const bool dry_run = query_value(q, "dryRun") == "All";
  if (dry_run) {
    // dryRun=All answers the would-be object and stores nothing (§1.6).
    deployment would_be = d;
    would_be.replicas = static_cast<int>(replicas);
    if (would_be.replicas != d.replicas) ++would_be.generation;
    return json_outcome(200, scale_json_locked(it->first, would_be));
  }
  outcome out;
  if (static_cast<int>(replicas) != d.replicas) {
    // A scale write changes spec.replicas and bumps the parent's resourceVersion and generation (§1.2).
    d.replicas = static_cast<int>(replicas);
    d.rv = bump_locked();
    ++d.generation;
    out.hook = hook_call{r.ns, r.name, d.replicas};
  }
  out.status = 200;
  out.body = scale_json_locked(it->first, d).dump();
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Pods: list and watch (§4).

bool fake_apiserver::impl::pod_matches(const pod_record& p, const watch_plan& plan) const {
  if (!plan.ns.empty() && p.ns != plan.ns) return false;
  if (!matches(plan.labels, p.spec.labels)) return false;
  for (const auto& f : plan.fields) {
    const auto v = pod_field(p, f.field);
    if (v.has_value() && ((*v == f.value) != f.equal)) return false;
  }
  return true;
}

std::optional<std::string> fake_apiserver::impl::render_event(const pod_event& e, const watch_plan& plan) const {
  const bool before = e.before && pod_matches(*e.before, plan);
  const bool after = e.after && pod_matches(*e.after, plan);
  std::string type;
  json object;
  if (after && !before) {
    type = "ADDED";
    object = pod_json(*e.after);
  } else if (after && before) {
    type = "MODIFIED";
    object = pod_json(*e.after);
  } else if (before) {
    // A pod that is removed or stops matching a selector watch is DELETED (§4.5).
    type = "DELETED";
    object = e.after ? pod_json(*e.after) : pod_json(*e.before, e.rv);
  } else {
    return std::nullopt;
  }
  return json{{"type", type}, {"object", object}}.dump() + "\n";
}

void fake_apiserver::impl::record_pod_event_locked(std::optional<pod_record> before, std::optional<pod_record> after) {
  pod_event e;
  e.rv = rv_counter_;
  e.before = std::move(before);
  e.after = std::move(after);
  pod_log_.push_back(std::move(e));
  changed_.notify_all();
}

outcome fake_apiserver::impl::pods_locked(const std::string& method, const resource_ref& r,
                                          const std::map<std::string, std::string>& q, bool table) {
  if (method != "GET") return status_outcome(405, "MethodNotAllowed", "fake-apiserver: pods are read-only over HTTP");
  if (!r.name.empty()) {
    const auto it = pods_.find({r.ns, r.name});
    if (it == pods_.end()) {
      return status_outcome(404, "NotFound", fmt::format("pods \"{}\" not found", r.name), r.details("pods"));
    }
    return json_outcome(200, pod_json(it->second));
  }
  watch_plan plan;
  plan.ns = r.ns;
  const std::string label_selector = query_value(q, "labelSelector");
  auto labels = parse_label_selector(label_selector);
  if (!labels) {
    return status_outcome(400, "BadRequest",
                          fmt::format("unable to parse requirement: labelSelector \"{}\"", label_selector));
  }
  plan.labels = std::move(*labels);
  const std::string field_selector = query_value(q, "fieldSelector");
  for (std::string_view rest = field_selector; !rest.empty();) {
    const auto comma = rest.find(',');
    const std::string_view term = rest.substr(0, comma);
    field_requirement f;
    auto op = term.find("!=");
    std::size_t op_len = 2;
    f.equal = false;
    if (op == std::string_view::npos) {
      f.equal = true;
      op = term.find("==");
      if (op == std::string_view::npos) {
        op = term.find('=');
        op_len = 1;
      }
    }
    if (op == std::string_view::npos) {
      return status_outcome(400, "BadRequest", fmt::format("invalid selector: '{}'; can't understand '{}'",
                                                           field_selector, term));
    }
    f.field = std::string(term.substr(0, op));
    f.value = std::string(term.substr(op + op_len));
    if (!pod_field(pod_record{}, f.field)) {
      return status_outcome(400, "BadRequest", fmt::format("field label not supported: {}", f.field));
    }
    plan.fields.push_back(std::move(f));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }

  const std::string rv_param = query_value(q, "resourceVersion");
  std::optional<std::int64_t> rv;
  if (!rv_param.empty() && rv_param != "0") {
    try {
      std::size_t used = 0;
      rv = std::stoll(rv_param, &used);
      if (used != rv_param.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      return status_outcome(400, "BadRequest", fmt::format("invalid resource version \"{}\"", rv_param));
    }
  }

  if (!truthy(q, "watch")) {
    // LIST. An exact (or continue-from) RV that was compacted is 410 Expired (§1.5, observed).
    if (rv && query_value(q, "resourceVersionMatch") == "Exact" && *rv < compacted_below_) {
      return status_outcome(410, "Expired", "The resourceVersion for the provided list is too old.", json::object());
    }
    json items = json::array();
    std::vector<std::pair<json, json>> rows;
    for (const auto& [k, p] : pods_) {
      if (!pod_matches(p, plan)) continue;
      items.push_back(pod_json(p));
      rows.emplace_back(json{p.spec.name, p.spec.ready ? "1/1" : "0/1", p.spec.deleting ? "Terminating" : p.spec.phase,
                             0, age_of(p.created)},
                        items.back());
    }
    const std::string list_rv = std::to_string(rv_counter_);
    if (table) {
      return json_outcome(200, table_of({column("Name", "string", "name"), column("Ready", "string"),
                                         column("Status", "string"), column("Restarts", "integer"),
                                         column("Age", "string")},
                                        rows, list_rv));
    }
    return json_outcome(200, {{"kind", "PodList"},
                              {"apiVersion", "v1"},
                              {"metadata", {{"resourceVersion", list_rv}}},
                              {"items", items}});
  }

  // WATCH (§4.5).
  plan.bookmarks = truthy(q, "allowWatchBookmarks");
  plan.bookmark_epoch = bookmark_epoch_;
  const std::string timeout = query_value(q, "timeoutSeconds");
  if (!timeout.empty()) {
    try {
      plan.deadline = clock_type::now() + std::chrono::seconds(std::stoll(timeout));
    } catch (const std::exception&) {
      return status_outcome(400, "BadRequest", fmt::format("invalid timeoutSeconds \"{}\"", timeout));
    }
  }
  outcome out;
  if (rv && *rv < compacted_below_) {
    // Too old: an ERROR event with a 410 Status inside the 200 stream (§4.5; reason Gone for watches, §1.5).
    plan.too_old = true;
    const json status = status_object(410, "Gone",
                                      fmt::format("too old resource version: {} ({})", *rv, compacted_below_));
    plan.initial_lines.push_back(json{{"type", "ERROR"}, {"object", status}}.dump() + "\n");
  } else if (!rv) {
    // No resourceVersion (or "0"): synthetic ADDED for every existing object first (§4.5, observed).
    for (const auto& [k, p] : pods_) {
      if (pod_matches(p, plan)) plan.initial_lines.push_back(json{{"type", "ADDED"}, {"object", pod_json(p)}}.dump() + "\n");
    }
    plan.next_event = pod_log_.size();
  } else {
    plan.next_event = static_cast<std::size_t>(
        std::upper_bound(pod_log_.begin(), pod_log_.end(), *rv,
                         [](std::int64_t v, const pod_event& e) { return v < e.rv; }) -
        pod_log_.begin());
  }
  out.watch = std::move(plan);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Events (§6.7) and Leases (§6.5).

namespace {

std::optional<outcome> check_name(json& meta, const std::string& kind_group, std::uint64_t& uid_counter) {
  const std::string generate = meta.value("generateName", "");
  if (!generate.empty() && generate.back() == '.') {
    // generateName may not end with '.' (§6.7, observed 422).
    const std::string cause = fmt::format(
        "Invalid value: \"{}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
        "'-' or '.', and must start and end with an alphanumeric character",
        generate);
    return status_outcome(422, "Invalid",
                          fmt::format("{} \"\" is invalid: metadata.generateName: {}", kind_group, cause),
                          {{"kind", kind_group.substr(0, kind_group.find('.'))},
                           {"causes", json::array({{{"reason", "FieldValueInvalid"},
                                                    {"message", cause},
                                                    {"field", "metadata.generateName"}}})}});
  }
  if (meta.value("name", "").empty()) {
    if (generate.empty()) {
      return status_outcome(422, "Invalid",
                            fmt::format("{} \"\" is invalid: metadata.name: Required value: name or generateName is "
                                        "required",
                                        kind_group),
                            {{"causes", json::array({{{"reason", "FieldValueRequired"},
                                                      {"message", "Required value: name or generateName is required"},
                                                      {"field", "metadata.name"}}})}});
    }
    meta["name"] = fmt::format("{}{:05x}", generate, ++uid_counter & 0xfffff);
  }
  return std::nullopt;
}

}  // namespace

outcome fake_apiserver::impl::events_locked(const std::string& method, const resource_ref& r,
                                            const std::map<std::string, std::string>& q, const std::string& body,
                                            bool events_v1) {
  const std::string kind_group = events_v1 ? "Event.events.k8s.io" : "Event";
  if (method == "GET" && r.name.empty()) {
    json items = json::array();
    for (const auto& [k, e] : stored_events_) {
      if (r.ns.empty() || k.first == r.ns) items.push_back(e.object);
    }
    return json_outcome(200, {{"kind", "EventList"},
                              {"apiVersion", events_v1 ? "events.k8s.io/v1" : "v1"},
                              {"metadata", {{"resourceVersion", std::to_string(rv_counter_)}}},
                              {"items", items}});
  }
  if (method != "POST" || !r.name.empty() || r.ns.empty()) {
    return status_outcome(405, "MethodNotAllowed", "fake-apiserver: events support POST and LIST only");
  }
  json ev = json::parse(body, nullptr, false);
  if (ev.is_discarded() || !ev.is_object()) {
    return status_outcome(400, "BadRequest", "fake-apiserver: request body: not a JSON object");
  }
  if (!ev.contains("metadata") || !ev["metadata"].is_object()) ev["metadata"] = json::object();
  if (auto bad = check_name(ev["metadata"], kind_group, uid_counter_)) return std::move(*bad);
  // Required fields of the events.k8s.io/v1 Event (§6.7) and of the core v1 Event.
  const std::vector<std::string> required =
      events_v1 ? std::vector<std::string>{"eventTime", "reportingController", "reportingInstance", "action", "reason"}
                : std::vector<std::string>{"involvedObject"};
  for (const auto& field : required) {
    if (!ev.contains(field) || ev[field].is_null() || (ev[field].is_string() && ev[field].get<std::string>().empty())) {
      return status_outcome(422, "Invalid",
                            fmt::format("{} \"{}\" is invalid: {}: Required value", kind_group,
                                        ev["metadata"]["name"].get<std::string>(), field),
                            {{"name", ev["metadata"]["name"]},
                             {"causes", json::array({{{"reason", "FieldValueRequired"},
                                                      {"message", "Required value"},
                                                      {"field", field}}})}});
    }
  }
  const std::string name = ev["metadata"]["name"].get<std::string>();
  if (stored_events_.count({r.ns, name}) > 0) {
    return status_outcome(409, "AlreadyExists",
                          fmt::format("{} \"{}\" already exists", events_v1 ? "events.events.k8s.io" : "events", name),
                          r.details("events"));
  }
  ev["kind"] = "Event";
  ev["apiVersion"] = events_v1 ? "events.k8s.io/v1" : "v1";
  ev["metadata"]["namespace"] = r.ns;
  if (query_value(q, "dryRun") == "All") return json_outcome(201, ev);
  ev["metadata"]["uid"] = next_uid_locked();
  ev["metadata"]["creationTimestamp"] = rfc3339(std::chrono::system_clock::now());
  const auto rv = bump_locked();
  ev["metadata"]["resourceVersion"] = std::to_string(rv);
  stored_events_[{r.ns, name}] = stored_object{ev, rv};
  events_.push_back(ev);
  return json_outcome(201, ev);
}

outcome fake_apiserver::impl::leases_locked(const std::string& method, const resource_ref& r,
                                            const std::map<std::string, std::string>& q, const std::string& body) {
  const bool dry_run = query_value(q, "dryRun") == "All";
  const auto not_found = [&] {
    return status_outcome(404, "NotFound", fmt::format("leases.coordination.k8s.io \"{}\" not found", r.name),
                          r.details("leases"));
  };
  if (method == "GET" && !r.name.empty()) {
    const auto it = leases_.find({r.ns, r.name});
    if (it == leases_.end()) return not_found();
    return json_outcome(200, it->second.object);
  }
  if (method == "GET") {
    json items = json::array();
    for (const auto& [k, l] : leases_) {
      if (k.first == r.ns) items.push_back(l.object);
    }
    return json_outcome(200, {{"kind", "LeaseList"},
                              {"apiVersion", "coordination.k8s.io/v1"},
                              {"metadata", {{"resourceVersion", std::to_string(rv_counter_)}}},
                              {"items", items}});
  }
  json lease = json::parse(body, nullptr, false);
  if (lease.is_discarded() || !lease.is_object()) {
    return status_outcome(400, "BadRequest", "fake-apiserver: request body: not a JSON object");
  }
  if (!lease.contains("metadata") || !lease["metadata"].is_object()) lease["metadata"] = json::object();
  lease["kind"] = "Lease";
  lease["apiVersion"] = "coordination.k8s.io/v1";
  lease["metadata"]["namespace"] = r.ns;
  if (method == "POST" && r.name.empty()) {
    if (auto bad = check_name(lease["metadata"], "Lease.coordination.k8s.io", uid_counter_)) return std::move(*bad);
    const std::string name = lease["metadata"]["name"].get<std::string>();
    if (leases_.count({r.ns, name}) > 0) {
      // Create of an existing name: 409 AlreadyExists (§1.5).
      resource_ref named = r;
      named.name = name;
      return status_outcome(409, "AlreadyExists",
                            fmt::format("leases.coordination.k8s.io \"{}\" already exists", name),
                            named.details("leases"));
    }
    lease["metadata"]["uid"] = next_uid_locked();
    lease["metadata"]["creationTimestamp"] = rfc3339(std::chrono::system_clock::now());
    if (dry_run) return json_outcome(201, lease);
    const auto rv = bump_locked();
    lease["metadata"]["resourceVersion"] = std::to_string(rv);
    leases_[{r.ns, name}] = stored_object{lease, rv};
    return json_outcome(201, lease);
  }
  if (method == "PUT" && !r.name.empty()) {
    const auto it = leases_.find({r.ns, r.name});
    if (it == leases_.end()) return not_found();
    const std::string sent_rv = lease["metadata"].value("resourceVersion", "");
    if (sent_rv.empty()) {
      // Leases allow no unconditional update: the PUT must carry the resourceVersion it read.
      return status_outcome(422, "Invalid",
                            fmt::format("Lease.coordination.k8s.io \"{}\" is invalid: metadata.resourceVersion: "
                                        "Invalid value: 0x0: must be specified for an update",
                                        r.name),
                            {{"name", r.name},
                             {"group", "coordination.k8s.io"},
                             {"kind", "Lease"},
                             {"causes", json::array({{{"reason", "FieldValueInvalid"},
                                                      {"message", "Invalid value: 0x0: must be specified for an update"},
                                                      {"field", "metadata.resourceVersion"}}})}});
    }
    if (sent_rv != std::to_string(it->second.rv)) {
      // Stale resourceVersion: 409 Conflict (§6.5, observed on a Lease PUT).
      return status_outcome(409, "Conflict",
                            fmt::format("Operation cannot be fulfilled on leases.coordination.k8s.io \"{}\": the "
                                        "object has been modified; please apply your changes to the latest version "
                                        "and try again",
                                        r.name),
                            r.details("leases"));
    }
    lease["metadata"]["name"] = r.name;
    lease["metadata"]["uid"] = it->second.object["metadata"]["uid"];
    lease["metadata"]["creationTimestamp"] = it->second.object["metadata"]["creationTimestamp"];
    if (dry_run) return json_outcome(200, lease);
    const auto rv = bump_locked();
    lease["metadata"]["resourceVersion"] = std::to_string(rv);
    it->second = stored_object{lease, rv};
    return json_outcome(200, lease);
  }
  return status_outcome(405, "MethodNotAllowed", "fake-apiserver: leases support GET, LIST, POST and PUT");
}

// ---------------------------------------------------------------------------------------------------------------
// The public face.

fake_apiserver::fake_apiserver(server_options options) : impl_(std::make_unique<impl>(std::move(options))) {}

fake_apiserver::~fake_apiserver() = default;

std::string fake_apiserver::url() const {
  return fmt::format("{}://127.0.0.1:{}", impl_->options_.tls ? "https" : "http", impl_->port_);
}

std::uint16_t fake_apiserver::port() const { return impl_->port_; }

void fake_apiserver::add_deployment(const std::string& ns, const std::string& name, int replicas,
                                    std::map<std::string, std::string> match_labels) {
  std::lock_guard lk(impl_->mu_);
  deployment d;
  d.replicas = replicas;
  d.match_labels = std::move(match_labels);
  d.rv = impl_->bump_locked();
  d.uid = impl_->next_uid_locked();
  d.created = rfc3339(std::chrono::system_clock::now());
  impl_->deployments_[{ns, name}] = std::move(d);
}

std::optional<int> fake_apiserver::replicas(const std::string& ns, const std::string& name) const {
  std::lock_guard lk(impl_->mu_);
  const auto it = impl_->deployments_.find({ns, name});
  if (it == impl_->deployments_.end()) return std::nullopt;
  return it->second.replicas;
}

std::optional<std::string> fake_apiserver::resource_version(const std::string& ns, const std::string& name) const {
  std::lock_guard lk(impl_->mu_);
  const auto it = impl_->deployments_.find({ns, name});
  if (it == impl_->deployments_.end()) return std::nullopt;
  return std::to_string(it->second.rv);
}

void fake_apiserver::set_replicas(const std::string& ns, const std::string& name, int replicas) {
  std::lock_guard lk(impl_->mu_);
  const auto it = impl_->deployments_.find({ns, name});
  if (it == impl_->deployments_.end() || it->second.replicas == replicas) return;
  it->second.replicas = replicas;
  it->second.rv = impl_->bump_locked();
  ++it->second.generation;
}

void fake_apiserver::set_pod(const std::string& ns, const pod_spec& pod) {
  std::lock_guard lk(impl_->mu_);
  std::optional<pod_record> before;
  pod_record p;
  const auto it = impl_->pods_.find({ns, pod.name});
  if (it != impl_->pods_.end()) {
    before = it->second;
    p.uid = it->second.uid;
    p.created = it->second.created;
  } else {
    p.uid = impl_->next_uid_locked();
    p.created = rfc3339(std::chrono::system_clock::now());
  }
  p.ns = ns;
  p.spec = pod;
  p.rv = impl_->bump_locked();
  impl_->pods_[{ns, pod.name}] = p;
  impl_->record_pod_event_locked(std::move(before), std::move(p));
}

void fake_apiserver::delete_pod(const std::string& ns, const std::string& name) {
  std::lock_guard lk(impl_->mu_);
  const auto it = impl_->pods_.find({ns, name});
  if (it == impl_->pods_.end()) return;
  pod_record before = it->second;
  impl_->pods_.erase(it);
  impl_->bump_locked();
  impl_->record_pod_event_locked(std::move(before), std::nullopt);
}

void fake_apiserver::compact() {
  std::lock_guard lk(impl_->mu_);
  // A fresh revision that stays valid; everything issued before it is too old (as etcd compaction at it).
  impl_->compacted_below_ = impl_->bump_locked();
}

void fake_apiserver::fail_next(int count, int status, std::optional<int> retry_after_s) {
  std::lock_guard lk(impl_->mu_);
  impl_->fail_count_ = count;
  impl_->fail_status_ = status;
  impl_->fail_retry_after_s_ = retry_after_s;
}

void fake_apiserver::set_latency(std::chrono::milliseconds delay) {
  std::lock_guard lk(impl_->mu_);
  impl_->latency_ = delay;
}

void fake_apiserver::stop_listening() {
  impl_->stop_accepting();
  std::lock_guard lk(impl_->mu_);
  impl_->close_connections_locked();
}

void fake_apiserver::resume_listening() {
  if (!impl_->acceptor_) impl_->start_listening();
}

void fake_apiserver::on_replicas_changed(
    std::function<void(const std::string& ns, const std::string& name, int replicas)> hook) {
  std::lock_guard lk(impl_->mu_);
  impl_->hook_ = std::move(hook);
}

std::vector<recorded_request> fake_apiserver::requests() const {
  std::lock_guard lk(impl_->mu_);
  std::vector<recorded_request> out;
  out.reserve(impl_->requests_.size());
  for (const auto& slot : impl_->requests_) out.push_back(slot.request);
  return out;
}

void fake_apiserver::clear_requests() {
  std::lock_guard lk(impl_->mu_);
  impl_->requests_.clear();
}

std::vector<nlohmann::json> fake_apiserver::events() const {
  std::lock_guard lk(impl_->mu_);
  return impl_->events_;
}

std::optional<nlohmann::json> fake_apiserver::lease(const std::string& ns, const std::string& name) const {
  std::lock_guard lk(impl_->mu_);
  const auto it = impl_->leases_.find({ns, name});
  if (it == impl_->leases_.end()) return std::nullopt;
  return it->second.object;
}

void fake_apiserver::send_bookmarks() {
  std::lock_guard lk(impl_->mu_);
  ++impl_->bookmark_epoch_;
  impl_->changed_.notify_all();
}

}  // namespace scale::fake_k8s
