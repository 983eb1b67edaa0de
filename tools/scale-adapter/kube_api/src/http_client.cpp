#include <kube/http_client.hpp>

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <mutex>
#include <thread>

namespace scale::kube {
namespace {

// libcurl wants curl_global_init once per process before any handle (it is not thread-safe before 7.84).
void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool iequals_prefix(std::string_view line, std::string_view name) {
  if (line.size() < name.size() + 1 || line[name.size()] != ':') return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(line[i])) != std::tolower(static_cast<unsigned char>(name[i])))
      return false;
  return true;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return std::string(s);
}

// The parts of the server URL: scheme, host (IPv6 with brackets), port and an optional path prefix.
struct server_url {
  std::string scheme;
  std::string host;
  std::string port;
  std::string prefix;
};

result<server_url> parse_server(std::string_view url) {
  server_url out;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos)
    return error{fmt::format("server = \"{}\", must be an http(s):// URL", url)};
  out.scheme = std::string(url.substr(0, scheme_end));
  if (out.scheme != "https" && out.scheme != "http")
    return error{fmt::format("server = \"{}\", must be an http(s):// URL", url)};
  std::string_view rest = url.substr(scheme_end + 3);
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) out.prefix = std::string(rest.substr(slash));
  while (!out.prefix.empty() && out.prefix.back() == '/') out.prefix.pop_back();
  if (authority.find('@') != std::string_view::npos || authority.empty())
    return error{fmt::format("server = \"{}\", must be http(s)://host[:port][/path]", url)};
  std::string_view port;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return error{fmt::format("server = \"{}\", unclosed '[' in host", url)};
    out.host = std::string(authority.substr(0, close + 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return error{fmt::format("server = \"{}\", bad port", url)};
      port = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (!port.empty()) {
    int value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value < 1 || value > 65535)
      return error{fmt::format("server = \"{}\", port must be in [1, 65535] range", url)};
    out.port = std::string(port);
  } else {
    out.port = out.scheme == "https" ? "443" : "80";
  }
  if (out.host.empty()) return error{fmt::format("server = \"{}\", has no host", url)};
  return out;
}

bool connection_failure(CURLcode code) {
  return code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_GOT_NOTHING ||
         code == CURLE_SEND_ERROR || code == CURLE_RECV_ERROR;
}

bool retriable_status(int status) { return status == 429 || (status >= 500 && status != 501 && status <= 599); }

}  // namespace

std::string url_encode(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", u);
    }
  }
  return out;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view header) {
  const std::string text = trim(header);
  if (text.empty() || text.size() > 9) return std::nullopt;
  long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < 0) return std::nullopt;
  return std::chrono::seconds{value};
}

token_bucket::token_bucket(double qps, int burst)
    : qps_(qps > 0 ? qps : 1e9), burst_(burst > 0 ? burst : 1), tokens_(burst_) {}

std::chrono::nanoseconds token_bucket::reserve(std::chrono::steady_clock::time_point now) {
  if (started_ && now > last_) {
    tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * qps_);
  }
  if (!started_ || now > last_) last_ = now;
  started_ = true;
  tokens_ -= 1;
  if (tokens_ >= 0) return std::chrono::nanoseconds::zero();
  return std::chrono::nanoseconds{static_cast<std::int64_t>(std::ceil(-tokens_ / qps_ * 1e9))};
}

struct http_client::curl_state {
  CURL* handle = nullptr;
  server_url url;
  ~curl_state() {
    if (handle != nullptr) curl_easy_cleanup(handle);
  }
};

namespace {

struct transfer {
  CURL* handle = nullptr;
  response* out = nullptr;
  const std::function<bool(std::string_view)>* on_data = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  bool delivered = false;  // streamed bytes went to on_data: the request cannot be retried
  bool stopped_by_reader = false;
  int status = -1;
};

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<transfer*>(user);
  const std::string_view line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {  // a new status line (after 100 Continue): forget earlier headers
    t.out->audit_id.clear();
    t.out->retry_after.clear();
    t.out->content_type.clear();
  } else if (iequals_prefix(line, "audit-id")) {
    t.out->audit_id = trim(line.substr(9));
  } else if (iequals_prefix(line, "retry-after")) {
    t.out->retry_after = trim(line.substr(12));
  } else if (iequals_prefix(line, "content-type")) {
    t.out->content_type = trim(line.substr(13));
  }
  return size * count;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<transfer*>(user);
  const std::string_view chunk(data, size * count);
  if (t.status < 0) {
    long code = 0;
    curl_easy_getinfo(t.handle, CURLINFO_RESPONSE_CODE, &code);
    t.status = static_cast<int>(code);
  }
  if (t.on_data != nullptr && t.status >= 200 && t.status < 300) {
    t.delivered = true;
    if (!(*t.on_data)(chunk)) {
      t.stopped_by_reader = true;
      return 0;  // CURLE_WRITE_ERROR ends the transfer; reported as a normal end
    }
    return chunk.size();
  }
  // Error bodies are small Status objects; a bound keeps a broken server from filling memory.
  if (t.out->body.size() + chunk.size() > (std::size_t{64} << 20)) return 0;
  t.out->body.append(chunk);
  return chunk.size();
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto& t = *static_cast<transfer*>(user);
  return (t.cancel != nullptr && t.cancel->load()) ? 1 : 0;
}

}  // namespace

http_client::http_client(rest_config config, client_options options)
    : config_(std::move(config)),
      options_(std::move(options)),
      bucket_(options_.qps, options_.burst),
      jitter_(options_.jitter_seed),
      curl_(std::make_unique<curl_state>()) {}

http_client::~http_client() = default;

result<std::unique_ptr<http_client>> http_client::create(rest_config config, client_options options) {
  global_init();
  while (!config.server.empty() && config.server.back() == '/') config.server.pop_back();
  auto url = parse_server(config.server);
  if (!url) return url.error_value();
  if (config.tls.insecure_skip_verify && !config.tls.ca_pem.empty())
    // client-go transport.go refuses the combination (cluster-adapter.md §2).
    return error{"tls: specifying a root certificates file with the insecure flag is not allowed"};
  std::unique_ptr<http_client> client(new http_client(std::move(config), std::move(options)));
  client->curl_->url = std::move(*url);
  client->curl_->handle = curl_easy_init();
  if (client->curl_->handle == nullptr) return error{"curl: cannot create an easy handle"};
  return client;
}

void http_client::sleep(std::chrono::nanoseconds d) const {
  if (d <= std::chrono::nanoseconds::zero()) return;
  if (options_.time.sleep) {
    options_.time.sleep(d);
  } else {
    std::this_thread::sleep_for(d);
  }
}

std::chrono::nanoseconds http_client::backoff(int attempt) {
  const double base = std::chrono::duration<double>(options_.backoff_base).count();
  const double cap = std::chrono::duration<double>(options_.backoff_cap).count();
  const double plain = std::min(cap, base * std::pow(2.0, std::min(attempt, 40)));
  // Jitter in [1, 1.5): clients that failed together do not retry together.
  const double jitter = 1.0 + std::uniform_real_distribution<double>(0.0, 0.5)(jitter_);
  return std::chrono::nanoseconds{static_cast<std::int64_t>(std::min(cap, plain * jitter) * 1e9)};
}

api_result<response> http_client::send(const request& req) { return perform(req, nullptr); }

api_result<response> http_client::stream(const request& req,
                                         const std::function<bool(std::string_view)>& on_data) {
  return perform(req, &on_data);
}

api_result<response> http_client::call(const request& req) {
  auto r = perform(req, nullptr);
  if (!r) return r;
  if (r->status < 200 || r->status > 299)
    return make_api_error(fmt::format("{} {}", req.method, req.path), r->status, r->body, r->audit_id);
  return r;
}

api_result<response> http_client::perform(const request& req,
                                          const std::function<bool(std::string_view)>* on_data) {
  const std::string what = fmt::format("{} {}", req.method, req.path);
  if (req.path.empty() || req.path.front() != '/')
    return local_error(fmt::format("{}: path must start with '/'", what));
  const server_url& url = curl_->url;
  // tls-server-name: the URL carries that name (so SNI and certificate verification use it) and CONNECT_TO
  // sends the connection to the configured host and port; the Host header keeps the configured authority.
  const bool rename = !config_.tls.server_name.empty();
  std::string target = fmt::format("{}://{}:{}{}{}", url.scheme, rename ? config_.tls.server_name : url.host,
                                   url.port, url.prefix, req.path);
  char separator = '?';
  for (const auto& [key, value] : req.query) {
    target += separator + url_encode(key) + '=' + url_encode(value);
    separator = '&';
  }

  std::optional<credentials> creds;
  bool refreshed = false;
  int retries = 0;
  int connection_retries = 0;
  for (;;) {
    if (req.cancel != nullptr && req.cancel->load()) return local_error(fmt::format("{}: cancelled", what));
    sleep(bucket_.reserve(options_.time.now()));
    if (config_.auth && !creds) {
      auto current = config_.auth->current();
      if (!current) return local_error(fmt::format("{}: credentials: {}", what, current.error_value().message));
      creds = std::move(*current);
    }

    // A line break in a header value would inject headers; say which value, never print a token.
    if (creds && creds->bearer_token.find_first_of("\r\n") != std::string::npos)
      return local_error(fmt::format("{}: the bearer token contains a line break", what));
    for (const auto& value : config_.impersonate.groups)
      if (value.find_first_of("\r\n") != std::string::npos)
        return local_error(fmt::format("{}: an impersonation group contains a line break", what));
    if ((config_.impersonate.user + config_.impersonate.uid).find_first_of("\r\n") != std::string::npos)
      return local_error(fmt::format("{}: the impersonation user or uid contains a line break", what));

    CURL* h = curl_->handle;
    curl_easy_reset(h);  // keeps the connection cache: keep-alive survives
    response out;
    transfer t{h, &out, on_data, req.cancel};
    char error_buffer[CURL_ERROR_SIZE] = {};
    curl_slist* headers = nullptr;
    const auto add_header = [&headers](const std::string& line) { headers = curl_slist_append(headers, line.c_str()); };
    add_header("Accept: application/json");
    add_header("Expect:");
    if (!req.content_type.empty()) add_header("Content-Type: " + req.content_type);
    if (creds && !creds->bearer_token.empty()) add_header("Authorization: Bearer " + creds->bearer_token);
    if (!config_.impersonate.user.empty()) add_header("Impersonate-User: " + config_.impersonate.user);
    for (const auto& group : config_.impersonate.groups) add_header("Impersonate-Group: " + group);
    if (!config_.impersonate.uid.empty()) add_header("Impersonate-Uid: " + config_.impersonate.uid);
    curl_slist* connect_to = nullptr;
    if (rename) {
      add_header(fmt::format("Host: {}:{}", url.host, url.port));
      connect_to = curl_slist_append(
          nullptr, fmt::format("{}:{}:{}:{}", config_.tls.server_name, url.port, url.host, url.port).c_str());
      curl_easy_setopt(h, CURLOPT_CONNECT_TO, connect_to);
    }
    curl_easy_setopt(h, CURLOPT_URL, target.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_USERAGENT, options_.user_agent.c_str());
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    // Without proxy-url, libcurl reads HTTPS_PROXY / HTTP_PROXY / NO_PROXY itself, as client-go does.
    if (!config_.proxy_url.empty()) curl_easy_setopt(h, CURLOPT_PROXY, config_.proxy_url.c_str());
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min(req.timeout, options_.connect_timeout).count()));
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    if (req.method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.c_str());
    }
    if (config_.tls.insecure_skip_verify) {
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_blob ca{const_cast<char*>(config_.tls.ca_pem.data()), config_.tls.ca_pem.size(), CURL_BLOB_COPY};
    if (!config_.tls.ca_pem.empty()) curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
    curl_blob cert{nullptr, 0, CURL_BLOB_COPY};
    curl_blob key{nullptr, 0, CURL_BLOB_COPY};
    if (creds && !creds->client_cert_pem.empty()) {
      cert = {creds->client_cert_pem.data(), creds->client_cert_pem.size(), CURL_BLOB_COPY};
      key = {creds->client_key_pem.data(), creds->client_key_pem.size(), CURL_BLOB_COPY};
      curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
      curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
      curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
      curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
    const CURLcode code = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(h, CURLOPT_CONNECT_TO, nullptr);
    curl_slist_free_all(headers);  // it held the token: gone before anything else happens
    curl_slist_free_all(connect_to);
    out.status = static_cast<int>(status);

    if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && t.stopped_by_reader)) {
      if (code == CURLE_ABORTED_BY_CALLBACK) return local_error(fmt::format("{}: cancelled", what));
      const std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
      if (connection_failure(code) && !t.delivered && connection_retries < options_.max_connection_retries) {
        sleep(backoff(connection_retries++));
        continue;
      }
      if (code == CURLE_OPERATION_TIMEDOUT && t.delivered) return out;  // a stream that ran to its timeout
      const char* kind = code == CURLE_OPERATION_TIMEDOUT      ? "timed out talking to"
                         : code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CONNECT_ERROR ||
                                 code == CURLE_SSL_CERTPROBLEM || code == CURLE_SSL_CACERT_BADFILE
                             ? "TLS handshake failed with"
                             : "cannot reach";
      return local_error(fmt::format("{}: {} the API server {} ({}; {} attempt{})", what, kind, config_.server,
                                     detail, connection_retries + 1, connection_retries == 0 ? "" : "s"));
    }
    if (out.status == 401 && config_.auth && !refreshed) {
      // A rotated token or an expired exec credential: fetch afresh and retry once (§2, §3).
      refreshed = true;
      auto fresh = config_.auth->refresh_after_unauthorized();
      if (!fresh) return local_error(fmt::format("{}: credentials: {}", what, fresh.error_value().message));
      creds = std::move(*fresh);
      continue;
    }
    if (retriable_status(out.status) && !t.delivered && retries < options_.max_retries) {
      // §6.4: on 429 or 5xx wait Retry-After seconds, else back off exponentially with jitter.
      const auto after = parse_retry_after(out.retry_after);
      sleep(after ? std::chrono::nanoseconds{std::min(*after, options_.retry_after_cap)} : backoff(retries));
      ++retries;
      continue;
    }
    return out;
  }
}

}  // namespace scale::kube
